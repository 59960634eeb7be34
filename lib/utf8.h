/* utf8: strict UTF-8 validation (RFC 3629).
 *
 * Rejects overlong forms, UTF-16 surrogates (U+D800..U+DFFF), code points
 * above U+10FFFF, stray continuation bytes and truncated sequences. U+0000
 * is valid UTF-8: callers that must refuse NUL bytes check for them
 * themselves. Pure functions over (pointer, length); nothing is trusted. */
#ifndef ESTAFETTE_UTF8_H
#define ESTAFETTE_UTF8_H

#include <stddef.h>
#include <stdint.h>

/* 1 if the len bytes at p are valid UTF-8, else 0. */
int utf8_valid(const void *p, size_t len);

/* Offset of the first byte of the first invalid or truncated sequence,
 * or len when all of it is valid. */
size_t utf8_first_invalid(const void *p, size_t len);

/* Decode one code point from p (at most len bytes): store it in *cp and
 * return the sequence's length (1..4), or return 0 if the sequence is
 * invalid or truncated (or len is 0). */
size_t utf8_decode(const void *p, size_t len, uint32_t *cp);

/* 1 if every byte is below 0x80. */
int utf8_is_ascii(const void *p, size_t len);

#endif
