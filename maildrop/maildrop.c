/* maildrop: the mail filter and local delivery agent; see maildrop(1) and
 * maildropfilter(7).
 *
 *   maildrop [-f SENDER] [-A 'Header: value'] [FILTERFILE [ARG...]]
 *   maildrop -d USER [-f SENDER] [-A 'Header: value'] [ARG...]
 *
 * Reads the message on stdin, runs the global filter (ETC/maildroprc) if it
 * exists, then the user's filter (FILTERFILE, or ~/.mailfilter), and delivers
 * where it says, or to $DEFAULT. With -d it is the delivery agent: started as
 * root it becomes USER through lib/priv before reading anything; otherwise
 * USER must be the invoking user. Trusts the filter files of the user (which
 * must be theirs and not writable by others) and nothing in the message.
 * Exit: $EXITCODE (0) after a delivery, the command's exit code after
 * "to |command", 75 (EX_TEMPFAIL) whenever the message might be lost:
 * syntax errors, failed deliveries, limits, a bad filter file. */
#include "buf.h"
#include "file.h"
#include "log.h"
#include "mddeliver.h"
#include "mdeval.h"
#include "paths.h"
#include "priv.h"

#include <errno.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sysexits.h>
#include <unistd.h>

extern char **environ;

struct opts {
	const char *user;   /* -d */
	const char *sender; /* -f */
	struct buf add;     /* -A headers */
	const char *filter;
	char **args;
	int nargs;
	int delivery;
};

static _Noreturn __attribute__((format(printf, 1, 2))) void tempfail(const char *fmt, ...)
{
	va_list ap;
	fflush(stdout);
	fprintf(stderr, "maildrop: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(EX_TEMPFAIL);
}

static void parse_args(int argc, char **argv, struct opts *o)
{
	int ch;
	while ((ch = getopt(argc, argv, "d:f:A:V:")) != -1) {
		switch (ch) {
		case 'd': o->user = optarg; o->delivery = 1; break;
		case 'f': o->sender = optarg; break;
		case 'A':
			if (strchr(optarg, '\n') || !strchr(optarg, ':'))
				tempfail("bad -A header: %s", optarg);
			buf_printf(&o->add, "%s\n", optarg);
			break;
		case 'V': break; /* debugging output is not offered */
		default:
			fputs("usage: maildrop [-d user] [-f sender] [-A header] [filterfile [arg...]]\n",
			      stderr);
			exit(EX_TEMPFAIL);
		}
	}
	if (!o->delivery && optind < argc)
		o->filter = argv[optind++];
	o->args = argv + optind;
	o->nargs = argc - optind;
}

/* Become the recipient: as root drop to them, else we must be them. */
static struct passwd *become_user(const struct opts *o)
{
	struct passwd *pw = o->user ? getpwnam(o->user) : getpwuid(getuid());
	if (!pw)
		tempfail("unknown user %s", o->user ? o->user : "(current uid)");
	if (priv_is_root() && o->user) {
		struct buf err = BUF_INIT;
		if (pw->pw_uid == 0)
			tempfail("refusing to deliver as root for %s", o->user);
		if (priv_drop_to(pw->pw_name, NULL, PRIV_INITGROUPS, &err) < 0)
			tempfail("%s", buf_cstr(&err));
		buf_free(&err);
	} else if (pw->pw_uid != getuid() || pw->pw_uid != geteuid()) {
		tempfail("-d %s: only root may deliver for another user", o->user);
	}
	return pw;
}

static void read_message(struct md_ctx *c, const struct opts *o)
{
	struct buf data = BUF_INIT, in = BUF_INIT;
	if (file_read_fd(0, &in, MD_MAX_MESSAGE) < 0)
		tempfail("reading the message: %s", errno == EFBIG ? "too large" : strerror(errno));
	buf_append_buf(&data, &o->add);
	buf_append_buf(&data, &in);
	buf_free(&in);
	md_msg_set(&c->msg, &data);
}

static void set(struct md_ctx *c, const char *name, const char *value)
{
	if (md_vars_set_str(&c->vars, name, value) < 0)
		tempfail("cannot set %s", name);
}

/* The envelope sender: -f, else Return-Path:, else MAILER-DAEMON. */
static void set_from(struct md_ctx *c, const struct opts *o)
{
	if (o->sender) {
		set(c, "FROM", o->sender);
		return;
	}
	const char *p = c->msg.unfolded.data ? c->msg.unfolded.data : "";
	size_t len = c->msg.unfolded.len;
	for (size_t i = 0; i < len;) {
		const char *nl = memchr(p + i, '\n', len - i);
		size_t n = nl ? (size_t)(nl - (p + i)) : len - i;
		if (n >= 12 && !strncasecmp(p + i, "Return-Path:", 12) && !memchr(p + i, 0, n)) {
			struct buf v = BUF_INIT, a = BUF_INIT;
			buf_set(&v, p + i + 12, n - 12);
			const char *s = buf_cstr(&v), *lt = strchr(s, '<'), *gt = lt ? strchr(lt, '>') : NULL;
			if (lt && gt)
				buf_set(&a, lt + 1, (size_t)(gt - lt - 1));
			else
				buf_set_str(&a, s + strspn(s, " \t"));
			set(c, "FROM", buf_cstr(&a));
			buf_free(&a);
			buf_free(&v);
			return;
		}
		i += n + 1;
	}
	set(c, "FROM", "MAILER-DAEMON");
}

static void set_defaults(struct md_ctx *c, const struct opts *o, const struct passwd *pw)
{
	if (!o->delivery)
		for (char **e = environ; *e; e++) {
			const char *eq = strchr(*e, '=');
			if (eq && md_vars_set(&c->vars, *e, (size_t)(eq - *e), eq + 1, strlen(eq + 1)) < 0)
				tempfail("%s", "environment too large");
		}
	struct buf v = BUF_INIT;
	char host[256];
	set(c, "HOME", pw->pw_dir);
	set(c, "LOGNAME", pw->pw_name);
	set(c, "SHELL", *pw->pw_shell ? pw->pw_shell : "/bin/sh");
	set(c, "PATH", "/bin:/usr/bin:/usr/local/bin");
	buf_printf(&v, "%s/Maildir", pw->pw_dir);
	struct stat st;
	if (stat(buf_cstr(&v), &st) < 0 || !S_ISDIR(st.st_mode)) {
		buf_reset(&v);
		buf_printf(&v, "/var/mail/%s", pw->pw_name);
	}
	set(c, "DEFAULT", buf_cstr(&v));
	buf_reset(&v);
	buf_printf(&v, "%s/bin/sendmail -oi", paths_root());
	set(c, "SENDMAIL", buf_cstr(&v));
	set(c, "LOCKEXT", ".lock");
	set(c, "LOCKSLEEP", "5");
	set(c, "LOCKTIMEOUT", "60");
	set(c, "LOCKREFRESH", "15");
	set(c, "MAILDIRQUOTA", "");
	if (gethostname(host, sizeof host) == 0) {
		host[sizeof host - 1] = 0;
		set(c, "HOSTNAME", host);
	}
	for (int i = 0; i < o->nargs; i++) {
		buf_reset(&v);
		buf_printf(&v, "%d", i + 1);
		set(c, buf_cstr(&v), o->args[i]);
	}
	set(c, "MAILFILTER", o->filter ? o->filter : ".mailfilter");
	buf_free(&v);
	set_from(c, o);
	md_ctx_message_vars(c);
}

/* A filter file must be a regular file of the user (or root) that nobody
 * else can write. 0 ok, 1 missing, else exits. */
static int check_filter(const char *path, uid_t uid)
{
	struct stat st;
	if (stat(path, &st) < 0) {
		if (errno == ENOENT)
			return 1;
		tempfail("cannot read the filter file: %s", strerror(errno));
	}
	if (!S_ISREG(st.st_mode))
		tempfail("%s: the filter file is not a regular file", path);
	if (st.st_uid != uid && st.st_uid != 0)
		tempfail("%s: the filter file is owned by the wrong user", path);
	if (st.st_mode & (S_IWGRP | S_IWOTH))
		tempfail("%s: invalid permissions on the filter file: others can write it", path);
	return 0;
}

static int finish(struct md_ctx *c, enum md_status s)
{
	if (s == MD_OK) {
		const struct buf *d = md_vars_get(&c->vars, "DEFAULT", 7);
		s = md_deliver_to(c, d ? d->data : "", d ? d->len : 0, 1);
	}
	fflush(stdout);
	if (s == MD_FAIL) {
		struct buf esc = BUF_INIT;
		log_escape(&esc, c->err.data, c->err.len);
		fprintf(stderr, "maildrop: %s\n", buf_cstr(&esc));
		buf_free(&esc);
		return c->fail_status ? c->fail_status : EX_TEMPFAIL;
	}
	return c->exit_code;
}

int main(int argc, char **argv)
{
	struct opts o;
	struct md_ctx c;
	memset(&o, 0, sizeof o);
	log_init("maildrop");
	parse_args(argc, argv, &o);
	struct passwd *pw = become_user(&o);
	md_ctx_init(&c);
	c.orig_env = environ;
	read_message(&c, &o);
	set_defaults(&c, &o, pw);
	if (o.delivery && chdir(pw->pw_dir) < 0)
		tempfail("cannot enter the home directory: %s", strerror(errno));
	enum md_status s = MD_OK;
	struct buf rc = BUF_INIT;
	paths_join(&rc, paths_config(), "maildroprc");
	if (check_filter(buf_cstr(&rc), 0) == 0)
		s = md_exec_file(&c, buf_cstr(&rc));
	buf_free(&rc);
	const char *filter = o.filter ? o.filter : ".mailfilter";
	struct buf path = BUF_INIT;
	if (!o.filter && !o.delivery)
		buf_printf(&path, "%s/.mailfilter", pw->pw_dir);
	else
		buf_set_str(&path, filter);
	int missing = s == MD_OK ? check_filter(buf_cstr(&path), pw->pw_uid) : 1;
	if (missing && o.filter)
		tempfail("%s: no such filter file", o.filter);
	if (!missing)
		s = md_exec_file(&c, buf_cstr(&path));
	buf_free(&path);
	int code = finish(&c, s);
	md_ctx_free(&c);
	buf_free(&o.add);
	return code;
}
