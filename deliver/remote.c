/* remote: the remote delivery module (remote(8)).
 *
 *   remote     (started by courierd, which drops it to estafette-remote;
 *               fd 0 is a SOCK_SEQPACKET socket to courierd)
 *
 * Jobs arrive one recipient per packet, the message's descriptor attached
 * (SCM_RIGHTS):  "R" TAB jobid TAB qid TAB sender TAB recipient TAB account TAB ext
 * Jobs for the same domain that arrive within REMOTE_WINDOW_MS of each other
 * form a batch; a child process delivers each batch (lib/dns, lib/smtpc:
 * remote_send.c). Per destination domain, at most `concurrency` children run
 * at once and starts are `rate_delay` apart (remote.conf, remote.routes);
 * a batch held back meanwhile gathers the domain's next jobs. Each job is
 * answered with one packet:
 *   jobid TAB code SP status SP text
 * code 250 (delivered), 4xx (retry later) or 5xx (bounce); text names the
 * remote host and carries its exact reply, for the DSN.
 *
 * Runs unprivileged; never root (refused). Parses only the job packets
 * (bounded, split at TABs) here; trusts courierd and the configuration. */
#define _GNU_SOURCE
#include "remote.h"

#include "alloc.h"
#include "log.h"
#include "priv.h"
#include "fdpass.h"
#include "queue.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

#define JOB_MAX 4096
#define JOB_FIELDS 11 /* the 7 of every module, then notify orcpt ret envid */
#define REMOTE_WINDOW_MS 30
#define REMOTE_BATCH_MAX 100

struct batch {
	char *domain;
	struct remote_job *jobs;
	size_t n;
	int64_t since;
};

/* A destination with children running or a recent start (for rate_delay). */
struct dest {
	char *domain;
	size_t running;
	int64_t last_start;
};

/* A running batch child. */
struct child {
	pid_t pid;
	size_t dest;          /* index into dests; fixed up when dests shrink */
};

static struct batch *batches;
static size_t nbatches;
static struct dest *dests;
static size_t ndests;
static struct child *children;
static size_t nchildren;
static volatile sig_atomic_t child_exited;
static int sock = 0;

static int64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void job_free(struct remote_job *j)
{
	free(j->id);
	free(j->qid);
	free(j->sender);
	free(j->rcpt);
	free(j->notify);
	free(j->orcpt);
	free(j->ret);
	free(j->envid);
	if (j->fd >= 0)
		close(j->fd);
}

static int field_ok(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return 0;
	return 1;
}

static char *nonempty(const char *s)
{
	return *s ? xstrdup(s) : NULL;
}

/* notify orcpt ret envid as the queue keeps them (lib/queue's checks). */
static int dsn_params(struct remote_job *j, char **f)
{
	if ((*f[0] && !queue_notify_valid(f[0], strlen(f[0]))) ||
	    (*f[1] && !queue_orcpt_valid(f[1], strlen(f[1]))) ||
	    (*f[2] && !queue_ret_valid(f[2])) || (*f[3] && !queue_xtext_valid(f[3], strlen(f[3]))))
		return -1;
	j->notify = nonempty(f[0]);
	j->orcpt = nonempty(f[1]);
	j->ret = nonempty(f[2]);
	j->envid = nonempty(f[3]);
	return 0;
}

/* Split a job packet; the domain is the recipient's, lowercased. */
static int job_parse(char *pkt, struct remote_job *j, char **domain)
{
	char *f[JOB_FIELDS];
	size_t n = 0;
	for (char *p = pkt; n < JOB_FIELDS; n++) {
		f[n] = p;
		p = strchr(p, '\t');
		if (!p)
			break;
		*p++ = '\0';
	}
	if (n != JOB_FIELDS - 1 && n != 6) /* 7 fields: no DSN parameters */
		return -1;
	if (strcmp(f[0], "R") != 0 || !*f[1] ||
	    strspn(f[1], "0123456789") != strlen(f[1]) || !queue_id_valid(f[2], strlen(f[2])))
		return -1;
	for (size_t i = 3; i < 5; i++)
		if (!field_ok(f[i]))
			return -1;
	const char *at = strrchr(f[4], '@');
	if (!at || at == f[4] || !at[1])
		return -1;
	j->id = xstrdup(f[1]);
	j->qid = xstrdup(f[2]);
	j->sender = xstrdup(f[3]);
	j->rcpt = xstrdup(f[4]);
	if (n == JOB_FIELDS - 1 && dsn_params(j, f + 7) < 0) {
		free(j->id), free(j->qid), free(j->sender), free(j->rcpt);
		return -1;
	}
	*domain = xstrdup(at + 1);
	for (char *p = *domain; *p; p++)
		if (*p >= 'A' && *p <= 'Z')
			*p = (char)(*p + 32);
	return 0;
}

/* 1 with a packet and its descriptor, 0 at EOF, -1 if none is waiting,
 * -2 for a malformed one (refused, its descriptor closed). */
static int job_recv(char *pkt, size_t size, int *fd)
{
	switch (fdpass_recv(sock, pkt, size, fd, FDPASS_NONBLOCK)) {
	case FDPASS_OK: return 1;
	case FDPASS_AGAIN: return -1;
	case FDPASS_BAD: return -2;
	default: return 0;
	}
}

static struct batch *batch_for(const char *domain)
{
	for (size_t i = 0; i < nbatches; i++)
		if (strcmp(batches[i].domain, domain) == 0 && batches[i].n < REMOTE_BATCH_MAX)
			return &batches[i];
	batches = xreallocarray(batches, nbatches + 1, sizeof(*batches));
	struct batch *b = &batches[nbatches++];
	memset(b, 0, sizeof(*b));
	b->domain = xstrdup(domain);
	b->jobs = xcalloc(REMOTE_BATCH_MAX, sizeof(*b->jobs));
	b->since = now_ms();
	return b;
}

static void batch_free(struct batch *b)
{
	for (size_t i = 0; i < b->n; i++)
		job_free(&b->jobs[i]);
	free(b->jobs);
	free(b->domain);
}

static size_t dest_find(const char *domain, int create)
{
	for (size_t i = 0; i < ndests; i++)
		if (strcmp(dests[i].domain, domain) == 0)
			return i;
	if (!create)
		return SIZE_MAX;
	dests = xreallocarray(dests, ndests + 1, sizeof(*dests));
	dests[ndests].domain = xstrdup(domain);
	dests[ndests].running = 0;
	dests[ndests].last_start = INT64_MIN / 2;
	return ndests++;
}

/* Forget destinations nothing needs any more: no child, rate delay over. */
static void dest_prune(const struct remote_conf *c, int64_t now)
{
	for (size_t i = 0; i < ndests;) {
		int conc;
		int64_t delay;
		remote_limits(c, dests[i].domain, &conc, &delay);
		if (dests[i].running > 0 || dests[i].last_start + delay > now) {
			i++;
			continue;
		}
		free(dests[i].domain);
		dests[i] = dests[--ndests];
		for (size_t k = 0; k < nchildren; k++)
			if (children[k].dest == ndests)
				children[k].dest = i;
	}
}

/* Milliseconds until the batch's domain may start another child (0: now),
 * or -1 while its concurrency limit is reached (wait for a child). */
static int64_t dest_wait(const struct remote_conf *c, const char *domain, int64_t now)
{
	size_t d = dest_find(domain, 0);
	if (d == SIZE_MAX)
		return 0;
	int conc;
	int64_t delay;
	remote_limits(c, domain, &conc, &delay);
	if (conc > 0 && dests[d].running >= (size_t)conc)
		return -1;
	int64_t left = dests[d].last_start + delay - now;
	return left > 0 ? left : 0;
}

static void on_sigchld(int sig)
{
	(void)sig;
	child_exited = 1;
}

static void children_reap(void)
{
	pid_t pid;
	child_exited = 0;
	while ((pid = waitpid(-1, NULL, WNOHANG)) > 0)
		for (size_t k = 0; k < nchildren; k++)
			if (children[k].pid == pid) {
				dests[children[k].dest].running--;
				children[k] = children[--nchildren];
				break;
			}
}

/* Fork a child for batch i and forget the batch here. */
static void batch_start(const struct remote_conf *c, size_t i)
{
	pid_t pid = fork();
	if (pid == 0) {
		for (size_t k = 0; k < nbatches; k++)  /* other batches' files */
			for (size_t j = 0; k != i && j < batches[k].n; j++)
				close(batches[k].jobs[j].fd);
		sigset_t none;
		sigemptyset(&none);
		signal(SIGCHLD, SIG_DFL);
		sigprocmask(SIG_SETMASK, &none, NULL);
		remote_deliver(c, batches[i].domain, batches[i].jobs, batches[i].n, sock);
		_exit(0);
	}
	if (pid > 0) {
		size_t d = dest_find(batches[i].domain, 1);
		dests[d].running++;
		dests[d].last_start = now_ms();
		children = xreallocarray(children, nchildren + 1, sizeof(*children));
		children[nchildren].pid = pid;
		children[nchildren++].dest = d;
	}
	if (pid < 0) {
		log_error("fork: %s (jobs of %s retried later)", strerror(errno), batches[i].domain);
		/* no answer: courierd counts the jobs lost when we exit; answer 451 instead */
		for (size_t j = 0; j < batches[i].n; j++) {
			struct buf a = BUF_INIT;
			buf_printf(&a, "%s\t451 4.3.0 cannot fork", batches[i].jobs[j].id);
			send(sock, a.data, a.len, MSG_NOSIGNAL);
			buf_free(&a);
		}
	}
	batch_free(&batches[i]);
	batches[i] = batches[--nbatches];
}

static void take_jobs(void)
{
	static char pkt[JOB_MAX + 1];
	for (;;) {
		int fd, r = job_recv(pkt, sizeof(pkt), &fd);
		if (r == -1)
			return;
		if (r == 0) {
			log_info("courierd closed the job socket: exiting");
			exit(0);
		}
		struct remote_job j = { .fd = fd };
		char *domain = NULL;
		if (r == -2 || job_parse(pkt, &j, &domain) < 0) {
			log_error("malformed job refused");
			job_free(&j);
			continue;
		}
		struct batch *b = batch_for(domain);
		b->jobs[b->n++] = j;
		free(domain);
	}
}

/* Milliseconds until batch i may start (0: now), -1: when a child ends. */
static int64_t batch_wait(const struct remote_conf *c, size_t i, int64_t now)
{
	int64_t w = dest_wait(c, batches[i].domain, now);
	if (batches[i].n == REMOTE_BATCH_MAX || w != 0)
		return w;
	int64_t left = batches[i].since + REMOTE_WINDOW_MS - now;
	return left > 0 ? left : 0;
}

/* The poll timeout: the nearest batch start; a child's end interrupts it. */
static int next_timeout(const struct remote_conf *c)
{
	int64_t now = now_ms(), t = -1;
	for (size_t i = 0; i < nbatches; i++) {
		int64_t w = batch_wait(c, i, now);
		if (w >= 0 && (t < 0 || w < t))
			t = w;
	}
	return t > 3600000 ? 3600000 : (int)t;
}

static void batches_start_due(const struct remote_conf *c)
{
	int64_t now = now_ms();
	for (size_t i = 0; i < nbatches;) {
		if (batch_wait(c, i, now) == 0)
			batch_start(c, i);  /* moves the last batch to i */
		else
			i++;
	}
	dest_prune(c, now);
}

int main(int argc, char **argv)
{
	(void)argv;
	log_init("remote");
	if (argc != 1)
		log_fatal(EX_USAGE, "usage: remote (run by courierd only)");
	priv_refuse_root("remote");
	/* SIGCHLD stays blocked but inside ppoll, so a child's end wakes it */
	struct sigaction sa = { 0 };
	sigset_t block, during_poll;
	sa.sa_handler = on_sigchld;
	sigaction(SIGCHLD, &sa, NULL);
	sigemptyset(&block);
	sigaddset(&block, SIGCHLD);
	sigprocmask(SIG_BLOCK, &block, &during_poll);
	sigdelset(&during_poll, SIGCHLD);
	signal(SIGPIPE, SIG_IGN);
	signal(SIGTERM, SIG_IGN);    /* we end when courierd closes the socket */
	struct remote_conf conf;
	struct buf err = BUF_INIT;
	if (remote_conf_load(&conf, &err) < 0)
		log_fatal(EX_CONFIG, "%s", buf_cstr(&err));
	buf_free(&err);
	for (;;) {
		struct pollfd p = { .fd = sock, .events = POLLIN };
		int t = next_timeout(&conf);
		struct timespec ts = { t / 1000, (long)(t % 1000) * 1000000 };
		if (ppoll(&p, 1, t < 0 ? NULL : &ts, &during_poll) < 0 && errno != EINTR)
			log_fatal(EX_TEMPFAIL, "poll: %s", strerror(errno));
		if (child_exited)
			children_reap();
		take_jobs();
		batches_start_due(&conf);
	}
}
