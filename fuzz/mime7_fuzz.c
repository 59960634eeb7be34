/* mime7_fuzz: lib/mime7, the 7-bit downgrade remote(8) applies to 8-bit
 * messages for servers without 8BITMIME. The input is the message.
 * Invariants: a conversion either succeeds with output free of 8-bit bytes,
 * or fails with a reason starting "5.6.3 "; 7-bit input comes out byte for
 * byte; the output stays within a linear bound of the input; converting the
 * output again changes nothing (it is 7-bit). */
#include "fuzz.h"
#include "buf.h"
#include "mime7.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *msg = (const char *)data;
	struct buf out = BUF_INIT, why = BUF_INIT, again = BUF_INIT;
	int r = mime7_convert(msg, size, &out, &why);
	if (r == 0) {
		FUZZ_CHECK(why.len == 0);
		FUZZ_CHECK(!mime7_is_8bit(out.data, out.len));
		/* quoted-printable: 3 bytes per byte plus soft breaks; added fields */
		FUZZ_CHECK(out.len <= size * 4 + 256 * (MIME7_MAX_PARTS + 1));
		if (!mime7_is_8bit(data, size))
			FUZZ_CHECK(out.len == size && (size == 0 || memcmp(out.data, data, size) == 0));
		FUZZ_CHECK(mime7_convert(out.data ? out.data : "", out.len, &again, &why) == 0);
		FUZZ_CHECK(again.len == out.len &&
			   (out.len == 0 || memcmp(again.data, out.data, out.len) == 0));
	} else {
		FUZZ_CHECK(r == -1);
		FUZZ_CHECK(why.len > 6 && memcmp(why.data, "5.6.3 ", 6) == 0);
	}
	buf_free(&out);
	buf_free(&why);
	buf_free(&again);
	return 0;
}
