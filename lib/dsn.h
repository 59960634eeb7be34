/* dsn: delivery status notifications (RFC 3464 multipart/report, RFC 3461
 * NOTIFY/RET/ENVID/ORCPT, RFC 3463 status codes).
 *
 * dsn_format builds the whole message a bounce, delay warning or success
 * notice is: headers, a human-readable part, message/delivery-status, and the
 * original message (message/rfc822) or its header section
 * (text/rfc822-headers). The caller submits it with the null sender.
 * Trusts nothing in the original message: it is only copied, cut at the first
 * blank line for HDRS, and its size bounded. Nothing here logs. */
#ifndef ESTAFETTE_DSN_H
#define ESTAFETTE_DSN_H

#include <stddef.h>
#include <stdint.h>

struct buf;

#define DSN_MAX_RCPTS 10000
#define DSN_MAX_TEXT 1000  /* one diagnostic text */

enum dsn_action { DSN_FAILED, DSN_DELAYED, DSN_DELIVERED, DSN_EXPANDED, DSN_RELAYED };

/* What the remote module puts after the status of a 2xx answer (RFC 3461
 * 5.2.2): the next server took NOTIFY and reports success itself (no DSN of
 * ours), or it does not speak DSN and we report "relayed". */
#define DSN_MARK_PASSED "(dsn passed on) "
#define DSN_MARK_RELAYED "(relayed) "

struct dsn_rcpt {
	const char *addr;    /* final recipient (mailbox) */
	const char *orcpt;   /* "" or "type;xtext" as from the queue */
	enum dsn_action action;
	const char *code;    /* "550" */
	const char *text;    /* "5.1.1 no such user" (status first when present) */
	int64_t last_attempt;
};

struct dsn_report {
	const char *reporting_mta;  /* our host name */
	const char *to;             /* the DSN's recipient (the original sender) */
	const char *qid;            /* the original's queue id */
	const char *envid;          /* NULL or xtext */
	int64_t arrival;
	int64_t now;
	int ret_hdrs;               /* 1: return only the header section */
	const char *original;       /* the original message (LF line ends) */
	size_t original_len;
	size_t max_full;            /* return headers only beyond this size */
};

/* The status "X.Y.Z" in text (its first word) if it is one and its class
 * matches code's first digit; else the default for code (2.0.0, 4.0.0, 5.0.0).
 * out gets at most 12 bytes. */
void dsn_status(const char *code, const char *text, struct buf *out);

/* 1 if a recipient with this NOTIFY value ("" = default: FAILURE) wants a
 * DSN for action. */
int dsn_wanted(const char *notify, enum dsn_action action);

/* Build the DSN; -1 with err if there is nothing to report or a value is
 * unusable (control bytes in an address, too many recipients). */
int dsn_format(const struct dsn_report *r, const struct dsn_rcpt *rcpts, size_t n,
	       struct buf *out, struct buf *err);

#endif
