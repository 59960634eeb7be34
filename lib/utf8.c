/* utf8: strict UTF-8 decoding and validation; trusts nothing in its input. */
#include "utf8.h"

/* Length of the sequence a lead byte announces, 0 for a byte that cannot lead. */
static size_t utf8_lead_len(unsigned char c)
{
	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf) /* 0xc0, 0xc1 could only be overlong */
		return 2;
	if (c >= 0xe0 && c <= 0xef)
		return 3;
	if (c >= 0xf0 && c <= 0xf4) /* 0xf5.. would exceed U+10FFFF */
		return 4;
	return 0;
}

size_t utf8_decode(const void *p, size_t len, uint32_t *cp)
{
	const unsigned char *s = p;
	if (len == 0)
		return 0;
	size_t n = utf8_lead_len(s[0]);
	if (n == 0 || n > len)
		return 0;
	if (n == 1) {
		*cp = s[0];
		return 1;
	}
	uint32_t c = s[0] & (0x7f >> n);
	for (size_t i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		c = (c << 6) | (s[i] & 0x3f);
	}
	static const uint32_t min[5] = { 0, 0, 0x80, 0x800, 0x10000 };
	if (c < min[n] || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
		return 0;
	*cp = c;
	return n;
}

size_t utf8_first_invalid(const void *p, size_t len)
{
	const unsigned char *s = p;
	size_t i = 0;
	while (i < len) {
		if (s[i] < 0x80) { /* fast path for ASCII */
			i++;
			continue;
		}
		uint32_t cp;
		size_t n = utf8_decode(s + i, len - i, &cp);
		if (n == 0)
			return i;
		i += n;
	}
	return len;
}

int utf8_valid(const void *p, size_t len)
{
	return utf8_first_invalid(p, len) == len;
}

int utf8_is_ascii(const void *p, size_t len)
{
	const unsigned char *s = p;
	for (size_t i = 0; i < len; i++)
		if (s[i] >= 0x80)
			return 0;
	return 1;
}
