/* cmd_append: APPEND mailbox [(flags)] [date-time] literal, repeated for
 * MULTIAPPEND (RFC 3502, all or nothing). Each message is delivered into the
 * folder's cur/ through lib/maildir (tmp, fsync, link), with CRLF line ends
 * stored as LF and INTERNALDATE as the file's mtime; UIDPLUS's APPENDUID
 * comes from one scan of the folder right after. The command reader bounds
 * the whole command (all literals together) by about APPENDLIMIT. */
#include "imapd.h"

#include "alloc.h"
#include "date.h"
#include "maildir.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

static size_t crlf_count(const struct buf *b)
{
	size_t n = 0;
	for (size_t i = 0; i + 1 < b->len; i++)
		n += b->data[i] == '\r' && b->data[i + 1] == '\n';
	return n;
}

static int deliver(const char *path, const struct mdflags *f, time_t t, int have_t,
		   const struct buf *msg, struct buf *name)
{
	struct maildir_delivery d;
	struct buf fl = BUF_INIT;
	mdflags_format(f, &fl);
	if (maildir_deliver_begin_cur(&d, path, buf_cstr(&fl)) < 0) {
		buf_free(&fl);
		return -1;
	}
	buf_free(&fl);
	if (have_t)
		maildir_deliver_set_mtime(&d, t);
	size_t start = 0;
	for (size_t i = 0; i + 1 < msg->len; i++)
		if (msg->data[i] == '\r' && msg->data[i + 1] == '\n') {
			maildir_deliver_write(&d, msg->data + start, i - start);
			start = i + 1;
		}
	maildir_deliver_write(&d, msg->data + start, msg->len - start);
	return maildir_deliver_commit(&d, name);
}

/* The message literal (or a BINARY literal8, ~{n}), or UTF8 (~{n}...) once
 * UTF8=ACCEPT is enabled (RFC 6855 4). */
static int append_message(struct session *s, struct parser *ps, struct buf *msg)
{
	int utf8 = 0;
	if (ps->end - ps->p >= 6 && strncasecmp(ps->p, "UTF8 (", 6) == 0) {
		if (!s->utf8) {
			ps->err = "UTF8 needs ENABLE UTF8=ACCEPT";
			return -1;
		}
		ps->p += 6;
		utf8 = 1;
		if (p_char(ps, '~') < 0)
			return -1;
	} else if (p_peek(ps, '~')) {
		ps->p++; /* BINARY (RFC 3516): a literal8, stored as it is */
	}
	if (!p_peek(ps, '{') || p_string(ps, msg) < 0 || (utf8 && p_char(ps, ')') < 0))
		return -1;
	return 0;
}

/* One message of an APPEND; MULTIAPPEND (RFC 3502) brings several. */
struct appended {
	struct mdflags f;
	time_t t;
	int have_t;
	struct buf msg, file;
};

#define APPEND_MAX_MESSAGES 1000

/* [flags] [date-time] message, into a. 0, -1 (BAD, ps->err), or -2 (the
 * date-time is invalid). */
static int parse_one(struct session *s, struct parser *ps, struct mailbox *kw, struct appended *a)
{
	struct buf date = BUF_INIT;
	int zone, rc = 0;
	const char *err = NULL;
	if (p_peek(ps, '(') && (store_parse_flags(s, ps, kw, &a->f) < 0 || p_sp(ps) < 0))
		rc = -1;
	else if (p_peek(ps, '"') && (p_string(ps, &date) < 0 || p_sp(ps) < 0))
		rc = -1;
	else if (date.len && date_parse_imap_datetime(date.data, date.len, &a->t, &zone, &err) < 0)
		rc = -2;
	else if (append_message(s, ps, &a->msg) < 0)
		rc = -1;
	a->have_t = date.len > 0;
	buf_free(&date);
	return rc;
}

/* UIDs of the files just delivered, in order, from one scan (APPENDUID). */
static void append_uids(const char *path, struct appended *v, size_t n, uint32_t *validity,
			struct buf *set)
{
	struct disk_msg *d;
	size_t nd;
	uint32_t next, prev = 0, run_start = 0;
	int fd = folder_lock(path);
	folder_scan_flags(path, FOLDER_SCAN_PEEK, validity, &next, &d, &nd); /* \Recent stays */
	folder_unlock(fd);
	for (size_t k = 0; k <= n; k++) {
		uint32_t uid = 0;
		size_t bl = k < n ? strcspn(buf_cstr(&v[k].file), ":") : 0;
		for (size_t i = nd; k < n && i-- > 0 && uid == 0;)
			if (strncmp(d[i].name, v[k].file.data, bl) == 0 &&
			    (d[i].name[bl] == ':' || d[i].name[bl] == 0))
				uid = d[i].uid;
		if (k > 0 && (k == n || uid != prev + 1)) { /* close the run */
			buf_printf(set, "%s%lu", set->len ? "," : "", (unsigned long)run_start);
			if (prev != run_start)
				buf_printf(set, ":%lu", (unsigned long)prev);
		}
		if (k == 0 || uid != prev + 1)
			run_start = uid;
		prev = uid;
	}
	disk_msgs_free(d, nd);
}

/* All or nothing (RFC 3502 6.3.11): a failure removes what was delivered. */
static int deliver_all(const char *path, struct appended *v, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (deliver(path, &v[i].f, v[i].t, v[i].have_t, &v[i].msg, &v[i].file) == 0)
			continue;
		struct buf p = BUF_INIT;
		for (size_t k = 0; k < i; k++) {
			buf_reset(&p);
			buf_printf(&p, "%s/cur/%s", path, buf_cstr(&v[k].file));
			(void)unlink(buf_cstr(&p));
		}
		buf_free(&p);
		return -1;
	}
	return 0;
}

void cmd_append(struct session *s, struct parser *ps)
{
	struct buf name = BUF_INIT, path = BUF_INIT, uids = BUF_INIT;
	struct appended *v = NULL;
	size_t n = 0;
	struct mailbox tmp;
	const char *err = NULL;
	memset(&tmp, 0, sizeof tmp);
	if (p_sp(ps) < 0 || p_mailbox(s, ps, &name) < 0 || p_sp(ps) < 0) {
		out_bad(s, ps);
		goto done;
	}
	if (buf_has_nul(&name) || folder_path(s, buf_cstr(&name), &path, &err) < 0 ||
	    !folder_exists(buf_cstr(&path))) {
		out_tagged(s, "NO", "[TRYCREATE] %s", err ? err : "No such mailbox");
		goto done;
	}
	tmp.path = path.data;
	keywords_load(&tmp);
	uint64_t lf_size = 0;
	for (int more = 1; more;) {
		if (n == APPEND_MAX_MESSAGES) {
			out_tagged(s, "NO", "[LIMIT] Too many messages in one APPEND");
			goto done;
		}
		v = xreallocarray(v, n + 1, sizeof *v);
		memset(&v[n], 0, sizeof v[n]);
		int r = parse_one(s, ps, &tmp, &v[n++]);
		if (r == -2) {
			out_tagged(s, "BAD", "Invalid date-time");
			goto done;
		}
		more = r == 0 && p_peek(ps, ' ') && p_sp(ps) == 0;
		if (r < 0 || (!more && p_eol(ps) < 0)) {
			out_bad(s, ps);
			goto done;
		}
		lf_size += v[n - 1].msg.len - crlf_count(&v[n - 1].msg);
	}
	if (quota_check(buf_cstr(&path), lf_size) < 0) {
		out_tagged(s, "NO", "[OVERQUOTA] Mailbox is over quota");
		goto done;
	}
	if (deliver_all(buf_cstr(&path), v, n) < 0) {
		out_tagged(s, "NO", "[SERVERBUG] Cannot store message");
		goto done;
	}
	quota_add(buf_cstr(&path), (int64_t)lf_size, (int64_t)n);
	uint32_t validity = 0;
	append_uids(buf_cstr(&path), v, n, &validity, &uids);
	out_done(s, "OK", "[APPENDUID %lu %s] APPEND completed", (unsigned long)validity,
		 buf_cstr(&uids));
done:
	for (int i = 0; i < IMAPD_KEYWORDS; i++)
		free(tmp.keywords[i]);
	for (size_t i = 0; i < n; i++) {
		buf_free(&v[i].msg);
		buf_free(&v[i].file);
	}
	free(v);
	buf_free(&name);
	buf_free(&path);
	buf_free(&uids);
}
