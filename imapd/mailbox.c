/* mailbox: the selected folder as this session sees it, kept in step with
 * the disk. A sync rescans (uidlist.c) and reports what other sessions and
 * deliveries changed: EXISTS and RECENT for new messages, FETCH FLAGS for
 * flag changes, EXPUNGE for messages gone (only where IMAP allows it; until
 * then they stay in the view, marked gone). Message files are found again by
 * their base name when another session renamed them to change flags. */
#include "imapd.h"

#include "alloc.h"
#include "file.h"
#include "mime.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static void msg_flags_from_name(struct msg *m)
{
	struct mdflags_name mn;
	memset(&m->flags, 0, sizeof m->flags);
	if (mdflags_name_parse(&mn, m->name, strlen(m->name)) == 0)
		m->flags = mn.flags;
}

static void push_msg(struct mailbox *mb, const struct disk_msg *d)
{
	if (mb->count == mb->cap) {
		mb->cap = mb->cap ? mb->cap * 2 : 64;
		mb->msgs = xreallocarray(mb->msgs, mb->cap, sizeof *mb->msgs);
	}
	struct msg *m = &mb->msgs[mb->count++];
	memset(m, 0, sizeof *m);
	m->uid = d->uid;
	m->name = xstrdup(d->name);
	m->recent = d->recent != 0;
	m->modseq = d->modseq;
	msg_flags_from_name(m);
}

/* Keep the scan's modseq state in the mailbox (takes fi's vanished list). */
static void take_info(struct mailbox *mb, struct folder_info *fi)
{
	free(mb->vanished);
	mb->uidvalidity = fi->uidvalidity;
	mb->uidnext = fi->uidnext;
	mb->highestmodseq = fi->highestmodseq;
	mb->vanished_floor = fi->vanished_floor;
	mb->vanished = fi->vanished;
	mb->nvanished = fi->nvanished;
	fi->vanished = NULL;
	fi->nvanished = 0;
}

/* The modification times of new/ and cur/: any delivery, flag change or
 * expunge renames, creates or removes an entry there and moves them. */
static void dir_times(const char *path, struct timespec *n, struct timespec *c)
{
	struct buf p = BUF_INIT;
	struct stat st;
	buf_printf(&p, "%s/new", path);
	memset(n, 0, sizeof *n);
	memset(c, 0, sizeof *c);
	if (stat(buf_cstr(&p), &st) == 0)
		*n = st.st_mtim;
	buf_reset(&p);
	buf_printf(&p, "%s/cur", path);
	if (stat(buf_cstr(&p), &st) == 0)
		*c = st.st_mtim;
	buf_free(&p);
}

static int same_time(const struct timespec *a, const struct timespec *b)
{
	return a->tv_sec == b->tv_sec && a->tv_nsec == b->tv_nsec;
}

struct mailbox *mailbox_open(struct session *s, const char *path, const char *name,
			     int readonly)
{
	struct disk_msg *d;
	size_t n;
	struct mailbox *mb = xcalloc(1, sizeof *mb);
	mb->path = xstrdup(path);
	mb->name = xstrdup(name);
	mb->readonly = readonly;
	int fd = folder_lock(path);
	if (fd < 0) {
		mailbox_close(mb);
		return NULL;
	}
	struct folder_info fi;
	dir_times(path, &mb->new_mtime, &mb->cur_mtime); /* before the scan: see later changes */
	folder_scan_info(path, readonly ? FOLDER_SCAN_PEEK : 0, &fi, &d, &n);
	folder_unlock(fd);
	take_info(mb, &fi);
	for (size_t i = 0; i < n; i++)
		push_msg(mb, &d[i]);
	disk_msgs_free(d, n);
	keywords_load(mb);
	cache_load(mb);
	(void)s;
	return mb;
}

void mailbox_close(struct mailbox *mb)
{
	if (mb == NULL)
		return;
	cache_save(mb);
	for (size_t i = 0; i < mb->count; i++) {
		free(mb->msgs[i].name);
		cache_free_msg(&mb->msgs[i]);
	}
	cache_unmap(mb);
	for (int i = 0; i < IMAPD_KEYWORDS; i++)
		free(mb->keywords[i]);
	free(mb->msgs);
	free(mb->vanished);
	seqset_free(&mb->saved);
	free(mb->path);
	free(mb->name);
	free(mb);
}

static void report_flags(struct session *s, size_t seq, struct msg *m)
{
	out_fmt(s, "* %zu FETCH (", seq);
	if (s->uid || s->qresync) /* RFC 7162 3.2.4: QRESYNC FETCH replies carry the UID */
		out_fmt(s, "UID %lu ", (unsigned long)m->uid);
	out_str(s, "FLAGS ");
	out_flags(s, s->sel, &m->flags, m->recent);
	if (s->condstore)
		out_fmt(s, " MODSEQ (%llu)", (unsigned long long)m->modseq);
	out_str(s, ")\r\n");
}

void condstore_enable(struct session *s)
{
	if (!s->condstore && s->sel != NULL)
		out_fmt(s, "* OK [HIGHESTMODSEQ %llu] Modseqs enabled\r\n",
			(unsigned long long)s->sel->highestmodseq);
	s->condstore = 1;
}

/* The UIDs the mailbox lacks in [lo, hi] (below UIDNEXT), as ranges. */
static void gaps(const struct mailbox *mb, uint32_t lo, uint32_t hi, struct buf *out)
{
	size_t k = 0, lo_i = 0, hi_i = mb->count;
	if (hi >= mb->uidnext)
		hi = mb->uidnext - 1;
	while (lo_i < hi_i) { /* the first message with uid >= lo */
		size_t mid = lo_i + (hi_i - lo_i) / 2;
		if (mb->msgs[mid].uid < lo)
			lo_i = mid + 1;
		else
			hi_i = mid;
	}
	k = lo_i;
	for (uint32_t u = lo; u <= hi && u != 0;) {
		uint32_t next = k < mb->count && mb->msgs[k].uid <= hi ? mb->msgs[k].uid : hi + 1;
		if (next > u)
			buf_printf(out, "%s%lu:%lu", out->len ? "," : "", (unsigned long)u,
				   (unsigned long)(next - 1));
		if (next > hi || next == UINT32_MAX)
			break;
		u = next + 1;
		k++;
	}
}

void mailbox_vanished_since(const struct mailbox *mb, const struct seqset *set,
			    uint64_t modseq, struct buf *out)
{
	uint32_t top = mb->uidnext > 1 ? mb->uidnext - 1 : 0;
	if (modseq < mb->vanished_floor) {
		for (size_t i = 0; i < set->count && top > 0; i++) {
			uint32_t a = set->r[i][0] == SEQ_STAR ? top : set->r[i][0];
			uint32_t b = set->r[i][1] == SEQ_STAR ? top : set->r[i][1];
			gaps(mb, a < b ? a : b, a < b ? b : a, out);
		}
		return;
	}
	uint32_t *v = xcalloc(mb->nvanished ? mb->nvanished : 1, sizeof *v);
	size_t n = 0;
	for (size_t i = 0; i < mb->nvanished; i++)
		if (mb->vanished[i].modseq > modseq && seqset_has(set, mb->vanished[i].uid, top))
			v[n++] = mb->vanished[i].uid;
	struct buf f = BUF_INIT;
	seqset_format(&f, v, n);
	if (f.len)
		buf_printf(out, "%s%s", out->len ? "," : "", buf_cstr(&f));
	buf_free(&f);
	free(v);
}

/* Merge the disk's list (by UID) into the view. */
static void merge_view(struct session *s, struct disk_msg *d, size_t n, int allow_expunge,
		       struct buf *vanished)
{
	struct mailbox *mb = s->sel;
	size_t i = 0, j = 0, k = 0, old_count = mb->count, recent_new = 0;
	while (i < old_count) {
		struct msg *m = &mb->msgs[i];
		while (j < n && d[j].uid < m->uid)
			j++; /* below the view's highest UID but unknown: cannot happen */
		if (j < n && d[j].uid == m->uid) {
			int report = s->condstore && m->modseq != d[j].modseq;
			m->modseq = d[j].modseq;
			if (strcmp(m->name, d[j].name) != 0) {
				struct mdflags old = m->flags;
				free(m->name);
				m->name = xstrdup(d[j].name);
				msg_flags_from_name(m);
				report |= !mdflags_equal(&old, &m->flags);
			}
			if (report)
				report_flags(s, k + 1, m);
			mb->msgs[k++] = *m;
			j++;
		} else if (allow_expunge) {
			if (s->qresync) /* RFC 7162 3.2.10: VANISHED instead */
				buf_printf(vanished, "%s%lu", vanished->len ? "," : "",
					   (unsigned long)m->uid);
			else
				out_fmt(s, "* %zu EXPUNGE\r\n", k + 1);
			free(m->name);
			cache_free_msg(m);
		} else {
			m->gone = 1;
			mb->rescan = 1; /* its EXPUNGE is still owed */
			mb->msgs[k++] = *m;
		}
		i++;
	}
	mb->count = k;
	uint32_t top = k ? mb->msgs[k - 1].uid : 0;
	for (; j < n; j++)
		if (d[j].uid > top) {
			push_msg(mb, &d[j]);
			recent_new += d[j].recent != 0;
		}
	if (mb->count > k) {
		out_fmt(s, "* %zu EXISTS\r\n", mb->count);
		size_t recent = 0;
		for (size_t x = 0; x < mb->count; x++)
			recent += mb->msgs[x].recent;
		if (recent_new > 0 && !s->rev2)
			out_fmt(s, "* %zu RECENT\r\n", recent);
	}
}

int mailbox_cur_unchanged(const struct mailbox *mb)
{
	struct timespec nt, ct;
	dir_times(mb->path, &nt, &ct);
	return !mb->rescan && same_time(&ct, &mb->cur_mtime);
}

void mailbox_own_renames(struct mailbox *mb)
{
	struct timespec nt;
	dir_times(mb->path, &nt, &mb->cur_mtime); /* new/ stays as last seen: deliveries */
}

int mailbox_sync(struct session *s, int allow_expunge)
{
	struct disk_msg *d;
	size_t n;
	struct folder_info fi;
	struct timespec nt, ct;
	if (s->sel == NULL)
		return 0;
	/* nothing changed in the folder: no scan (what keeps NOOP cheap in 100k) */
	dir_times(s->sel->path, &nt, &ct);
	if (same_time(&nt, &s->sel->new_mtime) && same_time(&ct, &s->sel->cur_mtime) &&
	    !s->sel->rescan)
		return 0;
	int fd = folder_lock(s->sel->path);
	if (fd < 0)
		return -1;
	dir_times(s->sel->path, &s->sel->new_mtime, &s->sel->cur_mtime);
	s->sel->rescan = 0;
	folder_scan_info(s->sel->path, s->sel->readonly ? FOLDER_SCAN_PEEK : 0, &fi, &d, &n);
	folder_unlock(fd);
	if (fi.uidvalidity != s->sel->uidvalidity) {
		/* the UID list was lost or rebuilt: UIDs the client holds mean nothing */
		disk_msgs_free(d, n);
		folder_info_free(&fi);
		out_str(s, "* BYE UIDVALIDITY changed, please reconnect\r\n");
		s->logout = 1;
		return -1;
	}
	take_info(s->sel, &fi);
	struct buf vanished = BUF_INIT;
	merge_view(s, d, n, allow_expunge, &vanished);
	if (vanished.len)
		out_fmt(s, "* VANISHED %s\r\n", buf_cstr(&vanished));
	buf_free(&vanished);
	disk_msgs_free(d, n);
	return 0;
}

/* Find the message's current name in cur/ by its base (another session may
 * have renamed it to change flags). 0, or -1 if it is gone. */
static int refind(struct mailbox *mb, struct msg *m)
{
	struct buf cd = BUF_INIT;
	const char *colon = strchr(m->name, ':');
	size_t bl = colon ? (size_t)(colon - m->name) : strlen(m->name);
	int found = -1;
	buf_printf(&cd, "%s/cur", mb->path);
	DIR *d = opendir(buf_cstr(&cd));
	struct dirent *de;
	while (d != NULL && found < 0 && (de = readdir(d)) != NULL) {
		if (strncmp(de->d_name, m->name, bl) == 0 &&
		    (de->d_name[bl] == ':' || de->d_name[bl] == '\0')) {
			char *name = xstrdup(de->d_name);
			free(m->name);
			m->name = name;
			msg_flags_from_name(m);
			found = 0;
		}
	}
	if (d != NULL)
		closedir(d);
	buf_free(&cd);
	if (found < 0) {
		m->gone = 1;
		mb->rescan = 1;
	}
	return found;
}

static int open_cur(struct mailbox *mb, const char *name)
{
	struct buf p = BUF_INIT;
	buf_printf(&p, "%s/cur/%s", mb->path, name);
	int fd = open(buf_cstr(&p), O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
	buf_free(&p);
	return fd;
}

int mailbox_open_msg(struct mailbox *mb, struct msg *m)
{
	if (m->gone)
		return -1;
	int fd = open_cur(mb, m->name);
	if (fd < 0 && errno == ENOENT && refind(mb, m) == 0)
		fd = open_cur(mb, m->name);
	return fd;
}

int mailbox_set_flags(struct mailbox *mb, struct msg *m, const struct mdflags *f)
{
	struct buf to = BUF_INIT, from = BUF_INIT, name = BUF_INIT;
	int rc = -1;
	if (m->gone)
		return -1;
	if (mdflags_equal(&m->flags, f))
		return 0;
	if (mdflags_name_with(m->name, strlen(m->name), f, &name) == 0) {
		buf_printf(&from, "%s/cur/%s", mb->path, m->name);
		buf_printf(&to, "%s/cur/%s", mb->path, buf_cstr(&name));
		if (rename(buf_cstr(&from), buf_cstr(&to)) == 0) {
			free(m->name);
			m->name = buf_detach(&name);
			m->flags = *f;
			rc = 0;
		} else if (errno == ENOENT && refind(mb, m) == 0) {
			rc = 1; /* renamed by another session: m->flags are its flags now */
		}
	}
	buf_free(&to);
	buf_free(&from);
	buf_free(&name);
	return rc;
}

int mailbox_read_msg(struct mailbox *mb, struct msg *m, struct buf *crlf)
{
	struct buf raw = BUF_INIT;
	int fd = mailbox_open_msg(mb, m);
	if (fd < 0)
		return -1;
	int rc = file_read_fd(fd, &raw, IMAPD_MAX_MESSAGE);
	close(fd);
	if (rc == 0) {
		buf_reset(crlf);
		mime_crlf(crlf, raw.data ? raw.data : "", raw.len);
		m->size = crlf->len;
		m->have_size = 1;
	}
	buf_free(&raw);
	return rc;
}

uint64_t mailbox_msg_size(struct mailbox *mb, struct msg *m)
{
	uint64_t w;
	if (m->have_size)
		return m->size;
	if (mdflags_name_size(m->name, strlen(m->name), 'W', &w) == 0) {
		m->size = w;
		m->have_size = 1;
		return w;
	}
	mb->cache_dirty = 1;
	struct buf b = BUF_INIT;
	if (mailbox_read_msg(mb, m, &b) < 0)
		m->size = 0;
	buf_free(&b);
	m->have_size = 1;
	return m->size;
}

time_t mailbox_msg_mtime(struct mailbox *mb, struct msg *m)
{
	struct stat st;
	if (m->have_mtime)
		return m->mtime;
	int fd = mailbox_open_msg(mb, m);
	m->mtime = fd >= 0 && fstat(fd, &st) == 0 ? st.st_mtime : 0;
	mb->cache_dirty = 1;
	if (fd >= 0)
		close(fd);
	m->have_mtime = 1;
	return m->mtime;
}

uint64_t mailbox_msg_file_size(struct mailbox *mb, struct msg *m)
{
	uint64_t w;
	struct stat st;
	if (mdflags_name_size(m->name, strlen(m->name), 'S', &w) == 0)
		return w;
	int fd = mailbox_open_msg(mb, m);
	w = fd >= 0 && fstat(fd, &st) == 0 ? (uint64_t)st.st_size : 0;
	if (fd >= 0)
		close(fd);
	return w;
}

/* Remove the \Deleted messages (of uids, when given); the following sync
 * reports the EXPUNGEs. */
int mailbox_expunge(struct session *s, const struct seqset *uids)
{
	struct mailbox *mb = s->sel;
	struct buf p = BUF_INIT;
	uint32_t top = mb->count ? mb->msgs[mb->count - 1].uid : 0;
	int64_t bytes = 0, count = 0;
	for (size_t i = 0; i < mb->count; i++) {
		struct msg *m = &mb->msgs[i];
		if (!mdflags_has(&m->flags, MDFLAG_TRASHED) ||
		    (uids != NULL && !seqset_has(uids, m->uid, top)))
			continue;
		uint64_t size = mailbox_msg_file_size(mb, m);
		for (int attempt = 0; attempt < 2; attempt++) {
			buf_reset(&p);
			buf_printf(&p, "%s/cur/%s", mb->path, m->name);
			if (unlink(buf_cstr(&p)) == 0) {
				bytes += (int64_t)size;
				count++;
				break;
			}
			if (errno != ENOENT || refind(mb, m) < 0)
				break;
		}
	}
	if (count > 0)
		quota_add(mb->path, -bytes, -count); /* Maildir++: expunges are recorded */
	buf_free(&p);
	return 0;
}
