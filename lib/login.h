/* login: the shared machinery of the login stages (pop3-login, imap-login).
 *
 * A login stage runs as the net user, speaks its protocol until the client
 * authenticates, and then hands the connection to the mail stage through
 * auth-exec (auth-exec(8)). This module does the protocol-independent parts:
 * the TLS context (STARTTLS/STLS and implicit TLS), the request to authd that
 * yields the account and its ticket, SASL PLAIN decoding, and the hand-over
 * (relay for TLS or buffered input, environment, exec of auth-exec).
 * Greetings, replies and the command loop are the protocol's.
 *
 * Trusts: authd's replies as far as lib/authclient parses them; nothing from
 * the client. Nothing here logs except login_exec's relay process. */
#ifndef ESTAFETTE_LOGIN_H
#define ESTAFETTE_LOGIN_H

#include "authclient.h"
#include "buf.h"
#include "io.h"

#include <openssl/ssl.h>

#define LOGIN_MAX_USER 512      /* bytes of a user name (authd's limit) */
#define LOGIN_MAX_PASS 1024     /* bytes of a password */
#define LOGIN_MAX_STATE 1024    /* ESTAFETTE_LOGIN_STATE */
#define LOGIN_MAX_FAIL 512      /* ESTAFETTE_LOGIN_FAIL */

struct login {
	const char *service;  /* "pop3", "imap": authd's service and auth-exec's table key */
	struct io *io;        /* the client, on fds 0 and 1 */
	SSL_CTX *tls;         /* loaded at the first STARTTLS (or at once for implicit TLS) */
	char *cert_file, *key_file; /* NULL when no certificate is readable */
	const char *ip;       /* TCPREMOTEIP or "" */
	unsigned failures;    /* failed authentications so far */
};

/* The certificate and key files from a login stage's settings (tls_cert, default
 * default_cert; tls_key, default the certificate file), relative to the config dir. */
struct config_env;
void login_tls_files(struct config_env *env, const char *default_cert, struct buf *cert,
		     struct buf *key);

/* Set up a login stage on fds 0/1: io with TCP_NODELAY, SIGPIPE ignored, the
 * client's IP from TCPREMOTEIP. cert_file NULL: no TLS; a file that is not
 * readable means no TLS with *err set (the caller decides whether that is
 * fatal). The TLS context itself is loaded only when a client asks for TLS:
 * OpenSSL's set-up costs more than the rest of a login stage's start.
 * Returns 0, or -1 with *err (io could not be made). */
int login_init(struct login *l, const char *service, const char *cert_file,
	       const char *key_file, struct buf *err);
void login_free(struct login *l);

/* The plaintext_auth setting: yes, no (or their config_parse_bool synonyms),
 * or "loopback" (the default: NULL)
 * meaning yes for a client on a loopback address or a local socket and no
 * for everyone else, as smtpd's auth_loopback. Sets *ok for this client;
 * -1 with *err for any other value. */
int login_plaintext_allowed(const struct login *l, const char *setting, int *ok,
			    struct buf *err);

/* 1 while STARTTLS/STLS may be offered: a certificate is readable (and has
 * not failed to load) and TLS is not active yet. */
int login_tls_offered(const struct login *l);
/* Load the TLS context now (before the "go ahead" reply): -1 with *err, and
 * TLS is no longer offered, when the certificate or key cannot be used. */
int login_tls_load(struct login *l, struct buf *err);

/* Start TLS on the client (after the protocol's "go ahead" reply, or at once
 * for implicit TLS). -1 with *err: the connection is unusable. Refuses when
 * client input is already buffered (STARTTLS injection, CVE-2011-0411). */
int login_starttls(struct login *l, struct buf *err);
int login_tls_active(const struct login *l);

/* Split a SASL PLAIN message (RFC 4616) into user and password. -1 when
 * malformed, a part is empty or too long, or authzid is neither empty nor the
 * user (no proxy authorisation). pass is wiped by the caller (login_wipe). */
int login_plain_split(const void *msg, size_t len, struct buf *user, struct buf *pass);

/* Ask authd (AUTH service PLAIN). AUTHCLIENT_OK with acct filled (its ticket
 * included), AUTHCLIENT_NO, AUTHCLIENT_TEMPFAIL (also when authd sent no
 * ticket); reason may be NULL. Counts failures in l->failures. */
int login_auth(struct login *l, const char *user, const char *pass, size_t pass_len,
	       struct account *acct, struct buf *reason);

/* The SASL mechanisms authd offers for l->service, space-separated
 * (PLAIN LOGIN when authd cannot be asked). */
void login_mechanisms(struct login *l, struct buf *out);

/* A SASL exchange (lib/sasl, relayed to authd) with the client on l->io:
 * "+ <base64>" before each of the client's lines, as IMAP (RFC 3501 6.2.2)
 * and POP3 (RFC 5034) both frame it. initial: the client's initial response
 * (base64 or "="), or NULL. Returns a SASL_* result (SASL_OK with acct and
 * its login ticket; a missing ticket is SASL_TEMPFAIL), or -1 when the
 * client went away or sent an overlong line (the caller ends the session).
 * Counts SASL_NO in l->failures; client lines are wiped after use. */
int login_sasl(struct login *l, const char *mech, const char *initial, struct account *acct,
	       struct buf *reason);

/* Hand the client to the mail stage: never returns on success; -1 with *err
 * otherwise (the caller then answers a temporary failure and exits).
 * state (may be NULL) becomes ESTAFETTE_LOGIN_STATE, fail_reply (may be NULL)
 * ESTAFETTE_LOGIN_FAIL; both printable ASCII, bounded as above. */
int login_exec(struct login *l, const struct account *acct, const char *state,
	       const char *fail_reply, struct buf *err);

/* ESTAFETTE_TICKET's value for acct (the signed line plus " mac=HEX"). */
void login_ticket_env(const char *service, const struct account *acct, struct buf *out);

/* explicit_bzero the buffer's memory, then free it. */
void login_wipe(struct buf *b);

#endif
