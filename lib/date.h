/* date: RFC 5322 and IMAP (RFC 3501) date-time formatting and parsing.
 *
 * Calendar arithmetic is done here (proleptic Gregorian, days from
 * 1970-01-01), never through mktime() or the TZ variable, and is valid for
 * the years 1900-9999; times outside that range are refused on both sides.
 * Parsers trust nothing: input is a length-counted byte string (NULs are
 * just invalid characters), capped at DATE_MAX_INPUT bytes. Every function
 * returns 0 on success, or -1 and sets *err (when err is not NULL) to a static
 * English message. Zone offsets are in minutes east of UTC. */
#ifndef ESTAFETTE_DATE_H
#define ESTAFETTE_DATE_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

struct buf;

#define DATE_MIN_YEAR 1900
#define DATE_MAX_YEAR 9999
#define DATE_MAX_INPUT 998         /* a header line; longer input is refused */
#define DATE_MAX_COMMENT_DEPTH 8   /* nested comments in CFWS */

enum date_zone { DATE_ZONE_UTC, DATE_ZONE_LOCAL };

/* Append "Sun, 22 Nov 2026 02:41:16 +0000" (for Date: and Received:). */
int date_format_rfc5322(struct buf *out, time_t t, enum date_zone zone);
int date_format_rfc5322_offset(struct buf *out, time_t t, int zone_min);

/* Append the IMAP date-time WITH its double quotes, day space-padded:
 * "\" 2-Nov-2026 02:41:16 +0000\"" (INTERNALDATE). */
int date_format_imap(struct buf *out, time_t t, enum date_zone zone);
int date_format_imap_offset(struct buf *out, time_t t, int zone_min);

/* Local zone offset at t, in whole minutes (from localtime_r). */
int date_local_offset(time_t t, int *zone_min);

/* RFC 5322 date-time with the obsolete syntax of section 4.5 and common
 * real-world variants: optional day name (comma optional), 1-2 digit day,
 * month names in any case, 2- and 3-digit years (4.3), 1-2 digit hour,
 * optional seconds (60 allowed), numeric zones, obsolete and unknown
 * alphabetic zones (unknown ones and military letters mean -0000, i.e. 0), a
 * zone name after a numeric zone ("+0100 CET") ignored, a missing zone taken
 * as -0000, comments and folding whitespace anywhere between tokens. The day
 * name is not checked against the date. */
int date_parse_rfc5322(const char *s, size_t len, time_t *t, int *zone_min,
		       const char **err);

/* IMAP date-time "dd-Mon-yyyy hh:mm:ss +zzzz", with or without its double
 * quotes; the day may be " 2", "02" or "2". */
int date_parse_imap_datetime(const char *s, size_t len, time_t *t, int *zone_min,
			     const char **err);

/* IMAP date "2-Nov-2026" (SEARCH SINCE/BEFORE/ON), optionally quoted; *day
 * is 00:00:00 UTC of that day (callers shift it to the zone they compare in). */
int date_parse_imap_date(const char *s, size_t len, time_t *day, const char **err);

/* Calendar arithmetic, exposed for callers that need day boundaries.
 * date_days_from_civil: days since 1970-01-01 (negative before); month 1-12,
 * year 1-9999, day not checked (validate first).
 * date_civil_from_days: the inverse; wday is 0 for Sunday.
 * Arguments outside years 1-9999 are a caller's bug and abort(). */
int64_t date_days_from_civil(int year, int month, int day);
void date_civil_from_days(int64_t days, int *year, int *month, int *day, int *wday);

#endif
