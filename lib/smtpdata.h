/* smtpdata: a message file turned into SMTP's wire form, incrementally.
 *
 * The queue stores messages with LF line ends (docs/QUEUE.md). On the wire
 * every line ends in CRLF (RFC 5321 2.3.8) and, inside DATA, a line starting
 * with "." gets a second "." (dot-stuffing, 4.5.2) and the data ends with
 * CRLF "." CRLF. BDAT (RFC 3030) carries the same CRLF form without
 * dot-stuffing or terminator. A CR already before an LF is kept as the CR of
 * that CRLF; a bare CR elsewhere (sendmail input may hold one) gets an LF and
 * ends its line, since RFC 5321 2.3.8 allows CR only in CRLF and a next hop
 * might take <CR>.<CR> for the end of the data. Data not ending
 * in a line end gets one, so the terminator always starts a line (no
 * <LF>.<LF> or <CR>.<CR> can ever be produced: SMTP smuggling).
 * Lines longer than RFC 5321's 998 octets are passed through unchanged.
 * Trusts nothing about the input bytes; memory use is bounded by the caller's
 * chunk size (at most three times the input chunk is appended per call). */
#ifndef ESTAFETTE_SMTPDATA_H
#define ESTAFETTE_SMTPDATA_H

#include <stddef.h>
#include <stdint.h>

struct buf;

struct smtpdata_enc {
	int dotstuff; /* DATA (1) or BDAT (0) */
	int bol;      /* at the beginning of a line */
	int cr;       /* the last byte seen was CR */
};

void smtpdata_init(struct smtpdata_enc *e, int dotstuff);
/* Append the wire form of in[0..n) to out. */
void smtpdata_encode(struct smtpdata_enc *e, const void *in, size_t n, struct buf *out);
/* Close the data: a final CRLF if the last line had none, then ".\r\n" when
 * dot-stuffing. */
void smtpdata_finish(struct smtpdata_enc *e, struct buf *out);

struct smtpdata_info {
	uint64_t wire_size;   /* octets as sent by BDAT (CRLF lines, no dot-stuffing):
			       * the value of the SIZE parameter (RFC 1870) */
	int eightbit;         /* a byte >= 0x80 occurs */
	int nul;              /* a NUL byte occurs */
	uint64_t longest_line; /* in octets, without the line end */
};

/* Scan the file fd from offset 0 (pread: the offset is left alone).
 * 0, or -1 with errno. */
int smtpdata_scan(int fd, struct smtpdata_info *info);

#endif
