/* addrlist: RFC 5322 address-list parser over header values.
 *
 * A pre-scan refuses NUL bytes, control bytes and line breaks that are not
 * folding; a lexer then yields atoms, quoted strings, domain literals and
 * specials, skipping CFWS (comments nested at most ADDRLIST_MAX_NESTING
 * deep, without recursion). A small recursive-descent parser (never deeper
 * than address -> group -> address) builds each mailbox and hands it to
 * addr_parse_mailbox(), the one strict address parser. Linear in the input. */
#include "addrlist.h"
#include "alloc.h"

#include <stdlib.h>
#include <string.h>

enum tok_kind { TOK_END, TOK_ATOM, TOK_QSTR, TOK_DLIT, TOK_SPECIAL };

struct tok {
	enum tok_kind kind;
	unsigned char c;           /* the character of a TOK_SPECIAL */
	size_t start, end;         /* its span in the input */
	int has_com;               /* a comment came just before it: */
	size_t com_start, com_end; /* its contents */
};

struct parser {
	const unsigned char *s;
	size_t len, pos;
	struct tok tok;
	int have_tok;
	struct addrlist_error err;
	int failed;
	struct addrlist_opts opts;
	struct addrlist *out;
	size_t first;                   /* out's count before this parse */
	struct buf local, domain, mbox; /* scratch for the mailbox in hand */
	struct buf route;               /* its obs-route, "@a,@b" */
};

static int fail(struct parser *p, enum addrlist_err code, size_t offset)
{
	if (!p->failed) {
		p->failed = 1;
		p->err.code = code;
		p->err.offset = offset;
	}
	return -1;
}

/* ---- pre-scan ---- */

static int is_wsp(unsigned char c)
{
	return c == ' ' || c == '\t';
}

/* NUL and control bytes are refused; CR and LF only as folding (CRLF or
 * LF followed by a space or tab), after which the lexer may treat them as
 * white space. */
static int prescan(struct parser *p)
{
	const unsigned char *s = p->s;
	for (size_t i = 0; i < p->len; i++) {
		unsigned char c = s[i];
		if (c == '\r' && i + 1 < p->len && s[i + 1] == '\n')
			c = s[++i];
		if (c == '\n' && i + 1 < p->len && is_wsp(s[i + 1]))
			continue;
		if ((c < 0x20 && c != '\t') || c == 0x7f)
			return fail(p, ADDRLIST_ERR_CONTROL, i);
	}
	return 0;
}

/* ---- lexer ---- */

static int is_space(unsigned char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static int is_atext(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c >= '0' && c <= '9') || c >= 0x80 ||
	       (c && strchr("!#$%&'*+-/=?^_`{|}~", c));
}

/* A quoted-pair at s[i] == '\\': it must escape a visible byte or WSP. */
static int quoted_pair_ok(const struct parser *p, size_t i)
{
	return i + 1 < p->len && p->s[i + 1] != '\r' && p->s[i + 1] != '\n';
}

/* Skip the comment opening at p->pos; counts depth instead of recursing. */
static int skip_comment(struct parser *p)
{
	size_t open = p->pos, depth = 0;
	for (size_t i = p->pos; i < p->len; i++) {
		unsigned char c = p->s[i];
		if (c == '\\') {
			if (!quoted_pair_ok(p, i))
				return fail(p, ADDRLIST_ERR_SYNTAX, i);
			i++;
		} else if (c == '(' && ++depth > ADDRLIST_MAX_NESTING) {
			return fail(p, ADDRLIST_ERR_NESTING, i);
		} else if (c == ')' && --depth == 0) {
			p->pos = i + 1;
			return 0;
		}
	}
	return fail(p, ADDRLIST_ERR_UNBALANCED, open);
}

static int skip_cfws(struct parser *p, struct tok *t)
{
	t->has_com = 0;
	while (p->pos < p->len) {
		if (is_space(p->s[p->pos])) {
			p->pos++;
		} else if (p->s[p->pos] == '(') {
			size_t open = p->pos;
			if (skip_comment(p) < 0)
				return -1;
			if (!t->has_com) {
				t->has_com = 1;
				t->com_start = open + 1;
				t->com_end = p->pos - 1;
			}
		} else {
			break;
		}
	}
	return 0;
}

/* The end of the quoted string or domain literal opening at i. */
static int scan_bracketed(struct parser *p, size_t i, unsigned char close, size_t *end)
{
	for (size_t j = i + 1; j < p->len; j++) {
		unsigned char c = p->s[j];
		if (c == close) {
			*end = j + 1;
			return 0;
		}
		if (c == '\\' && close == '"') {
			if (!quoted_pair_ok(p, j))
				return fail(p, ADDRLIST_ERR_SYNTAX, j);
			j++;
		} else if (close == ']' && (c == '[' || c == '\\')) {
			return fail(p, ADDRLIST_ERR_SYNTAX, j);
		}
	}
	return fail(p, ADDRLIST_ERR_UNBALANCED, i);
}

static int lex(struct parser *p, struct tok *t)
{
	if (skip_cfws(p, t) < 0)
		return -1;
	size_t i = p->pos;
	t->start = t->end = i;
	t->kind = TOK_END;
	if (i == p->len)
		return 0;
	unsigned char c = p->s[i];
	if (c == '"' || c == '[') {
		t->kind = c == '"' ? TOK_QSTR : TOK_DLIT;
		if (scan_bracketed(p, i, c == '"' ? '"' : ']', &t->end) < 0)
			return -1;
	} else if (c && strchr("<>@,;:.", c)) {
		t->kind = TOK_SPECIAL;
		t->c = c;
		t->end = i + 1;
	} else if (is_atext(c)) {
		t->kind = TOK_ATOM;
		while (t->end < p->len && is_atext(p->s[t->end]))
			t->end++;
	} else {
		/* ")", "]" or a stray backslash */
		return fail(p, c == ')' || c == ']' ? ADDRLIST_ERR_UNBALANCED
						     : ADDRLIST_ERR_SYNTAX, i);
	}
	p->pos = t->end;
	return 0;
}

static const struct tok *peek(struct parser *p)
{
	if (!p->have_tok) {
		if (lex(p, &p->tok) < 0)
			return NULL;
		p->have_tok = 1;
	}
	return &p->tok;
}

static void take(struct parser *p)
{
	p->have_tok = 0;
}

static int is_special(const struct tok *t, unsigned char c)
{
	return t->kind == TOK_SPECIAL && t->c == c;
}

/* ---- token values ---- */

/* Input bytes start..end, line folding removed. */
static void append_unfolded(struct buf *b, const unsigned char *s, size_t start, size_t end)
{
	for (size_t i = start; i < end; i++)
		if (s[i] != '\r' && s[i] != '\n')
			buf_append_char(b, (char)s[i]);
}

/* A quoted string's value: quotes and backslashes gone, folding removed. */
static void append_qstr(struct buf *b, const unsigned char *s, const struct tok *t)
{
	for (size_t i = t->start + 1; i + 1 < t->end; i++) {
		if (s[i] == '\\')
			i++;
		if (s[i] != '\r' && s[i] != '\n')
			buf_append_char(b, (char)s[i]);
	}
}

/* A domain literal with its FWS removed. */
static void append_dlit(struct buf *b, const unsigned char *s, const struct tok *t)
{
	for (size_t i = t->start; i < t->end; i++)
		if (!is_space(s[i]))
			buf_append_char(b, (char)s[i]);
}

/* ---- mailboxes ---- */

static struct addrlist_item *new_item(struct parser *p, size_t at)
{
	struct addrlist *l = p->out;
	if (l->count - p->first >= p->opts.max_items) {
		fail(p, ADDRLIST_ERR_TOO_MANY, at);
		return NULL;
	}
	if (l->count == l->cap) {
		size_t cap = l->cap ? l->cap : 8;
		if (l->cap && size_mul(l->cap, 2, &cap) < 0)
			die_nomem();
		l->items = xreallocarray(l->items, cap, sizeof *l->items);
		l->cap = cap;
	}
	struct addrlist_item *it = &l->items[l->count++];
	it->group = ADDRLIST_MAILBOX;
	buf_init(&it->name);
	buf_init(&it->address);
	buf_init(&it->route);
	addr_init(&it->addr);
	it->err = ADDR_OK;
	return it;
}

struct span {
	int set;
	size_t start, end;
};

/* The mailbox in p->local (+ p->domain) becomes an item named by name, or
 * else by the comment before the next token. */
static int emit(struct parser *p, int has_domain, struct span name, size_t at)
{
	buf_reset(&p->mbox);
	addr_quote_local(&p->mbox, p->local.data, p->local.len);
	if (has_domain) {
		buf_append_char(&p->mbox, '@');
		buf_append_buf(&p->mbox, &p->domain);
	}
	const struct tok *next = peek(p);
	if (!next)
		return -1;
	if (!name.set && next->has_com)
		name = (struct span){ 1, next->com_start, next->com_end };
	struct addrlist_item *it = new_item(p, at);
	if (!it)
		return -1;
	if (name.set)
		append_unfolded(&it->name, p->s, name.start, name.end);
	buf_append_buf(&it->route, &p->route);
	buf_reset(&p->route);
	it->err = addr_parse_mailbox(p->mbox.data, p->mbox.len, p->opts.addr_flags, &it->addr);
	if (it->err == ADDR_OK) {
		addr_format(&it->address, &it->addr, 0);
	} else if (p->opts.flags & ADDRLIST_KEEP_INVALID) {
		buf_append_buf(&it->address, &p->mbox);
	} else {
		p->err.addr_err = it->err;
		return fail(p, ADDRLIST_ERR_ADDR, at);
	}
	return 0;
}

struct words {
	size_t n;
	int local_ok;      /* word *("." word): usable as a local part */
	struct span span;  /* first to last token */
};

/* Atoms, quoted strings and dots: a phrase or a local part, as what comes
 * next will tell. The local part's value is built in p->local meanwhile. */
static int parse_words(struct parser *p, struct words *w)
{
	int want_word = 1;
	buf_reset(&p->local);
	w->n = 0;
	w->local_ok = 1;
	w->span.set = 0;
	for (;;) {
		const struct tok *t = peek(p);
		if (!t)
			return -1;
		if (t->kind == TOK_ATOM || t->kind == TOK_QSTR) {
			if (!want_word)
				w->local_ok = 0;
			if (t->kind == TOK_ATOM)
				buf_append(&p->local, p->s + t->start, t->end - t->start);
			else
				append_qstr(&p->local, p->s, t);
			want_word = 0;
		} else if (is_special(t, '.')) {
			if (want_word)
				w->local_ok = 0;
			buf_append_char(&p->local, '.');
			want_word = 1;
		} else {
			break;
		}
		if (w->n++ == 0)
			w->span = (struct span){ 1, t->start, t->end };
		w->span.end = t->end;
		take(p);
	}
	if (want_word)
		w->local_ok = 0;
	return 0;
}

/* After "@": a domain literal, or atoms separated by dots (CFWS allowed
 * between them, obs-domain). A trailing dot is left for addr to name. */
static int parse_domain(struct parser *p)
{
	buf_reset(&p->domain);
	const struct tok *t = peek(p);
	if (!t)
		return -1;
	if (t->kind == TOK_DLIT) {
		append_dlit(&p->domain, p->s, t);
		take(p);
		return 0;
	}
	while (t->kind == TOK_ATOM) {
		buf_append(&p->domain, p->s + t->start, t->end - t->start);
		take(p);
		if (!(t = peek(p)))
			return -1;
		if (!is_special(t, '.'))
			return 0;
		buf_append_char(&p->domain, '.');
		take(p);
		if (!(t = peek(p)))
			return -1;
	}
	if (p->domain.len)
		return 0; /* "a@b." */
	return fail(p, ADDRLIST_ERR_SYNTAX, t->start);
}

/* obs-route inside "<": "@a,@b:" (empty elements allowed), kept in
 * p->route as "@a,@b" for the item (IMAP's ENVELOPE shows it). */
static int parse_route(struct parser *p)
{
	int n = 0;
	for (;;) {
		const struct tok *t = peek(p);
		if (!t)
			return -1;
		if (is_special(t, ',')) {
			take(p);
		} else if (is_special(t, '@')) {
			take(p);
			if (parse_domain(p) < 0)
				return -1;
			buf_append_str(&p->route, n++ ? ",@" : "@");
			buf_append_buf(&p->route, &p->domain);
		} else if (is_special(t, ':') && n) {
			take(p);
			return 0;
		} else {
			return fail(p, ADDRLIST_ERR_SYNTAX, t->start);
		}
	}
}

/* local-part ["@" domain], from the words onwards; *has_domain set. */
static int parse_addr_spec(struct parser *p, struct words *w, int *has_domain)
{
	const struct tok *t;
	if (parse_words(p, w) < 0 || !(t = peek(p)))
		return -1;
	*has_domain = 0;
	if (!w->local_ok)
		return fail(p, ADDRLIST_ERR_SYNTAX, w->n ? w->span.start : t->start);
	if (!is_special(t, '@'))
		return 0;
	take(p);
	*has_domain = 1;
	return parse_domain(p);
}

/* After "<": [route] addr-spec ">". */
static int parse_angle(struct parser *p, struct span name)
{
	const struct tok *t = peek(p);
	if (!t)
		return -1;
	size_t at = t->start;
	if (is_special(t, '@') && parse_route(p) < 0)
		return -1;
	struct words w;
	int has_domain;
	if (parse_addr_spec(p, &w, &has_domain) < 0 || !(t = peek(p)))
		return -1;
	if (!is_special(t, '>'))
		return fail(p, t->kind == TOK_END ? ADDRLIST_ERR_UNBALANCED
						  : ADDRLIST_ERR_SYNTAX, t->start);
	take(p);
	return emit(p, has_domain, name, at);
}

static int parse_address(struct parser *p, int in_group);

/* A group's start (named by the span) or end, with ADDRLIST_GROUPS. */
static int group_mark(struct parser *p, enum addrlist_kind kind, struct span name, size_t at)
{
	if (!(p->opts.flags & ADDRLIST_GROUPS))
		return 0;
	struct addrlist_item *it = new_item(p, at);
	if (!it)
		return -1;
	it->group = kind;
	if (name.set)
		append_unfolded(&it->name, p->s, name.start, name.end);
	return 0;
}

/* After "name:": mailboxes up to ";" (the name is kept only with
 * ADDRLIST_GROUPS, as a start item). */
static int parse_group(struct parser *p, size_t open, struct span name)
{
	struct span none = { 0, 0, 0 };
	if (group_mark(p, ADDRLIST_GROUP_START, name, open) < 0)
		return -1;
	for (;;) {
		const struct tok *t = peek(p);
		if (!t)
			return -1;
		if (t->kind == TOK_END)
			return fail(p, ADDRLIST_ERR_UNBALANCED, open);
		if (is_special(t, ';')) {
			take(p);
			return group_mark(p, ADDRLIST_GROUP_END, none, t->start);
		}
		if (is_special(t, ',')) {
			take(p);
			continue;
		}
		if (parse_address(p, 1) < 0 || !(t = peek(p)))
			return -1;
		if (is_special(t, ','))
			take(p);
		else if (t->kind == TOK_END)
			return fail(p, ADDRLIST_ERR_UNBALANCED, open);
		else if (!is_special(t, ';'))
			return fail(p, ADDRLIST_ERR_SYNTAX, t->start);
	}
}

static int parse_address(struct parser *p, int in_group)
{
	struct words w;
	const struct tok *t;
	if (parse_words(p, &w) < 0 || !(t = peek(p)))
		return -1;
	size_t at = w.n ? w.span.start : t->start;
	if (is_special(t, '<')) {
		take(p);
		return parse_angle(p, w.span);
	}
	if (is_special(t, ':') && !in_group && w.n) {
		take(p);
		return parse_group(p, at, w.span);
	}
	int has_domain = is_special(t, '@');
	if (!w.n || !w.local_ok ||
	    !(has_domain || t->kind == TOK_END || is_special(t, ',') || is_special(t, ';')))
		return fail(p, ADDRLIST_ERR_SYNTAX, w.n && !w.local_ok ? at : t->start);
	if (has_domain) {
		take(p);
		if (parse_domain(p) < 0)
			return -1;
	}
	struct span none = { 0, 0, 0 };
	return emit(p, has_domain, none, at);
}

static int parse_list(struct parser *p)
{
	for (;;) {
		const struct tok *t = peek(p);
		if (!t)
			return -1;
		if (t->kind == TOK_END)
			return 0;
		if (is_special(t, ',')) { /* obs-addr-list: empty elements */
			take(p);
			continue;
		}
		if (parse_address(p, 0) < 0 || !(t = peek(p)))
			return -1;
		if (is_special(t, ','))
			take(p);
		else if (t->kind != TOK_END)
			return fail(p, ADDRLIST_ERR_SYNTAX, t->start);
	}
}

/* ---- API ---- */

void addrlist_init(struct addrlist *l)
{
	l->items = NULL;
	l->count = l->cap = 0;
}

/* Drop the items from n on. */
static void addrlist_truncate(struct addrlist *l, size_t n)
{
	for (size_t i = n; i < l->count; i++) {
		buf_free(&l->items[i].name);
		buf_free(&l->items[i].address);
		buf_free(&l->items[i].route);
		addr_free(&l->items[i].addr);
	}
	if (n < l->count)
		l->count = n;
}

void addrlist_free(struct addrlist *l)
{
	addrlist_truncate(l, 0);
	free(l->items);
	addrlist_init(l);
}

static void parser_init(struct parser *p, const char *s, size_t len,
			const struct addrlist_opts *opts, struct addrlist *l)
{
	memset(p, 0, sizeof *p);
	p->s = (const unsigned char *)s;
	p->len = len;
	if (opts)
		p->opts = *opts;
	if (!p->opts.max_items)
		p->opts.max_items = ADDRLIST_DEFAULT_MAX_ITEMS;
	if (!p->opts.max_len)
		p->opts.max_len = ADDRLIST_DEFAULT_MAX_LEN;
	p->out = l;
	p->first = l->count;
	/* one final line break belongs to the header, not the list */
	if (p->len && p->s[p->len - 1] == '\n')
		p->len--;
	if (p->len && p->s[p->len - 1] == '\r')
		p->len--;
}

enum addrlist_err addrlist_parse(const char *s, size_t len,
				 const struct addrlist_opts *opts,
				 struct addrlist *l, struct addrlist_error *err)
{
	struct parser p;
	parser_init(&p, s, len, opts, l);
	if (len > p.opts.max_len)
		fail(&p, ADDRLIST_ERR_TOO_LONG, p.opts.max_len);
	else if (prescan(&p) == 0)
		parse_list(&p);
	buf_free(&p.local);
	buf_free(&p.domain);
	buf_free(&p.mbox);
	buf_free(&p.route);
	if (p.failed)
		addrlist_truncate(l, p.first);
	if (p.failed && l->count == 0)
		addrlist_free(l);
	if (err)
		*err = p.err;
	return p.failed ? p.err.code : ADDRLIST_OK;
}

enum addrlist_err addrlist_extract(const char *s, size_t len,
				   const struct addrlist_opts *opts, char sep,
				   struct buf *out, struct addrlist_error *err)
{
	struct addrlist l = ADDRLIST_INIT;
	enum addrlist_err e = addrlist_parse(s, len, opts, &l, err);
	for (size_t i = 0; e == ADDRLIST_OK && i < l.count; i++) {
		if (l.items[i].err != ADDR_OK || l.items[i].group != ADDRLIST_MAILBOX)
			continue;
		buf_append_buf(out, &l.items[i].address);
		buf_append_char(out, sep);
	}
	addrlist_free(&l);
	return e;
}

static const char *const addrlist_err_text[] = {
	[ADDRLIST_OK] = "OK",
	[ADDRLIST_ERR_SYNTAX] = "Syntax error in address list",
	[ADDRLIST_ERR_UNBALANCED] = "Unbalanced quote, comment, bracket or group",
	[ADDRLIST_ERR_NESTING] = "Comments nested too deeply",
	[ADDRLIST_ERR_CONTROL] = "Control character or bare line break in address list",
	[ADDRLIST_ERR_TOO_LONG] = "Address list too long",
	[ADDRLIST_ERR_TOO_MANY] = "Too many addresses",
	[ADDRLIST_ERR_ADDR] = "Invalid address in list",
};

const char *addrlist_strerror(enum addrlist_err e)
{
	if ((size_t)e >= sizeof addrlist_err_text / sizeof addrlist_err_text[0] ||
	    !addrlist_err_text[e])
		return "Invalid address list";
	return addrlist_err_text[e];
}
