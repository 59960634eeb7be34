/* qp: quoted-printable (RFC 2045 6.7) and the RFC 2047 "Q" encoding.
 *
 * Decoding never fails, because RFC 2045 asks decoders to be robust: "=XX"
 * (hex in either case) becomes a byte; "=" before a line break, possibly
 * with whitespace between (transport padding), is a soft line break and
 * disappears; any other "=" is kept literally with what follows it; a "="
 * at the very end of the input is a soft break; spaces and tabs at the end
 * of a line (or of the input) are deleted. Hard line breaks (CRLF or LF) are
 * kept as they came. The decoder exists one-shot and as a stream (init,
 * feed any number of pieces, finish) with identical results however the
 * input is cut, including between "=" and its hex digits or CR and LF.
 *
 * Encoding emits lines of at most 76 characters with soft breaks, escapes
 * "=", control and 8-bit bytes, and spaces or tabs that would end a line.
 * Input is untrusted and may contain NULs; memory use is linear. */
#ifndef ESTAFETTE_QP_H
#define ESTAFETTE_QP_H

#include <stddef.h>

#include "buf.h"

#define QP_LINE 76 /* maximum encoded line length, without the line break */

/* qp_encode flags */
#define QP_LF     1  /* write line breaks as LF instead of CRLF */
#define QP_BINARY 2  /* CR and LF are data (=0D, =0A), not line breaks */

/* Without QP_BINARY, CRLF and bare LF in data are hard line breaks and a
 * bare CR is encoded. The output does not end in a line break unless data
 * does. */
void qp_encode(struct buf *out, const void *data, size_t len, unsigned flags);
void qp_decode(struct buf *out, const char *in, size_t len);

/* The incremental decoder. Call finish (or free, to abandon) exactly once;
 * after either, init again to reuse. */
struct qp_dec {
	int state;
	char hex1;        /* the first hex digit after '=' */
	struct buf ws;    /* spaces and tabs not yet known to be trailing */
};

void qp_dec_init(struct qp_dec *d);
void qp_dec_feed(struct qp_dec *d, struct buf *out, const char *in, size_t len);
void qp_dec_finish(struct qp_dec *d, struct buf *out);
void qp_dec_free(struct qp_dec *d);

/* RFC 2047 4.2 "Q" payload (the text between "?Q?" and "?="): space as "_",
 * only letters, digits and ! * + - / literal (safe in every header
 * context), everything else =XX. No line handling: callers split words. */
void qp_encode_q(struct buf *out, const void *data, size_t len);
size_t qp_encode_q_size(const void *data, size_t len); /* what qp_encode_q would add */
/* "_" is a space, "=XX" a byte, malformed "=" kept literally. */
void qp_decode_q(struct buf *out, const char *in, size_t len);

#endif
