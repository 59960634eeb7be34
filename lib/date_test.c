#include "buf.h"
#include "date.h"
#include "unit.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* xorshift64*: deterministic pseudo-random numbers for the tests */
static uint64_t rng_state = 0x9e3779b97f4a7c15ULL;
static uint64_t rng(void)
{
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 0x2545f4914f6cdd1dULL;
}

#define T_2026 ((time_t)1795315276) /* Sun, 22 Nov 2026 02:41:16 +0000 */

static void ok_at(int line, const char *s, time_t want, int want_zone)
{
	time_t t = 0;
	int zone = 12345;
	const char *err = NULL;
	if (date_parse_rfc5322(s, strlen(s), &t, &zone, &err) < 0)
		unit_fail(__FILE__, line, "\"%s\" refused: %s", s, err);
	if (t != want || zone != want_zone)
		unit_fail(__FILE__, line, "\"%s\" -> %lld zone %d, want %lld zone %d", s,
			  (long long)t, zone, (long long)want, want_zone);
}
#define OK(s, t, z) ok_at(__LINE__, s, t, z)

static void bad_at(int line, const char *s, size_t len, const char *want_err)
{
	time_t t = 77;
	int zone = 12345;
	const char *err = NULL;
	if (date_parse_rfc5322(s, len, &t, &zone, &err) == 0)
		unit_fail(__FILE__, line, "\"%s\" accepted as %lld", s, (long long)t);
	if (err == NULL || strstr(err, want_err) == NULL)
		unit_fail(__FILE__, line, "\"%s\": error \"%s\", want \"%s\"", s,
			  err ? err : "(null)", want_err);
	if (t != 77 || zone != 12345)
		unit_fail(__FILE__, line, "\"%s\": outputs touched on error", s);
}
#define BAD(s, e) bad_at(__LINE__, s, strlen(s), e)

TEST(date_civil_matches_gmtime_every_day)
{
	int64_t first = date_days_from_civil(1900, 1, 1), last = date_days_from_civil(9999, 12, 31);
	CHECK_INT(first, -25567);
	CHECK_INT(last, 2932896);
	for (int64_t d = first; d <= last; d++) {
		int y, m, dd, wd;
		date_civil_from_days(d, &y, &m, &dd, &wd);
		time_t t = (time_t)(d * 86400);
		struct tm tm;
		CHECK(gmtime_r(&t, &tm) != NULL);
		if (y != tm.tm_year + 1900 || m != tm.tm_mon + 1 || dd != tm.tm_mday ||
		    wd != tm.tm_wday)
			unit_fail(__FILE__, __LINE__, "day %lld: %d-%d-%d/%d", (long long)d, y, m,
				  dd, wd);
		CHECK(date_days_from_civil(y, m, dd) == d);
	}
}

TEST(date_format_rfc5322_known)
{
	struct buf b = BUF_INIT;
	CHECK_INT(date_format_rfc5322(&b, T_2026, DATE_ZONE_UTC), 0);
	CHECK_BUF(b, "Sun, 22 Nov 2026 02:41:16 +0000");
	buf_reset(&b);
	CHECK_INT(date_format_rfc5322(&b, 0, DATE_ZONE_UTC), 0);
	CHECK_BUF(b, "Thu, 1 Jan 1970 00:00:00 +0000");
	buf_reset(&b);
	CHECK_INT(date_format_rfc5322_offset(&b, T_2026, -8 * 60), 0);
	CHECK_BUF(b, "Sat, 21 Nov 2026 18:41:16 -0800");
	buf_reset(&b);
	CHECK_INT(date_format_rfc5322_offset(&b, T_2026, 5 * 60 + 45), 0);
	CHECK_BUF(b, "Sun, 22 Nov 2026 08:26:16 +0545");
	buf_reset(&b);
	CHECK_INT(date_format_rfc5322(&b, (time_t)-2208988800LL, DATE_ZONE_UTC), 0);
	CHECK_BUF(b, "Mon, 1 Jan 1900 00:00:00 +0000");
	buf_reset(&b);
	CHECK_INT(date_format_rfc5322(&b, (time_t)253402300799LL, DATE_ZONE_UTC), 0);
	CHECK_BUF(b, "Fri, 31 Dec 9999 23:59:59 +0000");
	buf_free(&b);
}

TEST(date_format_refuses_out_of_range)
{
	struct buf b = BUF_INIT;
	CHECK_INT(date_format_rfc5322(&b, (time_t)-2208988801LL, DATE_ZONE_UTC), -1);
	CHECK_INT(date_format_rfc5322(&b, (time_t)253402300800LL, DATE_ZONE_UTC), -1);
	CHECK_INT(date_format_rfc5322_offset(&b, (time_t)253402300799LL, 60), -1);
	CHECK_INT(date_format_rfc5322_offset(&b, 0, 24 * 60), -1);
	CHECK_INT(date_format_imap(&b, (time_t)INT64_MAX, DATE_ZONE_UTC), -1);
	CHECK_INT(date_format_imap_offset(&b, (time_t)INT64_MIN, -60), -1);
	CHECK_INT(b.len, 0);
	buf_free(&b);
}

TEST(date_format_local_zone)
{
	struct buf b = BUF_INIT;
	int zone;
	setenv("TZ", "EST5EDT,M3.2.0,M11.1.0", 1);
	tzset();
	CHECK_INT(date_local_offset(T_2026, &zone), 0);
	CHECK_INT(zone, -300);
	CHECK_INT(date_format_rfc5322(&b, T_2026, DATE_ZONE_LOCAL), 0);
	CHECK_BUF(b, "Sat, 21 Nov 2026 21:41:16 -0500");
	buf_reset(&b);
	CHECK_INT(date_format_rfc5322(&b, (time_t)1782907200, DATE_ZONE_LOCAL), 0);
	CHECK_BUF(b, "Wed, 1 Jul 2026 08:00:00 -0400");
	buf_reset(&b);
	setenv("TZ", "IST-5:30", 1);
	tzset();
	CHECK_INT(date_format_imap(&b, T_2026, DATE_ZONE_LOCAL), 0);
	CHECK_BUF(b, "\"22-Nov-2026 08:11:16 +0530\"");
	buf_reset(&b);
	CHECK_INT(date_format_imap(&b, T_2026, DATE_ZONE_UTC), 0);
	CHECK_BUF(b, "\"22-Nov-2026 02:41:16 +0000\"");
	buf_reset(&b);
	CHECK_INT(date_format_imap_offset(&b, T_2026 - 20 * 86400, -90), 0);
	CHECK_BUF(b, "\" 2-Nov-2026 01:11:16 -0130\"");
	buf_free(&b);
}

TEST(date_parse_rfc5322_variants)
{
	OK("Sun, 22 Nov 2026 02:41:16 +0000", T_2026, 0);
	OK("22 Nov 2026 02:41:16 +0000", T_2026, 0);
	OK("sun, 22 nov 2026 02:41:16 +0000", T_2026, 0);
	OK("SUN,22 NOV 2026 02:41:16 +0000", T_2026, 0);
	OK("Sun 22 Nov 2026 02:41:16 +0000", T_2026, 0);
	OK("  Sun ,  22   Nov\t2026\r\n 02:41:16   +0000  ", T_2026, 0);
	OK("Sun, 22 Nov 2026 02:41 +0000", T_2026 - 16, 0);
	OK("Sat, 21 Nov 2026 21:41:16 -0500", T_2026, -300);
	OK("Sun, 22 Nov 2026 08:11:16 +0530", T_2026, 330);
	OK("Sat, 21 Nov 2026 21:41:16 EST", T_2026, -300);
	OK("Sat, 21 Nov 2026 22:41:16 edt", T_2026, -240);
	OK("Sat, 21 Nov 2026 20:41:16 CST", T_2026, -360);
	OK("Sat, 21 Nov 2026 21:41:16 CDT", T_2026, -300);
	OK("Sat, 21 Nov 2026 19:41:16 MST", T_2026, -420);
	OK("Sat, 21 Nov 2026 20:41:16 MDT", T_2026, -360);
	OK("Sat, 21 Nov 2026 18:41:16 PST", T_2026, -480);
	OK("Sat, 21 Nov 2026 19:41:16 PDT", T_2026, -420);
	OK("Sun, 22 Nov 2026 02:41:16 GMT", T_2026, 0);
	OK("Sun, 22 Nov 2026 02:41:16 UT", T_2026, 0);
	OK("Sun, 22 Nov 2026 02:41:16 UTC", T_2026, 0);
	OK("Sun, 22 Nov 2026 02:41:16 Z", T_2026, 0);
	OK("Sun, 22 Nov 2026 02:41:16 A", T_2026, 0);  /* military: -0000 */
	OK("Sun, 22 Nov 2026 02:41:16 y", T_2026, 0);
	OK("Sun, 22 Nov 2026 02:41:16 CEST", T_2026, 0); /* unknown: -0000 */
	OK("Sun, 22 Nov 2026 02:41:16 -0000", T_2026, 0);
	OK("Sun, 22 Nov 2026 02:41:16", T_2026, 0);  /* no zone */
	OK("Sun, 22 Nov 2026 03:41:16 +0100 (CET)", T_2026, 60);
	OK("Sun, 22 Nov 2026 03:41:16 +0100 CET", T_2026, 60);
	OK("(x) Sun (y) , (z) 22 (a\\)b) Nov ((c)) 2026 (d) 02 : 41 : 16 (e) +0000 (f)",
	   T_2026, 0);
	OK("Sun, 22 Nov 2026 2:41:16 +0000", T_2026, 0);
	OK("Sun, 22 Nov 26 02:41:16 +0000", T_2026, 0);     /* 2-digit year */
	OK("Sun, 22 Nov 126 02:41:16 +0000", T_2026, 0);    /* 3-digit year */
	OK("Sat, 2 Jan 49 03:04:05 +0000", (time_t)2493169445LL, 0);
	OK("Mon, 2 Jan 50 03:04:05 +0000", (time_t)-631054555LL, 0);
	OK("Mon, 02 Jan 1950 03:04:05 +0000", (time_t)-631054555LL, 0);
	OK("Sat, 31 Dec 2016 23:59:60 +0000", (time_t)1483228800LL, 0); /* leap second */
	OK("1 Jan 1900 00:00:00 +0000", (time_t)-2208988800LL, 0);
	OK("31 Dec 9999 23:59:59 +0000", (time_t)253402300799LL, 0);
	OK("29 Feb 2000 00:00:00 +0000", (time_t)951782400LL, 0);
	OK("Sun, 22 Nov 2026 02:41:16 +2359", T_2026 - 86340, 1439);
}

TEST(date_parse_rfc5322_rejects)
{
	BAD("", "bad day");
	BAD("Sun,", "bad day");
	BAD("Sun, 22", "invalid month");
	BAD("Sun, 22 Nov", "bad year");
	BAD("Sun, 22 Nov 2026", "bad hour");
	BAD("Sun, 22 Nov 2026 02", "expected ':'");
	BAD("Sun, 22 Nov 2026 02:", "bad minute");
	BAD("Sun, 22 Nov 2026 02:41:", "bad second");
	BAD("Sun, 22 Nov 2026 02:41:16 +", "bad zone offset");
	BAD("Sun, 22 Nov 2026 02:41:16 +000", "bad zone offset");
	BAD("Sun, 22 Nov 2026 02:41:16 +00000", "bad zone offset");
	BAD("Sun, 22 Nov 2026 02:41:16 +0060", "zone offset out of range");
	BAD("Sun, 22 Nov 2026 02:41:16 +2400", "zone offset out of range");
	BAD("Sun, 22 Nov 2026 02:41:16 J", "military");
	BAD("Sun, 22 Nov 2026 02:41:16 ABCDEF", "bad zone");
	BAD("Sun, 22 Nov 2026 02:41:16 +0000 x y", "trailing garbage");
	BAD("Sun, 22 Nov 2026 02:41:16 +0000 CETCET", "trailing garbage");
	BAD("Sun, 22 Nov 2026 02:41:16 ?", "bad zone");
	BAD("Sunday, 22 Nov 2026 02:41:16 +0000", "invalid day name");
	BAD("Xyz, 22 Nov 2026 02:41:16 +0000", "invalid day name");
	BAD("Sun, 22 November 2026 02:41:16 +0000", "invalid month");
	BAD("Sun, 22 Nox 2026 02:41:16 +0000", "invalid month");
	BAD("Sun, 122 Nov 2026 02:41:16 +0000", "bad day");
	BAD("Sun, 0 Nov 2026 02:41:16 +0000", "day out of range");
	BAD("Sun, 31 Nov 2026 02:41:16 +0000", "day out of range");
	BAD("29 Feb 1900 00:00:00 +0000", "day out of range");
	BAD("29 Feb 2026 00:00:00 +0000", "day out of range");
	BAD("Sun, 22 Nov 1899 02:41:16 +0000", "year out of range");
	BAD("Sun, 22 Nov 20266 02:41:16 +0000", "bad year");
	BAD("Sun, 22 Nov 2 02:41:16 +0000", "bad year");
	BAD("Sun, 22 Nov 2026 24:00:00 +0000", "hour out of range");
	BAD("Sun, 22 Nov 2026 123:00:00 +0000", "bad hour");
	BAD("Sun, 22 Nov 2026 02:60:00 +0000", "minute out of range");
	BAD("Sun, 22 Nov 2026 02:4:00 +0000", "bad minute");
	BAD("Sun, 22 Nov 2026 02:41:61 +0000", "second out of range");
	BAD("Sun, 22 Nov 2026 02:41:1 +0000", "bad second");
	BAD("Sun, 22 Nov 2026 02:41:16 (unterminated", "unterminated comment");
	BAD("Sun, 22 Nov 2026 02:41:16 +0000 (a\\)", "unterminated comment");
	BAD("((((((((((x)))))))))) 22 Nov 2026 02:41:16 +0000", "nested too deeply");
	bad_at(__LINE__, "Sun, 22 Nov 2026\0 02:41:16 +0000", 32, "bad hour");
	bad_at(__LINE__, "Sun, 22 Nov 2026 02:41:16 +0000\0", 32, "trailing garbage");
	bad_at(__LINE__, "Sun, 22 Nov 2026 02:41:16 (\0)", 29, "NUL byte");
	BAD("Sun, 22 Nov 2026 02:41:16 +0000 \xff", "trailing garbage");
	BAD("\xc3\xa9, 22 Nov 2026 02:41:16 +0000", "bad day");
}

TEST(date_parse_rfc5322_bounds)
{
	struct buf b = BUF_INIT;
	time_t t;
	int zone;
	const char *err = NULL;
	/* a long but legal comment */
	buf_append_str(&b, "Sun, 22 Nov 2026 02:41:16 +0000 (");
	for (int i = 0; i < 900; i++)
		buf_append_char(&b, 'x');
	buf_append_char(&b, ')');
	CHECK_INT(date_parse_rfc5322(b.data, b.len, &t, &zone, &err), 0);
	CHECK(t == T_2026);
	/* 1 MB of whitespace, of comments, of digits */
	buf_reset(&b);
	for (int i = 0; i < 1 << 20; i++)
		buf_append_char(&b, "( )9"[i % 4]);
	CHECK_INT(date_parse_rfc5322(b.data, b.len, &t, &zone, &err), -1);
	CHECK_STR(err, "date too long");
	CHECK_INT(date_parse_imap_datetime(b.data, b.len, &t, &zone, &err), -1);
	CHECK_INT(date_parse_imap_date(b.data, b.len, &t, &err), -1);
	/* the deepest allowed nesting */
	buf_reset(&b);
	for (int i = 0; i < DATE_MAX_COMMENT_DEPTH; i++)
		buf_append_char(&b, '(');
	for (int i = 0; i < DATE_MAX_COMMENT_DEPTH; i++)
		buf_append_char(&b, ')');
	buf_append_str(&b, "22 Nov 2026 02:41:16 +0000");
	CHECK_INT(date_parse_rfc5322(b.data, b.len, &t, &zone, &err), 0);
	buf_free(&b);
}

TEST(date_parse_imap_datetime_forms)
{
	time_t t;
	int zone;
	const char *err = NULL;
#define IMAP_OK(s, want, wz)                                                             \
	do {                                                                             \
		err = NULL;                                                              \
		if (date_parse_imap_datetime(s, strlen(s), &t, &zone, &err) < 0)         \
			unit_fail(__FILE__, __LINE__, "%s: %s", s, err);                 \
		CHECK(t == (want));                                                      \
		CHECK_INT(zone, wz);                                                     \
	} while (0)
#define IMAP_BAD(s, e)                                                                   \
	do {                                                                             \
		err = NULL;                                                              \
		CHECK_INT(date_parse_imap_datetime(s, strlen(s), &t, &zone, &err), -1);  \
		CHECK(err != NULL && strstr(err, e) != NULL);                            \
	} while (0)
	IMAP_OK("\"22-Nov-2026 02:41:16 +0000\"", T_2026, 0);
	IMAP_OK("22-Nov-2026 02:41:16 +0000", T_2026, 0);
	IMAP_OK("22-nov-2026 03:41:16 +0100", T_2026, 60);
	IMAP_OK("\" 2-Nov-2026 02:41:16 +0000\"", T_2026 - 20 * 86400, 0);
	IMAP_OK("02-Nov-2026 02:41:16 +0000", T_2026 - 20 * 86400, 0);
	IMAP_OK("2-Nov-2026 02:41:16 +0000", T_2026 - 20 * 86400, 0);
	IMAP_OK("21-Nov-2026 21:41:16 -0500", T_2026, -300);
	IMAP_BAD("\"22-Nov-2026 02:41:16 +0000", "unbalanced");
	IMAP_BAD("22-Nov-2026 02:41:16 +0000\"", "unbalanced");
	IMAP_BAD("\"", "unbalanced");
	IMAP_BAD("\"\"", "bad day");
	IMAP_BAD("22 Nov 2026 02:41:16 +0000", "expected '-'");
	IMAP_BAD("22-Nov-26 02:41:16 +0000", "bad year");
	IMAP_BAD("22-Nov-2026 2:41:16 +0000", "bad hour");
	IMAP_BAD("22-Nov-2026 02:41 +0000", "expected ':'");
	IMAP_BAD("22-Nov-2026 02:41:16 GMT", "bad zone");
	IMAP_BAD("22-Nov-2026 02:41:16 +0000 ", "trailing garbage");
	IMAP_BAD("22-Nov-2026  02:41:16 +0000", "bad hour");
	IMAP_BAD("  2-Nov-2026 02:41:16 +0000", "bad day");
	IMAP_BAD("31-Feb-2026 02:41:16 +0000", "day out of range");
	IMAP_BAD("22-Nov-2026 02:41:16 +9900", "zone offset out of range");
	IMAP_BAD("22-Nov-2026 02:41:16 +0000\r\n", "trailing garbage");
	CHECK_INT(date_parse_imap_datetime("22-Nov-2026\0002:41:16 +0000", 26, &t, &zone, &err), -1);
}

TEST(date_parse_imap_date_forms)
{
	time_t t;
	const char *err = NULL;
	time_t day = T_2026 - (2 * 3600 + 41 * 60 + 16);
	CHECK_INT(date_parse_imap_date("22-Nov-2026", 11, &t, &err), 0);
	CHECK(t == day);
	CHECK_INT(date_parse_imap_date("\"22-NOV-2026\"", 13, &t, &err), 0);
	CHECK(t == day);
	CHECK_INT(date_parse_imap_date("1-Dec-2026", 10, &t, &err), 0);
	CHECK(t == day + 9 * 86400);
	CHECK_INT(date_parse_imap_date("22-Nov-2026 ", 12, &t, &err), -1);
	CHECK_STR(err, "trailing garbage after date");
	CHECK_INT(date_parse_imap_date("22-Nov", 6, &t, &err), -1);
	CHECK_INT(date_parse_imap_date("22-Nov-02026", 12, &t, &err), -1);
	CHECK_INT(date_parse_imap_date("32-Jan-2026", 11, &t, &err), -1);
	CHECK_STR(err, "day out of range for the month");
	CHECK_INT(date_parse_imap_date("", 0, &t, &err), -1);
	CHECK_INT(date_parse_imap_date("22-Nov-2026", 3, &t, &err), -1);
}

TEST(date_round_trip_random)
{
	int64_t lo = -2208988800LL + 86400, hi = 253402300799LL - 86400;
	struct buf b = BUF_INIT;
	for (int i = 0; i < 20000; i++) {
		time_t t = (time_t)(lo + (int64_t)(rng() % (uint64_t)(hi - lo)));
		int zone = (int)(rng() % (2 * 1440 - 1)) - 1439, z2;
		time_t back;
		const char *err = NULL;
		buf_reset(&b);
		CHECK_INT(date_format_rfc5322_offset(&b, t, zone), 0);
		if (date_parse_rfc5322(b.data, b.len, &back, &z2, &err) < 0)
			unit_fail(__FILE__, __LINE__, "%s: %s", b.data, err);
		CHECK(back == t);
		CHECK_INT(z2, zone);
		buf_reset(&b);
		CHECK_INT(date_format_imap_offset(&b, t, zone), 0);
		if (date_parse_imap_datetime(b.data, b.len, &back, &z2, &err) < 0)
			unit_fail(__FILE__, __LINE__, "%s: %s", b.data, err);
		CHECK(back == t);
		CHECK_INT(z2, zone);
	}
	buf_free(&b);
}

TEST(date_parse_survives_garbage)
{
	static const char alphabet[] = "0123456789 :,+-()\\\"\r\nJanNovSunGMTESTZ\0\xff";
	const char *seed = "Sun, 22 Nov 2026 02:41:16 +0000 (c)";
	char s[64];
	time_t t;
	int zone;
	const char *err;
	for (int i = 0; i < 200000; i++) {
		size_t len = strlen(seed);
		memcpy(s, seed, len);
		int edits = 1 + (int)(rng() % 4);
		for (int e = 0; e < edits; e++)
			s[rng() % len] = alphabet[rng() % (sizeof alphabet - 1)];
		len = rng() % (len + 1);
		err = NULL;
		if (date_parse_rfc5322(s, len, &t, &zone, &err) < 0)
			CHECK(err != NULL);
		err = NULL;
		if (date_parse_imap_datetime(s, len, &t, &zone, &err) < 0)
			CHECK(err != NULL);
		if (date_parse_imap_date(s, len, &t, &err) < 0)
			CHECK(err != NULL);
	}
}
