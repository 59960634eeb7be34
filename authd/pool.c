/* pool: authd's pre-forked connection processes (pool.h).
 *
 * A fork per connection cost about 1 ms of the client's time (fork, page
 * faults, exit, reaping): more than the lookup itself, and smtpd asks once
 * per message. So workers are forked ahead and each one serves connection
 * after connection: it waits in epoll on the listening socket, accepts,
 * checks SO_PEERCRED, serves the session (session.c) and waits again. A slow
 * hash or a failure delay still holds up only its own worker.
 *
 * Each worker tells the parent over a pipe when it turns busy or idle (one
 * small record, atomic on a pipe). The parent forks while fewer than
 * min_spare are idle and there are fewer than max_connections workers, and
 * retires idle ones beyond max_spare with SIGTERM. Workers keep SIGTERM
 * blocked while serving, so a retired or stopping worker finishes its
 * session first. A worker exits after WORKER_SESSIONS sessions (bounded
 * growth), and when the parent dies (PR_SET_PDEATHSIG), so no orphan keeps
 * accepting.
 *
 * Trusts: its own workers' status records (same uid, a private pipe). */
#define _GNU_SOURCE /* accept4, ppoll */
#include "pool.h"
#include "alloc.h"
#include "log.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <sysexits.h>
#include <unistd.h>

#define WORKER_SESSIONS 10000

struct status {
	pid_t pid;
	int idle; /* 1 waiting for a connection, 0 serving one */
};

struct worker {
	pid_t pid;
	int idle;
	int retiring; /* sent SIGTERM: counts neither as idle nor as capacity */
};

struct pool {
	const struct authd *d;
	int lfd;
	int status_fd[2];
	pool_allowed_fn *allowed;
	struct worker *w;
	size_t n, idle;
};

static volatile sig_atomic_t got_term, got_chld;

static void on_signal(int sig)
{
	if (sig == SIGCHLD)
		got_chld = 1;
	else
		got_term = 1;
}

void pool_signals(void)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGCHLD, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	signal(SIGHUP, SIG_IGN);
	sigset_t block;
	sigemptyset(&block);
	sigaddset(&block, SIGTERM);
	sigaddset(&block, SIGINT);
	sigaddset(&block, SIGCHLD);
	sigprocmask(SIG_BLOCK, &block, NULL); /* delivered only inside ppoll() */
}

/* --- worker ------------------------------------------------------------- */

static void report(int fd, int idle)
{
	struct status st = { getpid(), idle };
	/* a full pipe only delays the parent's count; it never blocks us */
	(void)!write(fd, &st, sizeof st);
}

static void serve_one(const struct pool *p, int cfd)
{
	uid_t peer = (uid_t)-1;
	if (!p->allowed(cfd, &peer)) {
		log_warn("refused connection from uid %ld", peer == (uid_t)-1 ? -1L : (long)peer);
		static const char no[] = "NO permission%20denied\n";
		(void)!write(cfd, no, sizeof no - 1);
		return;
	}
	session_serve(p->d, cfd, peer);
}

static _Noreturn void worker(const struct pool *p, pid_t parent)
{
	close(p->status_fd[0]);
	signal(SIGCHLD, SIG_DFL);
	if (prctl(PR_SET_PDEATHSIG, SIGTERM) < 0 || getppid() != parent)
		_exit(0);
	/* EPOLLEXCLUSIVE: a connection wakes one idle worker, not all of them */
	int ep = epoll_create1(EPOLL_CLOEXEC);
	struct epoll_event want = { .events = EPOLLIN | EPOLLEXCLUSIVE };
	if (ep < 0 || epoll_ctl(ep, EPOLL_CTL_ADD, p->lfd, &want) < 0) {
		log_error("epoll: %s", strerror(errno));
		_exit(EX_TEMPFAIL);
	}
	sigset_t none;
	sigemptyset(&none);
	int idle = 0;
	for (unsigned served = 0; served < WORKER_SESSIONS && !got_term;) {
		if (!idle)
			report(p->status_fd[1], idle = 1);
		struct epoll_event ev;
		int n = epoll_pwait(ep, &ev, 1, -1, &none); /* signals only in here */
		if (got_term)
			break;
		if (n <= 0)
			continue;
		int cfd = accept4(p->lfd, NULL, NULL, SOCK_CLOEXEC);
		if (cfd < 0) { /* EAGAIN: a sibling took it */
			if (errno != EAGAIN && errno != EINTR && errno != ECONNABORTED)
				log_warn("accept: %s", strerror(errno));
			continue;
		}
		report(p->status_fd[1], idle = 0);
		serve_one(p, cfd);
		close(cfd);
		served++;
	}
	_exit(0);
}

/* --- parent ------------------------------------------------------------- */

static void spawn(struct pool *p)
{
	pid_t parent = getpid();
	pid_t pid = fork();
	if (pid == 0)
		worker(p, parent);
	if (pid < 0) {
		log_error("fork: %s", strerror(errno));
		return;
	}
	/* counted idle from the start: it is about to wait for a connection */
	p->w[p->n++] = (struct worker){ pid, 1, 0 };
	p->idle++;
}

static struct worker *find(struct pool *p, pid_t pid)
{
	for (size_t i = 0; i < p->n; i++)
		if (p->w[i].pid == pid)
			return &p->w[i];
	return NULL;
}

static void forget(struct pool *p, struct worker *w)
{
	if (w->idle && !w->retiring)
		p->idle--;
	*w = p->w[--p->n];
}

static void reap(struct pool *p)
{
	int st;
	pid_t pid;
	while ((pid = waitpid(-1, &st, WNOHANG)) > 0) {
		struct worker *w = find(p, pid);
		if (w)
			forget(p, w);
		if (WIFSIGNALED(st) && WTERMSIG(st) != SIGTERM)
			log_error("connection process %ld died of signal %d", (long)pid, WTERMSIG(st));
	}
}

static void read_status(struct pool *p)
{
	struct status st[64];
	ssize_t r;
	while ((r = read(p->status_fd[0], st, sizeof st)) > 0) {
		for (size_t i = 0; i < (size_t)r / sizeof st[0]; i++) {
			struct worker *w = find(p, st[i].pid);
			if (w == NULL || w->retiring || w->idle == st[i].idle)
				continue;
			w->idle = st[i].idle;
			if (w->idle)
				p->idle++;
			else
				p->idle--;
		}
	}
}

/* Fork up to min_spare idle workers, retire idle ones beyond max_spare. */
static void adjust(struct pool *p)
{
	const struct authd *d = p->d;
	while (p->idle < d->min_spare && p->n < d->max_connections) {
		size_t before = p->n;
		spawn(p);
		if (p->n == before)
			break; /* fork failed: retried at the next event */
	}
	for (size_t i = 0; i < p->n && p->idle > d->max_spare; i++) {
		struct worker *w = &p->w[i];
		if (w->idle && !w->retiring) {
			kill(w->pid, SIGTERM);
			w->retiring = 1;
			p->idle--;
		}
	}
}

static void stop_all(struct pool *p)
{
	size_t busy = 0;
	for (size_t i = 0; i < p->n; i++) {
		kill(p->w[i].pid, SIGTERM);
		busy += !p->w[i].idle;
	}
	/* busy workers finish their session within its timeout, then exit */
	log_info("stopping (%zu connections still running)", busy);
}

void pool_serve(const struct authd *d, int lfd, pool_allowed_fn *allowed)
{
	struct pool p = { d, lfd, { -1, -1 }, allowed, NULL, 0, 0 };
	if (pipe2(p.status_fd, O_CLOEXEC | O_NONBLOCK) < 0)
		log_fatal(EX_TEMPFAIL, "pipe: %s", strerror(errno));
	p.w = xcalloc(d->max_connections, sizeof *p.w);
	sigset_t none;
	sigemptyset(&none);
	adjust(&p);
	while (!got_term) {
		struct pollfd pfd = { p.status_fd[0], POLLIN, 0 };
		int n = ppoll(&pfd, 1, NULL, &none);
		int e = errno;
		if (got_chld) {
			got_chld = 0;
			reap(&p);
		}
		if (n > 0)
			read_status(&p);
		else if (n < 0 && e != EINTR)
			log_fatal(EX_TEMPFAIL, "poll: %s", strerror(e));
		if (!got_term)
			adjust(&p);
	}
	stop_all(&p);
	close(p.status_fd[0]);
	close(p.status_fd[1]);
	free(p.w);
}
