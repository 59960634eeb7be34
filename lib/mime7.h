/* mime7: an 8-bit message made 7-bit for a server that does not offer
 * 8BITMIME (RFC 6152 3: "convert the message to 7 bit ... or return it").
 *
 * Every MIME entity (RFC 2045, 2046) whose body holds bytes >= 0x80 is
 * re-encoded: text types leave as quoted-printable, every other leaf type as
 * base64 (of its canonical CRLF form), and its Content-Transfer-Encoding
 * field replaced. Multiparts are walked part by part (bounded: MIME7_MAX_DEPTH
 * levels, MIME7_MAX_PARTS entities) and message/rfc822 bodies entered, their
 * own encoding becoming 7bit; 8-bit bytes in a multipart's preamble or
 * epilogue, which no reader shows, become '?'. A non-MIME top level gets
 * MIME-Version and a text/plain Content-Type (charset utf-8 when the body is
 * valid UTF-8, else unknown-8bit). Entities that are 7-bit already are copied
 * byte for byte, so a 7-bit message comes out unchanged.
 * What cannot be converted is refused with a reason that starts with a
 * status code, for the bounce: 8-bit bytes in a header field (RFC 2047 would
 * have to guess charsets), 8-bit bytes in a base64 or quoted-printable body or
 * under an unknown encoding, a multipart without a usable boundary, and
 * nesting past the bounds. Line ends may be LF or CRLF; added lines use the
 * entity's own. Trusts nothing in the message; memory is linear (quoted-
 * printable is at most about 3.1 times its input). */
#ifndef ESTAFETTE_MIME7_H
#define ESTAFETTE_MIME7_H

#include <stddef.h>

struct buf;

#define MIME7_MAX_DEPTH 20    /* multipart and message/rfc822 levels */
#define MIME7_MAX_PARTS 1000  /* 8-bit entities examined in one message */

/* 1 if data holds a byte >= 0x80. */
int mime7_is_8bit(const void *data, size_t len);

/* Append the 7-bit form of the message data[0..len) to out: 0, or -1 with
 * why set to "5.6.3 <reason>" (out then holds a partial result: discard). */
int mime7_convert(const char *data, size_t len, struct buf *out, struct buf *why);

#endif
