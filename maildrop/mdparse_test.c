/* Unit tests of the filter language's lexer and parser: valid programs,
 * errors with file and line, hostile input (nesting, NULs, unterminated
 * literals, over-long tokens). */
#include "mdparse.h"

#include "alloc.h"
#include "buf.h"
#include "unit.h"

#include <stdlib.h>
#include <string.h>

static int parse(const char *src, struct buf *err)
{
	struct md_program prog;
	buf_reset(err);
	int rc = md_parse("f", src, strlen(src), &prog, err);
	if (rc == 0)
		md_program_free(&prog);
	return rc;
}

TEST(parses_a_typical_filter)
{
	struct buf err = BUF_INIT;
	const char *src =
		"# comment\n"
		"MAILDIR=/var/mail/x\n"
		"A=\"Foo\" 'bar' ; B=7/2\n"
		"if (/^Subject:.*(x)/:hD && $A eq \"y\")\n"
		"{\n  to \"$HOME/Maildir/.X/\"\n}\n"
		"elsif (/b/:b,2,3 > 5)\n  cc mbox\n"
		"else\n{\n  exit\n}\n"
		"foreach (getaddr $MATCH) =~ /.+/\n{\n  echo \"$MATCH\"\n}\n"
		"while ($N < 3) { N=$N + 1 }\n"
		"exception {\n include \"x\"\n}\n"
		"dotlock \"l\" {\n log `date`\n}\n"
		"X=substr(\"abc\", 1, 1) + length(\"a\")\n"
		"T=time\n"
		"LONG=\"a \\\n    b\"\n";
	CHECK_INT(parse(src, &err), 0);
	buf_free(&err);
}

TEST(syntax_errors_name_file_and_line)
{
	struct buf err = BUF_INIT;
	CHECK_INT(parse("A=1\n\nif (/x/\n{\n}\n", &err), -1);
	CHECK(strncmp(buf_cstr(&err), "f(3): ", 6) == 0);
	CHECK_INT(parse("A=\"unterminated\n", &err), -1);
	CHECK(strstr(buf_cstr(&err), "unterminated"));
	CHECK_INT(parse("if (/unterminated\n", &err), -1);
	CHECK_INT(parse("A=${X\n", &err), -1);
	CHECK_INT(parse("else\n", &err), -1);
	CHECK_INT(parse("A = 1 < 2 < 3\n", &err), -1);
	CHECK_INT(parse("if (/x/:q)\n exit\n", &err), -1);
	CHECK_INT(parse("A=length(1, 2)\n", &err), -1);
	CHECK_INT(parse("A=\x01\n", &err), -1);
	CHECK(strstr(buf_cstr(&err), "0x01"));
	buf_free(&err);
}

TEST(nul_byte_is_refused)
{
	struct buf err = BUF_INIT;
	struct md_program prog;
	CHECK_INT(md_parse("f", "A=1\0\n", 5, &prog, &err), -1);
	CHECK(strstr(buf_cstr(&err), "NUL"));
	buf_free(&err);
}

static char *repeat(const char *a, size_t n, const char *mid, const char *b)
{
	struct buf s = BUF_INIT;
	for (size_t i = 0; i < n; i++)
		buf_append_str(&s, a);
	buf_append_str(&s, mid);
	for (size_t i = 0; i < n; i++)
		buf_append_str(&s, b);
	return buf_detach(&s);
}

TEST(nesting_is_bounded)
{
	struct buf err = BUF_INIT;
	char *s = repeat("(", 100000, "1", ")");
	struct buf src = BUF_INIT;
	buf_printf(&src, "A=%s\n", s);
	CHECK_INT(parse(buf_cstr(&src), &err), -1);
	CHECK(strstr(buf_cstr(&err), "deep"));
	free(s);
	s = repeat("if (1)\n", 100000, "A=1\n", "");
	CHECK_INT(parse(s, &err), -1);
	free(s);
	s = repeat("{\n", 100000, "", "}\n");
	CHECK_INT(parse(s, &err), -1);
	free(s);
	s = repeat("!", 100000, "1", "");
	buf_reset(&src);
	buf_printf(&src, "A=%s\n", s);
	CHECK_INT(parse(buf_cstr(&src), &err), -1);
	free(s);
	s = repeat("1 + ", 100000, "1", "");
	buf_reset(&src);
	buf_printf(&src, "A=%s\n", s);
	CHECK_INT(parse(buf_cstr(&src), &err), -1);
	free(s);
	s = repeat("if (1)\n{\n", 50, "A=1\n", "}\n");
	CHECK_INT(parse(s, &err), 0);
	free(s);
	buf_free(&src);
	buf_free(&err);
}

TEST(overlong_token_is_refused)
{
	struct buf err = BUF_INIT, src = BUF_INIT;
	buf_append_str(&src, "A=\"");
	for (size_t i = 0; i < MD_MAX_TOKEN + 10; i++)
		buf_append_char(&src, 'x');
	buf_append_str(&src, "\"\n");
	CHECK_INT(parse(buf_cstr(&src), &err), -1);
	CHECK(strstr(buf_cstr(&err), "too long"));
	buf_free(&src);
	buf_free(&err);
}

TEST(every_prefix_fails_cleanly_or_parses)
{
	/* Truncation at every byte: no crash, no leak (under ASan). */
	const char *src = "if (/^From:\\s*(.*)/:h,1,2 && $X ne 'a\\'b')\n{\n to \"${H}/M/\"\n}\n"
			  "else\n  foreach (\"x\") =~ /./ { echo `ls $Y` }\n";
	struct buf err = BUF_INIT;
	for (size_t n = 0; n <= strlen(src); n++) {
		struct md_program prog;
		char *p = xmemdup(src, n);
		if (md_parse("f", p, n, &prog, &err) == 0)
			md_program_free(&prog);
		free(p);
	}
	buf_free(&err);
}

TEST(function_name_after_a_syntax_error_does_not_recurse)
{
	struct buf err = BUF_INIT;
	/* found by fuzz/maildrop: the stale token made parse_call recurse forever */
	static const char *const bad[] = { "if (\"\"escape", "if (\"\"length", "x = (\"\"hasaddr" };
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		CHECK_INT(parse(bad[i], &err), -1);
	buf_free(&err);
}
