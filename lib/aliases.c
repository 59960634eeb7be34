/* aliases: the aliases(5) source, its cdb form and the targets (aliases.h).
 * Trusts nothing in the source: every length and count is bounded. */
#include "aliases.h"
#include "alloc.h"
#include "buf.h"
#include "file.h"
#include "map.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

void alias_list_free(struct alias_list *l)
{
	for (size_t i = 0; i < l->count; i++)
		free(l->items[i].value);
	free(l->items);
	l->items = NULL;
	l->count = l->cap = 0;
}

static int is_blank(char c)
{
	return c == ' ' || c == '\t' || c == '\r';
}

static int add_target(struct alias_list *out, const char *t, size_t len, struct buf *err)
{
	while (len && is_blank(*t))
		t++, len--;
	while (len && is_blank(t[len - 1]))
		len--;
	if (len == 0)
		return 0;
	if (len > ALIASES_MAX_TARGET) {
		buf_error(err, "target longer than %u bytes", ALIASES_MAX_TARGET);
		return -1;
	}
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)t[i] < 0x20 || t[i] == 0x7f) {
			buf_error(err, "control character in a target");
			return -1;
		}
	struct alias_target a;
	if (t[0] == '|') {
		a.kind = ALIAS_PROGRAM;
		t++, len--;
		while (len && is_blank(*t))
			t++, len--;
	} else if (len >= 9 && strncasecmp(t, ":include:", 9) == 0) {
		a.kind = ALIAS_INCLUDE;
		t += 9, len -= 9;
		while (len && is_blank(*t))
			t++, len--;
		if (len == 0 || t[0] != '/') {
			buf_error(err, ":include: needs an absolute path");
			return -1;
		}
	} else if (t[0] == '/') {
		a.kind = ALIAS_FILE;
	} else {
		a.kind = ALIAS_ADDRESS;
		if (len >= 2 && t[0] == '<' && t[len - 1] == '>')
			t++, len -= 2;
		/* "<|cmd>", "</file>", "<:include:/p>" are no addresses: their
		 * canonical form would read back as a program, file or include */
		if (len == 0 || memchr(t, ' ', len) || memchr(t, '\t', len) || memchr(t, '<', len) ||
		    memchr(t, '>', len) || memchr(t, '"', len) || t[0] == '|' || t[0] == '/' ||
		    (len >= 9 && strncasecmp(t, ":include:", 9) == 0)) {
			buf_error(err, "bad address target");
			return -1;
		}
	}
	if (len == 0) {
		buf_error(err, "empty program");
		return -1;
	}
	if (out->count == ALIASES_MAX_TARGETS) {
		buf_error(err, "more than %u targets", ALIASES_MAX_TARGETS);
		return -1;
	}
	if (out->count == out->cap) {
		out->cap = out->cap ? out->cap * 2 : 8;
		out->items = xreallocarray(out->items, out->cap, sizeof *out->items);
	}
	a.value = xmemdup(t, len);
	out->items[out->count++] = a;
	return 0;
}

/* A quoted target starting at s[*i] == '"'; appends the unescaped text. */
static int quoted(const char *s, size_t len, size_t *i, struct buf *t, struct buf *err)
{
	for ((*i)++; *i < len; (*i)++) {
		char c = s[*i];
		if (c == '"') {
			(*i)++;
			return 0;
		}
		if (c == '\\' && *i + 1 < len)
			c = s[++*i];
		if (c == '\n')
			break;
		buf_append_char(t, c);
	}
	buf_error(err, "unterminated quote");
	return -1;
}

int aliases_parse_targets(const char *s, size_t len, struct alias_list *out, struct buf *err)
{
	struct buf t = BUF_INIT;
	size_t i = 0;
	int rc = 0;
	if (memchr(s, '\0', len)) {
		buf_error(err, "NUL byte");
		return -1;
	}
	while (i < len && rc == 0) {
		buf_reset(&t);
		while (i < len && (is_blank(s[i]) || s[i] == ',' || s[i] == '\n'))
			i++;
		if (i < len && s[i] == '#' && (i == 0 || s[i - 1] == '\n' || is_blank(s[i - 1]))) {
			while (i < len && s[i] != '\n')
				i++;
			continue;
		}
		if (i < len && s[i] == '"') {
			rc = quoted(s, len, &i, &t, err);
			while (rc == 0 && i < len && is_blank(s[i]))
				i++;
			if (rc == 0 && i < len && s[i] != ',' && s[i] != '\n') {
				buf_error(err, "text after a quoted target");
				rc = -1;
			}
		} else {
			while (i < len && s[i] != ',' && s[i] != '\n')
				buf_append_char(&t, s[i++]);
		}
		if (rc == 0 && t.len)
			rc = add_target(out, t.data, t.len, err);
	}
	buf_free(&t);
	return rc;
}

int aliases_decode(const char *v, size_t len, struct alias_list *out, struct buf *err)
{
	size_t i = 0;
	while (i < len) {
		const char *tab = memchr(v + i, '\t', len - i);
		size_t n = tab ? (size_t)(tab - (v + i)) : len - i;
		if (n == 0 || add_target(out, v + i, n, err) < 0) {
			if (n == 0)
				buf_error(err, "empty target in the compiled map");
			return -1;
		}
		i += n + (tab ? 1 : 0);
	}
	if (out->count == 0) {
		buf_error(err, "alias without targets");
		return -1;
	}
	return 0;
}

void aliases_target_format(const struct alias_target *t, struct buf *out)
{
	if (t->kind == ALIAS_PROGRAM)
		buf_append_char(out, '|');
	else if (t->kind == ALIAS_INCLUDE)
		buf_append_str(out, ":include:");
	buf_append_str(out, t->value);
}

/* One entry "name: targets" (continuations joined). */
static int entry(const char *e, size_t len, size_t line, struct alias_list *l,
		 struct buf *name, struct buf *err)
{
	const char *colon = memchr(e, ':', len);
	if (colon == NULL) {
		buf_error(err, "%zu: missing ':'", line);
		return -1;
	}
	size_t n = (size_t)(colon - e);
	while (n && is_blank(e[n - 1]))
		n--;
	int ctl = 0; /* a line end in a name would split the compiled map's line */
	for (size_t i = 0; i < n && !ctl; i++)
		ctl = (unsigned char)e[i] < 0x20 || e[i] == 0x7f;
	if (n == 0 || n > ALIASES_MAX_NAME || ctl || memchr(e, ' ', n) || memchr(e, '"', n)) {
		buf_error(err, "%zu: bad alias name", line);
		return -1;
	}
	buf_set(name, e, n);
	struct buf terr = BUF_INIT;
	size_t off = (size_t)(colon - e) + 1;
	int rc = aliases_parse_targets(colon + 1, len - off, l, &terr);
	if (rc == 0 && l->count == 0) {
		buf_set_str(&terr, "no targets");
		rc = -1;
	}
	if (rc < 0)
		buf_error(err, "%zu: %s: %s", line, buf_cstr(name), buf_cstr(&terr));
	buf_free(&terr);
	return rc;
}

/* Length of the logical entry starting at p (through continuation lines). */
static size_t entry_end(const char *p, const char *end)
{
	const char *q = p;
	for (;;) {
		const char *nl = memchr(q, '\n', (size_t)(end - q));
		if (nl == NULL)
			return (size_t)(end - p);
		q = nl + 1;
		if (q >= end || !(*q == ' ' || *q == '\t'))
			return (size_t)(q - p);
	}
}

int aliases_parse(const char *file, const char *text, size_t len,
		  int (*fn)(void *, const char *, size_t, const struct alias_list *, struct buf *),
		  void *ctx, struct buf *err)
{
	const char *p = text, *end = text + len;
	size_t line = 1;
	struct buf name = BUF_INIT, e = BUF_INIT;
	int rc = 0;
	if (memchr(text, '\0', len)) {
		buf_error(err, "%s: NUL byte", file);
		return -1;
	}
	while (p < end && rc == 0) {
		size_t n = entry_end(p, end), skip = 0;
		while (skip < n && is_blank(p[skip])) /* text need not end in NUL */
			skip++;
		size_t start = line;
		for (size_t i = 0; i < n; i++)
			line += p[i] == '\n';
		if (skip >= n || p[skip] == '\n' || p[skip] == '#') {
			p += n; /* blank or comment (continuations of a comment too) */
			continue;
		}
		if (skip > 0) {
			buf_error(err, "%s:%zu: continuation line without an alias", file, start);
			rc = -1;
			break;
		}
		if (n > ALIASES_MAX_ENTRY) {
			buf_error(err, "%s:%zu: entry longer than %u bytes", file, start,
				  ALIASES_MAX_ENTRY);
			rc = -1;
			break;
		}
		struct alias_list l = ALIAS_LIST_INIT;
		rc = entry(p, n, start, &l, &name, &e);
		if (rc < 0)
			buf_error(err, "%s:%s", file, buf_cstr(&e));
		else
			rc = fn(ctx, buf_cstr(&name), start, &l, err);
		alias_list_free(&l);
		p += n;
	}
	buf_free(&name);
	buf_free(&e);
	return rc;
}

struct compile_ctx {
	struct buf src;      /* map source lines */
	char **names;
	size_t *lines;
	size_t n, cap;
	const char *file;
};

static int compile_one(void *vctx, const char *name, size_t line, const struct alias_list *l,
		       struct buf *err)
{
	struct compile_ctx *c = vctx;
	(void)err;
	if (c->n == c->cap) {
		c->cap = c->cap ? c->cap * 2 : 64;
		c->names = xreallocarray(c->names, c->cap, sizeof *c->names);
		c->lines = xreallocarray(c->lines, c->cap, sizeof *c->lines);
	}
	char *lower = xstrdup(name);
	for (char *q = lower; *q; q++)
		if (*q >= 'A' && *q <= 'Z')
			*q = (char)(*q - 'A' + 'a');
	c->names[c->n] = lower;
	c->lines[c->n++] = line;
	buf_append_str(&c->src, name);
	for (size_t i = 0; i < l->count; i++) {
		buf_append_char(&c->src, i ? '\t' : ' ');
		aliases_target_format(&l->items[i], &c->src);
	}
	buf_append_char(&c->src, '\n');
	return 0;
}

static const struct compile_ctx *sort_ctx;

static int cmp_idx(const void *a, const void *b)
{
	size_t x = *(const size_t *)a, y = *(const size_t *)b;
	int r = strcmp(sort_ctx->names[x], sort_ctx->names[y]);
	return r ? r : (x < y ? -1 : x > y);
}

/* A name given twice is an error naming both lines (O(n log n)). */
static int check_dups(struct compile_ctx *c, struct buf *err)
{
	size_t *idx = xcalloc(c->n ? c->n : 1, sizeof *idx);
	int rc = 0;
	for (size_t i = 0; i < c->n; i++)
		idx[i] = i;
	sort_ctx = c;
	qsort(idx, c->n, sizeof *idx, cmp_idx);
	for (size_t i = 1; i < c->n && rc == 0; i++)
		if (strcmp(c->names[idx[i]], c->names[idx[i - 1]]) == 0) {
			buf_error(err, "%s:%zu: alias %s already defined on line %zu", c->file,
				  c->lines[idx[i]], c->names[idx[i]], c->lines[idx[i - 1]]);
			rc = -1;
		}
	free(idx);
	return rc;
}

long aliases_compile(const char *src, const char *dest, struct buf *err)
{
	struct compile_ctx c = { BUF_INIT, NULL, NULL, 0, 0, src };
	struct buf text = BUF_INIT, tmp = BUF_INIT, merr = BUF_INIT;
	long rc = -1;
	int saved = 0;
	if (file_read(src, &text, ALIASES_MAX_FILE) < 0) {
		saved = errno;
		buf_error(err, "%s: %s", src, strerror(saved));
		goto out;
	}
	if (aliases_parse(src, text.data ? text.data : "", text.len, compile_one, &c, err) < 0 ||
	    check_dups(&c, err) < 0) {
		saved = EINVAL;
		goto out;
	}
	buf_printf(&tmp, "%s.src.%ld", dest, (long)getpid());
	int fd = open(buf_cstr(&tmp), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0 || file_write_all(fd, c.src.data, c.src.len) < 0) {
		saved = errno;
		buf_error(err, "%s: %s", buf_cstr(&tmp), strerror(saved));
		if (fd >= 0)
			close(fd);
		unlink(buf_cstr(&tmp));
		goto out;
	}
	close(fd);
	rc = map_compile(buf_cstr(&tmp), dest, MAP_COMPILE_LOWER, &merr);
	if (rc < 0) {
		saved = errno;
		buf_error(err, "%s: %s", src, buf_cstr(&merr));
	}
	unlink(buf_cstr(&tmp));
out:
	for (size_t i = 0; i < c.n; i++)
		free(c.names[i]);
	free(c.names);
	free(c.lines);
	buf_free(&c.src);
	buf_free(&text);
	buf_free(&tmp);
	buf_free(&merr);
	if (rc < 0)
		errno = saved ? saved : EINVAL;
	return rc;
}
