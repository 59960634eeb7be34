/* base64: encoder with optional MIME line wrapping, a strict decoder for
 * protocol tokens and a lenient, incremental decoder for MIME bodies.
 * Input is untrusted; output sizes are computed with checked arithmetic. */
#include "base64.h"
#include "alloc.h"
#include "buf.h"

static const char alphabet[] =
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

#define GROUPS_PER_LINE (BASE64_LINE / 4)

/* The 6-bit value of c, or -1 if c is not in the alphabet. */
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
	if (c == '/')
		return 63;
	return -1;
}

static int set_err(const char **err, const char *msg)
{
	if (err)
		*err = msg;
	return -1;
}

/* Output size, including line breaks; dies (as out of memory) on overflow. */
static size_t encoded_size(size_t len, size_t eol)
{
	size_t chars, lines, breaks, total;
	if (size_mul(len / 3 + (len % 3 != 0), 4, &chars) < 0)
		die_nomem();
	lines = chars / BASE64_LINE + (chars % BASE64_LINE != 0);
	if (size_mul(lines, eol, &breaks) < 0 || size_add(chars, breaks, &total) < 0)
		die_nomem();
	return total;
}

static size_t put_eol(char *w, enum base64_wrap wrap)
{
	if (wrap == BASE64_WRAP_CRLF) {
		w[0] = '\r';
		w[1] = '\n';
		return 2;
	}
	w[0] = '\n';
	return 1;
}

void base64_encode(struct buf *out, const void *data, size_t len, enum base64_wrap wrap)
{
	const unsigned char *p = data;
	size_t eol = wrap == BASE64_NOWRAP ? 0 : wrap == BASE64_WRAP_CRLF ? 2 : 1;
	char *w = buf_space(out, encoded_size(len, eol));
	size_t o = 0, groups = 0;
	for (size_t i = 0; i < len; i += 3) {
		size_t left = len - i;
		uint32_t v = (uint32_t)p[i] << 16;
		if (left > 1)
			v |= (uint32_t)p[i + 1] << 8;
		if (left > 2)
			v |= p[i + 2];
		w[o++] = alphabet[v >> 18];
		w[o++] = alphabet[(v >> 12) & 63];
		w[o++] = left > 1 ? alphabet[(v >> 6) & 63] : '=';
		w[o++] = left > 2 ? alphabet[v & 63] : '=';
		if (eol && ++groups == GROUPS_PER_LINE) {
			o += put_eol(w + o, wrap);
			groups = 0;
		}
	}
	if (eol && groups > 0)
		o += put_eol(w + o, wrap);
	buf_commit(out, o);
}

/* One 4-character group of strict input; returns the byte count (1-3) or
 * -1. Padding is allowed only at the end of the last group. */
static int strict_group(const unsigned char *g, int last, unsigned char *bytes,
			const char **err)
{
	int v[4], pad = 0;
	for (int k = 0; k < 4; k++) {
		if (g[k] == '=' && last && k >= 2) {
			pad++;
			v[k] = 0;
			continue;
		}
		v[k] = sextet(g[k]);
		if (v[k] < 0)
			return set_err(err, "invalid character in base64");
		if (pad)
			return set_err(err, "base64 data after padding");
	}
	/* canonical form: the bits padding drops must be zero (RFC 4648 3.5) */
	if ((pad == 1 && (v[2] & 3)) || (pad == 2 && (v[1] & 15)))
		return set_err(err, "non-canonical base64 (unused bits set)");
	uint32_t n = (uint32_t)v[0] << 18 | (uint32_t)v[1] << 12 | (uint32_t)v[2] << 6 | (uint32_t)v[3];
	bytes[0] = (unsigned char)(n >> 16);
	bytes[1] = (unsigned char)(n >> 8);
	bytes[2] = (unsigned char)n;
	return 3 - pad;
}

int base64_decode_strict(struct buf *out, const char *in, size_t len, const char **err)
{
	const unsigned char *p = (const unsigned char *)in;
	if (len % 4 != 0)
		return set_err(err, "base64 length is not a multiple of 4");
	char *w = buf_space(out, len / 4 * 3);
	size_t o = 0;
	for (size_t i = 0; i < len; i += 4) {
		unsigned char bytes[3];
		int n = strict_group(p + i, i + 4 == len, bytes, err);
		if (n < 0) {
			buf_commit(out, 0); /* out unchanged; restores its NUL */
			return -1;
		}
		for (int k = 0; k < n; k++)
			w[o++] = (char)bytes[k];
	}
	buf_commit(out, o);
	return 0;
}

void base64_dec_init(struct base64_dec *d)
{
	d->bits = 0;
	d->count = 0;
	d->ended = 0;
	d->truncated = 0;
}

/* Write out what the pending sextets hold (at the end of the data). */
static size_t dec_flush(struct base64_dec *d, char *w)
{
	size_t o = 0;
	if (d->count == 1)
		d->truncated = 1;
	else if (d->count == 2)
		w[o++] = (char)(d->bits >> 4);
	else if (d->count == 3) {
		w[o++] = (char)(d->bits >> 10);
		w[o++] = (char)(d->bits >> 2);
	}
	d->bits = 0;
	d->count = 0;
	return o;
}

void base64_dec_feed(struct base64_dec *d, struct buf *out, const char *in, size_t len)
{
	const unsigned char *p = (const unsigned char *)in;
	if (d->ended || len == 0)
		return;
	/* up to 3 pending sextets plus len new ones */
	char *w = buf_space(out, len / 4 * 3 + 3);
	size_t o = 0;
	for (size_t i = 0; i < len; i++) {
		int v = sextet(p[i]);
		if (v < 0) {
			if (p[i] != '=')
				continue; /* RFC 2045 6.8: ignore what is not base64 */
			o += dec_flush(d, w + o);
			d->ended = 1;
			break;
		}
		d->bits = d->bits << 6 | (uint32_t)v;
		if (++d->count == 4) {
			w[o++] = (char)(d->bits >> 16);
			w[o++] = (char)(d->bits >> 8);
			w[o++] = (char)d->bits;
			d->bits = 0;
			d->count = 0;
		}
	}
	buf_commit(out, o);
}

int base64_dec_finish(struct base64_dec *d, struct buf *out, const char **err)
{
	char tail[2] = { 0, 0 };
	size_t n = dec_flush(d, tail);
	int truncated = d->truncated;
	buf_append(out, tail, n);
	base64_dec_init(d);
	if (truncated)
		return set_err(err, "truncated base64 (a final lone character)");
	return 0;
}

int base64_decode_mime(struct buf *out, const char *in, size_t len, const char **err)
{
	struct base64_dec d;
	base64_dec_init(&d);
	base64_dec_feed(&d, out, in, len);
	return base64_dec_finish(&d, out, err);
}
