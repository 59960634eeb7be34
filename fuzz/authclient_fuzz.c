/* authclient_fuzz: lib/authclient's reply parser and percent-decoding, as a
 * daemon reads authd's answers. The input is one reply line. Invariants: the
 * result is one of the three; an OK account has every string set (C strings:
 * NUL-free; decoded values may hold other control bytes, authclient.h does
 * not promise more) and an absolute home; a reason is printable;
 * decode(encode(x)) == x. */
#include "fuzz.h"
#include "authclient.h"
#include "buf.h"

static void check_str(const char *s)
{
	FUZZ_CHECK(s != NULL);
	(void)strlen(s); /* terminated */
}

static void check_reply(const char *s, size_t len)
{
	struct account a = ACCOUNT_INIT;
	struct buf reason = BUF_INIT;
	int r = authclient_parse_reply(s, len, &a, &reason);
	FUZZ_CHECK(r == AUTHCLIENT_OK || r == AUTHCLIENT_NO || r == AUTHCLIENT_TEMPFAIL);
	if (r == AUTHCLIENT_OK) {
		check_str(a.address);
		check_str(a.home);
		FUZZ_CHECK(a.home[0] == '/');
		check_str(a.maildir);
		check_str(a.quota);
		check_str(a.options);
		(void)account_has_option(&a, "disable-imap");
	} else {
		for (size_t i = 0; i < reason.len; i++)
			FUZZ_CHECK((unsigned char)reason.data[i] >= 0x20 && reason.data[i] != 0x7f);
	}
	FUZZ_CHECK(authclient_parse_reply(s, len, NULL, NULL) == r);
	account_free(&a);
	buf_free(&reason);
}

static void check_codec(const char *s, size_t len)
{
	struct buf enc = BUF_INIT, dec = BUF_INIT;
	authclient_encode(&enc, s, len);
	for (size_t i = 0; i < enc.len; i++)
		FUZZ_CHECK(enc.data[i] > ' ' && enc.data[i] < 0x7f && enc.data[i] != '=');
	FUZZ_CHECK(authclient_decode(&dec, enc.data, enc.len) == 0);
	FUZZ_CHECK(fuzz_eq(dec.data, dec.len, s, len));
	buf_reset(&dec);
	(void)authclient_decode(&dec, s, len);
	buf_free(&enc);
	buf_free(&dec);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	check_reply((const char *)data, size);
	check_codec((const char *)data, size);
	return 0;
}
