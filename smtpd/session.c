/* smtpd session: the command loop. Replies are buffered and flushed only when
 * no further input is waiting, so a pipelined batch (RFC 2920) is answered with
 * one write. Timeouts: command_timeout of silence, session_timeout overall; both
 * end the session with 421 4.4.2. */
#include "smtpd.h"

#include "io.h"
#include "log.h"
#include "tls.h"

#include <stdlib.h>
#include <string.h>
#include <sysexits.h>

int session_read_line(struct session *s)
{
	if (io_has_buffered_input(s->io) == 0 && io_flush(s->io) != IO_OK)
		session_end(s, "write failed");
	enum io_status st = io_read_line(s->io, &s->line);
	if (st == IO_TIMEOUT) {
		reply(s, "421 4.4.2 %s Timeout, closing connection", buf_cstr(&s->me));
		session_end(s, "timeout");
	}
	if (st == IO_EOF || (st == IO_OK && io_eol(s->io) == IO_EOL_NONE))
		session_end(s, "client closed");
	if (st == IO_ERROR)
		session_end(s, io_error(s->io));
	return st;
}

void txn_reset(struct session *s)
{
	struct txn *t = &s->txn;
	for (size_t i = 0; i < t->nrcpt; i++) {
		free(t->rcpts[i].addr);
		free(t->rcpts[i].notify);
		free(t->rcpts[i].orcpt);
	}
	free(t->rcpts);
	if (t->sub)
		submit_client_abort(t->sub);
	buf_free(&t->sender);
	buf_free(&t->envid);
	buf_free(&t->ret);
	buf_free(&t->bdat_reply);
	memset(t, 0, sizeof *t);
}

void session_end(struct session *s, const char *why)
{
	io_flush(s->io);
	log_info("smtp disconnect ip=%s helo=%s user=%s msgs=%lu rejected=%lu reason=%s",
		 s->ip, s->helo.len ? buf_cstr(&s->helo) : "-",
		 s->authed ? buf_cstr(&s->auth_user) : "-", s->nmsg, s->nrej, why);
	txn_reset(s);
	submit_client_close();
	io_free(s->io);
	if (s->tls_ctx)
		tls_ctx_free(s->tls_ctx);
	buf_free(&s->line);
	buf_free(&s->me);
	buf_free(&s->helo);
	buf_free(&s->auth_user);
	buf_free(&s->mechs);
	buf_free(&s->access_msg);
	smtpd_conf_free(s->conf);
	smtpd_lists_free();
	exit(0);
}

void session_run(struct session *s)
{
	while (!s->quit) {
		enum io_status st = session_read_line(s);
		if (st == IO_TOOLONG) {
			reply_bad(s, "500 5.5.2 Line too long");
			continue;
		}
		dispatch_command(s, s->line.data ? s->line.data : "", s->line.len);
	}
	session_end(s, "quit");
}
