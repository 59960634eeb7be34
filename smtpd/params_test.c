/* Unit tests of smtpd/params.c: splitting ESMTP parameters, hostile input. */
#include "smtpd.h"

#include "unit.h"

#include <string.h>

static int split(const char *s, struct esmtp_param *p, size_t max, size_t *n)
{
	return params_split(s, strlen(s), p, max, n);
}

TEST(params_basic)
{
	struct esmtp_param p[4];
	size_t n;
	CHECK_INT(split("SIZE=100 BODY=8BITMIME  SMTPUTF8", p, 4, &n), 0);
	CHECK_INT((int)n, 3);
	CHECK(param_is(&p[0], "size"));
	CHECK_MEM(p[0].val, p[0].vlen, "100", 3);
	CHECK(param_is(&p[1], "BODY"));
	CHECK(param_is(&p[2], "SMTPUTF8"));
	CHECK(p[2].val == NULL);
	CHECK(!param_is(&p[2], "SMTPUTF"));
}

TEST(params_empty)
{
	struct esmtp_param p[1];
	size_t n = 9;
	CHECK_INT(split("", p, 1, &n), 0);
	CHECK_INT((int)n, 0);
	CHECK_INT(split("   ", p, 1, &n), 0);
	CHECK_INT((int)n, 0);
}

TEST(params_refused)
{
	struct esmtp_param p[2];
	size_t n;
	CHECK_INT(split("=x", p, 2, &n), -1);        /* no keyword */
	CHECK_INT(split("-A=x", p, 2, &n), -1);      /* keyword starts with '-' */
	CHECK_INT(split("A=", p, 2, &n), -1);        /* empty value */
	CHECK_INT(split("A=b=c", p, 2, &n), -1);     /* '=' inside the value */
	CHECK_INT(split("A B C", p, 2, &n), -1);     /* more than max */
	CHECK_INT(split("A=\x01", p, 2, &n), -1);    /* control byte */
	CHECK_INT(split("A\tB", p, 2, &n), -1);
	CHECK_INT(params_split("A=b\0c", 5, p, 2, &n), -1); /* NUL */
	CHECK_INT(split("A=b\x7f", p, 2, &n), -1);
}

TEST(params_utf8_value)
{
	struct esmtp_param p[1];
	size_t n;
	CHECK_INT(split("ORCPT=utf-8;\xc3\xa9", p, 1, &n), 0);
	CHECK_INT((int)p[0].vlen, 8);
}

TEST(params_long_input)
{
	static char s[100001];
	struct esmtp_param p[16];
	size_t n;
	memset(s, 'A', sizeof s - 1);
	CHECK_INT(split(s, p, 16, &n), 0);
	CHECK_INT((int)p[0].klen, 100000);
	for (size_t i = 1; i < sizeof s - 1; i += 2)
		s[i] = ' ';
	CHECK_INT(split(s, p, 16, &n), -1);
}
