/* date: RFC 5322 / IMAP date-time formatting and parsing with our own
 * calendar arithmetic (no mktime, no TZ games). Input is untrusted and
 * length-counted; every field is range-checked before arithmetic. */
#include "date.h"
#include "buf.h"

#include <stdlib.h>
#include <string.h>

_Static_assert(sizeof(time_t) >= 8, "estafette needs a 64-bit time_t");

static const char *const month_names[12] = {
	"Jan", "Feb", "Mar", "Apr", "May", "Jun",
	"Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
};
static const char *const day_names[7] = {
	"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat",
};
/* Days before the first of each month in a common year. */
static const short days_before_month[12] = {
	0, 31, 59, 90, 120, 151, 181, 212, 243, 273, 304, 334,
};

/* ---- calendar ---- */

static int is_leap(int64_t y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static int days_in_month(int y, int m)
{
	static const unsigned char len[12] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	return m == 2 && is_leap(y) ? 29 : len[m - 1];
}

/* Days from 1970-01-01 to January 1st of year y (y >= 1). */
static int64_t days_before_year(int64_t y)
{
	int64_t p = y - 1;
	/* leap days in years 1..p, minus those in 1..1969 (477) */
	return 365 * (y - 1970) + (p / 4 - p / 100 + p / 400) - 477;
}

static int64_t floor_div(int64_t a, int64_t b)
{
	int64_t q = a / b;
	return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

int64_t date_days_from_civil(int year, int month, int day)
{
	if (year < 1 || year > DATE_MAX_YEAR || month < 1 || month > 12)
		abort(); /* caller's bug: fields are validated before we get here */
	int64_t d = days_before_year(year) + days_before_month[month - 1] + day - 1;
	if (month > 2 && is_leap(year))
		d++;
	return d;
}

void date_civil_from_days(int64_t days, int *year, int *month, int *day, int *wday)
{
	if (days < days_before_year(1) || days >= days_before_year(DATE_MAX_YEAR + 1))
		abort();
	/* estimate, then correct by at most a few years */
	int64_t y = 1970 + days / 365;
	while (y > 1 && days_before_year(y) > days)
		y--;
	while (days_before_year(y + 1) <= days)
		y++;
	int doy = (int)(days - days_before_year(y));
	int leap = is_leap(y), m = 12;
	while (m > 1 && doy < days_before_month[m - 1] + (m > 2 ? leap : 0))
		m--;
	*year = (int)y;
	*month = m;
	*day = doy - days_before_month[m - 1] - (m > 2 ? leap : 0) + 1;
	*wday = (int)((days % 7 + 11) % 7); /* 1970-01-01 was a Thursday */
}

/* ---- formatting ---- */

struct civil {
	int year, month, day, wday, hour, min, sec;
};

static int split_time(time_t t, int zone_min, struct civil *cv)
{
	int64_t lo = days_before_year(DATE_MIN_YEAR) * 86400;
	int64_t hi = days_before_year(DATE_MAX_YEAR + 1) * 86400;
	if (zone_min <= -24 * 60 || zone_min >= 24 * 60)
		return -1;
	if ((int64_t)t < lo - 86400 || (int64_t)t > hi + 86400)
		return -1; /* also keeps the addition below from overflowing */
	int64_t local = (int64_t)t + (int64_t)zone_min * 60;
	if (local < lo || local >= hi)
		return -1;
	int64_t days = floor_div(local, 86400);
	int secs = (int)(local - days * 86400);
	date_civil_from_days(days, &cv->year, &cv->month, &cv->day, &cv->wday);
	cv->hour = secs / 3600;
	cv->min = secs / 60 % 60;
	cv->sec = secs % 60;
	return 0;
}

static void append_zone(struct buf *out, int zone_min)
{
	int a = zone_min < 0 ? -zone_min : zone_min;
	buf_printf(out, "%c%02d%02d", zone_min < 0 ? '-' : '+', a / 60, a % 60);
}

int date_local_offset(time_t t, int *zone_min)
{
	struct tm tm;
	if (localtime_r(&t, &tm) == NULL)
		return -1;
	/* whole minutes, so the printed time and offset stay consistent */
	*zone_min = (int)(tm.tm_gmtoff / 60);
	return 0;
}

static int zone_for(time_t t, enum date_zone zone, int *zone_min)
{
	*zone_min = 0;
	return zone == DATE_ZONE_LOCAL ? date_local_offset(t, zone_min) : 0;
}

int date_format_rfc5322_offset(struct buf *out, time_t t, int zone_min)
{
	struct civil cv;
	if (split_time(t, zone_min, &cv) < 0)
		return -1;
	buf_printf(out, "%s, %d %s %04d %02d:%02d:%02d ", day_names[cv.wday], cv.day,
		   month_names[cv.month - 1], cv.year, cv.hour, cv.min, cv.sec);
	append_zone(out, zone_min);
	return 0;
}

int date_format_rfc5322(struct buf *out, time_t t, enum date_zone zone)
{
	int zone_min;
	if (zone_for(t, zone, &zone_min) < 0)
		return -1;
	return date_format_rfc5322_offset(out, t, zone_min);
}

int date_format_imap_offset(struct buf *out, time_t t, int zone_min)
{
	struct civil cv;
	if (split_time(t, zone_min, &cv) < 0)
		return -1;
	buf_printf(out, "\"%2d-%s-%04d %02d:%02d:%02d ", cv.day, month_names[cv.month - 1],
		   cv.year, cv.hour, cv.min, cv.sec);
	append_zone(out, zone_min);
	buf_append_char(out, '"');
	return 0;
}

int date_format_imap(struct buf *out, time_t t, enum date_zone zone)
{
	int zone_min;
	if (zone_for(t, zone, &zone_min) < 0)
		return -1;
	return date_format_imap_offset(out, t, zone_min);
}

/* ---- parsing: shared pieces ---- */

struct cur {
	const unsigned char *p, *end;
	const char *err;
};

struct fields {
	int year, month, day, hour, min, sec, zone;
};

static int fail(struct cur *c, const char *msg)
{
	if (c->err == NULL)
		c->err = msg;
	return -1;
}

static int set_err(const char **err, const char *msg)
{
	if (err)
		*err = msg;
	return -1;
}

static int is_digit(unsigned char ch)
{
	return ch >= '0' && ch <= '9';
}

static int is_alpha(unsigned char ch)
{
	return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z');
}

static int peek(const struct cur *c, unsigned char ch)
{
	return c->p < c->end && *c->p == ch;
}

/* Between min and max digits; a longer run is an error, not a split. */
static int read_number(struct cur *c, int min, int max, int *val, const char *msg)
{
	int n = 0, v = 0;
	while (c->p < c->end && is_digit(*c->p)) {
		if (n == max)
			return fail(c, msg);
		v = v * 10 + (*c->p++ - '0');
		n++;
	}
	if (n < min)
		return fail(c, msg);
	*val = v;
	return n;
}

/* A run of letters, lowercased into w (size max+1); returns its length,
 * or max+1 (with the whole run consumed) if it is longer than max. */
static size_t read_word(struct cur *c, char *w, size_t max)
{
	size_t n = 0;
	while (c->p < c->end && is_alpha(*c->p)) {
		if (n < max)
			w[n] = (char)(*c->p | 0x20);
		c->p++;
		n++;
	}
	if (n > max) {
		w[0] = '\0';
		return max + 1;
	}
	w[n] = '\0';
	return n;
}

/* Index of the lowercased word w among three-letter names, or -1. */
static int lookup3(const char *w, size_t n, const char *const *names, int count)
{
	if (n != 3)
		return -1;
	for (int i = 0; i < count; i++)
		if ((names[i][0] | 0x20) == w[0] && names[i][1] == w[1] && names[i][2] == w[2])
			return i;
	return -1;
}

static int read_month(struct cur *c, struct fields *f)
{
	char w[4];
	size_t n = read_word(c, w, 3);
	int m = lookup3(w, n, month_names, 12);
	if (m < 0)
		return fail(c, "invalid month name");
	f->month = m + 1;
	return 0;
}

/* Range checks, then the time_t. */
static int fields_finish(const struct fields *f, time_t *t, const char **err)
{
	if (f->year < DATE_MIN_YEAR || f->year > DATE_MAX_YEAR)
		return set_err(err, "year out of range (1900-9999)");
	if (f->day < 1 || f->day > days_in_month(f->year, f->month))
		return set_err(err, "day out of range for the month");
	if (f->hour > 23)
		return set_err(err, "hour out of range");
	if (f->min > 59)
		return set_err(err, "minute out of range");
	if (f->sec > 60) /* 60: a leap second, counted as the next minute's :00 */
		return set_err(err, "second out of range");
	int64_t days = date_days_from_civil(f->year, f->month, f->day);
	*t = (time_t)(days * 86400 + f->hour * 3600 + f->min * 60 + f->sec -
		      (int64_t)f->zone * 60);
	return 0;
}

/* ---- RFC 5322 ---- */

static int skip_comment(struct cur *c)
{
	int depth = 0;
	while (c->p < c->end) {
		unsigned char ch = *c->p++;
		if (ch == '\0')
			return fail(c, "NUL byte in comment");
		if (ch == '\\' && c->p < c->end) {
			c->p++; /* quoted-pair */
		} else if (ch == '(') {
			if (++depth > DATE_MAX_COMMENT_DEPTH)
				return fail(c, "comments nested too deeply");
		} else if (ch == ')') {
			if (--depth == 0)
				return 0;
		}
	}
	return fail(c, "unterminated comment");
}

static int skip_cfws(struct cur *c)
{
	while (c->p < c->end) {
		unsigned char ch = *c->p;
		if (ch == ' ' || ch == '\t' || ch == '\r' || ch == '\n')
			c->p++;
		else if (ch == '(') {
			if (skip_comment(c) < 0)
				return -1;
		} else
			break;
	}
	return 0;
}

static int parse_day_name(struct cur *c)
{
	char w[4];
	if (c->p == c->end || !is_alpha(*c->p))
		return 0;
	if (lookup3(w, read_word(c, w, 3), day_names, 7) < 0)
		return fail(c, "invalid day name");
	if (skip_cfws(c) < 0)
		return -1;
	if (peek(c, ',')) {
		c->p++;
		return skip_cfws(c);
	}
	return 0;
}

static int parse_date(struct cur *c, struct fields *f)
{
	if (read_number(c, 1, 2, &f->day, "bad day of month") < 0 || skip_cfws(c) < 0 ||
	    read_month(c, f) < 0 || skip_cfws(c) < 0)
		return -1;
	int nd = read_number(c, 2, 4, &f->year, "bad year");
	if (nd < 0)
		return -1;
	if (nd == 2) /* RFC 5322 4.3 */
		f->year += f->year < 50 ? 2000 : 1900;
	else if (nd == 3)
		f->year += 1900;
	return skip_cfws(c);
}

static int parse_time(struct cur *c, struct fields *f)
{
	if (read_number(c, 1, 2, &f->hour, "bad hour") < 0 || skip_cfws(c) < 0)
		return -1;
	if (!peek(c, ':'))
		return fail(c, "bad time (expected ':')");
	c->p++;
	if (skip_cfws(c) < 0 || read_number(c, 2, 2, &f->min, "bad minute") < 0 ||
	    skip_cfws(c) < 0)
		return -1;
	f->sec = 0;
	if (peek(c, ':')) {
		c->p++;
		if (skip_cfws(c) < 0 || read_number(c, 2, 2, &f->sec, "bad second") < 0 ||
		    skip_cfws(c) < 0)
			return -1;
	}
	return 0;
}

static const struct {
	const char *name;
	int offset;
} zone_names[] = {
	{ "ut", 0 }, { "gmt", 0 }, { "utc", 0 },
	{ "est", -300 }, { "edt", -240 }, { "cst", -360 }, { "cdt", -300 },
	{ "mst", -420 }, { "mdt", -360 }, { "pst", -480 }, { "pdt", -420 },
};

/* Alphabetic zones: RFC 5322 4.3 says military letters and unknown names
 * carry no reliable information and mean -0000. */
static int zone_by_name(struct cur *c, struct fields *f)
{
	char w[6];
	size_t n = read_word(c, w, 5);
	f->zone = 0;
	if (n > 5)
		return fail(c, "bad zone");
	for (size_t i = 0; i < sizeof zone_names / sizeof zone_names[0]; i++)
		if (strcmp(w, zone_names[i].name) == 0)
			f->zone = zone_names[i].offset;
	if (n == 1 && w[0] == 'j')
		return fail(c, "bad zone (J is not a military zone)");
	return skip_cfws(c);
}

static int zone_numeric(struct cur *c, struct fields *f)
{
	int neg = *c->p++ == '-', v;
	if (read_number(c, 4, 4, &v, "bad zone offset") < 0)
		return -1;
	if (v / 100 > 23 || v % 100 > 59)
		return fail(c, "zone offset out of range");
	f->zone = (v / 100 * 60 + v % 100) * (neg ? -1 : 1);
	if (skip_cfws(c) < 0)
		return -1;
	if (c->p < c->end && is_alpha(*c->p)) { /* "+0100 CET": the name is a remark */
		char w[6];
		if (read_word(c, w, 5) > 5)
			return fail(c, "trailing garbage after zone");
		return skip_cfws(c);
	}
	return 0;
}

static int parse_zone(struct cur *c, struct fields *f)
{
	f->zone = 0;
	if (c->p == c->end)
		return 0; /* no zone at all: the real world's -0000 */
	if (*c->p == '+' || *c->p == '-')
		return zone_numeric(c, f);
	if (is_alpha(*c->p))
		return zone_by_name(c, f);
	return fail(c, "bad zone");
}

int date_parse_rfc5322(const char *s, size_t len, time_t *t, int *zone_min,
		       const char **err)
{
	struct cur c = { (const unsigned char *)s, (const unsigned char *)s + len, NULL };
	struct fields f = { 0, 0, 0, 0, 0, 0, 0 };
	if (len > DATE_MAX_INPUT)
		return set_err(err, "date too long");
	if (skip_cfws(&c) < 0 || parse_day_name(&c) < 0 || parse_date(&c, &f) < 0 ||
	    parse_time(&c, &f) < 0 || parse_zone(&c, &f) < 0)
		return set_err(err, c.err);
	if (c.p != c.end)
		return set_err(err, "trailing garbage after date");
	if (fields_finish(&f, t, err) < 0)
		return -1;
	*zone_min = f.zone;
	return 0;
}

/* ---- IMAP ---- */

static int expect(struct cur *c, unsigned char ch, const char *msg)
{
	if (!peek(c, ch))
		return fail(c, msg);
	c->p++;
	return 0;
}

/* The input without its surrounding double quotes, if it has both. */
static int imap_unquote(struct cur *c)
{
	int open = peek(c, '"');
	int close = c->end > c->p && c->end[-1] == '"';
	if (open && close && c->end - c->p >= 2) {
		c->p++;
		c->end--;
		return 0;
	}
	return open || close ? fail(c, "unbalanced quotes") : 0;
}

/* "dd-Mon-yyyy" with the day as " d", "d" or "dd". */
static int imap_day_month_year(struct cur *c, struct fields *f)
{
	if (peek(c, ' ')) {
		c->p++;
		if (read_number(c, 1, 1, &f->day, "bad day of month") < 0)
			return -1;
	} else if (read_number(c, 1, 2, &f->day, "bad day of month") < 0) {
		return -1;
	}
	if (expect(c, '-', "bad date (expected '-')") < 0 || read_month(c, f) < 0 ||
	    expect(c, '-', "bad date (expected '-')") < 0)
		return -1;
	return read_number(c, 4, 4, &f->year, "bad year") < 0 ? -1 : 0;
}

static int imap_time_zone(struct cur *c, struct fields *f)
{
	int v;
	if (expect(c, ' ', "bad date-time (expected space)") < 0 ||
	    read_number(c, 2, 2, &f->hour, "bad hour") < 0 ||
	    expect(c, ':', "bad time (expected ':')") < 0 ||
	    read_number(c, 2, 2, &f->min, "bad minute") < 0 ||
	    expect(c, ':', "bad time (expected ':')") < 0 ||
	    read_number(c, 2, 2, &f->sec, "bad second") < 0 ||
	    expect(c, ' ', "bad date-time (expected space)") < 0)
		return -1;
	if (!peek(c, '+') && !peek(c, '-'))
		return fail(c, "bad zone");
	int neg = *c->p++ == '-';
	if (read_number(c, 4, 4, &v, "bad zone offset") < 0)
		return -1;
	if (v / 100 > 23 || v % 100 > 59)
		return fail(c, "zone offset out of range");
	f->zone = (v / 100 * 60 + v % 100) * (neg ? -1 : 1);
	return 0;
}

int date_parse_imap_datetime(const char *s, size_t len, time_t *t, int *zone_min,
			     const char **err)
{
	struct cur c = { (const unsigned char *)s, (const unsigned char *)s + len, NULL };
	struct fields f = { 0, 0, 0, 0, 0, 0, 0 };
	if (len > DATE_MAX_INPUT)
		return set_err(err, "date too long");
	if (imap_unquote(&c) < 0 || imap_day_month_year(&c, &f) < 0 ||
	    imap_time_zone(&c, &f) < 0)
		return set_err(err, c.err);
	if (c.p != c.end)
		return set_err(err, "trailing garbage after date-time");
	if (fields_finish(&f, t, err) < 0)
		return -1;
	*zone_min = f.zone;
	return 0;
}

int date_parse_imap_date(const char *s, size_t len, time_t *day, const char **err)
{
	struct cur c = { (const unsigned char *)s, (const unsigned char *)s + len, NULL };
	struct fields f = { 0, 0, 0, 0, 0, 0, 0 };
	if (len > DATE_MAX_INPUT)
		return set_err(err, "date too long");
	if (imap_unquote(&c) < 0 || imap_day_month_year(&c, &f) < 0)
		return set_err(err, c.err);
	if (c.p != c.end)
		return set_err(err, "trailing garbage after date");
	return fields_finish(&f, day, err);
}
