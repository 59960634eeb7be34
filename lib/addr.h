/* addr: RFC 5321 paths and mailboxes, parsed strictly and made canonical.
 *
 * For smtpd (MAIL FROM / RCPT TO arguments), the SMTP client and submit.
 * Input is untrusted; every limit of RFC 5321 4.5.3.1 is enforced and has its
 * own error. Canonical form: the local part is kept as its value (quoting
 * removed, case preserved) and re-quoted minimally by addr_format(); the
 * domain is lowercase A-labels (IDNA2008 via libidn2, non-transitional) or a
 * normalised address literal "[1.2.3.4]" / "[IPv6:::1]". Source routes
 * (<@a,@b:u@d>) are checked for syntax and dropped, as RFC 5321 4.1.2 and
 * appendix C require. With ADDR_SMTPUTF8 (RFC 6531) the local part may hold
 * UTF-8 and the domain U-labels; without it any byte >= 0x80 is an error. */
#ifndef ESTAFETTE_ADDR_H
#define ESTAFETTE_ADDR_H

#include "buf.h"

#include <stddef.h>

#define ADDR_MAX_LOCAL  64  /* octets, RFC 5321 4.5.3.1.1 */
#define ADDR_MAX_DOMAIN 255 /* octets, RFC 5321 4.5.3.1.2 */
#define ADDR_MAX_PATH   256 /* octets with "<" ">" and any route, 4.5.3.1.3 */
#define ADDR_MAX_LABEL  63  /* octets, RFC 1035 */

enum addr_err {
	ADDR_OK = 0,
	ADDR_ERR_SYNTAX,         /* no angle brackets, stray characters */
	ADDR_ERR_TRAILING,       /* something other than SP after ">" */
	ADDR_ERR_CONTROL,        /* NUL, CR, LF or another control byte */
	ADDR_ERR_QUOTE,          /* unterminated quoted string */
	ADDR_ERR_LOCAL_SYNTAX,
	ADDR_ERR_DOMAIN_SYNTAX,
	ADDR_ERR_TRAILING_DOT,   /* "user@example.com." */
	ADDR_ERR_LITERAL,        /* bad address literal */
	ADDR_ERR_ROUTE,          /* bad source route */
	ADDR_ERR_IDNA,           /* domain is not valid IDNA2008 */
	ADDR_ERR_8BIT,           /* non-ASCII without SMTPUTF8 */
	ADDR_ERR_UTF8,           /* invalid UTF-8 */
	ADDR_ERR_NULL,           /* "<>" where it is not allowed */
	ADDR_ERR_NO_DOMAIN,      /* no "@domain" where one is required */
	ADDR_ERR_LOCAL_TOO_LONG, /* over ADDR_MAX_LOCAL */
	ADDR_ERR_DOMAIN_TOO_LONG,/* over ADDR_MAX_DOMAIN */
	ADDR_ERR_LABEL_TOO_LONG, /* a domain label over ADDR_MAX_LABEL */
	ADDR_ERR_PATH_TOO_LONG,  /* over ADDR_MAX_PATH */
};

/* Parse flags. */
#define ADDR_SMTPUTF8         0x01 /* RFC 6531: UTF-8 local parts, U-labels */
#define ADDR_ALLOW_NULL       0x02 /* accept the null path "<>" (MAIL FROM) */
#define ADDR_ALLOW_POSTMASTER 0x04 /* accept "<postmaster>", any case, no domain */
#define ADDR_ALLOW_NODOMAIN   0x08 /* accept any local part without "@domain" */

struct addr {
	struct buf local;    /* the local part's value: unquoted, case kept */
	struct buf domain;   /* lowercase A-labels or "[literal]"; empty if none */
	struct buf domain_u; /* the same with U-labels, for display */
	int is_null;         /* the null path "<>" */
	int is_literal;      /* domain is an address literal */
	int local_utf8;      /* local part is not ASCII: needs SMTPUTF8 to relay */
	int had_route;       /* a source route was given (and dropped) */
};

#define ADDR_INIT { BUF_INIT, BUF_INIT, BUF_INIT, 0, 0, 0, 0 }

void addr_init(struct addr *a);
void addr_free(struct addr *a);

/* Parse the path at the start of a MAIL FROM / RCPT TO argument (the text
 * after the colon; leading spaces are skipped). NUL, CR and LF anywhere in
 * the argument are refused. On success *rest is the offset where the ESMTP
 * parameters begin (spaces after ">" skipped; len if none); with rest NULL
 * anything after ">" but spaces is ADDR_ERR_TRAILING. */
enum addr_err addr_parse_path(const char *arg, size_t len, unsigned flags,
			      struct addr *out, size_t *rest);

/* Parse a bare mailbox "local@domain" (no brackets), all of s. The same
 * limits apply, and it must also fit in a path once bracketed. */
enum addr_err addr_parse_mailbox(const char *s, size_t len, unsigned flags,
				 struct addr *out);

/* Check one domain (dot-atom or address literal) and set ace to its
 * canonical form and u (may be NULL) to its U-label form. Trailing dots are
 * refused. */
enum addr_err addr_parse_domain(const char *s, size_t len, unsigned flags,
				struct buf *ace, struct buf *u);

/* Short human text for a reply ("Local part too long (max 64 octets)"). */
const char *addr_strerror(enum addr_err e);
/* The SMTP reply code for the error: 553 for a mailbox name that is not
 * allowed (non-ASCII without SMTPUTF8, bad IDNA), 501 otherwise. */
int addr_err_code(enum addr_err e);

/* Append a local part's value in RFC 5321 form: a Dot-string when it is one,
 * else a Quoted-string with only '"' and '\' escaped. v is a value as the
 * parsers produce it (no control bytes); nothing else is checked here. */
void addr_quote_local(struct buf *out, const char *v, size_t len);

#define ADDR_FMT_ANGLE   0x01 /* "<local@domain>", "<>" for the null path */
#define ADDR_FMT_UNICODE 0x02 /* the U-label domain, for display only */
/* Append the address in RFC 5321 form ("" for the null path without angles). */
void addr_format(struct buf *out, const struct addr *a, unsigned how);

/* 1 if both are the same address: domains compare canonically; local parts
 * exactly, or ignoring ASCII case when local_nocase is set. */
int addr_eq(const struct addr *a, const struct addr *b, int local_nocase);

struct addr_span {
	const char *p;
	size_t len;
};

/* Split "local@domain" at the '@' that ends the local part (the last one
 * outside double quotes). Returns 0, or -1 when there is none: then local is
 * all of s and domain is empty. No validation. */
int addr_split(const char *s, size_t len, struct addr_span *local,
	       struct addr_span *domain);

/* Split a local part's value at the first of the delimiter characters
 * (e.g. "-+"), searching from its second byte so "-foo" stays whole:
 * "user-ext" -> "user", "ext". Returns 1 when split, else 0 with user = all
 * of it and ext empty. */
int addr_split_ext(const char *local, size_t len, const char *delims,
		   struct addr_span *user, struct addr_span *ext);

#endif
