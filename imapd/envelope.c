/* envelope: FETCH ENVELOPE and BODYSTRUCTURE from the MIME tree (mime.h).
 * Header values are untrusted: they go out as quoted strings or literals
 * (output.c), addresses through lib/addrlist, keeping invalid ones. */
#include "imapd.h"

#include "addrlist.h"
#include "mime.h"

#include <string.h>

static void out_hdr(struct session *s, const char *hdr, size_t len, const char *name)
{
	struct buf v = BUF_INIT;
	if (mime_header_get(hdr, len, name, &v))
		out_string(s, v.data ? v.data : "", v.len);
	else
		out_str(s, "NIL");
	buf_free(&v);
}

/* A display name without its quotes and escapes. */
static void unquote(const struct buf *in, struct buf *out)
{
	buf_reset(out);
	for (size_t i = 0; i < in->len; i++) {
		char c = in->data[i];
		if (c == '"')
			continue;
		if (c == '\\' && i + 1 < in->len)
			c = in->data[++i];
		buf_append_char(out, c);
	}
}

static int blank(const struct buf *v)
{
	for (size_t i = 0; i < v->len; i++)
		if (v->data[i] != ' ' && v->data[i] != '\t' && v->data[i] != '\r' && v->data[i] != '\n')
			return 0;
	return 1;
}

static void out_addresses(struct session *s, const char *hdr, size_t len, const char *name,
			  const char *fallback)
{
	struct buf v = BUF_INIT, dn = BUF_INIT;
	struct addrlist l = ADDRLIST_INIT;
	struct addrlist_opts o = { 0, 0, 0, ADDRLIST_KEEP_INVALID | ADDRLIST_GROUPS };
	int found = mime_header_get(hdr, len, name, &v);
	/* Sender and Reply-To absent or empty: From's (RFC 3501 7.4.2) */
	if (fallback != NULL && (!found || blank(&v)))
		found = mime_header_get(hdr, len, fallback, &v);
	if (!found || addrlist_parse(v.data ? v.data : "", v.len, &o, &l, NULL) != ADDRLIST_OK ||
	    l.count == 0) {
		out_str(s, "NIL");
		goto done;
	}
	out_str(s, "(");
	for (size_t i = 0; i < l.count; i++) {
		if (l.items[i].group != ADDRLIST_MAILBOX) { /* RFC 3501 7.4.2 */
			unquote(&l.items[i].name, &dn);
			out_str(s, "(NIL NIL ");
			if (l.items[i].group == ADDRLIST_GROUP_START)
				out_string(s, dn.data ? dn.data : "", dn.len);
			else
				out_str(s, "NIL");
			out_str(s, " NIL)");
			continue;
		}
		const struct buf *a = &l.items[i].address;
		const char *at = a->len ? memchr(a->data, '@', a->len) : NULL;
		const char *last_at = at;
		while (at != NULL) {
			last_at = at;
			at = memchr(at + 1, '@', (size_t)(a->data + a->len - at - 1));
		}
		unquote(&l.items[i].name, &dn);
		out_str(s, "(");
		if (dn.len)
			out_string(s, dn.data, dn.len);
		else
			out_str(s, "NIL");
		out_str(s, " ");
		if (l.items[i].route.len) /* at-domain-list */
			out_string(s, l.items[i].route.data, l.items[i].route.len);
		else
			out_str(s, "NIL");
		out_str(s, " ");
		if (last_at) {
			out_string(s, a->data, (size_t)(last_at - a->data));
			out_str(s, " ");
			out_string(s, last_at + 1, (size_t)(a->data + a->len - last_at - 1));
		} else {
			out_string(s, a->data ? a->data : "", a->len);
			out_str(s, " NIL");
		}
		out_str(s, ")");
	}
	out_str(s, ")");
done:
	addrlist_free(&l);
	buf_free(&v);
	buf_free(&dn);
}

void out_envelope(struct session *s, const char *data, size_t hdr_off, size_t hdr_len)
{
	const char *h = data + hdr_off;
	out_str(s, "(");
	out_hdr(s, h, hdr_len, "Date");
	out_str(s, " ");
	out_hdr(s, h, hdr_len, "Subject");
	out_str(s, " ");
	out_addresses(s, h, hdr_len, "From", NULL);
	out_str(s, " ");
	out_addresses(s, h, hdr_len, "Sender", "From");
	out_str(s, " ");
	out_addresses(s, h, hdr_len, "Reply-To", "From");
	out_str(s, " ");
	out_addresses(s, h, hdr_len, "To", NULL);
	out_str(s, " ");
	out_addresses(s, h, hdr_len, "Cc", NULL);
	out_str(s, " ");
	out_addresses(s, h, hdr_len, "Bcc", NULL);
	out_str(s, " ");
	out_hdr(s, h, hdr_len, "In-Reply-To");
	out_str(s, " ");
	out_hdr(s, h, hdr_len, "Message-ID");
	out_str(s, ")");
}

static void out_upper(struct session *s, const char *v)
{
	struct buf b = BUF_INIT;
	for (; *v; v++)
		buf_append_char(&b, (*v >= 'a' && *v <= 'z') ? (char)(*v - 'a' + 'A') : *v);
	out_string(s, b.data, b.len);
	buf_free(&b);
}

static void out_params(struct session *s, const struct mime_params *p)
{
	if (p->count == 0) {
		out_str(s, "NIL");
		return;
	}
	out_str(s, "(");
	for (int i = 0; i < p->count; i++) {
		if (i)
			out_str(s, " ");
		out_upper(s, buf_cstr(&p->names[i]));
		out_str(s, " ");
		out_string(s, p->values[i].data ? p->values[i].data : "", p->values[i].len);
	}
	out_str(s, ")");
}

static void out_disposition(struct session *s, const char *h, size_t hl)
{
	struct buf v = BUF_INIT, main_value = BUF_INIT;
	struct mime_params p;
	if (!mime_header_get(h, hl, "Content-Disposition", &v)) {
		out_str(s, "NIL");
	} else {
		mime_params_parse(v.data, v.len, &main_value, &p);
		out_str(s, "(");
		out_upper(s, buf_cstr(&main_value));
		out_str(s, " ");
		out_params(s, &p);
		out_str(s, ")");
		mime_params_free(&p);
	}
	buf_free(&v);
	buf_free(&main_value);
}

/* body-ext: disposition, language, location (after the type-specific part). */
static void out_ext_tail(struct session *s, const char *h, size_t hl)
{
	out_str(s, " ");
	out_disposition(s, h, hl);
	out_str(s, " ");
	out_hdr(s, h, hl, "Content-Language");
	out_str(s, " ");
	out_hdr(s, h, hl, "Content-Location");
}

static void out_leaf(struct session *s, const struct mime_msg *m, int i, int ext)
{
	const struct mime_part *pt = &m->parts[i];
	const char *h = m->data + pt->hdr_off;
	struct buf v = BUF_INIT, main_value = BUF_INIT, enc = BUF_INIT;
	struct mime_params p = { NULL, NULL, 0 };
	if (mime_header_get(h, pt->hdr_len, "Content-Type", &v))
		mime_params_parse(v.data, v.len, &main_value, &p);
	out_str(s, "(");
	out_upper(s, pt->type);
	out_str(s, " ");
	out_upper(s, pt->subtype);
	if (p.count == 0 && strcmp(pt->type, "text") == 0)
		out_str(s, " (\"CHARSET\" \"US-ASCII\") ");
	else {
		out_str(s, " ");
		out_params(s, &p);
		out_str(s, " ");
	}
	out_hdr(s, h, pt->hdr_len, "Content-ID");
	out_str(s, " ");
	out_hdr(s, h, pt->hdr_len, "Content-Description");
	out_str(s, " ");
	if (mime_header_get(h, pt->hdr_len, "Content-Transfer-Encoding", &enc) && enc.len)
		out_upper(s, buf_cstr(&enc));
	else
		out_str(s, "\"7BIT\"");
	out_fmt(s, " %zu", pt->body_len);
	if (pt->is_message) {
		int c = pt->first_child;
		out_str(s, " ");
		out_envelope(s, m->data, m->parts[c].hdr_off, m->parts[c].hdr_len);
		out_str(s, " ");
		out_bodystructure(s, m, c, ext);
		out_fmt(s, " %zu", pt->body_lines);
	} else if (strcmp(pt->type, "text") == 0) {
		out_fmt(s, " %zu", pt->body_lines);
	}
	if (ext) {
		out_str(s, " ");
		out_hdr(s, h, pt->hdr_len, "Content-MD5");
		out_ext_tail(s, h, pt->hdr_len);
	}
	out_str(s, ")");
	mime_params_free(&p);
	buf_free(&v);
	buf_free(&main_value);
	buf_free(&enc);
}

void out_bodystructure(struct session *s, const struct mime_msg *m, int i, int ext)
{
	const struct mime_part *pt = &m->parts[i];
	if (!pt->is_multipart)
		return out_leaf(s, m, i, ext);
	out_str(s, "(");
	for (int c = pt->first_child; c >= 0; c = m->parts[c].next)
		out_bodystructure(s, m, c, ext);
	out_str(s, " ");
	out_upper(s, pt->subtype);
	if (ext) {
		const char *h = m->data + pt->hdr_off;
		struct buf v = BUF_INIT, main_value = BUF_INIT;
		struct mime_params p = { NULL, NULL, 0 };
		if (mime_header_get(h, pt->hdr_len, "Content-Type", &v))
			mime_params_parse(v.data, v.len, &main_value, &p);
		out_str(s, " ");
		out_params(s, &p);
		out_ext_tail(s, h, pt->hdr_len);
		mime_params_free(&p);
		buf_free(&v);
		buf_free(&main_value);
	}
	out_str(s, ")");
}
