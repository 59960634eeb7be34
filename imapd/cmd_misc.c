/* cmd_misc: CAPABILITY, NOOP, CHECK, LOGOUT, ID, ENABLE, NAMESPACE, IDLE.
 * IDLE waits for "DONE" and rescans the mailbox every second meanwhile. */
#include "imapd.h"

#include "io.h"

#include <string.h>
#include <strings.h>

#define IDLE_POLL_MS 1000

void cmd_capability_list(struct session *s)
{
	out_str(s, "IMAP4rev1 LITERAL+ IDLE UIDPLUS MOVE NAMESPACE ID ENABLE UNSELECT "
		   "CHILDREN APPENDLIMIT=67108864");
}

void cmd_capability(struct session *s, struct parser *ps)
{
	if (p_eol(ps) < 0)
		return out_bad(s, ps);
	out_str(s, "* CAPABILITY ");
	cmd_capability_list(s);
	out_str(s, "\r\n");
	out_done(s, "OK", "CAPABILITY completed");
}

void cmd_noop(struct session *s, struct parser *ps)
{
	if (p_eol(ps) < 0)
		return out_bad(s, ps);
	out_done(s, "OK", "NOOP completed");
}

void cmd_check(struct session *s, struct parser *ps)
{
	if (p_eol(ps) < 0)
		return out_bad(s, ps);
	out_done(s, "OK", "CHECK completed");
}

void cmd_logout(struct session *s, struct parser *ps)
{
	if (p_eol(ps) < 0)
		return out_bad(s, ps);
	out_str(s, "* BYE estafette IMAP logging out\r\n");
	out_tagged(s, "OK", "LOGOUT completed");
	s->logout = 1;
}

/* ID ( "key" "value" ... ) or ID NIL: the client's list is checked and ignored. */
void cmd_id(struct session *s, struct parser *ps)
{
	struct buf b = BUF_INIT;
	int ok = p_sp(ps) == 0;
	if (ok && p_peek(ps, '(')) {
		ps->p++;
		for (int i = 0; ok && !p_peek(ps, ')') && i < 60; i++) {
			if (i > 0)
				ok = p_sp(ps) == 0;
			if (ok && (ps->end - ps->p >= 3 && strncasecmp(ps->p, "NIL", 3) == 0))
				ps->p += 3;
			else if (ok)
				ok = p_string(ps, &b) == 0;
		}
		ok = ok && p_char(ps, ')') == 0;
	} else if (ok) {
		ok = p_atom(ps, &b) == 0 && strcasecmp(buf_cstr(&b), "NIL") == 0;
	}
	buf_free(&b);
	if (!ok || p_eol(ps) < 0)
		return out_bad(s, ps);
	out_str(s, "* ID (\"name\" \"estafette\")\r\n");
	out_done(s, "OK", "ID completed");
}

void cmd_enable(struct session *s, struct parser *ps)
{
	struct buf b = BUF_INIT;
	int n = 0;
	while (p_peek(ps, ' ')) {
		ps->p++;
		if (p_atom(ps, &b) < 0)
			break;
		n++;
	}
	buf_free(&b);
	if (n == 0 || p_eol(ps) < 0)
		return out_bad(s, ps);
	out_str(s, "* ENABLED\r\n");
	out_done(s, "OK", "ENABLE completed");
}

void cmd_namespace(struct session *s, struct parser *ps)
{
	if (p_eol(ps) < 0)
		return out_bad(s, ps);
	out_str(s, "* NAMESPACE ((\"INBOX.\" \".\")) NIL NIL\r\n");
	out_done(s, "OK", "NAMESPACE completed");
}

void cmd_idle(struct session *s, struct parser *ps)
{
	struct buf line = BUF_INIT;
	if (p_eol(ps) < 0)
		return out_bad(s, ps);
	out_str(s, "+ idling\r\n");
	io_set_timeout(s->io, IDLE_POLL_MS);
	int waited = 0, done = 0;
	while (!done && io_flush(s->io) == IO_OK) {
		enum io_status st = io_read_line(s->io, &line);
		if (st == IO_TIMEOUT) {
			if (s->sel != NULL)
				mailbox_sync(s, 1);
			if (++waited > 30 * 60)
				break;
			continue;
		}
		done = st == IO_OK ? 1 : -1;
	}
	io_set_timeout(s->io, 30 * 60 * 1000);
	if (done == 1 && strcasecmp(buf_cstr(&line), "DONE") == 0)
		out_done(s, "OK", "IDLE terminated");
	else if (done == 1)
		out_tagged(s, "BAD", "Expected DONE");
	else
		s->logout = 1;
	buf_free(&line);
}
