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
	msg_flags_from_name(m);
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
	dir_times(path, &mb->new_mtime, &mb->cur_mtime); /* before the scan: see later changes */
	folder_scan(path, &mb->uidvalidity, &mb->uidnext, &d, &n);
	folder_unlock(fd);
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
	seqset_free(&mb->saved);
	free(mb->path);
	free(mb->name);
	free(mb);
}

static void report_flags(struct session *s, size_t seq, struct msg *m)
{
	out_fmt(s, "* %zu FETCH (", seq);
	if (s->uid)
		out_fmt(s, "UID %lu ", (unsigned long)m->uid);
	out_str(s, "FLAGS ");
	out_flags(s, s->sel, &m->flags, m->recent);
	out_str(s, ")\r\n");
}

/* Merge the disk's list (by UID) into the view. */
static void merge_view(struct session *s, struct disk_msg *d, size_t n, int allow_expunge)
{
	struct mailbox *mb = s->sel;
	size_t i = 0, j = 0, k = 0, old_count = mb->count, recent_new = 0;
	while (i < old_count) {
		struct msg *m = &mb->msgs[i];
		while (j < n && d[j].uid < m->uid)
			j++; /* below the view's highest UID but unknown: cannot happen */
		if (j < n && d[j].uid == m->uid) {
			if (strcmp(m->name, d[j].name) != 0) {
				struct mdflags old = m->flags;
				free(m->name);
				m->name = xstrdup(d[j].name);
				msg_flags_from_name(m);
				if (!mdflags_equal(&old, &m->flags))
					report_flags(s, k + 1, m);
			}
			mb->msgs[k++] = *m;
			j++;
		} else if (allow_expunge) {
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
		if (recent_new > 0)
			out_fmt(s, "* %zu RECENT\r\n", recent);
	}
}

int mailbox_sync(struct session *s, int allow_expunge)
{
	struct disk_msg *d;
	size_t n;
	uint32_t validity, next;
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
	folder_scan(s->sel->path, &validity, &next, &d, &n);
	folder_unlock(fd);
	if (validity != s->sel->uidvalidity) {
		/* the UID list was lost or rebuilt: UIDs the client holds mean nothing */
		disk_msgs_free(d, n);
		out_str(s, "* BYE UIDVALIDITY changed, please reconnect\r\n");
		s->logout = 1;
		return -1;
	}
	s->sel->uidnext = next;
	merge_view(s, d, n, allow_expunge);
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

/* Remove the \Deleted messages (of uids, when given); the following sync
 * reports the EXPUNGEs. */
int mailbox_expunge(struct session *s, const struct seqset *uids)
{
	struct mailbox *mb = s->sel;
	struct buf p = BUF_INIT;
	uint32_t top = mb->count ? mb->msgs[mb->count - 1].uid : 0;
	for (size_t i = 0; i < mb->count; i++) {
		struct msg *m = &mb->msgs[i];
		if (!mdflags_has(&m->flags, MDFLAG_TRASHED) ||
		    (uids != NULL && !seqset_has(uids, m->uid, top)))
			continue;
		for (int attempt = 0; attempt < 2; attempt++) {
			buf_reset(&p);
			buf_printf(&p, "%s/cur/%s", mb->path, m->name);
			if (unlink(buf_cstr(&p)) == 0 || errno != ENOENT || refind(mb, m) < 0)
				break;
		}
	}
	buf_free(&p);
	return 0;
}
