/* mdparse: recursive-descent parser of the filter language; see mdparse.h.
 *
 * Operators, lowest precedence first (maildropfilter(7)): || ; && ; the
 * comparisons (< <= > >= == != lt le gt ge eq ne, not associative) ; | ; & ;
 * + - ; * / ; =~ ; unary ! ~ - ; then patterns, literals, function calls and
 * parentheses. Adjacent literals are joined into one string. The parser is
 * lenient about line breaks around braces and "else" where Courier is strict:
 * every file Courier accepts is accepted. */
#include "mdparse.h"

#include "alloc.h"
#include "mdmsg.h" /* pcre2 */

#include <stdlib.h>
#include <string.h>

struct parser {
	struct md_lexer lx;
	struct md_token tok;
	struct buf *err;
	const char *file;
	unsigned depth;
	int failed;
};

static void fail(struct parser *p, const char *why)
{
	if (p->failed)
		return;
	p->failed = 1;
	buf_error(p->err, "%s(%u): %s", p->file, p->tok.line, why);
}

static void advance(struct parser *p)
{
	struct buf why = BUF_INIT;
	if (!p->failed && md_lex_next(&p->lx, &p->tok, &why) < 0) {
		fail(p, buf_cstr(&why));
		p->tok.kind = MD_T_EOF;
	}
	buf_free(&why);
}

/* The kind of the token after the current one, without consuming anything. */
static enum md_tok peek_kind(struct parser *p)
{
	struct md_lexer save = p->lx;
	struct md_token t;
	struct buf why = BUF_INIT;
	memset(&t, 0, sizeof t);
	enum md_tok k = md_lex_next(&p->lx, &t, &why) < 0 ? MD_T_EOF : t.kind;
	md_token_free(&t);
	buf_free(&why);
	p->lx = save;
	return k;
}

static struct md_node *node_new(struct parser *p, enum md_node_kind kind)
{
	struct md_node *n = xcalloc(1, sizeof *n);
	n->kind = kind;
	n->line = p->tok.line;
	n->file = p->file;
	return n;
}

static void node_add(struct md_node *n, struct md_node *kid)
{
	if (!kid)
		return;
	n->kids = xreallocarray(n->kids, n->nkids + 1, sizeof *n->kids);
	n->kids[n->nkids++] = kid;
}

static void node_free(struct md_node *n)
{
	if (!n)
		return;
	for (size_t i = 0; i < n->nkids; i++)
		node_free(n->kids[i]);
	free(n->kids);
	md_parts_free(&n->parts);
	if (n->re)
		pcre2_code_free(n->re);
	free(n);
}

/* A plain word: unquoted, nothing substituted, equal to s. */
static int is_word(const struct parser *p, const char *s)
{
	return p->tok.kind == MD_T_WORD && buf_eq_str(&p->tok.raw, s);
}

static int expect(struct parser *p, enum md_tok kind, const char *what)
{
	if (p->tok.kind != kind) {
		fail(p, what);
		return -1;
	}
	advance(p);
	return 0;
}

static struct md_node *parse_expr(struct parser *p);
static struct md_node *parse_unary(struct parser *p);
static struct md_node *parse_stmt(struct parser *p, int *compound);
static struct md_node *parse_block(struct parser *p);

static const char *const fn_names[] = {
	"hasaddr", "getaddr", "lookup", "length", "substr", "escape", "tolower", "toupper", "time",
};

static int fn_lookup(const struct parser *p)
{
	for (size_t i = 0; i < sizeof fn_names / sizeof fn_names[0]; i++)
		if (is_word(p, fn_names[i]))
			return (int)i;
	return -1;
}

static const char *const str_cmp_words[] = { "lt", "le", "gt", "ge", "eq", "ne" };

static int str_cmp_op(const struct parser *p)
{
	for (size_t i = 0; i < 6; i++)
		if (is_word(p, str_cmp_words[i]))
			return 100 + (int)i;
	return -1;
}

static struct md_node *parse_call(struct parser *p, int fn)
{
	struct md_node *n = node_new(p, MD_N_CALL);
	n->op = fn;
	advance(p);
	if (p->failed) /* after an error the token no longer moves: stop, do not recurse */
		return n;
	if (p->tok.kind != MD_T_LPAREN) {
		if (fn != MD_FN_TIME)
			node_add(n, parse_unary(p));
		return n;
	}
	advance(p);
	while (!p->failed && p->tok.kind != MD_T_RPAREN) {
		if (n->nkids >= 3) {
			fail(p, "too many arguments");
			break;
		}
		node_add(n, parse_expr(p));
		if (p->tok.kind == MD_T_COMMA)
			advance(p);
		else if (p->tok.kind != MD_T_RPAREN)
			fail(p, "expected ',' or ')'");
	}
	advance(p);
	static const unsigned char min[] = { 1, 1, 2, 1, 2, 1, 1, 1, 0 };
	static const unsigned char max[] = { 1, 1, 3, 1, 3, 1, 1, 1, 0 };
	if (n->nkids < min[fn] || n->nkids > max[fn])
		fail(p, "wrong number of arguments");
	return n;
}

static struct md_node *parse_pattern(struct parser *p)
{
	struct md_node *n = node_new(p, MD_N_PATTERN);
	md_parts_move(&n->parts, &p->tok.parts);
	n->pat_flags = p->tok.pat_flags;
	n->w1 = p->tok.w1;
	n->w2 = p->tok.w2;
	advance(p);
	return n;
}

static int is_literal(const struct parser *p)
{
	return p->tok.kind == MD_T_STRING ||
	       (p->tok.kind == MD_T_WORD && str_cmp_op(p) < 0 && fn_lookup(p) < 0);
}

static struct md_node *parse_primary(struct parser *p)
{
	if (p->tok.kind == MD_T_LPAREN) {
		advance(p);
		struct md_node *n = parse_expr(p);
		if (expect(p, MD_T_RPAREN, "expected ')'") < 0) {
			node_free(n);
			return NULL;
		}
		return n;
	}
	if (p->tok.kind == MD_T_PATTERN)
		return parse_pattern(p);
	int fn = fn_lookup(p);
	if (fn >= 0)
		return parse_call(p, fn);
	if (!is_literal(p)) {
		fail(p, "syntax error: expected an expression");
		return NULL;
	}
	struct md_node *n = node_new(p, MD_N_STR);
	while (!p->failed && is_literal(p)) {
		md_parts_move(&n->parts, &p->tok.parts);
		advance(p);
	}
	return n;
}

static struct md_node *parse_unary(struct parser *p)
{
	enum md_tok k = p->tok.kind;
	if (k != MD_T_NOT && k != MD_T_TILDE && k != MD_T_MINUS)
		return parse_primary(p);
	if (++p->depth > MD_MAX_DEPTH) {
		fail(p, "expression nested too deeply");
		return NULL;
	}
	struct md_node *n = node_new(p, MD_N_UNOP);
	n->op = k;
	advance(p);
	node_add(n, parse_unary(p));
	p->depth--;
	return n;
}

static struct md_node *binop(struct parser *p, int op, struct md_node *l, struct md_node *r)
{
	struct md_node *n = node_new(p, MD_N_BINOP);
	n->op = op;
	node_add(n, l);
	node_add(n, r);
	return n;
}

static struct md_node *parse_match(struct parser *p)
{
	struct md_node *l = parse_unary(p);
	unsigned chain = 0;
	while (!p->failed && p->tok.kind == MD_T_MATCH) {
		if (++chain > MD_MAX_CHAIN) {
			fail(p, "expression too long");
			break;
		}
		advance(p);
		if (p->tok.kind != MD_T_PATTERN) {
			fail(p, "expected a pattern after =~");
			break;
		}
		struct md_node *pat = parse_pattern(p);
		node_add(pat, l);
		l = pat;
	}
	return l;
}

/* One level of left-associative binary operators. */
typedef struct md_node *(*level_fn)(struct parser *);
static struct md_node *parse_level(struct parser *p, level_fn next, enum md_tok a, enum md_tok b)
{
	struct md_node *l = next(p);
	unsigned chain = 0;
	while (!p->failed && (p->tok.kind == a || p->tok.kind == b)) {
		int op = p->tok.kind;
		if (++chain > MD_MAX_CHAIN) {
			fail(p, "expression too long");
			break;
		}
		advance(p);
		l = binop(p, op, l, next(p));
	}
	return l;
}

static struct md_node *parse_mul(struct parser *p)
{
	return parse_level(p, parse_match, MD_T_MUL, MD_T_DIV);
}
static struct md_node *parse_add(struct parser *p)
{
	return parse_level(p, parse_mul, MD_T_PLUS, MD_T_MINUS);
}
static struct md_node *parse_band(struct parser *p)
{
	return parse_level(p, parse_add, MD_T_BAND, MD_T_BAND);
}
static struct md_node *parse_bor(struct parser *p)
{
	return parse_level(p, parse_band, MD_T_BOR, MD_T_BOR);
}

static int cmp_op(const struct parser *p)
{
	switch (p->tok.kind) {
	case MD_T_LT: case MD_T_LE: case MD_T_GT: case MD_T_GE: case MD_T_EQ: case MD_T_NE:
		return p->tok.kind;
	default:
		return str_cmp_op(p);
	}
}

static struct md_node *parse_cmp(struct parser *p)
{
	struct md_node *l = parse_bor(p);
	int op = cmp_op(p);
	if (p->failed || op < 0)
		return l;
	advance(p);
	l = binop(p, op, l, parse_bor(p));
	if (!p->failed && cmp_op(p) >= 0)
		fail(p, "comparisons are not associative");
	return l;
}

static struct md_node *parse_and(struct parser *p)
{
	return parse_level(p, parse_cmp, MD_T_AND, MD_T_AND);
}

static struct md_node *parse_expr(struct parser *p)
{
	if (++p->depth > MD_MAX_DEPTH) {
		fail(p, "expression nested too deeply");
		return NULL;
	}
	struct md_node *n = parse_level(p, parse_and, MD_T_OR, MD_T_OR);
	p->depth--;
	return n;
}

static void skip_eols(struct parser *p)
{
	while (!p->failed && p->tok.kind == MD_T_EOL)
		advance(p);
}

/* Statements up to '}' (in a block) or the end of the file. */
static struct md_node *parse_stmts(struct parser *p, int in_block)
{
	struct md_node *seq = node_new(p, MD_N_SEQ);
	for (;;) {
		skip_eols(p);
		if (p->failed || p->tok.kind == MD_T_EOF || (in_block && p->tok.kind == MD_T_RBRACE))
			break;
		int compound = 0;
		node_add(seq, parse_stmt(p, &compound));
		if (p->failed || compound)
			continue;
		if (p->tok.kind != MD_T_EOL && p->tok.kind != MD_T_EOF &&
		    !(in_block && p->tok.kind == MD_T_RBRACE))
			fail(p, "syntax error: expected the end of the statement");
	}
	return seq;
}

static struct md_node *parse_block(struct parser *p)
{
	skip_eols(p);
	if (p->tok.kind != MD_T_LBRACE) {
		fail(p, "expected '{'");
		return NULL;
	}
	if (++p->depth > MD_MAX_DEPTH) {
		fail(p, "blocks nested too deeply");
		return NULL;
	}
	advance(p);
	struct md_node *seq = parse_stmts(p, 1);
	if (!p->failed && p->tok.kind != MD_T_RBRACE)
		fail(p, "expected '}'");
	advance(p);
	p->depth--;
	return seq;
}

/* The body of if, elsif, else and while: a block, or one statement. */
static struct md_node *parse_body(struct parser *p)
{
	skip_eols(p);
	if (p->tok.kind == MD_T_LBRACE)
		return parse_block(p);
	if (++p->depth > MD_MAX_DEPTH) {
		fail(p, "statements nested too deeply");
		return NULL;
	}
	int compound;
	struct md_node *n = parse_stmt(p, &compound);
	p->depth--;
	return n;
}

static struct md_node *parse_cond(struct parser *p)
{
	advance(p);
	if (expect(p, MD_T_LPAREN, "expected '('") < 0)
		return NULL;
	struct md_node *e = parse_expr(p);
	if (!p->failed)
		expect(p, MD_T_RPAREN, "expected ')'");
	return e;
}

/* After an if's body: else/elsif, possibly after line breaks. */
static int else_follows(struct parser *p)
{
	if (p->failed)
		return 0;
	struct md_lexer save = p->lx;
	struct md_token t = p->tok;
	enum md_tok k = p->tok.kind;
	while (k == MD_T_EOL) {
		p->lx.prev = MD_T_EOL;
		struct md_token tmp;
		memset(&tmp, 0, sizeof tmp);
		struct buf why = BUF_INIT;
		k = md_lex_next(&p->lx, &tmp, &why) < 0 ? MD_T_EOF : tmp.kind;
		int hit = k == MD_T_WORD && (buf_eq_str(&tmp.raw, "else") || buf_eq_str(&tmp.raw, "elsif"));
		buf_free(&why);
		if (hit) {
			md_token_free(&p->tok);
			p->tok = tmp;
			return 1;
		}
		md_token_free(&tmp);
	}
	p->lx = save;
	p->tok = t;
	return is_word(p, "else") || is_word(p, "elsif");
}

static struct md_node *parse_if(struct parser *p)
{
	struct md_node *n = node_new(p, MD_N_IF);
	node_add(n, parse_cond(p));
	node_add(n, parse_body(p));
	if (!else_follows(p))
		return n;
	if (is_word(p, "elsif")) {
		if (++p->depth > MD_MAX_DEPTH) {
			fail(p, "elsif chain too long");
			return n;
		}
		struct md_node *seq = node_new(p, MD_N_SEQ);
		node_add(seq, parse_if(p));
		node_add(n, seq);
		p->depth--;
		return n;
	}
	advance(p);
	node_add(n, parse_body(p));
	return n;
}

static struct md_node *parse_foreach(struct parser *p)
{
	struct md_node *n = node_new(p, MD_N_FOREACH);
	advance(p);
	struct md_node *pat = NULL;
	if (p->tok.kind == MD_T_PATTERN) {
		pat = parse_pattern(p);
	} else if (p->tok.kind == MD_T_LPAREN) {
		advance(p);
		struct md_node *e = parse_expr(p);
		if (!p->failed)
			expect(p, MD_T_RPAREN, "expected ')'");
		/* "foreach (expr =~ /pattern/)", as Courier's maildrop takes too */
		if (!p->failed && p->tok.kind != MD_T_MATCH && e && e->kind == MD_N_PATTERN &&
		    e->nkids == 1) {
			node_add(n, e);
			node_add(n, parse_block(p));
			return n;
		}
		if (!p->failed && p->tok.kind != MD_T_MATCH)
			fail(p, "expected =~ after foreach (expression)");
		advance(p);
		if (!p->failed && p->tok.kind != MD_T_PATTERN)
			fail(p, "expected a pattern");
		if (!p->failed) {
			pat = parse_pattern(p);
			node_add(pat, e);
		} else {
			node_free(e);
		}
	} else {
		fail(p, "expected a pattern after foreach");
	}
	node_add(n, pat);
	node_add(n, parse_block(p));
	return n;
}

struct stmt_kw { const char *word; enum md_node_kind kind; int arg; /* 0 none, 1 expr, 2 name, 3 expr+block, 4 block */ };
static const struct stmt_kw stmt_kws[] = {
	{ "to", MD_N_TO, 1 }, { "cc", MD_N_CC, 1 }, { "exit", MD_N_EXIT, 0 },
	{ "log", MD_N_LOG, 1 }, { "logfile", MD_N_LOGFILE, 1 }, { "echo", MD_N_ECHO, 1 },
	{ "import", MD_N_IMPORT, 2 }, { "include", MD_N_INCLUDE, 1 },
	{ "exception", MD_N_EXCEPTION, 4 }, { "xfilter", MD_N_XFILTER, 1 },
	{ "system", MD_N_SYSTEM, 1 }, { "dotlock", MD_N_DOTLOCK, 3 }, { "flock", MD_N_FLOCK, 3 },
};

static struct md_node *parse_simple(struct parser *p, const struct stmt_kw *kw, int *compound)
{
	struct md_node *n = node_new(p, kw->kind);
	advance(p);
	if (kw->arg == 2) {
		if (p->tok.kind != MD_T_WORD && p->tok.kind != MD_T_STRING) {
			fail(p, "expected a variable name");
			return n;
		}
		struct md_node *s = node_new(p, MD_N_STR);
		md_parts_move(&s->parts, &p->tok.parts);
		node_add(n, s);
		advance(p);
		return n;
	}
	if (kw->arg == 1 || kw->arg == 3)
		node_add(n, parse_expr(p));
	if (kw->arg >= 3) {
		node_add(n, parse_block(p));
		*compound = 1;
	}
	return n;
}

static struct md_node *parse_assign(struct parser *p)
{
	struct md_node *n = node_new(p, MD_N_ASSIGN);
	struct md_node *name = node_new(p, MD_N_STR);
	md_parts_move(&name->parts, &p->tok.parts);
	node_add(n, name);
	for (size_t i = 0; i < name->parts.n; i++)
		if (name->parts.v[i].kind != MD_PART_LIT)
			fail(p, "invalid variable name");
	if (!name->parts.n)
		fail(p, "empty variable name");
	advance(p); /* the name; the '=' next, so that "/..." after it is text */
	advance(p);
	if (p->tok.kind == MD_T_EOL || p->tok.kind == MD_T_EOF)
		node_add(n, node_new(p, MD_N_STR)); /* VAR= sets it empty */
	else
		node_add(n, parse_expr(p));
	return n;
}

static struct md_node *parse_stmt(struct parser *p, int *compound)
{
	*compound = 0;
	if (p->tok.kind == MD_T_LBRACE) {
		*compound = 1;
		return parse_block(p);
	}
	if ((p->tok.kind == MD_T_WORD || p->tok.kind == MD_T_STRING) && peek_kind(p) == MD_T_ASSIGN)
		return parse_assign(p);
	if (is_word(p, "if") || is_word(p, "while") || is_word(p, "foreach")) {
		*compound = 1;
		if (is_word(p, "foreach"))
			return parse_foreach(p);
		if (is_word(p, "if"))
			return parse_if(p);
		struct md_node *n = node_new(p, MD_N_WHILE);
		node_add(n, parse_cond(p));
		node_add(n, parse_body(p));
		return n;
	}
	for (size_t i = 0; i < sizeof stmt_kws / sizeof stmt_kws[0]; i++)
		if (is_word(p, stmt_kws[i].word))
			return parse_simple(p, &stmt_kws[i], compound);
	if (is_word(p, "else") || is_word(p, "elsif")) {
		fail(p, "else without if");
		return NULL;
	}
	struct md_node *n = node_new(p, MD_N_EXPR);
	node_add(n, parse_expr(p));
	return n;
}

int md_parse(const char *file, const char *src, size_t len, struct md_program *prog,
	     struct buf *err)
{
	struct parser p;
	memset(&p, 0, sizeof p);
	memset(prog, 0, sizeof *prog);
	prog->file = xstrdup(file);
	p.file = prog->file;
	p.err = err;
	md_lex_init(&p.lx, src, len);
	if (memchr(src, '\0', len)) {
		p.tok.line = 1;
		fail(&p, "NUL byte in filter file");
	}
	advance(&p);
	prog->root = parse_stmts(&p, 0);
	md_token_free(&p.tok);
	if (p.failed) {
		md_program_free(prog);
		return -1;
	}
	return 0;
}

void md_program_free(struct md_program *prog)
{
	node_free(prog->root);
	free(prog->file);
	prog->root = NULL;
	prog->file = NULL;
}
