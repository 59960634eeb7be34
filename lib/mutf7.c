/* mutf7: IMAP modified UTF-7 encoder (from strict UTF-8) and a decoder
 * that accepts only canonical, minimal encodings. Input is untrusted. */
#include "mutf7.h"
#include "buf.h"
#include "utf8.h"

#include <stdint.h>

static const char alphabet[] =
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+,";

static int set_err(const char **err, const char *msg)
{
	if (err)
		*err = msg;
	return -1;
}

static int printable(uint32_t c)
{
	return c >= 0x20 && c <= 0x7e;
}

/* ---- encoding ---- */

struct shift {
	int open;
	uint32_t bits;  /* pending bits, lowest nbits of them */
	int nbits;
};

static void shift_unit(struct buf *out, struct shift *s, uint32_t unit)
{
	if (!s->open) {
		buf_append_char(out, '&');
		s->open = 1;
	}
	s->bits = (s->bits << 16 | unit) & 0x3fffff; /* at most 4 + 16 bits matter */
	s->nbits += 16;
	while (s->nbits >= 6) {
		s->nbits -= 6;
		buf_append_char(out, alphabet[(s->bits >> s->nbits) & 63]);
	}
}

static void shift_close(struct buf *out, struct shift *s)
{
	if (!s->open)
		return;
	if (s->nbits > 0) /* pad the last sextet with zero bits */
		buf_append_char(out, alphabet[(s->bits << (6 - s->nbits)) & 63]);
	buf_append_char(out, '-');
	s->open = 0;
	s->bits = 0;
	s->nbits = 0;
}

int mutf7_encode(struct buf *out, const char *utf8, size_t len, const char **err)
{
	struct shift s = { 0, 0, 0 };
	size_t start = out->len;
	for (size_t i = 0; i < len;) {
		uint32_t cp;
		size_t n = utf8_decode(utf8 + i, len - i, &cp);
		if (n == 0 || cp == 0) {
			buf_truncate(out, start);
			return set_err(err, n == 0 ? "invalid UTF-8 in mailbox name"
						   : "NUL in mailbox name");
		}
		i += n;
		if (printable(cp)) {
			shift_close(out, &s);
			if (cp == '&')
				buf_append(out, "&-", 2);
			else
				buf_append_char(out, (char)cp);
		} else if (cp >= 0x10000) {
			cp -= 0x10000;
			shift_unit(out, &s, 0xd800 | cp >> 10);
			shift_unit(out, &s, 0xdc00 | (cp & 0x3ff));
		} else {
			shift_unit(out, &s, cp);
		}
	}
	shift_close(out, &s);
	return 0;
}

/* ---- decoding ---- */

static int sextet(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	return c == ',' ? 63 : -1;
}

static void put_utf8(struct buf *out, uint32_t cp)
{
	char u[4];
	size_t n;
	if (cp < 0x80) {
		u[0] = (char)cp;
		n = 1;
	} else if (cp < 0x800) {
		u[0] = (char)(0xc0 | cp >> 6);
		u[1] = (char)(0x80 | (cp & 63));
		n = 2;
	} else if (cp < 0x10000) {
		u[0] = (char)(0xe0 | cp >> 12);
		u[1] = (char)(0x80 | (cp >> 6 & 63));
		u[2] = (char)(0x80 | (cp & 63));
		n = 3;
	} else {
		u[0] = (char)(0xf0 | cp >> 18);
		u[1] = (char)(0x80 | (cp >> 12 & 63));
		u[2] = (char)(0x80 | (cp >> 6 & 63));
		u[3] = (char)(0x80 | (cp & 63));
		n = 4;
	}
	buf_append(out, u, n);
}

/* One UTF-16 unit from a shift; *high holds a pending high surrogate. */
static const char *take_unit(struct buf *out, uint32_t unit, uint32_t *high)
{
	uint32_t cp = unit;
	if (*high) {
		if (unit < 0xdc00 || unit > 0xdfff)
			return "unpaired high surrogate in mailbox name";
		cp = 0x10000 + ((*high - 0xd800) << 10) + (unit - 0xdc00);
		*high = 0;
	} else if (unit >= 0xd800 && unit <= 0xdbff) {
		*high = unit;
		return NULL;
	} else if (unit >= 0xdc00 && unit <= 0xdfff) {
		return "unpaired low surrogate in mailbox name";
	}
	if (cp == 0)
		return "NUL in mailbox name";
	if (printable(cp))
		return "printable ASCII encoded in base64 in mailbox name";
	put_utf8(out, cp);
	return NULL;
}

/* The base64 shift starting after '&' at in[*i]; leaves *i after its '-'. */
static const char *decode_shift(struct buf *out, const unsigned char *in, size_t len,
				size_t *i)
{
	uint32_t bits = 0, high = 0;
	int nbits = 0;
	for (; *i < len && in[*i] != '-'; (*i)++) {
		int v = sextet(in[*i]);
		if (v < 0)
			return "invalid character in base64 shift of mailbox name";
		bits = (bits << 6 | (uint32_t)v) & 0x3fffff;
		nbits += 6;
		if (nbits >= 16) {
			nbits -= 16;
			const char *e = take_unit(out, bits >> nbits & 0xffff, &high);
			if (e)
				return e;
		}
	}
	if (*i == len)
		return "unterminated base64 shift in mailbox name";
	(*i)++;
	if (high)
		return "unpaired high surrogate in mailbox name";
	if (nbits >= 6)
		return "non-minimal base64 (extra characters) in mailbox name";
	if (bits & ((1u << nbits) - 1))
		return "non-minimal base64 (nonzero padding bits) in mailbox name";
	return NULL;
}

int mutf7_decode(struct buf *out, const char *in, size_t len, const char **err)
{
	const unsigned char *p = (const unsigned char *)in;
	size_t start = out->len, shift_end = (size_t)-1;
	for (size_t i = 0; i < len;) {
		const char *e = NULL;
		if (!printable(p[i])) {
			e = "invalid character in mailbox name";
		} else if (p[i] != '&') {
			buf_append_char(out, (char)p[i++]);
		} else if (i + 1 < len && p[i + 1] == '-') {
			buf_append_char(out, '&');
			i += 2;
		} else if (i == shift_end) {
			e = "non-minimal modified UTF-7 (two shifts in a row)";
		} else {
			i++;
			e = decode_shift(out, p, len, &i);
			shift_end = i;
		}
		if (e) {
			buf_truncate(out, start);
			return set_err(err, e);
		}
	}
	return 0;
}
