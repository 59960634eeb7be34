/* uidlist: persistent UIDs of a Maildir folder, in "estafette-uidlist":
 *   E2 <uidvalidity> <uidnext> <highestmodseq> <vanished floor> <first recent>
 *   <uid> <modseq> <name>    (one line per message, ascending UIDs)
 *   X <uid> <modseq>         (an expunged message, for QRESYNC; bounded)
 * The name is the file's name in cur/ with its flags, so that the next scan
 * sees a flag change made by anyone (a rename) and gives the message the
 * next modseq (CONDSTORE, RFC 7162). The older "E1 <uidvalidity> <uidnext>"
 * list with lines "<uid> <base name>" is still read (modseq 1) and upgraded.
 * \Recent: UIDs from "first recent" on are not claimed yet; a claiming scan
 * reports them recent and moves it to uidnext (FOLDER_SCAN_PEEK does not).
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
	uint64_t modseq;   /* 0: changed, takes the next modseq */
	size_t full_len;   /* list entry: the name with flags at base (= base_len if none) */
};

static struct entry entry_make(uint32_t uid, const char *base, size_t base_len, char *name,
			       int recent)
{
	struct entry e = { uid, base, base_len, name, recent, 0, base_len };
	return e;
}

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

static void vanished_push(struct folder_info *fi, size_t *cap, uint32_t uid, uint64_t modseq)
{
	if (fi->nvanished == *cap) {
		*cap = *cap ? *cap * 2 : 16;
		fi->vanished = xreallocarray(fi->vanished, *cap, sizeof *fi->vanished);
	}
	fi->vanished[fi->nvanished++] = (struct uid_modseq){ uid, modseq };
}

/* One message line after its UID: E2 "<modseq> <name>", E1 "<name>". */
static int line_parse(char *p, char *nl, int v2, uint32_t uid, struct folder_info *fi,
		      struct entry *e)
{
	unsigned long long ms = 1;
	char *q = p;
	if (v2) {
		ms = strtoull(p, &q, 10);
		if (q == p || *q != ' ' || ms == 0)
			return -1;
		p = q + 1;
	}
	if (p >= nl)
		return -1;
	size_t full = (size_t)(nl - p), bl = full;
	char *colon = memchr(p, ':', full);
	if (colon != NULL)
		bl = (size_t)(colon - p);
	if (bl == 0)
		return -1;
	*e = entry_make(uid, p, bl, NULL, 0);
	e->modseq = ms;
	e->full_len = full;
	if (ms > fi->highestmodseq)
		fi->highestmodseq = ms;
	return 0;
}

/* Parse the list file text into entries; -1 if it is not a valid list. */
static int list_parse(struct buf *text, struct folder_info *fi, struct entry **v, size_t *n,
		      size_t *cap, size_t *vcap)
{
	char *p = text->data, *end = text->data + text->len;
	unsigned long a, b;
	unsigned long long h = 1, f = 0;
	unsigned long r = 0;
	int v2 = text->len > 3 && memcmp(text->data, "E2 ", 3) == 0, got = 0;
	if (buf_has_nul(text) ||
	    (v2 ? (got = sscanf(buf_cstr(text), "E2 %lu %lu %llu %llu %lu\n", &a, &b, &h, &f,
				&r)) < 4
		: sscanf(buf_cstr(text), "E1 %lu %lu\n", &a, &b) != 2) ||
	    a == 0 || b == 0 || a > UINT32_MAX || b >= UINT32_MAX || h == 0 || f > h)
		return -1;
	if (!v2 || got == 4)
		r = b; /* lists before \Recent was kept: nothing is unclaimed */
	if (r == 0 || r > b)
		return -1;
	fi->first_recent = (uint32_t)r;
	fi->uidvalidity = (uint32_t)a;
	fi->uidnext = (uint32_t)b;
	fi->highestmodseq = h;
	fi->vanished_floor = f;
	p = memchr(p, '\n', (size_t)(end - p));
	uint32_t last = 0;
	while (p != NULL && ++p < end) {
		char *nl = memchr(p, '\n', (size_t)(end - p)), *q;
		if (nl == NULL)
			return -1;
		if (v2 && p[0] == 'X' && p[1] == ' ') {
			unsigned long u = strtoul(p + 2, &q, 10);
			unsigned long long ms = *q == ' ' ? strtoull(q + 1, &q, 10) : 0;
			if (q != nl || u == 0 || u >= fi->uidnext || ms == 0 || ms > h)
				return -1;
			vanished_push(fi, vcap, (uint32_t)u, ms);
			p = nl;
			continue;
		}
		unsigned long u = strtoul(p, &q, 10);
		struct entry e;
		if (q == p || *q != ' ' || u <= last || u >= fi->uidnext ||
		    line_parse(q + 1, nl, v2, (uint32_t)u, fi, &e) < 0)
			return -1;
		last = (uint32_t)u;
		push(v, n, cap, e);
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
				push(v, n, cap, entry_make((uint32_t)u, name, bl, NULL, 0));
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
			push(v, n, cap, entry_make(0, name, strlen(name), name, 1));
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
		push(v, n, cap, entry_make(0, name, bl, name, in_new));
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

static int cmp_vanished_uid(const void *a, const void *b)
{
	const struct uid_modseq *x = a, *y = b;
	return x->uid < y->uid ? -1 : x->uid > y->uid;
}

static int cmp_vanished_modseq(const void *a, const void *b)
{
	const struct uid_modseq *x = a, *y = b;
	return x->modseq < y->modseq ? -1 : x->modseq > y->modseq;
}

/* Keep the newest FOLDER_MAX_VANISHED expunges; the floor rises past the
 * forgotten ones. Leaves them sorted by UID. */
static void vanished_trim(struct folder_info *fi)
{
	if (fi->nvanished > FOLDER_MAX_VANISHED) {
		size_t drop = fi->nvanished - FOLDER_MAX_VANISHED;
		qsort(fi->vanished, fi->nvanished, sizeof *fi->vanished, cmp_vanished_modseq);
		fi->vanished_floor = fi->vanished[drop - 1].modseq;
		memmove(fi->vanished, fi->vanished + drop,
			FOLDER_MAX_VANISHED * sizeof *fi->vanished);
		fi->nvanished = FOLDER_MAX_VANISHED;
	}
	if (fi->nvanished > 1)
		qsort(fi->vanished, fi->nvanished, sizeof *fi->vanished, cmp_vanished_uid);
}

static void list_write(const char *path, const struct folder_info *fi, const struct entry *v,
		       size_t n)
{
	struct buf text = BUF_INIT, p = BUF_INIT;
	buf_printf(&text, "E2 %lu %lu %llu %llu %lu\n", (unsigned long)fi->uidvalidity,
		   (unsigned long)fi->uidnext, (unsigned long long)fi->highestmodseq,
		   (unsigned long long)fi->vanished_floor, (unsigned long)fi->first_recent);
	for (size_t i = 0; i < n; i++) {
		buf_printf(&text, "%lu %llu ", (unsigned long)v[i].uid,
			   (unsigned long long)v[i].modseq);
		buf_append_str(&text, v[i].name);
		buf_append_char(&text, '\n');
	}
	for (size_t i = 0; i < fi->nvanished; i++)
		buf_printf(&text, "X %lu %llu\n", (unsigned long)fi->vanished[i].uid,
			   (unsigned long long)fi->vanished[i].modseq);
	buf_printf(&p, "%s/%s", path, UIDLIST);
	(void)file_replace(buf_cstr(&p), text.data, text.len, 0600);
	buf_free(&text);
	buf_free(&p);
}

/* Whether the disk name differs from the list's (a flag change); a list
 * entry without flags (E1, foreign) never differs. */
static int name_changed(const struct entry *d, const struct entry *l)
{
	if (l->full_len == l->base_len)
		return 0;
	return strlen(d->name) != l->full_len || memcmp(d->name, l->base, l->full_len) != 0;
}

/* Give each disk entry its UID and modseq from the list (both sorted by
 * base); new ones get uid 0. Entries of the list not on disk are expunged:
 * they go to fi's vanished list with modseq 0 (set by the caller). Returns 1
 * if the list lost entries or names changed. */
static int merge(struct entry *disk, size_t nd, const struct entry *list, size_t nl,
		 struct folder_info *fi, size_t *vcap)
{
	size_t i = 0, j = 0;
	int changed = 0;
	while (j < nl) {
		int c = i < nd ? cmp_base(&disk[i], &list[j]) : 1;
		if (c == 0) {
			disk[i].uid = list[j].uid;
			disk[i].modseq = name_changed(&disk[i], &list[j]) ? 0 : list[j].modseq;
			/* an entry without flags gets them written (E1 upgrade) */
			changed |= disk[i].modseq == 0 || (list[j].full_len == list[j].base_len &&
							   strlen(disk[i].name) != list[j].base_len);
			i++;
			while (i < nd && cmp_base(&disk[i], &list[j]) == 0)
				i++; /* the same message twice: the first name wins */
			j++;
		} else if (c < 0) {
			i++;
		} else {
			vanished_push(fi, vcap, list[j++].uid, 0);
			changed = 1;
		}
	}
	return changed;
}

/* A UIDVALIDITY for a new list: the time, but above every value this
 * maildir handed out before (kept in its root's "estafette-uidvalidity"), so
 * a folder deleted and created again within a second gets a new one. */
static uint32_t new_validity(const char *path)
{
	struct buf p = BUF_INIT, text = BUF_INIT;
	uint32_t v = (uint32_t)time(NULL);
	buf_printf(&p, "%s/maildirfolder", path);
	int sub = access(buf_cstr(&p), F_OK) == 0;
	buf_reset(&p);
	buf_printf(&p, "%s%s/estafette-uidvalidity", path, sub ? "/.." : "");
	if (file_read(buf_cstr(&p), &text, 64) == 0 && !buf_has_nul(&text)) {
		unsigned long last = strtoul(buf_cstr(&text), NULL, 10);
		if (last >= v && last < UINT32_MAX - 1)
			v = (uint32_t)last + 1;
	}
	buf_reset(&text);
	buf_printf(&text, "%lu\n", (unsigned long)v);
	(void)file_replace(buf_cstr(&p), text.data, text.len, 0600);
	buf_free(&p);
	buf_free(&text);
	return v;
}

/* Read the list, or a foreign one, or start a new one; 1 if it must be
 * written. */
static int list_load(const char *path, struct buf *text, struct folder_info *fi,
		     struct entry **v, size_t *n, size_t *cap, size_t *vcap)
{
	struct buf lp = BUF_INIT;
	buf_printf(&lp, "%s/%s", path, UIDLIST);
	int have = file_read(buf_cstr(&lp), text, UIDLIST_MAX) == 0, dirty = 0;
	buf_free(&lp);
	if (!have || list_parse(text, fi, v, n, cap, vcap) < 0) {
		*n = 0;
		fi->nvanished = 0;
		fi->highestmodseq = 1;
		fi->vanished_floor = 0;
		fi->first_recent = 1; /* a new list: every message is new to IMAP */
		dirty = 1;
		if (have || import_foreign(path, text, &fi->uidvalidity, &fi->uidnext, v, n,
					   cap) < 0) {
			*n = 0;
			fi->uidvalidity = new_validity(path);
			fi->uidnext = 1;
		}
		for (size_t i = 0; i < *n; i++)
			(*v)[i].modseq = 1;
	}
	return dirty;
}

/* Whether the unknown messages would run past the last UID. */
static int uids_exhausted(const struct entry *disk, size_t nd, const struct folder_info *fi)
{
	uint64_t unknown = 0;
	for (size_t i = 0; i < nd; i++)
		unknown += disk[i].uid == 0;
	return (uint64_t)fi->uidnext + unknown >= UINT32_MAX - 1;
}

/* RFC 3501 2.3.1.1: UIDs cannot go on ascending: a new UIDVALIDITY and
 * every message numbered again from 1. */
static void renumber(const char *path, struct entry *disk, size_t nd, struct folder_info *fi)
{
	uint32_t old = fi->uidvalidity;
	fi->uidvalidity = new_validity(path);
	if (fi->uidvalidity == old)
		fi->uidvalidity = old + 1 ? old + 1 : 1;
	fi->uidnext = 1;
	fi->first_recent = 1;
	fi->nvanished = 0;
	fi->vanished_floor = 0;
	for (size_t i = 0; i < nd; i++) {
		disk[i].uid = 0;
		disk[i].modseq = 0;
	}
}

/* Drop repeated messages, number the unknown ones; sets *dirty. */
static size_t assign(struct entry *disk, size_t nd, uint32_t *next, int keep_new, int *dirty)
{
	size_t k = 0;
	struct entry prev = entry_make(0, "", 0, NULL, 0);
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

/* New and changed messages and this scan's expunges take the next modseq. */
static int bump_modseqs(struct entry *disk, size_t nd, struct folder_info *fi)
{
	int dirty = 0, bumped = 0;
	for (size_t i = 0; i < nd; i++)
		if (disk[i].modseq == 0) {
			disk[i].modseq = ++fi->highestmodseq;
			dirty = 1;
		}
	for (size_t i = 0; i < fi->nvanished; i++)
		if (fi->vanished[i].modseq == 0) {
			if (!bumped++)
				++fi->highestmodseq;
			fi->vanished[i].modseq = fi->highestmodseq;
			dirty = 1;
		}
	return dirty;
}

int folder_scan_info(const char *path, unsigned flags, struct folder_info *fi,
		     struct disk_msg **out, size_t *count)
{
	struct buf text = BUF_INIT;
	struct entry *list = NULL, *disk = NULL, *moved = NULL;
	size_t nl = 0, capl = 0, nd = 0, capd = 0, nm = 0, capm = 0, vcap = 0;
	int keep = (flags & FOLDER_SCAN_KEEP_NEW) != 0;
	memset(fi, 0, sizeof *fi);
	fi->uidnext = 1;
	int dirty = list_load(path, &text, fi, &list, &nl, &capl, &vcap);
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
	dirty |= merge(disk, nd, list, nl, fi, &vcap);
	if (uids_exhausted(disk, nd, fi)) {
		renumber(path, disk, nd, fi);
		dirty = 1;
	}
	nd = assign(disk, nd, &fi->uidnext, keep, &dirty);
	if (nd > 1)
		qsort(disk, nd, sizeof *disk, cmp_uid);
	dirty |= bump_modseqs(disk, nd, fi);
	/* \Recent: unclaimed UIDs, and what this scan moved from new/ (pop3d's
	 * KEEP_NEW scans number messages in place and claim the others). */
	for (size_t i = 0; !keep && i < nd; i++)
		disk[i].recent |= disk[i].uid >= fi->first_recent;
	if (!(flags & FOLDER_SCAN_PEEK) && fi->first_recent != fi->uidnext) {
		fi->first_recent = fi->uidnext;
		dirty = 1;
	}
	vanished_trim(fi);
	if (dirty)
		list_write(path, fi, disk, nd);
	*out = xcalloc(nd ? nd : 1, sizeof **out);
	for (size_t i = 0; i < nd; i++)
		(*out)[i] = (struct disk_msg){ disk[i].uid, disk[i].name, disk[i].recent,
					       disk[i].modseq };
	*count = nd;
	free(list);
	free(disk);
	buf_free(&text);
	return 0;
}

void folder_info_free(struct folder_info *fi)
{
	free(fi->vanished);
	fi->vanished = NULL;
	fi->nvanished = 0;
}

int folder_scan_flags(const char *path, unsigned flags, uint32_t *uidvalidity,
		      uint32_t *uidnext, struct disk_msg **out, size_t *count)
{
	struct folder_info fi;
	int rc = folder_scan_info(path, flags, &fi, out, count);
	*uidvalidity = fi.uidvalidity;
	*uidnext = fi.uidnext;
	folder_info_free(&fi);
	return rc;
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
