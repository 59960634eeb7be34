/* Tests for crammd5: RFC 2195's example, Dovecot's stored context form, and
 * malformed responses and stored values that must never verify. */
#include "crammd5.h"
#include "buf.h"
#include "unit.h"

#include <string.h>

#define RFC_CHAL "<1896.697170952@postoffice.reston.mci.net>"

static int check(const char *stored, const char *chal, const char *resp)
{
	struct buf user = BUF_INIT;
	unsigned char d[16];
	int ok = crammd5_parse(resp, strlen(resp), &user, d) == 0 &&
		 crammd5_verify(stored, chal, strlen(chal), d);
	buf_free(&user);
	return ok;
}

TEST(crammd5_rfc2195_example_plain_and_context)
{
	struct buf sec = BUF_INIT;
	CHECK(check("{PLAIN}tanstaaftanstaaf", RFC_CHAL, "tim b913a602c7eda7a495b4e6e7334d3890"));
	CHECK(check("{cleartext}tanstaaftanstaaf", RFC_CHAL, "tim B913A602C7EDA7A495B4E6E7334D3890"));
	CHECK_INT(crammd5_secret_make("tanstaaftanstaaf", 16, &sec), 0);
	CHECK(check(buf_cstr(&sec), RFC_CHAL, "tim b913a602c7eda7a495b4e6e7334d3890"));
	CHECK(!check(buf_cstr(&sec), RFC_CHAL, "tim b913a602c7eda7a495b4e6e7334d3891"));
	CHECK(!check(buf_cstr(&sec), "<1896.697170953@postoffice.reston.mci.net>",
		     "tim b913a602c7eda7a495b4e6e7334d3890"));
	CHECK(!check("{PLAIN}tanstaaftanstaafX", RFC_CHAL, "tim b913a602c7eda7a495b4e6e7334d3890"));
	buf_free(&sec);
}

TEST(crammd5_matches_dovecot)
{
	/* doveadm pw -s CRAM-MD5 -p pencil */
	struct buf sec = BUF_INIT;
	CHECK_INT(crammd5_secret_make("pencil", 6, &sec), 0);
	CHECK_BUF(sec, "{CRAM-MD5}7f47ace0e2af8f6cdeb72c03243a8c87834e19104164d6a42de72d243adb4080");
	buf_free(&sec);
}

TEST(crammd5_long_password_is_hashed_first)
{
	char pw[200];
	memset(pw, 'k', sizeof pw);
	struct buf sec = BUF_INIT, plain = BUF_INIT, user = BUF_INIT;
	CHECK_INT(crammd5_secret_make(pw, sizeof pw, &sec), 0);
	buf_append_str(&plain, "{PLAIN}");
	buf_append(&plain, pw, sizeof pw);
	/* both forms give the same HMAC for any challenge */
	unsigned char d[16];
	CHECK_INT(crammd5_parse("u 00000000000000000000000000000000", 34, &user, d), 0);
	for (int form = 0; form < 2; form++)
		CHECK(!crammd5_verify(form ? buf_cstr(&plain) : buf_cstr(&sec), "x", 1, d));
	buf_free(&sec);
	buf_free(&plain);
	buf_free(&user);
}

TEST(crammd5_parse_refuses_malformed)
{
	struct buf user = BUF_INIT;
	unsigned char d[16];
	static const char *const bad[] = {
		"", "tim", "tim b913a602c7eda7a495b4e6e7334d389",
		"tim  b913a602c7eda7a495b4e6e7334d3890x",
		"tim b913a602c7eda7a495b4e6e7334d38zz",
		" b913a602c7eda7a495b4e6e7334d3890x",
		"ti\tm b913a602c7eda7a495b4e6e7334d3890",
		"timb913a602c7eda7a495b4e6e7334d3890",
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		CHECK_INT(crammd5_parse(bad[i], strlen(bad[i]), &user, d), -1);
	CHECK_INT(crammd5_parse("t\0m b913a602c7eda7a495b4e6e7334d3890", 36, &user, d), -1);
	char big[2000];
	memset(big, 'a', sizeof big);
	memcpy(big + sizeof big - 33, " b913a602c7eda7a495b4e6e7334d3890", 33);
	CHECK_INT(crammd5_parse(big, sizeof big, &user, d), -1);
	CHECK_INT(crammd5_parse("tim b913a602c7eda7a495b4e6e7334d3890", 36, &user, d), 0);
	CHECK_BUF(user, "tim");
	buf_free(&user);
}

TEST(crammd5_bad_stored_values_never_verify)
{
	unsigned char d[16] = { 0 };
	static const char *const bad[] = {
		"", "{CRAM-MD5}", "{CRAM-MD5}7f47", "{PLAIN}", "$6$abc$def", "{SHA}abc",
		"{CRAM-MD5}7f47ace0e2af8f6cdeb72c03243a8c87834e19104164d6a42de72d243adb408g",
		"{CRAM-MD5}7f47ace0e2af8f6cdeb72c03243a8c87834e19104164d6a42de72d243adb408000",
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		CHECK(!crammd5_verify(bad[i], "c", 1, d));
}

TEST(crammd5_challenge_is_fresh)
{
	struct buf a = BUF_INIT, b = BUF_INIT;
	CHECK_INT(crammd5_challenge(&a, "mx.example"), 0);
	CHECK_INT(crammd5_challenge(&b, "mx.example"), 0);
	CHECK(a.len > 12 && a.data[0] == '<' && a.data[a.len - 1] == '>');
	CHECK(strstr(buf_cstr(&a), "@mx.example>") != NULL);
	CHECK(!buf_eq_str(&a, buf_cstr(&b)));
	buf_free(&a);
	buf_free(&b);
}
