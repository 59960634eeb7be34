/* smtpc: the client side of SMTP (RFC 5321) for the remote delivery module.
 *
 * One struct smtpc is one connection to one server: smtpc_open() reads the
 * greeting, says EHLO (HELO if EHLO is refused), starts TLS as the policy
 * says and authenticates when credentials are given; then smtpc_send() runs
 * one mail transaction per message (MAIL, RCPTs - pipelined when the server
 * offers PIPELINING -, then DATA or BDAT), as often as the connection stays
 * usable; smtpc_quit() ends it. Extensions used when offered: PIPELINING
 * (RFC 2920), SIZE (1870), 8BITMIME (6152), SMTPUTF8 (6531), DSN (3461),
 * CHUNKING (3030), STARTTLS (3207), AUTH PLAIN/LOGIN (4954, 4616).
 *
 * Everything the server sends is untrusted: replies are bounded in line
 * length (SMTPC_MAX_LINE), line count (SMTPC_MAX_LINES) and total size, and a
 * reply that does not parse is a protocol error. Timeouts follow RFC 5321
 * 4.5.3.2 and are configurable (struct smtpc_timeouts).
 *
 * Outcomes: every recipient ends SMTPC_OK (the server took responsibility),
 * SMTPC_TEMP (4xx: retry later), SMTPC_PERM (5xx: bounce, with the server's
 * exact reply) or SMTPC_NEXT (the connection failed or the session could not
 * start: try the next address or MX, then retry later). 8-bit content for a
 * server without 8BITMIME goes as the message's 7-bit form when the caller
 * supplies one (smtpc_msg.downgrade, lib/mime7), else it is a permanent
 * failure (5.6.3); a message needing SMTPUTF8 for a server without it is one
 * too (5.6.7).
 * The functions do not log; every failure comes with a text for the log and
 * the DSN. */
#ifndef ESTAFETTE_SMTPC_H
#define ESTAFETTE_SMTPC_H

#include "buf.h"

#include <openssl/ssl.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#define SMTPC_MAX_LINE 2048       /* a reply line; RFC 5321 asks for 512 */
#define SMTPC_MAX_LINES 100       /* lines in one reply */
#define SMTPC_MAX_REPLY (64 * 1024) /* bytes kept of one reply */

/* Extensions the server offered in its EHLO reply. */
#define SMTPC_EXT_PIPELINING 0x001u
#define SMTPC_EXT_SIZE 0x002u
#define SMTPC_EXT_8BITMIME 0x004u
#define SMTPC_EXT_SMTPUTF8 0x008u
#define SMTPC_EXT_DSN 0x010u
#define SMTPC_EXT_CHUNKING 0x020u
#define SMTPC_EXT_STARTTLS 0x040u
#define SMTPC_EXT_AUTH 0x080u
#define SMTPC_EXT_ENHANCEDSTATUSCODES 0x100u

#define SMTPC_AUTH_PLAIN 0x1u
#define SMTPC_AUTH_LOGIN 0x2u

enum smtpc_outcome {
	SMTPC_OK = 0,
	SMTPC_TEMP,
	SMTPC_PERM,
	SMTPC_NEXT,
};

enum smtpc_tls {
	SMTPC_TLS_NONE,    /* never STARTTLS */
	SMTPC_TLS_MAY,     /* STARTTLS when offered, unverified; failure -> SMTPC_NEXT
			    * with smtpc_tls_failed() set: reconnect without TLS */
	SMTPC_TLS_ENCRYPT, /* TLS required, certificate not checked */
	SMTPC_TLS_VERIFY,  /* TLS required, chain and name verified (tls_ctx must
			    * be made with TLS_VERIFY_PEER) */
};

/* Milliseconds; RFC 5321 4.5.3.2 minimums by default (smtpc_timeouts_default). */
struct smtpc_timeouts {
	int greeting;    /* 5 min */
	int command;     /* EHLO, STARTTLS, AUTH, RSET, QUIT: 5 min */
	int mail;        /* 5 min */
	int rcpt;        /* 5 min */
	int data_init;   /* 2 min */
	int data_block;  /* 3 min, each write of the message */
	int data_term;   /* 10 min */
};
void smtpc_timeouts_default(struct smtpc_timeouts *t);

struct smtpc_options {
	const char *helo;            /* our host name for EHLO/HELO */
	const char *peer_name;       /* the server's name: TLS SNI and verification,
				      * messages; may be NULL */
	const char *label;           /* the server in messages ("mx.example[192.0.2.1]");
				      * NULL: peer_name */
	enum smtpc_tls tls;
	SSL_CTX *tls_ctx;            /* needed unless tls is NONE */
	const char *auth_user;       /* AUTH when both are set (smarthosts) */
	const char *auth_pass;
	int auth_plaintext;          /* allow AUTH without TLS (default: refused) */
	int no_pipelining;           /* do not pipeline even when offered */
	int no_chunking;             /* use DATA even when CHUNKING is offered */
	struct smtpc_timeouts timeouts;
};
/* Defaults: everything 0 or NULL, TLS may, RFC timeouts. */
void smtpc_options_init(struct smtpc_options *o);

/* A parsed reply: code 200..599, enhanced status ("5.1.1") if present, and
 * the full text, lines joined with "\n", each line as received (with its
 * code), control bytes other than TAB escaped. */
struct smtpc_reply {
	int code;
	char enhanced[16];
	struct buf text;
};

struct smtpc_rcpt {
	const char *addr;            /* the mailbox, without <> */
	const char *notify;          /* DSN NOTIFY value or NULL */
	const char *orcpt;           /* DSN ORCPT value ("rfc822;xtext") or NULL */
	/* results of smtpc_send */
	enum smtpc_outcome outcome;
	int code;                    /* the deciding reply's code; 0: our own reason,
				      * which then starts with a status code when
				      * the outcome is SMTPC_PERM */
	char enhanced[16];           /* its enhanced status code, or "" */
	struct buf reply;            /* "LABEL said: REPLY (in reply to CMD)", or our
				      * own reason */
	int dsn_relayed;             /* accepted by a server without DSN while
				      * NOTIFY asked for SUCCESS: "relayed" */
	int dsn_passed;              /* accepted with NOTIFY=...SUCCESS by a server
				      * with DSN: it reports success itself */
};

struct smtpc_msg {
	const char *sender;          /* "" for the null reverse-path */
	int fd;                      /* the message (LF line ends), read with pread */
	uint64_t wire_size;          /* smtpdata_scan: SIZE= */
	int eightbit;                /* BODY=8BITMIME needed */
	int smtputf8;                /* SMTPUTF8 needed (UTF-8 addresses/headers) */
	const char *ret;             /* DSN RET (FULL/HDRS) or NULL */
	const char *envid;           /* DSN ENVID (xtext) or NULL */
	/* For an 8-bit message and a server without 8BITMIME (RFC 6152 3): fill
	 * m7's fd and wire_size with the message's 7-bit form and return 0, or
	 * return -1 with a reason starting "5.6.3 " in why (every recipient then
	 * fails with it). Called at most once per transaction. NULL: 5.6.3. */
	int (*downgrade)(void *ctx, struct smtpc_msg *m7, struct buf *why);
	void *downgrade_ctx;
};

struct smtpc;

/* Connect a TCP socket to sa with a timeout. The fd, or -1 with err. */
int smtpc_connect(const struct sockaddr *sa, socklen_t salen, int timeout_ms,
		  struct buf *err);

/* A session over fd (a connected socket; not closed by smtpc_free). The
 * options' strings must live as long as the session. */
struct smtpc *smtpc_new(int fd, const struct smtpc_options *o);
void smtpc_free(struct smtpc *c);

/* Greeting, EHLO/HELO, STARTTLS, EHLO again, AUTH. SMTPC_OK, or the outcome
 * for every recipient and a reason in why: SMTPC_NEXT for a refusing or
 * failing server, SMTPC_TEMP for a TLS requirement the server cannot meet and
 * for AUTH failures (our configuration, not the message, is at fault). */
enum smtpc_outcome smtpc_open(struct smtpc *c, struct buf *why);

/* One transaction: every rcpt[i] gets its outcome and reply. Returns the
 * session state afterwards: SMTPC_OK if the connection can carry another
 * message (smtpc_send again), else SMTPC_NEXT (closed or broken: recipients
 * not yet decided got SMTPC_NEXT). */
enum smtpc_outcome smtpc_send(struct smtpc *c, const struct smtpc_msg *m,
			      struct smtpc_rcpt *rcpt, size_t n);

/* QUIT and wait briefly for its reply (errors ignored). */
void smtpc_quit(struct smtpc *c);

unsigned smtpc_extensions(const struct smtpc *c);
uint64_t smtpc_size_limit(const struct smtpc *c);  /* 0: none announced */
unsigned smtpc_auth_mechs(const struct smtpc *c);
int smtpc_tls_active(const struct smtpc *c);
int smtpc_tls_failed(const struct smtpc *c);       /* the MAY handshake failed */
/* The last reply read (for tests and logs). */
const struct smtpc_reply *smtpc_last_reply(const struct smtpc *c);
struct io *smtpc_io(struct smtpc *c);

void smtpc_rcpt_init(struct smtpc_rcpt *r, const char *addr);
void smtpc_rcpt_free(struct smtpc_rcpt *r);

/* For the unit tests: parse one reply line. Returns 0 and the code, whether
 * it continues ('-'), and the offset of the text; -1 if it is not a reply
 * line. */
int smtpc_parse_line(const char *s, size_t len, int *code, int *more, size_t *text);
/* Parse one EHLO keyword line's text (after "250-"), updating exts, size and
 * auth. */
void smtpc_parse_ehlo_line(const char *s, size_t len, unsigned *exts, uint64_t *size,
			   unsigned *auth);

#endif
