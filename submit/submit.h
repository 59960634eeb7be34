/* submit: what its files share (submit.c runs the protocol, envelope.c reads
 * the envelope, data.c filters the message, received.c builds Received:). */
#ifndef ESTAFETTE_SUBMIT_H
#define ESTAFETTE_SUBMIT_H

#include "buf.h"
#include "queue.h"

#include <stddef.h>
#include <stdint.h>
#include <time.h>

/* Exit codes (sysexits.h), an interface documented in submit(8). */
#define SUBMIT_EX_OK 0
#define SUBMIT_EX_USAGE 64    /* protocol violation by the caller */
#define SUBMIT_EX_DATAERR 65  /* refused: bad address, too big, ... */
#define SUBMIT_EX_TEMPFAIL 75 /* try again later; also EOF before ".\n" */

struct submit_limits {
	uint64_t max_message_size, max_recipients, max_header_size, max_line_length;
};

/* H keys, in Received: order. */
enum { H_HELO, H_IP, H_HOST, H_PORT, H_TLS, H_PROTO, H_BY, H_COUNT };
#define SUBMIT_MAX_HVALUE 255

struct submit_input {
	int fd;
	struct buf b;
	size_t pos;
	int eof;
};

struct submit {
	struct submit_limits lim;
	struct queue_env env;
	char *h[H_COUNT];       /* NULL when not given */
	int have_h;
	struct buf me;
	struct submit_input in;
	struct queue_tx tx;
	int tx_open;
};

/* Reply one line on stdout and exit with code (aborting any transaction). */
_Noreturn void submit_fail(struct submit *s, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* 1 with a line (no LF) in out, 0 at EOF (even mid-line), -1 if over max. */
int submit_read_line(struct submit_input *in, struct buf *out, size_t max);
/* 1 when the input is at its end with nothing left unread (reads to know). */
int submit_input_done(struct submit_input *in);
/* Up to max bytes of what is available (reading if nothing is): 0 at EOF. */
size_t submit_read_some(struct submit_input *in, struct buf *out, size_t max);

/* Envelope lines up to the blank line, validated into s->env and s->h. */
void submit_read_envelope(struct submit *s);

/* Received: header for s (s->tx.id set) appended to out; sets env.client. */
void submit_received(struct submit *s, struct buf *out, time_t now);

/* The data phase: D chunks and ".", filtered into the queue file. */
void submit_read_data(struct submit *s);

#endif
