/* deliver: the delivery targets (Maildir, mbox, program, forward) and the
 * loop check. Runs as the account; trusts nothing in the message. */
#define _GNU_SOURCE
#include "deliver.h"
#include "alloc.h"
#include "file.h"
#include "maildir.h"
#include "mdquota.h"
#include "paths.h"

#include <errno.h>
#include <stdarg.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define CHUNK 65536

static int fail(struct delivery *d, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static int fail(struct delivery *d, int code, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	buf_reset(&d->answer);
	buf_vprintf(&d->answer, fmt, ap);
	va_end(ap);
	return code;
}

/* Compare a header value (trimmed) with s, ignoring ASCII case. */
static int value_is(const char *v, size_t len, const char *s)
{
	while (len && (*v == ' ' || *v == '\t'))
		v++, len--;
	while (len && (v[len - 1] == ' ' || v[len - 1] == '\t' || v[len - 1] == '\r'))
		len--;
	if (len >= 2 && v[0] == '<' && v[len - 1] == '>')
		v++, len -= 2;
	return len == strlen(s) && strncasecmp(v, s, len) == 0;
}

int deliver_loop_check(int fd, const char *rcpt, struct buf *reason)
{
	struct buf h = BUF_INIT;
	if (lseek(fd, 0, SEEK_SET) < 0)
		return -1;
	char *p = buf_space(&h, DELIVER_MAX_HEADER);
	ssize_t n = pread(fd, p, DELIVER_MAX_HEADER, 0);
	if (n < 0) {
		buf_free(&h);
		return -1;
	}
	buf_commit(&h, (size_t)n);
	size_t hops = 0, dt = 0, pos = 0;
	int r = 0;
	while (pos < h.len && h.data[pos] != '\n') {
		const char *line = h.data + pos;
		const char *nl = memchr(line, '\n', h.len - pos);
		size_t len = nl ? (size_t)(nl - line) : h.len - pos;
		pos += len + 1;
		if (len >= 9 && strncasecmp(line, "Received:", 9) == 0)
			hops++;
		if (len >= 13 && strncasecmp(line, "Delivered-To:", 13) == 0) {
			dt++;
			if (value_is(line + 13, len - 13, rcpt)) {
				buf_printf(reason, "already delivered to %s", rcpt);
				r = 1;
				break;
			}
		}
	}
	if (r == 0 && (hops > DELIVER_MAX_HOPS || dt > DELIVER_MAX_DELIVERED_TO)) {
		buf_printf(reason, "too many hops (%zu Received:, %zu Delivered-To:)", hops, dt);
		r = 1;
	}
	buf_free(&h);
	return r;
}

/* The account's Maildir++ quota (maildirquota(7)): over it, the message
 * waits in the queue (4.2.2) until there is room or its lifetime ends. */
static int quota_check(struct delivery *d, const char *path, uint64_t size)
{
	struct buf err = BUF_INIT;
	int r = 0;
	if (d->quota && d->quota[0] && md_quota_check(path, d->quota, size, &err) < 0 &&
	    errno == EDQUOT)
		r = fail(d, DELIVER_TEMP, "4.2.2 maildir %s: mailbox over quota", path);
	buf_free(&err);
	return r; /* a quota file that cannot be read does not stop the mail */
}

int deliver_maildir(struct delivery *d, const char *path)
{
	struct maildir_delivery md;
	struct buf name = BUF_INIT;
	struct stat ms;
	uint64_t size = fstat(d->msgfd, &ms) == 0 ? (uint64_t)ms.st_size + d->prefix.len : 0;
	if (quota_check(d, path, size) != 0)
		return DELIVER_TEMP;
	if (maildir_deliver_begin(&md, path) < 0)
		return fail(d, DELIVER_TEMP, "4.2.0 maildir %s: %s", path, strerror(errno));
	/* from courierd (-q), stdin is the queue file: courierd's acknowledgement
	 * (a status record, then the removal) is a later change on that file
	 * system, ordered after this rename by its journal */
	struct stat q;
	if (d->qid[0] && fstat(d->msgfd, &q) == 0 && S_ISREG(q.st_mode))
		maildir_deliver_ordered_with(&md, q.st_dev);
	if (maildir_deliver_buf(&md, &d->prefix) < 0 || lseek(d->msgfd, 0, SEEK_SET) < 0 ||
	    maildir_deliver_copy(&md, d->msgfd, UINT64_MAX) < 0) {
		int e = errno;
		maildir_deliver_abort(&md);
		return fail(d, DELIVER_TEMP, "4.2.0 maildir %s: %s",
			    path, strerror(e));
	}
	uint64_t written = md.size;
	if (maildir_deliver_commit(&md, &name) < 0)
		return fail(d, DELIVER_TEMP, "4.2.0 maildir %s: %s", path, strerror(errno));
	if (d->quota && d->quota[0])
		md_quota_add(path, d->quota, (int64_t)written, 1);
	fail(d, DELIVER_OK, "2.0.0 delivered to maildir %s", buf_cstr(&name));
	buf_free(&name);
	return DELIVER_OK;
}

/* Copy the message to fd with mboxrd quoting (">" before "From " and ">From "). */
static int mbox_copy(int in, int out)
{
	struct buf b = BUF_INIT, o = BUF_INIT;
	int at_bol = 1, rc = 0;
	for (;;) {
		char *p = buf_space(&b, CHUNK);
		ssize_t n = read(in, p, CHUNK);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			rc = n < 0 ? -1 : 0;
			break;
		}
		buf_reset(&o);
		for (ssize_t i = 0; i < n; i++) {
			if (at_bol) {
				ssize_t k = i;
				while (k < n && p[k] == '>')
					k++;
				if (n - k >= 5 && memcmp(p + k, "From ", 5) == 0)
					buf_append_char(&o, '>');
			}
			buf_append_char(&o, p[i]);
			at_bol = p[i] == '\n';
		}
		if (file_write_all(out, o.data, o.len) < 0) {
			rc = -1;
			break;
		}
	}
	buf_free(&b);
	buf_free(&o);
	return rc;
}

int deliver_mbox(struct delivery *d, const char *path)
{
	int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
		return fail(d, DELIVER_TEMP, "4.2.0 mbox %s: %s", path, strerror(errno));
	struct flock fl = { .l_type = F_WRLCK, .l_whence = SEEK_SET };
	int tries = 0;
	while (fcntl(fd, F_SETLK, &fl) < 0) {
		if (++tries > 60) {
			close(fd);
			return fail(d, DELIVER_TEMP, "4.2.0 mbox %s: locked", path);
		}
		sleep(1);
	}
	off_t start = lseek(fd, 0, SEEK_END);
	struct buf head = BUF_INIT;
	time_t now = time(NULL);
	char date[64];
	strftime(date, sizeof date, "%a %b %e %H:%M:%S %Y", gmtime(&now));
	buf_printf(&head, "From %s %s\n", d->sender[0] ? d->sender : "MAILER-DAEMON", date);
	buf_append_buf(&head, &d->prefix);
	int ok = file_write_all(fd, head.data, head.len) == 0 &&
		 lseek(d->msgfd, 0, SEEK_SET) == 0 && mbox_copy(d->msgfd, fd) == 0 &&
		 file_write_all(fd, "\n", 1) == 0 && fsync(fd) == 0;
	int e = errno;
	buf_free(&head);
	if (!ok && start >= 0 && ftruncate(fd, start) < 0)
		e = errno;
	close(fd);
	if (!ok)
		return fail(d, DELIVER_TEMP, "4.2.0 mbox %s: %s", path, strerror(e));
	return fail(d, DELIVER_OK, "2.0.0 delivered to mbox %s", path);
}

/* Courier's convention for a program's exit status. */
static int program_status(int st)
{
	if (!WIFEXITED(st))
		return DELIVER_TEMP;
	switch (WEXITSTATUS(st)) {
	case 0: case 99: return DELIVER_OK;
	case 64: case 65: case 70: case 76: case 77: case 78: case 100: case 112:
		return DELIVER_PERM;
	default: return DELIVER_TEMP;
	}
}

static int write_message(struct delivery *d, int fd, const struct buf *prefix)
{
	char tmp[CHUNK];
	ssize_t n;
	if (file_write_all(fd, prefix->data, prefix->len) < 0 ||
	    lseek(d->msgfd, 0, SEEK_SET) < 0)
		return -1;
	while ((n = read(d->msgfd, tmp, sizeof tmp)) != 0) {
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 || file_write_all(fd, tmp, (size_t)n) < 0)
			return -1;
	}
	return 0;
}

static void set_env(struct delivery *d)
{
	setenv("SENDER", d->sender, 1);
	setenv("RECIPIENT", d->rcpt, 1);
	setenv("EXT", d->ext, 1);
	setenv("QUEUEID", d->qid, 1);
	if (d->quota && d->quota[0]) /* maildrop(1) and deliverquota enforce it */
		setenv("MAILDIRQUOTA", d->quota, 1);
	const char *at = strrchr(d->rcpt, '@');
	setenv("HOST", at ? at + 1 : "", 1);
}

int deliver_pipe_to(struct delivery *d, char *const argv[], int with_return_path)
{
	int p[2];
	if (pipe2(p, O_CLOEXEC) < 0)
		return fail(d, DELIVER_TEMP, "4.3.0 pipe: %s", strerror(errno));
	pid_t pid = fork();
	if (pid < 0)
		return fail(d, DELIVER_TEMP, "4.3.0 fork: %s", strerror(errno));
	if (pid == 0) {
		dup2(p[0], 0);
		dup2(2, 1); /* its output joins ours: the status line stays last */
		set_env(d);
		execv(argv[0], argv);
		_exit(127);
	}
	close(p[0]);
	struct buf pre = BUF_INIT;
	if (with_return_path)
		buf_append_buf(&pre, &d->prefix);
	else
		buf_printf(&pre, "Delivered-To: %s\n", d->rcpt);
	(void)write_message(d, p[1], &pre); /* a program may stop reading early */
	buf_free(&pre);
	close(p[1]);
	int st = 0;
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
	return program_status(st);
}

int deliver_program(struct delivery *d, const char *cmd)
{
	char *argv[] = { "/bin/sh", "-c", (char *)cmd, NULL };
	int r = deliver_pipe_to(d, argv, 1);
	return fail(d, r, "%s program %s", r == DELIVER_OK ? "2.0.0 delivered to" :
			  r == DELIVER_PERM ? "5.3.0 failed:" : "4.3.0 failed, will retry:", cmd);
}

int deliver_maildrop(struct delivery *d)
{
	struct buf prog = BUF_INIT;
	paths_join(&prog, paths_root(), "bin/maildrop");
	char *argv[] = { prog.data, NULL };
	if (access(argv[0], X_OK) < 0) {
		buf_free(&prog);
		return fail(d, DELIVER_TEMP, "4.3.0 maildrop requested but not installed");
	}
	int r = deliver_pipe_to(d, argv, 1);
	buf_free(&prog);
	return fail(d, r, "%s maildrop", r == DELIVER_OK ? "2.0.0 delivered by" :
			  r == DELIVER_PERM ? "5.3.0 refused by" : "4.3.0 deferred by");
}

/* Forward by queueing a new message through submit (submit(8) protocol),
 * keeping the sender; the Delivered-To: line stops loops. */
int deliver_forward(struct delivery *d, const char *addr)
{
	struct buf prog = BUF_INIT, env = BUF_INIT, out = BUF_INIT;
	paths_join(&prog, paths_libexec(), "submit");
	int in[2], res[2];
	if (pipe2(in, O_CLOEXEC) < 0 || pipe2(res, O_CLOEXEC) < 0)
		return fail(d, DELIVER_TEMP, "4.3.0 pipe: %s", strerror(errno));
	pid_t pid = fork();
	if (pid == 0) {
		dup2(in[0], 0);
		dup2(res[1], 1);
		char *argv[] = { "submit", NULL };
		execv(buf_cstr(&prog), argv);
		_exit(127);
	}
	close(in[0]);
	close(res[1]);
	buf_printf(&env, "S%s\nFlocal\nR%s\n\n", d->sender, addr);
	struct stat st;
	int ok = pid > 0 && fstat(d->msgfd, &st) == 0;
	struct buf pre = BUF_INIT;
	buf_printf(&pre, "Delivered-To: %s\n", d->rcpt);
	if (ok)
		buf_printf(&env, "D%llu\n", (unsigned long long)((uint64_t)st.st_size + pre.len));
	ok = ok && file_write_all(in[1], env.data, env.len) == 0 &&
	     write_message(d, in[1], &pre) == 0 && file_write_all(in[1], ".\n", 2) == 0;
	close(in[1]);
	file_read_fd(res[0], &out, 4096);
	close(res[0]);
	int wst = 0;
	while (pid > 0 && waitpid(pid, &wst, 0) < 0 && errno == EINTR)
		;
	buf_free(&prog);
	buf_free(&env);
	buf_free(&pre);
	if (out.len && out.data[out.len - 1] == '\n')
		buf_truncate(&out, out.len - 1);
	int r = out.len && out.data[0] == '2' ? DELIVER_OK
		: out.len && out.data[0] == '5'	? DELIVER_PERM : DELIVER_TEMP;
	(void)ok;
	fail(d, r, "%s forward to %s: %s", r == DELIVER_OK ? "2.0.0" : r == DELIVER_PERM ? "5.3.0"
						       : "4.3.0", addr, out.len ? buf_cstr(&out) : "submit failed");
	buf_free(&out);
	return r;
}
