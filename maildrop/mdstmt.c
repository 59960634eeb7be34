/* mdstmt: the statements that act outside the interpreter: to, cc (Maildir,
 * mbox, "| command", "! address"), log, logfile, echo, xfilter, system,
 * dotlock and flock. See mdfunc.h. */
#include "mdfunc.h"

#include "alloc.h"
#include "file.h"
#include "mddeliver.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

int md_is_pipe(const struct md_node *e)
{
	if (!e || e->kind != MD_N_STR || !e->parts.n || e->parts.v[0].kind != MD_PART_LIT)
		return 0;
	const struct buf *t = &e->parts.v[0].text;
	size_t i = 0;
	while (i < t->len && (t->data[i] == ' ' || t->data[i] == '\t'))
		i++;
	return i < t->len && t->data[i] == '|';
}

/* The first line of the first header named name, trimmed (Courier's log
 * shows no continuation lines). */
static void header_value(const struct md_msg *m, const char *name, struct buf *out)
{
	const char *p = m->data.data ? m->data.data : "";
	size_t len = m->body, nl = strlen(name);
	for (size_t i = 0; i < len;) {
		const char *e = memchr(p + i, '\n', len - i);
		size_t n = e ? (size_t)(e - (p + i)) : len - i;
		if (n > nl && !strncasecmp(p + i, name, nl) && p[i + nl] == ':') {
			size_t a = i + nl + 1, b = i + n;
			while (a < b && (p[a] == ' ' || p[a] == '\t'))
				a++;
			buf_set(out, p + a, b - a);
			return;
		}
		i += n + 1;
	}
}

static void log_write(struct md_ctx *c, const struct buf *text)
{
	if (c->logfd >= 0 && file_write_all(c->logfd, text->data, text->len) < 0) {
		/* logging is best effort, as in Courier's maildrop */
	}
}

/* The delivery record Courier's maildrop writes to the logfile. */
static void log_delivery(struct md_ctx *c, const char *dest)
{
	if (c->logfd < 0)
		return;
	struct buf t = BUF_INIT, from = BUF_INIT, subj = BUF_INIT, size = BUF_INIT;
	char date[64];
	time_t now = time(NULL);
	struct tm tm;
	if (!localtime_r(&now, &tm) || !strftime(date, sizeof date, "%a %b %e %H:%M:%S %Y", &tm))
		date[0] = 0;
	header_value(&c->msg, "From", &from);
	header_value(&c->msg, "Subject", &subj);
	buf_printf(&size, "(%zu)", c->msg.data.len);
	buf_printf(&t, "Date: %s\nFrom: %s\nSubj: %s\nFile: %s", date, buf_cstr(&from),
		   buf_cstr(&subj), dest);
	size_t line = 6 + strlen(dest);
	do {
		buf_append_char(&t, ' ');
	} while (++line + size.len < 78);
	buf_printf(&t, "%s\n\n", buf_cstr(&size));
	log_write(c, &t);
	buf_free(&t);
	buf_free(&from);
	buf_free(&subj);
	buf_free(&size);
}

static enum md_status deliver_pipe(struct md_ctx *c, const struct md_node *n, const char *cmd,
				   int *status)
{
	return md_shell(c, n, cmd, &c->msg.data, NULL, 0, status);
}

/* "! a b, c": $SENDMAIL's words, -f $FROM, then the addresses; no shell. */
static enum md_status deliver_forward(struct md_ctx *c, const struct md_node *n, const char *to)
{
	char *words = xstrdup(md_vars_get_str(&c->vars, "SENDMAIL"));
	char *list = xstrdup(to);
	char **argv = NULL;
	size_t argc = 0;
	for (char *w = strtok(words, " \t"); w; w = strtok(NULL, " \t")) {
		argv = xreallocarray(argv, argc + 4, sizeof *argv);
		argv[argc++] = w;
	}
	enum md_status s = MD_OK;
	if (!argc || access(argv[0], X_OK) < 0) {
		s = md_fail(c, n, "cannot forward: no mail submission program (SENDMAIL=%s)",
			    md_vars_get_str(&c->vars, "SENDMAIL"));
		goto out;
	}
	argv[argc++] = (char *)"-f";
	argv[argc++] = (char *)md_vars_get_str(&c->vars, "FROM");
	for (char *w = strtok(list, " \t,\n"); w; w = strtok(NULL, " \t,\n")) {
		argv = xreallocarray(argv, argc + 2, sizeof *argv);
		argv[argc++] = w;
	}
	argv[argc] = NULL;
	char **env = md_vars_environ(&c->vars);
	struct buf err = BUF_INIT;
	int status;
	if (md_run(argv, env, &c->msg.data, NULL, 0, &status, &err) < 0)
		s = md_fail(c, n, "forward: %s", buf_cstr(&err));
	else if (status != 0)
		s = md_fail(c, n, "forward: %s exited with %d", argv[0], status);
	md_environ_free(env);
	buf_free(&err);
out:
	free(argv);
	free(words);
	free(list);
	return s;
}

static enum md_status deliver_mailbox(struct md_ctx *c, const struct md_node *n, const char *dest)
{
	struct buf path = BUF_INIT, err = BUF_INIT, name = BUF_INIT;
	struct stat st;
	buf_set_str(&path, dest);
	int maildir = path.len > 1 && path.data[path.len - 1] == '/';
	while (path.len > 1 && path.data[path.len - 1] == '/')
		buf_truncate(&path, path.len - 1);
	if (!maildir && stat(buf_cstr(&path), &st) == 0 && S_ISDIR(st.st_mode))
		maildir = 1;
	int rc;
	if (maildir)
		rc = md_deliver_maildir(buf_cstr(&path), &c->msg.data, md_vars_get_str(&c->vars, "FLAGS"),
					md_vars_get_str(&c->vars, "MAILDIRQUOTA"), &name, &err);
	else
		rc = md_deliver_mbox(buf_cstr(&path), &c->msg.data, md_vars_get_str(&c->vars, "FROM"),
				     &err);
	enum md_status s = MD_OK;
	if (rc < 0)
		s = md_fail(c, n, "unable to deliver to %s: %s", dest, buf_cstr(&err));
	buf_free(&path);
	buf_free(&err);
	buf_free(&name);
	return s;
}

enum md_status md_deliver_dest(struct md_ctx *c, const struct md_node *n, const char *dest,
			       size_t len, int final)
{
	while (len && (*dest == ' ' || *dest == '\t')) {
		dest++;
		len--;
	}
	while (len && (dest[len - 1] == ' ' || dest[len - 1] == '\t' || dest[len - 1] == '\n'))
		len--;
	if (!len || memchr(dest, '\0', len))
		return md_fail(c, n, "invalid mailbox name");
	char *d = xmemdup(dest, len);
	enum md_status s;
	int status = 0, piped = d[0] == '|';
	if (piped)
		s = deliver_pipe(c, n, d + 1, &status);
	else if (d[0] == '!')
		s = deliver_forward(c, n, d + 1);
	else
		s = deliver_mailbox(c, n, d);
	if (s == MD_OK)
		log_delivery(c, d);
	if (s == MD_OK && piped) {
		struct buf v = BUF_INIT;
		buf_printf(&v, "%d", status);
		s = md_setvar(c, n, "EXITCODE", 8, v.data, v.len);
		buf_free(&v);
		/* a program that fails is a failed delivery, as Courier's maildrop
		 * has it: exception traps it, else maildrop ends with its status */
		if (s == MD_OK && status != 0) {
			s = md_fail(c, n, "%s: the program exited with %d", d, status);
			c->fail_status = status;
		}
	}
	free(d);
	if (s != MD_OK || !final)
		return s;
	c->exit_code = piped ? status : atoi(md_vars_get_str(&c->vars, "EXITCODE"));
	return MD_DONE;
}

void md_ctx_message_vars(struct md_ctx *c)
{
	struct buf v = BUF_INIT;
	buf_printf(&v, "%zu", c->msg.data.len);
	md_vars_set(&c->vars, "SIZE", 4, v.data, v.len);
	buf_reset(&v);
	buf_printf(&v, "%lu", c->msg.lines);
	md_vars_set(&c->vars, "LINES", 5, v.data, v.len);
	buf_free(&v);
}

/* echo's text as Courier's maildrop writes it: \n \t \r \f \v, octal
 * \NNN (any number of digits, the low 8 bits), \c at the end for no
 * newline, \x -> x for anything else. */
static void echo_text(const struct buf *v)
{
	struct buf o = BUF_INIT;
	int newline = 1;
	for (size_t i = 0; i < v->len; i++) {
		char ch = v->data[i];
		if (ch == '\\' && i + 1 < v->len) {
			ch = v->data[++i];
			const char *from = "ntrfv", *to = "\n\t\r\f\v", *at = strchr(from, ch);
			if (ch == 'c' && i + 1 == v->len) {
				newline = 0;
				continue;
			}
			if (ch >= '0' && ch <= '7') {
				unsigned val = 0;
				for (; i < v->len && v->data[i] >= '0' && v->data[i] <= '7'; i++)
					val = (val * 8 + (unsigned)(v->data[i] - '0')) & 0xffffu;
				i--;
				ch = (char)(val & 0xff);
			} else if (ch && at) {
				ch = to[at - from];
			}
		}
		buf_append_char(&o, ch);
	}
	if (newline)
		buf_append_char(&o, '\n');
	fflush(stdout);
	if (file_write_all(1, o.data, o.len) < 0) {
		/* stdout gone: nothing to tell */
	}
	buf_free(&o);
}

static enum md_status do_logfile(struct md_ctx *c, const struct md_node *n, const struct buf *v)
{
	if (c->logfd >= 0)
		close(c->logfd);
	c->logfd = open(buf_cstr((struct buf *)v), O_WRONLY | O_APPEND | O_CREAT | O_NOFOLLOW |
						     O_CLOEXEC, 0600);
	if (c->logfd < 0)
		return md_fail(c, n, "logfile %s: %s", buf_cstr((struct buf *)v), strerror(errno));
	return MD_OK;
}

static enum md_status do_xfilter(struct md_ctx *c, const struct md_node *n, const struct buf *v)
{
	struct buf out = BUF_INIT;
	int status;
	enum md_status s = md_shell(c, n, buf_cstr((struct buf *)v), &c->msg.data, &out,
				    MD_MAX_MESSAGE, &status);
	if (s == MD_OK && status != 0)
		s = md_fail(c, n, "xfilter: the command exited with %d", status);
	if (s == MD_OK) {
		md_msg_set(&c->msg, &out);
		md_ctx_message_vars(c);
	}
	buf_free(&out);
	return s;
}

enum md_status md_statement(struct md_ctx *c, const struct md_node *n, const struct buf *arg)
{
	int status;
	struct buf t = BUF_INIT;
	switch (n->kind) {
	case MD_N_TO:
	case MD_N_CC:
		return md_deliver_dest(c, n, arg->data ? arg->data : "", arg->len, n->kind == MD_N_TO);
	case MD_N_ECHO:
		echo_text(arg);
		return MD_OK;
	case MD_N_LOG:
		buf_append_buf(&t, arg);
		buf_append_char(&t, '\n');
		log_write(c, &t);
		buf_free(&t);
		return MD_OK;
	case MD_N_LOGFILE:
		return do_logfile(c, n, arg);
	case MD_N_XFILTER:
		return do_xfilter(c, n, arg);
	case MD_N_SYSTEM:
		return md_shell(c, n, buf_cstr((struct buf *)arg), NULL, NULL, 0, &status);
	default:
		return md_fail(c, n, "internal error: unknown statement");
	}
}

enum md_status md_lock_block(struct md_ctx *c, const struct md_node *n, md_exec_fn exec)
{
	struct buf path = BUF_INIT, err = BUF_INIT;
	enum md_status s = md_eval(c, n->kids[0], &path);
	int fd = -1;
	if (s == MD_OK) {
		if (n->kind == MD_N_DOTLOCK && md_dotlock_acquire(buf_cstr(&path), &err) < 0)
			s = md_fail(c, n, "dotlock: %s", buf_cstr(&err));
		else if (n->kind == MD_N_FLOCK && (fd = md_flock_acquire(buf_cstr(&path), &err)) < 0)
			s = md_fail(c, n, "flock: %s", buf_cstr(&err));
	}
	if (s == MD_OK) {
		s = exec(c, n->kids[1]);
		if (n->kind == MD_N_DOTLOCK)
			md_dotlock_release(buf_cstr(&path));
		else
			close(fd);
	}
	buf_free(&path);
	buf_free(&err);
	return s;
}

enum md_status md_deliver_to(struct md_ctx *c, const char *dest, size_t len, int final)
{
	return md_deliver_dest(c, NULL, dest, len, final);
}
