/* deliver-spawn: the root helper of local delivery (deliver(8)).
 *
 *   deliver-spawn      (started by courierd while it is still root; fd 0 is
 *                       a SOCK_SEQPACKET socket to courierd)
 *
 * One job per packet, with the message's open descriptor attached
 * (SCM_RIGHTS):  kind TAB jobid TAB qid TAB sender TAB recipient TAB account TAB ext
 * L (local): spawn_pool.c looks the account up in authd ITSELF (the uid, gid,
 * home and maildir never come from courierd), refuses uid 0, and hands the
 * job to a long-lived worker ("deliver -W") running as the account's uid and
 * gid. A (alias programs and files): a child forks deliver as the alias user.
 * Every job is answered with one packet: jobid TAB code SP text (250 / 451 /
 * 550). Jobs run concurrently; one poll loop serves them all.
 *
 * Root here parses only the job packet (bounded, split at TABs) and authd's
 * reply (lib/authclient); it never reads message content. Trusts: authd and
 * the instance root it was started with. */
#define _GNU_SOURCE
#include "aliases.h"
#include "alloc.h"
#include "authclient.h"
#include "jobout.h"
#include "spawn.h"
#include "buf.h"
#include "config.h"
#include "fdpass.h"
#include "log.h"
#include "map.h"
#include "paths.h"
#include "priv.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <sysexits.h>
#include <unistd.h>

#define JOB_MAX 4096     /* one job packet */

static int sock = 0;

void job_free(struct job *j)
{
	if (j->msgfd >= 0)
		close(j->msgfd);
	free(j->pkt);
	memset(j, 0, sizeof *j);
	j->msgfd = -1;
}

void spawn_reply(const char *jobid, const char *code, const char *text)
{
	struct buf b = BUF_INIT;
	buf_printf(&b, "%s\t%s ", jobid, code);
	log_escape(&b, text, strlen(text));
	if (send(sock, b.data, b.len, MSG_NOSIGNAL) < 0)
		log_warn("job %s: cannot answer courierd: %s", jobid, strerror(errno));
	buf_free(&b);
}

static int field_ok(const char *s, int may_be_empty)
{
	if (!may_be_empty && *s == '\0')
		return 0;
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return 0;
	return 1;
}

/* Split the packet in place; 0 if it has exactly JOB_FIELDS sane fields. */
static int job_parse(char *pkt, struct job *j)
{
	char *p = pkt;
	for (int i = 0; i < JOB_FIELDS; i++) {
		j->f[i] = p;
		char *t = strchr(p, '\t');
		if (i < JOB_FIELDS - 1) {
			if (t == NULL)
				return -1;
			*t = '\0';
			p = t + 1;
		} else if (t != NULL) {
			return -1;
		}
	}
	if ((strcmp(j->f[0], "L") != 0 && strcmp(j->f[0], "A") != 0) || strspn(j->f[1], "0123456789") != strlen(j->f[1]) ||
	    *j->f[1] == '\0')
		return -1;
	for (int i = 2; i < JOB_FIELDS; i++)
		if (!field_ok(j->f[i], i == 3 || i == 6))
			return -1;
	if (strchr(j->f[5], '/') || strchr(j->f[6], '/'))
		return -1;
	return 0;
}

/* Who deliver runs as, and its arguments before the common ones. */
struct runas {
	uid_t uid;
	gid_t gid;
	const char *home;
	char **extra;
	size_t nextra;
};

static void child_exec(const struct job *j, const struct runas *ra, int out)
{
	struct buf err = BUF_INIT, prog = BUF_INIT, ehome = BUF_INIT, eroot = BUF_INIT;
	setpgid(0, 0); /* killed as a group at the time limit */
	if (dup2(j->msgfd, 0) < 0 || dup2(out, 1) < 0 || dup2(out, 2) < 0)
		_exit(EX_TEMPFAIL);
	if (priv_drop_to_ids(ra->uid, ra->gid, 0, &err) < 0) {
		dprintf(1, "4.3.0 cannot switch to uid %lu: %s\n", (unsigned long)ra->uid,
			buf_cstr(&err));
		_exit(EX_TEMPFAIL);
	}
	if (chdir(ra->home) < 0) {
		dprintf(1, "4.2.0 home directory %s: %s\n", ra->home, strerror(errno));
		_exit(EX_TEMPFAIL);
	}
	paths_join(&prog, paths_libexec(), "deliver");
	buf_printf(&ehome, "HOME=%s", ra->home);
	buf_printf(&eroot, "ESTAFETTE_ROOT=%s", paths_root());
	const char *logenv = getenv("ESTAFETTE_LOG");
	char elog[64] = "ESTAFETTE_LOG=syslog";
	if (logenv && strcmp(logenv, "stderr") == 0)
		memcpy(elog, "ESTAFETTE_LOG=stderr", sizeof "ESTAFETTE_LOG=stderr");
	char *envp[] = { "PATH=/usr/bin:/bin", ehome.data, eroot.data, elog, NULL };
	char *opts[] = { "-s", j->f[3], "-r", j->f[4], "-e", j->f[6], "-q", j->f[2] };
	size_t nopts = sizeof opts / sizeof opts[0];
	char **argv = xcalloc(ra->nextra + nopts + 2, sizeof *argv);
	size_t n = 0;
	argv[n++] = "deliver";
	for (size_t i = 0; i < ra->nextra; i++)
		argv[n++] = ra->extra[i];
	for (size_t i = 0; i < nopts; i++)
		argv[n++] = opts[i];
	argv[n] = NULL;
	execve(buf_cstr(&prog), argv, envp);
	dprintf(1, "4.3.0 cannot run %s: %s\n", buf_cstr(&prog), strerror(errno));
	_exit(EX_TEMPFAIL);
}

/* Run deliver as ra for the job, answer courierd, end this child. */
_Noreturn static void run_deliver(struct job *j, const struct runas *ra)
{
	struct buf out = BUF_INIT;
	int p[2];
	if (pipe2(p, O_CLOEXEC) < 0) {
		spawn_reply(j->f[1], "451", "4.3.0 out of resources");
		_exit(0);
	}
	pid_t pid = fork();
	if (pid < 0) {
		spawn_reply(j->f[1], "451", "4.3.0 cannot fork");
		_exit(0);
	}
	if (pid == 0)
		child_exec(j, ra, p[1]);
	close(p[1]);
	close(j->msgfd);
	if (jobout_read(p[0], &out, jobout_timeout()) < 0) {
		kill(-pid, SIGKILL); /* deliver and its programs: their own process group */
		kill(pid, SIGKILL);
		log_warn("job %s: alias delivery timed out after %d s: killed", j->f[1],
			 jobout_timeout());
		spawn_reply(j->f[1], "451", "4.3.0 delivery timed out, will retry");
		_exit(0);
	}
	int st = 0;
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
	spawn_reply(j->f[1], jobout_code(st), out.len ? buf_cstr(&out) : "deliver gave no answer");
	_exit(0);
}

#define ALIAS_USER "estafette-mail"
#define ALIAS_MAX_SPECIAL 32

/* The map may name programs only if nobody but root (or, unprivileged,
 * this very user) can have written it. */
static struct map *alias_map_open(struct buf *err)
{
	struct buf path = BUF_INIT;
	struct stat st;
	struct map *m = NULL;
	config_path(&path, "aliases.cdb");
	if (lstat(buf_cstr(&path), &st) < 0)
		buf_error(err, "%s: %s", buf_cstr(&path), strerror(errno));
	else if (!S_ISREG(st.st_mode) || (st.st_uid != 0 && st.st_uid != geteuid()) ||
		 (st.st_mode & 022))
		buf_error(err, "%s: not a file owned by root and writable only by it",
			  buf_cstr(&path));
	else
		m = map_open(buf_cstr(&path), err);
	buf_free(&path);
	return m;
}

/* A: the program and file targets of an alias, read from the map here. */
static void job_alias(struct job *j)
{
	struct buf err = BUF_INIT, v = BUF_INIT;
	struct alias_list l = ALIAS_LIST_INIT;
	struct map *m = alias_map_open(&err);
	int r = m ? map_lookup_lower(m, j->f[5], strlen(j->f[5]), &v) : MAP_ERROR;
	if (r != MAP_FOUND || aliases_decode(v.data ? v.data : "", v.len, &l, &err) < 0) {
		log_error("job %s: alias %s: %s", j->f[1], j->f[5],
			  r == MAP_NOTFOUND ? "not in the map" : buf_cstr(&err));
		spawn_reply(j->f[1], "451", "4.3.0 alias map unusable for programs and files");
		_exit(0);
	}
	char **extra = xcalloc(4 + 2 * ALIAS_MAX_SPECIAL, sizeof *extra);
	size_t n = 0;
	extra[n++] = "-h", extra[n++] = "/", extra[n++] = "-m", extra[n++] = "/nonexistent";
	for (size_t i = 0; i < l.count && n < 4 + 2 * ALIAS_MAX_SPECIAL; i++) {
		if (l.items[i].kind != ALIAS_PROGRAM && l.items[i].kind != ALIAS_FILE)
			continue;
		extra[n++] = l.items[i].kind == ALIAS_PROGRAM ? "-P" : "-F";
		extra[n++] = l.items[i].value;
	}
	struct runas ra = { getuid(), getgid(), "/", extra, n };
	if (priv_is_root() && priv_lookup(ALIAS_USER, NULL, &ra.uid, &ra.gid, &err) < 0) {
		log_error("job %s: %s", j->f[1], buf_cstr(&err));
		spawn_reply(j->f[1], "451", "4.3.0 no user for alias programs");
		_exit(0);
	}
	if (ra.uid == 0) {
		spawn_reply(j->f[1], "451", "4.3.0 refusing to run alias programs as root");
		_exit(0);
	}
	run_deliver(j, &ra);
}

/* A packet from courierd: 0 at its end. */
static int take_job(void)
{
	static char pkt[JOB_MAX + 1];
	int fd, r = fdpass_recv(sock, pkt, sizeof pkt, &fd, 0);
	if (r == FDPASS_EOF)
		return 0;
	if (r == FDPASS_ERROR)
		log_fatal(EX_TEMPFAIL, "reading jobs: %s", strerror(errno));
	struct job j = { .pkt = xstrdup(pkt), .msgfd = fd };
	if (r != FDPASS_OK || job_parse(j.pkt, &j) < 0) {
		log_error("malformed job refused");
		job_free(&j);
		return 1;
	}
	if (j.f[0][0] == 'L') {
		pool_local_job(&j);
		return 1;
	}
	pid_t pid = fork();
	if (pid == 0) {
		signal(SIGCHLD, SIG_DFL);
		job_alias(&j);
	}
	if (pid < 0)
		spawn_reply(j.f[1], "451", "4.3.0 cannot fork");
	job_free(&j);
	return 1;
}

int main(int argc, char **argv)
{
	(void)argv;
	log_init("deliver-spawn");
	if (argc != 1)
		log_fatal(EX_USAGE, "usage: deliver-spawn (run by courierd only)");
	struct sigaction sa = { 0 };
	sa.sa_handler = SIG_IGN;
	sa.sa_flags = SA_NOCLDWAIT; /* job children and workers reap themselves */
	sigaction(SIGCHLD, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	signal(SIGTERM, SIG_IGN); /* we end when courierd closes the socket */
	struct pollfd *p = NULL;
	int more = 1;
	for (;;) {
		if (!more && pool_idle())
			break; /* courierd is gone and every job is answered */
		size_t cap = 1 + pool_size(), n = 0;
		int timeout;
		p = xreallocarray(p, cap, sizeof *p);
		if (more)
			p[n++] = (struct pollfd){ sock, POLLIN, 0 };
		size_t np = pool_pollfds(p + n, cap - n, &timeout);
		if (poll(p, n + np, timeout) < 0 && errno != EINTR)
			log_fatal(EX_OSERR, "poll: %s", strerror(errno));
		if (more && p[0].revents)
			more = take_job();
		pool_handle(p + n, np);
	}
	free(p);
	pool_close();
	return 0;
}
