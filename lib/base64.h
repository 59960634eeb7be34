/* base64: RFC 4648 / RFC 2045 base64 encoding and decoding.
 *
 * Two decoders, because the two users want opposite things:
 *  - strict (SASL, AUTH, anything a peer sends us as one token): the input
 *    must be canonical base64, length a multiple of 4, correct padding,
 *    unused bits zero, no whitespace; any deviation is an error and out is
 *    left as it was.
 *  - MIME (RFC 2045 6.8, message bodies): characters outside the alphabet
 *    (line breaks, whitespace, garbage) are ignored, the first '=' ends the
 *    data, missing padding is tolerated. The only error is a final group of
 *    a single character, whose 6 bits cannot make a byte ("truncated"); the
 *    bytes decoded before it are kept in out.
 * The MIME decoder also exists as a stream (init, feed any number of pieces,
 * finish), with results identical however the input is cut.
 * Decoders append to out; errors are static English strings in *err (when
 * err is not NULL). Input may contain NUL bytes; it is never trusted. */
#ifndef ESTAFETTE_BASE64_H
#define ESTAFETTE_BASE64_H

#include <stddef.h>
#include <stdint.h>

struct buf;

#define BASE64_LINE 76 /* RFC 2045 line length, without the line break */

enum base64_wrap {
	BASE64_NOWRAP,     /* one line, no line break */
	BASE64_WRAP_CRLF,  /* lines of 76, every line (the last too) ends in CRLF */
	BASE64_WRAP_LF,    /* the same with LF */
};

void base64_encode(struct buf *out, const void *data, size_t len, enum base64_wrap wrap);

int base64_decode_strict(struct buf *out, const char *in, size_t len, const char **err);
int base64_decode_mime(struct buf *out, const char *in, size_t len, const char **err);

/* The incremental MIME decoder. A zeroed struct is also a valid start. */
struct base64_dec {
	uint32_t bits;   /* pending sextets, most recent lowest */
	unsigned count;  /* sextets pending (0-3) */
	int ended;       /* saw '=': ignore the rest */
	int truncated;   /* a lone sextet was cut off by '=' */
};

void base64_dec_init(struct base64_dec *d);
void base64_dec_feed(struct base64_dec *d, struct buf *out, const char *in, size_t len);
/* Flush what is pending; -1 if a lone final sextet was lost. Resets d. */
int base64_dec_finish(struct base64_dec *d, struct buf *out, const char **err);

#endif
