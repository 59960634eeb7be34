/* mimetext: the text of a message as a reader sees it, for searching:
 * RFC 2047 encoded words decoded, transfer encodings (RFC 2045 base64 and
 * quoted-printable) undone, and charsets converted to UTF-8 (iconv).
 * Trusts nothing: unknown charsets and invalid bytes never fail, they are
 * kept (as bytes of the original, which may then not be valid UTF-8);
 * conversions are bounded by MIMETEXT_MAX_EXPANSION times the input. */
#ifndef ESTAFETTE_MIMETEXT_H
#define ESTAFETTE_MIMETEXT_H

#include <stddef.h>

struct buf;
struct mime_msg;

#define MIMETEXT_MAX_EXPANSION 4
#define MIMETEXT_MAX_WORDS 1000 /* encoded words decoded per header value */

/* Append data in charset (any case; NULL or "" for US-ASCII) to out as UTF-8.
 * UTF-8, US-ASCII and unknown charsets are copied as they are. */
void mimetext_to_utf8(struct buf *out, const char *charset, const char *data, size_t len);

/* Append a header value with its encoded words ("=?cs?B?...?=", "=?cs?Q?...?=")
 * decoded to UTF-8; white space between two encoded words is dropped (RFC 2047
 * 6.2); a malformed word is kept as written. Line breaks of folding are
 * removed. */
void mimetext_header(struct buf *out, const char *value, size_t len);

/* Append the decoded body of part i of m (its transfer encoding undone, and for
 * text parts the charset converted), for every leaf part under i when it is a
 * multipart or message. Header fields of the parts are not included. */
void mimetext_body(struct buf *out, const struct mime_msg *m, int i);

/* Case-insensitive substring search (ASCII letters folded; other bytes, such as
 * UTF-8 sequences, must match exactly). An empty needle matches. Linear in
 * hay times needle only in the worst case of repetitive input. */
int mimetext_contains(const char *hay, size_t hay_len, const char *needle, size_t needle_len);

#endif
