/* Unit tests of lib/mime: headers, parameters, the part tree and its bounds. */
#include "mime.h"

#include "alloc.h"
#include "buf.h"
#include "unit.h"

#include <stdlib.h>
#include <string.h>

TEST(mime_header_get_unfolds)
{
	const char *h = "From: a@b\r\nSubject: one\r\n  two\r\nX: y\r\n\r\nbody";
	struct buf v = BUF_INIT;
	CHECK_INT(mime_header_get(h, strlen(h), "subject", &v), 1);
	CHECK_BUF(v, "one  two");
	CHECK_INT(mime_header_get(h, strlen(h), "To", &v), 0);
	CHECK_INT(mime_header_get(h, strlen(h), "x", &v), 1);
	CHECK_BUF(v, "y");
	buf_free(&v);
}

TEST(mime_header_nul_and_garbage)
{
	const char h[] = "Bad line\nA: 1\0x\n: empty\nB:2\n\nrest";
	struct buf v = BUF_INIT;
	CHECK_INT(mime_header_get(h, sizeof h - 1, "a", &v), 1);
	CHECK_MEM(v.data, v.len, "1\0x", 3);
	CHECK_INT(mime_header_get(h, sizeof h - 1, "b", &v), 1);
	CHECK_BUF(v, "2");
	CHECK_INT(mime_header_get(h, sizeof h - 1, "rest", &v), 0);
	buf_free(&v);
}

TEST(mime_params)
{
	const char *s = " Text/Plain (c) ; Charset=\"utf-8\"; name*0=a; name*1=\"b c\"; x=\"q\\\"\"";
	struct buf main_value = BUF_INIT;
	struct mime_params p;
	mime_params_parse(s, strlen(s), &main_value, &p);
	CHECK_BUF(main_value, "Text/Plain");
	CHECK_INT(p.count, 3);
	CHECK_STR(buf_cstr((struct buf *)mime_params_get(&p, "charset")), "utf-8");
	CHECK_STR(buf_cstr((struct buf *)mime_params_get(&p, "name")), "ab c");
	CHECK_STR(buf_cstr((struct buf *)mime_params_get(&p, "x")), "q\"");
	CHECK(mime_params_get(&p, "y") == NULL);
	mime_params_free(&p);
	buf_free(&main_value);
}

/* An empty parameter name (its buffer never allocated) was scanned with
 * memchr(NULL, ...): undefined; found by fuzz/mime. */
TEST(mime_params_empty_name)
{
	const char *s = "text/plain; =x; =\"y\"; c=d";
	struct buf main_value = BUF_INIT;
	struct mime_params p;
	mime_params_parse(s, strlen(s), &main_value, &p);
	CHECK_BUF(main_value, "text/plain");
	CHECK(mime_params_get(&p, "c") != NULL);
	CHECK_STR(buf_cstr((struct buf *)mime_params_get(&p, "c")), "d");
	mime_params_free(&p);
	buf_free(&main_value);
}

TEST(mime_tree_multipart)
{
	const char *msg = "Content-Type: multipart/mixed; boundary=XX\n\npreamble\n--XX\n\none\n"
			  "--XX\nContent-Type: message/rfc822\n\nSubject: in\n\ninner\n--XX--\nepilogue\n";
	struct mime_msg m;
	mime_parse(&m, msg, strlen(msg));
	CHECK_INT(m.count, 4);
	CHECK_STR(m.parts[0].type, "multipart");
	CHECK_INT(m.parts[0].nchildren, 2);
	int c1 = m.parts[0].first_child, c2 = m.parts[c1].next;
	CHECK_STR(m.parts[c1].subtype, "plain");
	CHECK_MEM(msg + m.parts[c1].body_off, m.parts[c1].body_len, "one", 3);
	CHECK_STR(m.parts[c2].subtype, "rfc822");
	CHECK(m.parts[c2].is_message);
	int in = m.parts[c2].first_child;
	CHECK_MEM(msg + m.parts[in].body_off, m.parts[in].body_len, "inner", 5);
	CHECK_INT(m.parts[in].body_lines, 1);
	mime_free(&m);
}

TEST(mime_tree_missing_close_and_no_boundary)
{
	const char *msg = "Content-Type: multipart/alternative; boundary=\"b\"\r\n\r\n--b\r\n\r\nx\r\n";
	struct mime_msg m;
	mime_parse(&m, msg, strlen(msg));
	CHECK_INT(m.count, 2);
	CHECK_MEM(msg + m.parts[1].body_off, m.parts[1].body_len, "x\r\n", 3);
	mime_free(&m);
	const char *nob = "Content-Type: multipart/mixed\n\nhello\n";
	mime_parse(&m, nob, strlen(nob));
	CHECK_INT(m.count, 1);
	CHECK_INT(m.parts[0].is_multipart, 0);
	mime_free(&m);
	mime_parse(&m, "", 0);
	CHECK_INT(m.count, 1);
	CHECK_INT(m.parts[0].body_len, 0);
	mime_free(&m);
}

TEST(mime_depth_bounded)
{
	struct buf b = BUF_INIT;
	for (int i = 0; i < 5000; i++)
		buf_append_str(&b, "Content-Type: message/rfc822\n\n");
	buf_append_str(&b, "x\n");
	struct mime_msg m;
	mime_parse(&m, b.data, b.len);
	CHECK(m.truncated);
	CHECK_INT(m.count, MIME_MAX_DEPTH + 1);
	mime_free(&m);
	buf_free(&b);
}

TEST(mime_parts_bounded)
{
	struct buf b = BUF_INIT;
	buf_append_str(&b, "Content-Type: multipart/mixed; boundary=z\n\n");
	for (int i = 0; i < 3000; i++)
		buf_append_str(&b, "--z\n\np\n");
	struct mime_msg m;
	mime_parse(&m, b.data, b.len);
	CHECK(m.truncated);
	CHECK(m.count <= MIME_MAX_PARTS);
	mime_free(&m);
	buf_free(&b);
}

TEST(mime_crlf_conversion)
{
	struct buf b = BUF_INIT;
	mime_crlf(&b, "a\nb\r\nc\rd\n", 9);
	CHECK_BUF(b, "a\r\nb\r\nc\rd\r\n");
	buf_free(&b);
}
