/* pop3: what pop3-login and pop3d share: command splitting, numbers, CAPA,
 * the conversion of a stored message to the wire (pop3d(8)). */
#ifndef ESTAFETTE_POP3D_POP3_H
#define ESTAFETTE_POP3D_POP3_H

#include "buf.h"

#include <stddef.h>
#include <stdint.h>

#define POP3_MAX_LINE 1000     /* a command line without CRLF (RFC 2449: 255 suffice) */
#define POP3_MAX_ERRORS 20     /* bad commands before the server hangs up */
#define POP3_IMPLEMENTATION "estafette"

/* One command: verb (case-folded to upper, at most 4 letters in POP3; we allow
 * up to 8) and the raw argument after the first space ("" if none). */
struct pop3_cmd {
	char verb[9];
	const char *arg;
	size_t arglen;
};

/* -1 on an empty line, a verb longer than 8 bytes or not letters, or NUL bytes. */
int pop3_parse(const char *line, size_t len, struct pop3_cmd *c);
int pop3_is(const struct pop3_cmd *c, const char *verb);

#define POP3_MAX_DIGITS 40
/* A strict decimal number of 1-40 digits (no sign, no spaces), saturating at
 * UINT64_MAX ("no such message", or "all lines" for TOP). -1 otherwise. */
int pop3_number(const char *s, size_t len, uint64_t *out);
/* "N" or "N M": split an argument into one or two numbers; returns the count
 * found (1 or 2) or -1 when malformed. */
int pop3_numbers(const char *s, size_t len, uint64_t *a, uint64_t *b);

#define POP3_CAPA_LOGIN 1 /* AUTHORIZATION state: USER, SASL */
#define POP3_CAPA_STLS  2 /* offer STLS */
/* The CAPA reply (with "+OK" and the final "."), CRLF-terminated lines. */
/* mechs: the SASL mechanisms for POP3_CAPA_LOGIN (NULL: PLAIN). */
void pop3_capa(struct buf *out, unsigned flags, const char *mechs);

/* Stored message -> wire: bare LF becomes CRLF, a '.' starting a line is
 * doubled; for TOP, only the header, the blank line and `lines` body lines. */
struct pop3_stuff {
	int bol;          /* at the beginning of a line */
	int cr;           /* the last byte was CR */
	size_t linelen;   /* bytes in this line so far */
	int in_body;      /* past the blank line after the header */
	int limited;      /* TOP */
	uint64_t lines;   /* TOP: body lines still to send */
	int done;         /* TOP: everything wanted has been sent */
};
void pop3_stuff_init(struct pop3_stuff *s, int limited, uint64_t lines);
void pop3_stuff_feed(struct pop3_stuff *s, const char *p, size_t n, struct buf *out);
/* Terminate an unfinished last line, then ".\r\n". */
void pop3_stuff_end(struct pop3_stuff *s, struct buf *out);

#endif
