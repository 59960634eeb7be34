/* cmd_status: STATUS, and the STATUS replies of LIST-STATUS (RFC 5819). */
#include "imapd.h"

#include <string.h>
#include <strings.h>

static const char *const status_items[] = { "MESSAGES", "RECENT", "UIDNEXT", "UIDVALIDITY",
					    "UNSEEN" };

int status_item(const char *name)
{
	for (int i = 0; i < 5; i++)
		if (strcasecmp(name, status_items[i]) == 0)
			return i;
	return -1;
}

void status_reply(struct session *s, const char *name, const char *path, const int *want,
			 int nwant)
{
	struct disk_msg *d;
	size_t n, unseen = 0, recent = 0;
	uint32_t validity, next;
	int fd = folder_lock(path);
	folder_scan(path, &validity, &next, &d, &n);
	folder_unlock(fd);
	for (size_t i = 0; i < n; i++) {
		struct mdflags_name mn;
		recent += d[i].recent != 0;
		if (mdflags_name_parse(&mn, d[i].name, strlen(d[i].name)) < 0 ||
		    !mdflags_has(&mn.flags, MDFLAG_SEEN))
			unseen++;
	}
	disk_msgs_free(d, n);
	uint64_t values[5] = { n, recent, next, validity, unseen };
	out_str(s, "* STATUS ");
	out_astring(s, name, strlen(name));
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
	ok = p_sp(ps) == 0 && p_astring(ps, &name) == 0 && p_sp(ps) == 0 && p_char(ps, '(') == 0;
	while (ok && !p_peek(ps, ')') && nwant < 16) {
		if (nwant > 0 && p_sp(ps) < 0)
			ok = 0;
		else if (p_atom(ps, &item) < 0 || (want[nwant++] = status_item(buf_cstr(&item))) < 0)
			ok = 0;
	}
	ok = ok && nwant > 0 && p_char(ps, ')') == 0 && p_eol(ps) == 0;
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
