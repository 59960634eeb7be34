/* login_fuzz: lib/login's SASL PLAIN split (RFC 4616), as pop3-login and
 * imap-login apply it to the client's AUTH PLAIN response. Byte 0 bit 0: the
 * rest is base64 (as on the wire, decoded with lib/base64 first) or raw.
 * Invariants: an accepted message has exactly two NULs, a non-empty user and
 * password within LOGIN_MAX_USER/LOGIN_MAX_PASS, neither holding a NUL, an
 * authzid that is empty or the user, and user and password are its last two
 * fields byte for byte; a refusal leaves both outputs as they were. */
#include "fuzz.h"
#include "base64.h"
#include "buf.h"
#include "login.h"

static size_t count_nul(const char *p, size_t n)
{
	size_t k = 0;
	for (size_t i = 0; i < n; i++)
		k += p[i] == '\0';
	return k;
}

static void check_split(const char *msg, size_t len)
{
	struct buf user = BUF_INIT, pass = BUF_INIT;
	buf_set_str(&user, "old-user");
	buf_set_str(&pass, "old-pass");
	if (login_plain_split(msg, len, &user, &pass) < 0) {
		FUZZ_CHECK(fuzz_eq(user.data, user.len, "old-user", 8));
		FUZZ_CHECK(fuzz_eq(pass.data, pass.len, "old-pass", 8));
	} else {
		FUZZ_CHECK(count_nul(msg, len) == 2);
		FUZZ_CHECK(user.len > 0 && user.len <= LOGIN_MAX_USER);
		FUZZ_CHECK(pass.len > 0 && pass.len <= LOGIN_MAX_PASS);
		FUZZ_CHECK(!buf_has_nul(&user) && !buf_has_nul(&pass));
		size_t zl = len - user.len - pass.len - 2;
		FUZZ_CHECK(zl == 0 || fuzz_eq(msg, zl, user.data, user.len));
		FUZZ_CHECK(fuzz_eq(msg + zl + 1, user.len, user.data, user.len));
		FUZZ_CHECK(fuzz_eq(msg + len - pass.len, pass.len, pass.data, pass.len));
	}
	login_wipe(&user);
	login_wipe(&pass);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_in in;
	fuzz_in_init(&in, data, size);
	unsigned opt = fuzz_take_byte(&in);
	if ((opt & 1) == 0) {
		check_split((const char *)in.p, in.len);
		return 0;
	}
	struct buf raw = BUF_INIT;
	if (base64_decode_strict(&raw, (const char *)in.p, in.len, NULL) == 0)
		check_split(raw.data ? raw.data : "", raw.len);
	buf_free(&raw);
	return 0;
}
