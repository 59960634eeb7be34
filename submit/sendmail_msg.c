/* sendmail: one message from the user to submit(8).
 *
 * The header section is held in memory (at most SM_MAX_HEADER bytes) until it
 * ends: then -t takes its recipients from it, Bcc: and Resent-Bcc: are
 * removed, missing From:, Date: and Message-ID: are added, and submit is
 * started with the envelope. The body is streamed on in D chunks. submit runs
 * through execve() with a fixed argv and a minimal environment, never a
 * shell. The header section ends as submit sees it: at the blank line or at
 * the first line that is neither a field nor a continuation. */
#define _GNU_SOURCE 1 /* pipe2 */
#include "sendmail.h"
#include "alloc.h"
#include "file.h"
#include "paths.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define CHUNK 65536
#define MAX_REPLY 4096

extern char **environ;

static void fail(struct sm_msg *m, int code, const char *msg)
{
	if (m->error)
		return;
	m->error = code;
	buf_set_str(&m->errmsg, msg);
}

void sm_msg_begin(struct sm_msg *m, const struct sm_site *site, struct sm_env *env,
		  unsigned flags, const char *fullname)
{
	memset(m, 0, sizeof *m);
	m->site = site;
	m->env = env;
	m->flags = flags;
	m->fullname = fullname;
	m->pid = -1;
	m->wfd = m->rfd = -1;
}

/* ---- the pipe to submit ---- */

static void env_add(struct buf *store, size_t *offs, size_t *n, const char *name)
{
	const char *v = getenv(name);
	if (v == NULL)
		return;
	offs[(*n)++] = store->len;
	buf_printf(store, "%s=%s", name, v);
	buf_append_char(store, '\0');
}

static int spawn_submit(struct sm_msg *m)
{
	struct buf path = BUF_INIT, store = BUF_INIT;
	int in[2], out[2];
	size_t offs[4], n = 0;
	paths_join(&path, paths_libexec(), "submit");
	env_add(&store, offs, &n, "ESTAFETTE_ROOT");
	env_add(&store, offs, &n, "ESTAFETTE_LOG");
	env_add(&store, offs, &n, "TZ");
	char *envp[5], *argv[] = { (char *)"submit", NULL };
	for (size_t i = 0; i < n; i++)
		envp[i] = store.data + offs[i];
	envp[n] = NULL;
	if (pipe2(in, O_CLOEXEC) < 0 || pipe2(out, O_CLOEXEC) < 0)
		sm_die(SM_EX_TEMPFAIL, "pipe: %s", strerror(errno));
	m->pid = fork();
	if (m->pid < 0)
		sm_die(SM_EX_TEMPFAIL, "fork: %s", strerror(errno));
	if (m->pid == 0) {
		if (dup2(in[0], 0) < 0 || dup2(out[1], 1) < 0)
			_exit(SM_EX_TEMPFAIL);
		execve(buf_cstr(&path), argv, envp);
		sm_warn("cannot run %s: %s", buf_cstr(&path), strerror(errno));
		_exit(errno == ENOENT ? 127 : 126);
	}
	close(in[0]);
	close(out[1]);
	m->wfd = in[1];
	m->rfd = out[0];
	buf_free(&path);
	buf_free(&store);
	return 0;
}

static void put(struct sm_msg *m, const void *p, size_t len)
{
	if (m->write_failed || len == 0)
		return;
	if (file_write_all(m->wfd, p, len) < 0)
		m->write_failed = 1; /* submit gave up: its reply says why */
}

static void flush_chunk(struct sm_msg *m)
{
	for (size_t off = 0; off < m->chunk.len;) {
		size_t n = m->chunk.len - off > CHUNK ? CHUNK : m->chunk.len - off;
		struct buf h = BUF_INIT;
		buf_printf(&h, "D%zu\n", n);
		put(m, h.data, h.len);
		put(m, m->chunk.data + off, n);
		buf_free(&h);
		off += n;
	}
	buf_reset(&m->chunk);
}

static void body_write(struct sm_msg *m, const char *p, size_t len)
{
	buf_append(&m->chunk, p, len);
	if (m->chunk.len >= CHUNK)
		flush_chunk(m);
}

static void send_envelope(struct sm_msg *m)
{
	const struct sm_env *e = m->env;
	struct buf b = BUF_INIT;
	buf_printf(&b, "S%s\nFlocal\n", e->sender);
	if (e->envid)
		buf_printf(&b, "E%s\n", e->envid);
	if (e->ret)
		buf_printf(&b, "N%s\n", e->ret);
	if (e->body)
		buf_printf(&b, "B%s\n", e->body);
	if (e->smtputf8)
		buf_append_str(&b, "U\n");
	for (size_t i = 0; i < e->nrcpt; i++) {
		const struct sm_rcpt *r = &e->rcpts[i];
		buf_printf(&b, "R%s", r->addr);
		if (r->notify[0] || r->orcpt[0])
			buf_printf(&b, "\t%s", r->notify);
		if (r->orcpt[0])
			buf_printf(&b, "\t%s", r->orcpt);
		buf_append_char(&b, '\n');
	}
	buf_append_char(&b, '\n');
	put(m, b.data, b.len);
	buf_free(&b);
}

/* ---- the header section ---- */

/* Length of the field name if line starts a field ("name:"), else 0. */
static size_t field_name(const char *p, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)p[i];
		if (c == ':')
			return i;
		if (c < 33 || c > 126)
			return 0;
	}
	return 0;
}

static int name_is(const char *p, size_t n, const char *want)
{
	return strlen(want) == n && strncasecmp(p, want, n) == 0;
}

struct field {
	const char *p;   /* start of the field */
	size_t len;      /* whole field, continuation lines and final LF included */
	size_t nlen;     /* name length */
};

/* The next field of h at *pos (h holds whole lines). */
static int next_field(const char *h, size_t hlen, size_t *pos, struct field *f)
{
	if (*pos >= hlen)
		return 0;
	f->p = h + *pos;
	f->nlen = field_name(f->p, hlen - *pos);
	size_t i = *pos;
	do {
		const char *lf = memchr(h + i, '\n', hlen - i);
		i = lf ? (size_t)(lf - h) + 1 : hlen;
	} while (i < hlen && (h[i] == ' ' || h[i] == '\t'));
	f->len = i - *pos;
	*pos = i;
	return 1;
}

static int is_rcpt_field(const struct field *f, int resent)
{
	static const char *const plain[] = { "to", "cc", "bcc", NULL };
	static const char *const res[] = { "resent-to", "resent-cc", "resent-bcc", NULL };
	for (const char *const *n = resent ? res : plain; *n; n++)
		if (name_is(f->p, f->nlen, *n))
			return 1;
	return 0;
}

/* The field's value with CRLF as LF, for addrlist. */
static int extract(struct sm_msg *m, const struct field *f)
{
	struct buf v = BUF_INIT, err = BUF_INIT;
	const char *p = f->p + f->nlen + 1, *end = f->p + f->len;
	for (; p < end; p++)
		if (!(*p == '\r' && p + 1 < end && p[1] == '\n'))
			buf_append_char(&v, *p);
	int rc = sm_add_list(m->site, m->env, v.data ? v.data : "", v.len, m->env->notify, &err);
	if (rc < 0) {
		struct buf what = BUF_INIT;
		buf_append(&what, f->p, f->nlen);
		buf_printf(&what, ": header: %s", buf_cstr(&err));
		fail(m, SM_EX_DATAERR, buf_cstr(&what));
		buf_free(&what);
	}
	buf_free(&v);
	buf_free(&err);
	return rc;
}

/* Rewrite the header section h into out (without the blank line). */
static void header_fix(struct sm_msg *m, const char *h, size_t hlen, struct buf *out)
{
	struct field f;
	size_t pos = 0;
	int resent = 0, have_from = 0, have_date = 0, have_msgid = 0;
	while (next_field(h, hlen, &pos, &f))
		if (is_rcpt_field(&f, 1))
			resent = 1;
	pos = 0;
	while (next_field(h, hlen, &pos, &f)) {
		if ((m->flags & SM_MSG_EXTRACT) && is_rcpt_field(&f, resent) && extract(m, &f) < 0)
			return;
		have_from |= name_is(f.p, f.nlen, "from");
		have_date |= name_is(f.p, f.nlen, "date");
		have_msgid |= name_is(f.p, f.nlen, "message-id");
		if (!name_is(f.p, f.nlen, "bcc") && !name_is(f.p, f.nlen, "resent-bcc"))
			buf_append(out, f.p, f.len);
	}
	sm_header_add_missing(m->site, m->env, m->fullname, have_from, have_date, have_msgid,
			      out);
}

/* The header section is h[0..hend); the body starts at body_start in m->hdr.
 * blank: it ended with an empty line (else one is inserted when a body
 * follows). */
static void header_done(struct sm_msg *m, size_t hend, size_t body_start, int blank)
{
	struct buf out = BUF_INIT;
	m->in_body = 1;
	header_fix(m, m->hdr.data ? m->hdr.data : "", hend, &out);
	if (m->flags & SM_MSG_EXTRACT)
		sm_env_dedup(m->env);
	if (m->env->nrcpt == 0)
		fail(m, (m->flags & SM_MSG_EXTRACT) ? SM_EX_DATAERR : SM_EX_USAGE,
		     "no recipients");
	if (m->error) {
		buf_free(&out);
		return;
	}
	spawn_submit(m);
	send_envelope(m);
	if (blank || body_start < m->hdr.len)
		buf_append_char(&out, '\n');
	body_write(m, out.data, out.len);
	body_write(m, m->hdr.data + body_start, m->hdr.len - body_start);
	buf_free(&out);
	buf_free(&m->hdr);
}

static int is_header_line(const struct sm_msg *m, const char *p, size_t l)
{
	if (l > 0 && (p[0] == ' ' || p[0] == '\t'))
		return m->last_was_field;
	return field_name(p, l) > 0;
}

/* Examine the complete lines of m->hdr not seen yet. */
static void header_scan(struct sm_msg *m)
{
	while (!m->in_body && !m->error) {
		char *start = m->hdr.data + m->scan;
		char *lf = memchr(start, '\n', m->hdr.len - m->scan);
		if (lf == NULL)
			break;
		size_t linelen = (size_t)(lf - start), l = linelen;
		if (l > 0 && start[l - 1] == '\r')
			l--;
		if (!m->first_line_done) {
			m->first_line_done = 1;
			if ((m->flags & SM_MSG_FROM_LINE) && l >= 5 && memcmp(start, "From ", 5) == 0) {
				buf_consume(&m->hdr, linelen + 1);
				continue;
			}
		}
		if (l == 0)
			header_done(m, m->scan, m->scan + linelen + 1, 1);
		else if (is_header_line(m, start, l))
			m->last_was_field = 1, m->scan += linelen + 1;
		else
			header_done(m, m->scan, m->scan, 0);
	}
	if (!m->in_body && m->hdr.len > SM_MAX_HEADER)
		fail(m, SM_EX_DATAERR, "header section too large (max 4 MiB)");
}

void sm_msg_feed(struct sm_msg *m, const char *p, size_t len)
{
	if (m->error || len == 0)
		return;
	if (m->in_body) {
		body_write(m, p, len);
		return;
	}
	buf_append(&m->hdr, p, len);
	header_scan(m);
}

/* Input ended inside the header section: a last line without LF. */
static void header_eof(struct sm_msg *m)
{
	size_t rest = m->hdr.len - m->scan;
	const char *p = m->hdr.data ? m->hdr.data + m->scan : "";
	if (rest > 0 && is_header_line(m, p, rest)) {
		buf_append_char(&m->hdr, '\n');
		header_done(m, m->hdr.len, m->hdr.len, 0);
	} else {
		header_done(m, m->scan, m->scan, 0);
	}
}

/* ---- the end ---- */

static void read_reply(struct sm_msg *m, struct buf *reply)
{
	buf_reset(reply);
	for (;;) {
		char *p = buf_space(reply, 512);
		ssize_t n = read(m->rfd, p, 512);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		buf_commit(reply, (size_t)n);
		if (reply->len > MAX_REPLY)
			break;
	}
	const char *lf = memchr(reply->data ? reply->data : "", '\n', reply->len);
	if (lf)
		buf_truncate(reply, (size_t)(lf - reply->data));
}

static int wait_child(pid_t pid)
{
	int st;
	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR)
			return -1;
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* submit's exit status and reply -> our exit status (sendmail(8)). */
static int map_status(int st, struct buf *reply)
{
	if (st == 0 && reply->len >= 3 && memcmp(reply->data, "250", 3) == 0)
		return SM_EX_OK;
	if (reply->len == 0) {
		buf_printf(reply, "451 4.3.0 submit failed (exit status %d)", st);
		return st == 126 || st == 127 ? SM_EX_UNAVAILABLE : SM_EX_TEMPFAIL;
	}
	if (st == 65)
		return strncmp(buf_cstr(reply), "553 5.1.3", 9) == 0 ? SM_EX_NOUSER : SM_EX_DATAERR;
	if (st == 64)
		return SM_EX_SOFTWARE; /* we broke the protocol */
	return SM_EX_TEMPFAIL;
}

int sm_msg_end(struct sm_msg *m, struct buf *reply)
{
	if (!m->in_body && !m->error)
		header_eof(m);
	if (m->error) {
		buf_set(reply, m->errmsg.data, m->errmsg.len);
		sm_msg_abort(m);
		return m->error;
	}
	flush_chunk(m);
	put(m, ".\n", 2);
	close(m->wfd);
	m->wfd = -1;
	read_reply(m, reply);
	close(m->rfd);
	m->rfd = -1;
	int st = wait_child(m->pid);
	m->pid = -1;
	buf_free(&m->chunk);
	return map_status(st, reply);
}

void sm_msg_abort(struct sm_msg *m)
{
	if (m->wfd >= 0)
		close(m->wfd); /* EOF before ".": submit queues nothing */
	if (m->rfd >= 0)
		close(m->rfd);
	if (m->pid > 0)
		(void)wait_child(m->pid);
	m->wfd = m->rfd = -1;
	m->pid = -1;
	buf_free(&m->chunk);
	buf_free(&m->hdr);
	buf_free(&m->errmsg);
}
