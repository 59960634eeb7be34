/* cmd_copy: COPY, MOVE and their UID forms. Each message is hard-linked
 * into the target's cur/ under a fresh unique name with the same flags
 * (a copy never half exists); MOVE then removes the source files and the
 * sync before the tagged reply sends the EXPUNGEs. UIDPLUS COPYUID follows
 * from a scan of the target. */
#include "imapd.h"

#include "alloc.h"
#include "maildir.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int copy_one(struct mailbox *mb, struct msg *m, const char *target, struct buf *newname)
{
	struct buf from = BUF_INIT, to = BUF_INIT;
	int rc = -1;
	for (int attempt = 0; attempt < 2 && rc < 0; attempt++) {
		const char *info = strchr(m->name, ':');
		uint64_t w;
		buf_reset(newname);
		if (maildir_unique(newname) < 0)
			break;
		if (mdflags_name_size(m->name, strlen(m->name), 'S', &w) == 0)
			buf_printf(newname, ",S=%llu", (unsigned long long)w);
		if (mdflags_name_size(m->name, strlen(m->name), 'W', &w) == 0)
			buf_printf(newname, ",W=%llu", (unsigned long long)w);
		buf_append_str(newname, info ? info : ":2,");
		buf_reset(&from);
		buf_reset(&to);
		buf_printf(&from, "%s/cur/%s", mb->path, m->name);
		buf_printf(&to, "%s/cur/%s", target, buf_cstr(newname));
		if (link(buf_cstr(&from), buf_cstr(&to)) == 0)
			rc = 0;
		else if (errno != ENOENT || mailbox_open_msg(mb, m) < 0)
			break;
	}
	buf_free(&from);
	buf_free(&to);
	return rc;
}

struct copied {
	uint32_t src_uid;
	char *name;        /* its name in the target's cur/ */
	uint32_t dst_uid;
};

static int cmp_name(const void *a, const void *b)
{
	const struct disk_msg *x = a, *y = b;
	return strcmp(x->name, y->name);
}

/* The target's UIDs of the copies: one scan, then a binary search each. */
static uint32_t target_uids(const char *path, struct copied *c, size_t nc)
{
	struct disk_msg *d;
	size_t n;
	uint32_t validity = 0, next;
	int fd = folder_lock(path);
	folder_scan_flags(path, FOLDER_SCAN_PEEK, &validity, &next, &d, &n);
	folder_unlock(fd);
	if (n > 1)
		qsort(d, n, sizeof *d, cmp_name);
	for (size_t i = 0; i < nc; i++) {
		struct disk_msg key = { 0, c[i].name, 0, 0 };
		struct disk_msg *hit = n ? bsearch(&key, d, n, sizeof *d, cmp_name) : NULL;
		c[i].dst_uid = hit ? hit->uid : 0;
	}
	disk_msgs_free(d, n);
	return validity;
}

/* Copy (and for MOVE remove) the selected messages; -1 if one failed. */
static int copy_selected(struct session *s, const char *sel, const char *target, int move,
			 struct copied **out, size_t *nout)
{
	struct mailbox *mb = s->sel;
	struct buf newname = BUF_INIT, p = BUF_INIT;
	int rc = 0;
	for (size_t i = 0; i < mb->count && rc == 0; i++) {
		if (!sel[i])
			continue;
		if (copy_one(mb, &mb->msgs[i], target, &newname) < 0) {
			rc = -1;
			break;
		}
		*out = xreallocarray(*out, *nout + 1, sizeof **out);
		(*out)[(*nout)++] = (struct copied){ mb->msgs[i].uid, buf_detach(&newname), 0 };
		if (move) {
			buf_reset(&p);
			buf_printf(&p, "%s/cur/%s", mb->path, mb->msgs[i].name);
			(void)unlink(buf_cstr(&p));
		}
	}
	buf_free(&newname);
	buf_free(&p);
	return rc;
}

static void copy_reply(struct session *s, int move, uint32_t validity, const struct copied *c,
		       size_t n)
{
	struct buf src = BUF_INIT, dst = BUF_INIT;
	uint32_t *a = xcalloc(n ? n : 1, sizeof *a), *b = xcalloc(n ? n : 1, sizeof *b);
	for (size_t i = 0; i < n; i++) {
		a[i] = c[i].src_uid;
		b[i] = c[i].dst_uid;
	}
	seqset_format(&src, a, n);
	seqset_format(&dst, b, n);
	free(a);
	free(b);
	if (n == 0)
		out_done(s, "OK", "%s completed", move ? "MOVE" : "COPY");
	else if (move) {
		out_fmt(s, "* OK [COPYUID %lu %s %s] Moved\r\n", (unsigned long)validity,
			buf_cstr(&src), buf_cstr(&dst));
		out_done(s, "OK", "MOVE completed");
	} else {
		out_done(s, "OK", "[COPYUID %lu %s %s] COPY completed", (unsigned long)validity,
			 buf_cstr(&src), buf_cstr(&dst));
	}
	buf_free(&src);
	buf_free(&dst);
}

/* The target of COPY/MOVE; a tagged reply and -1 when it cannot be used. */
static int copy_target(struct session *s, struct parser *ps, int move, struct buf *path)
{
	struct buf name = BUF_INIT;
	const char *err = NULL;
	int rc = -1;
	if (p_sp(ps) < 0 || p_mailbox(s, ps, &name) < 0 || p_eol(ps) < 0)
		out_bad(s, ps);
	else if (buf_has_nul(&name) || folder_path(s, buf_cstr(&name), path, &err) < 0 ||
		 !folder_exists(buf_cstr(path)))
		out_tagged(s, "NO", "[TRYCREATE] %s", err ? err : "No such mailbox");
	else if (move && s->sel->readonly)
		out_tagged(s, "NO", "[READ-ONLY] Mailbox is read-only");
	else
		rc = 0;
	buf_free(&name);
	return rc;
}

static void copy_or_move(struct session *s, struct parser *ps, int move)
{
	struct seqset set;
	struct buf path = BUF_INIT;
	struct copied *c = NULL;
	size_t n = 0;
	if (p_sp(ps) < 0 || seqset_parse(ps, &set) < 0)
		return out_bad(s, ps);
	if (copy_target(s, ps, move, &path) < 0)
		goto done;
	if (!s->uid && !seqset_valid_seq(&set, s->sel->count)) {
		out_tagged(s, "BAD", "Invalid message sequence number");
		goto done;
	}
	char *sel = xcalloc(s->sel->count ? s->sel->count : 1, 1);
	seqset_select(&set, s->sel, s->uid, sel);
	uint64_t bytes = 0, count = 0;
	for (size_t i = 0; !move && i < s->sel->count; i++)
		if (sel[i]) {
			bytes += mailbox_msg_file_size(s->sel, &s->sel->msgs[i]);
			count++;
		}
	if (count > 0 && quota_check(buf_cstr(&path), bytes) < 0) {
		free(sel);
		out_tagged(s, "NO", "[OVERQUOTA] Target mailbox is over quota");
		goto done;
	}
	int rc = copy_selected(s, sel, buf_cstr(&path), move, &c, &n);
	free(sel);
	if (rc == 0 && count > 0)
		quota_add(buf_cstr(&path), (int64_t)bytes, (int64_t)count);
	uint32_t validity = target_uids(buf_cstr(&path), c, n);
	if (rc < 0)
		out_done(s, "NO", "[SERVERBUG] Copy failed");
	else
		copy_reply(s, move, validity, c, n);
done:
	for (size_t i = 0; i < n; i++)
		free(c[i].name);
	free(c);
	seqset_free(&set);
	buf_free(&path);
}

void cmd_copy(struct session *s, struct parser *ps)
{
	copy_or_move(s, ps, 0);
}

void cmd_move(struct session *s, struct parser *ps)
{
	copy_or_move(s, ps, 1);
}
