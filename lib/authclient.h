/* authclient: ask authd (authd(8)) about accounts over its UNIX socket.
 *
 * One request per connection: connect, send one line, read one reply line,
 * close. Replies are "OK key=value ...", "NO reason" (bad credentials, no such
 * account) and "TEMPFAIL reason" (a backend is broken: retry later, never
 * bounce). Anything else, a malformed reply, a timeout or a connection failure
 * is reported as AUTHCLIENT_TEMPFAIL, so that a broken authd never turns into
 * "no such user". Values on the wire are percent-encoded (authclient_encode).
 *
 * Trusts authd's replies only as far as they parse: every field is bounded and
 * checked. Passwords pass through memory that is wiped after use; nothing here
 * logs. */
#ifndef ESTAFETTE_AUTHCLIENT_H
#define ESTAFETTE_AUTHCLIENT_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct buf;

#define AUTHCLIENT_MAX_LINE (16u * 1024)      /* request or reply, without LF */
#define AUTHCLIENT_TIMEOUT_MS (30 * 1000)     /* default for a whole request */

enum authclient_result {
	AUTHCLIENT_OK = 0,
	AUTHCLIENT_NO = 1,
	AUTHCLIENT_TEMPFAIL = 2,
};

/* An account as authd describes it. Strings are NUL-free C strings, never NULL
 * after a successful parse ("" when authd sent no such field). */
struct account {
	char *address;  /* the account's canonical name */
	uid_t uid;
	gid_t gid;
	char *home;
	char *maildir;  /* "" = the default (home/Maildir) */
	char *quota;    /* Maildir++ quota, e.g. "10000000S,1000C"; "" = none */
	char *options;  /* comma-separated, e.g. "disable-imap,disable-pop3" */
	char *ticket;   /* AUTH only: authd's signed ticket (lib/ticket.h); "" = none */
	uint64_t expires; /* AUTH only: when the ticket expires (Unix time); 0 = none */
};
#define ACCOUNT_INIT { NULL, 0, 0, NULL, NULL, NULL, NULL, NULL, 0 }

void account_free(struct account *a);
/* 1 if options holds opt as a whole item. */
int account_has_option(const struct account *a, const char *opt);

/* The socket: paths_run()/authd/socket. */
void authclient_socket_path(struct buf *out);

/* Percent-encoding of one value: bytes outside '!'..'~', and '%' and '=',
 * become %XX (uppercase hex); everything else stays. */
void authclient_encode(struct buf *out, const void *data, size_t len);
/* Strict inverse (appends to out): -1 on a bad escape or a raw byte that the
 * encoder would have escaped (except '='), else 0. The result may hold NULs. */
int authclient_decode(struct buf *out, const char *s, size_t len);

/* Parse one reply line (without LF). Returns the result; on OK fills acct
 * (freed first), on NO/TEMPFAIL puts the reason (decoded for display,
 * control bytes escaped) into reason. reason may be NULL. */
int authclient_parse_reply(const char *line, size_t len, struct account *acct,
			   struct buf *reason);

/* Send request (one line, no LF) on a connected fd, read and parse the reply,
 * all within timeout_ms. Does not close fd. */
int authclient_request_fd(int fd, const char *request, int timeout_ms, struct account *acct,
			  struct buf *reason);
/* A connected socket to path (NULL: authclient_socket_path()), close-on-exec;
 * -1 with errno. */
int authclient_connect(const char *path);
/* Connect to path (NULL: authclient_socket_path()), then as above. */
int authclient_request(const char *path, const char *request, int timeout_ms,
		       struct account *acct, struct buf *reason);

/* The request line "LOOKUP service user", both encoded (replaces req). */
void authclient_lookup_request(struct buf *req, const char *service, const char *user);
/* "LOOKUP service user". */
int authclient_lookup(const char *path, const char *service, const char *user,
		      struct account *acct, struct buf *reason);
/* "AUTH service PLAIN ip base64(\0user\0password)". ip may be "" (sent as "-"). */
int authclient_login(const char *path, const char *service, const char *ip, const char *user,
		     const char *pass, size_t pass_len, struct account *acct, struct buf *reason);

#endif
