/* mime7: 8-bit MIME entities re-encoded as 7-bit (see mime7.h). One pass
 * per nesting level; each entity is scanned for 8-bit bytes once before it
 * is entered, so the work is at most MIME7_MAX_DEPTH times the message.
 * Trusts nothing in the message. */
#include "mime7.h"

#include "base64.h"
#include "buf.h"
#include "mime.h"
#include "qp.h"
#include "utf8.h"

#include <string.h>
#include <strings.h>

struct m7 {
	struct buf *out, *why;
	size_t entities;
};

/* What an entity's header says. */
struct m7_ent {
	size_t hlen;          /* the header with its empty line, or the whole entity */
	size_t blank;         /* offset of the empty line (hlen if there is none) */
	int has_type, has_version;
	struct buf type;      /* "text/plain", lowercase */
	struct buf cte;       /* lowercase; empty if absent */
	struct buf boundary;
	const char *eol;      /* "\n" or "\r\n", as the header's empty line */
};

static int m7_entity(struct m7 *st, const char *s, size_t len, int depth, const char *deftype,
		     int msg);

int mime7_is_8bit(const void *data, size_t len)
{
	const unsigned char *p = data;
	for (size_t i = 0; i < len; i++)
		if (p[i] & 0x80)
			return 1;
	return 0;
}

static size_t m7_line_end(const char *s, size_t p, size_t len)
{
	const char *nl = memchr(s + p, '\n', len - p);
	return nl ? (size_t)(nl - s) + 1 : len;
}

static int m7_line_empty(const char *s, size_t p, size_t e)
{
	return (e - p == 1 && s[p] == '\n') || (e - p == 2 && s[p] == '\r' && s[p + 1] == '\n');
}

static int m7_fail(struct m7 *st, const char *reason)
{
	buf_error(st->why, "5.6.3 the message has 8-bit content and the server does not "
		  "offer 8BITMIME; it cannot be converted to 7 bit: %s", reason);
	return -1;
}

static void m7_lower(struct buf *b)
{
	for (size_t i = 0; i < b->len; i++)
		if (b->data[i] >= 'A' && b->data[i] <= 'Z')
			b->data[i] = (char)(b->data[i] + 32);
}

static void m7_header(const char *s, size_t len, struct m7_ent *e)
{
	size_t p = 0;
	e->blank = len;
	e->hlen = len;
	e->eol = "\n";
	while (p < len) {
		size_t end = m7_line_end(s, p, len);
		if (m7_line_empty(s, p, end)) {
			e->blank = p;
			e->hlen = end;
			e->eol = end - p == 2 ? "\r\n" : "\n";
			break;
		}
		p = end;
	}
	struct buf v = BUF_INIT;
	struct mime_params params;
	e->has_type = mime_header_get(s, e->blank, "content-type", &v);
	mime_params_parse(v.data ? v.data : "", v.len, &e->type, &params);
	m7_lower(&e->type);
	const struct buf *b = mime_params_get(&params, "boundary");
	if (b)
		buf_append_buf(&e->boundary, b);
	mime_params_free(&params);
	e->has_version = mime_header_get(s, e->blank, "mime-version", &v);
	mime_header_get(s, e->blank, "content-transfer-encoding", &e->cte);
	m7_lower(&e->cte);
	buf_free(&v);
}

static void m7_ent_free(struct m7_ent *e)
{
	buf_free(&e->type);
	buf_free(&e->cte);
	buf_free(&e->boundary);
}

static int m7_is_cte_field(const char *s, size_t len)
{
	static const char name[] = "content-transfer-encoding";
	size_t n = sizeof(name) - 1;
	if (len <= n || strncasecmp(s, name, n) != 0)
		return 0;
	for (size_t i = n; i < len; i++)
		if (s[i] == ':')
			return 1;
		else if (s[i] != ' ' && s[i] != '\t')
			return 0;
	return 0;
}

/* The header fields without Content-Transfer-Encoding; the caller adds its
 * own lines and then the empty line. */
static void m7_copy_fields(struct m7 *st, const char *s, const struct m7_ent *e)
{
	size_t p = 0;
	while (p < e->blank) {
		size_t f = p;
		p = m7_line_end(s, p, e->blank);
		while (p < e->blank && (s[p] == ' ' || s[p] == '\t'))
			p = m7_line_end(s, p, e->blank);
		if (!m7_is_cte_field(s + f, p - f))
			buf_append(st->out, s + f, p - f);
	}
	if (e->blank > 0 && s[e->blank - 1] != '\n')
		buf_append_str(st->out, e->eol);  /* a last field without its line end */
}

static void m7_add_field(struct m7 *st, const struct m7_ent *e, const char *field)
{
	buf_append_str(st->out, field);
	buf_append_str(st->out, e->eol);
}

static void m7_sanitized(struct m7 *st, const char *s, size_t len)
{
	size_t at = st->out->len;
	buf_append(st->out, s, len);
	for (size_t i = at; i < st->out->len; i++)
		if ((unsigned char)st->out->data[i] & 0x80)
			st->out->data[i] = '?';
}

/* "--boundary" with optional "--" and transport padding: 1 delimiter,
 * 2 close delimiter, 0 neither. */
static int m7_delimiter(const char *s, size_t len, const struct buf *b)
{
	while (len > 0 && (s[len - 1] == '\n' || s[len - 1] == '\r'))
		len--;
	if (len < 2 + b->len || s[0] != '-' || s[1] != '-' || memcmp(s + 2, b->data, b->len))
		return 0;
	size_t p = 2 + b->len;
	int close = len - p >= 2 && s[p] == '-' && s[p + 1] == '-';
	for (p += close ? 2 : 0; p < len; p++)
		if (s[p] != ' ' && s[p] != '\t')
			return 0;
	return close ? 2 : 1;
}

/* Where the part before a delimiter line at pos ends: the line break
 * before the delimiter belongs to the delimiter (RFC 2046 5.1.1). */
static size_t m7_part_end(const char *b, size_t start, size_t pos)
{
	size_t e = pos;
	if (e > start && b[e - 1] == '\n')
		e--;
	if (e > start && b[e - 1] == '\r')
		e--;
	return e;
}

static int m7_multipart(struct m7 *st, const char *b, size_t len, const struct m7_ent *e,
			int depth)
{
	const char *child = strcmp(buf_cstr((struct buf *)&e->type), "multipart/digest") == 0 ?
			    "message/rfc822" : "text/plain";
	size_t pos = 0, copied = 0, part = 0;
	int in_part = 0;
	while (pos < len) {
		size_t end = m7_line_end(b, pos, len);
		int d = m7_delimiter(b + pos, end - pos, &e->boundary);
		if (d) {
			size_t pe = m7_part_end(b, in_part ? part : copied, pos);
			if (in_part && m7_entity(st, b + part, pe - part, depth + 1, child, 0) < 0)
				return -1;
			if (!in_part)
				m7_sanitized(st, b + copied, pe - copied);
			buf_append(st->out, b + pe, end - pe);
			copied = part = end;
			in_part = 1;
			if (d == 2) {
				m7_sanitized(st, b + end, len - end);  /* the epilogue */
				return 0;
			}
		}
		pos = end;
	}
	if (in_part)  /* no close delimiter: the last part runs to the end */
		return m7_entity(st, b + part, len - part, depth + 1, child, 0);
	m7_sanitized(st, b, len);
	return 0;
}

static int m7_leaf(struct m7 *st, const char *s, size_t len, const struct m7_ent *e,
		   const char *deftype, int msg)
{
	const char *cte = buf_cstr((struct buf *)&e->cte);
	if (strcmp(cte, "base64") == 0 || strcmp(cte, "quoted-printable") == 0)
		return m7_fail(st, "8-bit bytes in a body encoded as base64 or quoted-printable");
	if (*cte && strcmp(cte, "7bit") && strcmp(cte, "8bit") && strcmp(cte, "binary"))
		return m7_fail(st, "8-bit bytes under an unknown Content-Transfer-Encoding");
	const char *type = e->has_type ? buf_cstr((struct buf *)&e->type) : deftype;
	const char *body = s + e->hlen;
	size_t blen = len - e->hlen;
	int text = strncmp(type, "text/", 5) == 0;
	m7_copy_fields(st, s, e);
	if (msg && !e->has_version)
		m7_add_field(st, e, "MIME-Version: 1.0");
	if (!e->has_type && strcmp(deftype, "text/plain") == 0)
		m7_add_field(st, e, utf8_valid(body, blen) ? "Content-Type: text/plain; "
			     "charset=utf-8" : "Content-Type: text/plain; charset=unknown-8bit");
	m7_add_field(st, e, text ? "Content-Transfer-Encoding: quoted-printable" :
		     "Content-Transfer-Encoding: base64");
	buf_append_str(st->out, e->eol);
	int crlf = strcmp(e->eol, "\r\n") == 0;
	if (text) {
		qp_encode(st->out, body, blen, crlf ? 0 : QP_LF);
	} else {
		struct buf canon = BUF_INIT;
		mime_crlf(&canon, body, blen);  /* the canonical form has CRLF lines */
		base64_encode(st->out, canon.data, canon.len, crlf ? BASE64_WRAP_CRLF :
			      BASE64_WRAP_LF);
		buf_free(&canon);
	}
	return 0;
}

/* A container (multipart, message/rfc822): its own encoding becomes 7bit. */
static void m7_container_header(struct m7 *st, const char *s, const struct m7_ent *e)
{
	m7_copy_fields(st, s, e);
	if (e->cte.len)
		m7_add_field(st, e, "Content-Transfer-Encoding: 7bit");
	buf_append(st->out, s + e->blank, e->hlen - e->blank);
}

static int m7_entity_8bit(struct m7 *st, const char *s, size_t len, int depth,
			  const char *deftype, int msg, struct m7_ent *e)
{
	m7_header(s, len, e);
	if (mime7_is_8bit(s, e->blank))
		return m7_fail(st, "8-bit characters in a header field");
	const char *type = e->has_type ? buf_cstr(&e->type) : deftype;
	const char *body = s + e->hlen;
	size_t blen = len - e->hlen;
	if (strncmp(type, "multipart/", 10) == 0) {
		if (e->boundary.len == 0 || e->boundary.len > MIME_BOUNDARY_MAX)
			return m7_fail(st, "a multipart without a usable boundary");
		m7_container_header(st, s, e);
		return m7_multipart(st, body, blen, e, depth);
	}
	if (strcmp(type, "message/rfc822") == 0) {
		m7_container_header(st, s, e);
		return m7_entity(st, body, blen, depth + 1, "text/plain", 1);
	}
	return m7_leaf(st, s, len, e, deftype, msg);
}

static int m7_entity(struct m7 *st, const char *s, size_t len, int depth, const char *deftype,
		     int msg)
{
	if (!mime7_is_8bit(s, len)) {
		buf_append(st->out, s, len);
		return 0;
	}
	if (depth > MIME7_MAX_DEPTH)
		return m7_fail(st, "MIME parts nested too deeply");
	if (++st->entities > MIME7_MAX_PARTS)
		return m7_fail(st, "too many MIME parts");
	struct m7_ent e;
	memset(&e, 0, sizeof(e));
	int r = m7_entity_8bit(st, s, len, depth, deftype, msg, &e);
	m7_ent_free(&e);
	return r;
}

int mime7_convert(const char *data, size_t len, struct buf *out, struct buf *why)
{
	struct m7 st = { out, why, 0 };
	return m7_entity(&st, data, len, 0, "text/plain", 1);
}
