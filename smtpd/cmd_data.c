/* smtpd DATA (RFC 5321 4.1.1.4): the message in dot-stuffed lines, streamed to
 * submit(8).
 *
 * SMTP smuggling: the data ends only at CRLF "." CRLF. A line ending in a bare
 * LF, or a CR that does not precede LF, makes the whole message refused (550
 * 5.5.2 after the real end, as Postfix's smtpd_forbid_bare_newline), and
 * neither "\n.\n", "\n.\r\n", "\r\n.\n" nor "\r.\r" ends it: everything up to
 * the real CRLF.CRLF is data of the refused message, so nothing a client hides
 * behind such an ending is ever taken as commands. NUL bytes (RFC 5321 forbids
 * them outside BINARYMIME, which we do not offer) and lines over
 * max_data_line_length refuse the message too. */
#include "smtpd.h"

#include "io.h"
#include "log.h"

#include <string.h>

#define HARD_MAX_LINE (1024u * 1024) /* past this io skips the line: end unknown */

enum { BAD_EOL = 1, BAD_NUL = 2, BAD_LONG = 4, BAD_SIZE = 8 };

struct data_state {
	unsigned bad;
	int prev_crlf;  /* the last line ended in CRLF (the DATA line did) */
	uint64_t size;
};

/* 1 at the end of the data, 0 for a line taken. */
static int data_line(struct session *s, struct data_state *d, enum io_status st)
{
	const struct buf *l = &s->line;
	enum io_eol eol = io_eol(s->io);
	if (st == IO_TOOLONG) {
		d->bad |= BAD_LONG;
		d->prev_crlf = 0;
		return 0;
	}
	if (d->prev_crlf && eol == IO_EOL_CRLF && l->len == 1 && l->data[0] == '.')
		return 1;
	d->prev_crlf = eol == IO_EOL_CRLF;
	if (eol != IO_EOL_CRLF || memchr(l->data ? l->data : "", '\r', l->len))
		d->bad |= BAD_EOL;
	if (memchr(l->data ? l->data : "", '\0', l->len))
		d->bad |= BAD_NUL;
	if (l->len > s->conf->max_data_line)
		d->bad |= BAD_LONG;
	size_t skip = l->len && l->data[0] == '.';
	d->size += l->len - skip + 2;
	if (d->size > s->conf->max_message_size)
		d->bad |= BAD_SIZE;
	if (!d->bad) {
		submit_client_data(s->txn.sub, l->data + skip, l->len - skip);
		submit_client_data(s->txn.sub, "\n", 1);
	}
	return 0;
}

static const char *data_refusal(const struct session *s, unsigned bad)
{
	if (bad & BAD_EOL)
		return "550 5.5.2 Message refused: bare <LF> or <CR> in data (RFC 5321 2.3.8)";
	if (bad & BAD_NUL)
		return "554 5.6.0 Message refused: NUL byte in data";
	if (bad & BAD_SIZE)
		return "552 5.3.4 Message size exceeds fixed limit";
	return "554 5.6.0 Message refused: line too long";
}

void data_done(struct session *s, const char *text, uint64_t size)
{
	if (text[0] == '2') {
		const char *id = strstr(text, "queued as ");
		s->nmsg++;
		log_info("smtp accept id=%s ip=%s from=<%s> nrcpt=%zu size=%llu", id ? id + 10 : "?",
			 s->ip, buf_cstr(&s->txn.sender), s->txn.nrcpt, (unsigned long long)size);
		reply(s, "%s", text);
	} else {
		s->nrej++;
		log_info("smtp reject ip=%s from=<%s> nrcpt=%zu size=%llu reply=\"%s\"", s->ip,
			 buf_cstr(&s->txn.sender), s->txn.nrcpt, (unsigned long long)size, text);
		reply_error(s, "%s", text);
	}
	txn_reset(s);
}

static int data_check_state(struct session *s, size_t len)
{
	if (len) {
		reply_bad(s, "501 5.5.4 Syntax: DATA");
		return -1;
	}
	if (!s->txn.active) {
		reply_error(s, "503 5.5.1 Need MAIL before DATA");
		return -1;
	}
	if (s->txn.bdat) {
		reply_error(s, "503 5.5.1 DATA after BDAT");
		return -1;
	}
	if (s->txn.nrcpt == 0) {
		reply_error(s, "554 5.5.1 No valid recipients");
		return -1;
	}
	return 0;
}

void cmd_data(struct session *s, const char *arg, size_t len)
{
	struct data_state d = { 0, 1, 0 };
	struct buf err = BUF_INIT, r = BUF_INIT;
	if (data_check_state(s, len) < 0)
		return;
	if ((s->txn.sub = submit_client_start(s, &err)) == NULL) {
		log_error("%s", buf_cstr(&err));
		buf_free(&err);
		reply_error(s, "451 4.3.0 Queueing failed, try again later");
		return;
	}
	reply(s, "354 End data with <CR><LF>.<CR><LF>");
	io_set_max_line(s->io, HARD_MAX_LINE);
	for (;;) {
		enum io_status st = session_read_line(s);
		if (data_line(s, &d, st))
			break;
	}
	io_set_max_line(s->io, s->conf->max_line);
	if (d.bad) {
		submit_client_abort(s->txn.sub);
		s->txn.sub = NULL;
		data_done(s, data_refusal(s, d.bad), d.size);
		return;
	}
	submit_client_finish(s->txn.sub, (int)s->conf->submit_timeout, &r);
	s->txn.sub = NULL;
	data_done(s, buf_cstr(&r), d.size);
	buf_free(&r);
}
