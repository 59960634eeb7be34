#include "buf.h"
#include "file.h"
#include "map.h"
#include "unit.h"

#include <cdb.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

/* A path in the scratch directory; valid until the 8th call after this one. */
static const char *tmp_path(const char *name)
{
	static char path[8][4200];
	static unsigned next;
	char *p = path[next++ % 8];
	snprintf(p, sizeof path[0], "%s/%s", unit_tmpdir(), name);
	return p;
}

/* A path to keep through a test. */
#define KEEP_PATH(var, name)                                                        \
	char var[4200];                                                             \
	snprintf(var, sizeof var, "%s/%s", unit_tmpdir(), (name))

static const char *put(const char *name, const void *data, size_t len)
{
	const char *p = tmp_path(name);
	if (file_replace(p, data, len, 0644) < 0)
		unit_fail(__FILE__, __LINE__, "cannot write %s", p);
	return p;
}

#define PUT(name, lit) put((name), (lit), sizeof(lit) - 1)

#define CHECK_ERR(err, want)                                                          \
	do {                                                                          \
		if (strstr(buf_cstr(&(err)), (want)) == NULL)                         \
			unit_fail(__FILE__, __LINE__, "error \"%s\" lacks \"%s\"",     \
				  buf_cstr(&(err)), (want));                          \
	} while (0)

/* Compile source text into name.cdb and open it. */
static struct map *build(const char *src_text, unsigned flags)
{
	struct buf err = BUF_INIT;
	const char *src = put("src", src_text, strlen(src_text));
	KEEP_PATH(dest, "src.cdb");
	if (map_compile(src, dest, flags, &err) < 0)
		unit_fail(__FILE__, __LINE__, "map_compile: %s", buf_cstr(&err));
	struct map *m = map_open(dest, &err);
	if (m == NULL)
		unit_fail(__FILE__, __LINE__, "map_open: %s", buf_cstr(&err));
	buf_free(&err);
	return m;
}

static int look(struct map *m, const char *key, struct buf *v)
{
	return map_lookup(m, key, strlen(key), v);
}

/* How many entries the scratch directory holds (no temporary files left). */
static int dir_entries(void)
{
	DIR *d = opendir(unit_tmpdir());
	int n = 0;
	for (struct dirent *e; (e = readdir(d)) != NULL;)
		n += e->d_name[0] != '.';
	closedir(d);
	return n;
}

TEST(map_round_trip_100000)
{
	struct buf src = BUF_INIT, err = BUF_INIT, v = BUF_INIT, k = BUF_INIT;
	buf_append_str(&src, "# a big map\n");
	for (int i = 0; i < 100000; i++)
		buf_printf(&src, "key%d value %d\n", i, i * 7);
	put("big", src.data, src.len);
	CHECK_INT(map_compile(tmp_path("big"), tmp_path("big.cdb"), 0, &err), 100000);
	struct map *m = map_open(tmp_path("big.cdb"), &err);
	CHECK(m != NULL);
	for (int i = 0; i < 100000; i++) {
		buf_reset(&k);
		buf_printf(&k, "key%d", i);
		CHECK_INT(map_lookup(m, k.data, k.len, &v), MAP_FOUND);
		buf_reset(&k);
		buf_printf(&k, "value %d", i * 7);
		CHECK_MEM(v.data, v.len, k.data, k.len);
	}
	CHECK_INT(look(m, "key100000", &v), MAP_NOTFOUND);
	CHECK_INT(look(m, "KEY1", &v), MAP_NOTFOUND);
	CHECK_INT(look(m, "key1", NULL), MAP_FOUND);
	map_close(m);
	buf_free(&src);
	buf_free(&err);
	buf_free(&v);
	buf_free(&k);
}

TEST(map_source_syntax)
{
	struct buf v = BUF_INIT;
	struct map *m = build("# comment\r\n\r\n  alone  \r\nk1\tvalue with  spaces \r\n"
			      "k2    \t x\nMixed Case\n\t# indented comment\n"
			      "utf8 \xc3\xa9t\xc3\xa9\nbad \xff\xfe\nlast v", 0);
	CHECK_INT(look(m, "alone", &v), MAP_FOUND);
	CHECK_BUF(v, "");
	CHECK_INT(look(m, "k1", &v), MAP_FOUND);
	CHECK_BUF(v, "value with  spaces");
	CHECK_INT(look(m, "k2", &v), MAP_FOUND);
	CHECK_BUF(v, "x");
	CHECK_INT(look(m, "Mixed", &v), MAP_FOUND);
	CHECK_BUF(v, "Case");
	CHECK_INT(look(m, "mixed", &v), MAP_NOTFOUND);
	CHECK_INT(look(m, "utf8", &v), MAP_FOUND);
	CHECK_BUF(v, "\xc3\xa9t\xc3\xa9");
	CHECK_INT(look(m, "bad", &v), MAP_FOUND);
	CHECK_BUF(v, "\xff\xfe");
	CHECK_INT(look(m, "last", &v), MAP_FOUND);
	CHECK_BUF(v, "v");
	CHECK_INT(look(m, "#", &v), MAP_NOTFOUND);
	CHECK_INT(look(m, "", &v), MAP_NOTFOUND);
	map_close(m);
	buf_free(&v);
}

TEST(map_lowercase_keys)
{
	struct buf v = BUF_INIT;
	struct map *m = build("User@Example.ORG Value KEPT\n", MAP_COMPILE_LOWER);
	CHECK_INT(look(m, "user@example.org", &v), MAP_FOUND);
	CHECK_BUF(v, "Value KEPT");
	CHECK_INT(look(m, "User@Example.ORG", &v), MAP_NOTFOUND);
	CHECK_INT(map_lookup_lower(m, "USER@example.Org", 16, &v), MAP_FOUND);
	map_close(m);
	/* keys that differ only in case collide once lowercased */
	struct buf err = BUF_INIT;
	PUT("case", "a 1\nA 2\n");
	CHECK_INT(map_compile(tmp_path("case"), tmp_path("case.cdb"), 0, &err), 2);
	CHECK_INT(map_compile(tmp_path("case"), tmp_path("case.cdb"), MAP_COMPILE_LOWER, &err), -1);
	CHECK_ERR(err, "case:2: duplicate key \"a\" (first on line 1)");
	buf_free(&err);
	buf_free(&v);
}

TEST(map_empty_source)
{
	struct buf v = BUF_INIT;
	struct map *m = build("# nothing\n", 0);
	CHECK_INT(look(m, "x", &v), MAP_NOTFOUND);
	CHECK_INT(look(m, "", &v), MAP_NOTFOUND);
	map_close(m);
	buf_free(&v);
}

TEST(map_duplicates_rejected)
{
	struct buf err = BUF_INIT, v = BUF_INIT;
	PUT("old", "a 1\n");
	CHECK_INT(map_compile(tmp_path("old"), tmp_path("dup.cdb"), 0, &err), 1);
	int before = dir_entries();
	PUT("dup", "a 1\nb 2\n# c\n\nc 3\nb 4\n");
	CHECK_INT(map_compile(tmp_path("dup"), tmp_path("dup.cdb"), 0, &err), -1);
	CHECK_ERR(err, "dup:6: duplicate key \"b\" (first on line 2)");
	/* the old map is untouched and no temporary file is left */
	CHECK_INT(dir_entries(), before + 1);
	struct map *m = map_open(tmp_path("dup.cdb"), &err);
	CHECK(m != NULL);
	CHECK_INT(look(m, "a", &v), MAP_FOUND);
	CHECK_INT(look(m, "b", &v), MAP_NOTFOUND);
	map_close(m);
	buf_free(&err);
	buf_free(&v);
}

TEST(map_malformed_sources)
{
	struct buf err = BUF_INIT, big = BUF_INIT;
	KEEP_PATH(dest, "m.cdb");
	put("nul", "a 1\nb 2\0\n", 9);
	CHECK_INT(map_compile(tmp_path("nul"), dest, 0, &err), -1);
	CHECK_ERR(err, "nul:2: NUL byte");
	PUT("ctl", "a 1\n\nb \x1b[31m\n");
	CHECK_INT(map_compile(tmp_path("ctl"), dest, 0, &err), -1);
	CHECK_ERR(err, "ctl:3: control character 0x1b");
	PUT("del", "a\x7f 1\n");
	CHECK_INT(map_compile(tmp_path("del"), dest, 0, &err), -1);
	CHECK_ERR(err, "del:1: control character 0x7f");
	PUT("cr", "a 1\rb 2\n");
	CHECK_INT(map_compile(tmp_path("cr"), dest, 0, &err), -1);
	CHECK_ERR(err, "cr:1: control character 0x0d");
	buf_append_str(&big, "a 1\nb 2\nc ");
	for (size_t i = 0; i < MAP_MAX_LINE; i++)
		buf_append_char(&big, 'x');
	put("long", big.data, big.len);
	CHECK_INT(map_compile(tmp_path("long"), dest, 0, &err), -1);
	CHECK_ERR(err, "long:3: line longer than 65536 bytes");
	CHECK_INT(map_compile(tmp_path("missing"), dest, 0, &err), -1);
	CHECK_ERR(err, "missing: cannot open: No such file or directory");
	CHECK_INT(map_compile(unit_tmpdir(), dest, 0, &err), -1);
	CHECK_ERR(err, "not a regular file");
	PUT("ok", "a 1\n");
	CHECK_INT(map_compile(tmp_path("ok"), tmp_path("nodir/x.cdb"), 0, &err), -1);
	CHECK_ERR(err, "cannot create");
	/* nothing was ever written */
	CHECK(access(dest, F_OK) < 0);
	buf_free(&err);
	buf_free(&big);
}

TEST(map_mode_kept)
{
	struct buf err = BUF_INIT;
	PUT("s", "a 1\n");
	CHECK_INT(map_compile(tmp_path("s"), tmp_path("s.cdb"), 0, &err), 1);
	CHECK_INT(chmod(tmp_path("s.cdb"), 0640), 0);
	CHECK_INT(map_compile(tmp_path("s"), tmp_path("s.cdb"), 0, &err), 1);
	struct stat st;
	CHECK_INT(stat(tmp_path("s.cdb"), &st), 0);
	CHECK_INT(st.st_mode & 07777, 0640);
	buf_free(&err);
}

TEST(map_atomic_replacement)
{
	struct buf err = BUF_INIT, v = BUF_INIT;
	KEEP_PATH(dest, "r.cdb");
	PUT("r1", "k old\ngone here\n");
	CHECK_INT(map_compile(tmp_path("r1"), dest, 0, &err), 2);
	struct map *held = map_open(dest, &err), *live = map_open(dest, &err);
	CHECK(held && live);
	map_set_check_interval(held, 3600);
	CHECK_INT(look(held, "k", &v), MAP_FOUND);
	PUT("r2", "k new\nadded yes\n");
	CHECK_INT(map_compile(tmp_path("r2"), dest, 0, &err), 2);
	/* the held map still answers from the old file, which it keeps mapped */
	CHECK_INT(look(held, "k", &v), MAP_FOUND);
	CHECK_BUF(v, "old");
	CHECK_INT(look(held, "gone", &v), MAP_FOUND);
	CHECK_INT(look(held, "added", &v), MAP_NOTFOUND);
	/* a map checking on every lookup sees the new one at once */
	CHECK_INT(look(live, "k", &v), MAP_FOUND);
	CHECK_BUF(v, "new");
	CHECK_INT(look(live, "gone", &v), MAP_NOTFOUND);
	/* an explicit check switches the held one over, once */
	CHECK_INT(map_reopen_if_changed(held, &err), 1);
	CHECK_INT(map_reopen_if_changed(held, &err), 0);
	CHECK_INT(look(held, "k", &v), MAP_FOUND);
	CHECK_BUF(v, "new");
	CHECK_INT(look(held, "added", &v), MAP_FOUND);
	map_close(held);
	map_close(live);
	buf_free(&err);
	buf_free(&v);
}

TEST(map_vanished_file_fails_closed)
{
	struct buf err = BUF_INIT, v = BUF_INIT;
	KEEP_PATH(dest, "v.cdb");
	PUT("v", "k 1\n");
	CHECK_INT(map_compile(tmp_path("v"), dest, 0, &err), 1);
	struct map *m = map_open(dest, &err);
	CHECK(m != NULL);
	CHECK_INT(rename(dest, tmp_path("v.saved")), 0);
	CHECK_INT(look(m, "k", &v), MAP_ERROR);
	CHECK(strstr(map_error(m), "cannot stat") != NULL);
	CHECK_INT(map_reopen_if_changed(m, &err), -1);
	CHECK_ERR(err, "v.cdb: cannot stat");
	/* garbage in its place is refused too */
	PUT("v.cdb", "not a cdb");
	CHECK_INT(look(m, "k", &v), MAP_ERROR);
	CHECK(strstr(map_error(m), "not a cdb map") != NULL);
	CHECK_INT(rename(tmp_path("v.saved"), dest), 0);
	CHECK_INT(look(m, "k", &v), MAP_FOUND);
	CHECK_BUF(v, "1");
	map_close(m);
	buf_free(&err);
	buf_free(&v);
}

TEST(map_open_errors)
{
	struct buf err = BUF_INIT;
	errno = 0;
	CHECK(map_open(tmp_path("none.cdb"), &err) == NULL);
	CHECK_INT(errno, ENOENT);
	CHECK_ERR(err, "none.cdb: cannot open");
	PUT("small", "tiny");
	CHECK(map_open(tmp_path("small"), &err) == NULL);
	CHECK_ERR(err, "small: not a cdb map");
	CHECK(map_open(unit_tmpdir(), &err) == NULL);
	CHECK_ERR(err, "not a regular file");
	CHECK(map_open(tmp_path("none.cdb"), NULL) == NULL);
	buf_free(&err);
}

TEST(map_corrupt_file)
{
	/* pseudo-random bytes: lookups may fail but must stay inside the file */
	unsigned char junk[8192];
	unsigned x = 12345;
	for (size_t i = 0; i < sizeof junk; i++) {
		x = x * 1103515245 + 12345;
		junk[i] = (unsigned char)(x >> 16);
	}
	put("junk.cdb", junk, sizeof junk);
	struct buf err = BUF_INIT, v = BUF_INIT, k = BUF_INIT;
	struct map *m = map_open(tmp_path("junk.cdb"), &err);
	CHECK(m != NULL);
	int errors = 0;
	for (int i = 0; i < 2000; i++) {
		buf_reset(&k);
		buf_printf(&k, "%d", i);
		int r = map_lookup(m, k.data, k.len, &v);
		CHECK(r == MAP_FOUND || r == MAP_NOTFOUND || r == MAP_ERROR);
		errors += r == MAP_ERROR;
	}
	CHECK(errors > 0);
	CHECK(strstr(map_error(m), "corrupt map") != NULL);
	map_close(m);
	buf_free(&err);
	buf_free(&v);
	buf_free(&k);
}

TEST(map_nul_and_empty_keys)
{
	/* a cdb made by other means may hold keys a source cannot express */
	const char *p = tmp_path("raw.cdb");
	int fd = open(p, O_RDWR | O_CREAT | O_TRUNC, 0644);
	CHECK(fd >= 0);
	struct cdb_make cm;
	CHECK_INT(cdb_make_start(&cm, fd), 0);
	CHECK_INT(cdb_make_add(&cm, "", 0, "empty", 5), 0);
	CHECK_INT(cdb_make_add(&cm, "a\0b", 3, "v\0w", 3), 0);
	CHECK_INT(cdb_make_add(&cm, "a", 1, "plain", 5), 0);
	CHECK_INT(cdb_make_finish(&cm), 0);
	close(fd);
	struct buf err = BUF_INIT, v = BUF_INIT;
	struct map *m = map_open(p, &err);
	CHECK(m != NULL);
	CHECK_INT(map_lookup(m, "", 0, &v), MAP_FOUND);
	CHECK_BUF(v, "empty");
	CHECK_INT(map_lookup(m, NULL, 0, &v), MAP_FOUND);
	CHECK_INT(map_lookup(m, "a\0b", 3, &v), MAP_FOUND);
	CHECK_MEM(v.data, v.len, "v\0w", 3);
	CHECK_INT(map_lookup(m, "a", 1, &v), MAP_FOUND);
	CHECK_BUF(v, "plain");
	CHECK_INT(map_lookup(m, "a\0", 2, &v), MAP_NOTFOUND);
	CHECK_INT(map_lookup(m, "\0", 1, &v), MAP_NOTFOUND);
	CHECK_INT(map_lookup_address(m, "", 0, &v, NULL), MAP_FOUND);
	CHECK_BUF(v, "empty");
	map_close(m);
	/* in a compiled map, a key with a NUL simply is not there */
	m = build("a 1\nab 2\n", 0);
	CHECK_INT(map_lookup(m, "a\0b", 3, &v), MAP_NOTFOUND);
	CHECK_INT(map_lookup(m, "a\0", 2, &v), MAP_NOTFOUND);
	CHECK_INT(map_lookup(m, "", 0, &v), MAP_NOTFOUND);
	CHECK_INT(map_lookup_domain(m, "a\0b", 3, &v, NULL), MAP_NOTFOUND);
	CHECK_INT(map_lookup_address(m, "a\0@b", 4, &v, NULL), MAP_NOTFOUND);
	map_close(m);
	buf_free(&err);
	buf_free(&v);
}

TEST(map_lookup_ip_prefixes)
{
	struct buf v = BUF_INIT, k = BUF_INIT;
	struct map *m = build("192.0.2.10 host\n192.0.2 net24\n10 net8\n"
			      "2001:0db8:0000:0000:0000:0000:0000:0001 v6host\n"
			      "2001:0db8:00ff v6net48\n2001 v6net16\n", MAP_COMPILE_LOWER);
	CHECK_INT(map_lookup_ip(m, "192.0.2.10", &v, &k), MAP_FOUND);
	CHECK_BUF(v, "host");
	CHECK_BUF(k, "192.0.2.10");
	CHECK_INT(map_lookup_ip(m, "192.0.2.11", &v, &k), MAP_FOUND);
	CHECK_BUF(v, "net24");
	CHECK_BUF(k, "192.0.2");
	CHECK_INT(map_lookup_ip(m, "10.200.3.4", &v, &k), MAP_FOUND);
	CHECK_BUF(k, "10");
	CHECK_INT(map_lookup_ip(m, "100.0.0.1", &v, &k), MAP_NOTFOUND);
	CHECK_INT(map_lookup_ip(m, "1.0.0.10", &v, NULL), MAP_NOTFOUND);
	/* IPv4-mapped IPv6 is IPv4 */
	CHECK_INT(map_lookup_ip(m, "::ffff:192.0.2.10", &v, &k), MAP_FOUND);
	CHECK_BUF(k, "192.0.2.10");
	CHECK_INT(map_lookup_ip(m, "2001:db8::1", &v, &k), MAP_FOUND);
	CHECK_BUF(v, "v6host");
	CHECK_INT(map_lookup_ip(m, "2001:DB8:0:0::1", &v, &k), MAP_FOUND);
	CHECK_BUF(v, "v6host");
	CHECK_INT(map_lookup_ip(m, "2001:db8:ff:1::2", &v, &k), MAP_FOUND);
	CHECK_BUF(k, "2001:0db8:00ff");
	CHECK_INT(map_lookup_ip(m, "2001:db8::2", &v, &k), MAP_FOUND);
	CHECK_BUF(k, "2001");
	CHECK_INT(map_lookup_ip(m, "2002::1", &v, &k), MAP_NOTFOUND);
	CHECK_INT(map_lookup_ip(m, "::", &v, &k), MAP_NOTFOUND);
	const char *bad[] = { "", "1.2.3", "1.2.3.4.5", "256.1.1.1", "01.2.3.4", "1.2.3.4 ",
			      "example.org", "2001:db8::1%eth0", ":::", "[::1]",
			      "1111111111111111111111111111111111111111111111111111111111111111111",
			      NULL };
	for (size_t i = 0; bad[i]; i++) {
		CHECK_INT(map_lookup_ip(m, bad[i], &v, &k), MAP_ERROR);
		CHECK(strstr(map_error(m), "not an IP address") != NULL);
	}
	map_close(m);
	buf_free(&v);
	buf_free(&k);
}

TEST(map_lookup_domain_parents)
{
	struct buf v = BUF_INIT, k = BUF_INIT;
	struct map *m = build("a.b.example exact\n.b.example sub-b\n.example sub\n"
			      "other.test only\n", MAP_COMPILE_LOWER);
	CHECK_INT(map_lookup_domain(m, "a.b.example", 11, &v, &k), MAP_FOUND);
	CHECK_BUF(v, "exact");
	CHECK_INT(map_lookup_domain(m, "A.B.Example.", 12, &v, &k), MAP_FOUND);
	CHECK_BUF(k, "a.b.example");
	CHECK_INT(map_lookup_domain(m, "x.a.b.example", 13, &v, &k), MAP_FOUND);
	CHECK_BUF(k, ".b.example");
	CHECK_INT(map_lookup_domain(m, "c.example", 9, &v, &k), MAP_FOUND);
	CHECK_BUF(k, ".example");
	/* ".example" matches subdomains, not example itself */
	CHECK_INT(map_lookup_domain(m, "example", 7, &v, &k), MAP_NOTFOUND);
	CHECK_INT(map_lookup_domain(m, "other.test", 10, &v, &k), MAP_FOUND);
	CHECK_INT(map_lookup_domain(m, "x.other.test", 12, &v, &k), MAP_NOTFOUND);
	CHECK_INT(map_lookup_domain(m, "", 0, &v, &k), MAP_NOTFOUND);
	CHECK_INT(map_lookup_domain(m, ".", 1, &v, &k), MAP_NOTFOUND);
	CHECK_INT(map_lookup_domain(m, "..example", 9, &v, &k), MAP_FOUND);
	CHECK_BUF(k, ".example");
	map_close(m);
	buf_free(&v);
	buf_free(&k);
}

TEST(map_lookup_address_order)
{
	struct buf v = BUF_INIT, k = BUF_INIT;
	struct map *m = build("joe@a.example full\npostmaster@ anyuser\n@a.example dom\n"
			      "@.example parent\nnodomain@ bare\n", MAP_COMPILE_LOWER);
	CHECK_INT(map_lookup_address(m, "Joe@A.example", 13, &v, &k), MAP_FOUND);
	CHECK_BUF(v, "full");
	CHECK_INT(map_lookup_address(m, "postmaster@a.example", 20, &v, &k), MAP_FOUND);
	CHECK_BUF(k, "postmaster@");
	CHECK_INT(map_lookup_address(m, "ann@a.example", 13, &v, &k), MAP_FOUND);
	CHECK_BUF(k, "@a.example");
	CHECK_INT(map_lookup_address(m, "ann@x.y.example", 15, &v, &k), MAP_FOUND);
	CHECK_BUF(k, "@.example");
	CHECK_INT(map_lookup_address(m, "ann@example", 11, &v, &k), MAP_NOTFOUND);
	CHECK_INT(map_lookup_address(m, "nodomain", 8, &v, &k), MAP_FOUND);
	CHECK_BUF(k, "nodomain@");
	/* the last '@' splits */
	CHECK_INT(map_lookup_address(m, "\"a@b\"@a.example", 15, &v, &k), MAP_FOUND);
	CHECK_BUF(k, "@a.example");
	CHECK_INT(map_lookup_address(m, "ann@", 4, &v, &k), MAP_NOTFOUND);
	CHECK_INT(map_lookup_address(m, "@", 1, &v, &k), MAP_NOTFOUND);
	CHECK_INT(map_lookup_address(m, "", 0, &v, &k), MAP_NOTFOUND);
	map_close(m);
	buf_free(&v);
	buf_free(&k);
}

TEST(map_check_interval)
{
	struct buf err = BUF_INIT, v = BUF_INIT;
	KEEP_PATH(dest, "i.cdb");
	PUT("i1", "k 1\n");
	CHECK_INT(map_compile(tmp_path("i1"), dest, 0, &err), 1);
	struct map *m = map_open(dest, &err);
	map_set_check_interval(m, 1);
	PUT("i2", "k 2\n");
	CHECK_INT(map_compile(tmp_path("i2"), dest, 0, &err), 1);
	CHECK_INT(look(m, "k", &v), MAP_FOUND);
	CHECK_BUF(v, "1");
	sleep(2);
	CHECK_INT(look(m, "k", &v), MAP_FOUND);
	CHECK_BUF(v, "2");
	map_close(m);
	buf_free(&err);
	buf_free(&v);
}
