/* Unit tests of pop3d/pop3.c: command splitting, numbers, CAPA, dot-stuffing
 * (fed whole and one byte at a time). */
#include "pop3.h"
#include "unit.h"

#include <stdint.h>
#include <string.h>

static void stuff(const char *in, size_t n, int limited, uint64_t lines, size_t piece,
		  struct buf *out)
{
	struct pop3_stuff s;
	buf_reset(out);
	pop3_stuff_init(&s, limited, lines);
	for (size_t i = 0; i < n; i += piece)
		pop3_stuff_feed(&s, in + i, n - i < piece ? n - i : piece, out);
	pop3_stuff_end(&s, out);
}

TEST(pop3_parse_commands)
{
	struct pop3_cmd c;
	CHECK_INT(pop3_parse("retr 1", 6, &c), 0);
	CHECK_STR(c.verb, "RETR");
	CHECK_MEM(c.arg, c.arglen, "1", 1);
	CHECK_INT(pop3_parse("PASS a b  c", 11, &c), 0);
	CHECK_MEM(c.arg, c.arglen, "a b  c", 6);
	CHECK_INT(pop3_parse("QUIT", 4, &c), 0);
	CHECK_INT(c.arglen, 0);
	CHECK_INT(pop3_parse("", 0, &c), -1);
	CHECK_INT(pop3_parse(" STAT", 5, &c), -1);
	CHECK_INT(pop3_parse("ST\0T", 4, &c), -1);
	CHECK_INT(pop3_parse("TOOLONGVERB", 11, &c), -1);
	CHECK_INT(pop3_parse("\xff\xfe", 2, &c), -1);
	CHECK_INT(pop3_parse("RE-TR", 5, &c), -1);
}

TEST(pop3_numbers_strict_and_saturating)
{
	uint64_t a = 0, b = 0;
	CHECK_INT(pop3_number("42", 2, &a), 0);
	CHECK_INT(a, 42);
	CHECK_INT(pop3_number("", 0, &a), -1);
	CHECK_INT(pop3_number("+1", 2, &a), -1);
	CHECK_INT(pop3_number("-1", 2, &a), -1);
	CHECK_INT(pop3_number("1 ", 2, &a), -1);
	CHECK_INT(pop3_number("99999999999999999999999", 23, &a), 0);
	CHECK(a == UINT64_MAX);
	CHECK_INT(pop3_number("18446744073709551616", 20, &a), 0);
	CHECK(a == UINT64_MAX);
	CHECK_INT(pop3_number("18446744073709551614", 20, &a), 0);
	CHECK(a == UINT64_MAX - 1);
	char many[60];
	memset(many, '1', sizeof many);
	CHECK_INT(pop3_number(many, sizeof many, &a), -1);
	CHECK_INT(pop3_numbers("3 10", 4, &a, &b), 2);
	CHECK_INT(a, 3);
	CHECK_INT(b, 10);
	CHECK_INT(pop3_numbers("3", 1, &a, &b), 1);
	CHECK_INT(pop3_numbers("3  10", 5, &a, &b), -1);
	CHECK_INT(pop3_numbers("3 x", 3, &a, &b), -1);
	CHECK_INT(pop3_numbers("3 1 2", 5, &a, &b), -1);
}

TEST(pop3_capa_lists)
{
	struct buf b = BUF_INIT;
	pop3_capa(&b, POP3_CAPA_LOGIN | POP3_CAPA_STLS, "PLAIN LOGIN");
	CHECK(strncmp(buf_cstr(&b), "+OK", 3) == 0);
	CHECK(strstr(buf_cstr(&b), "\r\nSTLS\r\n") != NULL);
	CHECK(strstr(buf_cstr(&b), "\r\nSASL PLAIN LOGIN\r\n") != NULL);
	CHECK(strstr(buf_cstr(&b), "\r\n.\r\n") == b.data + b.len - 5);
	buf_reset(&b);
	pop3_capa(&b, 0, NULL);
	CHECK(strstr(buf_cstr(&b), "USER") == NULL);
	CHECK(strstr(buf_cstr(&b), "STLS") == NULL);
	buf_free(&b);
}

TEST(pop3_stuff_retr)
{
	static const char in[] = "A: b\n\n.x\n..\nmid.\r\nbare\rcr\n.";
	static const char want[] = "A: b\r\n\r\n..x\r\n...\r\nmid.\r\nbare\rcr\r\n..\r\n.\r\n";
	struct buf out = BUF_INIT;
	for (size_t piece = 1; piece <= sizeof in; piece++) {
		stuff(in, sizeof in - 1, 0, 0, piece, &out);
		CHECK_BUF(out, want);
	}
	stuff("", 0, 0, 0, 1, &out);
	CHECK_BUF(out, ".\r\n");
	stuff("x\r", 2, 0, 0, 1, &out);
	CHECK_BUF(out, "x\r\n.\r\n");
	stuff("a\0b\n", 4, 0, 0, 1, &out);
	CHECK_MEM(out.data, out.len, "a\0b\r\n.\r\n", 8);
	buf_free(&out);
}

TEST(pop3_stuff_top)
{
	static const char in[] = "S: 1\r\nT: 2\n\nl1\n.l2\nl3\n";
	struct buf out = BUF_INIT;
	for (size_t piece = 1; piece <= sizeof in; piece++) {
		stuff(in, sizeof in - 1, 1, 0, piece, &out);
		CHECK_BUF(out, "S: 1\r\nT: 2\r\n\r\n.\r\n");
		stuff(in, sizeof in - 1, 1, 2, piece, &out);
		CHECK_BUF(out, "S: 1\r\nT: 2\r\n\r\nl1\r\n..l2\r\n.\r\n");
		stuff(in, sizeof in - 1, 1, UINT64_MAX, piece, &out);
		CHECK_BUF(out, "S: 1\r\nT: 2\r\n\r\nl1\r\n..l2\r\nl3\r\n.\r\n");
	}
	/* no blank line: the whole header */
	stuff("S: 1\nT: 2", 9, 1, 0, 3, &out);
	CHECK_BUF(out, "S: 1\r\nT: 2\r\n.\r\n");
	/* CRLF blank line */
	stuff("S: 1\r\n\r\nb\r\n", 11, 1, 0, 1, &out);
	CHECK_BUF(out, "S: 1\r\n\r\n.\r\n");
	buf_free(&out);
}
