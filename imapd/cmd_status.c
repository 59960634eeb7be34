/* cmd_status: STATUS, and the STATUS replies of LIST-STATUS (RFC 5819). */
#include "imapd.h"

#include "file.h"

#include <string.h>
#include <strings.h>

#define STATUS_NITEMS 8
static const char *const status_items[STATUS_NITEMS] = {
	"MESSAGES", "RECENT", "UIDNEXT", "UIDVALIDITY", "UNSEEN", "SIZE", "DELETED", "HIGHESTMODSEQ"
};

int status_item(const char *name)
{
	for (int i = 0; i < STATUS_NITEMS; i++)
		if (strcasecmp(name, status_items[i]) == 0)
			return i;
	return -1;
}

/* RFC822.SIZE of a message in cur/: its W= (Courier, Dovecot), else the
 * file's size plus one CR per LF (RFC 8438: at least the sum of the sizes). */
uint64_t status_msg_size(const char *path, const char *name)
{
	uint64_t w;
	struct buf p = BUF_INIT, raw = BUF_INIT;
	if (mdflags_name_size(name, strlen(name), 'W', &w) == 0)
		return w;
	buf_printf(&p, "%s/cur/%s", path, name);
	w = 0;
	if (file_read(buf_cstr(&p), &raw, IMAPD_MAX_MESSAGE) == 0) {
		w = raw.len;
		for (const char *c = raw.data; c != NULL && c < raw.data + raw.len; c++) {
			c = memchr(c, '\n', (size_t)(raw.data + raw.len - c));
			if (c == NULL)
				break;
			w++;
		}
	}
	buf_free(&p);
	buf_free(&raw);
	return w;
}

void status_reply(struct session *s, const char *name, const char *path, const int *want,
			 int nwant)
{
	struct disk_msg *d;
	size_t n, unseen = 0, recent = 0, deleted = 0;
	uint64_t size = 0;
	struct folder_info fi;
	int want_size = 0;
	for (int i = 0; i < nwant; i++)
		want_size |= want[i] == 5;
	int fd = folder_lock(path);
	folder_scan_info(path, FOLDER_SCAN_PEEK, &fi, &d, &n);
	folder_unlock(fd);
	folder_info_free(&fi);
	for (size_t i = 0; i < n; i++) {
		struct mdflags_name mn;
		int ok = mdflags_name_parse(&mn, d[i].name, strlen(d[i].name)) == 0;
		recent += d[i].recent != 0;
		unseen += !ok || !mdflags_has(&mn.flags, MDFLAG_SEEN);
		deleted += ok && mdflags_has(&mn.flags, MDFLAG_TRASHED);
		if (want_size)
			size += status_msg_size(path, d[i].name);
	}
	disk_msgs_free(d, n);
	uint64_t values[STATUS_NITEMS] = { n, recent, fi.uidnext, fi.uidvalidity, unseen, size,
					   deleted, fi.highestmodseq };
	out_str(s, "* STATUS ");
	out_mailbox(s, name);
	out_str(s, " (");
	for (int i = 0; i < nwant; i++)
		out_fmt(s, "%s%s %llu", i ? " " : "", status_items[want[i]],
			(unsigned long long)values[want[i]]);
	out_str(s, ")\r\n");
}

void cmd_status(struct session *s, struct parser *ps)
{
	struct buf name = BUF_INIT, path = BUF_INIT, item = BUF_INIT;
	int want[16], nwant = 0, ok;
	const char *err = NULL;
	ok = p_sp(ps) == 0 && p_mailbox(s, ps, &name) == 0 && p_sp(ps) == 0 && p_char(ps, '(') == 0;
	while (ok && !p_peek(ps, ')') && nwant < 16) {
		if (nwant > 0 && p_sp(ps) < 0)
			ok = 0;
		else if (p_atom(ps, &item) < 0 || (want[nwant++] = status_item(buf_cstr(&item))) < 0)
			ok = 0;
	}
	ok = ok && nwant > 0 && p_char(ps, ')') == 0 && p_eol(ps) == 0;
	for (int i = 0; ok && i < nwant; i++)
		if (want[i] == 7)
			condstore_enable(s);
	if (!ok) {
		if (ps->err == NULL)
			ps->err = "Bad STATUS item";
		out_bad(s, ps);
	} else if (buf_has_nul(&name) || folder_path(s, buf_cstr(&name), &path, &err) < 0 ||
		   !folder_exists(buf_cstr(&path))) {
		out_tagged(s, "NO", "[NONEXISTENT] %s", err ? err : "No such mailbox");
	} else {
		status_reply(s, buf_cstr(&name), buf_cstr(&path), want, nwant);
		out_done(s, "OK", "STATUS completed");
	}
	buf_free(&name);
	buf_free(&path);
	buf_free(&item);
}
