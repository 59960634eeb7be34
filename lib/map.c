/* map: cdb maps (tinycdb) kept open and reopened when replaced; hierarchical
 * lookups for access rules; the compiler from text sources.
 *
 * Trusts the cdb file only as far as tinycdb checks it (offsets are bounded
 * by the file size; a corrupt file gives MAP_ERROR, not a crash). Keys looked
 * up may be any bytes. The source compiler bounds the file, each line and the
 * number of records, and refuses control characters other than TAB. */
#include "map.h"
#include "alloc.h"
#include "buf.h"
#include "config.h"
#include "file.h"
#include "log.h"

#include <arpa/inet.h>
#include <cdb.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

struct map {
	char *path;
	int fd;
	struct cdb cdb;
	struct stat st;           /* of the open file, to notice a replacement */
	unsigned interval;        /* seconds between checks of the path */
	time_t last_check;        /* CLOCK_MONOTONIC seconds */
	int failed;               /* the last check failed: lookups fail */
	struct buf err;
	struct buf key, key2;     /* scratch for composed keys */
};

static void copy_err(struct buf *to, struct buf *from)
{
	if (to)
		buf_set(to, from->data, from->len);
}

static time_t now_seconds(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec;
}

/* Open and map path into *fd, *cdb, *st. */
static int open_cdb(const char *path, int *fd, struct cdb *cdb, struct stat *st, struct buf *err)
{
	*fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
	if (*fd < 0) {
		buf_error(err, "%s: cannot open: %s", path, strerror(errno));
		return -1;
	}
	if (fstat(*fd, st) < 0) {
		buf_error(err, "%s: cannot stat: %s", path, strerror(errno));
	} else if (!S_ISREG(st->st_mode)) {
		buf_error(err, "%s: not a regular file", path);
		errno = EINVAL;
	} else if (cdb_init(cdb, *fd) < 0) {
		buf_error(err, "%s: not a cdb map: %s", path, strerror(errno));
	} else {
		return 0;
	}
	int saved = errno;
	close(*fd);
	*fd = -1;
	errno = saved;
	return -1;
}

struct map *map_open(const char *path, struct buf *err)
{
	struct map *m = xcalloc(1, sizeof *m);
	if (open_cdb(path, &m->fd, &m->cdb, &m->st, err) < 0) {
		int saved = errno;
		free(m);
		errno = saved;
		return NULL;
	}
	m->path = xstrdup(path);
	m->last_check = now_seconds();
	return m;
}

void map_close(struct map *m)
{
	if (m == NULL)
		return;
	cdb_free(&m->cdb);
	close(m->fd);
	free(m->path);
	buf_free(&m->err);
	buf_free(&m->key);
	buf_free(&m->key2);
	free(m);
}

const char *map_error(const struct map *m)
{
	return m->err.len ? m->err.data : "";
}

void map_set_check_interval(struct map *m, unsigned seconds)
{
	m->interval = seconds;
}

static int same_file(const struct stat *a, const struct stat *b)
{
	return a->st_dev == b->st_dev && a->st_ino == b->st_ino && a->st_size == b->st_size &&
	       a->st_mtim.tv_sec == b->st_mtim.tv_sec && a->st_mtim.tv_nsec == b->st_mtim.tv_nsec;
}

int map_reopen_if_changed(struct map *m, struct buf *err)
{
	struct stat st;
	m->last_check = now_seconds();
	m->failed = 1;
	if (stat(m->path, &st) < 0) {
		buf_error(&m->err, "%s: cannot stat: %s", m->path, strerror(errno));
		copy_err(err, &m->err);
		return -1;
	}
	if (same_file(&st, &m->st)) {
		m->failed = 0;
		return 0;
	}
	int fd;
	struct cdb cdb;
	if (open_cdb(m->path, &fd, &cdb, &st, &m->err) < 0) {
		copy_err(err, &m->err);
		return -1;
	}
	cdb_free(&m->cdb);
	close(m->fd);
	m->fd = fd;
	m->cdb = cdb;
	m->st = st;
	m->failed = 0;
	return 1;
}

/* Before a lookup: look for a new file if the interval has passed. */
static int refresh(struct map *m)
{
	if (!m->failed && m->interval && now_seconds() - m->last_check < (time_t)m->interval)
		return 0;
	return map_reopen_if_changed(m, NULL) < 0 ? -1 : 0;
}

static int lookup_raw(struct map *m, const void *key, size_t len, struct buf *value)
{
	if (len > UINT_MAX)
		return MAP_NOTFOUND; /* a cdb cannot hold it */
	int r = cdb_find(&m->cdb, len ? key : "", (unsigned)len);
	if (r < 0) {
		buf_error(&m->err, "%s: corrupt map: %s", m->path, strerror(errno));
		return MAP_ERROR;
	}
	if (r == 0)
		return MAP_NOTFOUND;
	if (value) {
		const void *data = cdb_getdata(&m->cdb);
		if (data == NULL) {
			buf_error(&m->err, "%s: corrupt map: %s", m->path, strerror(errno));
			return MAP_ERROR;
		}
		buf_set(value, data, cdb_datalen(&m->cdb));
	}
	return MAP_FOUND;
}

int map_lookup(struct map *m, const void *key, size_t len, struct buf *value)
{
	if (refresh(m) < 0)
		return MAP_ERROR;
	return lookup_raw(m, key, len, value);
}

static void lower_into(struct buf *out, const void *data, size_t len)
{
	buf_set(out, data, len);
	for (size_t i = 0; i < out->len; i++)
		if (out->data[i] >= 'A' && out->data[i] <= 'Z')
			out->data[i] = (char)(out->data[i] - 'A' + 'a');
}

int map_lookup_lower(struct map *m, const void *key, size_t len, struct buf *value)
{
	lower_into(&m->key, key, len);
	return map_lookup(m, m->key.data, m->key.len, value);
}

/* One step of a hierarchical lookup: MAP_FOUND sets matched. */
static int try_key(struct map *m, const char *key, size_t len, struct buf *value,
		   struct buf *matched)
{
	int r = lookup_raw(m, key, len, value);
	if (r == MAP_FOUND && matched)
		buf_set(matched, key, len);
	return r;
}

/* key, then key cut before each sep from the right: "1.2.3", "1.2", "1". */
static int try_prefixes(struct map *m, const char *key, size_t len, char sep,
			struct buf *value, struct buf *matched)
{
	for (;;) {
		int r = try_key(m, key, len, value, matched);
		if (r != MAP_NOTFOUND)
			return r;
		while (len > 0 && key[len - 1] != sep)
			len--;
		if (len <= 1)
			return MAP_NOTFOUND;
		len--;
	}
}

/* The canonical text of an address: dotted quad, or eight %04x groups. */
static int ip_key(const char *ip, struct buf *out, char *sep)
{
	struct in6_addr a6;
	unsigned char a[16];
	const unsigned char *v4 = a;
	if (strchr(ip, ':') == NULL) {
		if (inet_pton(AF_INET, ip, a) != 1)
			return -1;
	} else {
		if (inet_pton(AF_INET6, ip, &a6) != 1)
			return -1;
		memcpy(a, &a6, sizeof a);
		v4 = IN6_IS_ADDR_V4MAPPED(&a6) ? a + 12 : NULL;
	}
	buf_reset(out);
	if (v4) {
		buf_printf(out, "%u.%u.%u.%u", v4[0], v4[1], v4[2], v4[3]);
		*sep = '.';
		return 0;
	}
	for (int i = 0; i < 16; i += 2)
		buf_printf(out, "%s%02x%02x", i ? ":" : "", a[i], a[i + 1]);
	*sep = ':';
	return 0;
}

int map_lookup_ip(struct map *m, const char *ip, struct buf *value, struct buf *matched)
{
	char sep;
	if (refresh(m) < 0)
		return MAP_ERROR;
	if (strnlen(ip, 64) == 64 || ip_key(ip, &m->key, &sep) < 0) {
		buf_error(&m->err, "not an IP address: ");
		log_escape(&m->err, ip, strnlen(ip, 64));
		return MAP_ERROR;
	}
	return try_prefixes(m, m->key.data, m->key.len, sep, value, matched);
}

/* key (len bytes), then each suffix of it starting at a dot. */
static int try_parents(struct map *m, const char *key, size_t len, struct buf *value,
		       struct buf *matched)
{
	int r = try_key(m, key, len, value, matched);
	for (size_t i = 1; r == MAP_NOTFOUND && i < len; i++)
		if (key[i] == '.')
			r = try_key(m, key + i, len - i, value, matched);
	return r;
}

int map_lookup_domain(struct map *m, const void *domain, size_t len, struct buf *value,
		      struct buf *matched)
{
	if (refresh(m) < 0)
		return MAP_ERROR;
	lower_into(&m->key, domain, len);
	if (m->key.len > 1 && m->key.data[m->key.len - 1] == '.')
		buf_truncate(&m->key, m->key.len - 1);
	return try_parents(m, m->key.data, m->key.len, value, matched);
}

/* "@" + domain, then "@" + each parent ".b.example". */
static int try_at_domains(struct map *m, const char *dom, size_t len, struct buf *value,
			  struct buf *matched)
{
	int r = MAP_NOTFOUND;
	for (size_t i = 0; r == MAP_NOTFOUND && i < len; i++) {
		if (i > 0 && dom[i] != '.')
			continue;
		buf_set(&m->key2, "@", 1);
		buf_append(&m->key2, dom + i, len - i);
		r = try_key(m, m->key2.data, m->key2.len, value, matched);
	}
	return r;
}

int map_lookup_address(struct map *m, const void *addr, size_t len, struct buf *value,
		       struct buf *matched)
{
	if (refresh(m) < 0)
		return MAP_ERROR;
	lower_into(&m->key, addr, len);
	const char *a = m->key.data ? m->key.data : "";
	int r = try_key(m, a, len, value, matched);
	if (r != MAP_NOTFOUND || len == 0)
		return r;
	const char *at = NULL;
	for (size_t i = len; at == NULL && i > 0; i--)
		if (a[i - 1] == '@')
			at = a + i - 1;
	if (at == NULL) {
		buf_set(&m->key2, a, len);
		buf_append_char(&m->key2, '@');
		return try_key(m, m->key2.data, m->key2.len, value, matched);
	}
	size_t user = (size_t)(at - a);
	if (user + 1 < len)
		r = try_key(m, a, user + 1, value, matched);
	if (r != MAP_NOTFOUND)
		return r;
	return try_at_domains(m, at + 1, len - user - 1, value, matched);
}

/* ---- compiling ---- */

/* Keys seen so far, for duplicates: an open-addressing hash table of indexes
 * into recs (plus one; 0 is empty). Keys point into the source text. */
struct rec {
	const char *key;
	size_t len;
	unsigned long line;
};
struct compile {
	const char *src;
	struct rec *recs;
	size_t count, cap;
	size_t *slots;
	size_t nslots; /* a power of two, at least twice count */
	struct cdb_make cm;
};

static uint64_t hash_key(const char *key, size_t len)
{
	uint64_t h = 14695981039346656037ull; /* FNV-1a */
	for (size_t i = 0; i < len; i++)
		h = (h ^ (unsigned char)key[i]) * 1099511628211ull;
	return h;
}

static size_t *find_slot(struct compile *c, const char *key, size_t len)
{
	size_t mask = c->nslots - 1, i = (size_t)hash_key(key, len) & mask;
	for (;; i = (i + 1) & mask) {
		size_t s = c->slots[i];
		if (s == 0)
			return &c->slots[i];
		const struct rec *r = &c->recs[s - 1];
		if (r->len == len && memcmp(r->key, key, len) == 0)
			return &c->slots[i];
	}
}

static void grow_table(struct compile *c)
{
	size_t n = c->nslots ? c->nslots * 2 : 1024;
	free(c->slots);
	c->slots = xcalloc(n, sizeof *c->slots);
	c->nslots = n;
	for (size_t i = 0; i < c->count; i++)
		*find_slot(c, c->recs[i].key, c->recs[i].len) = i + 1;
}

/* Remember key; if it was seen before, return that record. */
static const struct rec *remember(struct compile *c, const char *key, size_t len,
				  unsigned long line)
{
	if ((c->count + 1) * 2 > c->nslots)
		grow_table(c);
	size_t *slot = find_slot(c, key, len);
	if (*slot)
		return &c->recs[*slot - 1];
	if (c->count == c->cap) {
		c->cap = c->cap ? c->cap * 2 : 1024;
		c->recs = xreallocarray(c->recs, c->cap, sizeof *c->recs);
	}
	c->recs[c->count] = (struct rec){ key, len, line };
	*slot = ++c->count;
	return NULL;
}

static int is_blank(char c)
{
	return c == ' ' || c == '\t';
}

/* Check, split, lowercase, de-duplicate and add one source line. */
static int add_line(struct compile *c, char *line, size_t len, unsigned long lineno,
		    unsigned flags, struct buf *err)
{
	for (size_t i = 0; i < len; i++) {
		unsigned char ch = (unsigned char)line[i];
		if ((ch < 0x20 && ch != '\t') || ch == 0x7f) {
			buf_error(err, "%s:%lu: control character 0x%02x", c->src, lineno, ch);
			return -1;
		}
	}
	size_t k = 0, v;
	while (k < len && !is_blank(line[k]))
		k++;
	for (v = k; v < len && is_blank(line[v]); v++)
		;
	if (flags & MAP_COMPILE_LOWER)
		for (size_t i = 0; i < k; i++)
			if (line[i] >= 'A' && line[i] <= 'Z')
				line[i] = (char)(line[i] - 'A' + 'a');
	if (c->count == MAP_MAX_RECORDS) {
		buf_error(err, "%s:%lu: more than %u records", c->src, lineno, MAP_MAX_RECORDS);
		return -1;
	}
	const struct rec *old = remember(c, line, k, lineno);
	if (old) {
		buf_error(err, "%s:%lu: duplicate key \"", c->src, lineno);
		log_escape(err, line, k > 64 ? 64 : k);
		buf_printf(err, "\" (first on line %lu)", old->line);
		return -1;
	}
	if (cdb_make_add(&c->cm, line, (unsigned)k, line + v, (unsigned)(len - v)) < 0) {
		buf_error(err, "%s: cannot write map: %s", c->src, strerror(errno));
		return -1;
	}
	return 0;
}

/* Every record of the source text into c->cm. */
static int add_all(struct compile *c, struct buf *text, unsigned flags, struct buf *err)
{
	struct config_lines s;
	const char *line;
	size_t len;
	int r;
	config_lines_init(&s, c->src, text->data, text->len, MAP_MAX_LINE);
	while ((r = config_lines_next(&s, &line, &len, err)) > 0) {
		/* the scanner hands out pointers into text, which is ours to change */
		char *mine = text->data + (line - text->data);
		if (add_line(c, mine, len, s.lineno, flags, err) < 0)
			return -1;
	}
	return r;
}

static int read_source(const char *src, struct buf *text, struct buf *err)
{
	int fd = open(src, O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
	struct stat st;
	int r = -1;
	if (fd < 0)
		buf_error(err, "%s: cannot open: %s", src, strerror(errno));
	else if (fstat(fd, &st) < 0)
		buf_error(err, "%s: cannot stat: %s", src, strerror(errno));
	else if (!S_ISREG(st.st_mode))
		buf_error(err, "%s: not a regular file", src);
	else if (file_read_fd(fd, text, MAP_MAX_SOURCE) < 0)
		buf_error(err, "%s: cannot read: %s", src,
			errno == EFBIG ? "file too large" : strerror(errno));
	else
		r = 0;
	if (fd >= 0)
		close(fd);
	return r;
}

static int open_tmp(const char *tmp, struct buf *err)
{
	int flags = O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW;
	int fd = open(tmp, flags, 0644);
	if (fd < 0 && errno == EEXIST) {
		/* a leftover of an earlier process with our pid: ours to remove */
		unlink(tmp);
		fd = open(tmp, flags, 0644);
	}
	if (fd < 0)
		buf_error(err, "%s: cannot create: %s", tmp, strerror(errno));
	return fd;
}

/* Finish the cdb in fd, give it dest's mode, make it durable, rename it. */
static int commit_tmp(int fd, const char *tmp, const char *dest, struct compile *c,
		      struct buf *err)
{
	struct stat st;
	const char *what = "write";
	if (cdb_make_finish(&c->cm) < 0)
		goto fail;
	what = "chmod";
	if (stat(dest, &st) == 0 && fchmod(fd, st.st_mode & 07777) < 0)
		goto fail;
	what = "fsync";
	if (fsync(fd) < 0)
		goto fail;
	what = "rename";
	if (rename(tmp, dest) < 0)
		goto fail;
	what = "fsync the directory of";
	if (file_fsync_parent(dest) < 0)
		goto fail;
	return 0;
fail:
	buf_error(err, "%s: cannot %s: %s", dest, what, strerror(errno));
	return -1;
}

long map_compile(const char *src, const char *dest, unsigned flags, struct buf *err)
{
	struct compile c = { .src = src };
	struct buf text = BUF_INIT, tmp = BUF_INIT;
	long r = -1;
	if (read_source(src, &text, err) < 0)
		goto out;
	buf_printf(&tmp, "%s.tmp.%ld", dest, (long)getpid());
	int fd = open_tmp(buf_cstr(&tmp), err);
	if (fd < 0)
		goto out;
	if (cdb_make_start(&c.cm, fd) < 0) {
		buf_error(err, "%s: cannot start map: %s", tmp.data, strerror(errno));
	} else if (add_all(&c, &text, flags, err) < 0) {
		cdb_make_finish(&c.cm); /* only to free its memory: the file goes */
	} else if (commit_tmp(fd, tmp.data, dest, &c, err) == 0) {
		r = (long)c.count;
	}
	close(fd);
	if (r < 0)
		unlink(tmp.data);
out:
	free(c.recs);
	free(c.slots);
	buf_free(&text);
	buf_free(&tmp);
	return r;
}
