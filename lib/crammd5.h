/* crammd5: CRAM-MD5 (RFC 2195) for the server: the challenge, the client's
 * response, and the check against a stored secret.
 *
 * Stored secrets accepted: "{CRAM-MD5}" + 64 hex digits, the HMAC-MD5
 * context as Dovecot (and Courier's hmac-md5pw, without the prefix) stores
 * it: the MD5 states after the outer and the inner key block, each as four
 * little-endian 32-bit words; or "{PLAIN}"/"{CLEARTEXT}" + the password.
 * The context is password-equivalent for CRAM-MD5: protect it like the
 * password itself. Comparisons are constant-time. */
#ifndef ESTAFETTE_CRAMMD5_H
#define ESTAFETTE_CRAMMD5_H

#include <stddef.h>

struct buf;

#define CRAMMD5_MAX_RESPONSE 1024 /* "user SP 32 hex digits", in bytes */

/* Append a fresh challenge "<random.time@host>" (host: a C string). 0 or -1. */
int crammd5_challenge(struct buf *out, const char *host);
/* Split a response "user SP hexdigest": 0 with user (no control bytes, 1-512
 * bytes) and the 16-byte digest, or -1. */
int crammd5_parse(const char *msg, size_t len, struct buf *user, unsigned char digest[16]);
/* 1 if digest is HMAC-MD5(secret, challenge) for the stored secret (a C
 * string), 0 otherwise (also for a stored value of another form). */
int crammd5_verify(const char *stored, const void *challenge, size_t clen,
		   const unsigned char digest[16]);
/* Append "{CRAM-MD5}" + the hex context for pw. 0 or -1. */
int crammd5_secret_make(const char *pw, size_t len, struct buf *out);

#endif
