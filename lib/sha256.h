/* sha256: SHA-256 (FIPS 180-4) and HMAC-SHA256 (RFC 2104) without OpenSSL.
 *
 * Only for auth-exec's ticket check (lib/ticket): auth-exec is the setuid
 * step of every login, and OpenSSL's start-up (loading libcrypto, its
 * providers and openssl.cnf) cost it about 3 ms of CPU per login, several
 * times the rest of its work; it also keeps the root-run helper's code small.
 * Everything else in the suite uses OpenSSL. The unit tests check these
 * functions against the FIPS/RFC 4231 vectors and against OpenSSL. */
#ifndef ESTAFETTE_SHA256_H
#define ESTAFETTE_SHA256_H

#include <stddef.h>
#include <stdint.h>

#define SHA256_LEN 32
#define SHA256_BLOCK 64

struct sha256 {
	uint32_t h[8];
	uint64_t total;                 /* bytes hashed so far */
	unsigned char block[SHA256_BLOCK];
	size_t used;                    /* bytes waiting in block */
};

void sha256_init(struct sha256 *c);
void sha256_update(struct sha256 *c, const void *data, size_t len);
void sha256_final(struct sha256 *c, unsigned char out[SHA256_LEN]);
void sha256(const void *data, size_t len, unsigned char out[SHA256_LEN]);

void hmac_sha256(const void *key, size_t key_len, const void *data, size_t len,
		 unsigned char out[SHA256_LEN]);

/* 1 if the n bytes at a and b are equal, in time that depends only on n. */
int sha256_equal(const void *a, const void *b, size_t n);

#endif
