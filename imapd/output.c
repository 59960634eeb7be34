/* output: IMAP responses into the io's output buffer (flushed once per
 * command by the main loop). Strings that are not safe to quote go out as
 * literals, so no client data can break the response syntax. */
#include "imapd.h"

#include "io.h"
#include "mutf7.h"

#include <stdarg.h>
#include <string.h>
#include <strings.h>

void out_data(struct session *s, const void *p, size_t n)
{
	if (s->capture != NULL)
		buf_append(s->capture, p, n);
	else
		io_write(s->io, p, n);
}

void out_str(struct session *s, const char *str)
{
	out_data(s, str, strlen(str));
}

/* One scratch buffer for formatting, reused so that building a large
 * response does not allocate per string (the process is single-threaded and
 * these functions do not nest). */
static struct buf scratch = BUF_INIT;

void out_fmt(struct session *s, const char *fmt, ...)
{
	va_list ap;
	buf_reset(&scratch);
	va_start(ap, fmt);
	buf_vprintf(&scratch, fmt, ap);
	va_end(ap);
	out_data(s, scratch.data, scratch.len);
}

static int quotable(const char *p, size_t n)
{
	if (n > 1024)
		return 0;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)p[i];
		if (c == 0 || c == '\r' || c == '\n' || c >= 0x80)
			return 0;
	}
	return 1;
}

void string_to_buf(struct buf *b, const char *p, size_t n)
{
	if (n == 0) { /* p may be NULL: no pointer arithmetic on it */
		buf_append_str(b, "\"\"");
		return;
	}
	if (quotable(p, n)) {
		size_t start = 0;
		buf_append_char(b, '"');
		for (size_t i = 0; i < n; i++) {
			if (p[i] == '"' || p[i] == '\\') {
				buf_append(b, p + start, i - start);
				buf_append_char(b, '\\');
				start = i;
			}
		}
		buf_append(b, p + start, n - start);
		buf_append_char(b, '"');
	} else {
		buf_printf(b, "{%zu}\r\n", n);
		buf_append(b, p, n);
	}
}

void out_string(struct session *s, const char *p, size_t n)
{
	buf_reset(&scratch);
	string_to_buf(&scratch, p, n);
	out_data(s, scratch.data, scratch.len);
}

void out_nstring(struct session *s, const char *p, size_t n)
{
	if (p == NULL)
		out_str(s, "NIL");
	else
		out_string(s, p, n);
}

void out_astring(struct session *s, const char *p, size_t n)
{
	int atom = n > 0 && n < 1024;
	for (size_t i = 0; atom && i < n; i++) {
		unsigned char c = (unsigned char)p[i];
		if (c <= 0x20 || c >= 0x7f || strchr("(){%*\"\\", c))
			atom = 0;
	}
	if (atom && !(n == 3 && strncasecmp(p, "NIL", 3) == 0))
		out_data(s, p, n);
	else
		out_string(s, p, n);
}

/* A mailbox name as the client expects it: modified UTF-7, or UTF-8 (in a
 * quoted string, RFC 6855 3) once the client enabled UTF-8. */
void out_mailbox(struct session *s, const char *name)
{
	struct buf u = BUF_INIT, q = BUF_INIT;
	size_t n = strlen(name);
	int plain = !SESSION_UTF8(s) || mutf7_decode(&u, name, n, NULL) < 0 || u.len > 1024;
	for (size_t i = 0; !plain && i < u.len; i++)
		plain = (unsigned char)u.data[i] < 0x20 || u.data[i] == 0x7f;
	if (plain) {
		out_astring(s, name, n);
	} else {
		buf_append_char(&q, '"');
		for (size_t i = 0; i < u.len; i++) {
			if (u.data[i] == '"' || u.data[i] == '\\')
				buf_append_char(&q, '\\');
			buf_append_char(&q, u.data[i]);
		}
		buf_append_char(&q, '"');
		out_data(s, q.data, q.len);
	}
	buf_free(&u);
	buf_free(&q);
}

static const struct {
	char letter;
	const char *name;
} system_flags[] = {
	{ 'R', "\\Answered" }, { 'F', "\\Flagged" }, { 'T', "\\Deleted" },
	{ 'S', "\\Seen" }, { 'D', "\\Draft" },
};

void out_flags(struct session *s, const struct mailbox *mb, const struct mdflags *f, int recent)
{
	const char *sep = "";
	out_str(s, "(");
	for (size_t i = 0; i < sizeof system_flags / sizeof system_flags[0]; i++)
		if (mdflags_has(f, system_flags[i].letter)) {
			out_fmt(s, "%s%s", sep, system_flags[i].name);
			sep = " ";
		}
	if (mb != NULL)
		for (int k = 0; k < mb->nkeywords && k < IMAPD_KEYWORDS; k++)
			if (mb->keywords[k] != NULL && mdflags_has(f, 'a' + k)) {
				out_fmt(s, "%s%s", sep, mb->keywords[k]);
				sep = " ";
			}
	if (recent && !s->rev2) /* IMAP4rev2 has no \Recent */
		out_fmt(s, "%s\\Recent", sep);
	out_str(s, ")");
}

void out_untagged(struct session *s, const char *fmt, ...)
{
	struct buf b = BUF_INIT;
	va_list ap;
	buf_append_str(&b, "* ");
	va_start(ap, fmt);
	buf_vprintf(&b, fmt, ap);
	va_end(ap);
	buf_append_str(&b, "\r\n");
	io_write(s->io, b.data, b.len);
	buf_free(&b);
}

void out_tagged(struct session *s, const char *status, const char *fmt, ...)
{
	struct buf b = BUF_INIT;
	va_list ap;
	buf_printf(&b, "%s %s ", s->tag, status);
	va_start(ap, fmt);
	buf_vprintf(&b, fmt, ap);
	va_end(ap);
	buf_append_str(&b, "\r\n");
	io_write(s->io, b.data, b.len);
	buf_free(&b);
}

void out_done(struct session *s, const char *status, const char *fmt, ...)
{
	struct buf b = BUF_INIT;
	va_list ap;
	if (s->sel != NULL)
		mailbox_sync(s, s->expunge_ok);
	buf_printf(&b, "%s %s ", s->tag, status);
	va_start(ap, fmt);
	buf_vprintf(&b, fmt, ap);
	va_end(ap);
	buf_append_str(&b, "\r\n");
	io_write(s->io, b.data, b.len);
	buf_free(&b);
}

void out_bad(struct session *s, const struct parser *ps)
{
	out_tagged(s, "BAD", "%s", ps->err ? ps->err : "Syntax error");
}
