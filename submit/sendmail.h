/* sendmail: what the files of the sendmail(8) front end share.
 *
 * sendmail.c parses the command line and reads a message (-bm), sendmail_msg.c
 * turns a message into a submit(8) run (header fix-ups, -t, the pipe),
 * sendmail_smtp.c is -bs, mailq.c is -bp and -q. Everything runs as the
 * invoking user; only submit, which sendmail executes, is set-id. */
#ifndef ESTAFETTE_SENDMAIL_H
#define ESTAFETTE_SENDMAIL_H

#include "addrlist.h"
#include "buf.h"

#include <stddef.h>
#include <sys/types.h>

/* sysexits.h values: the exit status is an interface (sendmail(8)). */
#define SM_EX_OK 0
#define SM_EX_USAGE 64
#define SM_EX_DATAERR 65
#define SM_EX_NOUSER 67
#define SM_EX_UNAVAILABLE 69
#define SM_EX_SOFTWARE 70
#define SM_EX_CANTCREAT 73
#define SM_EX_TEMPFAIL 75
#define SM_EX_NOPERM 77
#define SM_EX_CONFIG 78

#define SM_MAX_HEADER (4u * 1024 * 1024) /* header section we hold in memory */
#define SM_MAX_RCPTS 100000
#define SM_MAX_ENVID 100                 /* xtext bytes, RFC 3461 4.4 */

/* Who we are and what is configured (read once). */
struct sm_site {
	struct buf me;        /* etc/estafette/me */
	struct buf domain;    /* defaultdomain, else me: qualifies bare names */
	struct buf login;     /* the real uid's login name */
	struct buf gecos;     /* its full name from the passwd file ("" if none) */
	uid_t uid;
};

struct sm_rcpt {
	char *addr;   /* canonical local@domain */
	char *notify; /* "" or the NOTIFY list, uppercase */
	char *orcpt;  /* "" or type;xtext */
};

/* The envelope of one message. */
struct sm_env {
	char *sender;       /* canonical; "" = <> */
	int sender_given;   /* -f / MAIL FROM, else the login's address */
	const char *body;   /* NULL, 7BIT, 8BITMIME */
	const char *ret;    /* NULL, FULL, HDRS */
	char *envid;        /* xtext or NULL */
	char *notify;       /* -N for the recipients of -t (NULL = none) */
	int smtputf8;
	struct sm_rcpt *rcpts;
	size_t nrcpt, cap;
};

void sm_env_init(struct sm_env *e);
void sm_env_free(struct sm_env *e);
void sm_env_reset(struct sm_env *e); /* back to an empty envelope */

/* "sendmail: <message>" on stderr. */
void sm_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
_Noreturn void sm_die(int code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
const char *sm_progname(void);
void sm_set_progname(const char *name);

/* Read me, defaultdomain and the user's passwd entry; exits 78 / 67 on failure. */
void sm_site_load(struct sm_site *s);
void sm_site_free(struct sm_site *s);

/* Add a recipient: canonical address of an addrlist item, or a bare name
 * qualified with site->domain. Duplicates are dropped (at the end, by
 * sm_env_dedup). */
void sm_env_add(struct sm_env *e, const char *addr, const char *notify, const char *orcpt);
void sm_env_dedup(struct sm_env *e);

/* Canonical address of a parsed mailbox; a mailbox without domain gets
 * site->domain. Sets *utf8 when the local part is not ASCII. */
void sm_qualify(const struct sm_site *site, const struct addr *a, struct buf *out, int *utf8);

/* Parse an address list as written on a command line or in To:/Cc:/Bcc:,
 * appending every mailbox to e with notify. -1 with a message in err. */
int sm_add_list(const struct sm_site *site, struct sm_env *e, const char *s, size_t len,
		const char *notify, struct buf *err);

/* -f / -r argument: "" and "<>" are the null sender. -1 with err. */
int sm_parse_sender(const struct sm_site *site, const char *s, struct sm_env *e,
		    struct buf *err);

/* Message writer: header fix-ups, then submit(8) through a pipe. */
#define SM_MSG_EXTRACT 0x01    /* -t: recipients from To/Cc/Bcc */
#define SM_MSG_FROM_LINE 0x02  /* drop a leading "From " line */

struct sm_msg {
	const struct sm_site *site;
	struct sm_env *env;
	const char *fullname;   /* -F, or NULL */
	unsigned flags;
	int in_body;
	int first_line_done;
	struct buf hdr;         /* the header section while it is read */
	size_t scan;            /* start of the first unexamined line in hdr */
	int last_was_field;     /* a continuation line may follow */
	int error;              /* exit code once something failed; 0 if fine */
	struct buf errmsg;
	pid_t pid;
	int wfd, rfd;
	int write_failed;
	struct buf chunk;       /* body bytes waiting for the next D chunk */
};

void sm_msg_begin(struct sm_msg *m, const struct sm_site *site, struct sm_env *env,
		  unsigned flags, const char *fullname);
/* Message bytes as they should be stored (dots already handled). */
void sm_msg_feed(struct sm_msg *m, const char *p, size_t len);
/* Finish: returns the exit code; reply gets submit's reply line (no LF) or a
 * reply of our own ("554 5.5.1 No recipients", ...). */
int sm_msg_end(struct sm_msg *m, struct buf *reply);
/* Give up (no "." is sent, so submit queues nothing); safe after end. */
void sm_msg_abort(struct sm_msg *m);

/* The fixed header fields (split out for unit tests): append the missing ones
 * of From:, Date:, Message-ID: to out. have_* say which exist. */
void sm_header_add_missing(const struct sm_site *site, const struct sm_env *env,
			   const char *fullname, int have_from, int have_date, int have_msgid,
			   struct buf *out);
/* A display name as a phrase: atoms as they are, else a quoted string, or an
 * RFC 2047 encoded word when it is not ASCII. Control bytes become spaces. */
void sm_header_phrase(struct buf *out, const char *name);

/* -bs: an SMTP server on stdin/stdout. Returns the exit code. */
int sm_smtp_run(const struct sm_site *site);

/* -bp: list the queue on stdout. -q: poke courierd. Exit codes. */
int sm_mailq(void);
int sm_queue_run(const char *arg);
/* -bi (newaliases): compile the aliases map. Exit code. */
int sm_newaliases(void);

#endif
