/* date_fuzz: lib/date (RFC 5322 date-time, IMAP date-time and date).
 * The first byte picks the parser; the rest is the text. Invariant: a time
 * that parses formats (in the zone it was given in) to text that parses back
 * to the same time and zone. Leap seconds (":60") may move by one second. */
#include "fuzz.h"
#include "buf.h"
#include "date.h"

static void check_same(time_t t, int zone, time_t t2, int zone2)
{
	FUZZ_CHECK(zone == zone2);
	FUZZ_CHECK(t2 == t);
}

static void round_trip(time_t t, int zone, int imap)
{
	struct buf text = BUF_INIT;
	int rc = imap ? date_format_imap_offset(&text, t, zone)
		      : date_format_rfc5322_offset(&text, t, zone);
	if (rc == 0) {
		time_t t2 = 0;
		int zone2 = 0;
		const char *err = NULL;
		rc = imap ? date_parse_imap_datetime(text.data, text.len, &t2, &zone2, &err)
			  : date_parse_rfc5322(text.data, text.len, &t2, &zone2, &err);
		if (rc != 0)
			fprintf(stderr, "\"%.*s\": %s\n", (int)text.len, text.data, err);
		FUZZ_CHECK(rc == 0);
		check_same(t, zone, t2, zone2);
	}
	buf_free(&text);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_in in;
	fuzz_in_init(&in, data, size);
	unsigned opt = fuzz_take_byte(&in);
	const char *s = (const char *)in.p;
	const char *err = NULL;
	time_t t = 0;
	int zone = 0;
	switch (opt % 3) {
	case 0:
		if (date_parse_rfc5322(s, in.len, &t, &zone, &err) == 0) {
			round_trip(t, zone, 0);
			round_trip(t, zone, 1);
		} else {
			FUZZ_CHECK(err != NULL);
		}
		break;
	case 1:
		if (date_parse_imap_datetime(s, in.len, &t, &zone, &err) == 0)
			round_trip(t, zone, 1);
		else
			FUZZ_CHECK(err != NULL);
		break;
	default:
		if (date_parse_imap_date(s, in.len, &t, &err) == 0)
			FUZZ_CHECK(t % 86400 == 0);
		else
			FUZZ_CHECK(err != NULL);
		break;
	}
	return 0;
}
