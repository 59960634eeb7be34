/* uidlist: persistent UIDs of a Maildir folder, in "estafette-uidlist":
 *   E1 <uidvalidity> <uidnext>
 *   <uid> <base name>        (one line per message, ascending UIDs)
 * A scan, under the folder's lock (flock on "estafette-uidlist.lock"), moves
 * new/ to cur/ (a rename race with another session is harmless: whoever loses
 * finds the file in cur/), lists cur/, gives unknown messages the next UIDs
 * and rewrites the list atomically (file_replace) when it changed. UIDs are
 * keyed by the base name (before ':'), so a scan with FOLDER_SCAN_KEEP_NEW
 * (pop3d) can number messages still in new/ without renaming them, and the
 * scan that later moves them keeps their UIDs and reports them as recent.
 * Trusts nothing in the folder: names are checked with mdflags, the list file
 * is bounded and a malformed one is rebuilt with a new UIDVALIDITY. */
#include "uidlist.h"

#include "alloc.h"
#include "buf.h"
#include "file.h"
#include "mdflags.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <time.h>
#include <unistd.h>

#define UIDLIST "estafette-uidlist"
#define UIDLIST_MAX (512 * 1024 * 1024)

int folder_lock(const char *path)
{
	struct buf p = BUF_INIT;
	buf_printf(&p, "%s/%s.lock", path, UIDLIST);
	int fd = open(buf_cstr(&p), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	buf_free(&p);
	if (fd < 0)
		return -1;
	while (flock(fd, LOCK_EX) < 0) {
		if (errno != EINTR) {
			close(fd);
			return -1;
		}
	}
	return fd;
}

void folder_unlock(int fd)
{
	if (fd >= 0)
		close(fd);
}

struct entry {
	uint32_t uid;
	const char *base;  /* into the list file's text or the name */
	size_t base_len;
	char *name;        /* the file in cur/; NULL for a list entry */
	int recent;
};

static size_t base_len_of(const char *name)
{
	const char *colon = strchr(name, ':');
	return colon ? (size_t)(colon - name) : strlen(name);
}

static int cmp_base(const void *a, const void *b)
{
	const struct entry *x = a, *y = b;
	size_t n = x->base_len < y->base_len ? x->base_len : y->base_len;
	int c = memcmp(x->base, y->base, n);
	if (c != 0)
		return c;
	return x->base_len < y->base_len ? -1 : x->base_len > y->base_len;
}

static int cmp_uid(const void *a, const void *b)
{
	const struct entry *x = a, *y = b;
	return x->uid < y->uid ? -1 : x->uid > y->uid;
}

static void push(struct entry **v, size_t *n, size_t *cap, struct entry e)
{
	if (*n == *cap) {
		*cap = *cap ? *cap * 2 : 64;
		*v = xreallocarray(*v, *cap, sizeof **v);
	}
	(*v)[(*n)++] = e;
}

/* Parse the list file text into entries; -1 if it is not a valid list. */
static int list_parse(struct buf *text, uint32_t *validity, uint32_t *next, struct entry **v,
		      size_t *n, size_t *cap)
{
	char *p = text->data, *end = text->data + text->len;
	unsigned long a, b;
	if (buf_has_nul(text) || sscanf(buf_cstr(text), "E1 %lu %lu\n", &a, &b) != 2 || a == 0 ||
	    b == 0 || a > UINT32_MAX || b >= UINT32_MAX)
		return -1;
	*validity = (uint32_t)a;
	*next = (uint32_t)b;
	p = memchr(p, '\n', (size_t)(end - p));
	uint32_t last = 0;
	while (p != NULL && ++p < end) {
		char *nl = memchr(p, '\n', (size_t)(end - p));
		char *sp = memchr(p, ' ', nl ? (size_t)(nl - p) : (size_t)(end - p));
		if (nl == NULL || sp == NULL)
			return -1;
		char *q;
		unsigned long u = strtoul(p, &q, 10);
		if (q != sp || u <= last || u >= *next || sp + 1 == nl)
			return -1;
		last = (uint32_t)u;
		push(v, n, cap, (struct entry){ (uint32_t)u, sp + 1, (size_t)(nl - sp - 1), NULL, 0 });
		p = nl;
	}
	return 0;
}

/* A foreign list: Dovecot's dovecot-uidlist (version 3: "3 V<validity>
 * N<next> ...", lines "<uid> [fields] :<name>"; version 1: "1 <validity>
 * <next>", lines "<uid> <name>"), which is also the layout of Courier's
 * courierimapuiddb. Names lose their ":2,..." info. Lines that do not parse
 * are skipped; UIDs must ascend. -1 if the header is not understood. */
static int foreign_parse(struct buf *text, uint32_t *validity, uint32_t *next,
			 struct entry **v, size_t *n, size_t *cap)
{
	unsigned long a = 0, b = 0;
	if (buf_has_nul(text) || (sscanf(buf_cstr(text), "3 V%lu N%lu", &a, &b) != 2 &&
				  sscanf(buf_cstr(text), "1 %lu %lu", &a, &b) != 2) ||
	    a == 0 || a > UINT32_MAX || b == 0 || b >= UINT32_MAX)
		return -1;
	char *p = memchr(text->data, '\n', text->len), *end = text->data + text->len;
	uint32_t last = 0;
	while (p != NULL && ++p < end) {
		char *nl = memchr(p, '\n', (size_t)(end - p)), *q;
		if (nl == NULL)
			break;
		unsigned long u = strtoul(p, &q, 10);
		char *name = NULL;
		for (char *x = nl; x > q; x--)
			if (x[-1] == ' ' || x[-1] == ':') {
				name = x;
				break;
			}
		if (q != p && u > last && u < b && name != NULL && name < nl) {
			size_t bl = (size_t)(nl - name);
			char *colon = memchr(name, ':', bl);
			if (colon != NULL)
				bl = (size_t)(colon - name);
			if (bl > 0) {
				last = (uint32_t)u;
				push(v, n, cap, (struct entry){ (uint32_t)u, name, bl, NULL, 0 });
			}
		}
		p = nl;
	}
	*validity = (uint32_t)a;
	*next = (uint32_t)b;
	return 0;
}

/* No list of our own: take over Dovecot's or Courier's UIDs if there are. */
static int import_foreign(const char *path, struct buf *text, uint32_t *validity,
			  uint32_t *next, struct entry **v, size_t *n, size_t *cap)
{
	static const char *const names[] = { "dovecot-uidlist", "courierimapuiddb" };
	struct buf p = BUF_INIT;
	int rc = -1;
	for (size_t i = 0; i < 2 && rc < 0; i++) {
		buf_reset(&p);
		buf_printf(&p, "%s/%s", path, names[i]);
		*n = 0;
		if (file_read(buf_cstr(&p), text, UIDLIST_MAX) == 0)
			rc = foreign_parse(text, validity, next, v, n, cap);
	}
	buf_free(&p);
	return rc;
}

/* Move everything in new/ to cur/ (name + ":2,"); what this scan moved
 * (and no other session did first) is recent. */
static void move_new(const char *path, struct entry **v, size_t *n, size_t *cap)
{
	struct buf nd = BUF_INIT, from = BUF_INIT, to = BUF_INIT;
	buf_printf(&nd, "%s/new", path);
	DIR *d = opendir(buf_cstr(&nd));
	struct dirent *de;
	while (d != NULL && (de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.' || strchr(de->d_name, ':') != NULL)
			continue;
		struct mdflags_name mn;
		if (mdflags_name_parse(&mn, de->d_name, strlen(de->d_name)) < 0 ||
		    strlen(de->d_name) + 3 > MDFLAGS_NAME_MAX)
			continue;
		buf_reset(&from);
		buf_reset(&to);
		buf_printf(&from, "%s/new/%s", path, de->d_name);
		buf_printf(&to, "%s/cur/%s:2,", path, de->d_name);
		if (rename(buf_cstr(&from), buf_cstr(&to)) == 0) {
			char *name = xstrdup(de->d_name);
			push(v, n, cap, (struct entry){ 0, name, strlen(name), name, 1 });
		}
	}
	if (d != NULL)
		closedir(d);
	buf_free(&nd);
	buf_free(&from);
	buf_free(&to);
}

/* Mark the disk entries that move_new moved (both sorted by base) recent. */
static void mark_moved(struct entry *disk, size_t nd, struct entry *moved, size_t nm)
{
	size_t i = 0, j = 0;
	while (i < nd && j < nm) {
		int c = cmp_base(&disk[i], &moved[j]);
		if (c == 0)
			disk[i++].recent = 1;
		else if (c < 0)
			i++;
		else
			j++;
	}
	for (j = 0; j < nm; j++)
		free(moved[j].name);
	free(moved);
}

/* List cur/ or new/ (sub); in_new marks the entries as found in new/. */
static void list_dir(const char *path, const char *sub, int in_new, struct entry **v, size_t *n,
		     size_t *cap)
{
	struct buf cd = BUF_INIT;
	buf_printf(&cd, "%s/%s", path, sub);
	DIR *d = opendir(buf_cstr(&cd));
	struct dirent *de;
	while (d != NULL && (de = readdir(d)) != NULL) {
		struct mdflags_name mn;
		if (de->d_name[0] == '.' ||
		    mdflags_name_parse(&mn, de->d_name, strlen(de->d_name)) < 0)
			continue;
		char *name = xstrdup(de->d_name);
		size_t bl = base_len_of(name);
		push(v, n, cap, (struct entry){ 0, name, bl, name, in_new });
	}
	if (d != NULL)
		closedir(d);
	buf_free(&cd);
}

/* Disk entries by base; of the same message listed twice (moved from new/
 * to cur/ while listing), the one in cur/ sorts first and wins. */
static int cmp_disk(const void *a, const void *b)
{
	const struct entry *x = a, *y = b;
	int c = cmp_base(a, b);
	return c != 0 ? c : x->recent - y->recent;
}

static void list_write(const char *path, uint32_t validity, uint32_t next,
		       const struct entry *v, size_t n)
{
	struct buf text = BUF_INIT, p = BUF_INIT;
	buf_printf(&text, "E1 %lu %lu\n", (unsigned long)validity, (unsigned long)next);
	for (size_t i = 0; i < n; i++) {
		buf_printf(&text, "%lu ", (unsigned long)v[i].uid);
		buf_append(&text, v[i].base, v[i].base_len);
		buf_append_char(&text, '\n');
	}
	buf_printf(&p, "%s/%s", path, UIDLIST);
	(void)file_replace(buf_cstr(&p), text.data, text.len, 0600);
	buf_free(&text);
	buf_free(&p);
}

/* Give each disk entry its UID from the list (both sorted by base); new ones
 * get uid 0. Returns 1 if the list lost entries. */
static int merge(struct entry *disk, size_t nd, const struct entry *list, size_t nl)
{
	size_t i = 0, j = 0, matched = 0;
	while (i < nd && j < nl) {
		int c = cmp_base(&disk[i], &list[j]);
		if (c == 0) {
			disk[i++].uid = list[j].uid;
			matched++;
			while (i < nd && cmp_base(&disk[i], &list[j]) == 0)
				i++; /* the same message twice: the first name wins */
			j++;
		} else if (c < 0) {
			i++;
		} else {
			j++;
		}
	}
	return matched != nl;
}

/* Read the list, or a foreign one, or start a new one; 1 if it must be
 * written. */
static int list_load(const char *path, struct buf *text, uint32_t *validity, uint32_t *next,
		     struct entry **v, size_t *n, size_t *cap)
{
	struct buf lp = BUF_INIT;
	buf_printf(&lp, "%s/%s", path, UIDLIST);
	int have = file_read(buf_cstr(&lp), text, UIDLIST_MAX) == 0, dirty = 0;
	buf_free(&lp);
	if (!have || list_parse(text, validity, next, v, n, cap) < 0) {
		*n = 0;
		dirty = 1;
		if (have || import_foreign(path, text, validity, next, v, n, cap) < 0) {
			*n = 0;
			*validity = (uint32_t)time(NULL);
			*next = 1;
		}
	}
	return dirty;
}

/* Drop repeated messages, number the unknown ones; sets *dirty. */
static size_t assign(struct entry *disk, size_t nd, uint32_t *next, int keep_new, int *dirty)
{
	size_t k = 0;
	struct entry prev = { 0, "", 0, NULL, 0 };
	for (size_t i = 0; i < nd; i++) {
		if (k > 0 && cmp_base(&disk[i], &prev) == 0) {
			free(disk[i].name);
			continue;
		}
		if (disk[i].uid == 0 && *next < UINT32_MAX - 1) {
			disk[i].uid = (*next)++;
			disk[i].recent |= !keep_new; /* keep_new: recent = in new/ */
			*dirty = 1;
		}
		if (disk[i].uid != 0) {
			prev = disk[i];
			disk[k++] = disk[i];
		} else
			free(disk[i].name);
	}
	return k;
}

int folder_scan_flags(const char *path, unsigned flags, uint32_t *uidvalidity,
		      uint32_t *uidnext, struct disk_msg **out, size_t *count)
{
	struct buf text = BUF_INIT;
	struct entry *list = NULL, *disk = NULL, *moved = NULL;
	size_t nl = 0, capl = 0, nd = 0, capd = 0, nm = 0, capm = 0;
	uint32_t validity = 0, next = 1;
	int keep = (flags & FOLDER_SCAN_KEEP_NEW) != 0;
	int dirty = list_load(path, &text, &validity, &next, &list, &nl, &capl);
	if (keep)
		list_dir(path, "new", 1, &disk, &nd, &capd);
	else
		move_new(path, &moved, &nm, &capm);
	list_dir(path, "cur", 0, &disk, &nd, &capd);
	if (nd > 1)
		qsort(disk, nd, sizeof *disk, cmp_disk);
	if (nl > 1)
		qsort(list, nl, sizeof *list, cmp_base);
	if (nm > 1)
		qsort(moved, nm, sizeof *moved, cmp_base);
	mark_moved(disk, nd, moved, nm);
	dirty |= merge(disk, nd, list, nl);
	nd = assign(disk, nd, &next, keep, &dirty);
	if (nd > 1)
		qsort(disk, nd, sizeof *disk, cmp_uid);
	if (dirty)
		list_write(path, validity, next, disk, nd);
	*out = xcalloc(nd ? nd : 1, sizeof **out);
	for (size_t i = 0; i < nd; i++)
		(*out)[i] = (struct disk_msg){ disk[i].uid, disk[i].name, disk[i].recent };
	*count = nd;
	*uidvalidity = validity;
	*uidnext = next;
	free(list);
	free(disk);
	buf_free(&text);
	return 0;
}

int folder_scan(const char *path, uint32_t *uidvalidity, uint32_t *uidnext,
		struct disk_msg **out, size_t *count)
{
	return folder_scan_flags(path, 0, uidvalidity, uidnext, out, count);
}

void disk_msgs_free(struct disk_msg *d, size_t count)
{
	for (size_t i = 0; i < count; i++)
		free(d[i].name);
	free(d);
}
