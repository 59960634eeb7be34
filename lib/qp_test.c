#include "buf.h"
#include "qp.h"
#include "unit.h"

#include <stdint.h>
#include <string.h>

static uint64_t rng_state = 0x13198a2e03707344ULL;
static uint64_t rng(void)
{
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 0x2545f4914f6cdd1dULL;
}

static void dec_at(int line, const char *in, size_t len, const char *want, size_t want_len)
{
	struct buf b = BUF_INIT;
	buf_append_str(&b, "<");
	qp_decode(&b, in, len);
	if (b.len != want_len + 1 || memcmp(b.data + 1, want, want_len) != 0) {
		unit_check_mem(__FILE__, line, "qp_decode", b.data + 1, b.len - 1, want, want_len);
	}
	buf_free(&b);
}
#define DEC(in, want) dec_at(__LINE__, in, sizeof(in) - 1, want, sizeof(want) - 1)

TEST(qp_decode_escapes_and_breaks)
{
	DEC("a=3Db", "a=b");
	DEC("a=3db", "a=b");
	DEC("=C3=A9t=c3=a9", "\xc3\xa9t\xc3\xa9");
	DEC("=00=FF", "\0\xff");
	DEC("abc=\r\ndef", "abcdef");
	DEC("abc=\ndef", "abcdef");
	DEC("abc= \t \r\ndef", "abcdef");
	DEC("abc=\t\ndef", "abcdef");
	DEC("line1\r\nline2\nline3", "line1\r\nline2\nline3");
	DEC("a=", "a");            /* soft break at the end */
	DEC("a=  ", "a");
	DEC("", "");
	DEC("=", "");
}

TEST(qp_decode_malformed_is_literal)
{
	DEC("a=XYb", "a=XYb");
	DEC("a=4Gb", "a=4Gb");
	DEC("a=4", "a=4");
	DEC("a=4\r\n", "a=4\r\n");
	DEC("a= x", "a= x");
	DEC("a= \tx ", "a= \tx");
	DEC("a=\rx", "a=\rx");
	DEC("a= \rx", "a= \rx");
	DEC("a=\r", "a=\r");
	DEC("a= \r", "a= \r");
	DEC("==41", "=A");
	DEC("=4=41", "=4A");
	DEC("a=\r=41", "a=\rA");
	DEC("=\0", "=\0");
	DEC("a\0b=00", "a\0b\0");
	DEC("\xff\x80=\xff", "\xff\x80=\xff");
}

TEST(qp_decode_strips_trailing_whitespace)
{
	DEC("abc  \r\ndef \t\n", "abc\r\ndef\n");
	DEC("abc   ", "abc");
	DEC("a b\tc", "a b\tc");
	DEC("a \rb", "a \rb");
	DEC("a \r", "a \r");
	DEC("abc =20\r\n", "abc  \r\n");
	DEC("abc=20 \r\n", "abc \r\n");
	DEC("  \r\n  \n", "\r\n\n");
	DEC("a \r\r\n", "a \r\r\n");
}

/* Feed in pieces (step 1, or random sizes when step is 0); compare with the
 * one-shot decoder. */
static void check_pieces(const char *in, size_t len, size_t step)
{
	struct buf one = BUF_INIT, many = BUF_INIT;
	struct qp_dec d;
	qp_decode(&one, in, len);
	qp_dec_init(&d);
	for (size_t i = 0; i < len;) {
		size_t n = step ? step : 1 + rng() % 20;
		if (n > len - i)
			n = len - i;
		qp_dec_feed(&d, &many, in + i, n);
		qp_dec_feed(&d, &many, in + i, 0);
		i += n;
	}
	qp_dec_finish(&d, &many);
	CHECK_MEM(many.data, many.len, one.data, one.len);
	buf_free(&one);
	buf_free(&many);
}

TEST(qp_incremental_matches_one_shot)
{
	static const char alphabet[] = "= \t\r\nA3fgz\0\xff";
	char in[200];
	for (int round = 0; round < 20000; round++) {
		size_t len = rng() % sizeof in;
		for (size_t i = 0; i < len; i++)
			in[i] = alphabet[rng() % (sizeof alphabet - 1)];
		check_pieces(in, len, 1);
		check_pieces(in, len, 0);
	}
}

TEST(qp_dec_abandon_and_reuse)
{
	struct qp_dec d;
	struct buf b = BUF_INIT;
	qp_dec_init(&d);
	qp_dec_feed(&d, &b, "abc    ", 7);
	qp_dec_free(&d); /* abandoned with whitespace pending: no leak */
	qp_dec_init(&d);
	qp_dec_feed(&d, &b, "=4", 2);
	qp_dec_feed(&d, &b, "1=", 2);
	qp_dec_feed(&d, &b, "\r", 1);
	qp_dec_feed(&d, &b, "\nx", 2);
	qp_dec_finish(&d, &b);
	CHECK_BUF(b, "abcAx");
	buf_free(&b);
}

static void enc_at(int line, const char *in, size_t len, unsigned flags, const char *want)
{
	struct buf b = BUF_INIT;
	qp_encode(&b, in, len, flags);
	unit_check_mem(__FILE__, line, "qp_encode", b.data, b.len, want, strlen(want));
	buf_free(&b);
}
#define ENC(in, flags, want) enc_at(__LINE__, in, sizeof(in) - 1, flags, want)

TEST(qp_encode_basics)
{
	ENC("", 0, "");
	ENC("a=b", 0, "a=3Db");
	ENC("h\xc3\xa9llo", 0, "h=C3=A9llo");
	ENC("a b\tc", 0, "a b\tc");
	ENC("abc \r\ndef\t\r\n", 0, "abc=20\r\ndef=09\r\n");
	ENC("abc ", 0, "abc=20");
	ENC("a\nb", 0, "a\r\nb");
	ENC("a\r\nb", QP_LF, "a\nb");
	ENC("a\rb", 0, "a=0Db");
	ENC("a\0b", 0, "a=00b");
	ENC("a\r\nb\n", QP_BINARY, "a=0D=0Ab=0A");
	ENC("~!\x7f", 0, "~!=7F");
}

TEST(qp_encode_line_length)
{
	char in[400];
	struct buf b = BUF_INIT, want = BUF_INIT;
	memset(in, 'a', sizeof in);
	qp_encode(&b, in, 76, 0); /* the last character may use column 76 */
	CHECK_INT(b.len, 76);
	buf_reset(&b);
	qp_encode(&b, in, 77, 0);
	buf_append(&want, in, 75);
	buf_append_str(&want, "=\r\naa");
	CHECK_MEM(b.data, b.len, want.data, want.len);
	/* an escape is never split */
	buf_reset(&b);
	buf_reset(&want);
	memcpy(in + 74, "\xc3\xa9", 2);
	qp_encode(&b, in, 76, 0);
	buf_append(&want, in, 74);
	buf_append_str(&want, "=\r\n=C3=A9");
	CHECK_MEM(b.data, b.len, want.data, want.len);
	/* every line of random data stays within 76 */
	for (size_t i = 0; i < sizeof in; i++)
		in[i] = (char)rng();
	for (unsigned flags = 0; flags < 4; flags++) {
		buf_reset(&b);
		qp_encode(&b, in, sizeof in, flags);
		size_t col = 0;
		for (size_t i = 0; i < b.len; i++) {
			if (b.data[i] == '\n') {
				col = 0;
				continue;
			}
			if (b.data[i] != '\r' || i + 1 == b.len || b.data[i + 1] != '\n')
				col++;
			CHECK(col <= QP_LINE);
			CHECK(b.data[i] == '\r' || b.data[i] == '\n' ||
			      (b.data[i] >= 32 && b.data[i] <= 126) || b.data[i] == '\t');
		}
	}
	buf_free(&b);
	buf_free(&want);
}

TEST(qp_round_trip_random)
{
	struct buf in = BUF_INIT, enc = BUF_INIT, dec = BUF_INIT;
	static const char pick[] = " \t\r\n=a.";
	for (int round = 0; round < 3000; round++) {
		size_t len = rng() % 400;
		buf_reset(&in);
		for (size_t i = 0; i < len; i++) {
			char c = rng() % 2 ? (char)rng() : pick[rng() % (sizeof pick - 1)];
			/* text mode turns a bare LF into CRLF: keep LFs paired */
			if (c == '\n' && (in.len == 0 || in.data[in.len - 1] != '\r'))
				c = 'x';
			buf_append_char(&in, c);
		}
		for (unsigned flags = 0; flags <= QP_BINARY; flags += QP_BINARY) {
			buf_reset(&enc);
			buf_reset(&dec);
			qp_encode(&enc, in.data, in.len, flags);
			qp_decode(&dec, enc.data, enc.len);
			CHECK_MEM(dec.data, dec.len, in.data, in.len);
			check_pieces(enc.data, enc.len, 1);
		}
	}
	buf_free(&in);
	buf_free(&enc);
	buf_free(&dec);
}

TEST(qp_one_megabyte)
{
	struct buf in = BUF_INIT, enc = BUF_INIT, dec = BUF_INIT;
	for (int i = 0; i < 1 << 20; i++)
		buf_append_char(&in, (char)rng());
	qp_encode(&enc, in.data, in.len, QP_BINARY);
	qp_decode(&dec, enc.data, enc.len);
	CHECK_MEM(dec.data, dec.len, in.data, in.len);
	check_pieces(enc.data, enc.len, 0);
	/* a 1 MB line of spaces is trailing whitespace: nothing comes out */
	buf_reset(&in);
	for (int i = 0; i < 1 << 20; i++)
		buf_append_char(&in, ' ');
	buf_reset(&dec);
	qp_decode(&dec, in.data, in.len);
	CHECK_INT(dec.len, 0);
	buf_append_char(&in, 'x');
	qp_decode(&dec, in.data, in.len);
	CHECK_INT(dec.len, (1 << 20) + 1);
	check_pieces(in.data, in.len, 1);
	/* 1 MB of '=' */
	buf_reset(&in);
	for (int i = 0; i < 1 << 20; i++)
		buf_append_char(&in, '=');
	buf_reset(&dec);
	qp_decode(&dec, in.data, in.len);
	CHECK_INT(dec.len, (1 << 20) - 1);
	buf_free(&in);
	buf_free(&enc);
	buf_free(&dec);
}

TEST(qp_q_encoding)
{
	struct buf b = BUF_INIT;
	const char *in = "Hello World_\xc3\xa9?=!*+-/(\"";
	qp_encode_q(&b, in, strlen(in));
	CHECK_BUF(b, "Hello_World=5F=C3=A9=3F=3D!*+-/=28=22");
	CHECK_INT(qp_encode_q_size(in, strlen(in)), b.len);
	buf_reset(&b);
	qp_decode_q(&b, "Hello_World=5F=c3=A9=3F", 23);
	CHECK_BUF(b, "Hello World_\xc3\xa9?");
	buf_reset(&b);
	qp_decode_q(&b, "a=Zb=4=", 7);
	CHECK_BUF(b, "a=Zb=4=");
	buf_reset(&b);
	qp_decode_q(&b, "=00\0_", 5);
	CHECK_MEM(b.data, b.len, "\0\0 ", 3);
	buf_reset(&b);
	for (int round = 0; round < 1000; round++) {
		char raw[64];
		size_t len = rng() % sizeof raw;
		for (size_t i = 0; i < len; i++)
			raw[i] = (char)rng();
		struct buf enc = BUF_INIT;
		qp_encode_q(&enc, raw, len);
		CHECK_INT(qp_encode_q_size(raw, len), enc.len);
		CHECK(memchr(enc.data ? enc.data : "", ' ', enc.len) == NULL);
		CHECK(memchr(enc.data ? enc.data : "", '?', enc.len) == NULL);
		buf_reset(&b);
		qp_decode_q(&b, enc.data, enc.len);
		CHECK_MEM(b.data, b.len, raw, len);
		buf_free(&enc);
	}
	buf_free(&b);
}
