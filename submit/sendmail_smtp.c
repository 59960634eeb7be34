/* sendmail -bs: a small RFC 5321 server on stdin/stdout for local programs.
 *
 * Runs as the invoking user, like the rest of sendmail: the peer is that user
 * (or a program of theirs), and every message still goes through submit,
 * which records the real uid. Commands: EHLO, HELO, MAIL, RCPT, DATA, RSET,
 * NOOP, QUIT, HELP, VRFY (252). Extensions: PIPELINING (replies are flushed
 * only when no input is waiting), 8BITMIME, SMTPUTF8, DSN (RFC 3461),
 * ENHANCEDSTATUSCODES. Lines are bounded (SMTP_MAX_LINE for commands,
 * SMTP_MAX_DATA for message lines), errors are counted, and a session
 * without progress times out (lib/io). */
#include "sendmail.h"
#include "alloc.h"
#include "io.h"
#include "queue.h"

#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define SMTP_MAX_LINE 2048           /* a command line without CRLF */
#define SMTP_MAX_DATA (1024 * 1024)  /* a message line (submit's default limit) */
#define SMTP_MAX_RCPTS 1000
#define SMTP_MAX_ERRORS 20

struct smtp {
	const struct sm_site *site;
	struct io *io;
	struct sm_env env;
	int have_mail, utf8_param, quit;
	unsigned errors;
	struct buf line;
};

static void reply(struct smtp *s, const char *text)
{
	io_write_str(s->io, text);
	io_write_str(s->io, "\r\n");
}

static void error_reply(struct smtp *s, const char *text)
{
	reply(s, text);
	if (++s->errors >= SMTP_MAX_ERRORS) {
		reply(s, "421 4.7.0 Too many errors, closing");
		s->quit = 1;
	}
}

static void reset(struct smtp *s)
{
	sm_env_reset(&s->env);
	s->have_mail = s->utf8_param = 0;
}

/* "KEYWORD=value" params after a path: calls fn for each; -1 stops. */
typedef int (*param_fn)(struct smtp *s, const char *k, size_t klen, const char *v);

static int each_param(struct smtp *s, char *p, param_fn fn)
{
	while (*p) {
		char *end = p + strcspn(p, " ");
		char save = *end;
		*end = '\0';
		char *eq = strchr(p, '=');
		int rc = fn(s, p, eq ? (size_t)(eq - p) : strlen(p), eq ? eq + 1 : NULL);
		*end = save;
		if (rc < 0)
			return -1;
		p = end + strspn(end, " ");
	}
	return 0;
}

static int is(const char *k, size_t klen, const char *want)
{
	return strlen(want) == klen && strncasecmp(k, want, klen) == 0;
}

static int mail_param(struct smtp *s, const char *k, size_t klen, const char *v)
{
	if (is(k, klen, "SMTPUTF8") && !v) {
		s->utf8_param = s->env.smtputf8 = 1;
	} else if (is(k, klen, "BODY") && v && (!strcasecmp(v, "7BIT") || !strcasecmp(v, "8BITMIME"))) {
		s->env.body = strcasecmp(v, "7BIT") ? "8BITMIME" : "7BIT";
	} else if (is(k, klen, "RET") && v && (!strcasecmp(v, "FULL") || !strcasecmp(v, "HDRS"))) {
		s->env.ret = strcasecmp(v, "FULL") ? "HDRS" : "FULL";
	} else if (is(k, klen, "ENVID") && v && !s->env.envid && strlen(v) <= SM_MAX_ENVID &&
		   queue_xtext_valid(v, strlen(v))) {
		s->env.envid = xstrdup(v);
	} else if (is(k, klen, "SIZE") && v && strlen(v) <= 20 && strspn(v, "0123456789") == strlen(v)) {
		/* submit enforces the size limit */
	} else {
		error_reply(s, "555 5.5.4 Unsupported or invalid MAIL parameter");
		return -1;
	}
	return 0;
}

static int rcpt_param(struct smtp *s, const char *k, size_t klen, const char *v)
{
	struct sm_rcpt *r = &s->env.rcpts[s->env.nrcpt - 1];
	if (is(k, klen, "NOTIFY") && v && !r->notify[0]) {
		free(r->notify);
		r->notify = xstrdup(v);
		for (char *p = r->notify; p && *p; p++)
			if (*p >= 'a' && *p <= 'z')
				*p = (char)(*p - 'a' + 'A');
		if (r->notify && *r->notify && queue_notify_valid(r->notify, strlen(r->notify)))
			return 0;
	} else if (is(k, klen, "ORCPT") && v && !r->orcpt[0] && strlen(v) <= QUEUE_MAX_FIELD &&
		   queue_orcpt_valid(v, strlen(v))) {
		free(r->orcpt);
		r->orcpt = xstrdup(v);
		if (r->orcpt)
			return 0;
	}
	error_reply(s, "555 5.5.4 Unsupported or invalid RCPT parameter");
	return -1;
}

/* "FROM:" / "TO:" then a path: the parsed address and where params start. */
static int path_arg(struct smtp *s, char *arg, const char *kw, unsigned flags,
		    const char *enh, struct addr *a, char **params)
{
	size_t kl = strlen(kw), rest;
	if (strncasecmp(arg, kw, kl) != 0) {
		error_reply(s, "501 5.5.4 Syntax error in parameters");
		return -1;
	}
	arg += kl;
	enum addr_err e = addr_parse_path(arg, strlen(arg), flags | ADDR_SMTPUTF8, a, &rest);
	if (e != ADDR_OK) {
		struct buf m = BUF_INIT;
		buf_printf(&m, "%d %s %s", addr_err_code(e), enh, addr_strerror(e));
		error_reply(s, buf_cstr(&m));
		buf_free(&m);
		return -1;
	}
	*params = arg + rest;
	return 0;
}

static void cmd_mail(struct smtp *s, char *arg)
{
	struct addr a = ADDR_INIT;
	struct buf q = BUF_INIT;
	char *params;
	if (s->have_mail) {
		error_reply(s, "503 5.5.1 Nested MAIL command");
		return;
	}
	if (path_arg(s, arg, "FROM:", ADDR_ALLOW_NULL | ADDR_ALLOW_NODOMAIN, "5.1.7", &a,
		     &params) == 0 &&
	    each_param(s, params, mail_param) == 0) {
		if (a.local_utf8 && !s->utf8_param) {
			error_reply(s, "553 5.6.7 SMTPUTF8 is needed for this address");
			reset(s);
		} else {
			if (!a.is_null)
				sm_qualify(s->site, &a, &q, &s->env.smtputf8);
			s->env.sender = xstrdup(buf_cstr(&q));
			s->env.sender_given = s->have_mail = s->env.sender != NULL;
			reply(s, "250 2.1.0 Ok");
		}
	} else {
		reset(s);
	}
	addr_free(&a);
	buf_free(&q);
}

static void cmd_rcpt(struct smtp *s, char *arg)
{
	struct addr a = ADDR_INIT;
	struct buf q = BUF_INIT;
	char *params;
	if (!s->have_mail) {
		error_reply(s, "503 5.5.1 MAIL first");
		return;
	}
	if (s->env.nrcpt >= SMTP_MAX_RCPTS) {
		reply(s, "452 4.5.3 Too many recipients");
		return;
	}
	if (path_arg(s, arg, "TO:", ADDR_ALLOW_POSTMASTER | ADDR_ALLOW_NODOMAIN, "5.1.3", &a,
		     &params) < 0)
		goto out;
	if (a.local_utf8 && !s->utf8_param) {
		error_reply(s, "553 5.6.7 SMTPUTF8 is needed for this address");
		goto out;
	}
	sm_qualify(s->site, &a, &q, &s->env.smtputf8);
	sm_env_add(&s->env, buf_cstr(&q), "", "");
	if (each_param(s, params, rcpt_param) < 0) {
		struct sm_rcpt *r = &s->env.rcpts[--s->env.nrcpt];
		free(r->addr);
		free(r->notify);
		free(r->orcpt);
	} else {
		reply(s, "250 2.1.5 Ok");
	}
out:
	addr_free(&a);
	buf_free(&q);
}

/* Message lines up to ".", unstuffed, into m. 1 at ".", 0 if the session ended. */
static int data_lines(struct smtp *s, struct sm_msg *m, int *toolong)
{
	io_set_max_line(s->io, SMTP_MAX_DATA);
	for (;;) {
		enum io_status st = io_read_line(s->io, &s->line);
		if (st == IO_TOOLONG) {
			*toolong = 1;
			continue;
		}
		if (st != IO_OK || io_eol(s->io) == IO_EOL_NONE)
			return 0;
		const char *p = s->line.data ? s->line.data : "";
		size_t n = s->line.len;
		if (n == 1 && p[0] == '.')
			break;
		if (n > 0 && p[0] == '.')
			p++, n--;
		sm_msg_feed(m, p, n);
		sm_msg_feed(m, "\n", 1);
	}
	io_set_max_line(s->io, SMTP_MAX_LINE);
	return 1;
}

static void cmd_data(struct smtp *s, char *arg)
{
	struct sm_msg m;
	struct buf r = BUF_INIT;
	int toolong = 0;
	if (*arg) {
		error_reply(s, "501 5.5.4 DATA takes no arguments");
		return;
	}
	if (!s->have_mail || s->env.nrcpt == 0) {
		error_reply(s, s->have_mail ? "554 5.5.1 No valid recipients" : "503 5.5.1 MAIL first");
		return;
	}
	reply(s, "354 End data with <CR><LF>.<CR><LF>");
	io_flush(s->io);
	sm_msg_begin(&m, s->site, &s->env, 0, NULL);
	if (!data_lines(s, &m, &toolong)) {
		sm_msg_abort(&m);
		s->quit = 1;
		return;
	}
	if (toolong) {
		sm_msg_abort(&m);
		reply(s, "554 5.6.0 Message refused: a line is too long");
	} else {
		int rc = sm_msg_end(&m, &r);
		const char *t = buf_cstr(&r);
		int smtp_form = r.len > 4 && t[0] >= '2' && t[0] <= '5' && t[3] == ' ';
		struct buf line = BUF_INIT;
		if (smtp_form)
			buf_append_str(&line, t);
		else
			buf_printf(&line, "%s %s", rc == SM_EX_TEMPFAIL ? "451 4.3.0" : "554 5.6.0", t);
		reply(s, buf_cstr(&line));
		buf_free(&line);
	}
	buf_free(&r);
	reset(s);
}

static void cmd_ehlo(struct smtp *s, char *arg, int extended)
{
	struct buf b = BUF_INIT;
	if (*arg == '\0') {
		error_reply(s, "501 5.5.4 Syntax: EHLO hostname");
		return;
	}
	reset(s);
	buf_printf(&b, "250%c%s", extended ? '-' : ' ', s->site->me.data);
	reply(s, buf_cstr(&b));
	if (extended)
		reply(s, "250-PIPELINING\r\n250-8BITMIME\r\n250-SMTPUTF8\r\n250-DSN\r\n"
			 "250-ENHANCEDSTATUSCODES\r\n250 HELP");
	buf_free(&b);
}

static void command(struct smtp *s, char *line)
{
	char *arg = line + strcspn(line, " ");
	size_t vlen = (size_t)(arg - line);
	arg += strspn(arg, " ");
	if (is(line, vlen, "EHLO") || is(line, vlen, "HELO"))
		cmd_ehlo(s, arg, line[0] == 'E' || line[0] == 'e');
	else if (is(line, vlen, "MAIL"))
		cmd_mail(s, arg);
	else if (is(line, vlen, "RCPT"))
		cmd_rcpt(s, arg);
	else if (is(line, vlen, "DATA"))
		cmd_data(s, arg);
	else if (is(line, vlen, "RSET"))
		reset(s), reply(s, "250 2.0.0 Ok");
	else if (is(line, vlen, "NOOP"))
		reply(s, "250 2.0.0 Ok");
	else if (is(line, vlen, "QUIT"))
		reply(s, "221 2.0.0 Bye"), s->quit = 1;
	else if (is(line, vlen, "HELP"))
		reply(s, "214 2.0.0 Commands: EHLO HELO MAIL RCPT DATA RSET NOOP QUIT HELP VRFY");
	else if (is(line, vlen, "VRFY"))
		reply(s, "252 2.5.2 Cannot VRFY, but will accept the message");
	else if (is(line, vlen, "BDAT") || is(line, vlen, "STARTTLS") || is(line, vlen, "AUTH") ||
		 is(line, vlen, "EXPN"))
		error_reply(s, "502 5.5.1 Not implemented");
	else
		error_reply(s, "500 5.5.1 Unknown command");
}

static int session(struct smtp *s)
{
	struct buf g = BUF_INIT;
	buf_printf(&g, "220 %s ESMTP estafette (sendmail -bs)", s->site->me.data);
	reply(s, buf_cstr(&g));
	buf_free(&g);
	while (!s->quit) {
		if (!io_has_buffered_input(s->io) && io_flush(s->io) != IO_OK)
			return SM_EX_TEMPFAIL;
		enum io_status st = io_read_line(s->io, &s->line);
		if (st == IO_EOF)
			return SM_EX_OK;
		if (st == IO_TIMEOUT) {
			reply(s, "421 4.4.2 Timeout, closing");
			break;
		}
		if (st == IO_ERROR)
			return SM_EX_TEMPFAIL;
		if (st == IO_TOOLONG)
			error_reply(s, "500 5.5.2 Line too long");
		else if (buf_has_nul(&s->line))
			error_reply(s, "500 5.5.2 NUL byte in command");
		else
			command(s, s->line.data ? s->line.data : (char *)"");
	}
	return io_flush(s->io) == IO_OK ? SM_EX_OK : SM_EX_TEMPFAIL;
}

int sm_smtp_run(const struct sm_site *site)
{
	struct smtp s;
	memset(&s, 0, sizeof s);
	s.site = site;
	sm_env_init(&s.env);
	int fl0 = fcntl(0, F_GETFL), fl1 = fcntl(1, F_GETFL);
	s.io = io_new(0, 1);
	if (s.io == NULL)
		sm_die(SM_EX_TEMPFAIL, "stdin/stdout: cannot set up");
	io_set_max_line(s.io, SMTP_MAX_LINE);
	int rc = session(&s);
	io_free(s.io);
	if (fl0 >= 0) /* io made them non-blocking; they may be shared with our parent */
		(void)fcntl(0, F_SETFL, fl0);
	if (fl1 >= 0)
		(void)fcntl(1, F_SETFL, fl1);
	sm_env_free(&s.env);
	buf_free(&s.line);
	return rc;
}
