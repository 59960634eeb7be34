/* mdfunc: patterns, built-in functions and command substitution of the
 * filter language; see mdfunc.h. */
#include "mdfunc.h"

#include "addrlist.h"
#include "alloc.h"
#include "file.h"
#include "mddeliver.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <strings.h>
#include <string.h>
#include <time.h>

void md_escape(struct buf *out, const char *s, size_t len)
{
	static const char special[] = "|!$()[]\\+*?.&;`'-~<>^{}\"\n";
	for (size_t i = 0; i < len; i++) {
		if (s[i] && strchr(special, s[i]))
			buf_append_char(out, '\\');
		buf_append_char(out, s[i]);
	}
}

/* $SHELL -c cmd with the variables as environment. */
enum md_status md_shell(struct md_ctx *c, const struct md_node *n, const char *cmd,
			const struct buf *in, struct buf *out, size_t max, int *status)
{
	const char *shell = md_vars_get_str(&c->vars, "SHELL");
	if (!*shell)
		shell = "/bin/sh";
	char *argv[] = { (char *)shell, (char *)"-c", (char *)cmd, NULL };
	char **env = md_vars_environ(&c->vars);
	struct buf err = BUF_INIT;
	int rc = md_run(argv, env, in, out, max, status, &err);
	md_environ_free(env);
	enum md_status s = MD_OK;
	if (rc < 0)
		s = md_fail(c, n, "%s", buf_cstr(&err));
	buf_free(&err);
	if (s == MD_OK) {
		struct buf v = BUF_INIT;
		buf_printf(&v, "%d", *status);
		s = md_setvar(c, n, "RETURNCODE", 10, v.data, v.len);
		buf_free(&v);
	}
	return s;
}

enum md_status md_backquote(struct md_ctx *c, const struct md_node *n, const struct md_parts *cmd,
			    struct buf *out)
{
	struct buf text = BUF_INIT, res = BUF_INIT;
	int status;
	enum md_status s = md_expand(c, n, cmd, 1, &text);
	if (s == MD_OK)
		s = md_shell(c, n, buf_cstr(&text), &c->msg.data, &res, MD_MAX_CMD_OUTPUT, &status);
	if (s == MD_OK) {
		/* newlines become spaces; leading and trailing spaces go */
		for (size_t i = 0; i < res.len; i++)
			if (res.data[i] == '\n')
				res.data[i] = ' ';
		size_t a = 0, b = res.len;
		while (a < b && isspace((unsigned char)res.data[a]))
			a++;
		while (b > a && isspace((unsigned char)res.data[b - 1]))
			b--;
		buf_append(out, res.data + a, b - a);
	}
	buf_free(&text);
	buf_free(&res);
	return s;
}

static pcre2_code *pattern_code(struct md_ctx *c, const struct md_node *n, int *own,
				enum md_status *s)
{
	struct buf pat = BUF_INIT, err = BUF_INIT;
	int constant = 1;
	*own = 0;
	*s = MD_OK;
	if (n->re)
		return n->re;
	for (size_t i = 0; i < n->parts.n; i++)
		if (n->parts.v[i].kind != MD_PART_LIT)
			constant = 0;
	if ((*s = md_expand(c, n, &n->parts, 0, &pat)) != MD_OK) {
		buf_free(&pat);
		return NULL;
	}
	pcre2_code *re = md_pat_compile(pat.data ? pat.data : "", pat.len, n->pat_flags, &err);
	if (!re)
		*s = md_fail(c, n, "%s", buf_cstr(&err));
	else if (constant)
		((struct md_node *)n)->re = re; /* cache, freed with the tree */
	else
		*own = 1;
	buf_free(&pat);
	buf_free(&err);
	return re;
}

struct match_state {
	struct md_ctx *c;
	const struct md_node *n;
	enum md_status s;
	double score, w;
	int rc;
};

static int set_match_vars(struct match_state *m, const char *subj, pcre2_match_data *md)
{
	PCRE2_SIZE *ov = pcre2_get_ovector_pointer(md);
	uint32_t pairs = pcre2_get_ovector_count(md);
	char name[32];
	for (uint32_t i = 0; i < pairs && m->s == MD_OK; i++) {
		size_t len = ov[2 * i] == PCRE2_UNSET ? 0 : ov[2 * i + 1] - ov[2 * i];
		const char *p = ov[2 * i] == PCRE2_UNSET ? "" : subj + ov[2 * i];
		if (i == 0)
			snprintf(name, sizeof name, "MATCH");
		else
			snprintf(name, sizeof name, "MATCH%u", (unsigned)i);
		m->s = md_setvar(m->c, m->n, name, strlen(name), p, len);
	}
	return m->s != MD_OK;
}

static int on_match(void *arg, const char *subj, size_t len, pcre2_match_data *md)
{
	struct match_state *m = arg;
	(void)len;
	if (!(m->n->pat_flags & MD_PAT_WEIGHT)) {
		set_match_vars(m, subj, md);
		m->rc = 1;
		return 1;
	}
	if (m->rc == 0 && set_match_vars(m, subj, md))
		return 1;
	m->rc = 1;
	m->score += m->w;
	m->w *= m->n->w2;
	return 0;
}

enum md_status md_pattern(struct md_ctx *c, const struct md_node *n, struct buf *out)
{
	int own, limited = 0;
	enum md_status s;
	struct buf subj = BUF_INIT;
	if (n->nkids && (s = md_eval(c, n->kids[0], &subj)) != MD_OK) {
		buf_free(&subj);
		return s;
	}
	pcre2_code *re = pattern_code(c, n, &own, &s);
	if (!re) {
		buf_free(&subj);
		return s;
	}
	struct match_state m = { c, n, MD_OK, 0, n->w1, 0 };
	if (n->nkids)
		md_pat_search_str(subj.data, subj.len, re, 0, on_match, &m, &limited);
	else
		md_pat_search(&c->msg, re, n->pat_flags, 0, on_match, &m, &limited);
	if (own)
		pcre2_code_free(re);
	buf_free(&subj);
	buf_reset(out);
	if (n->pat_flags & MD_PAT_WEIGHT)
		md_put_num(out, m.score);
	else if (!m.rc)
		buf_set_str(out, "0");
	else /* Courier's maildrop 2.9 gives 2 for a found message pattern, 1 for =~ */
		buf_set_str(out, n->nkids ? "1" : "2");
	return m.s;
}

#define MD_FOREACH_GROUPS 99 /* MATCH1..MATCH99 */

struct collect {
	struct buf *items;
	size_t n, cap;
	int over;
	struct buf groups[MD_FOREACH_GROUPS]; /* MATCH1.. of the last match */
	size_t ngroups;
};

static int on_collect(void *arg, const char *subj, size_t len, pcre2_match_data *md)
{
	struct collect *col = arg;
	PCRE2_SIZE *ov = pcre2_get_ovector_pointer(md);
	(void)len;
	if (col->n >= MD_MAX_LOOP) {
		col->over = 1;
		return 1;
	}
	if (col->n == col->cap) {
		col->cap = col->cap ? col->cap * 2 : 16;
		col->items = xreallocarray(col->items, col->cap, sizeof *col->items);
	}
	buf_init(&col->items[col->n]);
	buf_set(&col->items[col->n++], subj + ov[0], ov[1] - ov[0]);
	uint32_t pairs = pcre2_get_ovector_count(md);
	col->ngroups = 0;
	for (uint32_t i = 1; i < pairs && col->ngroups < MD_FOREACH_GROUPS; i++) {
		struct buf *g = &col->groups[col->ngroups++];
		buf_reset(g);
		if (ov[2 * i] != PCRE2_UNSET)
			buf_append(g, subj + ov[2 * i], ov[2 * i + 1] - ov[2 * i]);
	}
	return 0;
}

/* Matches are collected first: the block may change the message. */
enum md_status md_foreach(struct md_ctx *c, const struct md_node *n, md_exec_fn exec)
{
	const struct md_node *pat = n->kids[0];
	struct collect col;
	memset(&col, 0, sizeof col);
	struct buf subj = BUF_INIT;
	int own, limited = 0;
	enum md_status s = pat->nkids ? md_eval(c, pat->kids[0], &subj) : MD_OK;
	pcre2_code *re = s == MD_OK ? pattern_code(c, pat, &own, &s) : NULL;
	if (re) {
		/* every match in a string; in the message the first of each
		 * line, as Courier's maildrop */
		if (pat->nkids)
			md_pat_search_str(subj.data, subj.len, re, 1, on_collect, &col, &limited);
		else
			md_pat_search(&c->msg, re, pat->pat_flags, 0, on_collect, &col, &limited);
		if (own)
			pcre2_code_free(re);
	}
	if (col.over) {
		c->fatal = 1;
		s = md_fail(c, n, "foreach: more than %d matches", MD_MAX_LOOP);
	}
	/* Courier's maildrop leaves MATCH1.. as the last match set them */
	for (size_t i = 0; i < col.ngroups && s == MD_OK; i++) {
		char name[32];
		snprintf(name, sizeof name, "MATCH%zu", i + 1);
		s = md_setvar(c, n, name, strlen(name), col.groups[i].data ? col.groups[i].data : "",
			      col.groups[i].len);
	}
	for (size_t i = 0; i < col.n && s == MD_OK; i++) {
		s = md_setvar(c, n, "MATCH", 5, col.items[i].data, col.items[i].len);
		if (s == MD_OK)
			s = exec(c, n->kids[1]);
	}
	for (size_t i = 0; i < col.n; i++)
		buf_free(&col.items[i]);
	for (size_t i = 0; i < MD_FOREACH_GROUPS; i++)
		buf_free(&col.groups[i]);
	free(col.items);
	buf_free(&subj);
	return s;
}

/* hasaddr: the address in any To, Cc, Resent-To or Resent-Cc header. */
static int has_addr(struct md_ctx *c, const struct buf *want)
{
	static const char *const hdrs[] = { "to:", "cc:", "resent-to:", "resent-cc:" };
	const char *p = c->msg.unfolded.data ? c->msg.unfolded.data : "";
	size_t len = c->msg.unfolded.len;
	for (size_t i = 0; i < len;) {
		const char *nl = memchr(p + i, '\n', len - i);
		size_t n = nl ? (size_t)(nl - (p + i)) : len - i;
		for (size_t h = 0; h < 4; h++) {
			size_t hl = strlen(hdrs[h]);
			if (n < hl || strncasecmp(p + i, hdrs[h], hl))
				continue;
			struct buf list = BUF_INIT;
			addrlist_extract(p + i + hl, n - hl, NULL, '\n', &list, NULL);
			const char *a = buf_cstr(&list);
			for (const char *e; *a; a = e + 1) {
				e = strchr(a, '\n');
				if ((size_t)(e - a) == want->len && !strncasecmp(a, want->data, want->len)) {
					buf_free(&list);
					return 1;
				}
			}
			buf_free(&list);
		}
		i += n + 1;
	}
	return 0;
}

/* lookup(expr, file, opts): any line of file, as a pattern, matches expr. */
static enum md_status lookup(struct md_ctx *c, const struct md_node *n, const struct buf *v,
			     const char *file, const char *opts, struct buf *out)
{
	struct buf text = BUF_INIT, err = BUF_INIT;
	unsigned flags = strchr(opts, 'D') ? MD_PAT_CASE : 0;
	int found = 0, limited = 0;
	if (file_read(file, &text, MD_MAX_FILTER) < 0) {
		buf_free(&text);
		return md_fail(c, n, "lookup: cannot read %s", file);
	}
	const char *p = buf_cstr(&text);
	while (*p && !found) {
		const char *nl = strchr(p, '\n');
		size_t len = nl ? (size_t)(nl - p) : strlen(p);
		size_t a = 0;
		while (a < len && (p[a] == ' ' || p[a] == '\t'))
			a++;
		if (a < len && p[a] != '#') {
			pcre2_code *re = md_pat_compile(p + a, len - a, flags, &err);
			struct match_state m = { c, n, MD_OK, 0, 0, 0 };
			if (re) {
				md_pat_search_str(v->data, v->len, re, 0, on_match, &m, &limited);
				pcre2_code_free(re);
				found = m.rc;
			}
		}
		p = nl ? nl + 1 : p + len;
	}
	buf_set_str(out, found ? "1" : "0");
	buf_free(&text);
	buf_free(&err);
	return MD_OK;
}

static enum md_status call_fn(struct md_ctx *c, const struct md_node *n, struct buf *a,
			      struct buf *out)
{
	switch (n->op) {
	case MD_FN_HASADDR:
		buf_set_str(out, has_addr(c, &a[0]) ? "1" : "0");
		return MD_OK;
	case MD_FN_GETADDR:
		addrlist_extract(a[0].data ? a[0].data : "", a[0].len, NULL, '\n', out, NULL);
		return MD_OK;
	case MD_FN_LOOKUP:
		return lookup(c, n, &a[0], buf_cstr(&a[1]), n->nkids > 2 ? buf_cstr(&a[2]) : "", out);
	case MD_FN_LENGTH:
		md_put_num(out, (double)a[0].len);
		return MD_OK;
	case MD_FN_SUBSTR: {
		double st = md_num(&a[1]), cnt = n->nkids > 2 ? md_num(&a[2]) : (double)a[0].len;
		if (st <= -1) /* a start before the string gives nothing, as Courier's */
			st = (double)a[0].len;
		size_t from = st <= 0 ? 0 : st >= (double)a[0].len ? a[0].len : (size_t)st;
		size_t k = cnt <= 0 ? 0 : cnt >= (double)(a[0].len - from) ? a[0].len - from : (size_t)cnt;
		buf_set(out, a[0].data ? a[0].data + from : "", k);
		return MD_OK;
	}
	case MD_FN_ESCAPE:
		md_escape(out, a[0].data ? a[0].data : "", a[0].len);
		return MD_OK;
	case MD_FN_TOLOWER:
	case MD_FN_TOUPPER:
		buf_set(out, a[0].data ? a[0].data : "", a[0].len);
		for (size_t i = 0; i < out->len; i++)
			out->data[i] = (char)(n->op == MD_FN_TOLOWER ? tolower((unsigned char)out->data[i])
								     : toupper((unsigned char)out->data[i]));
		return MD_OK;
	default:
		md_put_num(out, (double)time(NULL));
		return MD_OK;
	}
}

enum md_status md_call(struct md_ctx *c, const struct md_node *n, struct buf *out)
{
	struct buf a[3] = { BUF_INIT, BUF_INIT, BUF_INIT };
	enum md_status s = MD_OK;
	for (size_t i = 0; i < n->nkids && i < 3 && s == MD_OK; i++)
		s = md_eval(c, n->kids[i], &a[i]);
	if (s == MD_OK) {
		buf_reset(out);
		s = call_fn(c, n, a, out);
	}
	for (size_t i = 0; i < 3; i++)
		buf_free(&a[i]);
	return s;
}
