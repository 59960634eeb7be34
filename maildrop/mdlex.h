/* mdlex: the tokenizer of maildrop's filter language (maildropfilter(7)).
 *
 * Turns filter text into tokens with line numbers. Literal text becomes a list
 * of parts (plain bytes, variable references, backquoted commands) so that the
 * interpreter substitutes variables without re-scanning. Trusts nothing in the
 * text: every token and the text as a whole are bounded by the caller. */
#ifndef ESTAFETTE_MDLEX_H
#define ESTAFETTE_MDLEX_H

#include "buf.h"

#include <stddef.h>

enum md_part_kind { MD_PART_LIT, MD_PART_VAR, MD_PART_CMD };

struct md_parts;
struct md_part {
	enum md_part_kind kind;
	struct buf text;      /* bytes (LIT) or the variable's name (VAR) */
	struct md_parts *cmd; /* CMD: the command's text, itself with parts */
};
struct md_parts {
	struct md_part *v;
	size_t n, cap;
};

enum md_tok {
	MD_T_EOF, MD_T_EOL, MD_T_LBRACE, MD_T_RBRACE, MD_T_LPAREN, MD_T_RPAREN, MD_T_COMMA,
	MD_T_ASSIGN, MD_T_OR, MD_T_AND, MD_T_LT, MD_T_LE, MD_T_GT, MD_T_GE, MD_T_EQ,
	MD_T_NE, MD_T_BOR, MD_T_BAND, MD_T_PLUS, MD_T_MINUS, MD_T_MUL, MD_T_DIV,
	MD_T_MATCH, MD_T_NOT, MD_T_TILDE,
	MD_T_STRING,  /* quoted or backquoted text: parts */
	MD_T_WORD,    /* unquoted text: parts, and raw for keywords and names */
	MD_T_PATTERN, /* /pattern/:flags,w1,w2: parts (backslashes kept) */
};

/* Pattern flags. */
#define MD_PAT_HEADER 0x1
#define MD_PAT_BODY   0x2
#define MD_PAT_CASE   0x4 /* D: case-sensitive */
#define MD_PAT_WEIGHT 0x8 /* weights were given */

struct md_token {
	enum md_tok kind;
	unsigned line;
	struct md_parts parts;
	struct buf raw;
	unsigned pat_flags;
	double w1, w2;
};

struct md_lexer {
	const char *src;
	size_t len, pos;
	unsigned line;
	enum md_tok prev; /* the kind of the token before: '/' after '=' is text */
};

#define MD_MAX_TOKEN (64 * 1024) /* longest literal, pattern or name */

void md_lex_init(struct md_lexer *lx, const char *src, size_t len);
/* The next token into tok (its old contents freed). 0, or -1 with a message
 * (without file and line; tok->line has the line) in err. */
int md_lex_next(struct md_lexer *lx, struct md_token *tok, struct buf *err);
void md_token_free(struct md_token *tok);

void md_parts_free(struct md_parts *p);
struct md_part *md_parts_add(struct md_parts *p, enum md_part_kind kind);
void md_parts_move(struct md_parts *dst, struct md_parts *src); /* append, src emptied */

#endif
