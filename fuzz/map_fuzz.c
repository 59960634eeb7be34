/* map_fuzz: lib/map's source compiler (map_compile on a private temporary
 * file) and its reader over hostile cdb files. The first byte picks the mode:
 * compile the rest as a source (with or without MAP_COMPILE_LOWER), or open
 * the rest as a cdb file and look keys up in it. Invariant: after a
 * successful compile every source line's key finds its value. */
#include "fuzz.h"
#include "buf.h"
#include "config.h"
#include "map.h"

static void check_compiled(const char *src, size_t len, const char *dest, unsigned flags,
			   long count)
{
	struct buf err = BUF_INIT, value = BUF_INIT;
	struct map *m = map_open(dest, &err);
	FUZZ_CHECK(m != NULL);
	struct config_lines sc;
	const char *line;
	size_t n;
	long seen = 0;
	config_lines_init(&sc, "src", src, len, MAP_MAX_LINE);
	while (config_lines_next(&sc, &line, &n, &err) > 0) {
		size_t k = 0, v;
		while (k < n && line[k] != ' ' && line[k] != '\t')
			k++;
		for (v = k; v < n && (line[v] == ' ' || line[v] == '\t'); v++)
			;
		int r = (flags & MAP_COMPILE_LOWER) ? map_lookup_lower(m, line, k, &value)
						    : map_lookup(m, line, k, &value);
		FUZZ_CHECK(r == MAP_FOUND);
		FUZZ_CHECK(fuzz_eq(value.data, value.len, line + v, n - v));
		seen++;
	}
	FUZZ_CHECK(seen == count);
	map_close(m);
	buf_free(&err);
	buf_free(&value);
}

static void fuzz_compile(const char *s, size_t len, unsigned flags)
{
	const char *src = fuzz_tmpfile(0, "src");
	const char *dest = fuzz_tmpfile(1, "map.cdb");
	struct buf err = BUF_INIT;
	fuzz_write_file(src, s, len);
	long r = map_compile(src, dest, flags, &err);
	if (r >= 0)
		check_compiled(s, len, dest, flags, r);
	else
		FUZZ_CHECK(err.len > 0);
	buf_free(&err);
}

static void fuzz_cdb(const char *s, size_t len)
{
	const char *path = fuzz_tmpfile(2, "raw.cdb");
	struct buf err = BUF_INIT, value = BUF_INIT, matched = BUF_INIT;
	fuzz_write_file(path, s, len);
	struct map *m = map_open(path, &err);
	if (m == NULL) {
		FUZZ_CHECK(err.len > 0);
		buf_free(&err);
		return;
	}
	static const char *const keys[] = { "", "a", "example.com", "user@example.com" };
	for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++)
		(void)map_lookup(m, keys[i], strlen(keys[i]), &value);
	(void)map_lookup(m, s, len < 32 ? len : 32, &value);
	(void)map_lookup_lower(m, "ExAmple", 7, &value);
	(void)map_lookup_domain(m, "a.b.example.com", 15, &value, &matched);
	(void)map_lookup_address(m, "user-ext@a.example.com", 22, &value, &matched);
	(void)map_lookup_ip(m, "192.0.2.10", &value, &matched);
	(void)map_lookup_ip(m, "2001:db8::1", &value, &matched);
	map_close(m);
	buf_free(&err);
	buf_free(&value);
	buf_free(&matched);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_in in;
	fuzz_in_init(&in, data, size);
	unsigned opt = fuzz_take_byte(&in);
	const char *s = (const char *)in.p;
	if (opt & 1)
		fuzz_cdb(s, in.len);
	else
		fuzz_compile(s, in.len, (opt & 2) ? MAP_COMPILE_LOWER : 0);
	return 0;
}
