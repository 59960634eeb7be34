/* passwd_fuzz: lib/passwd's verifier against hostile stored values (userdb
 * entries, LDAP attributes). The first byte is the password's length, taken
 * from what follows; the rest is the stored value. Each run must stay cheap,
 * so stored crypt strings that ask for real work (bcrypt cost > 5, sha-crypt
 * or other rounds > 20000, yescrypt/scrypt N > 2^10) are skipped here:
 * lib/passwd's own cost limits are tested by its unit tests. A verify may
 * never succeed with a stored value that is not a well-formed hash of pw. */
#include "fuzz.h"
#include "passwd.h"

#define CHEAP_ROUNDS 20000UL

/* Decimal number at s (stops at the first non-digit); huge if very long. */
static unsigned long number_at(const char *s)
{
	unsigned long v = 0;
	for (; *s >= '0' && *s <= '9'; s++) {
		if (v > CHEAP_ROUNDS * 10)
			return ~0UL;
		v = v * 10 + (unsigned long)(*s - '0');
	}
	return v;
}

static int itoa64(char c)
{
	static const char a[] = "./0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
	const char *p = c ? strchr(a, c) : NULL;
	return p ? (int)(p - a) : 64;
}

/* 1 if hashing with the crypt setting h would take more than a few ms. */
static int costly_crypt(const char *h)
{
	const char *r = strstr(h, "rounds=");
	if (r && number_at(r + 7) > CHEAP_ROUNDS)
		return 1;
	if (h[0] == '_') /* BSDi DES: 4 characters of iteration count */
		return h[1] == '\0' || itoa64(h[2]) > 1 || itoa64(h[3]) > 0 || itoa64(h[4]) > 0;
	if (strncmp(h, "$sha1$", 6) == 0)
		return number_at(h + 6) > CHEAP_ROUNDS;
	if (strncmp(h, "$2", 2) == 0 && h[2] != '\0' && h[3] == '$')
		return !(h[4] == '0' && h[5] >= '4' && h[5] <= '5');
	const char *y = NULL;
	if (strncmp(h, "$y$", 3) == 0)
		y = h + 3;
	else if (strncmp(h, "$gy$", 4) == 0)
		y = h + 4;
	else if (strncmp(h, "$sm3y$", 6) == 0)
		y = h + 6;
	if (y) /* flavor, log2(N) - 1, r - 1 */
		return y[0] == '\0' || itoa64(y[1]) > 9 || itoa64(y[2]) > 7;
	if (strncmp(h, "$7$", 3) == 0)
		return itoa64(h[3]) > 10 || strncmp(h + 4, "6....", 5) != 0 ||
		       strncmp(h + 9, "/....", 5) != 0;
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_in in;
	fuzz_in_init(&in, data, size);
	size_t pwlen = fuzz_take_byte(&in);
	if (pwlen > in.len)
		pwlen = in.len;
	const char *pw = (const char *)in.p;
	char *stored = fuzz_strndup(in.p + pwlen, in.len - pwlen);
	/* look for the crypt string anywhere a {SCHEME} prefix could put it */
	const char *h = stored;
	const char *brace = strchr(stored, '}');
	if (brace)
		h = brace + 1;
	if (!costly_crypt(h) && !costly_crypt(stored)) {
		int ok = passwd_verify(pw, pwlen, stored);
		FUZZ_CHECK(ok == 0 || ok == 1);
		if (ok)
			FUZZ_CHECK(pwlen > 0 && memchr(pw, '\0', pwlen) == NULL && stored[0] != '\0');
	}
	enum passwd_scheme sc;
	if (passwd_scheme_parse(stored, &sc) == 0)
		FUZZ_CHECK(passwd_scheme_name(sc) != NULL);
	(void)passwd_check_input(pw, pwlen, PASSWD_BCRYPT);
	free(stored);
	return 0;
}
