/* mdeval: expressions and statements of the filter language; see mdeval.h.
 *
 * Values are byte strings; arithmetic converts them with strtod and prints
 * results with "%.22g" as Courier's maildrop does; "" and "0" are false.
 * Built-in functions, commands and deliveries live in mdfunc.c. */
#include "mdeval.h"

#include "mdfunc.h"

#include "alloc.h"
#include "file.h"

#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

void md_ctx_init(struct md_ctx *c)
{
	memset(c, 0, sizeof *c);
	md_vars_init(&c->vars);
	md_msg_init(&c->msg);
	c->logfd = -1;
}

void md_ctx_free(struct md_ctx *c)
{
	md_vars_free(&c->vars);
	md_msg_free(&c->msg);
	if (c->logfd >= 0)
		close(c->logfd);
	buf_free(&c->err);
}

enum md_status md_fail(struct md_ctx *c, const struct md_node *n, const char *fmt, ...)
{
	va_list ap;
	buf_reset(&c->err);
	if (n)
		buf_printf(&c->err, "%s(%u): ", n->file, n->line);
	va_start(ap, fmt);
	buf_vprintf(&c->err, fmt, ap);
	va_end(ap);
	return MD_FAIL;
}

enum md_status md_setvar(struct md_ctx *c, const struct md_node *n, const char *name,
			 size_t nlen, const void *val, size_t vlen)
{
	if (md_vars_set(&c->vars, name, nlen, val, vlen) < 0) {
		c->fatal = 1;
		return md_fail(c, n, "variables too large or too many");
	}
	return MD_OK;
}

int md_true(const struct buf *v)
{
	return v->len && !(v->len == 1 && v->data[0] == '0');
}

double md_num(const struct buf *v)
{
	const char *s = buf_cstr((struct buf *)v);
	char *end;
	double d = strtod(s, &end);
	return end == s ? 0 : d;
}

void md_put_num(struct buf *out, double d)
{
	buf_reset(out);
	if (d == 0)
		d = 0; /* no "-0" */
	buf_printf(out, "%.22g", d); /* 1 / 0 gives "inf", 0 / 0 "-nan", as Courier's */
}

/* Text of parts, variables substituted; escaped for a shell when cmd. */
enum md_status md_expand(struct md_ctx *c, const struct md_node *n, const struct md_parts *parts,
			 int cmd, struct buf *out)
{
	for (size_t i = 0; i < parts->n; i++) {
		const struct md_part *p = &parts->v[i];
		if (p->kind == MD_PART_LIT) {
			buf_append_buf(out, &p->text);
		} else if (p->kind == MD_PART_VAR) {
			const struct buf *v = md_vars_get(&c->vars, p->text.data, p->text.len);
			if (v && cmd)
				md_escape(out, v->data, v->len);
			else if (v)
				buf_append_buf(out, v);
		} else if (md_backquote(c, n, p->cmd, out) != MD_OK) {
			return MD_FAIL;
		}
		if (out->len > MD_MAX_VAR_BYTES) {
			c->fatal = 1;
			return md_fail(c, n, "text too long");
		}
	}
	return MD_OK;
}

/* The 32 bits |, & and ~ work on: 0 for a number no integer type holds
 * (converting it would be undefined; a message can supply 1e300). */
static uint32_t md_bits(double d)
{
	return isfinite(d) && fabs(d) < 9.2e18 ? (uint32_t)(int64_t)d : 0;
}

static enum md_status eval_num_binop(struct md_ctx *c, const struct md_node *n, struct buf *out)
{
	struct buf r = BUF_INIT;
	if (md_eval(c, n->kids[0], out) != MD_OK || md_eval(c, n->kids[1], &r) != MD_OK) {
		buf_free(&r);
		return MD_FAIL;
	}
	double a = md_num(out), b = md_num(&r), v = 0;
	int cmp = 0;
	if (n->op >= 100) {
		size_t m = out->len < r.len ? out->len : r.len;
		cmp = m ? memcmp(out->data, r.data, m) : 0;
		if (!cmp)
			cmp = out->len < r.len ? -1 : out->len > r.len;
	}
	switch (n->op) {
	case MD_T_LT: v = a < b; break;
	case MD_T_LE: v = a <= b; break;
	case MD_T_GT: v = a > b; break;
	case MD_T_GE: v = a >= b; break;
	case MD_T_EQ: v = a == b; break;
	case MD_T_NE: v = a != b; break;
	case 100: v = cmp < 0; break;
	case 101: v = cmp <= 0; break;
	case 102: v = cmp > 0; break;
	case 103: v = cmp >= 0; break;
	case 104: v = cmp == 0; break;
	case 105: v = cmp != 0; break;
	case MD_T_BOR: v = (int32_t)(md_bits(a) | md_bits(b)); break;
	case MD_T_BAND: v = (int32_t)(md_bits(a) & md_bits(b)); break;
	case MD_T_PLUS: v = a + b; break;
	case MD_T_MINUS: v = a - b; break;
	case MD_T_MUL: v = a * b; break;
	case MD_T_DIV: v = a / b; break; /* by 0: inf or nan, as Courier's */
	}
	buf_free(&r);
	if (!isfinite(v) && (n->op == MD_T_BOR || n->op == MD_T_BAND))
		v = 0;
	md_put_num(out, v);
	return MD_OK;
}

static enum md_status eval_binop(struct md_ctx *c, const struct md_node *n, struct buf *out)
{
	if (n->op != MD_T_OR && n->op != MD_T_AND)
		return eval_num_binop(c, n, out);
	if (md_eval(c, n->kids[0], out) != MD_OK)
		return MD_FAIL;
	int t = md_true(out);
	if ((n->op == MD_T_OR && t) || (n->op == MD_T_AND && !t))
		return MD_OK;
	buf_reset(out);
	return md_eval(c, n->kids[1], out);
}

static enum md_status eval_unop(struct md_ctx *c, const struct md_node *n, struct buf *out)
{
	if (md_eval(c, n->kids[0], out) != MD_OK)
		return MD_FAIL;
	if (n->op == MD_T_NOT) {
		int t = md_true(out);
		buf_set_str(out, t ? "0" : "1");
	} else if (n->op == MD_T_TILDE) {
		double d = md_num(out);
		md_put_num(out, (int32_t)~md_bits(d));
	} else {
		md_put_num(out, -md_num(out));
	}
	return MD_OK;
}

enum md_status md_eval(struct md_ctx *c, const struct md_node *n, struct buf *out)
{
	buf_reset(out);
	if (!n)
		return MD_OK;
	switch (n->kind) {
	case MD_N_STR:
		return md_expand(c, n, &n->parts, 0, out);
	case MD_N_PATTERN:
		return md_pattern(c, n, out);
	case MD_N_BINOP:
		return eval_binop(c, n, out);
	case MD_N_UNOP:
		return eval_unop(c, n, out);
	case MD_N_CALL:
		return md_call(c, n, out);
	default:
		return md_fail(c, n, "internal error: not an expression");
	}
}

static enum md_status exec(struct md_ctx *c, const struct md_node *n);

static enum md_status step(struct md_ctx *c, const struct md_node *n)
{
	if (++c->steps > MD_MAX_STEPS) {
		c->fatal = 1;
		return md_fail(c, n, "the filter ran too long (more than %d steps)", MD_MAX_STEPS);
	}
	return MD_OK;
}

static enum md_status exec_seq(struct md_ctx *c, const struct md_node *n)
{
	for (size_t i = 0; i < n->nkids; i++) {
		enum md_status s = exec(c, n->kids[i]);
		if (s != MD_OK)
			return s;
	}
	return MD_OK;
}

static enum md_status exec_cond(struct md_ctx *c, const struct md_node *e, int *t)
{
	struct buf v = BUF_INIT;
	enum md_status s = md_eval(c, e, &v);
	*t = md_true(&v);
	buf_free(&v);
	return s;
}

static enum md_status exec_if(struct md_ctx *c, const struct md_node *n)
{
	int t;
	if (exec_cond(c, n->kids[0], &t) != MD_OK)
		return MD_FAIL;
	if (t)
		return exec(c, n->kids[1]);
	return n->nkids > 2 ? exec(c, n->kids[2]) : MD_OK;
}

static enum md_status exec_while(struct md_ctx *c, const struct md_node *n)
{
	for (unsigned long i = 0;; i++) {
		int t;
		if (exec_cond(c, n->kids[0], &t) != MD_OK)
			return MD_FAIL;
		if (!t)
			return MD_OK;
		if (i >= MD_MAX_LOOP) {
			c->fatal = 1;
			return md_fail(c, n, "while loop ran more than %d times", MD_MAX_LOOP);
		}
		enum md_status s = step(c, n);
		if (s == MD_OK)
			s = exec(c, n->kids[1]);
		if (s != MD_OK)
			return s;
	}
}

static enum md_status exec_exception(struct md_ctx *c, const struct md_node *n)
{
	enum md_status s = exec(c, n->kids[0]);
	if (s == MD_FAIL && !c->fatal) {
		buf_reset(&c->err);
		c->fail_status = 0;
		return MD_OK;
	}
	return s;
}

static enum md_status exec_assign(struct md_ctx *c, const struct md_node *n)
{
	struct buf name = BUF_INIT, v = BUF_INIT;
	enum md_status s = md_expand(c, n, &n->kids[0]->parts, 0, &name);
	if (s == MD_OK)
		s = md_eval(c, n->kids[1], &v);
	if (s == MD_OK)
		s = md_setvar(c, n, name.data ? name.data : "", name.len, v.data ? v.data : "", v.len);
	buf_free(&name);
	buf_free(&v);
	return s;
}

static enum md_status exec_import(struct md_ctx *c, const struct md_node *n)
{
	struct buf name = BUF_INIT;
	enum md_status s = md_expand(c, n, &n->kids[0]->parts, 0, &name);
	for (char **e = c->orig_env; s == MD_OK && e && *e; e++) {
		if (!strncmp(*e, buf_cstr(&name), name.len) && (*e)[name.len] == '=') {
			const char *v = *e + name.len + 1;
			s = md_setvar(c, n, name.data, name.len, v, strlen(v));
			break;
		}
	}
	buf_free(&name);
	return s;
}

static enum md_status exec_include(struct md_ctx *c, const struct md_node *n)
{
	struct buf path = BUF_INIT;
	enum md_status s = md_eval(c, n->kids[0], &path);
	if (s == MD_OK && c->include_depth >= MD_MAX_INCLUDE) {
		c->fatal = 1;
		s = md_fail(c, n, "include nested more than %d deep", MD_MAX_INCLUDE);
	}
	if (s == MD_OK) {
		c->include_depth++;
		s = md_exec_file(c, buf_cstr(&path));
		c->include_depth--;
	}
	buf_free(&path);
	return s;
}

/* The statements whose work is in mdfunc.c take their argument's value. */
static enum md_status exec_with_arg(struct md_ctx *c, const struct md_node *n)
{
	struct buf v = BUF_INIT;
	enum md_status s;
	int cmd = n->kind == MD_N_XFILTER || n->kind == MD_N_SYSTEM ||
		  ((n->kind == MD_N_TO || n->kind == MD_N_CC) && md_is_pipe(n->kids[0]));
	if (cmd && n->kids[0]->kind == MD_N_STR)
		s = md_expand(c, n->kids[0], &n->kids[0]->parts, 1, &v);
	else
		s = md_eval(c, n->kids[0], &v);
	if (s == MD_OK)
		s = md_statement(c, n, &v);
	buf_free(&v);
	return s;
}

static enum md_status exec(struct md_ctx *c, const struct md_node *n)
{
	if (!n)
		return MD_OK;
	if (step(c, n) != MD_OK)
		return MD_FAIL;
	switch (n->kind) {
	case MD_N_SEQ: return exec_seq(c, n);
	case MD_N_ASSIGN: return exec_assign(c, n);
	case MD_N_IF: return exec_if(c, n);
	case MD_N_WHILE: return exec_while(c, n);
	case MD_N_FOREACH: return md_foreach(c, n, exec);
	case MD_N_EXCEPTION: return exec_exception(c, n);
	case MD_N_IMPORT: return exec_import(c, n);
	case MD_N_INCLUDE: return exec_include(c, n);
	case MD_N_EXIT: {
		const struct buf *e = md_vars_get(&c->vars, "EXITCODE", 8);
		c->exit_code = e ? (int)md_num(e) : 0;
		return MD_DONE;
	}
	case MD_N_DOTLOCK:
	case MD_N_FLOCK:
		return md_lock_block(c, n, exec);
	case MD_N_EXPR: {
		struct buf v = BUF_INIT;
		enum md_status s = md_eval(c, n->kids[0], &v);
		buf_free(&v);
		return s;
	}
	default:
		return exec_with_arg(c, n);
	}
}

enum md_status md_exec_program(struct md_ctx *c, const struct md_program *prog)
{
	return exec(c, prog->root);
}

enum md_status md_exec_file(struct md_ctx *c, const char *path)
{
	struct buf text = BUF_INIT, err = BUF_INIT;
	struct md_program prog;
	enum md_status s;
	if (file_read(path, &text, MD_MAX_FILTER) < 0) {
		s = md_fail(c, NULL, "%s: %s", path, errno == EFBIG ? "filter file too large"
								      : strerror(errno));
	} else if (md_parse(path, text.data ? text.data : "", text.len, &prog, &err) < 0) {
		s = md_fail(c, NULL, "%s", buf_cstr(&err));
	} else {
		s = md_exec_program(c, &prog);
		md_program_free(&prog);
	}
	buf_free(&text);
	buf_free(&err);
	return s;
}
