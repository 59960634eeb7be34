/* Unit tests for lib/aliases. */
#include "aliases.h"
#include "alloc.h"
#include "buf.h"
#include "file.h"
#include "map.h"
#include "unit.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

static void write_file(const char *name, const char *text, size_t len, struct buf *path)
{
	buf_reset(path);
	buf_printf(path, "%s/%s", unit_tmpdir(), name);
	CHECK_INT(file_replace(buf_cstr(path), text, len, 0644), 0);
}

static int parse(const char *s, struct alias_list *l, struct buf *err)
{
	return aliases_parse_targets(s, strlen(s), l, err);
}

TEST(aliases_targets_kinds)
{
	struct alias_list l = ALIAS_LIST_INIT;
	struct buf err = BUF_INIT;
	CHECK_INT(parse(" bob, <carol@example.org> ,\"|/bin/prog a, b\", /var/mail/x,"
			":include:/etc/list\n  dave", &l, &err), 0);
	CHECK_INT(l.count, 6);
	CHECK_INT(l.items[0].kind, ALIAS_ADDRESS);
	CHECK_STR(l.items[0].value, "bob");
	CHECK_STR(l.items[1].value, "carol@example.org");
	CHECK_INT(l.items[2].kind, ALIAS_PROGRAM);
	CHECK_STR(l.items[2].value, "/bin/prog a, b");
	CHECK_INT(l.items[3].kind, ALIAS_FILE);
	CHECK_STR(l.items[3].value, "/var/mail/x");
	CHECK_INT(l.items[4].kind, ALIAS_INCLUDE);
	CHECK_STR(l.items[4].value, "/etc/list");
	CHECK_STR(l.items[5].value, "dave");
	struct buf f = BUF_INIT;
	aliases_target_format(&l.items[2], &f);
	CHECK_BUF(f, "|/bin/prog a, b");
	alias_list_free(&l);
	buf_free(&err);
	buf_free(&f);
}

TEST(aliases_targets_hostile)
{
	const char *bad[] = { "\"|unterminated", "a b", ":include:relative", "|",
			      "x\x01y", "\"q\" junk", "<>",
			      /* found by fuzz/aliases: compiled as a program, file, include */
			      "<|cmd>", "</etc/passwd>", "<:include:/x>", "\"<:INCLUDE:/x>\"" };
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		struct alias_list l = ALIAS_LIST_INIT;
		struct buf err = BUF_INIT;
		CHECK_INT(parse(bad[i], &l, &err), -1);
		CHECK(err.len > 0);
		alias_list_free(&l);
		buf_free(&err);
	}
	struct alias_list l = ALIAS_LIST_INIT;
	struct buf err = BUF_INIT;
	CHECK_INT(aliases_parse_targets("a\0b", 3, &l, &err), -1); /* NUL */
	struct buf big = BUF_INIT;
	for (int i = 0; i < ALIASES_MAX_TARGET + 1; i++)
		buf_append_char(&big, 'x');
	CHECK_INT(aliases_parse_targets(big.data, big.len, &l, &err), -1);
	buf_reset(&big);
	for (int i = 0; i < ALIASES_MAX_TARGETS + 1; i++)
		buf_append_str(&big, "a,");
	CHECK_INT(aliases_parse_targets(big.data, big.len, &l, &err), -1);
	CHECK(strstr(buf_cstr(&err), "targets") != NULL);
	/* invalid UTF-8 is just bytes in an address */
	alias_list_free(&l);
	CHECK_INT(parse("\xff\xfe@example.org", &l, &err), 0);
	alias_list_free(&l);
	buf_free(&big);
	buf_free(&err);
}

static int count_fn(void *ctx, const char *name, size_t line, const struct alias_list *t,
		    struct buf *err)
{
	(void)name, (void)line, (void)t, (void)err;
	(*(int *)ctx)++;
	return 0;
}

/* Text given by length need not end in NUL: a blank tail was scanned with
 * strspn past the end (found by fuzz/aliases under ASan). */
TEST(aliases_parse_unterminated)
{
	/* the text ends a page followed by an inaccessible one */
	long pg = sysconf(_SC_PAGESIZE);
	char *map = mmap(NULL, (size_t)pg * 2, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
			 -1, 0);
	CHECK(map != MAP_FAILED);
	CHECK_INT(mprotect(map + pg, (size_t)pg, PROT_NONE), 0);
	char *text = map + pg - 6;
	memcpy(text, "a: b\n ", 6);
	struct buf err = BUF_INIT;
	int n = 0;
	CHECK_INT(aliases_parse("f", text, 6, count_fn, &n, &err), 0);
	CHECK_INT(n, 1);
	memcpy(text, "  \t\r\t ", 6); /* only blanks: strspn ran off the end */
	CHECK_INT(aliases_parse("f", text, 6, count_fn, &n, &err), 0);
	CHECK_INT(n, 1);
	munmap(map, (size_t)pg * 2);
	buf_free(&err);
}

TEST(aliases_compile_and_lookup)
{
	struct buf src = BUF_INIT, dst = BUF_INIT, err = BUF_INIT, v = BUF_INIT;
	const char *text = "# comment\n"
			   "Postmaster: root\n"
			   "staff: alice, bob@example.test,\n"
			   "\tcarol\n"
			   "  # a comment in a continuation\n"
			   "\n"
			   "prog: \"|/usr/bin/logger -t mail\"\n";
	write_file("aliases", text, strlen(text), &src);
	buf_printf(&dst, "%s/aliases.cdb", unit_tmpdir());
	CHECK_INT(aliases_compile(buf_cstr(&src), buf_cstr(&dst), &err), 3);
	struct map *m = map_open(buf_cstr(&dst), &err);
	CHECK(m != NULL);
	CHECK_INT(map_lookup_lower(m, "STAFF", 5, &v), MAP_FOUND);
	struct alias_list l = ALIAS_LIST_INIT;
	CHECK_INT(aliases_decode(v.data, v.len, &l, &err), 0);
	CHECK_INT(l.count, 3);
	CHECK_STR(l.items[2].value, "carol");
	alias_list_free(&l);
	CHECK_INT(map_lookup(m, "postmaster", 10, &v), MAP_FOUND);
	CHECK_BUF(v, "root");
	CHECK_INT(map_lookup(m, "prog", 4, &v), MAP_FOUND);
	CHECK_BUF(v, "|/usr/bin/logger -t mail");
	map_close(m);
	buf_free(&src), buf_free(&dst), buf_free(&err), buf_free(&v);
}

static void compile_fails(const char *text, size_t len, const char *want)
{
	struct buf src = BUF_INIT, dst = BUF_INIT, err = BUF_INIT;
	write_file("bad", text, len, &src);
	buf_printf(&dst, "%s/bad.cdb", unit_tmpdir());
	CHECK_INT(aliases_compile(buf_cstr(&src), buf_cstr(&dst), &err), -1);
	if (strstr(buf_cstr(&err), want) == NULL)
		unit_fail(__FILE__, __LINE__, "error \"%s\" lacks \"%s\"", buf_cstr(&err), want);
	buf_free(&src), buf_free(&dst), buf_free(&err);
}

TEST(aliases_compile_errors)
{
	compile_fails("a: x\nb: y\nA: z\n", 15, ":3: alias a already defined on line 1");
	compile_fails("no colon here\n", 14, ":1: missing ':'");
	compile_fails("  x: continuation first\n", 24, "continuation line");
	compile_fails("a:\n", 3, "no targets");
	compile_fails("a: x\0y\n", 7, "NUL");
	compile_fails("a b: x\n", 7, "bad alias name");
	/* found by fuzz/aliases: a name ending in a line end ("a\n" before a
	 * continuation's ':') split the compiled map's source line */
	compile_fails("a\n : x\n", 7, "bad alias name");
	compile_fails("a\x01: x\n", 6, "bad alias name");
	struct buf big = BUF_INIT;
	buf_append_str(&big, "a: x");
	for (int i = 0; i < 70000; i++)
		buf_append_str(&big, i % 30 ? "y" : "\n y");
	compile_fails(big.data, big.len, "longer than");
	buf_free(&big);
	struct buf err = BUF_INIT;
	errno = 0;
	CHECK_INT(aliases_compile("/nonexistent/aliases", "/nonexistent/x.cdb", &err), -1);
	CHECK_INT(errno, ENOENT);
	buf_free(&err);
}

TEST(aliases_decode_hostile)
{
	struct alias_list l = ALIAS_LIST_INIT;
	struct buf err = BUF_INIT;
	CHECK_INT(aliases_decode("", 0, &l, &err), -1);
	CHECK_INT(aliases_decode("a\t\tb", 4, &l, &err), -1);
	alias_list_free(&l);
	CHECK_INT(aliases_decode("a\x01", 2, &l, &err), -1);
	alias_list_free(&l);
	buf_free(&err);
}
