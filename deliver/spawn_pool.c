/* deliver-spawn's local jobs: the account from authd, then a worker.
 *
 * Root here never reads message content. For each local job it asks authd
 * itself (LOOKUP deliver ACCOUNT on one kept connection, requests pipelined
 * and answered in order, awaited in the main poll loop so no job blocks
 * another; a connection authd closed is replaced and the unanswered requests
 * are sent again, once), refuses uid 0 and relative homes, and
 * sends the job with the queue file attached to an idle worker running as
 * that uid and gid ("deliver -W", worker.c), starting one if none is idle.
 * Workers idle for WORKER_IDLE_MS are let go by closing their socket; a
 * worker that dies mid-job turns the job into a 451, so courierd retries. */
#define _GNU_SOURCE
#include "spawn.h"
#include "alloc.h"
#include "authclient.h"
#include "buf.h"
#include "fdpass.h"
#include "file.h"
#include "log.h"
#include "paths.h"
#include "priv.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

#define LOOKUP_TIMEOUT_MS 30000
#define AUTHCONN_AGE_MS 20000 /* authd ends a connection after 30 s by default */
#define WORKER_IDLE_MS 30000
#define MAX_IDLE_WORKERS 64
#define WORKER_ANSWER_MAX 1024

struct lookup {
	struct job job;
	int64_t deadline;
	int tries;
};

struct worker {
	pid_t pid;
	int fd;
	uid_t uid;
	gid_t gid;
	struct job job;  /* busy while job.pkt != NULL */
	int64_t idle_since;
};

static struct lookup **lks; /* awaiting authd's answer, in the order asked */
static size_t nlks;
static int afd = -1;        /* the connection to authd */
static int64_t aopened;
static struct buf ain;      /* its answers so far */
static struct worker **wks;
static size_t nwks;

static int64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void fail_job(struct job *j, const char *code, const char *text)
{
	spawn_reply(j->f[1], code, text);
	job_free(j);
}

static void channel_close(void)
{
	if (afd >= 0)
		close(afd);
	afd = -1;
	buf_reset(&ain);
}

static int send_request(struct lookup *l)
{
	struct buf req = BUF_INIT;
	authclient_lookup_request(&req, "deliver", l->job.f[5]);
	buf_append_char(&req, '\n');
	if (afd < 0) {
		afd = authclient_connect(NULL);
		aopened = now_ms();
	}
	int r = afd >= 0 && file_write_all(afd, req.data, req.len) == 0 ? 0 : -1;
	buf_free(&req);
	l->tries++;
	return r;
}

/* Send every unanswered request again on a new connection; those already
 * sent twice, or that cannot be sent, are answered 451. */
static void channel_restart(void)
{
	channel_close();
	for (size_t i = 0; i < nlks; i++) {
		struct lookup *l = lks[i];
		if (l->tries < 2 && send_request(l) == 0)
			continue;
		log_error("job %s: authd: %s", l->job.f[1], l->tries < 2 ? strerror(errno)
								: "no answer twice");
		fail_job(&l->job, "451", "4.3.0 account lookup failed, will retry");
		free(l);
		memmove(&lks[i], &lks[i + 1], (nlks - i - 1) * sizeof *lks);
		nlks--;
		i--;
	}
	if (nlks == 0)
		channel_close();
}

void pool_local_job(struct job *j)
{
	/* a connection near authd's own timeout is replaced while nothing waits */
	if (afd >= 0 && nlks == 0 && now_ms() - aopened > AUTHCONN_AGE_MS)
		channel_close();
	struct lookup *l = xcalloc(1, sizeof *l);
	l->job = *j;
	l->deadline = now_ms() + LOOKUP_TIMEOUT_MS;
	lks = xreallocarray(lks, nlks + 1, sizeof *lks);
	lks[nlks++] = l;
	if (send_request(l) < 0)
		channel_restart();
}

static void worker_drop(size_t i)
{
	struct worker *w = wks[i];
	if (w->job.pkt)
		fail_job(&w->job, "451", "4.3.0 the delivery worker ended unexpectedly, will retry");
	close(w->fd);
	free(w);
	wks[i] = wks[--nwks];
}

/* The worker's environment: nothing of ours but the instance and logging. */
_Noreturn static void worker_exec(int sock, uid_t uid, gid_t gid)
{
	struct buf err = BUF_INIT, prog = BUF_INIT, eroot = BUF_INIT;
	signal(SIGCHLD, SIG_DFL);
	if (dup2(sock, 0) < 0)
		_exit(EX_TEMPFAIL);
	if (priv_drop_to_ids(uid, gid, 0, &err) < 0) {
		log_error("worker for uid %lu: %s", (unsigned long)uid, buf_cstr(&err));
		_exit(EX_TEMPFAIL);
	}
	if (chdir("/") < 0)
		_exit(EX_TEMPFAIL);
	paths_join(&prog, paths_libexec(), "deliver");
	buf_printf(&eroot, "ESTAFETTE_ROOT=%s", paths_root());
	const char *logenv = getenv("ESTAFETTE_LOG");
	char *elog = logenv && strcmp(logenv, "stderr") == 0 ? "ESTAFETTE_LOG=stderr"
							      : "ESTAFETTE_LOG=syslog";
	char *envp[] = { "PATH=/usr/bin:/bin", "HOME=/", eroot.data, elog, NULL };
	char *argv[] = { "deliver", "-W", NULL };
	execve(buf_cstr(&prog), argv, envp);
	log_error("cannot run %s: %s", buf_cstr(&prog), strerror(errno));
	_exit(EX_TEMPFAIL);
}

static struct worker *worker_start(uid_t uid, gid_t gid)
{
	int sv[2];
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
		return NULL;
	pid_t pid = fork();
	if (pid == 0)
		worker_exec(sv[1], uid, gid);
	close(sv[1]);
	if (pid < 0) {
		close(sv[0]);
		return NULL;
	}
	struct worker *w = xcalloc(1, sizeof *w);
	w->pid = pid;
	w->fd = sv[0];
	w->uid = uid;
	w->gid = gid;
	wks = xreallocarray(wks, nwks + 1, sizeof *wks);
	wks[nwks++] = w;
	return w;
}

static int worker_send(struct worker *w, const struct buf *pkt, int msgfd)
{
	return fdpass_send(w->fd, pkt->data, pkt->len, msgfd);
}

/* Too many idle workers: let the one idle longest go. */
static void idle_trim(void)
{
	size_t idle = 0, oldest = 0;
	for (size_t i = 0; i < nwks; i++)
		if (!wks[i]->job.pkt && (idle++ == 0 || wks[i]->idle_since < wks[oldest]->idle_since))
			oldest = i;
	if (idle > MAX_IDLE_WORKERS)
		worker_drop(oldest);
}

/* To an idle worker of these ids, or a new one. */
static void dispatch(struct job *j, uid_t uid, gid_t gid, const struct buf *pkt)
{
	for (size_t i = 0; i < nwks; i++) {
		struct worker *w = wks[i];
		if (w->job.pkt || w->uid != uid || w->gid != gid)
			continue;
		if (worker_send(w, pkt, j->msgfd) == 0) {
			w->job = *j;
			return;
		}
		worker_drop(i--); /* gone meanwhile: try the next */
	}
	idle_trim();
	struct worker *w = worker_start(uid, gid);
	if (w == NULL || worker_send(w, pkt, j->msgfd) < 0) {
		log_error("job %s: cannot start a delivery worker: %s", j->f[1], strerror(errno));
		fail_job(j, "451", "4.3.0 cannot start delivery, will retry");
		return;
	}
	w->job = *j;
}

static int field_ok(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return 0;
	return 1;
}

/* authd answered: refuse what must not be delivered, else dispatch. */
static void lookup_done(struct job *j, int r, const struct account *a)
{
	struct buf md = BUF_INIT, pkt = BUF_INIT;
	if (r != AUTHCLIENT_OK) {
		fail_job(j, r == AUTHCLIENT_NO ? "550" : "451",
			 r == AUTHCLIENT_NO ? "5.1.1 no such account"
					    : "4.3.0 account lookup failed, will retry");
		return;
	}
	if (a->maildir[0])
		buf_set_str(&md, a->maildir);
	else
		paths_join(&md, a->home, "Maildir");
	if (a->uid == 0 || a->home[0] != '/' || !field_ok(a->home) || !field_ok(buf_cstr(&md)) ||
	    !field_ok(a->quota)) {
		log_error("job %s: account %s has uid 0, no absolute home or an unusable "
			  "maildir: refused", j->f[1], j->f[5]);
		fail_job(j, "451", "4.3.0 refusing delivery to this account (uid 0 or no home)");
	} else {
		buf_printf(&pkt, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s", a->home, buf_cstr(&md),
			   account_has_option(a, "maildrop") ? "M" : "-", j->f[3], j->f[4], j->f[6],
			   j->f[2], a->quota);
		dispatch(j, a->uid, a->gid, &pkt);
	}
	buf_free(&md);
	buf_free(&pkt);
}

/* Answers in the order asked: each complete line is the oldest request's. */
static void channel_read(void)
{
	char tmp[4096];
	ssize_t n = recv(afd, tmp, sizeof tmp, MSG_DONTWAIT);
	if (n < 0 && (errno == EINTR || errno == EAGAIN))
		return;
	if (n <= 0) {
		channel_restart();
		return;
	}
	buf_append(&ain, tmp, (size_t)n);
	char *lf;
	while (nlks && ain.len && (lf = memchr(ain.data, '\n', ain.len)) != NULL) {
		struct account a = ACCOUNT_INIT;
		int r = authclient_parse_reply(ain.data, (size_t)(lf - ain.data), &a, NULL);
		buf_consume(&ain, (size_t)(lf - ain.data) + 1);
		struct lookup *l = lks[0];
		memmove(&lks[0], &lks[1], (nlks - 1) * sizeof *lks);
		nlks--;
		lookup_done(&l->job, r, &a);
		account_free(&a);
		free(l);
	}
	if (ain.len > AUTHCLIENT_MAX_LINE || (ain.len && nlks == 0)) {
		log_error("authd: answer too long or unasked for");
		channel_restart();
	}
}

static void worker_read(size_t i)
{
	struct worker *w = wks[i];
	char ans[WORKER_ANSWER_MAX + 1];
	/* never blocks: poll's word may be about an earlier holder of this fd */
	ssize_t n = recv(w->fd, ans, WORKER_ANSWER_MAX, MSG_DONTWAIT);
	if (n < 0 && (errno == EINTR || errno == EAGAIN))
		return;
	if (n <= 0 || !w->job.pkt) {
		worker_drop(i); /* ended, or spoke out of turn */
		return;
	}
	ans[n] = '\0';
	int ok = n >= 4 && (ans[0] == '2' || ans[0] == '4' || ans[0] == '5') &&
		 ans[1] >= '0' && ans[1] <= '9' && ans[2] >= '0' && ans[2] <= '9' && ans[3] == ' ' &&
		 memchr(ans, '\0', (size_t)n) == NULL;
	if (ok) {
		ans[3] = '\0';
		spawn_reply(w->job.f[1], ans, ans + 4);
	} else {
		spawn_reply(w->job.f[1], "451", "4.3.0 malformed answer from the delivery worker");
	}
	job_free(&w->job);
	w->idle_since = now_ms();
}

size_t pool_size(void)
{
	return 1 + nwks;
}

size_t pool_pollfds(struct pollfd *p, size_t max, int *timeout_ms)
{
	int64_t now = now_ms(), next = -1;
	size_t n = 0;
	if (afd >= 0 && n < max) {
		p[n++] = (struct pollfd){ afd, POLLIN, 0 };
		if (nlks)
			next = lks[0]->deadline;
	}
	for (size_t i = 0; i < nwks && n < max; i++) {
		p[n++] = (struct pollfd){ wks[i]->fd, POLLIN, 0 };
		int64_t t = wks[i]->idle_since + WORKER_IDLE_MS;
		if (!wks[i]->job.pkt && (next < 0 || t < next))
			next = t;
	}
	*timeout_ms = next < 0 ? -1 : next <= now ? 0 : (int)(next - now);
	return n;
}

static void expire(void)
{
	int64_t now = now_ms();
	if (nlks && lks[0]->deadline <= now) {
		/* authd is stuck on the oldest: give up on everything asked */
		log_error("job %s: authd did not answer in time", lks[0]->job.f[1]);
		for (size_t i = 0; i < nlks; i++) {
			fail_job(&lks[i]->job, "451", "4.3.0 account lookup timed out, will retry");
			free(lks[i]);
		}
		nlks = 0;
		channel_close();
	}
	for (size_t i = 0; i < nwks; i++)
		if (!wks[i]->job.pkt && wks[i]->idle_since + WORKER_IDLE_MS <= now)
			worker_drop(i--);
}

void pool_handle(const struct pollfd *p, size_t n)
{
	for (size_t k = 0; k < n; k++) {
		if (!p[k].revents)
			continue;
		if (afd >= 0 && p[k].fd == afd) {
			channel_read();
			continue;
		}
		for (size_t i = 0; i < nwks; i++)
			if (wks[i]->fd == p[k].fd) {
				worker_read(i);
				break;
			}
	}
	expire();
}

int pool_idle(void)
{
	if (nlks)
		return 0;
	for (size_t i = 0; i < nwks; i++)
		if (wks[i]->job.pkt)
			return 0;
	return 1;
}

void pool_close(void)
{
	channel_close();
	buf_free(&ain);
	while (nwks)
		worker_drop(nwks - 1);
	free(wks);
	wks = NULL;
	free(lks);
	lks = NULL;
}
