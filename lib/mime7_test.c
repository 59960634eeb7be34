/* Unit tests of lib/mime7: the 7-bit downgrade of 8-bit messages. */
#define _GNU_SOURCE
#include "mime7.h"

#include "alloc.h"
#include "base64.h"
#include "buf.h"
#include "qp.h"
#include "unit.h"

#include <string.h>

/* Convert s; on success the output must be 7-bit and every line short. */
static int conv(const char *s, size_t len, struct buf *out, struct buf *why)
{
	buf_reset(out);
	buf_reset(why);
	int r = mime7_convert(s, len, out, why);
	if (r == 0) {
		CHECK(!mime7_is_8bit(out->data, out->len));
		CHECK_INT(why->len, 0);
	} else {
		CHECK_INT(r, -1);
		CHECK(strncmp(buf_cstr(why), "5.6.3 ", 6) == 0);
	}
	return r;
}

static int contains(const struct buf *b, const char *needle)
{
	return memmem(b->data, b->len, needle, strlen(needle)) != NULL;
}

/* The body of out after the first empty line (LF form). */
static const char *body_of(struct buf *out)
{
	const char *p = strstr(buf_cstr(out), "\n\n");
	return p ? p + 2 : "";
}

TEST(mime7_7bit_unchanged)
{
	const char *m = "From: a@b\nSubject: hi\n\nplain text\n.\n";
	struct buf out = BUF_INIT, why = BUF_INIT;
	CHECK_INT(conv(m, strlen(m), &out, &why), 0);
	CHECK_BUF(out, m);
	CHECK_INT(mime7_is_8bit(m, strlen(m)), 0);
	CHECK_INT(mime7_is_8bit("a\xc3\xa9", 3), 1);
	buf_free(&out);
	buf_free(&why);
}

TEST(mime7_plain_8bit_becomes_qp)
{
	const char *m = "From: a@b\nContent-Type: text/plain; charset=utf-8\n"
			"Content-Transfer-Encoding: 8bit\nSubject: x\n\ncaf\xc3\xa9 =\nline 2\n";
	struct buf out = BUF_INIT, why = BUF_INIT, dec = BUF_INIT;
	CHECK_INT(conv(m, strlen(m), &out, &why), 0);
	CHECK(!contains(&out, "8bit"));
	CHECK(contains(&out, "Subject: x\nMIME-Version: 1.0\n"
		       "Content-Transfer-Encoding: quoted-printable\n\n"));
	CHECK(contains(&out, "Content-Type: text/plain; charset=utf-8\n"));
	CHECK_STR(body_of(&out), "caf=C3=A9 =3D\nline 2\n");
	qp_decode(&dec, body_of(&out), strlen(body_of(&out)));
	CHECK_BUF(dec, "caf\xc3\xa9 =\nline 2\n");
	buf_free(&out);
	buf_free(&why);
	buf_free(&dec);
}

TEST(mime7_non_mime_gets_type_and_charset)
{
	struct buf out = BUF_INIT, why = BUF_INIT;
	const char *utf = "Subject: x\n\n\xc3\xa9t\xc3\xa9\n";
	CHECK_INT(conv(utf, strlen(utf), &out, &why), 0);
	CHECK_BUF(out, "Subject: x\nMIME-Version: 1.0\nContent-Type: text/plain; charset=utf-8\n"
		  "Content-Transfer-Encoding: quoted-printable\n\n=C3=A9t=C3=A9\n");
	const char *latin = "Subject: x\r\nMIME-Version: 1.0\r\n\r\n\xe9t\xe9\r\n";
	CHECK_INT(conv(latin, strlen(latin), &out, &why), 0);
	CHECK_BUF(out, "Subject: x\r\nMIME-Version: 1.0\r\n"
		  "Content-Type: text/plain; charset=unknown-8bit\r\n"
		  "Content-Transfer-Encoding: quoted-printable\r\n\r\n=E9t=E9\r\n");
	buf_free(&out);
	buf_free(&why);
}

TEST(mime7_multipart_parts)
{
	const char *m =
		"MIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=\"b 1\"\n"
		"Content-Transfer-Encoding: 8bit\n\npreamble \xff\n--b 1\n"
		"Content-Type: text/plain\n\nfirst part, 7 bit\n--b 1  \n"
		"Content-Type: text/html; charset=utf-8\nContent-Transfer-Encoding: 8bit\n\n"
		"<p>\xc3\xa9</p>\n--b 1\nContent-Type: application/octet-stream\n"
		"content-transfer-encoding : binary\n\n\x80\x81\nx\n--b 1--\nepilogue \xfe\n";
	struct buf out = BUF_INIT, why = BUF_INIT, dec = BUF_INIT;
	CHECK_INT(conv(m, strlen(m), &out, &why), 0);
	CHECK(contains(&out, "boundary=\"b 1\"\nContent-Transfer-Encoding: 7bit\n\npreamble ?\n"));
	CHECK(contains(&out, "--b 1\nContent-Type: text/plain\n\nfirst part, 7 bit\n--b 1  \n"));
	CHECK(contains(&out, "Content-Type: text/html; charset=utf-8\n"
		       "Content-Transfer-Encoding: quoted-printable\n\n<p>=C3=A9</p>\n--b 1\n"));
	CHECK(!contains(&out, "binary"));
	const char *b64 = strstr(buf_cstr(&out), "Content-Transfer-Encoding: base64\n\n");
	CHECK(b64 != NULL);
	b64 += strlen("Content-Transfer-Encoding: base64\n\n");
	const char *end = strstr(b64, "\n--b 1--\nepilogue ?\n");
	CHECK(end != NULL);
	CHECK_INT(base64_decode_mime(&dec, b64, (size_t)(end - b64), NULL), 0);
	CHECK_MEM(dec.data, dec.len, "\x80\x81\r\nx", 5);  /* canonical CRLF form */
	buf_free(&out);
	buf_free(&why);
	buf_free(&dec);
}

TEST(mime7_message_rfc822_and_digest)
{
	const char *m =
		"Content-Type: multipart/digest; boundary=d\n\n--d\n\n"
		"Subject: inner\n\n\xc3\xa9\n--d\nContent-Type: message/rfc822\n"
		"Content-Transfer-Encoding: 8bit\n\nSubject: two\nContent-Type: text/plain\n\n"
		"\xe2\x82\xac\n--d--\n";
	struct buf out = BUF_INIT, why = BUF_INIT;
	CHECK_INT(conv(m, strlen(m), &out, &why), 0);
	CHECK(contains(&out, "--d\n\nSubject: inner\nMIME-Version: 1.0\n"
		       "Content-Type: text/plain; charset=utf-8\n"
		       "Content-Transfer-Encoding: quoted-printable\n\n=C3=A9\n--d\n"));
	CHECK(contains(&out, "Content-Type: message/rfc822\nContent-Transfer-Encoding: 7bit\n\n"
		       "Subject: two\nContent-Type: text/plain\nMIME-Version: 1.0\n"
		       "Content-Transfer-Encoding: quoted-printable\n\n=E2=82=AC\n--d--\n"));
	buf_free(&out);
	buf_free(&why);
}

TEST(mime7_refusals)
{
	struct buf out = BUF_INIT, why = BUF_INIT;
	const char *hdr = "Subject: caf\xc3\xa9\n\nbody\n";
	CHECK_INT(conv(hdr, strlen(hdr), &out, &why), -1);
	CHECK(contains(&why, "header"));
	const char *folded = "Subject: a\n \xc3\xa9\n\nbody\n";
	CHECK_INT(conv(folded, strlen(folded), &out, &why), -1);
	const char *nobody = "Subject: a\nX: \xc3\xa9";  /* truncated: no empty line */
	CHECK_INT(conv(nobody, strlen(nobody), &out, &why), -1);
	const char *inner = "Content-Type: multipart/mixed; boundary=z\n\n--z\n"
			    "Content-Disposition: attachment; filename=\"\xc3\xa9.txt\"\n\nx\n--z--\n";
	CHECK_INT(conv(inner, strlen(inner), &out, &why), -1);
	CHECK(contains(&why, "header"));
	const char *b64 = "Content-Transfer-Encoding: base64\n\nQUJD\xff\n";
	CHECK_INT(conv(b64, strlen(b64), &out, &why), -1);
	CHECK(contains(&why, "base64"));
	const char *unk = "Content-Transfer-Encoding: x-uuencode\n\n\xff\n";
	CHECK_INT(conv(unk, strlen(unk), &out, &why), -1);
	const char *nob = "Content-Type: multipart/mixed\n\n--x\n\n\xff\n--x--\n";
	CHECK_INT(conv(nob, strlen(nob), &out, &why), -1);
	CHECK(contains(&why, "boundary"));
	buf_free(&out);
	buf_free(&why);
}

static void nested(struct buf *m, int levels, const char *leaf)
{
	for (int i = 0; i < levels; i++)
		buf_printf(m, "Content-Type: multipart/mixed; boundary=b%d\n\n--b%d\n", i, i);
	buf_append_str(m, leaf);
	for (int i = levels - 1; i >= 0; i--)
		buf_printf(m, "\n--b%d--\n", i);
}

TEST(mime7_depth_bounded)
{
	struct buf m = BUF_INIT, out = BUF_INIT, why = BUF_INIT;
	nested(&m, MIME7_MAX_DEPTH, "\n\xc3\xa9");
	CHECK_INT(conv(m.data, m.len, &out, &why), 0);
	CHECK(contains(&out, "\n\n=C3=A9\n--b19--\n"));
	buf_reset(&m);
	nested(&m, MIME7_MAX_DEPTH + 1, "\n\xc3\xa9");
	CHECK_INT(conv(m.data, m.len, &out, &why), -1);
	CHECK(contains(&why, "deeply"));
	buf_reset(&m);
	nested(&m, 5000, "\nplain");  /* 7-bit: copied, never entered */
	CHECK_INT(conv(m.data, m.len, &out, &why), 0);
	CHECK_MEM(out.data, out.len, m.data, m.len);
	buf_free(&m);
	buf_free(&out);
	buf_free(&why);
}

TEST(mime7_parts_bounded)
{
	struct buf m = BUF_INIT, out = BUF_INIT, why = BUF_INIT;
	buf_append_str(&m, "Content-Type: multipart/mixed; boundary=p\n\n");
	for (int i = 0; i < MIME7_MAX_PARTS + 5; i++)
		buf_append_str(&m, "--p\n\n\xc3\xa9\n");
	buf_append_str(&m, "--p--\n");
	CHECK_INT(conv(m.data, m.len, &out, &why), -1);
	CHECK(contains(&why, "too many"));
	buf_reset(&m);
	buf_append_str(&m, "Content-Type: multipart/mixed; boundary=p\n\n");
	for (int i = 0; i < MIME7_MAX_PARTS + 5; i++)
		buf_append_str(&m, "--p\n\nascii\n");
	buf_append_str(&m, "--p\n\n\xc3\xa9\n--p--\n");
	CHECK_INT(conv(m.data, m.len, &out, &why), 0);
	buf_free(&m);
	buf_free(&out);
	buf_free(&why);
}

TEST(mime7_hostile_bodies)
{
	struct buf m = BUF_INIT, out = BUF_INIT, why = BUF_INIT, dec = BUF_INIT;
	/* one 200,000-byte 8-bit line with NULs and CRs: short lines out */
	buf_append_str(&m, "Subject: long\n\n");
	size_t body = m.len;
	for (int i = 0; i < 200000; i++)
		buf_append_char(&m, (char)(i % 7 == 0 ? 0 : i % 11 == 0 ? '\r' : 0x80 + i % 50));
	CHECK_INT(conv(m.data, m.len, &out, &why), 0);
	const char *b = body_of(&out);
	for (const char *nl; (nl = strchr(b, '\n')) != NULL; b = nl + 1)
		CHECK((size_t)(nl - b) <= QP_LINE);
	b = body_of(&out);
	qp_decode(&dec, b, out.len - (size_t)(b - out.data));
	CHECK_MEM(dec.data, dec.len, m.data + body, m.len - body);
	/* an unterminated multipart: the last part runs to the end */
	const char *open = "Content-Type: multipart/mixed; boundary=q\n\n--q\n\n\xc3\xa9";
	CHECK_INT(conv(open, strlen(open), &out, &why), 0);
	CHECK(contains(&out, "--q\nMIME-Version") == 0);
	CHECK(contains(&out, "--q\nContent-Type: text/plain; charset=utf-8\n"
		       "Content-Transfer-Encoding: quoted-printable\n\n=C3=A9"));
	/* a multipart whose boundary never occurs: the body is preamble */
	const char *none = "Content-Type: multipart/mixed; boundary=q\n\n\xc3\xa9\n";
	CHECK_INT(conv(none, strlen(none), &out, &why), 0);
	CHECK(contains(&out, "\n\n??\n"));
	/* empty input and an 8-bit body with an empty header */
	CHECK_INT(conv("", 0, &out, &why), 0);
	CHECK_INT(out.len, 0);
	CHECK_INT(conv("\n\xc3\xa9", 3, &out, &why), 0);
	CHECK_BUF(out, "MIME-Version: 1.0\nContent-Type: text/plain; charset=utf-8\n"
		  "Content-Transfer-Encoding: quoted-printable\n\n=C3=A9");
	buf_free(&m);
	buf_free(&out);
	buf_free(&why);
	buf_free(&dec);
}
