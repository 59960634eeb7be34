/* mailbot: send an autoreply to the message on stdin, at most once per
 * sender per period; see mailbot(1).
 *
 *   mailbot -t FILE [-d DB] [-D DAYS] [-s SUBJECT] [-A 'H: v'] [-f ADDR]
 *           [-F FROM] PROGRAM [ARG...]
 *
 * The reply (headers, then FILE) goes to PROGRAM's stdin, run without a
 * shell (typically: /usr/sbin/sendmail -f ""). The sender is -f, else
 * $SENDER, else Reply-To:, else From:. Nothing is sent to bulk, list or
 * automatic mail (Precedence, List-*, Auto-Submitted), to empty or daemon
 * senders, or to a sender answered within DAYS (default 1) according to DB:
 * a text file of "TIME ADDRESS" lines, locked with fcntl, pruned of old
 * entries and capped at MB_MAX_ENTRIES, replaced atomically.
 * Exit: PROGRAM's exit code, 0 when no reply is due, 75 on errors, 64 usage.
 * The message is hostile: its header is bounded and only parsed by lib/addrlist. */
#include "addrlist.h"
#include "buf.h"
#include "file.h"
#include "log.h"
#include "mddeliver.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

#define MB_MAX_MESSAGE  (64 * 1024 * 1024)
#define MB_MAX_ENTRIES  10000
#define MB_MAX_TEMPLATE (1024 * 1024)

extern char **environ;

struct opts {
	const char *text, *db, *subject, *to, *from;
	struct buf add;
	long days;
	char **cmd;
};

static _Noreturn void die(int code, const char *what, const char *why)
{
	fprintf(stderr, "mailbot: %s: %s\n", what, why);
	exit(code);
}

/* The unfolded value of the first header called name, or -1. */
static int header(const struct buf *msg, const char *name, struct buf *out)
{
	const char *p = msg->data ? msg->data : "";
	size_t len = msg->len, nl = strlen(name);
	for (size_t i = 0; i < len;) {
		const char *e = memchr(p + i, '\n', len - i);
		size_t n = e ? (size_t)(e - (p + i)) : len - i;
		if (n == 0 || (n == 1 && p[i] == '\r'))
			return -1;
		if (n > nl && p[i + nl] == ':' && !strncasecmp(p + i, name, nl)) {
			buf_reset(out);
			size_t j = i + nl + 1;
			for (;;) {
				buf_append(out, p + j, i + n - j);
				i += n + 1;
				if (i >= len || (p[i] != ' ' && p[i] != '\t'))
					break;
				e = memchr(p + i, '\n', len - i);
				n = e ? (size_t)(e - (p + i)) : len - i;
				j = i;
			}
			while (out->len && (out->data[out->len - 1] == '\r' || out->data[out->len - 1] == ' '))
				buf_truncate(out, out->len - 1);
			size_t a = strspn(buf_cstr(out), " \t");
			buf_consume(out, a);
			return 0;
		}
		i += n + 1;
	}
	return -1;
}

/* Bulk, list or automatic mail gets no reply (RFC 3834). */
static int is_automatic(const struct buf *msg)
{
	struct buf v = BUF_INIT;
	int yes = 0;
	if (header(msg, "Precedence", &v) == 0 &&
	    (!strcasecmp(buf_cstr(&v), "bulk") || !strcasecmp(buf_cstr(&v), "junk") ||
	     !strcasecmp(buf_cstr(&v), "list")))
		yes = 1;
	if (header(msg, "Auto-Submitted", &v) == 0 && strncasecmp(buf_cstr(&v), "no", 2))
		yes = 1;
	if (header(msg, "List-Id", &v) == 0 || header(msg, "List-Unsubscribe", &v) == 0)
		yes = 1;
	buf_free(&v);
	return yes;
}

static int is_daemon(const char *addr)
{
	static const char *const names[] = { "mailer-daemon", "postmaster", "listserv", "majordomo",
					     "owner-", "-request", "noreply", "no-reply" };
	if (!*addr)
		return 1;
	const char *at = strchr(addr, '@');
	size_t n = at ? (size_t)(at - addr) : strlen(addr);
	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
		size_t k = strlen(names[i]);
		if (names[i][0] == '-' ? n >= k && !strncasecmp(addr + n - k, names[i], k)
				       : n >= k && !strncasecmp(addr, names[i], k))
			return 1;
	}
	return 0;
}

/* Who gets the reply: canonical address into out, or -1. */
static int recipient(const struct opts *o, const struct buf *msg, struct buf *out)
{
	struct buf v = BUF_INIT;
	const char *env = getenv("SENDER");
	if (o->to)
		buf_set_str(&v, o->to);
	else if (env)
		buf_set_str(&v, env);
	else if (header(msg, "Reply-To", &v) < 0 && header(msg, "From", &v) < 0)
		buf_reset(&v);
	buf_reset(out);
	int rc = addrlist_extract(buf_cstr(&v), v.len, NULL, '\n', out, NULL) == ADDRLIST_OK &&
		 out->len ? 0 : -1;
	if (rc == 0) {
		char *nl = memchr(out->data, '\n', out->len);
		buf_truncate(out, (size_t)(nl - out->data)); /* the first one */
	}
	buf_free(&v);
	return rc;
}

/* 1 when addr was answered within days (then nothing is changed), else 0
 * after recording now; the DB is locked throughout. */
static int rate_limited(const char *db, const char *addr, long days)
{
	int fd = md_flock_acquire(db, NULL);
	struct buf text = BUF_INIT, keep = BUF_INIT;
	time_t now = time(NULL), cutoff = now - (time_t)days * 86400;
	size_t entries = 0;
	int seen = 0;
	if (fd < 0 || file_read_fd(fd, &text, (size_t)MB_MAX_ENTRIES * 300) < 0)
		die(EX_TEMPFAIL, db, "cannot open or lock the database");
	const char *p = buf_cstr(&text);
	while (*p) {
		const char *nl = strchr(p, '\n');
		size_t n = nl ? (size_t)(nl - p) : strlen(p);
		char *end;
		long long t = strtoll(p, &end, 10);
		if (end < p + n && *end == ' ' && t > cutoff && t <= now) {
			if ((size_t)(p + n - end - 1) == strlen(addr) && !strncasecmp(end + 1, addr, strlen(addr)))
				seen = 1;
			if (entries++ < MB_MAX_ENTRIES - 1)
				buf_append(&keep, p, n + 1 > strlen(p) ? strlen(p) : n + 1);
		}
		p += nl ? n + 1 : n;
	}
	if (!seen) {
		if (keep.len && keep.data[keep.len - 1] != '\n')
			buf_append_char(&keep, '\n');
		buf_printf(&keep, "%lld %s\n", (long long)now, addr);
		if (file_replace(db, keep.data, keep.len, 0600) < 0)
			die(EX_TEMPFAIL, db, strerror(errno));
	}
	close(fd);
	buf_free(&text);
	buf_free(&keep);
	return seen;
}

static void compose(const struct opts *o, const struct buf *msg, const char *to, struct buf *out)
{
	struct buf v = BUF_INIT, body = BUF_INIT;
	if (file_read(o->text, &body, MB_MAX_TEMPLATE) < 0)
		die(EX_TEMPFAIL, o->text, strerror(errno));
	if (o->from)
		buf_printf(out, "From: %s\n", o->from);
	buf_printf(out, "To: %s\n", to);
	if (o->subject)
		buf_printf(out, "Subject: %s\n", o->subject);
	else if (header(msg, "Subject", &v) == 0)
		buf_printf(out, "Subject: %s%s\n", strncasecmp(buf_cstr(&v), "Re:", 3) ? "Re: " : "",
			   buf_cstr(&v));
	else
		buf_append_str(out, "Subject: Re: your message\n");
	if (header(msg, "Message-ID", &v) == 0 && !memchr(v.data, '\n', v.len) && v.len < 1000)
		buf_printf(out, "In-Reply-To: %s\nReferences: %s\n", buf_cstr(&v), buf_cstr(&v));
	buf_append_str(out, "Auto-Submitted: auto-replied\nPrecedence: junk\nMIME-Version: 1.0\n"
			    "Content-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: 8bit\n");
	buf_append_buf(out, &o->add);
	buf_append_char(out, '\n');
	buf_append_buf(out, &body);
	buf_free(&v);
	buf_free(&body);
}

static void parse_args(int argc, char **argv, struct opts *o)
{
	int ch;
	o->days = 1;
	while ((ch = getopt(argc, argv, "+t:d:D:s:A:f:F:")) != -1) {
		switch (ch) {
		case 't': o->text = optarg; break;
		case 'd': o->db = optarg; break;
		case 'D': o->days = strtol(optarg, NULL, 10); break;
		case 's': o->subject = optarg; break;
		case 'f': o->to = optarg; break;
		case 'F': o->from = optarg; break;
		case 'A':
			if (strchr(optarg, '\n') || !strchr(optarg, ':'))
				die(EX_USAGE, "-A", "not a header line");
			buf_printf(&o->add, "%s\n", optarg);
			break;
		default: goto usage;
		}
	}
	if (!o->text || optind >= argc || o->days < 0 || o->days > 36500 ||
	    (o->subject && strchr(o->subject, '\n')) || (o->from && strchr(o->from, '\n')))
		goto usage;
	o->cmd = argv + optind;
	return;
usage:
	fputs("usage: mailbot -t file [-d db] [-D days] [-s subject] [-A header] [-f to] [-F from]"
	      " program [arg...]\n", stderr);
	exit(EX_USAGE);
}

int main(int argc, char **argv)
{
	struct opts o;
	memset(&o, 0, sizeof o);
	log_init("mailbot");
	parse_args(argc, argv, &o);
	struct buf msg = BUF_INIT, to = BUF_INIT, reply = BUF_INIT, err = BUF_INIT;
	if (file_read_fd(0, &msg, MB_MAX_MESSAGE) < 0)
		die(EX_TEMPFAIL, "stdin", errno == EFBIG ? "message too large" : strerror(errno));
	int status = 0;
	if (is_automatic(&msg) || recipient(&o, &msg, &to) < 0 || is_daemon(buf_cstr(&to)) ||
	    (o.db && rate_limited(o.db, buf_cstr(&to), o.days)))
		goto out; /* no reply due */
	compose(&o, &msg, buf_cstr(&to), &reply);
	if (md_run(o.cmd, environ, &reply, NULL, 0, &status, &err) < 0)
		die(EX_TEMPFAIL, o.cmd[0], buf_cstr(&err));
out:
	buf_free(&msg);
	buf_free(&to);
	buf_free(&reply);
	buf_free(&err);
	buf_free(&o.add);
	return status;
}
