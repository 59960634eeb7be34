/* config: one-value, list and settings files under the configuration directory.
 *
 * Trusts nothing in the files beyond their being meant as configuration: every
 * file and line is bounded, NUL bytes are refused and numbers are parsed with
 * overflow checks. Trusts the caller's file names (they come from code). */
#include "config.h"
#include "alloc.h"
#include "buf.h"
#include "file.h"
#include "log.h"
#include "paths.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* How much of an offending value an error message shows. */
#define CONFIG_QUOTE_MAX 64

/* Append "value", escaped and shortened, for an error message. */
static void quote(struct buf *err, const char *s, size_t len)
{
	if (err == NULL)
		return;
	buf_append_char(err, '"');
	log_escape(err, s, len > CONFIG_QUOTE_MAX ? CONFIG_QUOTE_MAX : len);
	buf_append_str(err, len > CONFIG_QUOTE_MAX ? "...\"" : "\"");
}

/* err = "path:line: " + err (line 0: no line number). */
static void prefix_err(struct buf *err, const char *path, unsigned long line)
{
	if (err == NULL)
		return;
	struct buf b = BUF_INIT;
	if (line)
		buf_printf(&b, "%s:%lu: ", path, line);
	else
		buf_printf(&b, "%s: ", path);
	buf_append_buf(&b, err);
	buf_set(err, b.data, b.len);
	buf_free(&b);
}

void config_path(struct buf *out, const char *name)
{
	if (name[0] == '/')
		buf_set_str(out, name);
	else
		paths_join(out, paths_config(), name);
}

/* ---- the line scanner ---- */

void config_lines_init(struct config_lines *s, const char *file, const char *text,
		       size_t len, size_t max_line)
{
	s->file = file;
	s->p = text;
	s->end = text + len;
	s->max_line = max_line;
	s->lineno = 0;
}

static int is_blank(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f';
}

/* Cut the next raw line (without its '\n') off the scanner. */
static int next_raw(struct config_lines *s, const char **line, size_t *len, struct buf *err)
{
	size_t left = (size_t)(s->end - s->p);
	size_t look = s->max_line < left ? s->max_line + 1 : left;
	const char *nl = memchr(s->p, '\n', look);
	s->lineno++;
	size_t raw = nl ? (size_t)(nl - s->p) : left;
	if (raw > s->max_line) {
		buf_error(err, "%s:%lu: line longer than %zu bytes", s->file, s->lineno, s->max_line);
		return -1;
	}
	*line = s->p;
	*len = raw;
	s->p += nl ? raw + 1 : raw;
	if (raw && memchr(*line, '\0', raw)) {
		buf_error(err, "%s:%lu: NUL byte in line", s->file, s->lineno);
		return -1;
	}
	return 0;
}

int config_lines_next(struct config_lines *s, const char **line, size_t *len, struct buf *err)
{
	while (s->p < s->end) {
		const char *l;
		size_t n;
		if (next_raw(s, &l, &n, err) < 0)
			return -1;
		while (n && is_blank(l[n - 1]))
			n--;
		while (n && is_blank(*l))
			l++, n--;
		if (n == 0 || *l == '#')
			continue;
		*line = l;
		*len = n;
		return 1;
	}
	return 0;
}

/* ---- reading a file ---- */

/* 1 and the contents in text, 0 if the file does not exist, -1 on error.
 * O_NONBLOCK so that a FIFO put in place of a file cannot hang us. */
static int read_text(const char *path, struct buf *text, struct buf *err)
{
	int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
	if (fd < 0) {
		if (errno == ENOENT)
			return 0;
		buf_error(err, "%s: cannot open: %s", path, strerror(errno));
		return -1;
	}
	struct stat st;
	int r = -1;
	if (fstat(fd, &st) < 0)
		buf_error(err, "%s: cannot stat: %s", path, strerror(errno));
	else if (!S_ISREG(st.st_mode))
		buf_error(err, "%s: not a regular file", path);
	else if (file_read_fd(fd, text, CONFIG_MAX_FILE) < 0)
		buf_error(err, "%s: cannot read: %s", path,
			errno == EFBIG ? "file too large" : strerror(errno));
	else
		r = 1;
	close(fd);
	return r;
}

/* The first value line of a one-value file: 1 (in *line, *len, *lineno),
 * 0 if the file is missing or holds no value, -1 on error. */
static int first_value(const char *path, struct buf *text, const char **line, size_t *len,
		       unsigned long *lineno, struct buf *err)
{
	int r = read_text(path, text, err);
	if (r <= 0)
		return r;
	struct config_lines s;
	config_lines_init(&s, path, text->data, text->len, CONFIG_MAX_LINE);
	r = config_lines_next(&s, line, len, err);
	*lineno = s.lineno;
	return r;
}

/* ---- parsers ---- */

static int unit_factor(enum config_unit unit, char c, uint64_t *factor)
{
	static const struct { enum config_unit unit; char c; uint64_t factor; } units[] = {
		{ CONFIG_UNIT_SIZE, 'k', 1024ull }, { CONFIG_UNIT_SIZE, 'K', 1024ull },
		{ CONFIG_UNIT_SIZE, 'm', 1024ull * 1024 }, { CONFIG_UNIT_SIZE, 'M', 1024ull * 1024 },
		{ CONFIG_UNIT_SIZE, 'g', 1024ull * 1024 * 1024 },
		{ CONFIG_UNIT_SIZE, 'G', 1024ull * 1024 * 1024 },
		{ CONFIG_UNIT_DURATION, 's', 1 }, { CONFIG_UNIT_DURATION, 'm', 60 },
		{ CONFIG_UNIT_DURATION, 'h', 3600 }, { CONFIG_UNIT_DURATION, 'd', 86400 },
	};
	for (size_t i = 0; i < sizeof units / sizeof units[0]; i++) {
		if (units[i].unit == unit && units[i].c == c) {
			*factor = units[i].factor;
			return 0;
		}
	}
	return -1;
}

int config_parse_u64(const char *s, size_t len, enum config_unit unit,
		     uint64_t min, uint64_t max, uint64_t *out, struct buf *err)
{
	uint64_t n = 0, factor = 1;
	size_t i = 0;
	for (; i < len && s[i] >= '0' && s[i] <= '9'; i++) {
		unsigned d = (unsigned)(s[i] - '0');
		if (n > (UINT64_MAX - d) / 10)
			goto too_large;
		n = n * 10 + d;
	}
	if (i == 0 || len - i > 1 || (len - i == 1 && unit_factor(unit, s[i], &factor) < 0)) {
		buf_error(err, "%s: ", i == 0 ? "not a number" : "bad number or unit");
		quote(err, s, len);
		return -1;
	}
	if (n > UINT64_MAX / factor)
		goto too_large;
	n *= factor;
	if (n < min || n > max) {
		buf_error(err, "value %llu out of range %llu..%llu", (unsigned long long)n,
			(unsigned long long)min, (unsigned long long)max);
		return -1;
	}
	*out = n;
	return 0;
too_large:
	buf_error(err, "number too large: ");
	quote(err, s, len);
	return -1;
}

static int eq_nocase(const char *s, size_t len, const char *word)
{
	size_t n = strlen(word);
	if (len != n)
		return 0;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		if (c >= 'A' && c <= 'Z')
			c = (char)(c - 'A' + 'a');
		if (c != word[i])
			return 0;
	}
	return 1;
}

int config_parse_bool(const char *s, size_t len, int *out, struct buf *err)
{
	static const char *const words[][2] = {
		{ "yes", "no" }, { "true", "false" }, { "on", "off" }, { "1", "0" },
	};
	for (size_t i = 0; i < sizeof words / sizeof words[0]; i++) {
		for (int v = 0; v < 2; v++) {
			if (eq_nocase(s, len, words[i][v])) {
				*out = !v;
				return 0;
			}
		}
	}
	buf_error(err, "not yes/no, true/false, on/off or 1/0: ");
	quote(err, s, len);
	return -1;
}

/* ---- one-value files ---- */

int config_get_string(const char *name, const char *def, struct buf *out, struct buf *err)
{
	struct buf path = BUF_INIT, text = BUF_INIT;
	const char *line;
	size_t len;
	unsigned long lineno;
	config_path(&path, name);
	int r = first_value(buf_cstr(&path), &text, &line, &len, &lineno, err);
	if (r > 0)
		buf_set(out, line, len);
	else if (r == 0)
		buf_set_str(out, def ? def : "");
	buf_free(&path);
	buf_free(&text);
	return r;
}

int config_get_u64(const char *name, uint64_t def, uint64_t min, uint64_t max,
		   enum config_unit unit, uint64_t *out, struct buf *err)
{
	struct buf path = BUF_INIT, text = BUF_INIT;
	const char *line;
	size_t len;
	unsigned long lineno;
	config_path(&path, name);
	int r = first_value(buf_cstr(&path), &text, &line, &len, &lineno, err);
	if (r == 0)
		*out = def;
	if (r > 0 && config_parse_u64(line, len, unit, min, max, out, err) < 0) {
		prefix_err(err, path.data, lineno);
		r = -1;
	}
	buf_free(&path);
	buf_free(&text);
	return r;
}

int config_get_bool(const char *name, int def, int *out, struct buf *err)
{
	struct buf path = BUF_INIT, text = BUF_INIT;
	const char *line;
	size_t len;
	unsigned long lineno;
	config_path(&path, name);
	int r = first_value(buf_cstr(&path), &text, &line, &len, &lineno, err);
	if (r == 0)
		*out = def;
	if (r > 0 && config_parse_bool(line, len, out, err) < 0) {
		prefix_err(err, path.data, lineno);
		r = -1;
	}
	buf_free(&path);
	buf_free(&text);
	return r;
}

int config_me(struct buf *out, struct buf *err)
{
	int r = config_get_string("me", NULL, out, err);
	if (r != 0)
		return r < 0 ? -1 : 0;
	char host[256 + 1];
	if (gethostname(host, sizeof host - 1) < 0) {
		buf_error(err, "me: not set and gethostname failed: %s", strerror(errno));
		return -1;
	}
	host[sizeof host - 1] = '\0';
	if (host[0] == '\0') {
		buf_error(err, "me: not set and the host has no name");
		return -1;
	}
	buf_set_str(out, host);
	return 0;
}

/* ---- list files ---- */

int config_read_list(const char *name, struct config_list *out, struct buf *err)
{
	struct buf path = BUF_INIT, text = BUF_INIT;
	size_t cap = 0;
	config_path(&path, name);
	out->items = NULL;
	out->count = 0;
	int r = read_text(buf_cstr(&path), &text, err);
	if (r > 0) {
		struct config_lines s;
		const char *line;
		size_t len;
		config_lines_init(&s, path.data, text.data, text.len, CONFIG_MAX_LINE);
		while ((r = config_lines_next(&s, &line, &len, err)) > 0) {
			if (out->count == cap) {
				cap = cap ? cap * 2 : 16;
				out->items = xreallocarray(out->items, cap, sizeof *out->items);
			}
			out->items[out->count++] = xmemdup(line, len);
		}
		r = r < 0 ? -1 : 1;
	}
	if (r < 0)
		config_list_free(out);
	buf_free(&path);
	buf_free(&text);
	return r;
}

void config_list_free(struct config_list *list)
{
	for (size_t i = 0; i < list->count; i++)
		free(list->items[i]);
	free(list->items);
	list->items = NULL;
	list->count = 0;
}

/* ---- settings files ---- */

static int is_name_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '_' || c == '-' || c == '.';
}

/* Split one trimmed line into name and value. */
static int parse_setting(const char *l, size_t n, struct config_setting *set, struct buf *err)
{
	size_t k = 0;
	while (k < n && is_name_char(l[k]))
		k++;
	size_t eq = k;
	while (eq < n && is_blank(l[eq]))
		eq++;
	if (k == 0 || eq == n || l[eq] != '=') {
		buf_error(err, "expected name = value: ");
		quote(err, l, n);
		return -1;
	}
	size_t v = eq + 1;
	while (v < n && is_blank(l[v]))
		v++;
	set->name = xmemdup(l, k);
	set->value = xmemdup(l + v, n - v);
	return 0;
}

static int setting_cmp(const void *a, const void *b)
{
	const struct config_setting *x = a, *y = b;
	int c = strcmp(x->name, y->name);
	if (c)
		return c;
	return x->line < y->line ? -1 : x->line > y->line;
}

static int parse_env(struct config_env *env, const struct buf *text, struct buf *err)
{
	struct config_lines s;
	const char *line;
	size_t len, cap = 0;
	int r;
	config_lines_init(&s, env->path, text->data, text->len, CONFIG_MAX_LINE);
	while ((r = config_lines_next(&s, &line, &len, err)) > 0) {
		if (env->count == cap) {
			cap = cap ? cap * 2 : 16;
			env->items = xreallocarray(env->items, cap, sizeof *env->items);
		}
		struct config_setting *set = &env->items[env->count];
		if (parse_setting(line, len, set, err) < 0) {
			prefix_err(err, env->path, s.lineno);
			return -1;
		}
		set->line = s.lineno;
		env->count++;
	}
	return r;
}

static int check_duplicates(const struct config_env *env, struct buf *err)
{
	for (size_t i = 1; i < env->count; i++) {
		const struct config_setting *a = &env->items[i - 1], *b = &env->items[i];
		if (strcmp(a->name, b->name) == 0) {
			buf_error(err, "%s:%lu: duplicate setting %s (first set on line %lu)",
				env->path, b->line, b->name, a->line);
			return -1;
		}
	}
	return 0;
}

int config_read_env(const char *name, struct config_env *out, struct buf *err)
{
	struct buf path = BUF_INIT, text = BUF_INIT;
	config_path(&path, name);
	out->path = buf_detach(&path);
	out->items = NULL;
	out->count = 0;
	int r = read_text(out->path, &text, err);
	if (r > 0 && parse_env(out, &text, err) < 0)
		r = -1;
	if (r > 0) {
		if (out->count)
			qsort(out->items, out->count, sizeof *out->items, setting_cmp);
		if (check_duplicates(out, err) < 0)
			r = -1;
	}
	if (r < 0)
		config_env_free(out);
	buf_free(&text);
	return r;
}

void config_env_free(struct config_env *env)
{
	for (size_t i = 0; i < env->count; i++) {
		free(env->items[i].name);
		free(env->items[i].value);
	}
	free(env->items);
	free(env->path);
	env->items = NULL;
	env->path = NULL;
	env->count = 0;
}

static int setting_key_cmp(const void *key, const void *elem)
{
	return strcmp(key, ((const struct config_setting *)elem)->name);
}

const struct config_setting *config_env_find(const struct config_env *env, const char *name)
{
	if (env->count == 0)
		return NULL;
	return bsearch(name, env->items, env->count, sizeof *env->items, setting_key_cmp);
}

int config_env_string(const struct config_env *env, const char *name, const char *def,
		      const char **out)
{
	const struct config_setting *set = config_env_find(env, name);
	*out = set ? set->value : def;
	return set != NULL;
}

int config_env_u64(const struct config_env *env, const char *name, uint64_t def,
		   uint64_t min, uint64_t max, enum config_unit unit, uint64_t *out,
		   struct buf *err)
{
	const struct config_setting *set = config_env_find(env, name);
	if (set == NULL) {
		*out = def;
		return 0;
	}
	if (config_parse_u64(set->value, strlen(set->value), unit, min, max, out, err) < 0) {
		prefix_err(err, name, 0);
		prefix_err(err, env->path, set->line);
		return -1;
	}
	return 1;
}

int config_env_bool(const struct config_env *env, const char *name, int def, int *out,
		    struct buf *err)
{
	const struct config_setting *set = config_env_find(env, name);
	if (set == NULL) {
		*out = def;
		return 0;
	}
	if (config_parse_bool(set->value, strlen(set->value), out, err) < 0) {
		prefix_err(err, name, 0);
		prefix_err(err, env->path, set->line);
		return -1;
	}
	return 1;
}

static int is_known(const char *name, const char *const *known)
{
	for (; *known; known++)
		if (strcmp(name, *known) == 0)
			return 1;
	return 0;
}

int config_env_check(const struct config_env *env, const char *const *known, struct buf *err)
{
	const struct config_setting *first = NULL;
	for (size_t i = 0; i < env->count; i++) {
		const struct config_setting *set = &env->items[i];
		if (!is_known(set->name, known) && (first == NULL || set->line < first->line))
			first = set;
	}
	if (first == NULL)
		return 0;
	buf_error(err, "%s:%lu: unknown setting %s", env->path, first->line, first->name);
	return -1;
}
