/* cmd_search: SEARCH and UID SEARCH (RFC 3501 6.4.4). The criteria become a
 * tree (nesting bounded by IMAPD_MAX_DEPTH, keys by SEARCH_MAX_KEYS), then
 * every message is tested; a message is read only for keys that need its
 * text. Text keys match case-insensitively (ASCII letters) on the decoded
 * text (lib/mimetext: encoded words, transfer encodings, charsets to UTF-8). */
#include "imapd.h"

#include "addrlist.h"
#include "alloc.h"
#include "date.h"
#include "mime.h"
#include "mimetext.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define SEARCH_MAX_KEYS 256

enum skind { K_AND, K_OR, K_NOT, K_ALL, K_FLAG, K_UNFLAG, K_NEW, K_OLD, K_RECENT, K_LARGER,
	     K_SMALLER, K_UID, K_SEQ, K_BEFORE, K_ON, K_SINCE, K_SBEFORE, K_SON, K_SSINCE,
	     K_HEADER, K_BODY, K_TEXT, K_MODSEQ };

struct skey {
	enum skind kind;
	int a, b;          /* children (AND: first child; OR: two; NOT: one), -1 none */
	int next;          /* next sibling in an AND list */
	int flag;          /* Maildir letter */
	uint64_t num;
	struct seqset set;
	struct buf field, value;
};

struct search {
	struct skey k[SEARCH_MAX_KEYS];
	int n;
	int modseq;        /* a MODSEQ key was used: the reply gives the highest */
};

static const struct {
	const char *name;
	enum skind kind;
	int flag;
} flag_keys[] = {
	{ "ANSWERED", K_FLAG, 'R' },   { "DELETED", K_FLAG, 'T' },   { "FLAGGED", K_FLAG, 'F' },
	{ "SEEN", K_FLAG, 'S' },       { "DRAFT", K_FLAG, 'D' },     { "UNANSWERED", K_UNFLAG, 'R' },
	{ "UNDELETED", K_UNFLAG, 'T' }, { "UNFLAGGED", K_UNFLAG, 'F' }, { "UNSEEN", K_UNFLAG, 'S' },
	{ "UNDRAFT", K_UNFLAG, 'D' },  { "ALL", K_ALL, 0 },          { "NEW", K_NEW, 0 },
	{ "OLD", K_OLD, 0 },           { "RECENT", K_RECENT, 0 },
};

static const struct {
	const char *name;
	enum skind kind;
	const char *field;
} str_keys[] = {
	{ "FROM", K_HEADER, "From" }, { "TO", K_HEADER, "To" },   { "CC", K_HEADER, "Cc" },
	{ "BCC", K_HEADER, "Bcc" },   { "SUBJECT", K_HEADER, "Subject" },
	{ "BODY", K_BODY, NULL },     { "TEXT", K_TEXT, NULL },
};

static const struct {
	const char *name;
	enum skind kind;
} date_keys[] = {
	{ "BEFORE", K_BEFORE }, { "ON", K_ON }, { "SINCE", K_SINCE },
	{ "SENTBEFORE", K_SBEFORE }, { "SENTON", K_SON }, { "SENTSINCE", K_SSINCE },
};

static int new_key(struct search *se, struct parser *ps, enum skind kind)
{
	if (se->n >= SEARCH_MAX_KEYS) {
		ps->err = "Too many search keys";
		return -1;
	}
	struct skey *k = &se->k[se->n];
	memset(k, 0, sizeof *k);
	k->kind = kind;
	k->a = k->b = k->next = -1;
	return se->n++;
}

static int parse_key(struct session *s, struct search *se, struct parser *ps);

/* Keys up to ')' or the end: an AND node. */
static int parse_list(struct session *s, struct search *se, struct parser *ps, int paren)
{
	int node = new_key(se, ps, K_AND), last = -1;
	if (node < 0)
		return -1;
	if (++ps->depth > IMAPD_MAX_DEPTH) {
		ps->err = "Search criteria nested too deeply";
		return -1;
	}
	for (int i = 0;; i++) {
		if (paren ? p_peek(ps, ')') : ps->p == ps->end)
			break;
		if (i > 0 && p_sp(ps) < 0)
			return -1;
		int k = parse_key(s, se, ps);
		if (k < 0)
			return -1;
		if (last < 0)
			se->k[node].a = k;
		else
			se->k[last].next = k;
		last = k;
	}
	ps->depth--;
	if (last < 0) {
		ps->err = "Missing search key";
		return -1;
	}
	return node;
}

static int parse_word_key(struct session *s, struct search *se, struct parser *ps, const char *w)
{
	int k;
	for (size_t i = 0; i < sizeof flag_keys / sizeof flag_keys[0]; i++)
		if (strcasecmp(w, flag_keys[i].name) == 0) {
			if ((k = new_key(se, ps, flag_keys[i].kind)) >= 0)
				se->k[k].flag = flag_keys[i].flag;
			return k;
		}
	if (strcasecmp(w, "KEYWORD") == 0 || strcasecmp(w, "UNKEYWORD") == 0) {
		struct buf kw = BUF_INIT;
		int ok = p_sp(ps) == 0 && p_atom(ps, &kw) == 0;
		int letter = ok ? keywords_letter(s->sel, buf_cstr(&kw), 0) : 0;
		buf_free(&kw);
		if (!ok || (k = new_key(se, ps, w[0] == 'K' || w[0] == 'k' ? K_FLAG : K_UNFLAG)) < 0)
			return -1;
		se->k[k].flag = letter > 0 ? letter : 1; /* 1: a flag no message has */
		return k;
	}
	for (size_t i = 0; i < sizeof str_keys / sizeof str_keys[0]; i++)
		if (strcasecmp(w, str_keys[i].name) == 0) {
			if ((k = new_key(se, ps, str_keys[i].kind)) < 0)
				return -1;
			if (str_keys[i].field)
				buf_set_str(&se->k[k].field, str_keys[i].field);
			return p_sp(ps) == 0 && p_astring(ps, &se->k[k].value) == 0 ? k : -1;
		}
	if (strcasecmp(w, "HEADER") == 0) {
		if ((k = new_key(se, ps, K_HEADER)) < 0)
			return -1;
		return p_sp(ps) == 0 && p_astring(ps, &se->k[k].field) == 0 && p_sp(ps) == 0 &&
		       p_astring(ps, &se->k[k].value) == 0 ? k : -1;
	}
	for (size_t i = 0; i < sizeof date_keys / sizeof date_keys[0]; i++)
		if (strcasecmp(w, date_keys[i].name) == 0) {
			struct buf d = BUF_INIT;
			time_t day;
			int ok = p_sp(ps) == 0 && p_astring(ps, &d) == 0 &&
				 date_parse_imap_date(d.data, d.len, &day, NULL) == 0;
			buf_free(&d);
			if (!ok || (k = new_key(se, ps, date_keys[i].kind)) < 0)
				return ok ? -1 : (ps->err = "Bad date", -1);
			se->k[k].num = (uint64_t)day;
			return k;
		}
	if (strcasecmp(w, "LARGER") == 0 || strcasecmp(w, "SMALLER") == 0) {
		if ((k = new_key(se, ps, w[0] == 'L' || w[0] == 'l' ? K_LARGER : K_SMALLER)) < 0)
			return -1;
		return p_sp(ps) == 0 && p_number(ps, &se->k[k].num) == 0 ? k : -1;
	}
	if (strcasecmp(w, "MODSEQ") == 0) {
		/* RFC 7162 3.1.5: MODSEQ ["/flags/name" all|priv|shared] n */
		struct buf e = BUF_INIT;
		int ok = p_sp(ps) == 0;
		if (ok && p_peek(ps, '"'))
			ok = p_string(ps, &e) == 0 && p_sp(ps) == 0 && p_atom(ps, &e) == 0 &&
			     (strcasecmp(buf_cstr(&e), "all") == 0 ||
			      strcasecmp(buf_cstr(&e), "priv") == 0 ||
			      strcasecmp(buf_cstr(&e), "shared") == 0) && p_sp(ps) == 0;
		buf_free(&e);
		if (!ok || (k = new_key(se, ps, K_MODSEQ)) < 0 || p_number(ps, &se->k[k].num) < 0)
			return -1;
		se->modseq = 1;
		condstore_enable(s);
		return k;
	}
	if (strcasecmp(w, "UID") == 0) {
		if ((k = new_key(se, ps, K_UID)) < 0)
			return -1;
		return p_sp(ps) == 0 && seqset_parse(ps, &se->k[k].set) == 0 ? k : -1;
	}
	if (strcasecmp(w, "NOT") == 0 || strcasecmp(w, "OR") == 0) {
		int or = w[0] == 'O' || w[0] == 'o';
		if ((k = new_key(se, ps, or ? K_OR : K_NOT)) < 0)
			return -1;
		if (++ps->depth > IMAPD_MAX_DEPTH * 4) {
			ps->err = "Search criteria nested too deeply";
			return -1;
		}
		int a = p_sp(ps) == 0 ? parse_key(s, se, ps) : -1;
		int b = a >= 0 && or ? (p_sp(ps) == 0 ? parse_key(s, se, ps) : -1) : 0;
		ps->depth--;
		if (a < 0 || b < 0)
			return -1;
		se->k[k].a = a;
		se->k[k].b = or ? b : -1;
		return k;
	}
	ps->err = "Unknown search key";
	return -1;
}

static int parse_key(struct session *s, struct search *se, struct parser *ps)
{
	if (p_peek(ps, '(')) {
		ps->p++;
		int k = parse_list(s, se, ps, 1);
		return k >= 0 && p_char(ps, ')') == 0 ? k : -1;
	}
	if (ps->p < ps->end && ((*ps->p >= '0' && *ps->p <= '9') || *ps->p == '*' || *ps->p == '$')) {
		int k = new_key(se, ps, K_SEQ);
		return k >= 0 && seqset_parse(ps, &se->k[k].set) == 0 ? k : -1;
	}
	struct buf w = BUF_INIT;
	int k = p_atom(ps, &w) == 0 ? parse_word_key(s, se, ps, buf_cstr(&w)) : -1;
	buf_free(&w);
	return k;
}

struct mctx {
	struct session *s;
	struct msg *m;
	size_t seq;
	struct buf raw;
	struct mime_msg mime;
	int loaded, failed;
	struct buf body;   /* the decoded text of the body (mimetext) */
	int have_body;
};

static const struct buf *decoded_body(struct mctx *c)
{
	if (!c->have_body) {
		c->have_body = 1;
		mimetext_body(&c->body, &c->mime, 0);
	}
	return &c->body;
}

static int load(struct mctx *c)
{
	if (!c->loaded) {
		c->loaded = 1;
		c->failed = mailbox_read_msg(c->s->sel, c->m, &c->raw) < 0;
		if (!c->failed)
			mime_parse(&c->mime, c->raw.data ? c->raw.data : "", c->raw.len);
	}
	return c->failed ? -1 : 0;
}

static int contains(const char *hay, size_t hl, const struct buf *needle)
{
	return mimetext_contains(hay, hl, needle->data ? needle->data : "", needle->len);
}

/* A header value, encoded words decoded. */
static int header_contains(const char *v, size_t len, const struct buf *needle)
{
	struct buf d = BUF_INIT;
	mimetext_header(&d, v, len);
	int r = contains(d.data ? d.data : "", d.len, needle);
	buf_free(&d);
	return r;
}

/* HEADER, FROM, ...: any field of that name contains the value (RFC 3501:
 * an empty value matches every message that has the field). */
struct hdr_match {
	const struct skey *k;
	int found;
};

static int is_address_field(const char *name, size_t n)
{
	static const char *const f[] = { "From", "To", "Cc", "Bcc", "Sender", "Reply-To" };
	for (size_t i = 0; i < sizeof f / sizeof f[0]; i++)
		if (strlen(f[i]) == n && strncasecmp(name, f[i], n) == 0)
			return 1;
	return 0;
}

static int header_fn(const char *name, size_t nlen, const char *v, size_t vlen, size_t foff,
		     size_t flen, void *ctx)
{
	struct hdr_match *hm = ctx;
	(void)foff;
	(void)flen;
	if (hm->found || nlen != hm->k->field.len ||
	    strncasecmp(name, hm->k->field.data, nlen) != 0)
		return 0;
	hm->found = header_contains(v, vlen, &hm->k->value);
	if (!hm->found && is_address_field(name, nlen)) {
		/* also the canonical addresses: "<a (x)@ (y) b.org>" is a@b.org */
		struct addrlist_opts o = { 0, 0, 0, ADDRLIST_KEEP_INVALID };
		struct buf addrs = BUF_INIT;
		addrlist_extract(v, vlen, &o, '\n', &addrs, NULL);
		hm->found = contains(addrs.data ? addrs.data : "", addrs.len, &hm->k->value);
		buf_free(&addrs);
	}
	return hm->found;
}

static int64_t day_of(time_t t)
{
	return (int64_t)t / 86400 - ((int64_t)t % 86400 < 0);
}

static int date_cmp(time_t t, uint64_t day, enum skind k)
{
	int64_t a = day_of(t), b = day_of((time_t)day);
	if (k == K_BEFORE || k == K_SBEFORE)
		return a < b;
	if (k == K_ON || k == K_SON)
		return a == b;
	return a >= b;
}

static int sent_date(struct mctx *c, time_t *t)
{
	struct buf v = BUF_INIT;
	int zone = 0, ok = load(c) == 0 &&
			   mime_header_get(c->mime.data, c->mime.parts[0].hdr_len, "Date", &v) &&
			   date_parse_rfc5322(v.data, v.len, t, &zone, NULL) == 0;
	buf_free(&v);
	if (ok)
		*t += (time_t)zone * 60; /* RFC 3501 SENT*: the date as written, zone disregarded */
	return ok ? 0 : -1;
}

static int eval(struct search *se, int i, struct mctx *c)
{
	struct skey *k = &se->k[i];
	struct msg *m = c->m;
	struct mailbox *mb = c->s->sel;
	time_t t;
	switch (k->kind) {
	case K_AND:
		for (int x = k->a; x >= 0; x = se->k[x].next)
			if (!eval(se, x, c))
				return 0;
		return 1;
	case K_OR: return eval(se, k->a, c) || eval(se, k->b, c);
	case K_NOT: return !eval(se, k->a, c);
	case K_ALL: return 1;
	case K_FLAG: return mdflags_has(&m->flags, k->flag);
	case K_UNFLAG: return !mdflags_has(&m->flags, k->flag);
	case K_RECENT: return m->recent;
	case K_NEW: return m->recent && !mdflags_has(&m->flags, MDFLAG_SEEN);
	case K_OLD: return !m->recent;
	case K_LARGER: return mailbox_msg_size(mb, m) > k->num;
	case K_SMALLER: return mailbox_msg_size(mb, m) < k->num;
	case K_MODSEQ: return m->modseq >= k->num;
	case K_UID: return seqset_has(&k->set, m->uid, mb->count ? mb->msgs[mb->count - 1].uid : 0);
	case K_SEQ:
		if (k->set.uids) /* "$": the saved UIDs */
			return seqset_has(&k->set, m->uid, UINT32_MAX);
		return seqset_has(&k->set, (uint32_t)c->seq, (uint32_t)mb->count);
	case K_BEFORE:
	case K_ON:
	case K_SINCE: return date_cmp(mailbox_msg_mtime(mb, m), k->num, k->kind);
	case K_SBEFORE:
	case K_SON:
	case K_SSINCE: return sent_date(c, &t) == 0 && date_cmp(t, k->num, k->kind);
	case K_HEADER: {
		struct hdr_match hm = { k, 0 };
		if (load(c) == 0)
			mime_header_each(c->mime.data, c->mime.parts[0].hdr_len, header_fn, &hm);
		return hm.found;
	}
	case K_BODY:
		return load(c) == 0 && contains(decoded_body(c)->data ? decoded_body(c)->data : "",
						decoded_body(c)->len, &k->value);
	case K_TEXT:
		return load(c) == 0 &&
		       (header_contains(c->mime.data, c->mime.parts[0].hdr_len, &k->value) ||
			contains(decoded_body(c)->data ? decoded_body(c)->data : "",
				 decoded_body(c)->len, &k->value));
	}
	return 0;
}

static void search_free(struct search *se)
{
	for (int i = 0; i < se->n; i++) {
		seqset_free(&se->k[i].set);
		buf_free(&se->k[i].field);
		buf_free(&se->k[i].value);
	}
}

enum { R_MIN = SEARCH_RET_MIN, R_MAX = SEARCH_RET_MAX, R_ALL = SEARCH_RET_ALL,
       R_COUNT = SEARCH_RET_COUNT, R_SAVE = SEARCH_RET_SAVE };

int search_parse_return(struct parser *ps, struct buf *w)
{
	static const char *const names[] = { "MIN", "MAX", "ALL", "COUNT", "SAVE" };
	int r = 0;
	if (p_sp(ps) < 0 || p_char(ps, '(') < 0)
		return -1;
	for (int i = 0; !p_peek(ps, ')'); i++) {
		if ((i > 0 && p_sp(ps) < 0) || p_atom(ps, w) < 0)
			return -1;
		int k = 0;
		while (k < 5 && strcasecmp(buf_cstr(w), names[k]) != 0)
			k++;
		if (k == 5) {
			ps->err = "Unknown RETURN option";
			return -1;
		}
		r |= 1 << k;
	}
	if (p_char(ps, ')') < 0 || p_sp(ps) < 0)
		return -1;
	return r ? r : R_ALL;
}

static void out_esearch(struct session *s, const uint32_t *v, size_t n, int ret,
			uint64_t modseq)
{
	out_fmt(s, "* ESEARCH (TAG \"%s\")%s", s->tag, s->uid ? " UID" : "");
	if (n > 0 && (ret & R_MIN))
		out_fmt(s, " MIN %lu", (unsigned long)v[0]);
	if (n > 0 && (ret & R_MAX))
		out_fmt(s, " MAX %lu", (unsigned long)v[n - 1]);
	if (ret & R_COUNT)
		out_fmt(s, " COUNT %zu", n);
	if (n > 0 && (ret & R_ALL)) {
		struct buf set = BUF_INIT;
		seqset_format(&set, v, n);
		out_fmt(s, " ALL %s", buf_cstr(&set));
		buf_free(&set);
	}
	if (modseq > 0 && n > 0)
		out_fmt(s, " MODSEQ %llu", (unsigned long long)modseq);
	out_str(s, "\r\n");
}

/* The optional RETURN and CHARSET before the criteria; -1 after a reply. */
static int search_prefix(struct session *s, struct parser *ps, struct buf *w, int *ret)
{
	const char *save = ps->p;
	*ret = 0;
	if (p_atom(ps, w) == 0 && strcasecmp(buf_cstr(w), "RETURN") == 0) {
		if ((*ret = search_parse_return(ps, w)) < 0) {
			out_bad(s, ps);
			return -1;
		}
		save = ps->p;
		if (p_atom(ps, w) < 0)
			buf_reset(w);
	}
	if (strcasecmp(buf_cstr(w), "CHARSET") == 0) {
		if (p_sp(ps) < 0 || p_astring(ps, w) < 0 || p_sp(ps) < 0) {
			out_bad(s, ps);
			return -1;
		}
		if (strcasecmp(buf_cstr(w), "UTF-8") != 0 && strcasecmp(buf_cstr(w), "US-ASCII") != 0) {
			out_tagged(s, "NO", "[BADCHARSET (UTF-8 US-ASCII)] Unsupported charset");
			return -1;
		}
	} else {
		ps->p = save;
		ps->err = NULL;
	}
	return 0;
}

static void mctx_free(struct mctx *c)
{
	buf_free(&c->raw);
	buf_free(&c->body);
	if (c->loaded && !c->failed)
		mime_free(&c->mime);
}

int search_matches(struct session *s, struct parser *ps, char *hit)
{
	struct search *se = xcalloc(1, sizeof *se);
	int root = parse_list(s, se, ps, 0);
	if (root >= 0 && p_eol(ps) < 0)
		root = -1;
	for (size_t i = 0; root >= 0 && i < s->sel->count; i++) {
		struct mctx c;
		memset(&c, 0, sizeof c);
		c.s = s;
		c.m = &s->sel->msgs[i];
		c.seq = i + 1;
		hit[i] = !c.m->gone && eval(se, root, &c);
		mctx_free(&c);
	}
	search_free(se);
	free(se);
	return root >= 0 ? 0 : -1;
}

/* The message a SEARCH result number (UID or sequence) names, or NULL. */
static const struct msg *search_msg(struct session *s, uint32_t v)
{
	struct mailbox *mb = s->sel;
	if (!s->uid)
		return v >= 1 && v <= mb->count ? &mb->msgs[v - 1] : NULL;
	size_t lo = 0, hi = mb->count;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (mb->msgs[mid].uid < v)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < mb->count && mb->msgs[lo].uid == v ? &mb->msgs[lo] : NULL;
}

/* RFC 5182: the saved result is the UIDs found, or only MIN and/or MAX. */
static void search_save(struct session *s, const uint32_t *v, size_t n, int ret)
{
	uint32_t *u = xcalloc(n ? n : 1, sizeof *u);
	size_t k = 0;
	for (size_t i = 0; i < n; i++) {
		int want = (ret & (R_ALL | R_COUNT)) || !(ret & (R_MIN | R_MAX)) ||
			   ((ret & R_MIN) && i == 0) || ((ret & R_MAX) && i == n - 1);
		if (want)
			u[k++] = s->uid ? v[i] : s->sel->msgs[v[i] - 1].uid;
	}
	seqset_from_uids(&s->sel->saved, u, k);
	free(u);
}

static void search_reply(struct session *s, const uint32_t *found, size_t nfound, int ret,
			 uint64_t modseq)
{
	if (ret & R_SAVE)
		search_save(s, found, nfound, ret);
	if (ret == R_SAVE)
		return; /* SAVE alone: no ESEARCH response */
	if (ret == 0 && s->rev2)
		ret = R_ALL; /* IMAP4rev2 answers SEARCH with ESEARCH */
	if (ret) {
		out_esearch(s, found, nfound, ret, modseq);
	} else {
		out_str(s, "* SEARCH");
		for (size_t i = 0; i < nfound; i++)
			out_fmt(s, " %lu", (unsigned long)found[i]);
		if (modseq > 0 && nfound > 0)
			out_fmt(s, " (MODSEQ %llu)", (unsigned long long)modseq);
		out_str(s, "\r\n");
	}
}

void cmd_search(struct session *s, struct parser *ps)
{
	struct search *se = xcalloc(1, sizeof *se);
	struct buf w = BUF_INIT;
	uint32_t *found = NULL;
	size_t nfound = 0;
	int root = -1, ret = 0;
	if (p_sp(ps) < 0)
		goto bad;
	if (search_prefix(s, ps, &w, &ret) < 0) {
		if (ret > 0 && (ret & R_SAVE))
			seqset_free(&s->sel->saved);
		goto done;
	}
	root = parse_list(s, se, ps, 0);
	if (root < 0 || p_eol(ps) < 0)
		goto bad;
	found = xcalloc(s->sel->count ? s->sel->count : 1, sizeof *found);
	uint64_t top = 0;
	for (size_t i = 0; i < s->sel->count; i++) {
		struct mctx c;
		memset(&c, 0, sizeof c);
		c.s = s;
		c.m = &s->sel->msgs[i];
		c.seq = i + 1;
		if (!c.m->gone && eval(se, root, &c)) {
			found[nfound++] = s->uid ? c.m->uid : (uint32_t)(i + 1);
			if (c.m->modseq > top)
				top = c.m->modseq;
		}
		mctx_free(&c);
	}
	if (se->modseq && (ret & (R_MIN | R_MAX)) && !(ret & (R_ALL | R_COUNT)) && nfound > 0) {
		/* RFC 7162 3.1.5 with RFC 4731: the modseq of what is returned */
		top = 0;
		for (size_t i = 0; i < nfound; i++)
			if (((ret & R_MIN) && i == 0) || ((ret & R_MAX) && i == nfound - 1)) {
				const struct msg *m = search_msg(s, found[i]);
				if (m != NULL && m->modseq > top)
					top = m->modseq;
			}
	}
	search_reply(s, found, nfound, ret, se->modseq ? top : 0);
	out_done(s, "OK", "SEARCH completed");
	goto done;
bad:
	if (ret & R_SAVE)
		seqset_free(&s->sel->saved); /* a failed SEARCH ... SAVE empties "$" */
	out_bad(s, ps);
done:
	free(found);
	search_free(se);
	free(se);
	buf_free(&w);
}
