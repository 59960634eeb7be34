/* Tests for passwd: round trips, known-answer vectors, every stored form, and
 * hostile passwords and stored values that must never verify. */
#include "passwd.h"
#include "buf.h"
#include "unit.h"

#include <errno.h>
#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>

#define PW(s) (s), (sizeof(s) - 1)

static int verify(const char *pw, const char *stored)
{
	return passwd_verify(pw, strlen(pw), stored);
}

TEST(passwd_round_trip_each_scheme)
{
	static const char *const prefix[] = { "$y$", "$2b$10$", "$6$rounds=100000$" };
	enum passwd_scheme schemes[] = { PASSWD_YESCRYPT, PASSWD_BCRYPT, PASSWD_SHA512_CRYPT };
	for (size_t i = 0; i < 3; i++) {
		struct buf h1 = BUF_INIT, h2 = BUF_INIT;
		CHECK_INT(passwd_hash(PW("correct horse"), schemes[i], &h1), 0);
		CHECK_INT(passwd_hash(PW("correct horse"), schemes[i], &h2), 0);
		CHECK(strncmp(buf_cstr(&h1), prefix[i], strlen(prefix[i])) == 0);
		CHECK(!buf_has_nul(&h1));
		CHECK(strcmp(buf_cstr(&h1), buf_cstr(&h2)) != 0); /* fresh salt each time */
		CHECK(verify("correct horse", buf_cstr(&h1)));
		CHECK(verify("correct horse", buf_cstr(&h2)));
		CHECK(!verify("correct horsE", buf_cstr(&h1)));
		CHECK(!verify("correct horse ", buf_cstr(&h1)));
		CHECK(!verify("correct hors", buf_cstr(&h1)));
		buf_free(&h1);
		buf_free(&h2);
	}
}

TEST(passwd_default_is_yescrypt)
{
	struct buf h = BUF_INIT;
	CHECK_INT(PASSWD_DEFAULT, PASSWD_YESCRYPT);
	CHECK_INT(passwd_hash(PW("x"), PASSWD_DEFAULT, &h), 0);
	CHECK(strncmp(buf_cstr(&h), "$y$", 3) == 0);
	buf_free(&h);
}

TEST(passwd_scheme_names)
{
	enum passwd_scheme s;
	CHECK_INT(passwd_scheme_parse("yescrypt", &s), 0);
	CHECK_INT(s, PASSWD_YESCRYPT);
	CHECK_INT(passwd_scheme_parse("BCRYPT", &s), 0);
	CHECK_INT(s, PASSWD_BCRYPT);
	CHECK_INT(passwd_scheme_parse("sha512-crypt", &s), 0);
	CHECK_INT(s, PASSWD_SHA512_CRYPT);
	CHECK_INT(passwd_scheme_parse("md5", &s), -1);
	CHECK_INT(passwd_scheme_parse("", &s), -1);
	CHECK_STR(passwd_scheme_name(PASSWD_BCRYPT), "bcrypt");
	CHECK_STR(passwd_scheme_name((enum passwd_scheme)99), "unknown");
}

/* From Ulrich Drepper's SHA-crypt specification (also openssl passwd -5/-6). */
static const char sha512_hello[] =
	"$6$saltstring$svn8UoSVapNtMuq1ukKS4tPQd8iKwSMHWjl/O817G3uBnIFNjnQJuesI68u4OTLiBFdcbYEdFCoEOfaS35inz1";
static const char sha512_rounds[] =
	"$6$rounds=10000$saltstringsaltst$OW1/O6BYHV6BcXZu8QVeXbDWra3Oeqh0sbHbbMCVNSnCM/UrjmM0Dp8vOuZeHBy/YTBmSK6H9qs/y3RnOaw5v.";
static const char sha256_hello[] = "$5$saltstring$5B8vYYiY.CVt1RlTTf8KbXBH3hsxY/GNooZaBBGWEc5";

TEST(passwd_sha_crypt_known_answers)
{
	CHECK(verify("Hello world!", sha512_hello));
	CHECK(verify("Hello world!", sha512_rounds));
	CHECK(!verify("Hello world", sha512_hello));
	CHECK(verify("Hello world!", sha256_hello));

	struct buf s = BUF_INIT;
	buf_printf(&s, "{SHA512-CRYPT}%s", sha512_hello);
	CHECK(verify("Hello world!", buf_cstr(&s)));
	buf_set_str(&s, "");
	buf_printf(&s, "{sha512-crypt}%s", sha512_hello); /* names are case-insensitive */
	CHECK(verify("Hello world!", buf_cstr(&s)));
	buf_set_str(&s, "");
	buf_printf(&s, "{CRYPT}%s", sha512_hello);
	CHECK(verify("Hello world!", buf_cstr(&s)));
	buf_set_str(&s, "");
	buf_printf(&s, "{SHA256-CRYPT}%s", sha256_hello);
	CHECK(verify("Hello world!", buf_cstr(&s)));
	/* a scheme name that does not match the hash inside is unusable */
	buf_set_str(&s, "");
	buf_printf(&s, "{SHA256-CRYPT}%s", sha512_hello);
	CHECK(!verify("Hello world!", buf_cstr(&s)));
	buf_set_str(&s, "");
	buf_printf(&s, "{YESCRYPT}%s", sha512_hello);
	CHECK(!verify("Hello world!", buf_cstr(&s)));
	buf_free(&s);
}

/* From the crypt_blowfish test suite (Openwall), $2a$ and $2b$ forms. */
TEST(passwd_bcrypt_known_answers)
{
	CHECK(verify("U*U", "$2a$05$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW"));
	CHECK(verify("U*U*", "$2a$05$CCCCCCCCCCCCCCCCCCCCC.VGOzA784oUp/Z0DY336zx7pLYAy0lwK"));
	CHECK(verify("U*U*U", "$2a$05$XXXXXXXXXXXXXXXXXXXXXOAcXxm9kjPGEMsLznoKqmqw7tc8WCx4a"));
	CHECK(verify("0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789",
		     "$2a$05$abcdefghijklmnopqrstuu5s2v8.iXieOjg/.AySBTTZIIVFJeBui"));
	CHECK(!verify("U*U*", "$2a$05$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW"));
	CHECK(verify("U*U", "{BLF-CRYPT}$2a$05$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW"));
	CHECK(verify("U*U", "{BCRYPT}$2b$05$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW"));
	CHECK(verify("U*U", "{bcrypt}$2y$05$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW"));
	CHECK(!verify("U*U", "{BCRYPT}$6$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW"));
}

TEST(passwd_md5_crypt_verifies_only)
{
	/* openssl passwd -1 -salt saltsalt password */
	CHECK(verify("password", "{MD5-CRYPT}$1$saltsalt$qjXMvbEw8oaL.CzflDtaK/"));
	CHECK(!verify("passwore", "{MD5-CRYPT}$1$saltsalt$qjXMvbEw8oaL.CzflDtaK/"));
	CHECK(!verify("password", "{MD5-CRYPT}$6$saltsalt$qjXMvbEw8oaL.CzflDtaK/"));
}

TEST(passwd_yescrypt_prefix)
{
	struct buf h = BUF_INIT, s = BUF_INIT;
	CHECK_INT(passwd_hash(PW("s3cret"), PASSWD_YESCRYPT, &h), 0);
	buf_printf(&s, "{YESCRYPT}%s", buf_cstr(&h));
	CHECK(verify("s3cret", buf_cstr(&s)));
	CHECK(!verify("s3cre", buf_cstr(&s)));
	buf_set_str(&s, "");
	buf_printf(&s, "{SHA512-CRYPT}%s", buf_cstr(&h));
	CHECK(!verify("s3cret", buf_cstr(&s)));
	buf_free(&h);
	buf_free(&s);
}

TEST(passwd_plain_forms)
{
	CHECK(verify("hunter2", "{PLAIN}hunter2"));
	CHECK(verify("hunter2", "{CLEARTEXT}hunter2"));
	CHECK(verify("hunter2", "{plain}hunter2"));
	CHECK(!verify("hunter2", "{PLAIN}hunter"));
	CHECK(!verify("hunter", "{PLAIN}hunter2"));
	CHECK(!verify("hunter2", "{PLAIN}hunter2 "));
	CHECK(!verify("hunter2", "{PLAIN}"));
	CHECK(!verify("hunter2", "hunter2")); /* bare text is no crypt string */
	CHECK(!verify("{PLAIN}hunter2", "{PLAIN}hunter2"));
}

static void b64(const unsigned char *in, size_t len, struct buf *out)
{
	char enc[256];
	CHECK(len <= 180);
	int n = EVP_EncodeBlock((unsigned char *)enc, in, (int)len);
	buf_append(out, enc, (size_t)n);
}

/* "{NAME}" + base64(digest(pw || salt) || salt), computed with OpenSSL here. */
static void ldap_hash(struct buf *out, const char *name, const EVP_MD *md, const char *pw,
		      const char *salt)
{
	unsigned char raw[EVP_MAX_MD_SIZE + 64];
	unsigned int dlen = 0;
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	CHECK(ctx != NULL);
	CHECK(EVP_DigestInit_ex(ctx, md, NULL) == 1);
	CHECK(EVP_DigestUpdate(ctx, pw, strlen(pw)) == 1);
	CHECK(EVP_DigestUpdate(ctx, salt, strlen(salt)) == 1);
	CHECK(EVP_DigestFinal_ex(ctx, raw, &dlen) == 1);
	EVP_MD_CTX_free(ctx);
	CHECK(strlen(salt) <= 64);
	memcpy(raw + dlen, salt, strlen(salt));
	buf_set_str(out, name);
	b64(raw, dlen + strlen(salt), out);
}

TEST(passwd_ldap_digests)
{
	struct buf s = BUF_INIT;
	/* a value as slappasswd -h {SHA} stores it */
	CHECK(verify("password", "{SHA}W6ph5Mm5Pz8GgiULbPgzG37mj9g="));
	CHECK(!verify("Password", "{SHA}W6ph5Mm5Pz8GgiULbPgzG37mj9g="));
	ldap_hash(&s, "{SSHA}", EVP_sha1(), "secret", "abcd");
	CHECK(verify("secret", buf_cstr(&s)));
	CHECK(!verify("secreT", buf_cstr(&s)));
	ldap_hash(&s, "{ssha}", EVP_sha1(), "secret", "12345678");
	CHECK(verify("secret", buf_cstr(&s)));
	ldap_hash(&s, "{SSHA512}", EVP_sha512(), "secret", "saltsalt");
	CHECK(verify("secret", buf_cstr(&s)));
	CHECK(!verify("secret2", buf_cstr(&s)));
	ldap_hash(&s, "{SSHA256}", EVP_sha256(), "secret", "s");
	CHECK(verify("secret", buf_cstr(&s)));
	ldap_hash(&s, "{SHA256}", EVP_sha256(), "secret", "");
	CHECK(verify("secret", buf_cstr(&s)));
	ldap_hash(&s, "{SHA512}", EVP_sha512(), "secret", "");
	CHECK(verify("secret", buf_cstr(&s)));
	/* salted forms need a salt; unsalted ones take no extra bytes */
	ldap_hash(&s, "{SSHA}", EVP_sha1(), "secret", "");
	CHECK(!verify("secret", buf_cstr(&s)));
	ldap_hash(&s, "{SHA}", EVP_sha1(), "secret", "abcd");
	CHECK(!verify("secret", buf_cstr(&s)));
	/* digest of one length under the name of another */
	ldap_hash(&s, "{SSHA512}", EVP_sha1(), "secret", "abcd");
	CHECK(!verify("secret", buf_cstr(&s)));
	buf_free(&s);
}

TEST(passwd_ldap_bad_base64)
{
	static const char *const bad[] = {
		"{SHA}W6ph5Mm5Pz8GgiULbPgzG37mj9g",     /* padding missing */
		"{SHA}W6ph5Mm5Pz8GgiULbPgzG37mj9h=",    /* unused bits set */
		"{SHA}W6ph5Mm5Pz8GgiULbPgzG37mj9g==",   /* too much padding */
		"{SHA}W6ph5Mm5Pz8GgiULbPgzG37mj9g=\n",  /* trailing newline */
		"{SHA} W6ph5Mm5Pz8GgiULbPgzG37mj9g=",   /* leading space */
		"{SHA}W6ph5Mm5Pz8G=iULbPgzG37mj9g=",    /* padding inside */
		"{SHA}W6ph5Mm5Pz8GgiULbPgzG37mj9g-",    /* url alphabet */
		"{SHA}====",
		"{SHA}=",
		"{SHA}",
		"{SSHA}",
		"{SSHA}\xff\xfe\xfd\xfc",
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		CHECK(!verify("password", bad[i]));
}

TEST(passwd_unusable_stored_values)
{
	static const char *const bad[] = {
		"", "*", "!", "!!", "*LK*", "x", "{", "}", "{}", "{}$6$saltstring$",
		"{UNKNOWN}abc", "{PLAIN", "{CRYPT}", "{CRYPT}*", "{CRYPT}!",
		"{SHA512-CRYPT}", "{PLAINX}hunter2", "{PLAIN}}hunter2",
		"{AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA}x",
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		CHECK(!verify("hunter2", bad[i]));
		CHECK(!verify("*", bad[i]));
		CHECK(!verify("!", bad[i]));
	}
	CHECK(!passwd_verify("hunter2", 7, NULL));
	/* a locked account keeps its hash behind "!" */
	struct buf s = BUF_INIT;
	buf_printf(&s, "!%s", sha512_hello);
	CHECK(!verify("Hello world!", buf_cstr(&s)));
	buf_set_str(&s, "");
	buf_printf(&s, "{CRYPT}!%s", sha512_hello);
	CHECK(!verify("Hello world!", buf_cstr(&s)));
	buf_free(&s);
}

/* Every truncation of a valid hash, and some garbage, is only a mismatch. */
TEST(passwd_malformed_crypt_strings)
{
	struct buf h = BUF_INIT, s = BUF_INIT;
	const char *full[] = { sha512_hello, "$2b$05$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW" };
	const char *pw[] = { "Hello world!", "U*U" };
	for (size_t k = 0; k < 2; k++) {
		size_t n = strlen(full[k]);
		for (size_t i = 0; i < n; i++) {
			buf_set(&s, full[k], i);
			CHECK(!verify(pw[k], buf_cstr(&s)));
		}
		buf_set(&s, full[k], n);
		buf_append_str(&s, "x"); /* trailing garbage */
		CHECK(!verify(pw[k], buf_cstr(&s)));
		CHECK(verify(pw[k], full[k]));
	}
	CHECK_INT(passwd_hash(PW("Hello world!"), PASSWD_YESCRYPT, &h), 0);
	for (size_t i = 0; i < h.len; i += 7) {
		buf_set(&s, h.data, i);
		CHECK(!verify("Hello world!", buf_cstr(&s)));
	}
	static const char *const garbage[] = {
		"$y$", "$y$j9T$", "$y$j9T$$", "$y$!!!$abc$def", "$y$\xff\xfe$x$y",
		"$6$", "$6$$", "$6$rounds=$x$y", "$6$rounds=99999999999999999999$x$y",
		"$2b$", "$2b$99$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW",
		"$2b$05$", "$2b$05$short", "$5$", "$1$", "$", "$$$$", "$9$abc$def",
	};
	for (size_t i = 0; i < sizeof garbage / sizeof garbage[0]; i++) {
		CHECK(!verify("Hello world!", garbage[i]));
		buf_set_str(&s, "{CRYPT}");
		buf_append_str(&s, garbage[i]);
		CHECK(!verify("Hello world!", buf_cstr(&s)));
	}
	buf_free(&h);
	buf_free(&s);
}

/* A stored hash asking for hours of work is refused before any is done
 * (the test would time out otherwise). */
TEST(passwd_costly_stored_hashes)
{
	CHECK(!verify("U*U", "$2b$31$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW"));
	CHECK(!verify("U*U", "$2b$17$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW"));
	CHECK(!verify("U*U", "$2b$5$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW"));
	CHECK(!verify("x", "$6$rounds=999999999$saltstring$svn8UoSVapNtMuq1ukKS4tPQd8iKwSMHWjl"));
	CHECK(!verify("x", "$6$rounds=99999999999999999999999999$salt$abc"));
	CHECK(!verify("x", "{SHA256-CRYPT}$5$rounds=5000001$salt$abc"));
	CHECK(!verify("x", "$6$rounds=-1$salt$abc"));
	CHECK(!verify("x", "$6$rounds=$salt$abc"));
	/* yescrypt: jET asks for 512 MiB, jzT and extra parameters are refused */
	CHECK(!verify("x", "$y$jET$abcdefgh$YNOWA98L/g8W0FD3nT5eStKeaBaNTk8Cphir.qjYFI2"));
	CHECK(!verify("x", "$y$jHT$abcdefgh$Sewqam0E7wE1P9X.sRmP3Q/2/sps5zWBQneUOCne8SA"));
	CHECK(!verify("x", "$y$jzT$abcdefgh$Sewqam0E7wE1P9X.sRmP3Q/2/sps5zWBQneUOCne8SA"));
	CHECK(!verify("x", "$y$j9T5$abcdefgh$Sewqam0E7wE1P9X.sRmP3Q/2/sps5zWBQneUOCne8SA"));
	CHECK(!verify("x", "{CRYPT}$gy$jHT$abcdefgh$Sewqam0E7wE1P9X.sRmP3Q/2/sps5zWBQneUOC"));
	CHECK(!verify("x", "$7$Z/..../....abcdefgh$Sewqam0E7wE1P9X.sRmP3Q/2/sps5zWBQneUOC"));
	CHECK(!verify("x", "$7$C6..../....$"));
	/* older methods with counts up to 2^32 (found while writing fuzz/passwd:
	 * these took hours before they were bounded) */
	CHECK(!verify("pw", "$sha1$4294967295$saltsalt$qr7.twTgiO.PdHCun7IWvJZK.QMV"));
	CHECK(!verify("pw", "{CRYPT}$sha1$1000001$saltsalt$qr7.twTgiO.PdHCun7IWvJZK.QMV"));
	CHECK(!verify("pw", "$sha1$$saltsalt$x"));
	CHECK(!verify("pw", "$sha1$+1000$saltsalt$x"));
	CHECK(!verify("pw", "$md5,rounds=4294967295$saltsalt$$8RWEnSrR95nH7G/Yseq7f/"));
	CHECK(!verify("pw", "$md5,rounds=250001$saltsalt$$8RWEnSrR95nH7G/Yseq7f/"));
	CHECK(!verify("pw", "$md5,bogus$saltsalt$$8RWEnSrR95nH7G/Yseq7f/"));
	CHECK(!verify("pw", "_zzzzsaltH/rNoMLl8KQ"));
	CHECK(!verify("pw", "_J9.!saltH/rNoMLl8KQ"));
	CHECK(!verify("pw", "_J9"));
	CHECK(verify("pw", "$sha1$1000$saltsalt$qr7.twTgiO.PdHCun7IWvJZK.QMV"));
	CHECK(verify("pw", "$md5,rounds=1000$saltsalt$$8RWEnSrR95nH7G/Yseq7f/"));
	CHECK(verify("pw", "$md5$saltsalt$$5c0/iW5DROqUFnBc7Z/cd/"));
	CHECK(verify("pw", "_J9..saltH/rNoMLl8KQ"));
	/* the limits themselves are fine */
	CHECK(verify("Hello world!", sha512_rounds));
	CHECK(verify("U*U", "$2a$05$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW"));
}

TEST(passwd_hostile_passwords)
{
	struct buf h = BUF_INIT;
	/* a NUL inside: never hashed, never verified, not even against its prefix */
	CHECK_INT(passwd_hash(PW("Hello\0world!"), PASSWD_SHA512_CRYPT, &h), -1);
	CHECK_INT(errno, EINVAL);
	CHECK(!passwd_verify(PW("Hello world!\0"), sha512_hello));
	CHECK(!passwd_verify(PW("Hello\0world!"), "{PLAIN}Hello"));
	CHECK(passwd_check_input(PW("a\0b"), PASSWD_YESCRYPT) != NULL);
	/* empty */
	CHECK_INT(passwd_hash("", 0, PASSWD_YESCRYPT, &h), -1);
	CHECK(!passwd_verify("", 0, "{PLAIN}"));
	CHECK(!passwd_verify(NULL, 0, sha512_hello));
	/* length bounds */
	char *big = malloc(PASSWD_MAX + 2);
	CHECK(big != NULL);
	memset(big, 'p', PASSWD_MAX + 1);
	big[PASSWD_MAX + 1] = '\0';
	CHECK_INT(passwd_hash(big, PASSWD_MAX + 1, PASSWD_SHA512_CRYPT, &h), -1);
	CHECK_INT(passwd_hash(big, PASSWD_MAX, PASSWD_SHA512_CRYPT, &h), 0);
	CHECK(passwd_verify(big, PASSWD_MAX, buf_cstr(&h)));
	CHECK(!passwd_verify(big, PASSWD_MAX + 1, buf_cstr(&h)));
	CHECK_INT(passwd_hash(big, PASSWD_BCRYPT_MAX + 1, PASSWD_BCRYPT, &h), -1);
	CHECK_INT(passwd_hash(big, PASSWD_BCRYPT_MAX, PASSWD_BCRYPT, &h), 0);
	CHECK(passwd_verify(big, PASSWD_BCRYPT_MAX, buf_cstr(&h)));
	CHECK_INT(passwd_hash(PW("x"), (enum passwd_scheme)7, &h), -1);
	free(big);
	/* bytes that are not UTF-8 are just bytes */
	CHECK_INT(passwd_hash(PW("\xff\xfe\x80pw"), PASSWD_YESCRYPT, &h), 0);
	CHECK(passwd_verify(PW("\xff\xfe\x80pw"), buf_cstr(&h)));
	CHECK(!passwd_verify(PW("\xff\xfe\x81pw"), buf_cstr(&h)));
	buf_free(&h);
}

TEST(passwd_overlong_stored_value)
{
	struct buf s = BUF_INIT;
	buf_set_str(&s, "{PLAIN}");
	while (s.len <= PASSWD_STORED_MAX)
		buf_append_char(&s, 'a');
	CHECK(!verify("aaaa", buf_cstr(&s)));
	buf_truncate(&s, 7 + PASSWD_MAX);
	CHECK(passwd_verify(s.data + 7, PASSWD_MAX, buf_cstr(&s))); /* the longest */
	CHECK(!passwd_verify(s.data + 7, PASSWD_MAX - 1, buf_cstr(&s)));
	buf_set_str(&s, "{SSHA}");
	while (s.len <= PASSWD_STORED_MAX + 100)
		buf_append_str(&s, "AAAA");
	CHECK(!verify("x", buf_cstr(&s)));
	buf_free(&s);
}
