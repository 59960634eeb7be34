/* binary: the decoded content of a MIME part for FETCH BINARY[...] and
 * BINARY.SIZE[...] (RFC 3516, part of IMAP4rev2). Trusts nothing: the part's
 * Content-Transfer-Encoding decides; base64 and quoted-printable are decoded
 * (lib/base64, lib/qp), 7bit, 8bit and binary go out as they are, anything
 * else is refused (UNKNOWN-CTE). Output is bounded by the part's size. */
#include "imapd.h"

#include "base64.h"
#include "mime.h"
#include "qp.h"

#include <string.h>
#include <strings.h>

/* The part's transfer encoding, lowercase and trimmed, in cte (max 31). */
static void part_cte(const struct mime_msg *m, const struct mime_part *pt, char *cte, size_t max)
{
	struct buf v = BUF_INIT;
	size_t n = 0;
	cte[0] = '\0';
	if (mime_header_get(m->data + pt->hdr_off, pt->hdr_len, "Content-Transfer-Encoding", &v)) {
		size_t i = 0;
		while (i < v.len && (v.data[i] == ' ' || v.data[i] == '\t'))
			i++;
		for (; i < v.len && n + 1 < max; i++) {
			char c = v.data[i];
			if (c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == ';' || c == '(')
				break;
			cte[n++] = (char)(c >= 'A' && c <= 'Z' ? c + 32 : c);
		}
		cte[n] = '\0';
	}
	buf_free(&v);
}

int binary_decode(const struct mime_msg *m, int part, struct buf *out)
{
	const struct mime_part *pt = &m->parts[part];
	const char *body = m->data + pt->body_off;
	char cte[32];
	buf_reset(out);
	part_cte(m, pt, cte, sizeof cte);
	if (cte[0] == '\0' || strcmp(cte, "7bit") == 0 || strcmp(cte, "8bit") == 0 ||
	    strcmp(cte, "binary") == 0) {
		buf_append(out, body, pt->body_len);
		return 0;
	}
	if (strcmp(cte, "base64") == 0) {
		struct base64_dec d;
		base64_dec_init(&d);
		base64_dec_feed(&d, out, body, pt->body_len);
		base64_dec_finish(&d, out, NULL);
		return 0;
	}
	if (strcmp(cte, "quoted-printable") == 0) {
		qp_decode(out, body, pt->body_len);
		return 0;
	}
	return -1;
}
