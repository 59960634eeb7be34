/* submit: the data phase. Chunks "D<length>\n" + bytes, then ".\n".
 * The data is filtered on its way to the queue file: CRLF becomes LF (a bare
 * CR inside a line stays), lines and the header section are bounded, NUL is
 * refused unless BINARYMIME, and the total is checked before a chunk is read. */
#include "submit.h"
#include "log.h"

#include <string.h>

#define FLUSH_AT 65536

struct filter {
	struct submit *s;
	struct buf out;
	int binary, pend_cr, in_header, hstate;
	uint64_t line_len, header_bytes;
	char last;
};

static void flush(struct filter *f, int force)
{
	struct buf err = BUF_INIT;
	if (f->out.len == 0 || (!force && f->out.len < FLUSH_AT))
		return;
	if (queue_tx_write(&f->s->tx, f->out.data, f->out.len, &err) < 0) {
		log_error("%s", buf_cstr(&err));
		submit_fail(f->s, SUBMIT_EX_TEMPFAIL, "451 4.3.0 Queue write failed");
	}
	buf_reset(&f->out);
	buf_free(&err);
}

/* Header section: ends at the blank line, or at the first line that is
 * neither a field ("name:") nor a continuation. */
static void header_track(struct filter *f, unsigned char c)
{
	if (++f->header_bytes > f->s->lim.max_header_size)
		submit_fail(f->s, SUBMIT_EX_DATAERR, "552 5.3.4 Header section too large (max %llu)",
			    (unsigned long long)f->s->lim.max_header_size);
	if (f->line_len == 0) {
		if (c == '\n')
			f->in_header = 0;
		f->hstate = (c == ' ' || c == '\t') ? 2 : 1;
		if (f->hstate == 1 && c == ':')
			f->in_header = 0; /* empty field name */
		return;
	}
	if (f->hstate == 1) {
		if (c == ':')
			f->hstate = 2;
		else if (c < 33 || c > 126)
			f->in_header = 0;
	}
}

static void emit(struct filter *f, unsigned char c)
{
	if (f->in_header)
		header_track(f, c);
	if (c == '\n') {
		f->line_len = 0;
	} else if (++f->line_len > f->s->lim.max_line_length) {
		submit_fail(f->s, SUBMIT_EX_DATAERR, "554 5.6.0 Line too long (max %llu)",
			    (unsigned long long)f->s->lim.max_line_length);
	} else if (c == '\0' && !f->binary) {
		submit_fail(f->s, SUBMIT_EX_DATAERR, "554 5.6.0 NUL byte in the message");
	}
	buf_append_char(&f->out, (char)c);
	f->last = (char)c;
}

static void feed(struct filter *f, const unsigned char *p, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		unsigned char c = p[i];
		if (f->pend_cr) {
			f->pend_cr = 0;
			if (c != '\n')
				emit(f, '\r');
		}
		if (c == '\r')
			f->pend_cr = 1;
		else
			emit(f, c);
	}
	flush(f, 0);
}

/* "D<digits>": the chunk length, or -1. */
static int chunk_len(const struct buf *line, uint64_t *n)
{
	if (line->len < 2 || line->len > 21 || line->data[0] != 'D' ||
	    (line->len > 2 && line->data[1] == '0'))
		return -1;
	uint64_t v = 0;
	for (size_t i = 1; i < line->len; i++) {
		char c = line->data[i];
		if (c < '0' || c > '9' || v > (UINT64_MAX - 9) / 10)
			return -1;
		v = v * 10 + (uint64_t)(c - '0');
	}
	*n = v;
	return 0;
}

static void read_chunk(struct filter *f, uint64_t n)
{
	struct buf piece = BUF_INIT;
	while (n > 0) {
		buf_reset(&piece);
		size_t got = submit_read_some(&f->s->in, &piece, n < FLUSH_AT ? (size_t)n : FLUSH_AT);
		if (got == 0)
			submit_fail(f->s, SUBMIT_EX_TEMPFAIL, "%s", "");
		feed(f, (const unsigned char *)piece.data, got);
		n -= got;
	}
	buf_free(&piece);
}

void submit_read_data(struct submit *s)
{
	struct filter f = { .s = s, .binary = strcmp(s->env.body, "BINARYMIME") == 0,
			    .in_header = 1 };
	struct buf line = BUF_INIT;
	uint64_t total = 0, n;
	submit_received(s, &f.out, time(NULL));
	flush(&f, 1);
	for (;;) {
		int r = submit_read_line(&s->in, &line, 32);
		if (r == 0)
			submit_fail(s, SUBMIT_EX_TEMPFAIL, "%s", "");
		if (r == 1 && line.len == 1 && line.data[0] == '.')
			break;
		if (r < 0 || chunk_len(&line, &n) < 0)
			submit_fail(s, SUBMIT_EX_USAGE, "554 5.5.2 Expected D<length> or .");
		if (n > s->lim.max_message_size - total)
			submit_fail(s, SUBMIT_EX_DATAERR, "552 5.3.4 Message too big (max %llu)",
				    (unsigned long long)s->lim.max_message_size);
		total += n;
		read_chunk(&f, n);
	}
	if (f.pend_cr)
		emit(&f, '\n'); /* a CR at the very end ends the last line */
	else if (total > 0 && f.last != '\n')
		emit(&f, '\n');
	flush(&f, 1);
	buf_free(&f.out);
	buf_free(&line);
}
