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

static void copy_or_move(struct session *s, struct parser *ps, int move)
{
	struct seqset set;
	struct buf name = BUF_INIT, path = BUF_INIT, newname = BUF_INIT, src = BUF_INIT, dst = BUF_INIT;
	const char *err = NULL;
	if (p_sp(ps) < 0 || seqset_parse(ps, &set) < 0)
		return out_bad(s, ps);
	if (p_sp(ps) < 0 || p_astring(ps, &name) < 0 || p_eol(ps) < 0) {
		out_bad(s, ps);
		goto done;
	}
	if (buf_has_nul(&name) || folder_path(s, buf_cstr(&name), &path, &err) < 0 ||
	    !folder_exists(buf_cstr(&path))) {
		out_tagged(s, "NO", "[TRYCREATE] %s", err ? err : "No such mailbox");
		goto done;
	}
	if (move && s->sel->readonly) {
		out_tagged(s, "NO", "[READ-ONLY] Mailbox is read-only");
		goto done;
	}
	struct mailbox *mb = s->sel;
	if (!s->uid && !seqset_valid_seq(&set, mb->count)) {
		out_tagged(s, "BAD", "Invalid message sequence number");
		goto done;
	}
	char *sel = xcalloc(mb->count ? mb->count : 1, 1);
	seqset_select(&set, mb, s->uid, sel);
	int failed = 0;
	for (size_t i = 0; i < mb->count && !failed; i++) {
		if (!sel[i])
			continue;
		if (copy_one(mb, &mb->msgs[i], buf_cstr(&path), &newname) < 0) {
			failed = 1;
			break;
		}
		buf_printf(&src, "%s%lu", src.len ? "," : "", (unsigned long)mb->msgs[i].uid);
		uint32_t validity;
		/* (one scan per message keeps the code simple; fine for mail clients) */
		uint32_t uid = folder_uid_of(buf_cstr(&path), buf_cstr(&newname), &validity);
		buf_printf(&dst, "%s%lu", dst.len ? "," : "", (unsigned long)uid);
		if (move) {
			struct buf p = BUF_INIT;
			buf_printf(&p, "%s/cur/%s", mb->path, mb->msgs[i].name);
			(void)unlink(buf_cstr(&p));
			buf_free(&p);
		}
	}
	free(sel);
	if (failed) {
		out_done(s, "NO", "[SERVERBUG] Copy failed");
	} else {
		uint32_t validity = 0;
		struct disk_msg *d;
		size_t n;
		uint32_t next;
		int fd = folder_lock(buf_cstr(&path));
		folder_scan(buf_cstr(&path), &validity, &next, &d, &n);
		folder_unlock(fd);
		disk_msgs_free(d, n);
		if (move && src.len) {
			out_fmt(s, "* OK [COPYUID %lu %s %s] Moved\r\n", (unsigned long)validity,
				buf_cstr(&src), buf_cstr(&dst));
			out_done(s, "OK", "MOVE completed");
		} else if (src.len) {
			out_done(s, "OK", "[COPYUID %lu %s %s] %s completed", (unsigned long)validity,
				 buf_cstr(&src), buf_cstr(&dst), move ? "MOVE" : "COPY");
		} else {
			out_done(s, "OK", "%s completed", move ? "MOVE" : "COPY");
		}
	}
done:
	seqset_free(&set);
	buf_free(&name);
	buf_free(&path);
	buf_free(&newname);
	buf_free(&src);
	buf_free(&dst);
}

void cmd_copy(struct session *s, struct parser *ps)
{
	copy_or_move(s, ps, 0);
}

void cmd_move(struct session *s, struct parser *ps)
{
	copy_or_move(s, ps, 1);
}
