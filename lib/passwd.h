/* passwd: hash new passwords and verify passwords against stored hashes.
 *
 * New hashes are crypt(3) strings made by libxcrypt with a fresh random salt:
 * yescrypt ($y$, the default, at the library's default cost), bcrypt ($2b$,
 * cost 10) or sha512-crypt ($6$, 100000 rounds). The library's own defaults
 * for the last two (cost 5, 5000 rounds) are far too cheap today.
 *
 * passwd_verify() accepts what userdb files, Dovecot, Courier and LDAP store:
 *   a bare crypt(3) string            $y$..., $2b$..., $6$..., $5$..., ...
 *   {CRYPT}<crypt string>             any method libxcrypt supports
 *   {YESCRYPT} {SHA512-CRYPT} {SHA256-CRYPT} {BLF-CRYPT} {BCRYPT}
 *                                     a crypt string of that method only
 *   {MD5-CRYPT}$1$...                 verify only; weak, migrate away from it
 *   {SHA} {SSHA} {SHA256} {SSHA256} {SHA512} {SSHA512}
 *                                     base64(digest[ + salt]) as LDAP stores it
 *   {PLAIN} {CLEARTEXT}               verify only; INSECURE: the password is
 *                                     stored as it is, anyone reading the file
 *                                     has it
 * Scheme names are case-insensitive. Comparisons are constant-time. A stored
 * value that is empty, locked ("*", "!..."), malformed, over-long, of an
 * unknown scheme or too costly (the limits below) never verifies; neither
 * does an empty password, one longer than PASSWD_MAX bytes or one with a NUL.
 *
 * Nothing here logs; passwords are wiped from the memory this module used. */
#ifndef ESTAFETTE_PASSWD_H
#define ESTAFETTE_PASSWD_H

#include <stddef.h>

struct buf;

#define PASSWD_MAX        511  /* longest password, in bytes: libxcrypt's limit */
#define PASSWD_STORED_MAX 4096 /* longest stored value considered */
#define PASSWD_BCRYPT_MAX 72   /* bcrypt ignores what follows; we refuse to hash it */

/* The most work a stored hash may ask of passwd_verify() (a few seconds):
 * anything above is treated as unusable, not computed. */
#define PASSWD_BCRYPT_COST_MAX 16
#define PASSWD_SHA_ROUNDS_MAX  5000000UL
#define PASSWD_YESCRYPT_MEM_MAX (256ULL << 20) /* yescrypt/scrypt 128*r*N*p bytes */
/* Older methods libxcrypt still verifies, whose counts go up to 2^32 (hours): */
#define PASSWD_SHA1_ROUNDS_MAX   1000000UL  /* $sha1$ (NetBSD), ~3 us a round */
#define PASSWD_SUNMD5_ROUNDS_MAX 250000UL   /* $md5,rounds= (Solaris), ~8 us */
#define PASSWD_BSDI_COUNT_MAX    (1UL << 22) /* _ (BSDi extended DES), ~0.7 us */

enum passwd_scheme {
	PASSWD_YESCRYPT,
	PASSWD_BCRYPT,
	PASSWD_SHA512_CRYPT,
};
#define PASSWD_DEFAULT PASSWD_YESCRYPT

/* "yescrypt", "bcrypt", "sha512-crypt" (case-insensitive): 0, or -1 if unknown. */
int passwd_scheme_parse(const char *name, enum passwd_scheme *out);
const char *passwd_scheme_name(enum passwd_scheme scheme);

/* Why pw (len bytes) cannot be hashed with scheme, or NULL if it can. */
const char *passwd_check_input(const char *pw, size_t len, enum passwd_scheme scheme);

/* Hash pw (len bytes) into out as a crypt(3) string. 0, or -1 with errno:
 * EINVAL for a password passwd_check_input() refuses, otherwise libxcrypt's
 * error (e.g. no random bytes). */
int passwd_hash(const char *pw, size_t len, enum passwd_scheme scheme, struct buf *out);

/* 1 if pw (len bytes) matches stored (a C string), 0 in every other case. */
int passwd_verify(const char *pw, size_t len, const char *stored);

#endif
