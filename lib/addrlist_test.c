#include "addrlist.h"
#include "unit.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Parse s (len bytes) and render the result: "name|address" items joined by
 * " ; ", an invalid one as "name|address!<addr_err>", or "E<code>@<offset>". */
static const char *run_n(const char *s, size_t len, const struct addrlist_opts *o)
{
	static struct buf out = BUF_INIT;
	struct addrlist l = ADDRLIST_INIT;
	struct addrlist_error e;
	buf_reset(&out);
	if (addrlist_parse(s, len, o, &l, &e) != ADDRLIST_OK) {
		CHECK_INT(l.count, 0);
		addrlist_free(&l);
		buf_printf(&out, "E%d@%zu", (int)e.code, e.offset);
		return buf_cstr(&out);
	}
	for (size_t i = 0; i < l.count; i++) {
		if (i)
			buf_append_str(&out, " ; ");
		buf_append_buf(&out, &l.items[i].name);
		buf_append_char(&out, '|');
		buf_append_buf(&out, &l.items[i].address);
		if (l.items[i].group == ADDRLIST_GROUP_START)
			buf_append_str(&out, "[group");
		if (l.items[i].group == ADDRLIST_GROUP_END)
			buf_append_str(&out, "]");
		if (l.items[i].route.len)
			buf_printf(&out, "(route %s)", buf_cstr(&l.items[i].route));
		if (l.items[i].err != ADDR_OK)
			buf_printf(&out, "!%d", (int)l.items[i].err);
	}
	addrlist_free(&l);
	return buf_cstr(&out);
}

static const char *run(const char *s)
{
	return run_n(s, strlen(s), NULL);
}

static const char *run_opts(const char *s, unsigned addr_flags, unsigned flags)
{
	struct addrlist_opts o = { 0, 0, addr_flags, flags };
	return run_n(s, strlen(s), &o);
}

static const char *E(enum addrlist_err code, size_t off)
{
	static char s[32];
	snprintf(s, sizeof s, "E%d@%zu", (int)code, off);
	return s;
}

TEST(addrlist_simple_forms)
{
	CHECK_STR(run("user@example.com"), "|user@example.com");
	CHECK_STR(run("  user@Example.COM  "), "|user@example.com");
	CHECK_STR(run("<user@example.com>"), "|user@example.com");
	CHECK_STR(run("John Doe <john@example.com>"), "John Doe|john@example.com");
	CHECK_STR(run("\"Doe, John\" <john@example.com>"), "\"Doe, John\"|john@example.com");
	CHECK_STR(run("a@b.example, c@d.example"), "|a@b.example ; |c@d.example");
	CHECK_STR(run("Mary Smith <mary@x.test>, jdoe@example.org, Who? <one@y.test>"),
		  "Mary Smith|mary@x.test ; |jdoe@example.org ; Who?|one@y.test");
	CHECK_STR(run("<boss@nil.test>, \"Giant; \\\"Big\\\" Box\" <sysservices@example.net>"),
		  "|boss@nil.test ; \"Giant; \\\"Big\\\" Box\"|sysservices@example.net");
	CHECK_STR(run(""), "");
	CHECK_STR(run("   "), "");
	CHECK_STR(run("=?utf-8?q?J=C3=B6rg?= <j@x.example>"), "=?utf-8?q?J=C3=B6rg?=|j@x.example");
}

TEST(addrlist_comments)
{
	CHECK_STR(run("a@b.example (Comment)"), "Comment|a@b.example");
	CHECK_STR(run("a@b.example (Comment), c@d.example"), "Comment|a@b.example ; |c@d.example");
	CHECK_STR(run("<a@b.example> (Alice)"), "Alice|a@b.example");
	CHECK_STR(run("Bob <a@b.example> (Alice)"), "Bob|a@b.example");
	/* RFC 5322 appendix A.5 */
	CHECK_STR(run("Pete(A nice \\) chap) <pete(his account)@silly.test(his host)>"),
		  "Pete|pete@silly.test");
	CHECK_STR(run("Pete (A nice \\) chap) Smith <p@silly.test>"),
		  "Pete (A nice \\) chap) Smith|p@silly.test");
	CHECK_STR(run("(c1) a (c2) . (c3) b (c4) @ (c5) x (c6) . (c7) y (c8)"), "c8|a.b@x.y");
	CHECK_STR(run("a@b.example ((nested) (comment (three))) "),
		  "(nested) (comment (three))|a@b.example");
	CHECK_STR(run("(only a comment)"), "");
}

TEST(addrlist_groups)
{
	CHECK_STR(run("Undisclosed: a@b.example, c@d.example;"), "|a@b.example ; |c@d.example");
	CHECK_STR(run("undisclosed-recipients:;"), "");
	CHECK_STR(run("undisclosed-recipients: ;"), "");
	CHECK_STR(run("A Group:Ed Jones <c@a.test>,joe@where.test,John <jdoe@one.test>;"),
		  "Ed Jones|c@a.test ; |joe@where.test ; John|jdoe@one.test");
	CHECK_STR(run("x@y.example, G: a@b.example;, z@w.example"),
		  "|x@y.example ; |a@b.example ; |z@w.example");
	CHECK_STR(run("G: a@b.example;  (trailing)"), "|a@b.example");
	CHECK_STR(run("G: a@b.example"), E(ADDRLIST_ERR_UNBALANCED, 0));
	CHECK_STR(run("G: H: a@b.example;;"), E(ADDRLIST_ERR_SYNTAX, 4));
	CHECK_STR(run(": a@b.example;"), E(ADDRLIST_ERR_SYNTAX, 0));
	CHECK_STR(run("a@b.example;"), E(ADDRLIST_ERR_SYNTAX, 11));
	CHECK_STR(run("G: a@b.example; c@d.example"), E(ADDRLIST_ERR_SYNTAX, 16));
}

TEST(addrlist_obsolete_forms)
{
	CHECK_STR(run("Mary Smith <@node.test,@other.test:mary@example.net>"),
		  "Mary Smith|mary@example.net(route @node.test,@other.test)");
	CHECK_STR(run("<@node.test,,@x.test:m@example.net>"), "|m@example.net(route @node.test,@x.test)");
	CHECK_STR(run("Joe Q. Public <john.q.public@example.com>"),
		  "Joe Q. Public|john.q.public@example.com");
	CHECK_STR(run("\"Joe & J. Harvey\" <ddd @Org>"), "\"Joe & J. Harvey\"|ddd@org");
	CHECK_STR(run("jdoe@machine(comment). example"), "|jdoe@machine.example");
	CHECK_STR(run("a@b.example,, ,c@d.example,"), "|a@b.example ; |c@d.example");
	/* obs-local-part: words joined, then quoted minimally */
	CHECK_STR(run("\"a\".b@x.example"), "|a.b@x.example");
	CHECK_STR(run("\"a b\".c@x.example"), "|\"a b.c\"@x.example");
	CHECK_STR(run("<@:m@example.net>"), E(ADDRLIST_ERR_SYNTAX, 2));
	CHECK_STR(run("<@a.test m@example.net>"), E(ADDRLIST_ERR_SYNTAX, 9));
}

TEST(addrlist_folding)
{
	CHECK_STR(run("John\r\n Doe <john@example.com>,\r\n\tjane@example.com"),
		  "John Doe|john@example.com ; |jane@example.com");
	CHECK_STR(run("\"John\r\n Doe\" <john@example.com>"), "\"John Doe\"|john@example.com");
	CHECK_STR(run("a@b.example\n (Folded\n  comment)"), "Folded  comment|a@b.example");
	CHECK_STR(run("a@b.example\r\n"), "|a@b.example");
	CHECK_STR(run("a@b.example\n"), "|a@b.example");
	/* a line break that is not folding ends the header: hostile here */
	CHECK_STR(run("a@b.example\r\nBcc: evil@x.example"), E(ADDRLIST_ERR_CONTROL, 12));
	CHECK_STR(run("a@b.example\nBcc: evil@x.example"), E(ADDRLIST_ERR_CONTROL, 11));
	CHECK_STR(run("a@b.example\r\n\r\n"), E(ADDRLIST_ERR_CONTROL, 12));
	CHECK_STR(run("a@b\r.example"), E(ADDRLIST_ERR_CONTROL, 3));
	CHECK_STR(run("\"a\rb\"@x.example"), E(ADDRLIST_ERR_CONTROL, 2));
	CHECK_STR(run("\"a\\\r\n b\"@x.example"), E(ADDRLIST_ERR_SYNTAX, 2));
	/* folding in a quoted local part leaves its space, which must be quoted */
	CHECK_STR(run("\"a\r\n b\"@x.example"), "|\"a b\"@x.example");
}

TEST(addrlist_hostile_bytes)
{
	CHECK_STR(run_n("a@b\0.example", 12, NULL), E(ADDRLIST_ERR_CONTROL, 3));
	CHECK_STR(run_n("\"a\0\"@b.example", 14, NULL), E(ADDRLIST_ERR_CONTROL, 2));
	CHECK_STR(run_n("(a\0) a@b.example", 16, NULL), E(ADDRLIST_ERR_CONTROL, 2));
	CHECK_STR(run("a\x1b@b.example"), E(ADDRLIST_ERR_CONTROL, 1));
	CHECK_STR(run("a@b.example\x7f"), E(ADDRLIST_ERR_CONTROL, 11));
	CHECK_STR(run("\"a\tb\"@x.example"), E(ADDRLIST_ERR_ADDR, 0));
	/* invalid UTF-8, with and without SMTPUTF8 */
	struct addrlist l = ADDRLIST_INIT;
	struct addrlist_error e;
	const char *s = "j\xf6rg@x.example";
	CHECK_INT(addrlist_parse(s, strlen(s), NULL, &l, &e), ADDRLIST_ERR_ADDR);
	CHECK_INT(e.addr_err, ADDR_ERR_8BIT);
	struct addrlist_opts o = { 0, 0, ADDR_SMTPUTF8, 0 };
	CHECK_INT(addrlist_parse(s, strlen(s), &o, &l, &e), ADDRLIST_ERR_ADDR);
	CHECK_INT(e.addr_err, ADDR_ERR_UTF8);
	s = "J\xc3\xb6rg <j\xc3\xb6rg@b\xc3\xbc" "cher.example>";
	CHECK_INT(addrlist_parse(s, strlen(s), NULL, &l, &e), ADDRLIST_ERR_ADDR);
	CHECK_INT(e.addr_err, ADDR_ERR_8BIT);
	CHECK_INT(e.offset, 7);
	CHECK_INT(addrlist_parse(s, strlen(s), &o, &l, &e), ADDRLIST_OK);
	CHECK_INT(l.count, 1);
	CHECK_BUF(l.items[0].name, "J\xc3\xb6rg");
	CHECK_BUF(l.items[0].address, "j\xc3\xb6rg@xn--bcher-kva.example");
	CHECK_BUF(l.items[0].addr.domain_u, "b\xc3\xbc" "cher.example");
	addrlist_free(&l);
	/* the display name is raw: not validated */
	CHECK_STR(run("\xff\xfe <a@b.example>"), "\xff\xfe|a@b.example");
}

TEST(addrlist_unbalanced)
{
	CHECK_STR(run("\"John <john@example.com>"), E(ADDRLIST_ERR_UNBALANCED, 0));
	CHECK_STR(run("John <john@example.com"), E(ADDRLIST_ERR_UNBALANCED, 22));
	CHECK_STR(run("John john@example.com>"), E(ADDRLIST_ERR_SYNTAX, 0));
	CHECK_STR(run("a@b.example (comment"), E(ADDRLIST_ERR_UNBALANCED, 12));
	CHECK_STR(run("a@b.example (c (d)"), E(ADDRLIST_ERR_UNBALANCED, 12));
	CHECK_STR(run("a@b.example c)"), E(ADDRLIST_ERR_SYNTAX, 12));
	CHECK_STR(run("a@b.example)"), E(ADDRLIST_ERR_UNBALANCED, 11));
	CHECK_STR(run("a@[1.2.3.4"), E(ADDRLIST_ERR_UNBALANCED, 2));
	CHECK_STR(run("a@1.2.3.4]"), E(ADDRLIST_ERR_UNBALANCED, 9));
	CHECK_STR(run("a@[1.[2].3.4]"), E(ADDRLIST_ERR_SYNTAX, 5));
	CHECK_STR(run("a@b.example\\"), E(ADDRLIST_ERR_SYNTAX, 11));
	CHECK_STR(run("\"abc\\"), E(ADDRLIST_ERR_SYNTAX, 4));
	CHECK_STR(run("(abc\\"), E(ADDRLIST_ERR_SYNTAX, 4));
	CHECK_STR(run("<<a@b.example>>"), E(ADDRLIST_ERR_SYNTAX, 1));
	CHECK_STR(run("<>"), E(ADDRLIST_ERR_SYNTAX, 1));
}

TEST(addrlist_syntax_errors)
{
	CHECK_STR(run("<a@b.example> <c@d.example>"), E(ADDRLIST_ERR_SYNTAX, 14));
	CHECK_STR(run("a@b.example c@d.example"), E(ADDRLIST_ERR_SYNTAX, 12));
	CHECK_STR(run("John Smith@x.example"), E(ADDRLIST_ERR_SYNTAX, 0));
	CHECK_STR(run("a..b@x.example"), E(ADDRLIST_ERR_SYNTAX, 0));
	CHECK_STR(run(".a@x.example"), E(ADDRLIST_ERR_SYNTAX, 0));
	CHECK_STR(run("a@"), E(ADDRLIST_ERR_SYNTAX, 2));
	CHECK_STR(run("a@,b@c.example"), E(ADDRLIST_ERR_SYNTAX, 2));
	CHECK_STR(run("@x.example"), E(ADDRLIST_ERR_SYNTAX, 0));
	CHECK_STR(run("a@b@c.example"), E(ADDRLIST_ERR_SYNTAX, 3));
	CHECK_STR(run("John <a@b.example> Smith"), E(ADDRLIST_ERR_SYNTAX, 19));
	CHECK_STR(run(">"), E(ADDRLIST_ERR_SYNTAX, 0));
}

TEST(addrlist_addr_validation)
{
	struct addrlist l = ADDRLIST_INIT;
	struct addrlist_error e;
	const char *s = "ok@x.example, bob, Eve <eve@x.example.>";
	CHECK_INT(addrlist_parse(s, strlen(s), NULL, &l, &e), ADDRLIST_ERR_ADDR);
	CHECK_INT(e.addr_err, ADDR_ERR_NO_DOMAIN);
	CHECK_INT(e.offset, 14);
	CHECK_INT(l.count, 0);
	CHECK_STR(run_opts(s, 0, ADDRLIST_KEEP_INVALID),
		  "|ok@x.example ; |bob!14 ; Eve|eve@x.example.!7");
	CHECK_STR(run_opts("bob, Alice <alice>", ADDR_ALLOW_NODOMAIN, 0), "|bob ; Alice|alice");
	CHECK_STR(run("u@[192.0.2.1], v@[IPv6:2001:DB8::1]"),
		  "|u@[192.0.2.1] ; |v@[IPv6:2001:db8::1]");
	CHECK_STR(run("u@[ 192.0.2.1 ]"), "|u@[192.0.2.1]");
	CHECK_STR(run_opts("u@[300.1.1.1]", 0, ADDRLIST_KEEP_INVALID), "|u@[300.1.1.1]!8");
	CHECK_STR(run("u@xn--zz.example"), E(ADDRLIST_ERR_ADDR, 0));
	CHECK_STR(run("u@XN--BCHER-KVA.Example"), "|u@xn--bcher-kva.example");
	CHECK_STR(run("u@under_score.example"), E(ADDRLIST_ERR_ADDR, 0));
	/* limits of RFC 5321 apply to each mailbox */
	struct buf b = BUF_INIT;
	buf_append_str(&b, "x <");
	for (int i = 0; i < 65; i++)
		buf_append_char(&b, 'a');
	buf_append_str(&b, "@x.example>");
	CHECK_INT(addrlist_parse(b.data, b.len, NULL, &l, &e), ADDRLIST_ERR_ADDR);
	CHECK_INT(e.addr_err, ADDR_ERR_LOCAL_TOO_LONG);
	CHECK_INT(e.offset, 3);
	buf_free(&b);
	addrlist_free(&l);
}

TEST(addrlist_comment_nesting_bound)
{
	struct buf b = BUF_INIT;
	for (int depth = 50; depth <= 51; depth++) {
		buf_reset(&b);
		buf_append_str(&b, "a@b.example ");
		for (int i = 0; i < depth; i++)
			buf_append_char(&b, '(');
		for (int i = 0; i < depth; i++)
			buf_append_char(&b, ')');
		const char *r = run_n(b.data, b.len, NULL);
		if (depth == 50)
			CHECK(r[0] != 'E');
		else
			CHECK_STR(r, E(ADDRLIST_ERR_NESTING, 12 + 50));
	}
	/* very deep nesting costs nothing: refused at depth 51 */
	buf_reset(&b);
	for (int i = 0; i < 500000; i++)
		buf_append_char(&b, '(');
	struct addrlist_opts big = { 0, 1u << 20, 0, 0 };
	CHECK_STR(run_n(b.data, b.len, &big), E(ADDRLIST_ERR_NESTING, 50));
	/* but many sequential comments are fine */
	buf_reset(&b);
	buf_append_str(&b, "a@b.example");
	for (int i = 0; i < 20000; i++)
		buf_append_str(&b, " ((x))");
	CHECK_STR(run_n(b.data, b.len, NULL), "(x)|a@b.example");
	buf_free(&b);
}

TEST(addrlist_size_and_count_bounds)
{
	struct addrlist_opts o = { 3, 0, 0, 0 };
	CHECK_STR(run_n("a@x.example,b@x.example,c@x.example", 35, &o),
		  "|a@x.example ; |b@x.example ; |c@x.example");
	CHECK_STR(run_n("a@x.example,b@x.example,c@x.example,d@x.example", 47, &o),
		  E(ADDRLIST_ERR_TOO_MANY, 36));
	CHECK_STR(run_n("G: a@x.example,b@x.example,c@x.example,d@x.example;", 51, &o),
		  E(ADDRLIST_ERR_TOO_MANY, 39));
	o = (struct addrlist_opts){ 0, 10, 0, 0 };
	CHECK_STR(run_n("a@x.example", 11, &o), E(ADDRLIST_ERR_TOO_LONG, 10));
	CHECK_STR(run_n("a@x.examp", 9, &o), "|a@x.examp");
}

/* A 1 MB header value: many addresses, and one giant token of each kind. */
TEST(addrlist_one_megabyte)
{
	const size_t mb = 1u << 20;
	struct buf b = BUF_INIT;
	while (b.len < mb)
		buf_append_str(&b, "Some Body <some.body@example.com>,\r\n\t");
	struct addrlist_opts big = { 100000, 2 * mb, 0, 0 };
	struct addrlist l = ADDRLIST_INIT;
	struct addrlist_error e;
	CHECK_INT(addrlist_parse(b.data, b.len, &big, &l, &e), ADDRLIST_OK);
	CHECK_INT(l.count, (b.len + 36) / 37);
	CHECK_BUF(l.items[l.count - 1].address, "some.body@example.com");
	addrlist_free(&l);
	/* the defaults refuse it */
	CHECK_INT(addrlist_parse(b.data, b.len, NULL, &l, &e), ADDRLIST_ERR_TOO_LONG);

	char *s = malloc(mb + 2);
	CHECK(s != NULL);
	memset(s, 'a', mb);
	CHECK_INT(addrlist_parse(s, mb, &big, &l, &e), ADDRLIST_ERR_ADDR);
	CHECK_INT(e.addr_err, ADDR_ERR_LOCAL_TOO_LONG);
	s[0] = '"';
	CHECK_INT(addrlist_parse(s, mb, &big, &l, &e), ADDRLIST_ERR_UNBALANCED);
	s[mb - 1] = '"';
	CHECK_INT(addrlist_parse(s, mb, &big, &l, &e), ADDRLIST_ERR_ADDR);
	s[0] = '(';
	s[mb - 1] = ')';
	CHECK_INT(addrlist_parse(s, mb, &big, &l, &e), ADDRLIST_OK);
	CHECK_INT(l.count, 0);
	memset(s, '<', mb);
	CHECK_INT(addrlist_parse(s, mb, &big, &l, &e), ADDRLIST_ERR_SYNTAX);
	memset(s, ',', mb);
	CHECK_INT(addrlist_parse(s, mb, &big, &l, &e), ADDRLIST_OK);
	for (size_t i = 0; i < mb; i += 2) {
		s[i] = 'a';
		s[i + 1] = ' ';
	}
	CHECK_INT(addrlist_parse(s, mb, &big, &l, &e), ADDRLIST_ERR_SYNTAX);
	free(s);
	buf_free(&b);
}

/* Every prefix of a valid list either parses or fails cleanly. */
TEST(addrlist_truncated_input)
{
	const char *s = "\"Doe, J.\" <@r.example:j@x.example> (c (d)), "
			"G: a@b.example, \"q\\\"x\"@[192.0.2.1];, b\r\n @c.example";
	size_t n = strlen(s);
	struct addrlist_opts o = { 0, 0, 0, ADDRLIST_KEEP_INVALID };
	for (size_t i = 0; i <= n; i++) {
		struct addrlist l = ADDRLIST_INIT;
		struct addrlist_error e;
		char *p = malloc(i + 1); /* exact size, so ASan sees any over-read */
		CHECK(p != NULL);
		memcpy(p, s, i);
		enum addrlist_err r = addrlist_parse(p, i, &o, &l, &e);
		CHECK(r == ADDRLIST_OK || e.offset <= i);
		addrlist_free(&l);
		free(p);
	}
	CHECK_STR(run(s), "\"Doe, J.\"|j@x.example(route @r.example) ; |a@b.example ; |\"q\\\"x\"@[192.0.2.1] ; "
			  "|b@c.example");
}

TEST(addrlist_extract_addresses)
{
	struct buf out = BUF_INIT;
	struct addrlist_error e;
	const char *s = "A <a@x.example>, b@Y.example (B), G: c@z.example;";
	CHECK_INT(addrlist_extract(s, strlen(s), NULL, '\n', &out, &e), ADDRLIST_OK);
	CHECK_BUF(out, "a@x.example\nb@y.example\nc@z.example\n");
	buf_reset(&out);
	struct addrlist_opts o = { 0, 0, 0, ADDRLIST_KEEP_INVALID };
	s = "a@x.example, bad, c@z.example";
	CHECK_INT(addrlist_extract(s, strlen(s), &o, ' ', &out, &e), ADDRLIST_OK);
	CHECK_BUF(out, "a@x.example c@z.example ");
	buf_reset(&out);
	CHECK_INT(addrlist_extract("a@", 2, NULL, ' ', &out, &e), ADDRLIST_ERR_SYNTAX);
	CHECK_INT(out.len, 0);
	buf_free(&out);
}

TEST(addrlist_appends_and_keeps_earlier_items)
{
	struct addrlist l = ADDRLIST_INIT;
	struct addrlist_error e;
	CHECK_INT(addrlist_parse("a@x.example", 11, NULL, &l, &e), ADDRLIST_OK);
	CHECK_INT(addrlist_parse("b@x.example, c@", 15, NULL, &l, &e), ADDRLIST_ERR_SYNTAX);
	CHECK_INT(l.count, 1);
	CHECK_INT(addrlist_parse("b@x.example", 11, NULL, &l, NULL), ADDRLIST_OK);
	CHECK_INT(l.count, 2);
	CHECK_BUF(l.items[1].address, "b@x.example");
	addrlist_free(&l);
	for (int c = ADDRLIST_OK; c <= ADDRLIST_ERR_ADDR; c++)
		CHECK(strlen(addrlist_strerror((enum addrlist_err)c)) > 1);
	CHECK_STR(addrlist_strerror((enum addrlist_err)99), "Invalid address list");
}

TEST(groups_as_items_when_asked)
{
	const char *v = "group: g1@d1.org, g2@d2.org;, \"Group 2\": g3@d3.org;";
	/* by default a group's name and bounds are dropped */
	CHECK_STR(run(v), "|g1@d1.org ; |g2@d2.org ; |g3@d3.org");
	CHECK_STR(run_opts(v, 0, ADDRLIST_GROUPS),
		  "group|[group ; |g1@d1.org ; |g2@d2.org ; |] ; "
		  "\"Group 2\"|[group ; |g3@d3.org ; |]");
	CHECK_STR(run_opts("undisclosed-recipients:;", 0, ADDRLIST_GROUPS),
		  "undisclosed-recipients|[group ; |]");
	CHECK_STR(run_opts("group:;, group2: (foo) ;", 0, ADDRLIST_GROUPS),
		  "group|[group ; |] ; group2|[group ; |]");
	CHECK_STR(run_opts("group: a@b", 0, ADDRLIST_GROUPS), "E2@0"); /* unterminated */
	/* bounds count as items against max_items */
	struct addrlist_opts o = { 2, 0, 0, ADDRLIST_GROUPS };
	CHECK(strncmp(run_n("g: a@b;", 7, &o), "E", 1) == 0);
	/* addrlist_extract never yields a group item */
	struct buf out = BUF_INIT;
	struct addrlist_opts og = { 0, 0, 0, ADDRLIST_GROUPS };
	CHECK_INT(addrlist_extract(v, strlen(v), &og, ',', &out, NULL), ADDRLIST_OK);
	CHECK_STR(buf_cstr(&out), "g1@d1.org,g2@d2.org,g3@d3.org,");
	buf_free(&out);
}

TEST(obsolete_routes_are_kept)
{
	CHECK_STR(run("<@route:user@domain>"), "|user@domain(route @route)");
	CHECK_STR(run("Name <@a.example,,@b.example:u@d>"), "Name|u@d(route @a.example,@b.example)");
	CHECK_STR(run("<@a:u@d>, v@e"), "|u@d(route @a) ; |v@e");
}
