/* cmd_append: APPEND mailbox [(flags)] [date-time] literal. The message is
 * delivered into the folder's cur/ through lib/maildir (tmp, fsync, link),
 * with CRLF line ends stored as LF and INTERNALDATE as the file's mtime;
 * UIDPLUS's APPENDUID comes from a scan of the folder right after. */
#include "imapd.h"

#include "date.h"
#include "maildir.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* The UID the folder gave to file name (after a scan), or 0. */
uint32_t folder_uid_of(const char *path, const char *name, uint32_t *validity)
{
	struct disk_msg *d;
	size_t n;
	uint32_t next, uid = 0;
	size_t bl = strcspn(name, ":");
	int fd = folder_lock(path);
	folder_scan_flags(path, FOLDER_SCAN_PEEK, validity, &next, &d, &n); /* \Recent stays */
	folder_unlock(fd);
	for (size_t i = n; i-- > 0 && uid == 0;)
		if (strncmp(d[i].name, name, bl) == 0 && (d[i].name[bl] == ':' || d[i].name[bl] == 0))
			uid = d[i].uid;
	disk_msgs_free(d, n);
	return uid;
}

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
 * UTF8=ACCEPT is enabled (RFC 6855 4), up to the end of the command. */
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
	return p_eol(ps);
}

void cmd_append(struct session *s, struct parser *ps)
{
	struct buf name = BUF_INIT, path = BUF_INIT, date = BUF_INIT, msg = BUF_INIT, file = BUF_INIT;
	struct mdflags f;
	struct mailbox tmp;
	const char *err = NULL;
	time_t t = 0;
	int zone, have_t = 0;
	memset(&f, 0, sizeof f);
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
	if (p_peek(ps, '(') && (store_parse_flags(s, ps, &tmp, &f) < 0 || p_sp(ps) < 0)) {
		out_bad(s, ps);
		goto done;
	}
	if (p_peek(ps, '"')) {
		if (p_string(ps, &date) < 0 || p_sp(ps) < 0 ||
		    date_parse_imap_datetime(date.data, date.len, &t, &zone, &err) < 0) {
			out_tagged(s, "BAD", "Invalid date-time");
			goto done;
		}
		have_t = 1;
	}
	if (append_message(s, ps, &msg) < 0) {
		out_bad(s, ps);
		goto done;
	}
	uint64_t lf_size = msg.len - crlf_count(&msg);
	if (quota_check(buf_cstr(&path), lf_size) < 0) {
		out_tagged(s, "NO", "[OVERQUOTA] Mailbox is over quota");
		goto done;
	}
	if (deliver(buf_cstr(&path), &f, t, have_t, &msg, &file) < 0) {
		out_tagged(s, "NO", "[SERVERBUG] Cannot store message");
		goto done;
	}
	quota_add(buf_cstr(&path), (int64_t)lf_size, 1);
	uint32_t validity = 0, uid = folder_uid_of(buf_cstr(&path), buf_cstr(&file), &validity);
	out_done(s, "OK", "[APPENDUID %lu %lu] APPEND completed", (unsigned long)validity,
		 (unsigned long)uid);
done:
	for (int i = 0; i < IMAPD_KEYWORDS; i++)
		free(tmp.keywords[i]);
	buf_free(&name);
	buf_free(&path);
	buf_free(&date);
	buf_free(&msg);
	buf_free(&file);
}
