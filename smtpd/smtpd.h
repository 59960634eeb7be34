/* smtpd: the shared state of one SMTP session and the functions between its files.
 *
 * One process serves one connection on stdin/stdout (listener(8), inetd, tcpserver).
 * main.c reads the configuration and the ucspi-tcp environment, session.c runs the
 * command loop through the handler table in dispatch.c, each cmd_*.c answers one
 * command, policy.c decides about clients and recipients, submit_client.c hands a
 * message to submit(8). Everything read from the client is untrusted. */
#ifndef ESTAFETTE_SMTPD_H
#define ESTAFETTE_SMTPD_H

#include "buf.h"

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct io;
struct map;
struct config_list;

/* Limits and switches from smtpd.conf (smtpd.conf(5)). */
struct smtpd_conf {
	uint64_t max_message_size;  /* SIZE: bytes of data after unstuffing */
	uint64_t max_recipients;
	uint64_t max_line;          /* command line without CRLF */
	uint64_t max_data_line;     /* message line without CRLF */
	uint64_t max_bad_commands;  /* then 421 and close */
	uint64_t max_errors;        /* errors before the tarpit starts */
	uint64_t tarpit_delay;      /* seconds, grows by this per further error */
	uint64_t command_timeout;   /* seconds of silence allowed */
	uint64_t session_timeout;   /* seconds for the whole session */
	uint64_t submit_timeout;    /* seconds to wait for submit's reply */
	int vrfy;                   /* VRFY looks up local addresses; off: always 252 */
	int recipient_check;        /* ask authd about recipients in local domains */
	int auth_loopback;          /* AUTH without TLS from 127.0.0.0/8 and ::1 */
	int sender_check;           /* submission: sender must be the account */
	char *tls_cert, *tls_key;   /* absolute paths */
	char *dnsbl_zones;          /* blank/comma list; "" = no DNSBL */
};

struct rcpt {
	char *addr;    /* canonical mailbox, no brackets */
	char *notify;  /* "" or the NOTIFY list, uppercase */
	char *orcpt;   /* "" or type;xtext */
};

enum body_type { BODY_7BIT, BODY_8BITMIME };

/* The envelope of the current transaction (MAIL .. end of data, or RSET). */
struct txn {
	int active;               /* MAIL was accepted */
	struct buf sender;        /* canonical, "" for <> */
	enum body_type body;
	int smtputf8;
	char verp[3];       /* VERP delimiters, "" = none */
	struct buf envid, ret;    /* DSN, "" when not given */
	uint64_t size_hint;       /* MAIL SIZE= */
	struct rcpt *rcpts;
	size_t nrcpt, rcpt_cap;
	int bdat;                 /* a BDAT chunk was received */
	int bdat_failed;          /* reply this at BDAT LAST instead of queueing */
	struct buf bdat_reply;
	uint64_t bdat_size;
	struct submit_client *sub;
};

enum access { ACCESS_DEFAULT, ACCESS_ALLOW, ACCESS_RELAY, ACCESS_DENY };

struct session {
	struct io *io;
	struct smtpd_conf *conf;
	int submission;           /* --submission: AUTH required for MAIL */
	int implicit_tls;
	struct buf me;
	const char *ip, *host, *port, *localip;  /* "" when unknown */
	int loopback;
	enum access access;
	struct buf access_msg;
	struct buf helo;
	int esmtp;                /* EHLO (not HELO) */
	int tls;
	void *tls_ctx;            /* SSL_CTX *, loaded at the first STARTTLS */
	int tls_offer;            /* the certificate is there: offer STARTTLS */
	struct buf mechs;         /* SASL mechanisms from authd, asked at most once */
	int authed;
	struct buf auth_user;
	struct config_list *locals, *rcpthosts;
	struct txn txn;
	unsigned long bad_commands, errors;
	unsigned long nmsg, nrej;
	int quit;
	struct buf line;
};

/* config.c */
int smtpd_conf_read(struct smtpd_conf *c, struct buf *err);
void smtpd_conf_free(struct smtpd_conf *c);

/* main.c: free the domain lists (at the end of the session). */
void smtpd_lists_free(void);
/* Load the TLS context if not yet done: 0, or -1 (logged; STARTTLS off). */
int smtpd_tls_ctx(struct session *s);

/* session.c */
void session_run(struct session *s);
/* Read one line for a command or an AUTH continuation, flushing replies first
 * when no input is waiting (PIPELINING). Returns an io_status. */
int session_read_line(struct session *s);
void session_end(struct session *s, const char *why) __attribute__((noreturn));
void txn_reset(struct session *s);

/* reply.c: every reply goes through these (one CRLF line each). */
void reply(struct session *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* A 4xx/5xx to a command: counted, slowed down by the tarpit. */
void reply_error(struct session *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* A syntax error or unknown command: also counts toward max_bad_commands. */
void reply_bad(struct session *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Protocol code of a reply line in the Received: sense. */
const char *session_proto(const struct session *s);

/* cmd_data.c: log and answer the end of a message (submit's reply or our
 * refusal), then reset the transaction. */
void data_done(struct session *s, const char *text, uint64_t size);

/* cmd_ehlo.c: AUTH is offered over TLS, or from loopback when auth_loopback is set. */
int auth_allowed(const struct session *s);
/* cmd_auth.c: the SASL mechanisms authd offers for smtp ("PLAIN LOGIN ..."). */
const char *auth_mechanisms(struct session *s);

/* dispatch.c */
void dispatch_command(struct session *s, const char *line, size_t len);

/* commands */
void cmd_helo(struct session *s, const char *arg, size_t len);
void cmd_ehlo(struct session *s, const char *arg, size_t len);
void cmd_mail(struct session *s, const char *arg, size_t len);
void cmd_rcpt(struct session *s, const char *arg, size_t len);
void cmd_data(struct session *s, const char *arg, size_t len);
void cmd_bdat(struct session *s, const char *arg, size_t len);
void cmd_rset(struct session *s, const char *arg, size_t len);
void cmd_noop(struct session *s, const char *arg, size_t len);
void cmd_quit(struct session *s, const char *arg, size_t len);
void cmd_help(struct session *s, const char *arg, size_t len);
void cmd_vrfy(struct session *s, const char *arg, size_t len);
void cmd_expn(struct session *s, const char *arg, size_t len);
void cmd_starttls(struct session *s, const char *arg, size_t len);
void cmd_auth(struct session *s, const char *arg, size_t len);

/* params.c: ESMTP parameters of MAIL and RCPT. */
struct esmtp_param {
	const char *key, *val;  /* val NULL when there is no '=' */
	size_t klen, vlen;
};
/* Split "K=V K2 ..." into at most max params; -1 on a syntax error. */
int params_split(const char *s, size_t len, struct esmtp_param *out, size_t max, size_t *n);
int param_is(const struct esmtp_param *p, const char *key);

/* policy.c */
/* The access map for the client: sets s->access and s->access_msg. -1 on a map error. */
int policy_client(struct session *s);
/* 1 when the client may relay (access relay or authenticated). */
int policy_may_relay(const struct session *s);
/* Decide about one recipient; replies itself on refusal (-1), else 0. */
struct addr;
int policy_rcpt(struct session *s, const struct addr *a, const struct buf *canon);
/* authd's answer (AUTHCLIENT_*) about a local address. */
int policy_lookup_local(const struct addr *a, const struct buf *canon);
/* VRFY: -1 when the address is not local, else an AUTHCLIENT_ result. */
int policy_vrfy(struct session *s, const struct addr *a, const struct buf *canon);
/* 1 when domain (canonical) is in the list (ASCII case ignored). */
int policy_domain_listed(const struct config_list *l, const char *domain, size_t len);

/* dnsbl.c: 1 when the client is listed (the zone in zone_out), else 0. */
int dnsbl_check(struct session *s, struct buf *zone_out);

/* submit_client.c: messages through submit(8), one process per session. */
struct submit_client;
struct submit_client *submit_client_start(struct session *s, struct buf *err);
void submit_client_data(struct submit_client *c, const void *p, size_t n);
/* Ends the data, returns submit's reply line (validated) in reply; frees c. */
void submit_client_finish(struct submit_client *c, int timeout_s, struct buf *reply);
/* Abandon: nothing is queued; frees c. */
void submit_client_abort(struct submit_client *c);
/* Let the submit process kept for the next message go. */
void submit_client_close(void);

#endif
