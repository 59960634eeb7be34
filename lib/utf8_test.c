#include "utf8.h"
#include "unit.h"

#include <stdint.h>
#include <stdlib.h>

#define V(s) utf8_valid((s), sizeof(s) - 1)
#define BAD_AT(s) utf8_first_invalid((s), sizeof(s) - 1)

TEST(utf8_accepts_valid)
{
	CHECK(V(""));
	CHECK(V("plain ascii"));
	CHECK(V("b\xc3\xbc" "cher"));            /* U+00FC */
	CHECK(V("\xe2\x82\xac"));                /* U+20AC */
	CHECK(V("\xf0\x9f\x92\xa9"));            /* U+1F4A9 */
	CHECK(V("\xc2\x80"));                    /* U+0080, smallest 2-byte */
	CHECK(V("\xe0\xa0\x80"));                /* U+0800, smallest 3-byte */
	CHECK(V("\xf0\x90\x80\x80"));            /* U+10000, smallest 4-byte */
	CHECK(V("\xf4\x8f\xbf\xbf"));            /* U+10FFFF, the largest */
	CHECK(V("\xed\x9f\xbf"));                /* U+D7FF, just below surrogates */
	CHECK(V("\xee\x80\x80"));                /* U+E000, just above */
	CHECK(V("\xef\xbf\xbf"));                /* U+FFFF */
	CHECK(V("a\0b"));                        /* NUL is valid UTF-8 */
}

TEST(utf8_rejects_overlongs)
{
	CHECK(!V("\xc0\x80"));         /* overlong NUL */
	CHECK(!V("\xc1\xbf"));
	CHECK(!V("\xe0\x80\xaf"));     /* overlong '/' */
	CHECK(!V("\xe0\x9f\xbf"));     /* U+07FF in 3 bytes */
	CHECK(!V("\xf0\x8f\xbf\xbf")); /* U+FFFF in 4 bytes */
	CHECK(!V("\xf0\x80\x80\x80"));
}

TEST(utf8_rejects_surrogates_and_range)
{
	CHECK(!V("\xed\xa0\x80"));     /* U+D800 */
	CHECK(!V("\xed\xbf\xbf"));     /* U+DFFF */
	CHECK(!V("\xed\xa0\xbd\xed\xb2\xa9")); /* CESU-8 pair */
	CHECK(!V("\xf4\x90\x80\x80")); /* U+110000 */
	CHECK(!V("\xf5\x80\x80\x80"));
	CHECK(!V("\xf8\x88\x80\x80\x80"));
	CHECK(!V("\xfc\x84\x80\x80\x80\x80"));
	CHECK(!V("\xfe"));
	CHECK(!V("\xff"));
}

TEST(utf8_rejects_bad_continuations)
{
	CHECK(!V("\x80"));
	CHECK(!V("a\xbf"));
	CHECK(!V("\xc3"));             /* truncated */
	CHECK(!V("\xe2\x82"));         /* truncated */
	CHECK(!V("\xf0\x9f\x92"));     /* truncated */
	CHECK(!V("\xc3\x28"));         /* lead then ASCII */
	CHECK(!V("\xe2\x28\xa1"));
	CHECK(!V("\xf0\x9f\x28\xa9"));
	CHECK(!V("\xc3\xbc\xbc"));     /* one continuation too many */
}

TEST(utf8_reports_first_bad_offset)
{
	CHECK_INT(BAD_AT("hello"), 5);
	CHECK_INT(BAD_AT(""), 0);
	CHECK_INT(BAD_AT("\xff"), 0);
	CHECK_INT(BAD_AT("ab\xc3\xbc" "c\xc0\x80"), 5);
	CHECK_INT(BAD_AT("ab\xe2\x82"), 2);  /* truncated sequence: its lead byte */
	CHECK_INT(BAD_AT("\xe2\x82\xac\xed\xa0\x80x"), 3);
	CHECK_INT(BAD_AT("a\0\xc3\xbc\x80"), 4);
}

TEST(utf8_decode_one)
{
	uint32_t cp = 0;
	CHECK_INT(utf8_decode("A", 1, &cp), 1);
	CHECK_INT(cp, 'A');
	CHECK_INT(utf8_decode("\xc3\xbc", 2, &cp), 2);
	CHECK_INT(cp, 0xfc);
	CHECK_INT(utf8_decode("\xf4\x8f\xbf\xbf", 4, &cp), 4);
	CHECK_INT(cp, 0x10ffff);
	CHECK_INT(utf8_decode("\xc3\xbc", 1, &cp), 0); /* cut short by len */
	CHECK_INT(utf8_decode("", 0, &cp), 0);
}

TEST(utf8_is_ascii_check)
{
	CHECK(utf8_is_ascii("abc\x7f", 4));
	CHECK(!utf8_is_ascii("ab\x80", 3));
	CHECK(utf8_is_ascii("", 0));
}

/* Every two-byte string: the validator agrees with a direct reading of the
 * RFC 3629 table, and truncating a valid 4-byte sequence anywhere fails. */
TEST(utf8_exhaustive_pairs_and_truncation)
{
	for (unsigned a = 0; a < 256; a++) {
		for (unsigned b = 0; b < 256; b++) {
			unsigned char s[2] = { (unsigned char)a, (unsigned char)b };
			int want = (a < 0x80 && b < 0x80) ||
				   (a >= 0xc2 && a <= 0xdf && b >= 0x80 && b <= 0xbf);
			CHECK_INT(utf8_valid(s, 2), want);
		}
	}
	const char *s = "x\xf0\x9f\x92\xa9";
	for (size_t n = 2; n < 5; n++)
		CHECK_INT(utf8_first_invalid(s, n), 1);
	CHECK(utf8_valid(s, 5));
}

TEST(utf8_large_input_is_linear)
{
	size_t n = 4u << 20;
	char *s = malloc(n);
	CHECK(s != NULL);
	for (size_t i = 0; i + 2 <= n; i += 2) {
		s[i] = (char)0xc3;
		s[i + 1] = (char)0xa9;
	}
	CHECK(utf8_valid(s, n));
	s[n - 1] = 'x';
	CHECK_INT(utf8_first_invalid(s, n), n - 2);
	free(s);
}
