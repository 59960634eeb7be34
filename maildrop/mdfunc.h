/* mdfunc: the interpreter's internals shared by mdeval.c and mdfunc.c:
 * helpers on values, patterns, built-in functions, commands and the
 * statements that act on the world (to, cc, log, echo, xfilter, locks). */
#ifndef ESTAFETTE_MDFUNC_H
#define ESTAFETTE_MDFUNC_H

#include "mdeval.h"

enum md_status md_fail(struct md_ctx *c, const struct md_node *n, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
enum md_status md_setvar(struct md_ctx *c, const struct md_node *n, const char *name,
			 size_t nlen, const void *val, size_t vlen);
int md_true(const struct buf *v);
double md_num(const struct buf *v);
void md_put_num(struct buf *out, double d);
enum md_status md_expand(struct md_ctx *c, const struct md_node *n, const struct md_parts *parts,
			 int cmd, struct buf *out);
enum md_status md_eval(struct md_ctx *c, const struct md_node *n, struct buf *out);

typedef enum md_status (*md_exec_fn)(struct md_ctx *c, const struct md_node *n);

/* Courier's escape(): a backslash before each of |!$()[]\+*?.&;`'-~<>^{}"
 * (and before a newline, so that a value never ends a shell command). */
void md_escape(struct buf *out, const char *s, size_t len);
enum md_status md_backquote(struct md_ctx *c, const struct md_node *n, const struct md_parts *cmd,
			    struct buf *out);
enum md_status md_pattern(struct md_ctx *c, const struct md_node *n, struct buf *out);
enum md_status md_call(struct md_ctx *c, const struct md_node *n, struct buf *out);
enum md_status md_foreach(struct md_ctx *c, const struct md_node *n, md_exec_fn exec);
enum md_status md_lock_block(struct md_ctx *c, const struct md_node *n, md_exec_fn exec);
int md_is_pipe(const struct md_node *e);
enum md_status md_shell(struct md_ctx *c, const struct md_node *n, const char *cmd,
			const struct buf *in, struct buf *out, size_t max, int *status);
enum md_status md_deliver_dest(struct md_ctx *c, const struct md_node *n, const char *dest,
			       size_t len, int final);
enum md_status md_statement(struct md_ctx *c, const struct md_node *n, const struct buf *arg);

#endif
