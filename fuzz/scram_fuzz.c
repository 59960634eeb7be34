/* scram_fuzz: the SASL messages authd parses for SCRAM-SHA-256 (lib/scram)
 * and CRAM-MD5 (lib/crammd5), and the stored forms of their secrets. The
 * input is client-first, LF, client-final; the whole input is also tried as
 * a stored value and as a CRAM-MD5 response. Invariants: a parsed user is
 * non-empty, NUL-free and bounded; a refusal says why; a proof over a random
 * nonce never verifies; server-final is "v=" and 44 base64 bytes. */
#include "fuzz.h"
#include "buf.h"
#include "crammd5.h"
#include "scram.h"

static const struct scram_keys *keys(void)
{
	static struct scram_keys k;
	static int made;
	if (!made) {
		scram_keys_derive("pencil", 6, (const unsigned char *)"saltsaltsaltsalt", 16, 4096,
				  &k);
		made = 1;
	}
	return &k;
}

static void exchange(const char *first, size_t flen, const char *final, size_t len)
{
	struct scram_server s = SCRAM_SERVER_INIT;
	struct buf out = BUF_INIT;
	const char *why = NULL;
	if (scram_server_first(&s, first, flen, &why) == 0) {
		FUZZ_CHECK(s.user.len > 0 && s.user.len <= SCRAM_MAX_USER && !buf_has_nul(&s.user));
		scram_server_keys(&s, keys(), NULL, 0);
		FUZZ_CHECK(scram_server_challenge(&s, "fuzznonce", &out) == 0);
		buf_reset(&out);
		int r = scram_server_final(&s, final, len, &out, &why);
		FUZZ_CHECK(r != -1 || why != NULL);
		FUZZ_CHECK(r == 1 ? out.len == 46 && out.data[0] == 'v' : out.len == 0);
	} else {
		FUZZ_CHECK(why != NULL);
	}
	scram_server_free(&s);
	buf_free(&out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *p = (const char *)data;
	const char *nl = memchr(p, '\n', size);
	size_t flen = nl ? (size_t)(nl - p) : size;
	exchange(p, flen, nl ? nl + 1 : "", nl ? size - flen - 1 : 0);

	struct buf tmp = BUF_INIT, user = BUF_INIT;
	buf_set(&tmp, data, size);
	struct scram_keys k;
	if (!buf_has_nul(&tmp) && scram_keys_parse(buf_cstr(&tmp), &k) == 0)
		FUZZ_CHECK(k.iter > 0 && k.iter <= SCRAM_ITER_MAX && k.saltlen > 0 &&
			   k.saltlen <= SCRAM_SALT_MAX);
	unsigned char d[16] = { 0 };
	if (crammd5_parse(p, size, &user, d) == 0)
		FUZZ_CHECK(user.len > 0 && !buf_has_nul(&user) && user.len < size);
	if (!buf_has_nul(&tmp) && size < 2048)
		(void)crammd5_verify(buf_cstr(&tmp), "<1.2@h>", 7, d);
	buf_free(&tmp);
	buf_free(&user);
	return 0;
}
