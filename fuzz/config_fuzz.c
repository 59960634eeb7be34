/* config_fuzz: lib/config (settings, list and one-value files, the line
 * scanner, number/size/duration and boolean parsing). The first byte picks
 * the reader; the rest is the file, written to a private temporary file (the
 * readers take a path) or scanned in memory. Invariants: every setting read
 * is found again by name; list items hold no NUL or line break; numbers obey
 * their bounds. */
#include "fuzz.h"
#include "buf.h"
#include "config.h"

static void fuzz_env(const char *path)
{
	struct config_env env = CONFIG_ENV_INIT;
	struct buf err = BUF_INIT;
	int r = config_read_env(path, &env, &err);
	FUZZ_CHECK(r != -1 || err.len > 0);
	for (size_t i = 0; i < env.count; i++) {
		const struct config_setting *s = &env.items[i];
		FUZZ_CHECK(config_env_find(&env, s->name) == s);
		uint64_t v = 0;
		int b = 0;
		const char *str = NULL;
		FUZZ_CHECK(config_env_string(&env, s->name, "d", &str) == 1 && str == s->value);
		if (config_env_u64(&env, s->name, 5, 2, 1000, CONFIG_UNIT_SIZE, &v, &err) == 1)
			FUZZ_CHECK(v >= 2 && v <= 1000);
		(void)config_env_bool(&env, s->name, 0, &b, &err);
	}
	static const char *const known[] = { "a", "max_size", "timeout", NULL };
	(void)config_env_check(&env, known, &err);
	config_env_free(&env);
	buf_free(&err);
}

static void fuzz_list(const char *path)
{
	struct config_list l = CONFIG_LIST_INIT;
	struct buf err = BUF_INIT;
	if (config_read_list(path, &l, &err) >= 0)
		for (size_t i = 0; i < l.count; i++)
			FUZZ_CHECK(l.items[i][0] != '\0' && strchr(l.items[i], '\n') == NULL);
	config_list_free(&l);
	buf_free(&err);
}

static void fuzz_one_value(const char *path)
{
	struct buf out = BUF_INIT, err = BUF_INIT;
	uint64_t v = 0;
	int b = 0;
	(void)config_get_string(path, "def", &out, &err);
	if (config_get_u64(path, 7, 0, UINT64_MAX, CONFIG_UNIT_DURATION, &v, &err) < 0)
		FUZZ_CHECK(err.len > 0);
	(void)config_get_bool(path, 1, &b, &err);
	buf_free(&out);
	buf_free(&err);
}

static void fuzz_lines(const char *s, size_t len, size_t max)
{
	struct config_lines sc;
	struct buf err = BUF_INIT;
	const char *line;
	size_t n;
	int r;
	config_lines_init(&sc, "mem", s, len, max);
	while ((r = config_lines_next(&sc, &line, &n, &err)) > 0) {
		FUZZ_CHECK(n > 0 && n <= max && line >= s && line + n <= s + len);
		FUZZ_CHECK(line[0] != '#' && memchr(line, '\n', n) == NULL);
	}
	buf_free(&err);
}

static void fuzz_numbers(const char *s, size_t len)
{
	struct buf err = BUF_INIT;
	uint64_t v = 0;
	int b = 0;
	for (int u = CONFIG_UNIT_NONE; u <= CONFIG_UNIT_DURATION; u++) {
		if (config_parse_u64(s, len, (enum config_unit)u, 10, 1u << 30, &v, &err) == 0)
			FUZZ_CHECK(v >= 10 && v <= (1u << 30));
		(void)config_parse_u64(s, len, (enum config_unit)u, 0, UINT64_MAX, &v, &err);
	}
	if (config_parse_bool(s, len, &b, &err) == 0)
		FUZZ_CHECK(b == 0 || b == 1);
	buf_free(&err);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_in in;
	fuzz_in_init(&in, data, size);
	unsigned opt = fuzz_take_byte(&in);
	const char *s = (const char *)in.p;
	if ((opt & 7) >= 3) {
		if ((opt & 7) == 3)
			fuzz_numbers(s, in.len);
		else
			fuzz_lines(s, in.len, 1 + (opt >> 3));
		return 0;
	}
	const char *path = fuzz_tmpfile(0, "conf");
	fuzz_write_file(path, s, in.len);
	if ((opt & 7) == 0)
		fuzz_env(path);
	else if ((opt & 7) == 1)
		fuzz_list(path);
	else
		fuzz_one_value(path);
	return 0;
}
