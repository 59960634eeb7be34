/* mime: one front-to-back pass over a message in memory that records its
 * MIME tree as offsets (mime.h). Trusts nothing in the message; every loop is
 * bounded by the data, recursion by MIME_MAX_DEPTH, parts by MIME_MAX_PARTS. */
#include "mime.h"

#include "alloc.h"
#include "buf.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* The end of the line starting at off: after its LF, or end. */
static size_t line_end(const char *d, size_t off, size_t end)
{
	const char *nl = memchr(d + off, '\n', end - off);
	return nl ? (size_t)(nl - d) + 1 : end;
}

/* 1 if the line [off, e) is empty (just LF or CRLF). */
static int line_empty(const char *d, size_t off, size_t e)
{
	size_t n = e - off;
	return (n == 1 && d[off] == '\n') || (n == 2 && d[off] == '\r' && d[off + 1] == '\n');
}

static size_t header_length(const char *d, size_t off, size_t end)
{
	size_t p = off;
	while (p < end) {
		size_t e = line_end(d, p, end);
		if (line_empty(d, p, e))
			return e - off;
		p = e;
	}
	return end - off;
}

static int is_wsp(int c)
{
	return c == ' ' || c == '\t';
}

int mime_header_each(const char *hdr, size_t len, mime_field_fn fn, void *ctx)
{
	size_t p = 0;
	int fields = 0;
	while (p < len && fields < MIME_MAX_HEADER_LINES) {
		size_t e = line_end(hdr, p, len);
		if (line_empty(hdr, p, e))
			break;
		size_t start = p;
		p = e;
		while (p < len && is_wsp((unsigned char)hdr[p]))
			p = line_end(hdr, p, len);
		fields++;
		const char *colon = memchr(hdr + start, ':', e - start);
		if (colon == NULL || colon == hdr + start || is_wsp((unsigned char)hdr[start]))
			continue;
		size_t nlen = (size_t)(colon - (hdr + start));
		while (nlen > 0 && is_wsp((unsigned char)hdr[start + nlen - 1]))
			nlen--;
		size_t vstart = (size_t)(colon - hdr) + 1;
		size_t vend = p;
		if (vend > vstart && hdr[vend - 1] == '\n')
			vend--;
		if (vend > vstart && hdr[vend - 1] == '\r')
			vend--;
		int r = fn(hdr + start, nlen, hdr + vstart, vend - vstart, start, p - start, ctx);
		if (r != 0)
			return r;
	}
	return 0;
}

struct get_ctx {
	const char *name;
	struct buf *out;
};

static int get_fn(const char *name, size_t nlen, const char *v, size_t vlen, size_t foff,
		  size_t flen, void *ctx)
{
	struct get_ctx *g = ctx;
	(void)foff;
	(void)flen;
	if (strlen(g->name) != nlen || strncasecmp(name, g->name, nlen) != 0)
		return 0;
	for (size_t i = 0, start = 0; i <= vlen; i++)
		if (i == vlen || v[i] == '\r' || v[i] == '\n') {
			buf_append(g->out, v + start, i - start);
			start = i + 1;
		}
	size_t s = 0, e = g->out->len;
	while (s < e && is_wsp((unsigned char)g->out->data[s]))
		s++;
	while (e > s && is_wsp((unsigned char)g->out->data[e - 1]))
		e--;
	buf_truncate(g->out, e);
	buf_consume(g->out, s);
	return 1;
}

int mime_header_get(const char *hdr, size_t len, const char *name, struct buf *out)
{
	struct get_ctx g = { name, out };
	buf_reset(out);
	return mime_header_each(hdr, len, get_fn, &g);
}

/* Skip white space and (nested) comments. */
static size_t skip_cfws(const char *s, size_t p, size_t len)
{
	int depth = 0;
	while (p < len) {
		char c = s[p];
		if (depth > 0 && c == '\\' && p + 1 < len) {
			p += 2;
			continue;
		}
		if (c == '(')
			depth++;
		else if (c == ')' && depth > 0)
			depth--;
		else if (depth == 0 && !is_wsp((unsigned char)c) && c != '\r' && c != '\n')
			break;
		p++;
	}
	return p;
}

/* A token or quoted string at p into out (unquoted); returns the new p. */
static size_t take_value(const char *s, size_t p, size_t len, struct buf *out, const char *stops)
{
	if (p < len && s[p] == '"') {
		for (p++; p < len && s[p] != '"'; p++) {
			if (s[p] == '\\' && p + 1 < len)
				p++;
			if (s[p] != '\r' && s[p] != '\n')
				buf_append_char(out, s[p]);
		}
		return p < len ? p + 1 : p;
	}
	while (p < len && !strchr(stops, s[p]) && !is_wsp((unsigned char)s[p]) && s[p] != '\r' &&
	       s[p] != '\n' && s[p] != '(')
		buf_append_char(out, s[p++]);
	return p;
}

/* "name*0*" -> "name" (RFC 2231 sections and charset marks). */
static void strip_2231(struct buf *name)
{
	char *star = name->len ? memchr(name->data, '*', name->len) : NULL; /* data may be NULL */
	if (star != NULL)
		buf_truncate(name, (size_t)(star - name->data));
}

static void params_add(struct mime_params *p, struct buf *name, struct buf *value)
{
	for (int i = 0; i < p->count; i++)
		if (buf_eq_str(&p->names[i], buf_cstr(name))) {
			buf_append_buf(&p->values[i], value);
			return;
		}
	if (p->count >= MIME_MAX_PARAMS)
		return;
	p->names = xreallocarray(p->names, (size_t)p->count + 1, sizeof *p->names);
	p->values = xreallocarray(p->values, (size_t)p->count + 1, sizeof *p->values);
	buf_init(&p->names[p->count]);
	buf_init(&p->values[p->count]);
	buf_append_buf(&p->names[p->count], name);
	buf_append_buf(&p->values[p->count], value);
	p->count++;
}

void mime_params_parse(const char *s, size_t len, struct buf *main_value, struct mime_params *p)
{
	size_t i = skip_cfws(s, 0, len);
	struct buf name = BUF_INIT, value = BUF_INIT;
	memset(p, 0, sizeof *p);
	buf_reset(main_value);
	while (i < len && s[i] != ';') {
		if (s[i] == '(' ) {
			i = skip_cfws(s, i, len);
			continue;
		}
		if (!is_wsp((unsigned char)s[i]) && s[i] != '\r' && s[i] != '\n')
			buf_append_char(main_value, s[i]);
		i++;
	}
	while (i < len && s[i] == ';') {
		buf_reset(&name);
		buf_reset(&value);
		i = skip_cfws(s, i + 1, len);
		i = take_value(s, i, len, &name, "=;");
		i = skip_cfws(s, i, len);
		if (i < len && s[i] == '=') {
			i = skip_cfws(s, i + 1, len);
			i = take_value(s, i, len, &value, ";");
		}
		i = skip_cfws(s, i, len);
		while (i < len && s[i] != ';')
			i++;
		for (size_t k = 0; k < name.len; k++)
			if (name.data[k] >= 'A' && name.data[k] <= 'Z')
				name.data[k] = (char)(name.data[k] - 'A' + 'a');
		strip_2231(&name);
		if (name.len > 0)
			params_add(p, &name, &value);
	}
	buf_free(&name);
	buf_free(&value);
}

void mime_params_free(struct mime_params *p)
{
	for (int i = 0; i < p->count; i++) {
		buf_free(&p->names[i]);
		buf_free(&p->values[i]);
	}
	free(p->names);
	free(p->values);
	memset(p, 0, sizeof *p);
}

const struct buf *mime_params_get(const struct mime_params *p, const char *name)
{
	for (int i = 0; i < p->count; i++)
		if (buf_eq_str(&p->names[i], name))
			return &p->values[i];
	return NULL;
}

void mime_crlf(struct buf *out, const char *data, size_t len)
{
	size_t start = 0;
	buf_reserve(out, len);
	for (size_t i = 0; i < len; i++) {
		if (data[i] == '\n' && (i == 0 || data[i - 1] != '\r')) {
			buf_append(out, data + start, i - start);
			buf_append(out, "\r\n", 2);
			start = i + 1;
		}
	}
	buf_append(out, data + start, len - start);
}

static void set_name(char *dst, const char *s, size_t len)
{
	size_t n = len < MIME_TYPE_MAX - 1 ? len : MIME_TYPE_MAX - 1;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		dst[i] = (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
	}
	dst[n] = '\0';
}

/* Content-Type of part i into its type/subtype; the boundary into boundary. */
static void part_type(struct mime_msg *m, int i, int digest_child, struct buf *boundary)
{
	struct mime_part *pt = &m->parts[i];
	struct buf v = BUF_INIT, main_value = BUF_INIT;
	struct mime_params params;
	set_name(pt->type, digest_child ? "message" : "text", digest_child ? 7 : 4);
	set_name(pt->subtype, digest_child ? "rfc822" : "plain", digest_child ? 6 : 5);
	buf_reset(boundary);
	if (mime_header_get(m->data + pt->hdr_off, pt->hdr_len, "Content-Type", &v)) {
		mime_params_parse(v.data, v.len, &main_value, &params);
		const char *slash = memchr(main_value.data ? main_value.data : "", '/', main_value.len);
		if (slash != NULL && slash != main_value.data &&
		    (size_t)(slash - main_value.data) + 1 < main_value.len) {
			size_t tl = (size_t)(slash - main_value.data);
			set_name(pt->type, main_value.data, tl);
			set_name(pt->subtype, slash + 1, main_value.len - tl - 1);
		}
		const struct buf *b = mime_params_get(&params, "boundary");
		if (b != NULL)
			buf_append_buf(boundary, b);
		mime_params_free(&params);
	}
	buf_free(&v);
	buf_free(&main_value);
}

static int add_part(struct mime_msg *m, size_t off, size_t end, int parent, int depth)
{
	if (m->count == m->cap) {
		int ncap = m->cap ? m->cap * 2 : 8;
		m->parts = xreallocarray(m->parts, (size_t)ncap, sizeof *m->parts);
		m->cap = ncap;
	}
	int i = m->count++;
	struct mime_part *pt = &m->parts[i];
	memset(pt, 0, sizeof *pt);
	pt->hdr_off = off;
	pt->hdr_len = header_length(m->data, off, end);
	pt->body_off = off + pt->hdr_len;
	pt->body_len = end - pt->body_off;
	for (size_t p = pt->body_off; p < end; p = line_end(m->data, p, end))
		pt->body_lines++;
	pt->parent = parent;
	pt->first_child = pt->next = -1;
	pt->depth = depth;
	return i;
}

/* If the line [p, e) is a delimiter of boundary: 1, or 2 for the closing one. */
static int is_delimiter(const char *d, size_t p, size_t e, const struct buf *bd)
{
	if (e - p < bd->len + 2 || d[p] != '-' || d[p + 1] != '-' ||
	    memcmp(d + p + 2, bd->data, bd->len) != 0)
		return 0;
	size_t q = p + 2 + bd->len;
	int close = 0;
	if (e - q >= 2 && d[q] == '-' && d[q + 1] == '-') {
		close = 1;
		q += 2;
	}
	for (; q < e; q++)
		if (!is_wsp((unsigned char)d[q]) && d[q] != '\r' && d[q] != '\n')
			return 0;
	return close ? 2 : 1;
}

/* The end of a part's content before the delimiter line at p: without the line
 * end that belongs to the delimiter. */
static size_t before_delimiter(const char *d, size_t start, size_t p)
{
	if (p > start && d[p - 1] == '\n')
		p--;
	if (p > start && d[p - 1] == '\r')
		p--;
	return p;
}

static void parse_part(struct mime_msg *m, int i, int digest_child);

static void link_child(struct mime_msg *m, int parent, int child, int *last)
{
	if (*last < 0)
		m->parts[parent].first_child = child;
	else
		m->parts[*last].next = child;
	*last = child;
	m->parts[parent].nchildren++;
}

static void parse_children(struct mime_msg *m, int i, const struct buf *bd)
{
	const char *d = m->data;
	size_t end = m->parts[i].body_off + m->parts[i].body_len;
	size_t p = m->parts[i].body_off, start = 0;
	int in_part = 0, last = -1, digest = strcmp(m->parts[i].subtype, "digest") == 0;
	while (p < end) {
		size_t e = line_end(d, p, end);
		int kind = is_delimiter(d, p, e, bd);
		if (kind != 0) {
			if (in_part) {
				if (m->count >= MIME_MAX_PARTS) {
					m->truncated = 1;
					return;
				}
				int c = add_part(m, start, before_delimiter(d, start, p), i,
						 m->parts[i].depth + 1);
				link_child(m, i, c, &last);
				parse_part(m, c, digest);
			}
			if (kind == 2)
				return;
			in_part = 1;
			start = e;
		}
		p = e;
	}
	if (in_part && m->count < MIME_MAX_PARTS) {
		int c = add_part(m, start, end, i, m->parts[i].depth + 1);
		link_child(m, i, c, &last);
		parse_part(m, c, digest);
	}
}

static void parse_part(struct mime_msg *m, int i, int digest_child)
{
	struct buf bd = BUF_INIT;
	part_type(m, i, digest_child, &bd);
	struct mime_part *pt = &m->parts[i];
	if (pt->depth >= MIME_MAX_DEPTH || m->count >= MIME_MAX_PARTS) {
		m->truncated = 1;
	} else if (strcmp(pt->type, "multipart") == 0) {
		if (bd.len > 0 && bd.len <= MIME_BOUNDARY_MAX) {
			parse_children(m, i, &bd);
			m->parts[i].is_multipart = m->parts[i].nchildren > 0;
		}
	} else if (strcmp(pt->type, "message") == 0 &&
		   (strcmp(pt->subtype, "rfc822") == 0 || strcmp(pt->subtype, "global") == 0)) {
		size_t off = pt->body_off, end = pt->body_off + pt->body_len;
		int c = add_part(m, off, end, i, pt->depth + 1);
		m->parts[i].first_child = c;
		m->parts[i].nchildren = 1;
		m->parts[i].is_message = 1;
		parse_part(m, c, 0);
	}
	buf_free(&bd);
}

void mime_parse(struct mime_msg *m, const char *data, size_t len)
{
	memset(m, 0, sizeof *m);
	m->data = data;
	m->len = len;
	add_part(m, 0, len, -1, 0);
	parse_part(m, 0, 0);
}

void mime_free(struct mime_msg *m)
{
	free(m->parts);
	memset(m, 0, sizeof *m);
}
