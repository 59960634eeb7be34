/* mdparse: the parser of maildrop's filter language: tokens -> a tree.
 *
 * The whole file is parsed before anything runs (a syntax error delivers
 * nothing). Nesting is bounded by MD_MAX_DEPTH and the file's size by the
 * caller; errors read "FILE(LINE): message". */
#ifndef ESTAFETTE_MDPARSE_H
#define ESTAFETTE_MDPARSE_H

#include "mdlex.h"

#define MD_MAX_DEPTH 100  /* nested blocks and parentheses */
#define MD_MAX_CHAIN 1000 /* operators in one chain (a + b + c ...) */

enum md_node_kind {
	MD_N_SEQ, MD_N_ASSIGN, MD_N_IF, MD_N_WHILE, MD_N_FOREACH, MD_N_TO, MD_N_CC,
	MD_N_EXIT, MD_N_LOG, MD_N_LOGFILE, MD_N_ECHO, MD_N_IMPORT, MD_N_INCLUDE,
	MD_N_EXCEPTION, MD_N_XFILTER, MD_N_SYSTEM, MD_N_DOTLOCK, MD_N_FLOCK,
	MD_N_EXPR,    /* an expression as a statement */
	MD_N_STR,     /* parts */
	MD_N_PATTERN, /* parts, flags, weights; kids[0] = the string for =~ (or none) */
	MD_N_BINOP,   /* op = token kind; kids[0], kids[1] */
	MD_N_UNOP,    /* op = MD_T_NOT, MD_T_TILDE or MD_T_MINUS */
	MD_N_CALL,    /* fn; kids = arguments */
};

enum md_fn {
	MD_FN_HASADDR, MD_FN_GETADDR, MD_FN_LOOKUP, MD_FN_LENGTH, MD_FN_SUBSTR,
	MD_FN_ESCAPE, MD_FN_TOLOWER, MD_FN_TOUPPER, MD_FN_TIME,
};

struct md_node {
	enum md_node_kind kind;
	int op;           /* BINOP/UNOP: token kind; CALL: enum md_fn */
	unsigned line;
	const char *file; /* owned by the md_program */
	struct md_node **kids;
	size_t nkids;
	struct md_parts parts;
	unsigned pat_flags;
	double w1, w2;
	void *re; /* PATTERN without variables: compiled once (pcre2_code) */
};

struct md_program {
	char *file;
	struct md_node *root; /* an MD_N_SEQ */
};

/* Parse src (from file, for messages). 0, or -1 with "file(line): why" in err. */
int md_parse(const char *file, const char *src, size_t len, struct md_program *prog,
	     struct buf *err);
void md_program_free(struct md_program *prog);

#endif
