/* crammd5: CRAM-MD5 challenge, response and check (see crammd5.h).
 *
 * Trusts nothing from the client: the response is bounded and must be
 * exactly "user SP 32 lowercase-or-uppercase hex digits". The stored context
 * form needs MD5 continued from a saved state, which only OpenSSL's
 * low-level MD5 interface offers (deprecated in OpenSSL 3, still supported). */
#define OPENSSL_SUPPRESS_DEPRECATED 1
#include "crammd5.h"
#include "buf.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/md5.h>
#include <openssl/rand.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#define PREFIX "{CRAM-MD5}"

int crammd5_challenge(struct buf *out, const char *host)
{
	unsigned char r[8];
	if (RAND_bytes(r, sizeof r) != 1)
		return -1;
	unsigned long long n = 0;
	for (size_t i = 0; i < sizeof r; i++)
		n = n << 8 | r[i];
	buf_printf(out, "<%llu.%lld@%s>", n, (long long)time(NULL), host);
	return 0;
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

static int unhex(const char *s, size_t n, unsigned char *out)
{
	for (size_t i = 0; i < n; i++) {
		int hi = hexval(s[2 * i]), lo = hexval(s[2 * i + 1]);
		if (hi < 0 || lo < 0)
			return -1;
		out[i] = (unsigned char)(hi << 4 | lo);
	}
	return 0;
}

int crammd5_parse(const char *msg, size_t len, struct buf *user, unsigned char digest[16])
{
	if (len < 34 || len > CRAMMD5_MAX_RESPONSE || msg[len - 33] != ' ')
		return -1;
	size_t ul = len - 33;
	if (ul > 512)
		return -1;
	for (size_t i = 0; i < ul; i++)
		if ((unsigned char)msg[i] < 0x20 || msg[i] == 0x7f)
			return -1;
	if (unhex(msg + ul + 1, 16, digest) < 0)
		return -1;
	buf_set(user, msg, ul);
	return 0;
}

static void put_state(unsigned char *p, const MD5_CTX *c)
{
	const MD5_LONG w[4] = { c->A, c->B, c->C, c->D };
	for (size_t i = 0; i < 4; i++)
		for (size_t j = 0; j < 4; j++)
			p[4 * i + j] = (unsigned char)(w[i] >> (8 * j));
}

static void get_state(MD5_CTX *c, const unsigned char *p)
{
	MD5_LONG w[4];
	for (size_t i = 0; i < 4; i++)
		w[i] = (MD5_LONG)p[4 * i] | (MD5_LONG)p[4 * i + 1] << 8 |
		       (MD5_LONG)p[4 * i + 2] << 16 | (MD5_LONG)p[4 * i + 3] << 24;
	MD5_Init(c);
	c->A = w[0];
	c->B = w[1];
	c->C = w[2];
	c->D = w[3];
	c->Nl = 512; /* one 64-byte block already hashed */
	c->Nh = 0;
}

/* The 32-byte context: outer state, then inner state. */
static void make_context(const char *pw, size_t len, unsigned char ctx[32])
{
	unsigned char key[64], pad[64];
	MD5_CTX c;
	memset(key, 0, sizeof key);
	if (len > 64)
		MD5((const unsigned char *)pw, len, key);
	else
		memcpy(key, pw, len);
	for (int outer = 1; outer >= 0; outer--) {
		for (size_t i = 0; i < 64; i++)
			pad[i] = key[i] ^ (outer ? 0x5c : 0x36);
		MD5_Init(&c);
		MD5_Update(&c, pad, 64);
		put_state(ctx + (outer ? 0 : 16), &c);
	}
	OPENSSL_cleanse(key, sizeof key);
	OPENSSL_cleanse(pad, sizeof pad);
	OPENSSL_cleanse(&c, sizeof c);
}

int crammd5_secret_make(const char *pw, size_t len, struct buf *out)
{
	unsigned char ctx[32];
	if (len == 0 || len > 1024)
		return -1;
	make_context(pw, len, ctx);
	buf_append_str(out, PREFIX);
	for (size_t i = 0; i < sizeof ctx; i++)
		buf_printf(out, "%02x", ctx[i]);
	OPENSSL_cleanse(ctx, sizeof ctx);
	return 0;
}

static void hmac_from_context(const unsigned char ctx[32], const void *d, size_t dlen,
			      unsigned char out[16])
{
	MD5_CTX c;
	unsigned char inner[16];
	get_state(&c, ctx + 16);
	MD5_Update(&c, d, dlen);
	MD5_Final(inner, &c);
	get_state(&c, ctx);
	MD5_Update(&c, inner, sizeof inner);
	MD5_Final(out, &c);
	OPENSSL_cleanse(&c, sizeof c);
}

int crammd5_verify(const char *stored, const void *challenge, size_t clen,
		   const unsigned char digest[16])
{
	unsigned char ctx[32], want[16];
	size_t sl = strlen(stored);
	int have = 0;
	if (strncasecmp(stored, PREFIX, sizeof PREFIX - 1) == 0 && sl == sizeof PREFIX - 1 + 64 &&
	    unhex(stored + sizeof PREFIX - 1, 32, ctx) == 0) {
		have = 1;
	} else if (strncasecmp(stored, "{PLAIN}", 7) == 0 && sl > 7 && sl <= 7 + 1024) {
		make_context(stored + 7, sl - 7, ctx), have = 1;
	} else if (strncasecmp(stored, "{CLEARTEXT}", 11) == 0 && sl > 11 && sl <= 11 + 1024) {
		make_context(stored + 11, sl - 11, ctx), have = 1;
	}
	if (!have)
		return 0;
	hmac_from_context(ctx, challenge, clen, want);
	int ok = CRYPTO_memcmp(want, digest, 16) == 0;
	OPENSSL_cleanse(ctx, sizeof ctx);
	OPENSSL_cleanse(want, sizeof want);
	return ok;
}
