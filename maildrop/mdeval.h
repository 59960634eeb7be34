/* mdeval: runs a parsed filter against the message: expressions, statements,
 * deliveries. The filter is the user's own (trusted to act as the user); the
 * message is hostile. Every loop, include and the whole run are bounded;
 * values substituted into shell commands are escaped (see maildropfilter(7)
 * in this suite: "Commands"). */
#ifndef ESTAFETTE_MDEVAL_H
#define ESTAFETTE_MDEVAL_H

#include "mdmsg.h"
#include "mdparse.h"
#include "mdvar.h"

#define MD_MAX_INCLUDE   20        /* nested include statements */
#define MD_MAX_LOOP      100000    /* iterations of one while or foreach */
#define MD_MAX_STEPS     10000000  /* statements and iterations in one run */
#define MD_MAX_FILTER    (1024 * 1024) /* bytes in one filter file */
#define MD_MAX_MESSAGE   (256 * 1024 * 1024)
#define MD_MAX_CMD_OUTPUT (1024 * 1024) /* a backquoted command's output */

enum md_status { MD_OK = 0, MD_FAIL = 1, MD_DONE = 2 };

struct md_ctx {
	struct md_vars vars;
	struct md_msg msg;
	char **orig_env;        /* the environment at start, for import */
	int logfd;              /* logfile, -1 when none */
	unsigned include_depth;
	unsigned long steps;
	int exit_code;          /* with MD_DONE */
	int fatal;              /* the failure must not be trapped by exception */
	int fail_status;        /* with MD_FAIL from "to |program": its exit status */
	struct buf err;         /* with MD_FAIL */
};

void md_ctx_init(struct md_ctx *c);
void md_ctx_free(struct md_ctx *c);
/* Set MATCH-free message variables (SIZE, LINES) after the message changed. */
void md_ctx_message_vars(struct md_ctx *c);
/* Run a parsed program. */
enum md_status md_exec_program(struct md_ctx *c, const struct md_program *prog);
/* Deliver to dest as "to" does (MD_DONE) or "cc" (MD_OK); MD_FAIL on error. */
enum md_status md_deliver_to(struct md_ctx *c, const char *dest, size_t len, int final);
/* Read, parse and run a filter file (include, and the main file). */
enum md_status md_exec_file(struct md_ctx *c, const char *path);

#endif
