/* cache: what FETCH needs of each message, by UID, in the folder's
 * "estafette-cache", so that reopening a large mailbox reads no message file:
 *   EC2 <uidvalidity>
 *   <uid> <size> <mtime> <envelope length> <bodystructure length>
 *   <envelope bytes><bodystructure bytes>
 * (a size or mtime of -1 is unknown, a length of 0 absent), records in
 * ascending UID order. A message file never changes once delivered, so a
 * record stays true as long as its UID and the UIDVALIDITY do. The file is
 * mapped read-only; new entries are written at close with file_replace.
 * EC1 files (ENVELOPEs without address groups) are ignored and rewritten.
 * Trusts: the file is the account's own; still every length is checked
 * against the file's size and a malformed file is ignored from there on. */
#include "imapd.h"

#include "alloc.h"
#include "file.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#define CACHE_FILE "estafette-cache"
#define CACHE_MAX_FILE ((size_t)1 << 31)
#define CACHE_MAX_ITEM (1024 * 1024)

static void cache_path(const struct mailbox *mb, struct buf *p)
{
	buf_printf(p, "%s/%s", mb->path, CACHE_FILE);
}

static void *map_file(const struct mailbox *mb, size_t *size)
{
	struct buf p = BUF_INIT;
	struct stat st;
	void *map = NULL;
	cache_path(mb, &p);
	int fd = open(buf_cstr(&p), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	buf_free(&p);
	if (fd < 0)
		return NULL;
	if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_size > 0 &&
	    (uint64_t)st.st_size <= CACHE_MAX_FILE) {
		map = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
		if (map == MAP_FAILED)
			map = NULL;
		else
			*size = (size_t)st.st_size;
	}
	close(fd);
	return map;
}

/* One record at *off; 0, or -1 if malformed or at the end. */
static int read_record(const char *d, size_t size, size_t *off, unsigned long long v[5],
		       const char **data)
{
	char line[128];
	const char *nl = memchr(d + *off, '\n', size - *off);
	if (nl == NULL || (size_t)(nl - (d + *off)) >= sizeof line)
		return -1;
	memcpy(line, d + *off, (size_t)(nl - (d + *off)));
	line[nl - (d + *off)] = '\0';
	long long sz, mt;
	if (sscanf(line, "%llu %lld %lld %llu %llu", &v[0], &sz, &mt, &v[3], &v[4]) != 5 ||
	    v[3] > CACHE_MAX_ITEM || v[4] > CACHE_MAX_ITEM || v[0] == 0 || v[0] > UINT32_MAX)
		return -1;
	v[1] = (unsigned long long)sz;
	v[2] = (unsigned long long)mt;
	size_t start = (size_t)(nl - d) + 1;
	if (size - start < v[3] + v[4] + 1 || d[start + v[3] + v[4]] != '\n')
		return -1;
	*data = d + start;
	*off = start + (size_t)(v[3] + v[4]) + 1;
	return 0;
}

static void apply_record(struct msg *m, const unsigned long long v[5], const char *data)
{
	if ((long long)v[1] >= 0 && !m->have_size) {
		m->size = v[1];
		m->have_size = 1;
	}
	if ((long long)v[2] >= 0 && !m->have_mtime) {
		m->mtime = (time_t)(long long)v[2];
		m->have_mtime = 1;
	}
	if (v[3] > 0 && m->env == NULL) {
		m->env = data;
		m->env_len = (uint32_t)v[3];
	}
	if (v[4] > 0 && m->bs == NULL) {
		m->bs = data + v[3];
		m->bs_len = (uint32_t)v[4];
	}
}

void cache_load(struct mailbox *mb)
{
	size_t size = 0, off, i = 0;
	unsigned long validity;
	const char *d = mb->cache_map = map_file(mb, &size);
	mb->cache_size = size;
	if (d == NULL)
		return;
	const char *nl = memchr(d, '\n', size < 64 ? size : 64);
	if (nl == NULL || sscanf(d, "EC2 %lu\n", &validity) != 1 || validity != mb->uidvalidity)
		return;
	off = (size_t)(nl - d) + 1;
	unsigned long long v[5];
	const char *data;
	while (off < size && i < mb->count && read_record(d, size, &off, v, &data) == 0) {
		while (i < mb->count && mb->msgs[i].uid < v[0])
			i++;
		if (i < mb->count && mb->msgs[i].uid == v[0])
			apply_record(&mb->msgs[i], v, data);
	}
}

/* Replace the cache file without fsync: it is only a cache (a crash may lose
 * it or leave the old one, both fine), and an fsync of megabytes would cost
 * more than the FETCH it speeds up. Readers see the old or the new file. */
static void write_cache(const char *path, const struct buf *text)
{
	struct buf tmp = BUF_INIT;
	buf_printf(&tmp, "%s.tmp.%ld", path, (long)getpid());
	int fd = open(buf_cstr(&tmp), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd >= 0) {
		int ok = file_write_all(fd, text->data ? text->data : "", text->len) == 0;
		ok = close(fd) == 0 && ok;
		if (!ok || rename(buf_cstr(&tmp), path) < 0)
			unlink(buf_cstr(&tmp));
	}
	buf_free(&tmp);
}

void cache_save(struct mailbox *mb)
{
	struct buf text = BUF_INIT, p = BUF_INIT;
	if (!mb->cache_dirty)
		return;
	buf_printf(&text, "EC2 %lu\n", (unsigned long)mb->uidvalidity);
	for (size_t i = 0; i < mb->count; i++) {
		const struct msg *m = &mb->msgs[i];
		if (m->gone || !(m->have_size || m->have_mtime || m->env || m->bs))
			continue;
		buf_printf(&text, "%lu %lld %lld %lu %lu\n", (unsigned long)m->uid,
			   m->have_size ? (long long)m->size : -1LL,
			   m->have_mtime ? (long long)m->mtime : -1LL,
			   m->env ? (unsigned long)m->env_len : 0UL,
			   m->bs ? (unsigned long)m->bs_len : 0UL);
		if (m->env)
			buf_append(&text, m->env, m->env_len);
		if (m->bs)
			buf_append(&text, m->bs, m->bs_len);
		buf_append_char(&text, '\n');
	}
	cache_path(mb, &p);
	if (text.len <= CACHE_MAX_FILE)
		write_cache(buf_cstr(&p), &text);
	mb->cache_dirty = 0;
	buf_free(&text);
	buf_free(&p);
}

void cache_unmap(struct mailbox *mb)
{
	if (mb->cache_map != NULL)
		munmap(mb->cache_map, mb->cache_size);
	mb->cache_map = NULL;
	mb->cache_size = 0;
}

void cache_free_msg(struct msg *m)
{
	if (m->env_owned)
		free((char *)m->env);
	if (m->bs_owned)
		free((char *)m->bs);
	m->env = m->bs = NULL;
	m->env_owned = m->bs_owned = 0;
}
