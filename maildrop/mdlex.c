/* mdlex: the tokenizer of maildrop's filter language; see mdlex.h.
 *
 * Lexical rules follow maildropfilter(7): '#' comments, end of line (or ';')
 * is a token, a backslash before a newline continues the line, adjacent
 * literals are joined by the parser, "$NAME" and "${NAME}" are substituted in
 * double quotes, backquotes, unquoted text and patterns, never in single
 * quotes. A '/' starts a pattern unless a space follows (division) or it comes
 * right after '=' (unquoted text such as MAILDIR=/var/mail). */
#include "mdlex.h"

#include "alloc.h"

#include <stdlib.h>
#include <string.h>

void md_parts_free(struct md_parts *p)
{
	for (size_t i = 0; i < p->n; i++) {
		buf_free(&p->v[i].text);
		if (p->v[i].cmd) {
			md_parts_free(p->v[i].cmd);
			free(p->v[i].cmd);
		}
	}
	free(p->v);
	p->v = NULL;
	p->n = p->cap = 0;
}

struct md_part *md_parts_add(struct md_parts *p, enum md_part_kind kind)
{
	if (p->n == p->cap) {
		p->cap = p->cap ? p->cap * 2 : 4;
		p->v = xreallocarray(p->v, p->cap, sizeof *p->v);
	}
	struct md_part *part = &p->v[p->n++];
	memset(part, 0, sizeof *part);
	part->kind = kind;
	return part;
}

void md_parts_move(struct md_parts *dst, struct md_parts *src)
{
	for (size_t i = 0; i < src->n; i++) {
		struct md_part *d = md_parts_add(dst, src->v[i].kind);
		*d = src->v[i];
	}
	free(src->v);
	src->v = NULL;
	src->n = src->cap = 0;
}

/* Literal bytes go into the last part when it is a literal. */
static void lit_append(struct md_parts *p, const char *s, size_t n)
{
	struct md_part *last = p->n ? &p->v[p->n - 1] : NULL;
	if (!last || last->kind != MD_PART_LIT)
		last = md_parts_add(p, MD_PART_LIT);
	buf_append(&last->text, s, n);
}

void md_token_free(struct md_token *tok)
{
	md_parts_free(&tok->parts);
	buf_free(&tok->raw);
}

void md_lex_init(struct md_lexer *lx, const char *src, size_t len)
{
	memset(lx, 0, sizeof *lx);
	lx->src = src;
	lx->len = len;
	lx->line = 1;
	lx->prev = MD_T_EOL;
}

static int peekc(const struct md_lexer *lx, size_t ahead)
{
	size_t at = lx->pos + ahead;
	return at < lx->len ? (unsigned char)lx->src[at] : -1;
}

static int is_alpha(int c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}

static int is_digit(int c)
{
	return c >= '0' && c <= '9';
}

static int is_word_char(int c)
{
	return is_alpha(c) || is_digit(c) || (c != -1 && strchr("-.:/$@", c) && c != 0);
}

/* After '$' at lx->pos: a variable reference into parts, or a literal '$'.
 * Returns -1 on an unterminated "${". */
static int lex_dollar(struct md_lexer *lx, struct md_parts *parts, struct buf *err)
{
	int c = peekc(lx, 1);
	size_t start;
	if (c == '{') {
		start = lx->pos + 2;
		const char *end = memchr(lx->src + start, '}', lx->len - start);
		const char *nl = memchr(lx->src + start, '\n', lx->len - start);
		if (!end || (nl && nl < end)) {
			buf_error(err, "unterminated ${");
			return -1;
		}
		size_t n = (size_t)(end - (lx->src + start));
		buf_append(&md_parts_add(parts, MD_PART_VAR)->text, lx->src + start, n);
		lx->pos = start + n + 1;
		return 0;
	}
	if (!is_alpha(c) && !is_digit(c)) {
		lit_append(parts, "$", 1);
		lx->pos++;
		return 0;
	}
	start = ++lx->pos;
	if (is_digit(c)) {
		while (is_digit(peekc(lx, 0)))
			lx->pos++;
	} else {
		while (is_alpha(peekc(lx, 0)) || is_digit(peekc(lx, 0)))
			lx->pos++;
	}
	buf_append(&md_parts_add(parts, MD_PART_VAR)->text, lx->src + start, lx->pos - start);
	return 0;
}

/* Backslash, newline and the next line's leading blanks vanish inside quotes. */
static int skip_continuation(struct md_lexer *lx)
{
	size_t p = lx->pos + 1;
	while (p < lx->len && (lx->src[p] == ' ' || lx->src[p] == '\t' || lx->src[p] == '\r'))
		p++;
	if (p >= lx->len || lx->src[p] != '\n')
		return 0;
	p++;
	lx->line++;
	while (p < lx->len && (lx->src[p] == ' ' || lx->src[p] == '\t'))
		p++;
	lx->pos = p;
	return 1;
}

/* A quoted literal: q is ' or " or `; substitution unless q is '. */
static int lex_quoted(struct md_lexer *lx, int q, struct md_parts *parts, struct buf *err)
{
	size_t start = ++lx->pos;
	for (;;) {
		int c = peekc(lx, 0);
		if (c == -1) {
			buf_error(err, "unterminated %c quote", q);
			return -1;
		}
		if (lx->pos - start > MD_MAX_TOKEN) {
			buf_error(err, "literal too long");
			return -1;
		}
		if (c == q) {
			lx->pos++;
			return 0;
		}
		if (c == '\\') {
			int n = peekc(lx, 1);
			if (skip_continuation(lx))
				continue;
			if (n == '\\' || n == q || (n == '$' && q != '\'')) {
				char ch = (char)n;
				lit_append(parts, &ch, 1);
				lx->pos += 2;
				continue;
			}
		} else if (c == '$' && q != '\'') {
			if (lex_dollar(lx, parts, err) < 0)
				return -1;
			continue;
		} else if (c == '\n') {
			lx->line++;
		}
		char ch = (char)c;
		lit_append(parts, &ch, 1);
		lx->pos++;
	}
}

static int lex_word(struct md_lexer *lx, struct md_token *tok, struct buf *err)
{
	size_t start = lx->pos;
	for (;;) {
		int c = peekc(lx, 0);
		if (lx->pos - start > MD_MAX_TOKEN) {
			buf_error(err, "text too long");
			return -1;
		}
		if (c == '$') {
			if (lex_dollar(lx, &tok->parts, err) < 0)
				return -1;
			continue;
		}
		if (!is_word_char(c))
			break;
		char ch = (char)c;
		lit_append(&tok->parts, &ch, 1);
		lx->pos++;
	}
	buf_set(&tok->raw, lx->src + start, lx->pos - start);
	tok->kind = MD_T_WORD;
	return 0;
}

/* ":hbDw,w1,w2" after a pattern. */
static int lex_number(struct md_lexer *lx, double *out)
{
	size_t start = lx->pos;
	char tmp[64];
	while (lx->pos < lx->len && lx->pos - start < sizeof tmp - 1 &&
	       (is_digit(peekc(lx, 0)) || peekc(lx, 0) == '.' || peekc(lx, 0) == '-'))
		lx->pos++;
	size_t n = lx->pos - start;
	if (n == 0 || n >= sizeof tmp)
		return -1;
	memcpy(tmp, lx->src + start, n);
	tmp[n] = 0;
	char *end;
	*out = strtod(tmp, &end);
	return *end ? -1 : 0;
}

static int lex_pattern_opts(struct md_lexer *lx, struct md_token *tok, struct buf *err)
{
	if (peekc(lx, 0) != ':')
		return 0;
	lx->pos++;
	for (int c; (c = peekc(lx, 0)) != -1 && is_alpha(c); lx->pos++) {
		switch (c) {
		case 'h': tok->pat_flags |= MD_PAT_HEADER; break;
		case 'b': tok->pat_flags |= MD_PAT_BODY; break;
		case 'D': tok->pat_flags |= MD_PAT_CASE; break;
		case 'w': break; /* maildrop 1.x's "w": accepted, no effect */
		default:
			buf_error(err, "unknown pattern option '%c'", c);
			return -1;
		}
	}
	if (peekc(lx, 0) != ',')
		return 0;
	lx->pos++;
	tok->pat_flags |= MD_PAT_WEIGHT;
	tok->w2 = 1;
	if (lex_number(lx, &tok->w1) < 0) {
		buf_error(err, "bad pattern weight");
		return -1;
	}
	if (peekc(lx, 0) == ',') {
		lx->pos++;
		if (lex_number(lx, &tok->w2) < 0) {
			buf_error(err, "bad pattern weight");
			return -1;
		}
	}
	return 0;
}

/* /pattern/: backslashes stay for PCRE2; "$NAME" is substituted. */
static int lex_pattern(struct md_lexer *lx, struct md_token *tok, struct buf *err)
{
	size_t start = ++lx->pos;
	for (;;) {
		int c = peekc(lx, 0);
		if (c == -1 || c == '\n') {
			buf_error(err, "unterminated pattern");
			return -1;
		}
		if (lx->pos - start > MD_MAX_TOKEN) {
			buf_error(err, "pattern too long");
			return -1;
		}
		if (c == '/') {
			lx->pos++;
			break;
		}
		if (c == '$' && (is_alpha(peekc(lx, 1)) || peekc(lx, 1) == '{')) {
			if (lex_dollar(lx, &tok->parts, err) < 0)
				return -1;
			continue;
		}
		size_t n = (c == '\\' && peekc(lx, 1) != -1 && peekc(lx, 1) != '\n') ? 2 : 1;
		lit_append(&tok->parts, lx->src + lx->pos, n);
		lx->pos += n;
	}
	if (!tok->parts.n)
		md_parts_add(&tok->parts, MD_PART_LIT);
	tok->kind = MD_T_PATTERN;
	return lex_pattern_opts(lx, tok, err);
}

struct op { const char *text; enum md_tok kind; };
static const struct op ops[] = {
	{ "||", MD_T_OR }, { "&&", MD_T_AND }, { "<=", MD_T_LE }, { ">=", MD_T_GE },
	{ "==", MD_T_EQ }, { "!=", MD_T_NE }, { "=~", MD_T_MATCH }, { "<", MD_T_LT },
	{ ">", MD_T_GT }, { "|", MD_T_BOR }, { "&", MD_T_BAND }, { "+", MD_T_PLUS },
	{ "-", MD_T_MINUS }, { "*", MD_T_MUL }, { "!", MD_T_NOT }, { "~", MD_T_TILDE },
	{ "=", MD_T_ASSIGN }, { "{", MD_T_LBRACE }, { "}", MD_T_RBRACE },
	{ "(", MD_T_LPAREN }, { ")", MD_T_RPAREN }, { ",", MD_T_COMMA }, { ";", MD_T_EOL },
};

/* Blanks, comments and continued lines. */
static void skip_space(struct md_lexer *lx)
{
	for (;;) {
		int c = peekc(lx, 0);
		if (c == ' ' || c == '\t' || c == '\r' || c == '\f') {
			lx->pos++;
		} else if (c == '#') {
			while (peekc(lx, 0) != -1 && peekc(lx, 0) != '\n')
				lx->pos++;
		} else if (c == '\\' && skip_continuation(lx)) {
			continue;
		} else {
			return;
		}
	}
}

static int lex_one(struct md_lexer *lx, struct md_token *tok, struct buf *err)
{
	skip_space(lx);
	tok->line = lx->line;
	int c = peekc(lx, 0);
	if (c == -1) {
		tok->kind = MD_T_EOF;
		return 0;
	}
	if (c == '\n') {
		lx->pos++;
		lx->line++;
		tok->kind = MD_T_EOL;
		return 0;
	}
	if (c == '"' || c == '\'') {
		tok->kind = MD_T_STRING;
		return lex_quoted(lx, c, &tok->parts, err);
	}
	if (c == '`') {
		struct md_part *p = md_parts_add(&tok->parts, MD_PART_CMD);
		p->cmd = xcalloc(1, sizeof *p->cmd);
		tok->kind = MD_T_STRING;
		return lex_quoted(lx, c, p->cmd, err);
	}
	int n = peekc(lx, 1);
	if (c == '/' && lx->prev != MD_T_ASSIGN) {
		if (n == ' ' || n == '\t' || n == '\n' || n == -1) {
			lx->pos++;
			tok->kind = MD_T_DIV;
			return 0;
		}
		return lex_pattern(lx, tok, err);
	}
	if (is_alpha(c) || is_digit(c) || c == '$' || c == '.' || c == ':' || c == '@' || c == '/' ||
	    (c == '-' && lx->prev == MD_T_ASSIGN && is_word_char(n)))
		return lex_word(lx, tok, err);
	for (size_t i = 0; i < sizeof ops / sizeof ops[0]; i++) {
		size_t len = strlen(ops[i].text);
		if (lx->len - lx->pos >= len && !memcmp(lx->src + lx->pos, ops[i].text, len)) {
			lx->pos += len;
			tok->kind = ops[i].kind;
			return 0;
		}
	}
	if (c >= 0x21 && c < 0x7f)
		buf_error(err, "unexpected character '%c'", c);
	else
		buf_error(err, "unexpected byte 0x%02x", (unsigned)c);
	return -1;
}

int md_lex_next(struct md_lexer *lx, struct md_token *tok, struct buf *err)
{
	md_token_free(tok);
	memset(tok, 0, sizeof *tok);
	int rc = lex_one(lx, tok, err);
	lx->prev = tok->kind;
	return rc;
}
