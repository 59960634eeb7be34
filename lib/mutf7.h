/* mutf7: IMAP modified UTF-7 mailbox names (RFC 3501 5.1.3), strictly.
 *
 * Encoding takes UTF-8 (checked with lib/utf8: overlong forms, surrogates,
 * truncation, values above U+10FFFF and U+0000 are refused) and writes
 * printable ASCII as itself, "&" as "&-", and every other run of characters
 * as "&" + modified base64 of UTF-16BE + "-".
 * Decoding accepts only the one canonical encoding: it refuses bytes outside
 * printable ASCII, unterminated shifts, characters outside the modified
 * base64 alphabet (A-Z a-z 0-9 + ,), printable ASCII or U+0000 encoded in
 * base64, unpaired surrogates, leftover base64 characters or nonzero padding
 * bits, and two base64 shifts in a row (they must be one).
 * Both return 0, or -1 with a static English message in *err (when err is
 * not NULL) and out left as it was. */
#ifndef ESTAFETTE_MUTF7_H
#define ESTAFETTE_MUTF7_H

#include <stddef.h>

struct buf;

int mutf7_encode(struct buf *out, const char *utf8, size_t len, const char **err);
int mutf7_decode(struct buf *out, const char *in, size_t len, const char **err);

#endif
