#include "buf.h"
#include "mutf7.h"
#include "unit.h"

#include <stdint.h>
#include <string.h>

static uint64_t rng_state = 0xa4093822299f31d0ULL;
static uint64_t rng(void)
{
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 0x2545f4914f6cdd1dULL;
}

static const char *const vectors[][2] = {
	{ "", "" },
	{ "INBOX", "INBOX" },
	{ "~peter/mail/\xe5\x8f\xb0\xe5\x8c\x97/\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e",
	  "~peter/mail/&U,BTFw-/&ZeVnLIqe-" },
	{ "Entw\xc3\xbcrfe", "Entw&APw-rfe" },
	{ "a&b", "a&-b" },
	{ "&", "&-" },
	{ "\xf0\x9f\x98\x80", "&2D3eAA-" },
	{ "\xc3\xa9\xf0\x9f\x98\x80x", "&AOnYPd4A-x" },
	{ "\t", "&AAk-" },
	{ "\xc3\xbc&\xc3\xbc", "&APw-&-&APw-" },
	{ "a-b~", "a-b~" },
};

TEST(mutf7_vectors)
{
	struct buf b = BUF_INIT;
	const char *err = NULL;
	for (size_t i = 0; i < sizeof vectors / sizeof vectors[0]; i++) {
		buf_reset(&b);
		CHECK_INT(mutf7_encode(&b, vectors[i][0], strlen(vectors[i][0]), &err), 0);
		CHECK_BUF(b, vectors[i][1]);
		buf_reset(&b);
		CHECK_INT(mutf7_decode(&b, vectors[i][1], strlen(vectors[i][1]), &err), 0);
		CHECK_BUF(b, vectors[i][0]);
	}
	buf_free(&b);
}

static void bad_at(int line, int encode, const char *in, size_t len, const char *want)
{
	struct buf b = BUF_INIT;
	const char *err = NULL;
	buf_set_str(&b, "keep");
	int rc = encode ? mutf7_encode(&b, in, len, &err) : mutf7_decode(&b, in, len, &err);
	if (rc == 0)
		unit_fail(__FILE__, line, "\"%s\" accepted", in);
	if (err == NULL || strstr(err, want) == NULL)
		unit_fail(__FILE__, line, "\"%s\": error %s, want %s", in, err ? err : "(null)", want);
	CHECK_BUF(b, "keep");
	buf_free(&b);
}
#define ENC_BAD(s, e) bad_at(__LINE__, 1, s, sizeof(s) - 1, e)
#define DEC_BAD(s, e) bad_at(__LINE__, 0, s, sizeof(s) - 1, e)

TEST(mutf7_encode_rejects_bad_utf8)
{
	ENC_BAD("\xff", "invalid UTF-8");
	ENC_BAD("abc\xc3", "invalid UTF-8");         /* truncated */
	ENC_BAD("\xc0\xaf", "invalid UTF-8");        /* overlong '/' */
	ENC_BAD("\xe0\x80\xaf", "invalid UTF-8");
	ENC_BAD("\xed\xa0\x80", "invalid UTF-8");    /* a surrogate */
	ENC_BAD("\xf4\x90\x80\x80", "invalid UTF-8"); /* above U+10FFFF */
	ENC_BAD("\x80", "invalid UTF-8");
	ENC_BAD("a\0b", "NUL");
	ENC_BAD("\xc3\xa9\xc3", "invalid UTF-8");
}

TEST(mutf7_decode_rejects)
{
	DEC_BAD("&", "unterminated");
	DEC_BAD("a&U,BTFw", "unterminated");
	DEC_BAD("&AGE-", "printable ASCII");        /* 'a' */
	DEC_BAD("&ACY-", "printable ASCII");        /* '&' */
	DEC_BAD("&AH4-", "printable ASCII");        /* '~' */
	DEC_BAD("&APw-&APw-", "two shifts");
	DEC_BAD("&APx-", "padding bits");
	DEC_BAD("&APwA-", "extra characters");
	DEC_BAD("&A-", "extra characters");
	DEC_BAD("&AA-", "extra characters");
	DEC_BAD("&2D0-", "unpaired high");
	DEC_BAD("&2D3YPQ-", "unpaired high");
	DEC_BAD("&2D0AYQ-", "unpaired high");
	DEC_BAD("&3gA-", "unpaired low");
	DEC_BAD("&AAA-", "NUL");
	DEC_BAD("&AAk=-", "invalid character in base64");
	DEC_BAD("&AAk/-", "invalid character in base64");
	DEC_BAD("&&-", "invalid character in base64");
	DEC_BAD("&AAk-&-&&", "invalid character in base64");
	DEC_BAD("Entw\xc3\xbcrfe", "invalid character");
	DEC_BAD("a\0b", "invalid character");
	DEC_BAD("a\tb", "invalid character");
	DEC_BAD("a\x7f", "invalid character");
	DEC_BAD("a\r\n", "invalid character");
	DEC_BAD("&AAk\0-", "invalid character in base64");
}

/* A random UTF-8 string of n code points, weighted towards the tricky ones. */
static void random_name(struct buf *b, size_t n)
{
	buf_reset(b);
	for (size_t i = 0; i < n; i++) {
		uint32_t cp;
		switch (rng() % 6) {
		case 0: cp = 0x20 + (uint32_t)(rng() % 95); break;
		case 1: cp = '&'; break;
		case 2: cp = 1 + (uint32_t)(rng() % 0x1f); break;
		case 3: cp = 0x80 + (uint32_t)(rng() % 0x780); break;
		case 4: cp = 0x10000 + (uint32_t)(rng() % 0x100000); break;
		default:
			do
				cp = 0x800 + (uint32_t)(rng() % 0xf800);
			while (cp >= 0xd800 && cp <= 0xdfff);
		}
		if (cp < 0x80) {
			buf_append_char(b, (char)cp);
		} else if (cp < 0x800) {
			buf_append_char(b, (char)(0xc0 | cp >> 6));
			buf_append_char(b, (char)(0x80 | (cp & 63)));
		} else if (cp < 0x10000) {
			buf_append_char(b, (char)(0xe0 | cp >> 12));
			buf_append_char(b, (char)(0x80 | (cp >> 6 & 63)));
			buf_append_char(b, (char)(0x80 | (cp & 63)));
		} else {
			buf_append_char(b, (char)(0xf0 | cp >> 18));
			buf_append_char(b, (char)(0x80 | (cp >> 12 & 63)));
			buf_append_char(b, (char)(0x80 | (cp >> 6 & 63)));
			buf_append_char(b, (char)(0x80 | (cp & 63)));
		}
	}
}

TEST(mutf7_round_trip_random)
{
	struct buf name = BUF_INIT, enc = BUF_INIT, dec = BUF_INIT;
	const char *err = NULL;
	for (int round = 0; round < 20000; round++) {
		random_name(&name, rng() % 20);
		buf_reset(&enc);
		buf_reset(&dec);
		CHECK_INT(mutf7_encode(&enc, name.data, name.len, &err), 0);
		for (size_t i = 0; i < enc.len; i++)
			CHECK(enc.data[i] >= 0x20 && enc.data[i] <= 0x7e);
		if (mutf7_decode(&dec, enc.data, enc.len, &err) < 0)
			unit_fail(__FILE__, __LINE__, "%s: %s", enc.data, err);
		CHECK_MEM(dec.data, dec.len, name.data, name.len);
	}
	buf_free(&name);
	buf_free(&enc);
	buf_free(&dec);
}

/* Whatever the decoder accepts is canonical: encoding it again gives back
 * exactly the input. */
TEST(mutf7_decoder_accepts_only_canonical)
{
	static const char alphabet[] = "&&&---AAZagw09+,/=\0\xff 2D3PQ";
	struct buf dec = BUF_INIT, enc = BUF_INIT;
	char in[24];
	int accepted = 0;
	for (int round = 0; round < 300000; round++) {
		size_t len = rng() % sizeof in;
		for (size_t i = 0; i < len; i++)
			in[i] = alphabet[rng() % (sizeof alphabet - 1)];
		const char *err = NULL;
		buf_reset(&dec);
		if (mutf7_decode(&dec, in, len, &err) < 0) {
			CHECK(err != NULL);
			CHECK_INT(dec.len, 0);
			continue;
		}
		accepted++;
		buf_reset(&enc);
		CHECK_INT(mutf7_encode(&enc, dec.data, dec.len, &err), 0);
		CHECK_MEM(enc.data, enc.len, in, len);
	}
	CHECK(accepted > 1000);
	buf_free(&dec);
	buf_free(&enc);
}

TEST(mutf7_one_megabyte)
{
	struct buf name = BUF_INIT, enc = BUF_INIT, dec = BUF_INIT;
	const char *err = NULL;
	random_name(&name, 600000);
	CHECK(name.len > 1 << 20);
	CHECK_INT(mutf7_encode(&enc, name.data, name.len, &err), 0);
	CHECK_INT(mutf7_decode(&dec, enc.data, enc.len, &err), 0);
	CHECK_MEM(dec.data, dec.len, name.data, name.len);
	/* 1 MB of "&-", then of "&" with no end */
	buf_reset(&enc);
	buf_reset(&dec);
	for (int i = 0; i < 1 << 19; i++)
		buf_append(&enc, "&-", 2);
	CHECK_INT(mutf7_decode(&dec, enc.data, enc.len, &err), 0);
	CHECK_INT(dec.len, 1 << 19);
	buf_reset(&enc);
	buf_reset(&dec);
	buf_append_char(&enc, '&');
	for (int i = 0; i < 1 << 20; i++)
		buf_append_char(&enc, 'A');
	CHECK_INT(mutf7_decode(&dec, enc.data, enc.len, &err), -1);
	CHECK_INT(dec.len, 0);
	buf_free(&name);
	buf_free(&enc);
	buf_free(&dec);
}
