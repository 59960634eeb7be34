/* maildrop_fuzz: maildrop's filter language (maildropfilter(7)): the lexer
 * and parser over any text, then, for a program without side effects, a run
 * against a fixed hostile message. A program is run only when its tree has
 * no delivery (to, cc), command (system, xfilter, backquotes), file access
 * (include, logfile, lookup, dotlock, flock) or output (log, echo); the run
 * gets a budget of 20,000 steps (the steps counter starts near
 * MD_MAX_STEPS). Byte 0 bit 0: parse only. Invariants: a parse error names
 * "f(LINE)" and leaves no program; a run ends OK, DONE or FAIL (with a
 * reason); variables stay NUL-free C strings where the interpreter says so. */
#include "fuzz.h"
#include "buf.h"
#include "../maildrop/mdeval.h"
#include "../maildrop/mdparse.h"

static const char message[] =
	"Return-Path: <a@example.org>\n"
	"From: \"A\" <a@example.org>, b@example.net\n"
	"To: undisclosed-recipients:;\n"
	"Subject: =?utf-8?B?w6k=?= hello [list]\n"
	"Received: from x by y; Sat, 21 Nov 2026 10:00:00 +0000\n"
	"X-Spam-Score: 7.5\n"
	"Content-Type: multipart/mixed; boundary=b\n"
	"\n"
	"--b\n"
	"Content-Type: text/plain\n"
	"\n"
	"hello world\n"
	"From me\n"
	".\n"
	"--b--\n";

static int parts_safe(const struct md_parts *p)
{
	for (size_t i = 0; i < p->n; i++)
		if (p->v[i].kind == MD_PART_CMD)
			return 0;
	return 1;
}

static int node_safe(const struct md_node *n, unsigned depth)
{
	if (n == NULL)
		return 1;
	if (depth > MD_MAX_DEPTH * 4)
		return 0;
	switch (n->kind) {
	case MD_N_TO: case MD_N_CC: case MD_N_LOG: case MD_N_LOGFILE: case MD_N_ECHO:
	case MD_N_INCLUDE: case MD_N_XFILTER: case MD_N_SYSTEM: case MD_N_DOTLOCK:
	case MD_N_FLOCK: case MD_N_IMPORT:
		return 0;
	case MD_N_CALL:
		if (n->op == MD_FN_LOOKUP)
			return 0;
		break;
	default:
		break;
	}
	if (!parts_safe(&n->parts))
		return 0;
	for (size_t i = 0; i < n->nkids; i++)
		if (!node_safe(n->kids[i], depth + 1))
			return 0;
	return 1;
}

static void run(const struct md_program *prog)
{
	struct md_ctx c;
	md_ctx_init(&c);
	struct buf msg = BUF_INIT;
	buf_set(&msg, message, sizeof message - 1);
	md_msg_set(&c.msg, &msg);
	md_ctx_message_vars(&c);
	md_vars_set_str(&c.vars, "HOME", "/nonexistent");
	md_vars_set_str(&c.vars, "DEFAULT", "/nonexistent/Maildir/");
	c.steps = MD_MAX_STEPS - 20000;
	enum md_status s = md_exec_program(&c, prog);
	FUZZ_CHECK(s == MD_OK || s == MD_DONE || s == MD_FAIL);
	if (s == MD_FAIL)
		FUZZ_CHECK(c.err.len > 0);
	(void)md_vars_get_str(&c.vars, "MATCH");
	buf_free(&msg);
	md_ctx_free(&c);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_in in;
	fuzz_in_init(&in, data, size);
	unsigned opt = fuzz_take_byte(&in);
	struct md_program prog;
	struct buf err = BUF_INIT;
	if (md_parse("f", (const char *)in.p, in.len, &prog, &err) < 0) {
		FUZZ_CHECK(err.len > 2 && memcmp(err.data, "f(", 2) == 0);
		buf_free(&err);
		return 0;
	}
	FUZZ_CHECK(prog.root != NULL);
	if ((opt & 1) == 0 && node_safe(prog.root, 0))
		run(&prog);
	md_program_free(&prog);
	buf_free(&err);
	return 0;
}
