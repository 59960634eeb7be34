/* cmd_list: LIST, LSUB and STATUS. Folders come from the maildir's
 * directory, checked by mdfolder; patterns are bounded (PATTERN_MAX).
 * Names are handled in Courier's form ("INBOX.Sent") and shown as a
 * pattern asks (imapd.h: folder_shown): "Sent" unless the pattern starts
 * with "INBOX.". */
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

/* Parents that have no directory of their own (".a.b" without ".a"): the
 * hierarchy shows them as \Noselect. Sorted, without duplicates. */
static void names_implied(const struct names *all, struct names *out)
{
	out->v = NULL;
	out->n = 0;
	for (size_t i = 0; i < all->n; i++) {
		const char *name = all->v[i];
		for (const char *dot = strchr(name, '.'); dot != NULL; dot = strchr(dot + 1, '.')) {
			char *parent = xmemdup(name, (size_t)(dot - name));
			if (bsearch(&parent, all->v, all->n, sizeof *all->v, cmp_str) != NULL ||
			    out->n >= FOLDERS_MAX) {
				free(parent);
				continue;
			}
			out->v = xreallocarray(out->v, out->n + 1, sizeof *out->v);
			out->v[out->n++] = parent;
		}
	}
	if (out->n > 1)
		qsort(out->v, out->n, sizeof *out->v, cmp_str);
	size_t k = 0;
	for (size_t i = 0; i < out->n; i++) {
		if (k > 0 && strcmp(out->v[k - 1], out->v[i]) == 0)
			free(out->v[i]);
		else
			out->v[k++] = out->v[i];
	}
	out->n = k;
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
	if (p_sp(ps) < 0 || p_mailbox(s, ps, &ref) < 0 || p_sp(ps) < 0 ||
	    p_list_mailbox(ps, &pat) < 0 || folder_name_in(s, ps, &pat) < 0 || p_eol(ps) < 0) {
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

/* LIST-EXTENDED (RFC 5258) selection and return options, LIST-STATUS. */
enum { SEL_SUBSCRIBED = 1, SEL_RECURSIVE = 2, SEL_SPECIAL = 4, SEL_REMOTE = 8 };
enum { RET_SUBSCRIBED = 1, RET_CHILDREN = 2, RET_SPECIAL = 4, RET_STATUS = 8 };
#define LIST_MAX_PATTERNS 32

struct list_req {
	int sel, ret;
	struct buf patterns[LIST_MAX_PATTERNS];
	int npatterns;
	int want[16], nwant;
};

static int word_bit(struct parser *ps, struct buf *w, const char *const *names, int n)
{
	if (p_atom(ps, w) < 0)
		return -1;
	for (int i = 0; i < n; i++)
		if (strcasecmp(buf_cstr(w), names[i]) == 0)
			return 1 << i;
	ps->err = "Unknown LIST option";
	return -1;
}

static int parse_sel(struct parser *ps, struct list_req *r, struct buf *w)
{
	static const char *const names[] = { "SUBSCRIBED", "RECURSIVEMATCH", "SPECIAL-USE", "REMOTE" };
	ps->p++;
	for (int i = 0; !p_peek(ps, ')'); i++) {
		int b = (i > 0 && p_sp(ps) < 0) ? -1 : word_bit(ps, w, names, 4);
		if (b < 0)
			return -1;
		r->sel |= b;
	}
	if ((r->sel & SEL_RECURSIVE) && !(r->sel & (SEL_SUBSCRIBED | SEL_SPECIAL))) {
		ps->err = "RECURSIVEMATCH needs another selection option";
		return -1;
	}
	return p_char(ps, ')') == 0 && p_sp(ps) == 0 ? 0 : -1;
}

static int parse_ret(struct parser *ps, struct list_req *r, struct buf *w)
{
	static const char *const names[] = { "SUBSCRIBED", "CHILDREN", "SPECIAL-USE", "STATUS" };
	if (p_sp(ps) < 0 || p_atom(ps, w) < 0 || strcasecmp(buf_cstr(w), "RETURN") != 0 ||
	    p_sp(ps) < 0 || p_char(ps, '(') < 0)
		return -1;
	for (int i = 0; !p_peek(ps, ')'); i++) {
		int b = (i > 0 && p_sp(ps) < 0) ? -1 : word_bit(ps, w, names, 4);
		if (b < 0)
			return -1;
		r->ret |= b;
		if (b != RET_STATUS)
			continue;
		if (p_sp(ps) < 0 || p_char(ps, '(') < 0)
			return -1;
		while (!p_peek(ps, ')')) {
			if ((r->nwant > 0 && p_sp(ps) < 0) || r->nwant >= 16 || p_atom(ps, w) < 0 ||
			    (r->want[r->nwant++] = status_item(buf_cstr(w))) < 0) {
				ps->err = "Bad STATUS item";
				return -1;
			}
		}
		if (p_char(ps, ')') < 0 || r->nwant == 0)
			return -1;
	}
	return p_char(ps, ')');
}

static int add_pattern(struct list_req *r, struct parser *ps, const struct buf *ref,
		       const struct buf *pat)
{
	if (r->npatterns >= LIST_MAX_PATTERNS || ref->len + pat->len > PATTERN_MAX ||
	    buf_has_nul(ref) || buf_has_nul(pat)) {
		ps->err = "Too many or too long patterns";
		return -1;
	}
	struct buf *b = &r->patterns[r->npatterns++];
	buf_init(b);
	buf_append_buf(b, ref);
	buf_append_buf(b, pat);
	return 0;
}

static int parse_list_cmd(struct session *s, struct parser *ps, struct list_req *r)
{
	struct buf w = BUF_INIT, ref = BUF_INIT, pat = BUF_INIT;
	int rc = -1;
	if (p_sp(ps) < 0 || (p_peek(ps, '(') && parse_sel(ps, r, &w) < 0) ||
	    p_mailbox(s, ps, &ref) < 0 || p_sp(ps) < 0)
		goto done;
	if (p_peek(ps, '(')) {
		ps->p++;
		for (int i = 0; !p_peek(ps, ')'); i++)
			if ((i > 0 && p_sp(ps) < 0) || p_list_mailbox(ps, &pat) < 0 ||
			    folder_name_in(s, ps, &pat) < 0 || add_pattern(r, ps, &ref, &pat) < 0)
				goto done;
		if (p_char(ps, ')') < 0 || r->npatterns == 0)
			goto done;
	} else if (p_list_mailbox(ps, &pat) < 0 || folder_name_in(s, ps, &pat) < 0 ||
		   add_pattern(r, ps, &ref, &pat) < 0) {
		goto done;
	}
	if (!p_peek(ps, ' ') || parse_ret(ps, r, &w) == 0)
		rc = p_eol(ps);
done:
	buf_free(&w);
	buf_free(&ref);
	buf_free(&pat);
	return rc;
}

static void subs_all(struct session *s, struct names *out)
{
	struct buf text = BUF_INIT, p = BUF_INIT;
	out->v = NULL;
	out->n = 0;
	buf_printf(&p, "%s/%s", s->maildir, SUBSCRIBED);
	if (file_read(buf_cstr(&p), &text, 1024 * 1024) < 0 || buf_has_nul(&text))
		buf_reset(&text);
	char *save = NULL;
	for (char *l = text.len ? strtok_r(text.data, "\n", &save) : NULL;
	     l != NULL && out->n < FOLDERS_MAX; l = strtok_r(NULL, "\n", &save)) {
		out->v = xreallocarray(out->v, out->n + 1, sizeof *out->v);
		out->v[out->n++] = xstrdup(l);
	}
	if (out->n > 1)
		qsort(out->v, out->n, sizeof *out->v, cmp_str);
	buf_free(&text);
	buf_free(&p);
}

static int names_has(const struct names *ns, const char *name)
{
	return ns->n > 0 && bsearch(&name, ns->v, ns->n, sizeof *ns->v, cmp_str) != NULL;
}

/* Whether a pattern of the given view matches the folder shown that way. */
static int matches_view(const struct list_req *r, const char *name, int courier)
{
	for (int i = 0; i < r->npatterns; i++) {
		const char *pat = r->patterns[i].data ? r->patterns[i].data : "";
		if (folder_pattern_courier(pat) == courier &&
		    folder_match(pat, folder_shown(name, courier)))
			return 1;
	}
	return 0;
}

static int matches(const struct list_req *r, const char *name)
{
	return matches_view(r, name, 0) || matches_view(r, name, 1);
}

/* RFC 5258 3.5: CHILDINFO only for a subscribed descendant that the
 * patterns do not list by itself. */
static int unlisted_child(const struct list_req *r, const struct names *subs, const char *name)
{
	struct buf pre = BUF_INIT;
	buf_printf(&pre, "%s.", name);
	size_t lo = 0, hi = subs->n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (strcmp(subs->v[mid], buf_cstr(&pre)) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	int found = 0;
	for (; !found && lo < subs->n && strncmp(subs->v[lo], pre.data, pre.len) == 0; lo++)
		found = !matches(r, subs->v[lo]);
	buf_free(&pre);
	return found;
}

static void list_one(struct session *s, const struct list_req *r, const struct names *all,
		     const struct names *implied, const struct names *subs, const char *name,
		     int courier)
{
	int exists = names_has(all, name), sub = names_has(subs, name);
	/* shown without the prefix, INBOX's children stand beside it */
	int children = (courier || strcmp(name, "INBOX") != 0) && has_children(all, name);
	int noselect = !exists && names_has(implied, name);
	int childinfo = 0;
	if ((r->sel & SEL_SUBSCRIBED) && !sub) {
		if (!(r->sel & SEL_RECURSIVE) || !unlisted_child(r, subs, name))
			return;
		childinfo = 1;
	}
	const char *use = exists ? special_use(name) : NULL;
	if ((r->sel & SEL_SPECIAL) && use == NULL)
		return;
	out_str(s, "* LIST (");
	out_str(s, noselect ? "\\Noselect \\HasChildren" : !exists ? "\\NonExistent" :
		   children ? "\\HasChildren" : "\\HasNoChildren");
	if (sub && !childinfo && ((r->sel & SEL_SUBSCRIBED) || (r->ret & RET_SUBSCRIBED)))
		out_str(s, " \\Subscribed");
	if (use)
		out_fmt(s, " %s", use);
	out_str(s, ") \".\" ");
	out_mailbox(s, folder_shown(name, courier));
	if (childinfo)
		out_str(s, " (\"CHILDINFO\" (\"SUBSCRIBED\"))");
	out_str(s, "\r\n");
	if ((r->ret & RET_STATUS) && exists) {
		struct buf path = BUF_INIT;
		if (folder_path(s, name, &path, NULL) == 0 && folder_exists(buf_cstr(&path)))
			status_reply(s, folder_shown(name, courier), buf_cstr(&path), r->want,
				     r->nwant);
		buf_free(&path);
	}
}

/* a and b (may be NULL) merged and deduplicated; the strings stay theirs. */
static void merge_names(const struct names *a, const struct names *b, struct names *out)
{
	size_t i = 0, j = 0, bn = b ? b->n : 0;
	out->v = xcalloc(a->n + bn + 1, sizeof *out->v);
	out->n = 0;
	while (i < a->n || j < bn) {
		int c = i == a->n ? 1 : j == bn ? -1 : strcmp(a->v[i], b->v[j]);
		out->v[out->n++] = c <= 0 ? a->v[i] : b->v[j];
		if (c <= 0)
			i++;
		if (c >= 0)
			j++;
	}
}

/* Every name to consider: existing folders and the extra (subscribed) names,
 * merged in order. */
static void list_all(struct session *s, const struct list_req *r, const struct names *all,
		     const struct names *implied, const struct names *extra,
		     const struct names *subs)
{
	size_t i = 0, j = 0;
	while (i < all->n || j < extra->n) {
		int c = i == all->n ? 1 : j == extra->n ? -1 : strcmp(all->v[i], extra->v[j]);
		const char *name = c <= 0 ? all->v[i] : extra->v[j];
		int courier = matches_view(r, name, 1), flat = matches_view(r, name, 0);
		if (courier)
			list_one(s, r, all, implied, subs, name, 1);
		if (flat && (!courier || folder_shown(name, 0) != name))
			list_one(s, r, all, implied, subs, name, 0);
		if (c <= 0)
			i++;
		if (c >= 0)
			j++;
	}
}

void cmd_list(struct session *s, struct parser *ps)
{
	struct list_req r;
	struct names all, subs;
	memset(&r, 0, sizeof r);
	if (parse_list_cmd(s, ps, &r) < 0) {
		out_bad(s, ps);
	} else if (r.npatterns == 1 && r.patterns[0].len == 0 && r.sel == 0) {
		out_str(s, "* LIST (\\Noselect) \".\" \"\"\r\n");
		out_done(s, "OK", "LIST completed");
	} else {
		struct names implied, extra;
		names_all(s, &all);
		names_implied(&all, &implied);
		subs_all(s, &subs);
		/* without the SUBSCRIBED selection: existing folders and their parents */
		merge_names(&implied, (r.sel & SEL_SUBSCRIBED) ? &subs : NULL, &extra);
		list_all(s, &r, &all, &implied, &extra, &subs);
		free(extra.v);
		names_free(&implied);
		names_free(&all);
		names_free(&subs);
		out_done(s, "OK", "LIST completed");
	}
	for (int i = 0; i < r.npatterns; i++)
		buf_free(&r.patterns[i]);
}

/* LSUB: the subscribed names matching; with '%' also the unsubscribed
 * parents of subscribed names that match, as \Noselect (RFC 3501 6.3.9). */
void cmd_lsub(struct session *s, struct parser *ps)
{
	struct buf pattern = BUF_INIT;
	struct names subs, implied;
	if (list_args(s, ps, &pattern) < 0)
		goto done;
	subs_all(s, &subs);
	names_implied(&subs, &implied);
	int courier = folder_pattern_courier(buf_cstr(&pattern));
	for (size_t i = 0; i < subs.n; i++) {
		if (!folder_match(buf_cstr(&pattern), folder_shown(subs.v[i], courier)))
			continue;
		out_str(s, "* LSUB () \".\" ");
		out_mailbox(s, folder_shown(subs.v[i], courier));
		out_str(s, "\r\n");
	}
	for (size_t i = 0; strchr(buf_cstr(&pattern), '%') && i < implied.n; i++) {
		/* shown without the prefix, INBOX is nobody's parent */
		if ((!courier && strcmp(implied.v[i], "INBOX") == 0) ||
		    !folder_match(buf_cstr(&pattern), folder_shown(implied.v[i], courier)))
			continue;
		out_str(s, "* LSUB (\\Noselect) \".\" ");
		out_mailbox(s, folder_shown(implied.v[i], courier));
		out_str(s, "\r\n");
	}
	names_free(&implied);
	names_free(&subs);
	out_done(s, "OK", "LSUB completed");
done:
	buf_free(&pattern);
}
