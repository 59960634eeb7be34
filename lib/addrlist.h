/* addrlist: RFC 5322 address lists in header values (From, To, Cc, ...).
 *
 * For maildrop's hasaddr/getaddr and submit's "sendmail -t". Understands
 * display names, quoted strings, nested comments, angle addresses, groups
 * ("Undisclosed: a@b, c@d;" and "undisclosed-recipients:;"), folded lines,
 * and the obsolete forms still seen: routes in angle addresses, CFWS around
 * dots and "@", phrases with dots, empty list elements. Encoded words are
 * left as they are. Each mailbox is then checked and made canonical by the
 * strict RFC 5321 parser in addr.h, with the caller's ADDR_* flags.
 * Input is untrusted: its size, the number of items and comment nesting are
 * bounded, and NUL bytes or line breaks that are not folding are refused. */
#ifndef ESTAFETTE_ADDRLIST_H
#define ESTAFETTE_ADDRLIST_H

#include "addr.h"
#include "buf.h"

#include <stddef.h>

#define ADDRLIST_MAX_NESTING       50         /* comment depth */
#define ADDRLIST_DEFAULT_MAX_ITEMS 1000
#define ADDRLIST_DEFAULT_MAX_LEN   (256 * 1024)

enum addrlist_err {
	ADDRLIST_OK = 0,
	ADDRLIST_ERR_SYNTAX,     /* e.g. two addresses without a comma */
	ADDRLIST_ERR_UNBALANCED, /* unterminated quote, comment, literal, <> or group */
	ADDRLIST_ERR_NESTING,    /* comments nested deeper than ADDRLIST_MAX_NESTING */
	ADDRLIST_ERR_CONTROL,    /* NUL, a bare CR or LF, another control byte */
	ADDRLIST_ERR_TOO_LONG,   /* input longer than max_len */
	ADDRLIST_ERR_TOO_MANY,   /* more than max_items mailboxes */
	ADDRLIST_ERR_ADDR,       /* a mailbox failed addr.h's checks: see addr_err */
};

struct addrlist_error {
	enum addrlist_err code;
	enum addr_err addr_err; /* with ADDRLIST_ERR_ADDR */
	size_t offset;          /* where in the input it went wrong */
};

#define ADDRLIST_KEEP_INVALID 0x01 /* keep mailboxes addr.h refuses, marked */
#define ADDRLIST_GROUPS       0x02 /* also items for a group's start and end */

struct addrlist_opts {
	size_t max_items;    /* 0: ADDRLIST_DEFAULT_MAX_ITEMS */
	size_t max_len;      /* 0: ADDRLIST_DEFAULT_MAX_LEN */
	unsigned addr_flags; /* ADDR_SMTPUTF8, ADDR_ALLOW_NODOMAIN, ... */
	unsigned flags;      /* ADDRLIST_KEEP_INVALID */
};

/* addrlist_item.group: a mailbox, or (with ADDRLIST_GROUPS) the start of a
 * group (name: the group's display name; address empty) or its end (both
 * empty), as IMAP's ENVELOPE shows groups (RFC 3501 7.4.2). */
enum addrlist_kind { ADDRLIST_MAILBOX = 0, ADDRLIST_GROUP_START, ADDRLIST_GROUP_END };

struct addrlist_item {
	enum addrlist_kind group;
	/* The display name as written (quotes, comments and encoded words kept,
	 * line folding removed); without one, the text of a comment right after
	 * the address ("a@b (Name)"); else empty. Not validated: may hold any
	 * bytes but NUL, CR and LF. */
	struct buf name;
	struct buf address;  /* canonical "local@domain" (addr_format) */
	struct buf route;    /* an angle address's obsolete route ("@a,@b"), or empty */
	struct addr addr;    /* the parsed mailbox */
	enum addr_err err;   /* ADDR_OK; else (ADDRLIST_KEEP_INVALID) why not, and
				address is rebuilt from what was written (CFWS
				dropped, local part re-quoted), addr empty */
};

struct addrlist {
	struct addrlist_item *items;
	size_t count;
	size_t cap;
};

#define ADDRLIST_INIT { NULL, 0, 0 }

void addrlist_init(struct addrlist *l);
void addrlist_free(struct addrlist *l);

/* Parse a header value (without the "To:"; folded lines welcome; one final
 * line break is ignored). Items are appended to l in order; max_items counts
 * this call's. On error none of this call's items are kept and *err (may be
 * NULL) says what and where. opts may be NULL. */
enum addrlist_err addrlist_parse(const char *s, size_t len,
				 const struct addrlist_opts *opts,
				 struct addrlist *l, struct addrlist_error *err);

/* Parse, then append just the valid canonical addresses to out, each
 * followed by sep (e.g. '\n'). */
enum addrlist_err addrlist_extract(const char *s, size_t len,
				   const struct addrlist_opts *opts, char sep,
				   struct buf *out, struct addrlist_error *err);

const char *addrlist_strerror(enum addrlist_err e);

#endif
