/* passwd: crypt(3) hashing with libxcrypt, verification of the stored forms
 * that userdb files, Dovecot, Courier and LDAP use.
 *
 * Trusts libxcrypt and OpenSSL. Trusts nothing about the password or the
 * stored value: both are length-checked before use, and every failure (an
 * unknown scheme, a malformed hash, a library error) is a mismatch. */
#include "passwd.h"
#include "alloc.h"
#include "base64.h"
#include "buf.h"

#include <crypt.h>
#include <errno.h>
#include <stdint.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define SCHEME_NAME_MAX 32 /* longest "{NAME}" we look for */

/* One limit for every scheme: crypt_rn refuses longer passphrases. */
_Static_assert(PASSWD_MAX == CRYPT_MAX_PASSPHRASE_SIZE - 1, "PASSWD_MAX follows libxcrypt");

/* Costs: yescrypt's library default (about 25 ms here, and memory-hard).
 * libxcrypt's defaults for the two older methods date from the 1990s (bcrypt
 * cost 5, 5000 sha512-crypt rounds, ~2 ms); we ask for bcrypt cost 10 (the
 * usual minimum today) and 100000 rounds, both near yescrypt's time. */
static const struct {
	const char *name;
	const char *prefix;  /* crypt_gensalt prefix */
	unsigned long count; /* crypt_gensalt cost; 0 = the library default */
} hash_schemes[] = {
	[PASSWD_YESCRYPT] = { "yescrypt", "$y$", 0 },
	[PASSWD_BCRYPT] = { "bcrypt", "$2b$", 10 },
	[PASSWD_SHA512_CRYPT] = { "sha512-crypt", "$6$", 100000 },
};
#define NHASH_SCHEMES (sizeof hash_schemes / sizeof hash_schemes[0])

enum stored_kind { STORED_CRYPT, STORED_DIGEST, STORED_PLAIN };

/* One "{NAME}" form of a stored value. */
struct stored_scheme {
	const char *name;
	enum stored_kind kind;
	const char *ids[3];         /* STORED_CRYPT: allowed crypt prefixes; none = any */
	const EVP_MD *(*md)(void); /* STORED_DIGEST */
	int salted;                 /* STORED_DIGEST: salt follows the digest */
};

#define BCRYPT_IDS { "$2a$", "$2b$", "$2y$" }

static const struct stored_scheme stored_schemes[] = {
	{ .name = "CRYPT", .kind = STORED_CRYPT },
	{ .name = "YESCRYPT", .kind = STORED_CRYPT, .ids = { "$y$" } },
	{ .name = "SHA512-CRYPT", .kind = STORED_CRYPT, .ids = { "$6$" } },
	{ .name = "SHA256-CRYPT", .kind = STORED_CRYPT, .ids = { "$5$" } },
	{ .name = "BLF-CRYPT", .kind = STORED_CRYPT, .ids = BCRYPT_IDS },
	{ .name = "BCRYPT", .kind = STORED_CRYPT, .ids = BCRYPT_IDS },
	{ .name = "MD5-CRYPT", .kind = STORED_CRYPT, .ids = { "$1$" } },
	{ .name = "PLAIN", .kind = STORED_PLAIN },
	{ .name = "CLEARTEXT", .kind = STORED_PLAIN },
	{ .name = "SHA", .kind = STORED_DIGEST, .md = EVP_sha1 },
	{ .name = "SSHA", .kind = STORED_DIGEST, .md = EVP_sha1, .salted = 1 },
	{ .name = "SHA256", .kind = STORED_DIGEST, .md = EVP_sha256 },
	{ .name = "SSHA256", .kind = STORED_DIGEST, .md = EVP_sha256, .salted = 1 },
	{ .name = "SHA512", .kind = STORED_DIGEST, .md = EVP_sha512 },
	{ .name = "SSHA512", .kind = STORED_DIGEST, .md = EVP_sha512, .salted = 1 },
};
#define NSTORED_SCHEMES (sizeof stored_schemes / sizeof stored_schemes[0])

int passwd_scheme_parse(const char *name, enum passwd_scheme *out)
{
	for (size_t i = 0; i < NHASH_SCHEMES; i++) {
		if (strcasecmp(name, hash_schemes[i].name) == 0) {
			*out = (enum passwd_scheme)i;
			return 0;
		}
	}
	return -1;
}

const char *passwd_scheme_name(enum passwd_scheme scheme)
{
	return (size_t)scheme < NHASH_SCHEMES ? hash_schemes[scheme].name : "unknown";
}

const char *passwd_check_input(const char *pw, size_t len, enum passwd_scheme scheme)
{
	if ((size_t)scheme >= NHASH_SCHEMES)
		return "unknown hash scheme";
	if (pw == NULL || len == 0)
		return "empty password";
	if (len > PASSWD_MAX)
		return "password too long (more than 511 bytes)";
	if (memchr(pw, '\0', len) != NULL)
		return "password contains a NUL byte";
	if (scheme == PASSWD_BCRYPT && len > PASSWD_BCRYPT_MAX)
		return "password too long for bcrypt (more than 72 bytes)";
	return NULL;
}

/* A NUL-terminated copy of the password, wiped by secret_free(). */
static char *secret_dup(const char *pw, size_t len)
{
	return xmemdup(pw, len);
}

static void secret_free(char *s, size_t len)
{
	if (s != NULL) {
		explicit_bzero(s, len);
		free(s);
	}
}

/* crypt_rn into out with wiped scratch space; 0, or -1 on any failure. */
static int crypt_into(const char *pw, const char *setting, struct buf *out)
{
	struct crypt_data *cd = xcalloc(1, sizeof *cd);
	const char *h = crypt_rn(pw, setting, cd, (int)sizeof *cd);
	int ok = h != NULL && h[0] != '*' && h[0] != '\0';
	if (ok)
		buf_set_str(out, h);
	explicit_bzero(cd, sizeof *cd);
	free(cd);
	return ok ? 0 : -1;
}

int passwd_hash(const char *pw, size_t len, enum passwd_scheme scheme, struct buf *out)
{
	if (passwd_check_input(pw, len, scheme) != NULL) {
		errno = EINVAL;
		return -1;
	}
	const char *prefix = hash_schemes[scheme].prefix;
	errno = 0;
	char *setting = crypt_gensalt_ra(prefix, hash_schemes[scheme].count, NULL, 0);
	if (setting == NULL) {
		if (errno == ENOMEM)
			die_nomem();
		if (errno == 0)
			errno = EINVAL;
		return -1;
	}
	char *p = secret_dup(pw, len);
	int r = crypt_into(p, setting, out);
	secret_free(p, len);
	free(setting);
	if (r == 0 && strncmp(buf_cstr(out), prefix, strlen(prefix)) != 0) {
		buf_reset(out);
		r = -1;
	}
	if (r < 0 && errno == 0)
		errno = EINVAL;
	return r;
}

/* Does the crypt string hash (not empty, not locked) have an allowed id? */
static int crypt_id_allowed(const struct stored_scheme *s, const char *hash)
{
	if (hash[0] == '\0' || hash[0] == '*' || hash[0] == '!')
		return 0;
	if (s->ids[0] == NULL)
		return 1;
	for (size_t i = 0; i < sizeof s->ids / sizeof s->ids[0] && s->ids[i]; i++)
		if (strncmp(hash, s->ids[i], strlen(s->ids[i])) == 0)
			return 1;
	return 0;
}

/* A stored hash may not name a cost that would tie up the verifier for
 * minutes or take gigabytes: the checks below read the cost fields of the
 * methods that have one, and refuse what they cannot read. */

static int bcrypt_cost_allowed(const char *c) /* after "$2x$" */
{
	if (c[0] < '0' || c[0] > '9' || c[1] < '0' || c[1] > '9')
		return 0;
	return (c[0] - '0') * 10 + (c[1] - '0') <= PASSWD_BCRYPT_COST_MAX;
}

static int sha_rounds_allowed(const char *c) /* after "$5$" or "$6$" */
{
	unsigned long rounds = 0;
	if (strncmp(c, "rounds=", 7) != 0)
		return 1; /* the default, 5000 */
	for (c += 7; *c != '$'; c++) {
		if (*c < '0' || *c > '9' || rounds > PASSWD_SHA_ROUNDS_MAX)
			return 0;
		rounds = rounds * 10 + (unsigned long)(*c - '0');
	}
	return rounds <= PASSWD_SHA_ROUNDS_MAX;
}

/* Index in crypt's base-64 alphabet "./0-9A-Za-z", or -1. */
static int itoa64_index(char c)
{
	if (c == '.' || c == '/')
		return c == '.' ? 0 : 1;
	if (c >= '0' && c <= '9')
		return c - '0' + 2;
	if (c >= 'A' && c <= 'Z')
		return c - 'A' + 12;
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 38;
	return -1;
}

/* yescrypt "$y$" parameters as crypt_gensalt writes them: flavor, log2(N) - 1
 * and r - 1, one character each (values up to 47), then '$'. Extra
 * parameters (p, t, ROM) are never written by libxcrypt and are refused. */
static int yescrypt_cost_allowed(const char *c)
{
	int v[3];
	for (size_t i = 0; i < 3; i++) {
		v[i] = itoa64_index(c[i]);
		if (v[i] < 0 || v[i] > 47)
			return 0;
	}
	if (c[3] != '$' || v[1] + 1 > 40)
		return 0;
	uint64_t mem = (uint64_t)128 * (uint64_t)(v[2] + 1) << (v[1] + 1);
	return mem <= PASSWD_YESCRYPT_MEM_MAX;
}

/* scrypt "$7$": log2(N) in one character, r and p in five each (30 bits). */
static int scrypt_cost_allowed(const char *c)
{
	uint64_t r = 0, p = 0;
	int n = itoa64_index(c[0]);
	if (n < 1 || n > 40)
		return 0;
	for (size_t i = 0; i < 10; i++) {
		int d = itoa64_index(c[1 + i]);
		if (d < 0)
			return 0;
		if (i < 5)
			r |= (uint64_t)d << (6 * i);
		else
			p |= (uint64_t)d << (6 * (i - 5));
	}
	/* r, p < 2^30, so r * p cannot overflow; work is 128 * r * p * 2^n */
	return r != 0 && p != 0 && 128 * r * p <= (PASSWD_YESCRYPT_MEM_MAX >> n);
}

/* A decimal count ending in '$' (at least one digit), at most max. */
static int count_allowed(const char *c, unsigned long max)
{
	unsigned long n = 0;
	if (*c == '$')
		return 0;
	for (; *c != '$'; c++) {
		if (*c < '0' || *c > '9' || n > max)
			return 0;
		n = n * 10 + (unsigned long)(*c - '0');
	}
	return n <= max;
}

/* BSDi "_CCCC...": a 24-bit count in four itoa64 characters, lowest first. */
static int bsdi_count_allowed(const char *c)
{
	unsigned long n = 0;
	for (int i = 0; i < 4; i++) {
		int d = itoa64_index(c[i]);
		if (d < 0)
			return 0;
		n |= (unsigned long)d << (6 * i);
	}
	return n <= PASSWD_BSDI_COUNT_MAX;
}

/* SunMD5 "$md5,rounds=N$..." ("$md5$..." is the cheap default). */
static int sunmd5_rounds_allowed(const char *c) /* after "$md5" */
{
	if (*c != ',')
		return 1;
	if (strncmp(c, ",rounds=", 8) != 0)
		return 0;
	return count_allowed(c + 8, PASSWD_SUNMD5_ROUNDS_MAX);
}

static int crypt_cost_allowed(const char *hash)
{
	if (hash[0] == '_')
		return bsdi_count_allowed(hash + 1);
	if (hash[0] != '$')
		return 1;
	if (strncmp(hash, "$sha1$", 6) == 0)
		return count_allowed(hash + 6, PASSWD_SHA1_ROUNDS_MAX);
	if (strncmp(hash, "$md5", 4) == 0)
		return sunmd5_rounds_allowed(hash + 4);
	if (hash[1] == '2' && hash[2] != '\0' && hash[3] == '$')
		return bcrypt_cost_allowed(hash + 4);
	if ((hash[1] == '5' || hash[1] == '6') && hash[2] == '$')
		return sha_rounds_allowed(hash + 3);
	if (strncmp(hash, "$y$", 3) == 0 || strncmp(hash, "$7$", 3) == 0)
		return hash[1] == 'y' ? yescrypt_cost_allowed(hash + 3) : scrypt_cost_allowed(hash + 3);
	if (strncmp(hash, "$gy$", 4) == 0)
		return yescrypt_cost_allowed(hash + 4);
	if (strncmp(hash, "$sm3y$", 6) == 0)
		return yescrypt_cost_allowed(hash + 6);
	return 1;
}

static int verify_crypt(const struct stored_scheme *s, const char *pw, const char *hash)
{
	if (!crypt_id_allowed(s, hash) || !crypt_cost_allowed(hash))
		return 0;
	struct buf got = BUF_INIT;
	int ok = 0;
	if (crypt_into(pw, hash, &got) == 0) {
		size_t n = strlen(hash);
		ok = got.len == n && CRYPTO_memcmp(got.data, hash, n) == 0;
	}
	if (got.data != NULL)
		explicit_bzero(got.data, got.cap);
	buf_free(&got);
	return ok;
}

/* Digest of a || b into md_out (at least EVP_MAX_MD_SIZE bytes); 0 or -1. */
static int digest2(const EVP_MD *md, const void *a, size_t alen, const void *b, size_t blen,
		   unsigned char *md_out)
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	if (ctx == NULL)
		die_nomem();
	int ok = EVP_DigestInit_ex(ctx, md, NULL) == 1 && EVP_DigestUpdate(ctx, a, alen) == 1 &&
		 EVP_DigestUpdate(ctx, b, blen) == 1 && EVP_DigestFinal_ex(ctx, md_out, NULL) == 1;
	EVP_MD_CTX_free(ctx);
	return ok ? 0 : -1;
}

/* Compare by digest, so that neither the length nor the bytes leak by timing. */
static int verify_plain(const char *pw, size_t len, const char *stored)
{
	unsigned char a[EVP_MAX_MD_SIZE], b[EVP_MAX_MD_SIZE];
	size_t slen = strlen(stored);
	int ok = slen > 0 && digest2(EVP_sha256(), pw, len, "", 0, a) == 0 &&
		 digest2(EVP_sha256(), stored, slen, "", 0, b) == 0 &&
		 CRYPTO_memcmp(a, b, 32) == 0;
	ok = ok && slen == len; /* a formality once the digests agree */
	explicit_bzero(a, sizeof a);
	explicit_bzero(b, sizeof b);
	return ok;
}

/* base64(digest(pw || salt) || salt), or base64(digest(pw)) unsalted. */
static int verify_digest(const struct stored_scheme *s, const char *pw, size_t len,
			 const char *enc)
{
	const EVP_MD *md = s->md();
	size_t dlen = (size_t)EVP_MD_get_size(md);
	unsigned char got[EVP_MAX_MD_SIZE];
	struct buf raw = BUF_INIT;
	int ok = 0;
	if (base64_decode_strict(&raw, enc, strlen(enc), NULL) == 0 &&
	    (s->salted ? raw.len > dlen : raw.len == dlen) &&
	    digest2(md, pw, len, raw.data + dlen, raw.len - dlen, got) == 0)
		ok = CRYPTO_memcmp(got, raw.data, dlen) == 0;
	explicit_bzero(got, sizeof got);
	buf_free(&raw);
	return ok;
}

/* "{NAME}rest": the scheme, and the rest in *rest; NULL if not in the table. */
static const struct stored_scheme *stored_scheme_find(const char *stored, const char **rest)
{
	const char *end = memchr(stored + 1, '}', strnlen(stored + 1, SCHEME_NAME_MAX + 1));
	if (end == NULL)
		return NULL;
	size_t n = (size_t)(end - (stored + 1));
	for (size_t i = 0; i < NSTORED_SCHEMES; i++) {
		const char *name = stored_schemes[i].name;
		if (strlen(name) == n && strncasecmp(stored + 1, name, n) == 0) {
			*rest = end + 1;
			return &stored_schemes[i];
		}
	}
	return NULL;
}

static int verify_as(const struct stored_scheme *s, const char *pw, size_t len, const char *rest)
{
	switch (s->kind) {
	case STORED_CRYPT:
		return verify_crypt(s, pw, rest);
	case STORED_DIGEST:
		return verify_digest(s, pw, len, rest);
	case STORED_PLAIN:
		return verify_plain(pw, len, rest);
	}
	return 0;
}

int passwd_verify(const char *pw, size_t len, const char *stored)
{
	if (pw == NULL || len == 0 || len > PASSWD_MAX || memchr(pw, '\0', len) != NULL)
		return 0;
	if (stored == NULL || strnlen(stored, PASSWD_STORED_MAX + 1) > PASSWD_STORED_MAX)
		return 0;
	const struct stored_scheme *s = &stored_schemes[0]; /* bare: as {CRYPT} */
	const char *rest = stored;
	if (stored[0] == '{' && (s = stored_scheme_find(stored, &rest)) == NULL)
		return 0;
	char *p = secret_dup(pw, len);
	int ok = verify_as(s, p, len, rest);
	secret_free(p, len);
	return ok == 1;
}
