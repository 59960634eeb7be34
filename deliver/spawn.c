/* deliver-spawn: the root helper of local delivery (deliver(8)).
 *
 *   deliver-spawn      (started by courierd while it is still root; fd 0 is
 *                       a SOCK_SEQPACKET socket to courierd)
 *
 * One job per packet, with the message's open descriptor attached
 * (SCM_RIGHTS):  "L" TAB jobid TAB qid TAB sender TAB recipient TAB account TAB ext
 * For each job a child looks the account up in authd ITSELF (the uid, gid,
 * home and maildir never come from courierd), refuses uid 0, and forks
 * deliver under the account's ids with the message on its stdin. The child
 * answers with one packet: jobid TAB code SP text (250 / 451 / 550).
 *
 * Root here parses only the job packet (bounded, split at TABs) and authd's
 * reply (lib/authclient); it never reads message content. Trusts: authd and
 * the instance root it was started with. */
#define _GNU_SOURCE
#include "alloc.h"
#include "authclient.h"
#include "buf.h"
#include "log.h"
#include "paths.h"
#include "priv.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <sysexits.h>
#include <unistd.h>

#define JOB_MAX 4096     /* one job packet */
#define JOB_FIELDS 7
#define OUT_MAX 900      /* deliver's answer we keep */

struct job {
	char *f[JOB_FIELDS]; /* kind jobid qid sender rcpt account ext */
	int msgfd;
};

static int sock = 0;

static void reply(const char *jobid, const char *code, const char *text)
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
	if (strcmp(j->f[0], "L") != 0 || strspn(j->f[1], "0123456789") != strlen(j->f[1]) ||
	    *j->f[1] == '\0')
		return -1;
	for (int i = 2; i < JOB_FIELDS; i++)
		if (!field_ok(j->f[i], i == 3 || i == 6))
			return -1;
	if (strchr(j->f[5], '/') || strchr(j->f[6], '/'))
		return -1;
	return 0;
}

static void child_exec(const struct job *j, const struct account *a, const char *maildir,
		       int out)
{
	struct buf err = BUF_INIT, prog = BUF_INIT, ehome = BUF_INIT, eroot = BUF_INIT;
	if (dup2(j->msgfd, 0) < 0 || dup2(out, 1) < 0 || dup2(out, 2) < 0)
		_exit(EX_TEMPFAIL);
	if (priv_drop_to_ids(a->uid, a->gid, 0, &err) < 0) {
		dprintf(1, "4.3.0 cannot switch to uid %lu: %s\n", (unsigned long)a->uid,
			buf_cstr(&err));
		_exit(EX_TEMPFAIL);
	}
	if (chdir(a->home) < 0) {
		dprintf(1, "4.2.0 home directory %s: %s\n", a->home, strerror(errno));
		_exit(EX_TEMPFAIL);
	}
	paths_join(&prog, paths_libexec(), "deliver");
	buf_printf(&ehome, "HOME=%s", a->home);
	buf_printf(&eroot, "ESTAFETTE_ROOT=%s", paths_root());
	const char *logenv = getenv("ESTAFETTE_LOG");
	char elog[64] = "ESTAFETTE_LOG=syslog";
	if (logenv && strcmp(logenv, "stderr") == 0)
		memcpy(elog, "ESTAFETTE_LOG=stderr", sizeof "ESTAFETTE_LOG=stderr");
	char *envp[] = { "PATH=/usr/bin:/bin", ehome.data, eroot.data, elog, NULL };
	char *argv[16];
	size_t n = 0;
	argv[n++] = "deliver";
	if (account_has_option(a, "maildrop"))
		argv[n++] = "-M";
	char *opts[] = { "-h", a->home, "-m", (char *)maildir, "-s", j->f[3], "-r", j->f[4],
			 "-e", j->f[6], "-q", j->f[2] };
	for (size_t i = 0; i < sizeof opts / sizeof opts[0]; i++)
		argv[n++] = opts[i];
	argv[n] = NULL;
	execve(buf_cstr(&prog), argv, envp);
	dprintf(1, "4.3.0 cannot run %s: %s\n", buf_cstr(&prog), strerror(errno));
	_exit(EX_TEMPFAIL);
}

/* The code for deliver's exit status (deliver(8)). */
static const char *status_code(int st)
{
	if (WIFEXITED(st)) {
		int c = WEXITSTATUS(st);
		if (c == 0)
			return "250";
		if (c == EX_TEMPFAIL || c == 111)
			return "451";
		return "550";
	}
	return "451";
}

static void read_output(int fd, struct buf *out)
{
	char tmp[512];
	ssize_t n;
	while ((n = read(fd, tmp, sizeof tmp)) != 0) {
		if (n < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (out->len < OUT_MAX)
			buf_append(out, tmp, (size_t)n < OUT_MAX - out->len ? (size_t)n
									: OUT_MAX - out->len);
	}
	while (out->len && (out->data[out->len - 1] == '\n' || out->data[out->len - 1] == '\r'))
		buf_truncate(out, out->len - 1);
	for (size_t i = 0; i < out->len; i++)
		if (out->data[i] == '\n')
			out->data[i] = ' ';
}

static void job_run(struct job *j)
{
	struct account a = ACCOUNT_INIT;
	struct buf reason = BUF_INIT, out = BUF_INIT, md = BUF_INIT;
	int r = authclient_lookup(NULL, "deliver", j->f[5], &a, &reason);
	if (r != AUTHCLIENT_OK) {
		if (r == AUTHCLIENT_NO)
			reply(j->f[1], "550", "5.1.1 no such account");
		else
			reply(j->f[1], "451", "4.3.0 account lookup failed, will retry");
		_exit(0);
	}
	if (a.uid == 0 || a.home[0] != '/') {
		log_error("job %s: account %s has uid 0 or no absolute home: refused", j->f[1],
			  j->f[5]);
		reply(j->f[1], "451", "4.3.0 refusing delivery to this account (uid 0 or no home)");
		_exit(0);
	}
	if (a.maildir[0])
		buf_set_str(&md, a.maildir);
	else
		paths_join(&md, a.home, "Maildir");
	int p[2];
	if (pipe2(p, O_CLOEXEC) < 0) {
		reply(j->f[1], "451", "4.3.0 out of resources");
		_exit(0);
	}
	pid_t pid = fork();
	if (pid < 0) {
		reply(j->f[1], "451", "4.3.0 cannot fork");
		_exit(0);
	}
	if (pid == 0)
		child_exec(j, &a, buf_cstr(&md), p[1]);
	close(p[1]);
	close(j->msgfd);
	read_output(p[0], &out);
	int st = 0;
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
	reply(j->f[1], status_code(st), out.len ? buf_cstr(&out) : "deliver gave no answer");
	_exit(0);
}

/* One packet and its descriptor; 1 job, 0 at EOF, -1 on a bad packet. */
static int job_recv(char *pkt, size_t cap, int *fd)
{
	union { struct cmsghdr h; char b[CMSG_SPACE(sizeof(int))]; } c;
	struct iovec iov = { pkt, cap - 1 };
	struct msghdr m = { 0 };
	m.msg_iov = &iov;
	m.msg_iovlen = 1;
	m.msg_control = c.b;
	m.msg_controllen = sizeof c.b;
	*fd = -1;
	ssize_t n;
	while ((n = recvmsg(sock, &m, MSG_CMSG_CLOEXEC)) < 0 && errno == EINTR)
		;
	if (n <= 0)
		return n == 0 ? 0 : -2;
	pkt[n] = '\0';
	struct cmsghdr *h = CMSG_FIRSTHDR(&m);
	if (h && h->cmsg_level == SOL_SOCKET && h->cmsg_type == SCM_RIGHTS)
		memcpy(fd, CMSG_DATA(h), sizeof(int));
	if (*fd < 0 || (m.msg_flags & (MSG_TRUNC | MSG_CTRUNC)) || memchr(pkt, 0, (size_t)n))
		return -1;
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
	sa.sa_flags = SA_NOCLDWAIT; /* job children reap themselves */
	sigaction(SIGCHLD, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	signal(SIGTERM, SIG_IGN); /* we end when courierd closes the socket */
	static char pkt[JOB_MAX + 1];
	for (;;) {
		int fd, r = job_recv(pkt, sizeof pkt, &fd);
		if (r == 0)
			return 0;
		if (r == -2)
			log_fatal(EX_TEMPFAIL, "reading jobs: %s", strerror(errno));
		struct job j;
		if (r < 0 || job_parse(pkt, &j) < 0) {
			log_error("malformed job refused");
			if (fd >= 0)
				close(fd);
			continue;
		}
		j.msgfd = fd;
		pid_t pid = fork();
		if (pid == 0) {
			signal(SIGCHLD, SIG_DFL);
			job_run(&j);
		}
		if (pid < 0)
			reply(j.f[1], "451", "4.3.0 cannot fork");
		close(fd);
	}
}
