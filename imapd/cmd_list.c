/* cmd_list: LIST, LSUB and STATUS. Folders come from the maildir's
 * directory, checked by mdfolder; patterns are bounded (PATTERN_MAX). */
#include "imapd.h"

#include "alloc.h"
#include "file.h"
#include "mdfolder.h"

#include <dirent.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define PATTERN_MAX 1024
#define FOLDERS_MAX 100000
#define SUBSCRIBED "courierimapsubscribed"

struct names {
	char **v;
	size_t n;
};

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void names_all(struct session *s, struct names *out)
{
	struct buf name = BUF_INIT;
	DIR *d = opendir(s->maildir);
	struct dirent *de;
	out->v = xcalloc(1, sizeof *out->v);
	out->v[0] = xstrdup("INBOX");
	out->n = 1;
	while (d != NULL && out->n < FOLDERS_MAX && (de = readdir(d)) != NULL) {
		size_t l = strlen(de->d_name);
		if (de->d_name[0] != '.' || mdfolder_check_dir(de->d_name, l, NULL) < 0)
			continue;
		buf_reset(&name);
		if (mdfolder_to_imap(de->d_name, l, '.', &name, NULL) < 0)
			continue;
		out->v = xreallocarray(out->v, out->n + 1, sizeof *out->v);
		out->v[out->n++] = buf_detach(&name);
	}
	if (d != NULL)
		closedir(d);
	buf_free(&name);
	qsort(out->v, out->n, sizeof *out->v, cmp_str);
}

static void names_free(struct names *ns)
{
	for (size_t i = 0; i < ns->n; i++)
		free(ns->v[i]);
	free(ns->v);
}

/* Whether some name starts with name + "." (binary search in the sorted list). */
static int has_children(const struct names *ns, const char *name)
{
	struct buf pre = BUF_INIT;
	buf_printf(&pre, "%s.", name);
	size_t lo = 0, hi = ns->n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (strcmp(ns->v[mid], buf_cstr(&pre)) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	int r = lo < ns->n && strncmp(ns->v[lo], pre.data, pre.len) == 0;
	buf_free(&pre);
	return r;
}

/* SPECIAL-USE (RFC 6154) by the usual folder names, top level only. */
static const char *special_use(const char *name)
{
	static const struct {
		const char *name, *use;
	} uses[] = {
		{ "INBOX.Sent", "\\Sent" },   { "INBOX.Sent Messages", "\\Sent" },
		{ "INBOX.Drafts", "\\Drafts" }, { "INBOX.Trash", "\\Trash" },
		{ "INBOX.Deleted Messages", "\\Trash" }, { "INBOX.Junk", "\\Junk" },
		{ "INBOX.Spam", "\\Junk" },   { "INBOX.Archive", "\\Archive" },
	};
	for (size_t i = 0; i < sizeof uses / sizeof uses[0]; i++)
		if (strcasecmp(name, uses[i].name) == 0)
			return uses[i].use;
	return NULL;
}

static int list_args(struct session *s, struct parser *ps, struct buf *pattern)
{
	struct buf ref = BUF_INIT, pat = BUF_INIT;
	int rc = -1;
	if (p_sp(ps) < 0 || p_astring(ps, &ref) < 0 || p_sp(ps) < 0 ||
	    p_list_mailbox(ps, &pat) < 0 || p_eol(ps) < 0) {
		out_bad(s, ps);
	} else if (ref.len + pat.len > PATTERN_MAX || buf_has_nul(&ref) || buf_has_nul(&pat)) {
		out_tagged(s, "NO", "Pattern too long");
	} else {
		buf_reset(pattern);
		buf_append_buf(pattern, &ref);
		buf_append_buf(pattern, &pat);
		rc = 0;
	}
	buf_free(&ref);
	buf_free(&pat);
	return rc;
}

void cmd_list(struct session *s, struct parser *ps)
{
	struct buf pattern = BUF_INIT;
	struct names ns;
	if (list_args(s, ps, &pattern) < 0)
		goto done;
	if (pattern.len == 0) {
		out_str(s, "* LIST (\\Noselect) \".\" \"\"\r\n");
		out_done(s, "OK", "LIST completed");
		goto done;
	}
	names_all(s, &ns);
	for (size_t i = 0; i < ns.n; i++) {
		if (!folder_match(buf_cstr(&pattern), ns.v[i]))
			continue;
		const char *use = special_use(ns.v[i]);
		out_fmt(s, "* LIST (%s%s%s) \".\" ",
			has_children(&ns, ns.v[i]) ? "\\HasChildren" : "\\HasNoChildren",
			use ? " " : "", use ? use : "");
		out_astring(s, ns.v[i], strlen(ns.v[i]));
		out_str(s, "\r\n");
	}
	names_free(&ns);
	out_done(s, "OK", "LIST completed");
done:
	buf_free(&pattern);
}

void cmd_lsub(struct session *s, struct parser *ps)
{
	struct buf pattern = BUF_INIT, text = BUF_INIT, p = BUF_INIT;
	if (list_args(s, ps, &pattern) < 0)
		goto done;
	buf_printf(&p, "%s/%s", s->maildir, SUBSCRIBED);
	if (file_read(buf_cstr(&p), &text, 1024 * 1024) < 0 || buf_has_nul(&text))
		buf_reset(&text);
	char *save = NULL;
	for (char *l = text.len ? strtok_r(text.data, "\n", &save) : NULL; l != NULL;
	     l = strtok_r(NULL, "\n", &save)) {
		if (!folder_match(buf_cstr(&pattern), l))
			continue;
		out_str(s, "* LSUB () \".\" ");
		out_astring(s, l, strlen(l));
		out_str(s, "\r\n");
	}
	out_done(s, "OK", "LSUB completed");
done:
	buf_free(&pattern);
	buf_free(&text);
	buf_free(&p);
}

static const char *const status_items[] = { "MESSAGES", "RECENT", "UIDNEXT", "UIDVALIDITY",
					    "UNSEEN" };

static int status_item(const char *name)
{
	for (int i = 0; i < 5; i++)
		if (strcasecmp(name, status_items[i]) == 0)
			return i;
	return -1;
}

static void status_reply(struct session *s, const char *name, const char *path, const int *want,
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
