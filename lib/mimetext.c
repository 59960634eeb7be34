/* mimetext: decoding for search (mimetext.h). Trusts nothing in the message;
 * iconv output is bounded, encoded words counted. */
#include "mimetext.h"

#include "alloc.h"
#include "base64.h"
#include "buf.h"
#include "mime.h"
#include "qp.h"

#include <errno.h>
#include <iconv.h>
#include <string.h>
#include <strings.h>

static int is_plain(const char *cs)
{
	return cs == NULL || *cs == '\0' || strcasecmp(cs, "utf-8") == 0 ||
	       strcasecmp(cs, "us-ascii") == 0 || strcasecmp(cs, "utf8") == 0;
}

void mimetext_to_utf8(struct buf *out, const char *charset, const char *data, size_t len)
{
	iconv_t cd = is_plain(charset) ? (iconv_t)-1 : iconv_open("UTF-8", charset);
	if (cd == (iconv_t)-1) {
		buf_append(out, data, len);
		return;
	}
	size_t room = len > ((size_t)-1 - 16) / MIMETEXT_MAX_EXPANSION ?
			      len : len * MIMETEXT_MAX_EXPANSION + 16;
	char *in = (char *)data, *dst = buf_space(out, room);
	size_t inleft = len, outleft = room;
	while (inleft > 0) {
		if (iconv(cd, &in, &inleft, &dst, &outleft) != (size_t)-1)
			break;
		if (errno == E2BIG || outleft < 4)
			break;
		/* an invalid or truncated sequence: keep the byte, go on */
		*dst++ = *in++;
		inleft--;
		outleft--;
	}
	buf_commit(out, room - outleft);
	iconv_close(cd);
}

/* One encoded word at s (len bytes, starting "=?"): its length, or 0. */
static size_t decode_word(struct buf *out, const char *s, size_t len)
{
	const char *end = s + len, *cs = s + 2;
	const char *q1 = memchr(cs, '?', (size_t)(end - cs));
	if (q1 == NULL || q1 == cs || end - q1 < 4 || q1[2] != '?')
		return 0;
	char enc = q1[1];
	const char *text = q1 + 3;
	const char *fin = text;
	while (fin + 1 < end && !(fin[0] == '?' && fin[1] == '='))
		fin++;
	if (fin + 1 >= end || (enc != 'B' && enc != 'b' && enc != 'Q' && enc != 'q'))
		return 0;
	struct buf raw = BUF_INIT, charset = BUF_INIT;
	buf_append(&charset, cs, (size_t)(q1 - cs));
	char *star = memchr(charset.data, '*', charset.len); /* RFC 2231 language */
	if (star != NULL)
		buf_truncate(&charset, (size_t)(star - charset.data));
	int ok = 1;
	if (enc == 'B' || enc == 'b')
		ok = base64_decode_mime(&raw, text, (size_t)(fin - text), NULL) == 0;
	else
		qp_decode_q(&raw, text, (size_t)(fin - text));
	if (ok)
		mimetext_to_utf8(out, buf_cstr(&charset), raw.data ? raw.data : "", raw.len);
	buf_free(&raw);
	buf_free(&charset);
	return ok ? (size_t)(fin + 2 - s) : 0;
}

void mimetext_header(struct buf *out, const char *value, size_t len)
{
	size_t i = 0, pending_ws = 0, words = 0;
	int last_word = 0;
	while (i < len) {
		char c = value[i];
		if (c == '\r' || c == '\n') {
			i++;
			continue;
		}
		if (c == ' ' || c == '\t') {
			size_t j = i;
			while (j < len && (value[j] == ' ' || value[j] == '\t' || value[j] == '\r' ||
					   value[j] == '\n'))
				j++;
			pending_ws = j - i;
			if (!(last_word && j + 1 < len && value[j] == '=' && value[j + 1] == '?'))
				buf_append(out, value + i, j - i);
			else
				pending_ws = j - i; /* dropped if another word follows */
			i = j;
			continue;
		}
		size_t n = 0;
		if (c == '=' && i + 1 < len && value[i + 1] == '?' && words < MIMETEXT_MAX_WORDS) {
			words++;
			n = decode_word(out, value + i, len - i);
		}
		if (n == 0) {
			if (last_word && pending_ws > 0 && c == '=')
				buf_append_char(out, ' ');
			buf_append_char(out, c);
			last_word = 0;
			i++;
		} else {
			last_word = 1;
			i += n;
		}
		pending_ws = 0;
	}
}

static void leaf_text(struct buf *out, const struct mime_msg *m, int i)
{
	const struct mime_part *pt = &m->parts[i];
	const char *hdr = m->data + pt->hdr_off, *body = m->data + pt->body_off;
	struct buf enc = BUF_INIT, ct = BUF_INIT, main_value = BUF_INIT, dec = BUF_INIT;
	struct mime_params params;
	mime_header_get(hdr, pt->hdr_len, "Content-Transfer-Encoding", &enc);
	if (buf_eq_str_nocase(&enc, "base64"))
		(void)base64_decode_mime(&dec, body, pt->body_len, NULL);
	else if (buf_eq_str_nocase(&enc, "quoted-printable"))
		qp_decode(&dec, body, pt->body_len);
	else
		buf_append(&dec, body, pt->body_len);
	const struct buf *cs = NULL;
	memset(&params, 0, sizeof params);
	if (strcmp(pt->type, "text") == 0 && mime_header_get(hdr, pt->hdr_len, "Content-Type", &ct)) {
		mime_params_parse(ct.data, ct.len, &main_value, &params);
		cs = mime_params_get(&params, "charset");
	}
	mimetext_to_utf8(out, cs ? buf_cstr((struct buf *)cs) : NULL, dec.data ? dec.data : "",
			 dec.len);
	buf_append_char(out, '\n');
	mime_params_free(&params);
	buf_free(&enc);
	buf_free(&ct);
	buf_free(&main_value);
	buf_free(&dec);
}

void mimetext_body(struct buf *out, const struct mime_msg *m, int i)
{
	const struct mime_part *pt = &m->parts[i];
	if (pt->is_multipart) {
		for (int c = pt->first_child; c >= 0; c = m->parts[c].next)
			mimetext_body(out, m, c);
	} else if (pt->is_message) {
		mimetext_body(out, m, pt->first_child);
	} else {
		leaf_text(out, m, i);
	}
}

static unsigned char fold(unsigned char c)
{
	return c >= 'A' && c <= 'Z' ? (unsigned char)(c - 'A' + 'a') : c;
}

int mimetext_contains(const char *hay, size_t hay_len, const char *needle, size_t needle_len)
{
	if (needle_len == 0)
		return 1;
	unsigned char first = fold((unsigned char)needle[0]);
	for (size_t i = 0; i + needle_len <= hay_len; i++) {
		if (fold((unsigned char)hay[i]) != first)
			continue;
		size_t k = 1;
		while (k < needle_len && fold((unsigned char)hay[i + k]) == fold((unsigned char)needle[k]))
			k++;
		if (k == needle_len)
			return 1;
	}
	return 0;
}
