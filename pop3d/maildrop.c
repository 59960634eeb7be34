/* maildrop: lock, list, size, UIDL and update of one Maildir for pop3d.
 * See maildrop.h for what it trusts. */
#define _GNU_SOURCE
#include "maildrop.h"
#include "alloc.h"
#include "mdflags.h"
#include "uidlist.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

static void msg_add(struct maildrop *md, const char *sub, const char *name, size_t len)
{
	if (md->n == md->cap) {
		md->cap = md->cap ? md->cap * 2 : 256;
		md->m = xreallocarray(md->m, md->cap, sizeof *md->m);
	}
	struct maildrop_msg *m = &md->m[md->n++];
	memset(m, 0, sizeof *m);
	struct buf b = BUF_INIT;
	buf_printf(&b, "%s/", sub);
	buf_append(&b, name, len);
	m->name = buf_detach(&b);
	size_t base = strcspn(name, ":,");
	m->baselen = base;
	uint64_t t = 0;
	for (size_t i = 0; i < base && i < 19 && name[i] >= '0' && name[i] <= '9'; i++)
		t = t * 10 + (uint64_t)(name[i] - '0');
	m->order = t;
	uint64_t w;
	if (mdflags_name_size(name, len, 'W', &w) == 0) {
		m->size = w;
		m->size_known = 1;
	}
}

static int list_dir(struct maildrop *md, const char *sub, struct buf *err)
{
	int fd = openat(md->dirfd, sub, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
	if (d == NULL) {
		buf_error(err, "%s: %s", sub, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	struct dirent *e;
	while ((e = readdir(d)) != NULL) {
		size_t len = strlen(e->d_name);
		if (e->d_name[0] == '.' || len > MDFLAGS_NAME_MAX)
			continue;
		if (e->d_type != DT_REG && e->d_type != DT_UNKNOWN)
			continue;
		if (md->n >= MAILDROP_MAX_MESSAGES) {
			buf_error(err, "more than %d messages", MAILDROP_MAX_MESSAGES);
			closedir(d);
			return -1;
		}
		msg_add(md, sub, e->d_name, len);
	}
	closedir(d);
	return 0;
}

static int cmp_msg(const void *pa, const void *pb)
{
	const struct maildrop_msg *a = pa, *b = pb;
	if (a->order != b->order)
		return a->order < b->order ? -1 : 1;
	size_t n = a->baselen < b->baselen ? a->baselen : b->baselen;
	int c = memcmp(a->name + 4, b->name + 4, n);
	if (c)
		return c;
	if (a->baselen != b->baselen)
		return a->baselen < b->baselen ? -1 : 1;
	return strcmp(a->name, b->name); /* cur/ before new/ */
}

/* A message moved from new/ to cur/ during the listing shows twice: keep cur/. */
static void dedupe(struct maildrop *md)
{
	size_t out = 0;
	for (size_t i = 0; i < md->n; i++) {
		struct maildrop_msg *p = out ? &md->m[out - 1] : NULL;
		if (p && p->baselen == md->m[i].baselen &&
		    memcmp(p->name + 4, md->m[i].name + 4, p->baselen) == 0) {
			free(md->m[i].name);
			continue;
		}
		md->m[out++] = md->m[i];
	}
	md->n = out;
}

int maildrop_open(struct maildrop *md, const char *path, struct buf *err)
{
	memset(md, 0, sizeof *md);
	md->lockfd = -1;
	md->dirfd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (md->dirfd < 0) {
		buf_error(err, "%s: %s", path, strerror(errno));
		return MAILDROP_ERROR;
	}
	md->lockfd = openat(md->dirfd, MAILDROP_LOCK_NAME,
			    O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (md->lockfd < 0) {
		buf_error(err, "%s/%s: %s", path, MAILDROP_LOCK_NAME, strerror(errno));
		return MAILDROP_ERROR;
	}
	if (flock(md->lockfd, LOCK_EX | LOCK_NB) < 0) {
		int e = errno;
		buf_error(err, "%s: %s", path, strerror(e));
		return e == EWOULDBLOCK ? MAILDROP_INUSE : MAILDROP_ERROR;
	}
	if (list_dir(md, "new", err) < 0 || list_dir(md, "cur", err) < 0)
		return MAILDROP_ERROR;
	if (md->n)
		qsort(md->m, md->n, sizeof *md->m, cmp_msg);
	dedupe(md);
	return MAILDROP_OK;
}

void maildrop_close(struct maildrop *md)
{
	for (size_t i = 0; i < md->n; i++)
		free(md->m[i].name);
	free(md->m);
	if (md->lockfd >= 0)
		close(md->lockfd);
	if (md->dirfd >= 0)
		close(md->dirfd);
	memset(md, 0, sizeof *md);
	md->dirfd = md->lockfd = -1;
}

int maildrop_count_fd(int fd, uint64_t *size)
{
	char b[65536];
	uint64_t n = 0;
	int cr = 0;
	for (;;) {
		ssize_t r = read(fd, b, sizeof b);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -1;
		if (r == 0)
			break;
		n += (uint64_t)r;
		for (const char *p = b, *end = b + r; p < end;) {
			const char *lf = memchr(p, '\n', (size_t)(end - p));
			if (lf == NULL)
				break;
			if (!(lf > b ? lf[-1] == '\r' : cr))
				n++;
			p = lf + 1;
		}
		cr = b[r - 1] == '\r';
	}
	*size = n;
	return 0;
}

/* Another client (imapd, a mail reader) moved message i from new/ to cur/ or
 * changed its flags since the listing: find it in cur/ by its unique part. */
static int relocate(struct maildrop *md, struct maildrop_msg *m)
{
	int fd = openat(md->dirfd, "cur", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
	const char *base = m->name + 4;
	int found = -1;
	if (d == NULL) {
		if (fd >= 0)
			close(fd);
		return -1;
	}
	struct dirent *e;
	while (found < 0 && (e = readdir(d)) != NULL) {
		if (strncmp(e->d_name, base, m->baselen) != 0 ||
		    (e->d_name[m->baselen] != ':' && e->d_name[m->baselen] != ','))
			continue;
		struct buf b = BUF_INIT;
		buf_printf(&b, "cur/%s", e->d_name);
		free(m->name);
		m->name = buf_detach(&b);
		found = 0;
	}
	closedir(d);
	return found;
}

int maildrop_open_msg(struct maildrop *md, size_t i)
{
	int fd = openat(md->dirfd, md->m[i].name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0 && errno == ENOENT && relocate(md, &md->m[i]) == 0)
		fd = openat(md->dirfd, md->m[i].name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	return fd;
}

int maildrop_size(struct maildrop *md, size_t i, uint64_t *size)
{
	struct maildrop_msg *m = &md->m[i];
	if (!m->size_known) {
		int fd = maildrop_open_msg(md, i);
		if (fd < 0)
			return -1;
		int rc = maildrop_count_fd(fd, &m->size);
		close(fd);
		if (rc < 0)
			return -1;
		m->size_known = 1;
	}
	*size = m->size;
	return 0;
}

static int cmp_base_of(const void *pa, const void *pb)
{
	const struct maildrop_msg *a = *(const struct maildrop_msg *const *)pa;
	const struct maildrop_msg *b = *(const struct maildrop_msg *const *)pb;
	size_t n = a->baselen < b->baselen ? a->baselen : b->baselen;
	int c = memcmp(a->name + 4, b->name + 4, n);
	if (c)
		return c;
	return a->baselen < b->baselen ? -1 : a->baselen > b->baselen;
}

/* The listed message whose unique part is that of name, or NULL. */
static struct maildrop_msg *find_base(struct maildrop_msg **v, size_t n, const char *name)
{
	size_t len = strcspn(name, ":,");
	size_t lo = 0, hi = n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		const struct maildrop_msg *m = v[mid];
		size_t k = len < m->baselen ? len : m->baselen;
		int c = memcmp(name, m->name + 4, k);
		if (c == 0)
			c = len < m->baselen ? -1 : len > m->baselen;
		if (c == 0)
			return v[mid];
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return NULL;
}

int maildrop_use_imap_uids(struct maildrop *md, const char *path, struct buf *err)
{
	int lock = folder_lock(path);
	if (lock < 0) {
		buf_error(err, "%s: uidlist lock: %s", path, strerror(errno));
		return -1;
	}
	struct disk_msg *d = NULL;
	size_t nd = 0;
	uint32_t validity = 0, next = 0;
	int rc = folder_scan_flags(path, FOLDER_SCAN_KEEP_NEW, &validity, &next, &d, &nd);
	folder_unlock(lock);
	if (rc < 0) {
		buf_error(err, "%s: uidlist: %s", path, strerror(errno));
		return -1;
	}
	struct maildrop_msg **v = xreallocarray(NULL, md->n ? md->n : 1, sizeof *v);
	for (size_t i = 0; i < md->n; i++)
		v[i] = &md->m[i];
	if (md->n)
		qsort(v, md->n, sizeof *v, cmp_base_of);
	for (size_t i = 0; i < nd; i++) {
		struct maildrop_msg *m = find_base(v, md->n, d[i].name);
		if (m)
			m->uid = d[i].uid;
	}
	free(v);
	disk_msgs_free(d, nd);
	md->uidvalidity = validity;
	return 0;
}

void maildrop_uidl(const struct maildrop *md, size_t i, struct buf *out)
{
	const struct maildrop_msg *m = &md->m[i];
	const char *base = m->name + 4;
	if (md->uidvalidity && m->uid) {
		buf_reset(out);
		buf_printf(out, "%u.%u", (unsigned)md->uidvalidity, (unsigned)m->uid);
		return;
	}
	int ok = m->baselen > 0 && m->baselen <= MAILDROP_UIDL_MAX;
	for (size_t k = 0; ok && k < m->baselen; k++)
		ok = base[k] > 0x20 && base[k] < 0x7f;
	buf_reset(out);
	if (ok) {
		buf_append(out, base, m->baselen);
		return;
	}
	unsigned char md5[EVP_MAX_MD_SIZE];
	unsigned int len = 0;
	EVP_Digest(base, m->baselen, md5, &len, EVP_sha256(), NULL);
	for (unsigned k = 0; k < len && k < 16; k++)
		buf_printf(out, "%02x", md5[k]);
}

/* new/NAME -> cur/NAME:2,S (a retrieved message has been seen). */
static void mark_seen(struct maildrop *md, const struct maildrop_msg *m)
{
	struct buf to = BUF_INIT;
	buf_append_str(&to, "cur/");
	buf_append_str(&to, m->name + 4);
	if (strchr(m->name + 4, ':') == NULL)
		buf_append_str(&to, ":2,S");
	(void)renameat(md->dirfd, m->name, md->dirfd, buf_cstr(&to));
	buf_free(&to);
}

int maildrop_update(struct maildrop *md, struct buf *err)
{
	size_t failed = 0;
	for (size_t i = 0; i < md->n; i++) {
		struct maildrop_msg *m = &md->m[i];
		if (m->deleted) {
			int r = unlinkat(md->dirfd, m->name, 0);
			if (r < 0 && errno == ENOENT && relocate(md, m) == 0)
				r = unlinkat(md->dirfd, m->name, 0);
			if (r < 0 && errno != ENOENT)
				failed++;
		} else if (m->retrieved && strncmp(m->name, "new/", 4) == 0) {
			mark_seen(md, m);
		}
	}
	int fd;
	for (int k = 0; k < 2; k++)
		if ((fd = openat(md->dirfd, k ? "cur" : "new", O_RDONLY | O_DIRECTORY | O_CLOEXEC)) >= 0) {
			fsync(fd);
			close(fd);
		}
	if (failed) {
		buf_error(err, "%zu messages could not be deleted", failed);
		return -1;
	}
	return 0;
}
