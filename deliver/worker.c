/* deliver worker: many local deliveries of one uid in one process.
 *
 * deliver-spawn starts "deliver -W" under an account's uid and gid (after
 * authd said who that is) with a SOCK_SEQPACKET socket as fd 0, and keeps it
 * for further jobs of the same ids (virtual accounts share one uid) until it
 * has been idle a while. A job is one packet with the queue file attached
 * (SCM_RIGHTS):
 *     home TAB maildir TAB M|- TAB sender TAB recipient TAB ext TAB qid TAB quota
 * and the answer one packet: code SP text (250 / 451 / 550). Each job runs in
 * a forked child, exactly as a lone deliver would (stdin the message, the
 * home directory as cwd, output captured), so one job's state or crash never
 * touches the next. What saves time is the exec that is no longer needed.
 * Trusts: deliver-spawn (home and maildir come from authd through it). */
#define _GNU_SOURCE /* pipe2 */
#include "deliver.h"
#include "fdpass.h"
#include "jobout.h"
#include "log.h"

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

#define WORKER_PKT 8192
#define WORKER_FIELDS 8

static int split(char *pkt, char *f[WORKER_FIELDS])
{
	for (int i = 0; i < WORKER_FIELDS; i++) {
		f[i] = pkt;
		char *t = strchr(pkt, '\t');
		if ((t == NULL) != (i == WORKER_FIELDS - 1))
			return -1;
		if (t) {
			*t = '\0';
			pkt = t + 1;
		}
	}
	return (strcmp(f[2], "M") == 0 || strcmp(f[2], "-") == 0) ? 0 : -1;
}

/* The child: become a lone deliver for this job. */
_Noreturn static void job_child(char *f[WORKER_FIELDS], int msgfd, int out)
{
	struct delivery d = { 0 };
	setpgid(0, 0); /* its programs too can be killed at the time limit */
	if (dup2(msgfd, 0) < 0 || dup2(out, 1) < 0 || dup2(out, 2) < 0)
		_exit(EX_TEMPFAIL);
	d.home = f[0], d.maildir = f[1], d.sender = f[3], d.rcpt = f[4], d.ext = f[5];
	d.qid = f[6];
	d.quota = f[7];
	if (!deliver_args_ok(&d)) {
		printf("4.3.0 deliver: bad job\n");
		_exit(EX_TEMPFAIL);
	}
	if (chdir(d.home) < 0) {
		printf("4.2.0 home directory %s: %s\n", d.home, strerror(errno));
		_exit(EX_TEMPFAIL);
	}
	setenv("HOME", d.home, 1);
	struct special none = { .n = 0 };
	fflush(stdout);
	_exit(deliver_job(&d, f[2][0] == 'M', &none));
}

static void answer(const char *code, const char *text)
{
	struct buf b = BUF_INIT;
	buf_printf(&b, "%s %s", code, text);
	if (send(0, b.data, b.len, MSG_NOSIGNAL) < 0)
		log_warn("cannot answer deliver-spawn: %s", strerror(errno));
	buf_free(&b);
}

static void run_job(char *f[WORKER_FIELDS], int msgfd)
{
	int p[2];
	if (pipe2(p, O_CLOEXEC) < 0) {
		answer("451", "4.3.0 out of resources");
		return;
	}
	fflush(stdout);
	pid_t pid = fork();
	if (pid == 0)
		job_child(f, msgfd, p[1]);
	close(p[1]);
	if (pid < 0) {
		close(p[0]);
		answer("451", "4.3.0 cannot fork");
		return;
	}
	struct buf out = BUF_INIT;
	int timed_out = jobout_read(p[0], &out, jobout_timeout()) < 0;
	close(p[0]);
	if (timed_out) {
		kill(-pid, SIGKILL);
		kill(pid, SIGKILL);
		log_warn("delivery to %s timed out after %d s: killed", f[4], jobout_timeout());
	}
	int st = 0;
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
	if (timed_out)
		answer("451", "4.3.0 delivery timed out, will retry");
	else
		answer(jobout_code(st), out.len ? buf_cstr(&out) : "deliver gave no answer");
	buf_free(&out);
}

int deliver_worker(void)
{
	static char pkt[WORKER_PKT + 1];
	char *f[WORKER_FIELDS];
	log_info("worker for uid %lu", (unsigned long)getuid());
	for (;;) {
		int fd, r = fdpass_recv(0, pkt, sizeof pkt, &fd, 0);
		if (r == FDPASS_EOF || r == FDPASS_ERROR)
			return 0;
		if (r != FDPASS_OK || split(pkt, f) < 0) {
			answer("451", "4.3.0 malformed job for the delivery worker");
			if (fd >= 0)
				close(fd);
			continue;
		}
		run_job(f, fd);
		close(fd);
	}
}
