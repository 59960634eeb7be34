/* serve: the listener's event loop: accept, limit, spawn, reap, stop.
 *
 * One poll() over the signalfd and the listening sockets. Signals are never
 * handled in a handler: SIGCHLD, SIGTERM, SIGINT and SIGHUP are blocked and
 * read from the signalfd here, so the tables are only touched in this loop.
 * Runs unprivileged (main() dropped root before calling serve()). */
#define _GNU_SOURCE /* accept4 */
#include "listener.h"
#include "log.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <unistd.h>

#define ACCEPT_BATCH 64        /* accepts per socket per loop: fairness between ports */
#define PAUSE_MS 100           /* after EMFILE/ENFILE, before accepting again */
#define STOP_GRACE_MS 5000     /* SIGTERM to children, then SIGKILL after this */
#define TIMEOUT_KILL_S 5       /* -t: SIGTERM at the limit, SIGKILL this much later */
#define PAUSE_LOG_S 10         /* one "pausing" line per this many seconds, not per retry */

struct state {
	const struct serve_opts *o;
	struct table children;
	struct table limits;
	int stopping;
	struct timespec paused_until; /* accept paused while now < this */
	struct timespec pause_logged; /* when the last "pausing" line was written */
	unsigned long pauses;         /* pauses since then, not logged */
};

static struct timespec now_mono(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts;
}

static long long ms_between(struct timespec a, struct timespec b)
{
	return (long long)(b.tv_sec - a.tv_sec) * 1000 + (b.tv_nsec - a.tv_nsec) / 1000000;
}

static void refuse(int conn, const char *ip, unsigned port, const char *reason,
		   const struct serve_opts *o)
{
	/* one non-blocking write: a refused client never holds up the loop */
	if (o->busy_len > 0 && send(conn, o->busy, o->busy_len, MSG_DONTWAIT | MSG_NOSIGNAL) < 0)
		log_debug("busy message to %s: %s", ip, strerror(errno));
	close(conn);
	log_info("refuse ip=%s port=%u reason=%s", ip, port, reason);
}

static void start_child(struct state *s, int conn, const struct sockaddr *local,
			const struct sockaddr *remote)
{
	char ip[LISTENER_IP_MAX];
	unsigned port;
	struct limits_key key;
	sock_format(remote, ip, &port);
	limits_key_of(remote, &key);
	const char *over = NULL;
	if (s->children.count >= s->o->maxconn)
		over = "maxconn";
	else if (limits_count(&s->limits, &key) >= s->o->maxperip)
		over = "maxperip";
	if (over != NULL) {
		refuse(conn, ip, port, over, s->o);
		return;
	}
	pid_t pid = spawn_child(conn, local, remote, s->o->lookup, s->o->argv);
	if (pid < 0) {
		log_error("fork: %s", strerror(errno));
		refuse(conn, ip, port, "fork", s->o);
		return;
	}
	close(conn);
	struct child *c = children_add(&s->children, pid);
	if (c == NULL || limits_add(&s->limits, &key) != 0)
		log_fatal(70, "internal error: connection tables full"); /* count < maxconn above */
	c->key = key;
	memcpy(c->ip, ip, sizeof ip);
	c->port = port;
	c->start = now_mono();
	log_info("connect ip=%s port=%u pid=%ld", ip, port, (long)pid);
}

static void on_connection(struct state *s, int conn, const struct sockaddr *remote)
{
	struct sockaddr_storage local;
	socklen_t llen = sizeof local;
	if (getsockname(conn, (struct sockaddr *)&local, &llen) != 0) {
		log_warn("getsockname: %s", strerror(errno));
		close(conn);
		return;
	}
	start_child(s, conn, (struct sockaddr *)&local, remote);
}

/* Out of descriptors or memory: the connection waits in the backlog while
 * children exit; retry in PAUSE_MS without flooding the log. */
static void pause_accepting(struct state *s, int e)
{
	struct timespec now = now_mono();
	if (s->pause_logged.tv_sec == 0 || ms_between(s->pause_logged, now) >= PAUSE_LOG_S * 1000) {
		log_warn("accept: %s; pausing %d ms unlogged=%lu", strerror(e), PAUSE_MS, s->pauses);
		s->pause_logged = now;
		s->pauses = 0;
	} else {
		s->pauses++;
	}
	s->paused_until = now;
	s->paused_until.tv_nsec += PAUSE_MS * 1000000L;
	if (s->paused_until.tv_nsec >= 1000000000L) {
		s->paused_until.tv_sec++;
		s->paused_until.tv_nsec -= 1000000000L;
	}
}

/* 1 to keep accepting on this socket, 0 to stop for now. */
static int accept_one(struct state *s, int fd)
{
	struct sockaddr_storage remote;
	socklen_t rlen = sizeof remote;
	int conn = accept4(fd, (struct sockaddr *)&remote, &rlen, SOCK_CLOEXEC);
	if (conn >= 0) {
		on_connection(s, conn, (struct sockaddr *)&remote);
		return 1;
	}
	switch (errno) {
	case EAGAIN: /* includes EWOULDBLOCK */
		return 0;
	case EINTR: case ECONNABORTED: case EPROTO: case ENETDOWN: case ENOPROTOOPT:
	case EHOSTDOWN: case ENONET: case EHOSTUNREACH: case EOPNOTSUPP: case ENETUNREACH:
		return 1; /* that connection is gone; Linux reports its errors here */
	case EMFILE: case ENFILE: case ENOBUFS: case ENOMEM:
		pause_accepting(s, errno);
		return 0;
	default: /* unexpected: do not spin on it */
		pause_accepting(s, errno);
		return 0;
	}
}

static void status_text(int st, char *out, size_t len)
{
	if (WIFEXITED(st))
		snprintf(out, len, "%d", WEXITSTATUS(st));
	else if (WIFSIGNALED(st))
		snprintf(out, len, "sig%d", WTERMSIG(st));
	else
		snprintf(out, len, "unknown");
}

static void reap(struct state *s)
{
	int st;
	pid_t pid;
	while ((pid = waitpid(-1, &st, WNOHANG)) > 0) {
		struct child *c = children_find(&s->children, pid);
		if (c == NULL)
			continue;
		char status[32];
		status_text(st, status, sizeof status);
		long long ms = ms_between(c->start, now_mono());
		log_info("exit pid=%ld ip=%s status=%s duration=%lld.%03llds", (long)pid, c->ip,
			 status, ms / 1000, ms % 1000);
		limits_remove(&s->limits, &c->key);
		children_remove(&s->children, c);
	}
}

static void read_signals(struct state *s, int sigfd)
{
	struct signalfd_siginfo si;
	while (read(sigfd, &si, sizeof si) == (ssize_t)sizeof si) {
		if (si.ssi_signo == SIGTERM || si.ssi_signo == SIGINT) {
			if (!s->stopping)
				log_info("stop signal=%u children=%zu", si.ssi_signo, s->children.count);
			s->stopping = 1;
		} else if (si.ssi_signo == SIGHUP) {
			log_info("hup: nothing to reload");
		}
	}
	reap(s);
}

/* Signal a child's process group (falls back to the child if it left it). */
static void signal_child(struct child *c, int sig)
{
	if (kill(-c->pid, sig) != 0)
		kill(c->pid, sig);
	c->signalled = sig;
}

static void check_timeouts(struct state *s)
{
	struct timespec now = now_mono();
	for (size_t i = 0; i <= s->children.mask; i++) {
		struct child *c = table_slot(&s->children, i);
		if (c == NULL)
			continue;
		long long age = ms_between(c->start, now) / 1000;
		if (c->signalled == 0 && age >= s->o->timeout) {
			log_info("timeout pid=%ld ip=%s", (long)c->pid, c->ip);
			signal_child(c, SIGTERM);
		} else if (c->signalled == SIGTERM && age >= (long long)s->o->timeout + TIMEOUT_KILL_S) {
			signal_child(c, SIGKILL);
		}
	}
}

static void signal_all(struct state *s, int sig)
{
	for (size_t i = 0; i <= s->children.mask; i++) {
		struct child *c = table_slot(&s->children, i);
		if (c != NULL)
			signal_child(c, sig);
	}
}

/* Wait for the children until none is left or ms have passed. */
static void wait_children(struct state *s, int sigfd, long long ms)
{
	struct timespec start = now_mono();
	while (s->children.count > 0) {
		long long left = ms - ms_between(start, now_mono());
		if (left <= 0)
			return;
		struct pollfd p = { .fd = sigfd, .events = POLLIN };
		poll(&p, 1, (int)left);
		read_signals(s, sigfd);
	}
}

static void stop_children(struct state *s, int sigfd)
{
	signal_all(s, SIGTERM);
	wait_children(s, sigfd, STOP_GRACE_MS);
	if (s->children.count > 0) {
		log_warn("stop: %zu children still running, killing them", s->children.count);
		signal_all(s, SIGKILL);
		wait_children(s, sigfd, 1000);
	}
}

/* The poll timeout in ms (-1 = none) and whether listening sockets are polled. */
static int poll_timeout(const struct state *s, int *accepting)
{
	long long pause = ms_between(now_mono(), s->paused_until);
	int t = s->o->timeout > 0 ? 1000 : -1;
	*accepting = pause <= 0;
	if (!*accepting && (t < 0 || pause < t))
		t = (int)pause + 1;
	return t;
}

static void loop_once(struct state *s, const struct socks *socks, int sigfd)
{
	struct pollfd p[1 + LISTENER_MAX_SOCKETS];
	int accepting;
	int timeout = poll_timeout(s, &accepting);
	size_t n = 1;
	p[0] = (struct pollfd){ .fd = sigfd, .events = POLLIN };
	for (size_t i = 0; accepting && i < socks->count; i++)
		p[n++] = (struct pollfd){ .fd = socks->fd[i], .events = POLLIN };
	if (poll(p, n, timeout) < 0 && errno != EINTR)
		log_fatal(71, "poll: %s", strerror(errno));
	if (p[0].revents)
		read_signals(s, sigfd);
	if (s->o->timeout > 0)
		check_timeouts(s);
	for (size_t i = 1; i < n && !s->stopping; i++) {
		for (int k = 0; (p[i].revents & POLLIN) && k < ACCEPT_BATCH; k++) {
			if (!accept_one(s, p[i].fd))
				break;
		}
	}
}

int serve(const struct socks *socks, int sigfd, const struct serve_opts *o)
{
	struct state s;
	memset(&s, 0, sizeof s);
	s.o = o;
	children_init(&s.children, o->maxconn);
	limits_init(&s.limits, o->maxconn);
	while (!s.stopping)
		loop_once(&s, socks, sigfd);
	for (size_t i = 0; i < socks->count; i++)
		close(socks->fd[i]);
	stop_children(&s, sigfd);
	log_info("stopped children=%zu", s.children.count);
	table_free(&s.children);
	table_free(&s.limits);
	return 0;
}
