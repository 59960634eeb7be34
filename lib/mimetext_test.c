/* Unit tests of lib/mimetext: encoded words, transfer encodings, charsets. */
#include "mimetext.h"

#include "buf.h"
#include "mime.h"
#include "unit.h"

#include <string.h>

TEST(mimetext_words)
{
	struct buf b = BUF_INIT;
	const char *v = "=?ISO-8859-1?Q?Andr=E9?= =?utf-8?B?w6k=?=  x =?bogus?X?y?= =?us-ascii*en?q?a_b?=";
	mimetext_header(&b, v, strlen(v));
	CHECK_BUF(b, "Andr\xc3\xa9\xc3\xa9  x =?bogus?X?y?= a b");
	buf_reset(&b);
	mimetext_header(&b, "plain\r\n folded", 14);
	CHECK_BUF(b, "plain folded");
	buf_reset(&b);
	mimetext_header(&b, "=?utf-8?B?", 10); /* truncated */
	CHECK_BUF(b, "=?utf-8?B?");
	buf_free(&b);
}

TEST(mimetext_charsets)
{
	struct buf b = BUF_INIT;
	mimetext_to_utf8(&b, "windows-1252", "\x80 caf\xe9", 6);
	CHECK_BUF(b, "\xe2\x82\xac caf\xc3\xa9");
	buf_reset(&b);
	mimetext_to_utf8(&b, "no-such-charset", "a\xff", 2);
	CHECK_MEM(b.data, b.len, "a\xff", 2);
	buf_reset(&b);
	mimetext_to_utf8(&b, "utf-16le", "a\0b", 3); /* truncated: the odd byte kept */
	CHECK(b.len >= 1 && b.data[0] == 'a');
	buf_free(&b);
}

TEST(mimetext_bodies)
{
	const char *msg = "Content-Type: multipart/mixed; boundary=b\n\n--b\n"
			  "Content-Type: text/plain; charset=iso-8859-1\n"
			  "Content-Transfer-Encoding: quoted-printable\n\nd=E9j=\n=E0\n--b\n"
			  "Content-Transfer-Encoding: base64\n\naGVsbG8=\n--b--\n";
	struct mime_msg m;
	struct buf b = BUF_INIT;
	mime_parse(&m, msg, strlen(msg));
	mimetext_body(&b, &m, 0);
	CHECK_BUF(b, "d\xc3\xa9j\xc3\xa0\nhello\n");
	CHECK(mimetext_contains(b.data, b.len, "HELLO", 5));
	CHECK(mimetext_contains(b.data, b.len, "D\xc3\xa9J", 4));
	CHECK(!mimetext_contains(b.data, b.len, "hellos", 6));
	CHECK(mimetext_contains(b.data, b.len, "", 0));
	mime_free(&m);
	buf_free(&b);
}
