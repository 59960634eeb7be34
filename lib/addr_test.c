#include "addr.h"
#include "unit.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Parse s as a path with flags; return its canonical "<...>" in a static
 * buffer, or "E<n>" with the error number. */
static const char *path(const char *s, unsigned flags)
{
	static struct buf out = BUF_INIT;
	struct addr a = ADDR_INIT;
	size_t rest = 0;
	enum addr_err e = addr_parse_path(s, strlen(s), flags, &a, &rest);
	buf_reset(&out);
	if (e != ADDR_OK)
		buf_printf(&out, "E%d", (int)e);
	else
		addr_format(&out, &a, ADDR_FMT_ANGLE);
	addr_free(&a);
	return buf_cstr(&out);
}

static const char *err(enum addr_err e)
{
	static char s[8];
	s[0] = 'E';
	s[1] = (char)('0' + (int)e / 10);
	s[2] = (char)('0' + (int)e % 10);
	s[3] = '\0';
	if (s[1] == '0') {
		s[1] = s[2];
		s[2] = '\0';
	}
	return s;
}

static const char *mbox(const char *s, unsigned flags)
{
	static struct buf out = BUF_INIT;
	struct addr a = ADDR_INIT;
	enum addr_err e = addr_parse_mailbox(s, strlen(s), flags, &a);
	buf_reset(&out);
	if (e != ADDR_OK)
		buf_printf(&out, "E%d", (int)e);
	else
		addr_format(&out, &a, 0);
	addr_free(&a);
	return buf_cstr(&out);
}

/* A string of n copies of c, static, for length boundaries. */
static const char *rep(char c, size_t n)
{
	static char s[4][1200];
	static int k;
	char *p = s[k++ % 4];
	memset(p, c, n);
	p[n] = '\0';
	return p;
}

/* A valid domain of exactly n octets (n >= 1): 63-octet labels joined by dots. */
static const char *domain_of(size_t n)
{
	static char s[2][1200];
	static int k;
	char *p = s[k++ % 2];
	size_t i = 0;
	while (i < n) {
		size_t lab = 0;
		while (i < n && lab < 63) {
			p[i++] = 'a';
			lab++;
		}
		if (i < n - 1)
			p[i++] = '.';
		else if (i < n)
			p[i++] = 'b'; /* avoid a trailing dot at the end */
	}
	p[n] = '\0';
	return p;
}

TEST(addr_plain_paths)
{
	CHECK_STR(path("<user@example.com>", 0), "<user@example.com>");
	CHECK_STR(path(" <user@example.com>", 0), "<user@example.com>");
	CHECK_STR(path("<first.last@sub.example.com>", 0), "<first.last@sub.example.com>");
	CHECK_STR(path("<a!#$%&'*+-/=?^_`{|}~@x.y>", 0), "<a!#$%&'*+-/=?^_`{|}~@x.y>");
	CHECK_STR(path("<User@EXAMPLE.Com>", 0), "<User@example.com>");
	CHECK_STR(path("<u@localhost>", 0), "<u@localhost>");
	CHECK_STR(path("<u@1.2.3.4>", 0), "<u@1.2.3.4>");
	CHECK_STR(path("<u@a-b.c>", 0), "<u@a-b.c>");
}

TEST(addr_null_path_and_postmaster)
{
	CHECK_STR(path("<>", ADDR_ALLOW_NULL), "<>");
	CHECK_STR(path("<>", 0), err(ADDR_ERR_NULL));
	CHECK_STR(path("< >", ADDR_ALLOW_NULL), err(ADDR_ERR_LOCAL_SYNTAX));
	CHECK_STR(path("<Postmaster>", ADDR_ALLOW_POSTMASTER), "<Postmaster>");
	CHECK_STR(path("<POSTMASTER>", ADDR_ALLOW_POSTMASTER), "<POSTMASTER>");
	CHECK_STR(path("<Postmaster>", 0), err(ADDR_ERR_NO_DOMAIN));
	CHECK_STR(path("<root>", ADDR_ALLOW_POSTMASTER), err(ADDR_ERR_NO_DOMAIN));
	CHECK_STR(path("<root>", ADDR_ALLOW_NODOMAIN), "<root>");
	struct addr a = ADDR_INIT;
	CHECK_INT(addr_parse_path("<>", 2, ADDR_ALLOW_NULL, &a, NULL), ADDR_OK);
	CHECK(a.is_null);
	struct buf b = BUF_INIT;
	addr_format(&b, &a, 0);
	CHECK_BUF(b, "");
	buf_free(&b);
	addr_free(&a);
}

TEST(addr_rest_is_esmtp_parameters)
{
	struct addr a = ADDR_INIT;
	const char *s = "<u@x.org> SIZE=1000 BODY=8BITMIME";
	size_t rest = 0;
	CHECK_INT(addr_parse_path(s, strlen(s), 0, &a, &rest), ADDR_OK);
	CHECK_STR(s + rest, "SIZE=1000 BODY=8BITMIME");
	s = "<u@x.org>   ";
	CHECK_INT(addr_parse_path(s, strlen(s), 0, &a, &rest), ADDR_OK);
	CHECK_INT(rest, strlen(s));
	CHECK_INT(addr_parse_path(s, strlen(s), 0, &a, NULL), ADDR_OK);
	s = "<u@x.org> SIZE=1";
	CHECK_INT(addr_parse_path(s, strlen(s), 0, &a, NULL), ADDR_ERR_TRAILING);
	s = "<u@x.org>garbage";
	CHECK_INT(addr_parse_path(s, strlen(s), 0, &a, &rest), ADDR_ERR_TRAILING);
	CHECK_INT(a.local.len, 0); /* nothing left behind on failure */
	s = "<u@x.org>>";
	CHECK_INT(addr_parse_path(s, strlen(s), 0, &a, &rest), ADDR_ERR_TRAILING);
	addr_free(&a);
}

TEST(addr_syntax_errors)
{
	CHECK_STR(path("", 0), err(ADDR_ERR_SYNTAX));
	CHECK_STR(path("   ", 0), err(ADDR_ERR_SYNTAX));
	CHECK_STR(path("user@example.com", 0), err(ADDR_ERR_SYNTAX));
	CHECK_STR(path("<user@example.com", 0), err(ADDR_ERR_SYNTAX));
	CHECK_STR(path("<<u@x>", 0), err(ADDR_ERR_LOCAL_SYNTAX));
	CHECK_STR(path("<u@@x>", 0), err(ADDR_ERR_DOMAIN_SYNTAX));
	CHECK_STR(path("<u@>", 0), err(ADDR_ERR_DOMAIN_SYNTAX));
	CHECK_STR(path("<.u@x>", 0), err(ADDR_ERR_LOCAL_SYNTAX));
	CHECK_STR(path("<u.@x>", 0), err(ADDR_ERR_LOCAL_SYNTAX));
	CHECK_STR(path("<u..v@x>", 0), err(ADDR_ERR_LOCAL_SYNTAX));
	CHECK_STR(path("<u v@x>", 0), err(ADDR_ERR_LOCAL_SYNTAX));
	CHECK_STR(path("<u(c)@x>", 0), err(ADDR_ERR_LOCAL_SYNTAX));
	CHECK_STR(path("<u@x..y>", 0), err(ADDR_ERR_DOMAIN_SYNTAX));
	CHECK_STR(path("<u@.x>", 0), err(ADDR_ERR_DOMAIN_SYNTAX));
	CHECK_STR(path("<u@-x.y>", 0), err(ADDR_ERR_DOMAIN_SYNTAX));
	CHECK_STR(path("<u@x-.y>", 0), err(ADDR_ERR_DOMAIN_SYNTAX));
	CHECK_STR(path("<u@x_y.z>", 0), err(ADDR_ERR_DOMAIN_SYNTAX));
	CHECK_STR(path("<u@x y>", 0), err(ADDR_ERR_DOMAIN_SYNTAX));
	CHECK_STR(path("<\"u\"v@x>", 0), err(ADDR_ERR_LOCAL_SYNTAX));
	CHECK_STR(path("<\"u@x>", 0), err(ADDR_ERR_QUOTE));
	CHECK_STR(path("<\"u\\\">", 0), err(ADDR_ERR_QUOTE));
	CHECK_STR(path("<u@x\">", 0), err(ADDR_ERR_QUOTE));
	CHECK_STR(path("<u@x\"\">", 0), err(ADDR_ERR_DOMAIN_SYNTAX));
	CHECK_STR(path("<@>", 0), err(ADDR_ERR_ROUTE));
}

TEST(addr_trailing_dot_refused)
{
	CHECK_STR(path("<u@example.com.>", 0), err(ADDR_ERR_TRAILING_DOT));
	CHECK_STR(path("<u@.>", 0), err(ADDR_ERR_DOMAIN_SYNTAX));
	CHECK_STR(mbox("u@example.com.", 0), err(ADDR_ERR_TRAILING_DOT));
}

TEST(addr_control_bytes_refused)
{
	struct addr a = ADDR_INIT;
	CHECK_INT(addr_parse_path("<u\0@x.y>", 8, 0, &a, NULL), ADDR_ERR_CONTROL);
	CHECK_INT(addr_parse_path("<u@x.y\0>", 8, 0, &a, NULL), ADDR_ERR_CONTROL);
	CHECK_INT(addr_parse_path("<u@x.y> A=\0", 11, 0, &a, NULL), ADDR_ERR_CONTROL);
	CHECK_STR(path("<u\r\n@x.y>", 0), err(ADDR_ERR_CONTROL));
	CHECK_STR(path("<u@x.y\r>", 0), err(ADDR_ERR_CONTROL));
	CHECK_STR(path("<u@x.y>\r\nRCPT TO:<v@x.y>", 0), err(ADDR_ERR_CONTROL));
	CHECK_STR(path("<\"a\nb\"@x.y>", 0), err(ADDR_ERR_CONTROL));
	CHECK_STR(path("<\"a\\\rb\"@x.y>", 0), err(ADDR_ERR_CONTROL));
	CHECK_STR(path("<a\tb@x.y>", 0), err(ADDR_ERR_CONTROL));
	CHECK_STR(path("<\"a\x7f\"@x.y>", 0), err(ADDR_ERR_CONTROL));
	CHECK_STR(path("<u@[1.2.3.4\t]>", 0), err(ADDR_ERR_CONTROL));
	CHECK_INT(addr_parse_mailbox("u\0@x.y", 6, 0, &a), ADDR_ERR_CONTROL);
	CHECK_INT(addr_parse_mailbox("u@x\0.y", 6, 0, &a), ADDR_ERR_CONTROL);
	CHECK_INT(addr_parse_mailbox("u@x.y\n", 6, 0, &a), ADDR_ERR_CONTROL);
	addr_free(&a);
}

TEST(addr_quoted_local_parts)
{
	/* quoting that is not needed goes away */
	CHECK_STR(path("<\"user\"@x.y>", 0), "<user@x.y>");
	CHECK_STR(path("<\"first.last\"@x.y>", 0), "<first.last@x.y>");
	CHECK_STR(path("<\"\\u\\s\\e\\r\"@x.y>", 0), "<user@x.y>");
	/* and what needs it is re-quoted minimally */
	CHECK_STR(path("<\"john doe\"@x.y>", 0), "<\"john doe\"@x.y>");
	CHECK_STR(path("<\"j\\ d\"@x.y>", 0), "<\"j d\"@x.y>");
	CHECK_STR(path("<\"a@b\"@x.y>", 0), "<\"a@b\"@x.y>");
	CHECK_STR(path("<\"a>b\"@x.y>", 0), "<\"a>b\"@x.y>");
	CHECK_STR(path("<\"a\\\"b\"@x.y>", 0), "<\"a\\\"b\"@x.y>");
	CHECK_STR(path("<\"a\\\\b\"@x.y>", 0), "<\"a\\\\b\"@x.y>");
	CHECK_STR(path("<\".a\"@x.y>", 0), "<\".a\"@x.y>");
	CHECK_STR(path("<\"a..b\"@x.y>", 0), "<\"a..b\"@x.y>");
	CHECK_STR(path("<\"\"@x.y>", 0), "<\"\"@x.y>");
	struct addr a = ADDR_INIT;
	const char *s = "<\"a\\\"b c\"@x.y>";
	CHECK_INT(addr_parse_path(s, strlen(s), 0, &a, NULL), ADDR_OK);
	CHECK_BUF(a.local, "a\"b c");
	addr_free(&a);
	/* a backslash must be followed by a printable ASCII byte */
	CHECK_STR(path("<\"a\\\xc3\xa9\"@x.y>", ADDR_SMTPUTF8), err(ADDR_ERR_LOCAL_SYNTAX));
}

TEST(addr_source_routes_are_dropped)
{
	CHECK_STR(path("<@a.example,@b.example:user@d.example>", 0), "<user@d.example>");
	CHECK_STR(path("<@a.example:user@d.example>", 0), "<user@d.example>");
	struct addr a = ADDR_INIT;
	const char *s = "<@relay.example:u@d.example>";
	CHECK_INT(addr_parse_path(s, strlen(s), 0, &a, NULL), ADDR_OK);
	CHECK(a.had_route);
	CHECK_BUF(a.domain, "d.example");
	addr_free(&a);
	CHECK_STR(path("<@a.example:>", ADDR_ALLOW_NULL), err(ADDR_ERR_ROUTE));
	CHECK_STR(path("<@a.example,user@d.example>", 0), err(ADDR_ERR_ROUTE));
	CHECK_STR(path("<@a..example:user@d.example>", 0), err(ADDR_ERR_ROUTE));
	CHECK_STR(path("<@a.example,:user@d.example>", 0), err(ADDR_ERR_ROUTE));
	CHECK_STR(path("<@:user@d.example>", 0), err(ADDR_ERR_ROUTE));
	CHECK_STR(path("<@a.example@b:user@d.example>", 0), err(ADDR_ERR_ROUTE));
}

TEST(addr_local_part_limit_is_exact)
{
	struct buf s = BUF_INIT;
	buf_printf(&s, "<%s@x.y>", rep('a', 64));
	CHECK_STR(path(buf_cstr(&s), 0), buf_cstr(&s));
	buf_reset(&s);
	buf_printf(&s, "<%s@x.y>", rep('a', 65));
	CHECK_STR(path(buf_cstr(&s), 0), err(ADDR_ERR_LOCAL_TOO_LONG));
	/* counted as sent, quotes included */
	buf_reset(&s);
	buf_printf(&s, "<\"%s\"@x.y>", rep('a', 62));
	CHECK_INT(path(buf_cstr(&s), 0)[0], '<');
	buf_reset(&s);
	buf_printf(&s, "<\"%s\"@x.y>", rep('a', 63));
	CHECK_STR(path(buf_cstr(&s), 0), err(ADDR_ERR_LOCAL_TOO_LONG));
	buf_free(&s);
}

TEST(addr_domain_limits_are_exact)
{
	struct buf d = BUF_INIT, u = BUF_INIT;
	CHECK_INT(addr_parse_domain(domain_of(255), 255, 0, &d, &u), ADDR_OK);
	CHECK_INT(d.len, 255);
	CHECK_INT(addr_parse_domain(domain_of(256), 256, 0, &d, &u), ADDR_ERR_DOMAIN_TOO_LONG);
	CHECK_INT(d.len, 0);
	CHECK_INT(addr_parse_domain(rep('a', 63), 63, 0, &d, NULL), ADDR_OK);
	CHECK_INT(addr_parse_domain(rep('a', 64), 64, 0, &d, NULL), ADDR_ERR_LABEL_TOO_LONG);
	/* a 255-octet domain fits the domain limit but no path can carry it */
	struct buf s = BUF_INIT;
	buf_printf(&s, "<u@%s>", domain_of(255));
	CHECK_STR(path(buf_cstr(&s), 0), err(ADDR_ERR_PATH_TOO_LONG));
	buf_reset(&s);
	buf_printf(&s, "<u@%s>", domain_of(256));
	CHECK_STR(path(buf_cstr(&s), 0), err(ADDR_ERR_DOMAIN_TOO_LONG));
	buf_free(&s);
	buf_free(&d);
	buf_free(&u);
}

TEST(addr_path_limit_is_exact)
{
	struct buf s = BUF_INIT;
	/* "<" + 64 + "@" + 189 + ">" = 256 */
	buf_printf(&s, "<%s@%s>", rep('l', 64), domain_of(189));
	CHECK_INT(s.len, 256);
	CHECK_STR(path(buf_cstr(&s), 0), buf_cstr(&s));
	buf_reset(&s);
	buf_printf(&s, "<%s@%s>", rep('l', 64), domain_of(190));
	CHECK_STR(path(buf_cstr(&s), 0), err(ADDR_ERR_PATH_TOO_LONG));
	/* a source route counts towards the path */
	buf_reset(&s);
	buf_printf(&s, "<@r.example:%s@%s>", rep('l', 64), domain_of(179));
	CHECK_INT(s.len, 257);
	CHECK_STR(path(buf_cstr(&s), 0), err(ADDR_ERR_PATH_TOO_LONG));
	/* a bare mailbox must fit in a path too: 254 octets */
	buf_reset(&s);
	buf_printf(&s, "%s@%s", rep('l', 64), domain_of(189));
	CHECK_STR(mbox(buf_cstr(&s), 0), buf_cstr(&s));
	buf_reset(&s);
	buf_printf(&s, "%s@%s", rep('l', 64), domain_of(190));
	CHECK_STR(mbox(buf_cstr(&s), 0), err(ADDR_ERR_PATH_TOO_LONG));
	buf_free(&s);
}

TEST(addr_huge_argument)
{
	size_t n = 1u << 20;
	char *s = malloc(n + 3);
	CHECK(s != NULL);
	s[0] = '<';
	memset(s + 1, 'a', n);
	s[n + 1] = '>';
	s[n + 2] = '\0';
	struct addr a = ADDR_INIT;
	CHECK_INT(addr_parse_path(s, n + 2, 0, &a, NULL), ADDR_ERR_LOCAL_TOO_LONG);
	CHECK_INT(addr_parse_path(s, n + 2, ADDR_ALLOW_NODOMAIN, &a, NULL),
		  ADDR_ERR_LOCAL_TOO_LONG);
	s[n / 2] = '@';
	CHECK_INT(addr_parse_path(s, n + 2, 0, &a, NULL), ADDR_ERR_LOCAL_TOO_LONG);
	s[n + 1] = 'a';
	CHECK_INT(addr_parse_path(s, n + 2, 0, &a, NULL), ADDR_ERR_SYNTAX);
	memset(s + 1, '"', n);
	CHECK_INT(addr_parse_path(s, n + 2, 0, &a, NULL), ADDR_ERR_SYNTAX);
	addr_free(&a);
	free(s);
}

TEST(addr_literals)
{
	CHECK_STR(path("<u@[192.0.2.1]>", 0), "<u@[192.0.2.1]>");
	CHECK_STR(path("<u@[IPv6:2001:DB8::1]>", 0), "<u@[IPv6:2001:db8::1]>");
	CHECK_STR(path("<u@[ipv6:2001:db8:0:0:0:0:0:1]>", 0), "<u@[IPv6:2001:db8::1]>");
	CHECK_STR(path("<u@[IPv6:::ffff:192.0.2.1]>", 0), "<u@[IPv6:::ffff:192.0.2.1]>");
	struct addr a = ADDR_INIT;
	const char *s = "<u@[192.0.2.1]>";
	CHECK_INT(addr_parse_path(s, strlen(s), 0, &a, NULL), ADDR_OK);
	CHECK(a.is_literal);
	addr_free(&a);
	const char *bad[] = {
		"<u@[]>", "<u@[192.0.2]>", "<u@[192.0.2.256]>", "<u@[192.0.2.1.5]>",
		"<u@[ 192.0.2.1]>", "<u@[192.0.2.1]x>", "<u@[192.0.2.1>", "<u@[IPv6:1::2::3]>",
		"<u@[IPv6:192.0.2.1]>", "<u@[2001:db8::1]>", "<u@[IPv6:fe80::1%eth0]>",
		"<u@[x-tag:foo]>", "<u@[IPv4:192.0.2.1]>", "<u@[example.com]>",
		"<u@[IPv6:]>", "<u@[[1.2.3.4]]>",
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		CHECK_STR(path(bad[i], 0), err(ADDR_ERR_LITERAL));
	CHECK_STR(path("<u@[1.2.3.4].com>", 0), err(ADDR_ERR_LITERAL));
	CHECK_STR(path("<u@x.[1.2.3.4]>", 0), err(ADDR_ERR_DOMAIN_SYNTAX));
}

TEST(addr_idna_domains)
{
	struct addr a = ADDR_INIT;
	const char *s = "<user@b\xc3\xbc" "cher.example>";
	CHECK_INT(addr_parse_path(s, strlen(s), 0, &a, NULL), ADDR_ERR_8BIT);
	CHECK_INT(addr_err_code(ADDR_ERR_8BIT), 553);
	CHECK_INT(addr_parse_path(s, strlen(s), ADDR_SMTPUTF8, &a, NULL), ADDR_OK);
	CHECK_BUF(a.domain, "xn--bcher-kva.example");
	CHECK_BUF(a.domain_u, "b\xc3\xbc" "cher.example");
	CHECK(!a.local_utf8);
	struct buf f = BUF_INIT;
	addr_format(&f, &a, ADDR_FMT_UNICODE);
	CHECK_BUF(f, "user@b\xc3\xbc" "cher.example");
	/* uppercase U-labels map to lowercase */
	CHECK_STR(path("<u@B\xc3\x9c" "CHER.Example>", ADDR_SMTPUTF8), "<u@xn--bcher-kva.example>");
	/* A-labels are checked and lowercased, with or without SMTPUTF8 */
	CHECK_STR(path("<u@XN--BCHER-KVA.EXAMPLE>", 0), "<u@xn--bcher-kva.example>");
	CHECK_INT(addr_parse_path("<u@xn--bcher-kva.example>", 25, 0, &a, NULL), ADDR_OK);
	CHECK_BUF(a.domain_u, "b\xc3\xbc" "cher.example");
	CHECK_STR(path("<u@xn--zz.example>", 0), err(ADDR_ERR_IDNA));
	CHECK_STR(path("<u@xn--.example>", 0), err(ADDR_ERR_IDNA));
	CHECK_STR(path("<u@xn--a.example>", 0), err(ADDR_ERR_IDNA));
	CHECK_STR(path("<u@xn--ls8h.example>", 0), err(ADDR_ERR_IDNA)); /* emoji */
	CHECK_STR(path("<u@xn--bcher_kva.example>", 0), err(ADDR_ERR_IDNA));
	/* reserved LDH labels that are not A-labels stay plain */
	CHECK_STR(path("<u@ab--cd.example>", 0), "<u@ab--cd.example>");
	/* non-transitional: sharp s is kept */
	CHECK_STR(path("<u@fa\xc3\x9f.de>", ADDR_SMTPUTF8), "<u@xn--fa-hia.de>");
	/* disallowed code points and invalid UTF-8 in domains */
	CHECK_STR(path("<u@\xf0\x9f\x92\xa9.example>", ADDR_SMTPUTF8), err(ADDR_ERR_IDNA));
	CHECK_STR(path("<u@a\xe3\x80\x82" "b.example>", ADDR_SMTPUTF8), err(ADDR_ERR_IDNA));
	CHECK_STR(path("<u@b\xfc" "cher.example>", ADDR_SMTPUTF8), err(ADDR_ERR_UTF8));
	CHECK_STR(path("<u@b\xfc" "cher.example>", 0), err(ADDR_ERR_8BIT));
	CHECK_STR(path("<u@b\xc3\xbc" "cher.example.>", ADDR_SMTPUTF8), err(ADDR_ERR_TRAILING_DOT));
	buf_free(&f);
	addr_free(&a);
}

TEST(addr_utf8_local_parts)
{
	struct addr a = ADDR_INIT;
	const char *s = "<j\xc3\xb6rg@example.org>";
	CHECK_INT(addr_parse_path(s, strlen(s), 0, &a, NULL), ADDR_ERR_8BIT);
	CHECK_INT(addr_parse_path(s, strlen(s), ADDR_SMTPUTF8, &a, NULL), ADDR_OK);
	CHECK(a.local_utf8);
	CHECK_BUF(a.local, "j\xc3\xb6rg");
	CHECK_STR(path("<\"j\xc3\xb6 rg\"@x.y>", ADDR_SMTPUTF8), "<\"j\xc3\xb6 rg\"@x.y>");
	const char *bad[] = {
		"<j\xf6rg@x.y>", "<j\xc3@x.y>", "<\xc0\xaf@x.y>", "<\xed\xa0\x80@x.y>",
		"<\"\xf4\x90\x80\x80\"@x.y>", "<a\x80@x.y>",
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		CHECK_STR(path(bad[i], ADDR_SMTPUTF8), err(ADDR_ERR_UTF8));
		CHECK_STR(path(bad[i], 0), err(ADDR_ERR_8BIT));
	}
	addr_free(&a);
}

TEST(addr_parse_domain_direct)
{
	struct buf d = BUF_INIT, u = BUF_INIT;
	CHECK_INT(addr_parse_domain("Mail.Example.COM", 16, 0, &d, &u), ADDR_OK);
	CHECK_BUF(d, "mail.example.com");
	CHECK_BUF(u, "mail.example.com");
	CHECK_INT(addr_parse_domain("", 0, 0, &d, &u), ADDR_ERR_DOMAIN_SYNTAX);
	CHECK_INT(addr_parse_domain(".", 1, 0, &d, &u), ADDR_ERR_DOMAIN_SYNTAX);
	CHECK_INT(addr_parse_domain("a.", 2, 0, &d, &u), ADDR_ERR_TRAILING_DOT);
	CHECK_INT(addr_parse_domain("[::1]", 5, 0, &d, &u), ADDR_ERR_LITERAL);
	CHECK_INT(addr_parse_domain("[IPv6:::1]", 10, 0, &d, &u), ADDR_OK);
	CHECK_BUF(u, "[IPv6:::1]");
	buf_free(&d);
	buf_free(&u);
}

TEST(addr_mailbox_parse)
{
	CHECK_STR(mbox("User@Example.COM", 0), "User@example.com");
	CHECK_STR(mbox("\"a b\"@x.y", 0), "\"a b\"@x.y");
	CHECK_STR(mbox("<u@x.y>", 0), err(ADDR_ERR_LOCAL_SYNTAX));
	CHECK_STR(mbox("u@x.y ", 0), err(ADDR_ERR_DOMAIN_SYNTAX));
	CHECK_STR(mbox("u", 0), err(ADDR_ERR_NO_DOMAIN));
	CHECK_STR(mbox("u", ADDR_ALLOW_NODOMAIN), "u");
	CHECK_STR(mbox("", ADDR_ALLOW_NODOMAIN), err(ADDR_ERR_LOCAL_SYNTAX));
	CHECK_STR(mbox("@x.y", 0), err(ADDR_ERR_LOCAL_SYNTAX));
}

TEST(addr_errors_have_text)
{
	for (int e = ADDR_OK; e <= ADDR_ERR_PATH_TOO_LONG; e++) {
		const char *t = addr_strerror((enum addr_err)e);
		CHECK(t && *t && strlen(t) < 80);
		CHECK(!strchr(t, '\r') && !strchr(t, '\n'));
	}
	CHECK_STR(addr_strerror((enum addr_err)999), "Invalid address");
	CHECK_STR(addr_strerror(ADDR_ERR_LOCAL_TOO_LONG), "Local part too long (max 64 octets)");
	CHECK_INT(addr_err_code(ADDR_ERR_SYNTAX), 501);
}

TEST(addr_compare)
{
	struct addr a = ADDR_INIT, b = ADDR_INIT;
	CHECK_INT(addr_parse_mailbox("User@EXAMPLE.com", 16, 0, &a), ADDR_OK);
	CHECK_INT(addr_parse_path("<\"User\"@example.COM>", 20, 0, &b, NULL), ADDR_OK);
	CHECK(addr_eq(&a, &b, 0));
	CHECK_INT(addr_parse_mailbox("user@example.com", 16, 0, &b), ADDR_OK);
	CHECK(!addr_eq(&a, &b, 0));
	CHECK(addr_eq(&a, &b, 1));
	CHECK_INT(addr_parse_mailbox("user@example.org", 16, 0, &b), ADDR_OK);
	CHECK(!addr_eq(&a, &b, 1));
	CHECK_INT(addr_parse_path("<>", 2, ADDR_ALLOW_NULL, &b, NULL), ADDR_OK);
	CHECK(!addr_eq(&a, &b, 1));
	CHECK(addr_eq(&b, &b, 0));
	addr_free(&a);
	addr_free(&b);
}

TEST(addr_split_helpers)
{
	struct addr_span l, d;
	CHECK_INT(addr_split("user@example.com", 16, &l, &d), 0);
	CHECK_MEM(l.p, l.len, "user", 4);
	CHECK_MEM(d.p, d.len, "example.com", 11);
	const char *q = "\"a@b\"@x.y";
	CHECK_INT(addr_split(q, strlen(q), &l, &d), 0);
	CHECK_MEM(l.p, l.len, "\"a@b\"", 5);
	CHECK_MEM(d.p, d.len, "x.y", 3);
	q = "\"a\\\"@b\"";
	CHECK_INT(addr_split(q, strlen(q), &l, &d), -1);
	CHECK_INT(l.len, strlen(q));
	CHECK_INT(d.len, 0);
	CHECK_INT(addr_split("", 0, &l, &d), -1);

	struct addr_span u, e;
	CHECK_INT(addr_split_ext("user-ext", 8, "-+", &u, &e), 1);
	CHECK_MEM(u.p, u.len, "user", 4);
	CHECK_MEM(e.p, e.len, "ext", 3);
	CHECK_INT(addr_split_ext("user+a-b", 8, "-+", &u, &e), 1);
	CHECK_MEM(u.p, u.len, "user", 4);
	CHECK_MEM(e.p, e.len, "a-b", 3);
	CHECK_INT(addr_split_ext("user-", 5, "-", &u, &e), 1);
	CHECK_INT(e.len, 0);
	CHECK_INT(addr_split_ext("-user", 5, "-", &u, &e), 0);
	CHECK_INT(u.len, 5);
	CHECK_INT(addr_split_ext("user", 4, "-+", &u, &e), 0);
	CHECK_INT(addr_split_ext("user+x", 6, "", &u, &e), 0);
	CHECK_INT(addr_split_ext("user+x", 6, NULL, &u, &e), 0);
	CHECK_INT(addr_split_ext("u\0-x", 4, "-", &u, &e), 1);
	CHECK_INT(u.len, 2);
}

/* An empty local part ("\"\"@example.com") is an empty struct buf whose data
 * is NULL; splitting it must not compute NULL + 0 (found by fuzz/addr). */
TEST(addr_split_empty_buf)
{
	struct addr a = ADDR_INIT;
	struct addr_span u, e, l, d;
	CHECK_INT(addr_parse_mailbox("\"\"@example.com", 14, 0, &a), ADDR_OK);
	CHECK_INT(a.local.len, 0);
	CHECK_INT(addr_split_ext(a.local.data, a.local.len, "-+", &u, &e), 0);
	CHECK(u.len == 0 && e.len == 0 && e.p == a.local.data);
	CHECK_INT(addr_split(NULL, 0, &l, &d), -1);
	CHECK(l.len == 0 && d.len == 0 && d.p == NULL);
	addr_free(&a);
}

TEST(addr_quote_local_minimal)
{
	struct buf b = BUF_INIT;
	addr_quote_local(&b, "a.b", 3);
	CHECK_BUF(b, "a.b");
	buf_reset(&b);
	addr_quote_local(&b, "a b", 3);
	CHECK_BUF(b, "\"a b\"");
	buf_reset(&b);
	addr_quote_local(&b, "", 0);
	CHECK_BUF(b, "\"\"");
	buf_reset(&b);
	addr_quote_local(&b, "\\\"", 2);
	CHECK_BUF(b, "\"\\\\\\\"\"");
	buf_free(&b);
}

/* Every canonical form parses back to itself. */
TEST(addr_format_round_trips)
{
	const char *in[] = {
		"<u@x.y>", "<\"a b\"@x.y>", "<\"a\\\\\\\"b\"@x.y>", "<\"\"@x.y>",
		"<u@[IPv6:::1]>", "<\"@\"@x.y>", "<\"a.\"@x.y>",
	};
	for (size_t i = 0; i < sizeof in / sizeof in[0]; i++) {
		char once[300];
		snprintf(once, sizeof once, "%s", path(in[i], 0));
		CHECK(once[0] == '<');
		CHECK_STR(path(once, 0), once);
	}
}

/* U-labels that fit in a path but whose A-label form does not: the canonical
 * address would not parse again, so the original is refused (found by
 * fuzz/addr). */
TEST(addr_canonical_form_fits_path)
{
	struct buf in = BUF_INIT, mb = BUF_INIT;
	struct addr a = ADDR_INIT;
	/* a 64-octet local part and 25 labels "a\xc3\xa9" (3 octets each, but
	 * 9 as the A-label "xn--a-bga"): 166 octets written, 316 canonical */
	buf_append_str(&in, "<");
	for (int i = 0; i < 64; i++)
		buf_append_char(&in, 'a');
	buf_append_str(&in, "@a\xc3\xa9");
	for (int l = 1; l < 25; l++)
		buf_append_str(&in, ".a\xc3\xa9");
	buf_append_str(&in, ">");
	CHECK(in.len <= ADDR_MAX_PATH);
	CHECK_INT(addr_parse_path(in.data, in.len, ADDR_SMTPUTF8, &a, NULL),
		  ADDR_ERR_PATH_TOO_LONG);
	buf_set(&mb, in.data + 1, in.len - 2);
	CHECK_INT(addr_parse_mailbox(mb.data, mb.len, ADDR_SMTPUTF8, &a),
		  ADDR_ERR_PATH_TOO_LONG);
	/* one such label is fine, and its canonical form parses again */
	const char *one = "<u@\xce\xb1\xce\xb2\xce\xb3.example>";
	CHECK_INT(addr_parse_path(one, strlen(one), ADDR_SMTPUTF8, &a, NULL), ADDR_OK);
	struct buf out = BUF_INIT;
	addr_format(&out, &a, ADDR_FMT_ANGLE);
	CHECK_INT(addr_parse_path(out.data, out.len, 0, &a, NULL), ADDR_OK);
	buf_free(&out);
	buf_free(&in);
	buf_free(&mb);
	addr_free(&a);
}
