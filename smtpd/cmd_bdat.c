/* smtpd BDAT (RFC 3030 CHUNKING): "BDAT size [LAST]", then exactly size octets.
 * The octets are always consumed, even when the command is refused, so that
 * they are never read as commands. A failed chunk fails the transaction: its
 * reply is repeated for the following chunks until LAST or RSET. */
#include "smtpd.h"

#include "io.h"
#include "log.h"

#include <string.h>
#include <strings.h>

#define PIECE (64u * 1024)

static int bdat_parse(const char *arg, size_t len, uint64_t *n, int *last)
{
	size_t i = 0;
	*n = 0;
	*last = 0;
	while (i < len && arg[i] >= '0' && arg[i] <= '9') {
		unsigned d = (unsigned)(arg[i++] - '0');
		if (*n > (UINT64_MAX - d) / 10)
			return -1;
		*n = *n * 10 + d;
	}
	if (i == 0 || i > 20)
		return -1;
	if (i == len)
		return 0;
	if (len - i == 5 && strncasecmp(arg + i, " LAST", 5) == 0) {
		*last = 1;
		return 0;
	}
	return -1;
}

/* Read n octets, handing them to submit while the transaction is good. */
static void bdat_read(struct session *s, uint64_t n)
{
	struct txn *t = &s->txn;
	struct buf piece = BUF_INIT;
	while (n) {
		size_t want = n > PIECE ? PIECE : (size_t)n;
		buf_reset(&piece);
		if (io_has_buffered_input(s->io) == 0)
			io_flush(s->io);
		enum io_status st = io_read_exact(s->io, &piece, want);
		if (st == IO_TIMEOUT) {
			reply(s, "421 4.4.2 %s Timeout, closing connection", buf_cstr(&s->me));
			buf_free(&piece);
			session_end(s, "timeout");
		}
		if (st != IO_OK) {
			buf_free(&piece);
			session_end(s, st == IO_EOF ? "client closed" : io_error(s->io));
		}
		n -= want;
		t->bdat_size += want;
		if (t->bdat_size > s->conf->max_message_size && !t->bdat_failed) {
			t->bdat_failed = 1;
			buf_set_str(&t->bdat_reply, "552 5.3.4 Message size exceeds fixed limit");
		}
		if (!t->bdat_failed && t->sub)
			submit_client_data(t->sub, piece.data, piece.len);
	}
	buf_free(&piece);
}

static void bdat_fail(struct session *s, const char *text)
{
	s->txn.bdat_failed = 1;
	buf_set_str(&s->txn.bdat_reply, text);
	if (s->txn.sub) {
		submit_client_abort(s->txn.sub);
		s->txn.sub = NULL;
	}
}

/* Before the octets: refuse what cannot become a message. */
static void bdat_begin(struct session *s)
{
	struct txn *t = &s->txn;
	struct buf err = BUF_INIT;
	if (t->bdat_failed || t->sub)
		return;
	if (t->nrcpt == 0) {
		bdat_fail(s, "554 5.5.1 No valid recipients");
		return;
	}
	if ((t->sub = submit_client_start(s, &err)) == NULL) {
		log_error("%s", buf_cstr(&err));
		bdat_fail(s, "451 4.3.0 Queueing failed, try again later");
	}
	buf_free(&err);
}

void cmd_bdat(struct session *s, const char *arg, size_t len)
{
	uint64_t n;
	int last;
	struct buf r = BUF_INIT;
	if (bdat_parse(arg, len, &n, &last) < 0) {
		reply_bad(s, "501 5.5.4 Syntax: BDAT size [LAST]");
		return;
	}
	if (!s->txn.active) {
		bdat_read(s, n);
		reply_error(s, "503 5.5.1 Need MAIL before BDAT");
		return;
	}
	s->txn.bdat = 1;
	bdat_begin(s);
	bdat_read(s, n);
	if (s->txn.bdat_failed) {
		struct buf text = BUF_INIT;
		buf_append_buf(&text, &s->txn.bdat_reply);
		if (last)
			data_done(s, buf_cstr(&text), s->txn.bdat_size);
		else
			reply_error(s, "%s", buf_cstr(&text));
		buf_free(&text);
		return;
	}
	if (!last) {
		reply(s, "250 2.0.0 %llu octets received", (unsigned long long)n);
		return;
	}
	uint64_t size = s->txn.bdat_size;
	submit_client_finish(s->txn.sub, (int)s->conf->submit_timeout, &r);
	s->txn.sub = NULL;
	data_done(s, buf_cstr(&r), size);
	buf_free(&r);
}
