/* mutf7_fuzz: lib/mutf7 (IMAP modified UTF-7 mailbox names).
 * Invariants: decode success gives valid UTF-8 that encodes back to exactly
 * the input (only the canonical form is accepted); any valid UTF-8 without
 * NUL encodes, and the encoding decodes back to it; failures leave out
 * untouched. */
#include "fuzz.h"
#include "buf.h"
#include "mutf7.h"
#include "utf8.h"

static void check_decode(const char *s, size_t len)
{
	struct buf dec = BUF_INIT;
	buf_append_str(&dec, "x");
	const char *err = NULL;
	if (mutf7_decode(&dec, s, len, &err) == 0) {
		FUZZ_CHECK(utf8_valid(dec.data + 1, dec.len - 1));
		struct buf enc = BUF_INIT;
		FUZZ_CHECK(mutf7_encode(&enc, dec.data + 1, dec.len - 1, NULL) == 0);
		FUZZ_CHECK(fuzz_eq(enc.data, enc.len, s, len));
		buf_free(&enc);
	} else {
		FUZZ_CHECK(err != NULL && dec.len == 1);
	}
	buf_free(&dec);
}

static void check_encode(const char *s, size_t len)
{
	struct buf enc = BUF_INIT;
	const char *err = NULL;
	int ok = utf8_valid(s, len) && memchr(s, '\0', len) == NULL;
	int rc = mutf7_encode(&enc, s, len, &err);
	FUZZ_CHECK((rc == 0) == ok);
	if (rc == 0) {
		struct buf dec = BUF_INIT;
		for (size_t i = 0; i < enc.len; i++)
			FUZZ_CHECK(enc.data[i] >= 0x20 && enc.data[i] < 0x7f);
		if (mutf7_decode(&dec, enc.data, enc.len, &err) != 0)
			fprintf(stderr, "\"%.*s\": %s\n", (int)enc.len, enc.data, err);
		FUZZ_CHECK(fuzz_eq(dec.data, dec.len, s, len));
		buf_free(&dec);
	} else {
		FUZZ_CHECK(enc.len == 0);
	}
	buf_free(&enc);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	check_decode((const char *)data, size);
	check_encode((const char *)data, size);
	return 0;
}
