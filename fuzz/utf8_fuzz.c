/* utf8_fuzz: lib/utf8 (strict RFC 3629 validation and decoding).
 * Invariants: utf8_valid, utf8_first_invalid and a walk with utf8_decode
 * agree; decoded code points are in range, not surrogates and not overlong;
 * utf8_is_ascii agrees with a byte scan. */
#include "fuzz.h"
#include "utf8.h"

static size_t min_len(uint32_t cp)
{
	return cp < 0x80 ? 1 : cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t bad = utf8_first_invalid(data, size);
	FUZZ_CHECK(bad <= size);
	FUZZ_CHECK(utf8_valid(data, size) == (bad == size));
	size_t off = 0;
	while (off < size) {
		uint32_t cp = 0;
		size_t n = utf8_decode(data + off, size - off, &cp);
		if (n == 0)
			break;
		FUZZ_CHECK(n <= 4 && n <= size - off);
		FUZZ_CHECK(cp <= 0x10ffff && !(cp >= 0xd800 && cp <= 0xdfff));
		FUZZ_CHECK(n == min_len(cp));
		off += n;
	}
	FUZZ_CHECK(off == bad);
	FUZZ_CHECK(utf8_valid(data, bad));
	int ascii = 1;
	for (size_t i = 0; i < size; i++)
		if (data[i] >= 0x80)
			ascii = 0;
	FUZZ_CHECK(utf8_is_ascii(data, size) == ascii);
	return 0;
}
