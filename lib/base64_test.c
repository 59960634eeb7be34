#include "base64.h"
#include "buf.h"
#include "unit.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static uint64_t rng_state = 0x243f6a8885a308d3ULL;
static uint64_t rng(void)
{
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 0x2545f4914f6cdd1dULL;
}

static void random_bytes(struct buf *b, size_t len)
{
	buf_reset(b);
	char *w = buf_space(b, len);
	for (size_t i = 0; i < len; i++)
		w[i] = (char)rng();
	buf_commit(b, len);
}

static const char *const vectors[][2] = {
	{ "", "" }, { "f", "Zg==" }, { "fo", "Zm8=" }, { "foo", "Zm9v" },
	{ "foob", "Zm9vYg==" }, { "fooba", "Zm9vYmE=" }, { "foobar", "Zm9vYmFy" },
};

TEST(base64_rfc4648_vectors)
{
	struct buf b = BUF_INIT;
	const char *err = NULL;
	for (size_t i = 0; i < sizeof vectors / sizeof vectors[0]; i++) {
		buf_reset(&b);
		base64_encode(&b, vectors[i][0], strlen(vectors[i][0]), BASE64_NOWRAP);
		CHECK_BUF(b, vectors[i][1]);
		buf_reset(&b);
		CHECK_INT(base64_decode_strict(&b, vectors[i][1], strlen(vectors[i][1]), &err), 0);
		CHECK_BUF(b, vectors[i][0]);
		buf_reset(&b);
		CHECK_INT(base64_decode_mime(&b, vectors[i][1], strlen(vectors[i][1]), &err), 0);
		CHECK_BUF(b, vectors[i][0]);
	}
	buf_reset(&b);
	base64_encode(&b, "\xfb\xff\xbf", 3, BASE64_NOWRAP);
	CHECK_BUF(b, "+/+/");
	buf_free(&b);
}

TEST(base64_encode_wraps)
{
	struct buf in = BUF_INIT, b = BUF_INIT;
	base64_encode(&b, "", 0, BASE64_WRAP_CRLF);
	CHECK_INT(b.len, 0);
	random_bytes(&in, 57); /* exactly one line */
	base64_encode(&b, in.data, in.len, BASE64_WRAP_CRLF);
	CHECK_INT(b.len, 78);
	CHECK(memcmp(b.data + 76, "\r\n", 2) == 0);
	buf_reset(&b);
	random_bytes(&in, 58);
	base64_encode(&b, in.data, in.len, BASE64_WRAP_LF);
	CHECK_INT(b.len, 76 + 1 + 4 + 1);
	CHECK(b.data[76] == '\n' && b.data[81] == '\n');
	CHECK(memcmp(b.data + 79, "==", 2) == 0);
	buf_reset(&b);
	random_bytes(&in, 1000);
	base64_encode(&b, in.data, in.len, BASE64_WRAP_CRLF);
	for (size_t line = 0, i = 0; i < b.len; line++) {
		const char *nl = memchr(b.data + i, '\r', b.len - i);
		CHECK(nl != NULL && nl[1] == '\n');
		CHECK((size_t)(nl - (b.data + i)) <= BASE64_LINE);
		i = (size_t)(nl - b.data) + 2;
	}
	buf_free(&in);
	buf_free(&b);
}

static void strict_bad(int line, const char *s, size_t len, const char *want)
{
	struct buf b = BUF_INIT;
	const char *err = NULL;
	buf_set_str(&b, "keep");
	if (base64_decode_strict(&b, s, len, &err) == 0)
		unit_fail(__FILE__, line, "\"%s\" accepted", s);
	if (err == NULL || strstr(err, want) == NULL)
		unit_fail(__FILE__, line, "\"%s\": error %s, want %s", s, err ? err : "(null)", want);
	CHECK_BUF(b, "keep");
	CHECK(b.data[b.len] == '\0');
	buf_free(&b);
}
#define STRICT_BAD(s, e) strict_bad(__LINE__, s, sizeof(s) - 1, e)

TEST(base64_strict_rejects)
{
	STRICT_BAD("Zg=", "multiple of 4");
	STRICT_BAD("Zg", "multiple of 4");
	STRICT_BAD("Zm9vY", "multiple of 4");
	STRICT_BAD("Zg=a", "after padding");
	STRICT_BAD("Z===", "invalid character");
	STRICT_BAD("====", "invalid character");
	STRICT_BAD("Zg==Zm9v", "invalid character");
	STRICT_BAD("Zh==", "non-canonical");
	STRICT_BAD("Zm9=", "non-canonical");
	STRICT_BAD("Zm9v\r\n", "multiple of 4");
	STRICT_BAD("Zm9v    ", "invalid character");
	STRICT_BAD(" Zm9v   ", "invalid character");
	STRICT_BAD("Zm\0v", "invalid character");
	STRICT_BAD("Zm9v\0\0\0\0", "invalid character");
	STRICT_BAD("Zm-_", "invalid character"); /* base64url is not base64 */
	STRICT_BAD("Zm9v\xc3\xa9YQ", "invalid character");
}

TEST(base64_mime_is_lenient)
{
	struct buf b = BUF_INIT;
	const char *err = NULL;
#define MIME(in, want, rc)                                                               \
	do {                                                                             \
		buf_reset(&b);                                                           \
		err = NULL;                                                              \
		CHECK_INT(base64_decode_mime(&b, in, sizeof(in) - 1, &err), rc);         \
		CHECK_BUF(b, want);                                                      \
		CHECK((rc) == 0 || err != NULL);                                         \
	} while (0)
	MIME("Zm9v\r\nYmFy\r\n", "foobar", 0);
	MIME("  Zm 9v\tYm\nFy  ", "foobar", 0);
	MIME("Zm9v!!YmFy*", "foobar", 0);
	MIME("Zm9v\0\0YmFy", "foobar", 0);
	MIME("Zm\xff\xfe\x80" "9vYmFy", "foobar", 0);
	MIME("Zm8=Zm9v", "fo", 0);       /* '=' ends the data */
	MIME("Zm8=\r\n--boundary", "fo", 0);
	MIME("Zg==", "f", 0);
	MIME("Zg", "f", 0);              /* missing padding */
	MIME("Zm8", "fo", 0);
	MIME("Zh==", "f", 0);            /* unused bits ignored */
	MIME("=", "", 0);
	MIME("", "", 0);
	MIME("!!!\r\n", "", 0);
	MIME("Zm9vY", "foo", -1);        /* a lone final sextet */
	MIME("Zm9vY=", "foo", -1);
	MIME("Zm9vY\r\n=\r\n", "foo", -1);
	MIME("Z", "", -1);
	CHECK(strstr(err, "truncated") != NULL);
	buf_free(&b);
}

/* Decode in pieces of random size (or one byte each when step is 1) and
 * compare with the one-shot result. */
static void check_pieces(const struct buf *enc, size_t step)
{
	struct buf one = BUF_INIT, many = BUF_INIT;
	const char *err1 = NULL, *err2 = NULL;
	int rc1 = base64_decode_mime(&one, enc->data, enc->len, &err1);
	struct base64_dec d;
	base64_dec_init(&d);
	for (size_t i = 0; i < enc->len;) {
		size_t n = step ? step : 1 + rng() % 100;
		if (n > enc->len - i)
			n = enc->len - i;
		base64_dec_feed(&d, &many, enc->data + i, n);
		base64_dec_feed(&d, &many, enc->data + i, 0);
		i += n;
	}
	int rc2 = base64_dec_finish(&d, &many, &err2);
	CHECK_INT(rc2, rc1);
	CHECK(err1 == err2);
	CHECK_MEM(many.data, many.len, one.data, one.len);
	buf_free(&one);
	buf_free(&many);
}

TEST(base64_incremental_matches_one_shot)
{
	struct buf in = BUF_INIT, enc = BUF_INIT;
	static const char noise[] = " \r\n\t!=\0\xff-";
	for (int round = 0; round < 400; round++) {
		random_bytes(&in, rng() % 300);
		buf_reset(&enc);
		base64_encode(&enc, in.data, in.len, (enum base64_wrap)(round % 3));
		if (round % 2) { /* sprinkle noise, '=' among it */
			for (int k = 0; k < 5 && enc.len; k++)
				enc.data[rng() % enc.len] = noise[rng() % (sizeof noise - 1)];
		}
		if (round % 5 == 0 && enc.len) /* cut anywhere */
			buf_truncate(&enc, rng() % enc.len);
		check_pieces(&enc, 1);
		check_pieces(&enc, 0);
	}
	buf_free(&in);
	buf_free(&enc);
}

TEST(base64_round_trip_random)
{
	struct buf in = BUF_INIT, enc = BUF_INIT, dec = BUF_INIT;
	const char *err = NULL;
	for (int round = 0; round < 1000; round++) {
		random_bytes(&in, rng() % 500);
		for (int wrap = 0; wrap < 3; wrap++) {
			buf_reset(&enc);
			base64_encode(&enc, in.data, in.len, (enum base64_wrap)wrap);
			buf_reset(&dec);
			CHECK_INT(base64_decode_mime(&dec, enc.data, enc.len, &err), 0);
			CHECK_MEM(dec.data, dec.len, in.data, in.len);
			if (wrap == BASE64_NOWRAP) {
				buf_reset(&dec);
				CHECK_INT(base64_decode_strict(&dec, enc.data, enc.len, &err), 0);
				CHECK_MEM(dec.data, dec.len, in.data, in.len);
			}
		}
	}
	buf_free(&in);
	buf_free(&enc);
	buf_free(&dec);
}

TEST(base64_one_megabyte)
{
	struct buf in = BUF_INIT, enc = BUF_INIT, dec = BUF_INIT;
	const char *err = NULL;
	random_bytes(&in, 1 << 20);
	base64_encode(&enc, in.data, in.len, BASE64_WRAP_CRLF);
	CHECK_INT(base64_decode_mime(&dec, enc.data, enc.len, &err), 0);
	CHECK_MEM(dec.data, dec.len, in.data, in.len);
	check_pieces(&enc, 1);
	check_pieces(&enc, 0);
	/* strict refuses the wrapped form but takes the one-line form */
	buf_reset(&dec);
	CHECK_INT(base64_decode_strict(&dec, enc.data, enc.len, &err), -1);
	CHECK_INT(dec.len, 0);
	buf_reset(&enc);
	base64_encode(&enc, in.data, in.len, BASE64_NOWRAP);
	CHECK_INT(base64_decode_strict(&dec, enc.data, enc.len, &err), 0);
	CHECK_MEM(dec.data, dec.len, in.data, in.len);
	/* 1 MB of garbage decodes to nothing */
	buf_reset(&in);
	for (int i = 0; i < 1 << 20; i++)
		buf_append_char(&in, "\0!\r\n*"[i % 5]);
	buf_reset(&dec);
	CHECK_INT(base64_decode_mime(&dec, in.data, in.len, &err), 0);
	CHECK_INT(dec.len, 0);
	buf_free(&in);
	buf_free(&enc);
	buf_free(&dec);
}

TEST(base64_dec_zeroed_struct_and_reuse)
{
	struct base64_dec d;
	struct buf b = BUF_INIT;
	memset(&d, 0, sizeof d);
	base64_dec_feed(&d, &b, "Zm9", 3);
	CHECK_INT(base64_dec_finish(&d, &b, NULL), 0);
	CHECK_BUF(b, "fo");
	/* finish resets: the next stream starts clean */
	base64_dec_feed(&d, &b, "Y", 1);
	CHECK_INT(base64_dec_finish(&d, &b, NULL), -1);
	base64_dec_feed(&d, &b, "YmFy", 4);
	CHECK_INT(base64_dec_finish(&d, &b, NULL), 0);
	CHECK_BUF(b, "fobar");
	buf_free(&b);
}
