/* Tests for sha256: FIPS 180-4 example vectors, RFC 4231's HMAC-SHA256 test
 * cases (keys shorter than, equal to and longer than a block), input fed in
 * pieces of every size, and agreement with OpenSSL on pseudo-random input. */
#include "sha256.h"
#include "buf.h"
#include "unit.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <string.h>

static void hex(const unsigned char *p, size_t n, char *out)
{
	static const char d[] = "0123456789abcdef";
	for (size_t i = 0; i < n; i++) {
		out[2 * i] = d[p[i] >> 4];
		out[2 * i + 1] = d[p[i] & 15];
	}
	out[2 * n] = '\0';
}

static void check_sha(const char *msg, size_t len, const char *want)
{
	unsigned char md[SHA256_LEN];
	char h[2 * SHA256_LEN + 1];
	sha256(msg, len, md);
	hex(md, sizeof md, h);
	CHECK_STR(h, want);
}

TEST(fips_vectors)
{
	check_sha("", 0, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
	check_sha("abc", 3, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
	const char *two = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
	check_sha(two, strlen(two), "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
	struct buf m = BUF_INIT;
	for (int i = 0; i < 1000000; i++)
		buf_append_char(&m, 'a');
	check_sha(m.data, m.len, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
	buf_free(&m);
}

TEST(pieces_give_the_same_digest)
{
	unsigned char data[300], whole[SHA256_LEN], part[SHA256_LEN];
	for (size_t i = 0; i < sizeof data; i++)
		data[i] = (unsigned char)(i * 7 + 3);
	for (size_t len = 0; len <= sizeof data; len += 13) {
		sha256(data, len, whole);
		for (size_t step = 1; step <= 70; step++) {
			struct sha256 c;
			sha256_init(&c);
			for (size_t off = 0; off < len; off += step)
				sha256_update(&c, data + off, len - off < step ? len - off : step);
			sha256_final(&c, part);
			CHECK(memcmp(whole, part, SHA256_LEN) == 0);
		}
	}
}

static void check_hmac(const void *key, size_t kl, const void *msg, size_t ml, const char *want)
{
	unsigned char mac[SHA256_LEN];
	char h[2 * SHA256_LEN + 1];
	hmac_sha256(key, kl, msg, ml, mac);
	hex(mac, sizeof mac, h);
	CHECK_STR(h, want);
}

TEST(rfc4231_vectors)
{
	unsigned char k[131];
	memset(k, 0x0b, 20);
	check_hmac(k, 20, "Hi There", 8,
		   "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7");
	check_hmac("Jefe", 4, "what do ya want for nothing?", 28,
		   "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
	memset(k, 0xaa, sizeof k); /* a key longer than a block is hashed first */
	const char *t6 = "Test Using Larger Than Block-Size Key - Hash Key First";
	check_hmac(k, 131, t6, strlen(t6),
		   "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54");
}

TEST(agrees_with_openssl)
{
	unsigned char key[100], msg[700], ours[SHA256_LEN], theirs[EVP_MAX_MD_SIZE];
	unsigned int tl = 0;
	uint32_t x = 12345;
	for (size_t i = 0; i < sizeof msg; i++) {
		x = x * 1103515245 + 12345;
		msg[i] = (unsigned char)(x >> 16);
		if (i < sizeof key)
			key[i] = (unsigned char)(x >> 8);
	}
	for (size_t kl = 0; kl <= sizeof key; kl += 9)
		for (size_t ml = 0; ml <= sizeof msg; ml += 61) {
			hmac_sha256(key, kl, msg, ml, ours);
			CHECK(HMAC(EVP_sha256(), key, (int)kl, msg, ml, theirs, &tl) != NULL);
			CHECK_INT(tl, SHA256_LEN);
			CHECK(memcmp(ours, theirs, SHA256_LEN) == 0);
		}
}

TEST(equal_compares_every_byte)
{
	CHECK(sha256_equal("abcdef", "abcdef", 6));
	CHECK(!sha256_equal("abcdef", "abcdeg", 6));
	CHECK(!sha256_equal("xbcdef", "abcdef", 6));
	CHECK(sha256_equal("a", "b", 0));
}
