#include "buf.h"
#include "config.h"
#include "file.h"
#include "paths.h"
#include "unit.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

static const char *tmp_path(const char *name)
{
	static char path[4200];
	snprintf(path, sizeof path, "%s/%s", unit_tmpdir(), name);
	return path;
}

/* Write a file in the scratch directory and return its path. */
static const char *put(const char *name, const void *data, size_t len)
{
	const char *p = tmp_path(name);
	if (file_replace(p, data, len, 0644) < 0)
		unit_fail(__FILE__, __LINE__, "cannot write %s", p);
	return p;
}

#define PUT(name, lit) put((name), (lit), sizeof(lit) - 1)

/* err must contain want. */
#define CHECK_ERR(err, want)                                                          \
	do {                                                                          \
		if (strstr(buf_cstr(&(err)), (want)) == NULL)                         \
			unit_fail(__FILE__, __LINE__, "error \"%s\" lacks \"%s\"",     \
				  buf_cstr(&(err)), (want));                          \
	} while (0)

TEST(config_string_missing_and_empty)
{
	struct buf v = BUF_INIT, err = BUF_INIT;
	CHECK_INT(config_get_string(tmp_path("none"), "dflt", &v, &err), 0);
	CHECK_BUF(v, "dflt");
	CHECK_INT(config_get_string(tmp_path("none"), NULL, &v, &err), 0);
	CHECK_BUF(v, "");
	PUT("empty", "");
	CHECK_INT(config_get_string(tmp_path("empty"), "d", &v, &err), 0);
	CHECK_BUF(v, "d");
	PUT("comments", "# only\n\n   \t\n  # more\r\n");
	CHECK_INT(config_get_string(tmp_path("comments"), "d", &v, &err), 0);
	CHECK_BUF(v, "d");
	buf_free(&v);
	buf_free(&err);
}

TEST(config_string_trimmed_first_line)
{
	struct buf v = BUF_INIT, err = BUF_INIT;
	PUT("me", "# host name\n\n  mx.example.org \t \r\nignored\n");
	CHECK_INT(config_get_string(tmp_path("me"), "d", &v, &err), 1);
	CHECK_BUF(v, "mx.example.org");
	PUT("nonl", "last line without newline  ");
	CHECK_INT(config_get_string(tmp_path("nonl"), "d", &v, &err), 1);
	CHECK_BUF(v, "last line without newline");
	PUT("inner", "a b\tc\r\n");
	CHECK_INT(config_get_string(tmp_path("inner"), "d", &v, &err), 1);
	CHECK_BUF(v, "a b\tc");
	/* bytes are bytes: invalid UTF-8 passes untouched */
	PUT("bytes", "\xff\xfe\xc3(\n");
	CHECK_INT(config_get_string(tmp_path("bytes"), "d", &v, &err), 1);
	CHECK_BUF(v, "\xff\xfe\xc3(");
	buf_free(&v);
	buf_free(&err);
}

TEST(config_relative_to_config_dir)
{
	struct buf dir = BUF_INIT, v = BUF_INIT, err = BUF_INIT;
	paths_set_root(unit_tmpdir());
	CHECK_INT(file_mkdirs(paths_config(), 0755), 0);
	paths_join(&dir, paths_config(), "me");
	CHECK_INT(file_replace(buf_cstr(&dir), "relay.example\n", 14, 0644), 0);
	CHECK_INT(config_get_string("me", "d", &v, &err), 1);
	CHECK_BUF(v, "relay.example");
	CHECK_INT(config_me(&v, &err), 0);
	CHECK_BUF(v, "relay.example");
	config_path(&v, "locals");
	CHECK_STR(buf_cstr(&v), tmp_path("etc/estafette/locals"));
	unlink(buf_cstr(&dir));
	/* without "me" the host name is used */
	char host[300] = "";
	gethostname(host, sizeof host - 1);
	CHECK_INT(config_me(&v, &err), 0);
	CHECK_STR(buf_cstr(&v), host);
	buf_free(&dir);
	buf_free(&v);
	buf_free(&err);
}

TEST(config_nul_byte_is_error)
{
	struct buf v = BUF_INIT, err = BUF_INIT;
	put("nul", "# ok\nval\0ue\n", 12);
	CHECK_INT(config_get_string(tmp_path("nul"), "d", &v, &err), -1);
	CHECK_ERR(err, "nul:2: NUL byte");
	/* even inside a comment, and in a list file */
	put("nulc", "a\n#\0\n", 5);
	struct config_list l = CONFIG_LIST_INIT;
	CHECK_INT(config_read_list(tmp_path("nulc"), &l, &err), -1);
	CHECK_ERR(err, "nulc:2: NUL byte");
	CHECK_INT(l.count, 0);
	buf_free(&v);
	buf_free(&err);
}

TEST(config_line_length_bounded)
{
	struct buf text = BUF_INIT, v = BUF_INIT, err = BUF_INIT;
	buf_append_str(&text, "first\n");
	for (size_t i = 0; i < CONFIG_MAX_LINE; i++)
		buf_append_char(&text, 'x');
	buf_append_char(&text, '\n');
	put("exact", text.data, text.len);
	struct config_list l = CONFIG_LIST_INIT;
	CHECK_INT(config_read_list(tmp_path("exact"), &l, &err), 1);
	CHECK_INT(l.count, 2);
	CHECK_INT(strlen(l.items[1]), CONFIG_MAX_LINE);
	config_list_free(&l);
	/* one byte more, with or without a final newline */
	buf_truncate(&text, text.len - 1);
	buf_append_str(&text, "y");
	put("long", text.data, text.len);
	CHECK_INT(config_read_list(tmp_path("long"), &l, &err), -1);
	CHECK_ERR(err, "long:2: line longer than 65536 bytes");
	buf_append_str(&text, "\nz\n");
	put("long2", text.data, text.len);
	CHECK_INT(config_get_string(tmp_path("long2"), "d", &v, &err), 1);
	CHECK_BUF(v, "first");
	CHECK_INT(config_read_list(tmp_path("long2"), &l, &err), -1);
	CHECK_ERR(err, "long2:2: line longer");
	buf_free(&text);
	buf_free(&v);
	buf_free(&err);
}

TEST(config_file_size_bounded)
{
	struct buf v = BUF_INIT, err = BUF_INIT;
	const char *p = tmp_path("huge");
	int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	CHECK(fd >= 0);
	CHECK_INT(write(fd, "value\n", 6), 6);
	CHECK_INT(ftruncate(fd, (off_t)CONFIG_MAX_FILE + 1), 0);
	close(fd);
	CHECK_INT(config_get_string(p, "d", &v, &err), -1);
	CHECK_ERR(err, "huge: cannot read: file too large");
	buf_free(&v);
	buf_free(&err);
}

TEST(config_unreadable_is_error)
{
	struct buf v = BUF_INIT, err = BUF_INIT;
	CHECK_INT(mkdir(tmp_path("adir"), 0755), 0);
	CHECK_INT(config_get_string(tmp_path("adir"), "d", &v, &err), -1);
	CHECK_ERR(err, "adir: not a regular file");
	CHECK_INT(mkfifo(tmp_path("fifo"), 0644), 0);
	CHECK_INT(config_get_string(tmp_path("fifo"), "d", &v, &err), -1);
	CHECK_ERR(err, "fifo: not a regular file");
	PUT("afile", "x\n");
	CHECK_INT(config_get_string(tmp_path("afile/sub"), "d", &v, &err), -1);
	CHECK_ERR(err, "cannot open: Not a directory");
	/* EACCES: as root, become nobody (the scratch directory is 0700) */
	PUT("secret", "x\n");
	CHECK_INT(chmod(tmp_path("secret"), 0), 0);
	if (geteuid() == 0)
		CHECK_INT(setuid(65534), 0);
	CHECK_INT(config_get_string(tmp_path("secret"), "d", &v, &err), -1);
	CHECK_ERR(err, "cannot open: Permission denied");
	uint64_t n = 7;
	CHECK_INT(config_get_u64(tmp_path("secret"), 1, 0, 9, CONFIG_UNIT_NONE, &n, &err), -1);
	CHECK_INT(n, 7);
	struct config_list l = CONFIG_LIST_INIT;
	CHECK_INT(config_read_list(tmp_path("secret"), &l, &err), -1);
	struct config_env e = CONFIG_ENV_INIT;
	CHECK_INT(config_read_env(tmp_path("secret"), &e, &err), -1);
	buf_free(&v);
	buf_free(&err);
}

static int parse(const char *s, enum config_unit unit, uint64_t *out, struct buf *err)
{
	return config_parse_u64(s, strlen(s), unit, 0, UINT64_MAX, out, err);
}

TEST(config_parse_numbers)
{
	struct buf err = BUF_INIT;
	uint64_t n = 0;
	CHECK_INT(parse("0", CONFIG_UNIT_NONE, &n, &err), 0);
	CHECK_INT(n, 0);
	CHECK_INT(parse("007", CONFIG_UNIT_NONE, &n, &err), 0);
	CHECK_INT(n, 7);
	CHECK_INT(parse("18446744073709551615", CONFIG_UNIT_NONE, &n, &err), 0);
	CHECK(n == UINT64_MAX);
	CHECK_INT(parse("18446744073709551616", CONFIG_UNIT_NONE, &n, &err), -1);
	CHECK_ERR(err, "number too large: \"18446744073709551616\"");
	CHECK_INT(parse("99999999999999999999", CONFIG_UNIT_NONE, &n, &err), -1);
	CHECK_ERR(err, "number too large");
	const char *bad[] = { "", "-1", "+1", " 1", "1 ", "abc", "12x", "0x10", "1.5",
			      "1k", "1s", "\xff", NULL };
	for (size_t i = 0; bad[i]; i++) {
		n = 42;
		CHECK_INT(parse(bad[i], CONFIG_UNIT_NONE, &n, &err), -1);
		CHECK_INT(n, 42);
	}
	CHECK_INT(config_parse_u64("1\0" "2", 3, CONFIG_UNIT_NONE, 0, 9, &n, &err), -1);
	CHECK_INT(config_parse_u64("5", 1, CONFIG_UNIT_NONE, 6, 9, &n, &err), -1);
	CHECK_ERR(err, "value 5 out of range 6..9");
	CHECK_INT(config_parse_u64("10", 2, CONFIG_UNIT_NONE, 6, 9, &n, &err), -1);
	CHECK_INT(config_parse_u64("9", 1, CONFIG_UNIT_NONE, 6, 9, &n, &err), 0);
	buf_free(&err);
}

TEST(config_parse_suffixes)
{
	struct buf err = BUF_INIT;
	uint64_t n = 0;
	CHECK_INT(parse("10k", CONFIG_UNIT_SIZE, &n, &err), 0);
	CHECK_INT(n, 10240);
	CHECK_INT(parse("10K", CONFIG_UNIT_SIZE, &n, &err), 0);
	CHECK_INT(n, 10240);
	CHECK_INT(parse("2M", CONFIG_UNIT_SIZE, &n, &err), 0);
	CHECK_INT(n, 2 * 1048576);
	CHECK_INT(parse("3G", CONFIG_UNIT_SIZE, &n, &err), 0);
	CHECK_INT(n, 3ll << 30);
	CHECK_INT(parse("512", CONFIG_UNIT_SIZE, &n, &err), 0);
	CHECK_INT(n, 512);
	CHECK_INT(parse("17179869184G", CONFIG_UNIT_SIZE, &n, &err), -1);
	CHECK_ERR(err, "number too large");
	CHECK_INT(parse("17179869183G", CONFIG_UNIT_SIZE, &n, &err), 0);
	CHECK_INT(parse("10kk", CONFIG_UNIT_SIZE, &n, &err), -1);
	CHECK_INT(parse("10T", CONFIG_UNIT_SIZE, &n, &err), -1);
	CHECK_INT(parse("k", CONFIG_UNIT_SIZE, &n, &err), -1);
	CHECK_INT(parse("10 k", CONFIG_UNIT_SIZE, &n, &err), -1);
	CHECK_INT(parse("30s", CONFIG_UNIT_DURATION, &n, &err), 0);
	CHECK_INT(n, 30);
	CHECK_INT(parse("5m", CONFIG_UNIT_DURATION, &n, &err), 0);
	CHECK_INT(n, 300);
	CHECK_INT(parse("2h", CONFIG_UNIT_DURATION, &n, &err), 0);
	CHECK_INT(n, 7200);
	CHECK_INT(parse("7d", CONFIG_UNIT_DURATION, &n, &err), 0);
	CHECK_INT(n, 7 * 86400);
	CHECK_INT(parse("90", CONFIG_UNIT_DURATION, &n, &err), 0);
	CHECK_INT(n, 90);
	CHECK_INT(parse("5M", CONFIG_UNIT_DURATION, &n, &err), -1);
	CHECK_INT(parse("1k", CONFIG_UNIT_DURATION, &n, &err), -1);
	CHECK_INT(parse("1w", CONFIG_UNIT_DURATION, &n, &err), -1);
	CHECK_INT(parse("213503982334602d", CONFIG_UNIT_DURATION, &n, &err), -1);
	/* the range applies after the unit */
	CHECK_INT(config_parse_u64("2k", 2, CONFIG_UNIT_SIZE, 0, 2000, &n, &err), -1);
	CHECK_ERR(err, "value 2048 out of range 0..2000");
	buf_free(&err);
}

TEST(config_u64_from_file)
{
	struct buf err = BUF_INIT;
	uint64_t n = 0;
	CHECK_INT(config_get_u64(tmp_path("none"), 25, 1, 100, CONFIG_UNIT_NONE, &n, &err), 0);
	CHECK_INT(n, 25);
	PUT("size", "# max message size\r\n10M\r\n");
	CHECK_INT(config_get_u64(tmp_path("size"), 1, 0, UINT64_MAX, CONFIG_UNIT_SIZE, &n, &err), 1);
	CHECK_INT(n, 10 << 20);
	PUT("over", "\n\n99999999999999999999\n");
	n = 3;
	CHECK_INT(config_get_u64(tmp_path("over"), 1, 0, UINT64_MAX, CONFIG_UNIT_NONE, &n, &err), -1);
	CHECK_ERR(err, "over:3: number too large: \"99999999999999999999\"");
	CHECK_INT(n, 3);
	PUT("range", "500\n");
	CHECK_INT(config_get_u64(tmp_path("range"), 1, 0, 100, CONFIG_UNIT_NONE, &n, &err), -1);
	CHECK_ERR(err, "range:1: value 500 out of range 0..100");
	buf_free(&err);
}

TEST(config_bool)
{
	struct buf err = BUF_INIT;
	const char *yes[] = { "yes", "YES", "true", "True", "on", "ON", "1", NULL };
	const char *no[] = { "no", "No", "false", "FALSE", "off", "Off", "0", NULL };
	const char *bad[] = { "", "y", "n", "2", "yess", "enable", "01", "on\xff", NULL };
	int v;
	for (size_t i = 0; yes[i]; i++) {
		v = -1;
		CHECK_INT(config_parse_bool(yes[i], strlen(yes[i]), &v, &err), 0);
		CHECK_INT(v, 1);
	}
	for (size_t i = 0; no[i]; i++) {
		v = -1;
		CHECK_INT(config_parse_bool(no[i], strlen(no[i]), &v, &err), 0);
		CHECK_INT(v, 0);
	}
	for (size_t i = 0; bad[i]; i++)
		CHECK_INT(config_parse_bool(bad[i], strlen(bad[i]), &v, &err), -1);
	CHECK_INT(config_get_bool(tmp_path("none"), 1, &v, &err), 0);
	CHECK_INT(v, 1);
	PUT("flag", " off \r\n");
	CHECK_INT(config_get_bool(tmp_path("flag"), 1, &v, &err), 1);
	CHECK_INT(v, 0);
	PUT("badflag", "#\nmaybe\n");
	CHECK_INT(config_get_bool(tmp_path("badflag"), 1, &v, &err), -1);
	CHECK_ERR(err, "badflag:2: not yes/no");
	CHECK_ERR(err, "\"maybe\"");
	buf_free(&err);
}

TEST(config_list_items)
{
	struct buf err = BUF_INIT;
	struct config_list l = CONFIG_LIST_INIT;
	CHECK_INT(config_read_list(tmp_path("none"), &l, &err), 0);
	CHECK_INT(l.count, 0);
	PUT("rcpthosts", "# hosts\r\nexample.org\r\n\r\n  .example.net  \n\t# x\nexample.org\nlast");
	CHECK_INT(config_read_list(tmp_path("rcpthosts"), &l, &err), 1);
	CHECK_INT(l.count, 4);
	CHECK_STR(l.items[0], "example.org");
	CHECK_STR(l.items[1], ".example.net");
	CHECK_STR(l.items[2], "example.org");
	CHECK_STR(l.items[3], "last");
	config_list_free(&l);
	CHECK_INT(l.count, 0);
	PUT("emptylist", "\n\n#\n");
	CHECK_INT(config_read_list(tmp_path("emptylist"), &l, &err), 1);
	CHECK_INT(l.count, 0);
	config_list_free(&l);
	buf_free(&err);
}

TEST(config_list_many)
{
	struct buf text = BUF_INIT, err = BUF_INIT;
	for (int i = 0; i < 100000; i++)
		buf_printf(&text, "host%d.example\n", i);
	put("locals", text.data, text.len);
	struct config_list l = CONFIG_LIST_INIT;
	CHECK_INT(config_read_list(tmp_path("locals"), &l, &err), 1);
	CHECK_INT(l.count, 100000);
	CHECK_STR(l.items[99999], "host99999.example");
	config_list_free(&l);
	buf_free(&text);
	buf_free(&err);
}

TEST(config_env_settings)
{
	struct buf err = BUF_INIT;
	struct config_env e = CONFIG_ENV_INIT;
	CHECK_INT(config_read_env(tmp_path("none"), &e, &err), 0);
	CHECK_INT(e.count, 0);
	const char *s;
	CHECK_INT(config_env_string(&e, "x", "dx", &s), 0);
	CHECK_STR(s, "dx");
	config_env_free(&e);
	PUT("smtpd.conf", "# smtpd\r\nmaxrcpt = 100\r\n  greeting=hello # world  \n"
			  "empty =\ntimeout\t=\t5m\ntls.required = yes\nsize = 10M\n");
	CHECK_INT(config_read_env(tmp_path("smtpd.conf"), &e, &err), 1);
	CHECK_INT(e.count, 6);
	CHECK_INT(config_env_string(&e, "greeting", "d", &s), 1);
	CHECK_STR(s, "hello # world");
	CHECK_INT(config_env_string(&e, "empty", "d", &s), 1);
	CHECK_STR(s, "");
	CHECK_INT(config_env_string(&e, "Greeting", "d", &s), 0);
	uint64_t n;
	CHECK_INT(config_env_u64(&e, "maxrcpt", 1, 1, 1000, CONFIG_UNIT_NONE, &n, &err), 1);
	CHECK_INT(n, 100);
	CHECK_INT(config_env_u64(&e, "timeout", 1, 1, 3600, CONFIG_UNIT_DURATION, &n, &err), 1);
	CHECK_INT(n, 300);
	CHECK_INT(config_env_u64(&e, "absent", 9, 1, 10, CONFIG_UNIT_NONE, &n, &err), 0);
	CHECK_INT(n, 9);
	CHECK_INT(config_env_u64(&e, "size", 1, 1, 1000, CONFIG_UNIT_SIZE, &n, &err), -1);
	CHECK_ERR(err, "smtpd.conf:7: size: value 10485760 out of range 1..1000");
	CHECK_INT(config_env_u64(&e, "greeting", 1, 0, 9, CONFIG_UNIT_NONE, &n, &err), -1);
	CHECK_ERR(err, "smtpd.conf:3: greeting: not a number");
	int b;
	CHECK_INT(config_env_bool(&e, "tls.required", 0, &b, &err), 1);
	CHECK_INT(b, 1);
	CHECK_INT(config_env_bool(&e, "maxrcpt", 0, &b, &err), -1);
	CHECK_ERR(err, "smtpd.conf:2: maxrcpt: not yes/no");
	CHECK_INT(config_env_bool(&e, "nope", 1, &b, &err), 0);
	CHECK_INT(b, 1);
	const char *known[] = { "maxrcpt", "greeting", "empty", "timeout", "tls.required",
				"size", NULL };
	CHECK_INT(config_env_check(&e, known, &err), 0);
	const char *fewer[] = { "maxrcpt", "greeting", "empty", "size", NULL };
	CHECK_INT(config_env_check(&e, fewer, &err), -1);
	CHECK_ERR(err, "smtpd.conf:5: unknown setting timeout");
	config_env_free(&e);
	buf_free(&err);
}

TEST(config_env_errors)
{
	struct buf err = BUF_INIT;
	struct config_env e = CONFIG_ENV_INIT;
	PUT("dup", "a = 1\nb = 2\n\n# c\na = 3\n");
	CHECK_INT(config_read_env(tmp_path("dup"), &e, &err), -1);
	CHECK_ERR(err, "dup:5: duplicate setting a (first set on line 1)");
	CHECK_INT(e.count, 0);
	const char *bad[] = { "novalue\n", "= 1\n", "a b = 1\n", "a:1\n", "a\xff = 1\n",
			      "a=1\nb\n", NULL };
	const char *where[] = { "bad:1: expected", "bad:1: expected", "bad:1: expected",
				"bad:1: expected", "bad:1: expected", "bad:2: expected" };
	for (size_t i = 0; bad[i]; i++) {
		put("bad", bad[i], strlen(bad[i]));
		CHECK_INT(config_read_env(tmp_path("bad"), &e, &err), -1);
		CHECK_ERR(err, where[i]);
	}
	put("nulenv", "a = 1\nb = \0\n", 11);
	CHECK_INT(config_read_env(tmp_path("nulenv"), &e, &err), -1);
	CHECK_ERR(err, "nulenv:2: NUL byte");
	buf_free(&err);
}

TEST(config_lines_scanner)
{
	struct buf err = BUF_INIT;
	const char text[] = "\r\n a \r\n#c\n\tb\t\n\r\n c";
	struct config_lines s;
	const char *l;
	size_t n;
	config_lines_init(&s, "t", text, sizeof text - 1, 10);
	CHECK_INT(config_lines_next(&s, &l, &n, &err), 1);
	CHECK_MEM(l, n, "a", 1);
	CHECK_INT(s.lineno, 2);
	CHECK_INT(config_lines_next(&s, &l, &n, &err), 1);
	CHECK_MEM(l, n, "b", 1);
	CHECK_INT(s.lineno, 4);
	CHECK_INT(config_lines_next(&s, &l, &n, &err), 1);
	CHECK_MEM(l, n, "c", 1);
	CHECK_INT(s.lineno, 6);
	CHECK_INT(config_lines_next(&s, &l, &n, &err), 0);
	CHECK_INT(config_lines_next(&s, &l, &n, &err), 0);
	/* a lone CR is trimmed too */
	config_lines_init(&s, "t", "\r", 1, 10);
	CHECK_INT(config_lines_next(&s, &l, &n, &err), 0);
	config_lines_init(&s, "t", "", 0, 10);
	CHECK_INT(config_lines_next(&s, &l, &n, &err), 0);
	buf_free(&err);
}
