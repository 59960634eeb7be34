/* sasl: the server side of SASL authentication (RFC 4422) for smtpd (AUTH,
 * RFC 4954), imap-login (AUTHENTICATE, RFC 3501/4959) and pop3-login (AUTH,
 * RFC 5034). It relays the client's exchange to authd (authd(8): MECHS,
 * SASL, STEP) over one connection and keeps the base64 framing: what the
 * caller gets and gives are the base64 texts of the protocol lines, without
 * the protocol's prefix ("334 ", "+ ").
 *
 * Use:
 *   sasl_mechanisms(NULL, "imap", &list)   "PLAIN LOGIN SCRAM-SHA-256" for
 *                                          EHLO AUTH / CAPABILITY AUTH= / CAPA SASL
 *   s = sasl_new(NULL, "imap", client_ip)
 *   r = sasl_begin(s, mech, initial_or_NULL, &challenge, &acct, &reason)
 *   while (r == SASL_CONTINUE) { send challenge; read a line;
 *                                r = sasl_continue(s, line, len, &challenge, &acct, &reason); }
 *   sasl_free(s)
 * SASL_OK fills acct (with authd's login ticket); SASL_NO is a failed
 * authentication (authd already waited its failure delay); SASL_TEMPFAIL a
 * broken authd or backend (reply "try again later", never "no such user");
 * SASL_BAD malformed client data (not base64, too long); SASL_CANCEL the
 * client's "*"; SASL_NOMECH a mechanism this suite does not know.
 *
 * Trusts neither side: client lines are checked (strict base64, bounded)
 * before they are relayed, authd's replies are parsed strictly, and every
 * wait is bounded by the timeout. Nothing here logs or keeps credentials. */
#ifndef ESTAFETTE_SASL_H
#define ESTAFETTE_SASL_H

#include <stddef.h>

struct account;
struct buf;

#define SASL_MAX_RESPONSE 8192   /* a client's base64 line, in bytes */
#define SASL_TIMEOUT_MS (30 * 1000)

enum sasl_result {
	SASL_OK,
	SASL_CONTINUE,
	SASL_NO,
	SASL_TEMPFAIL,
	SASL_BAD,
	SASL_CANCEL,
	SASL_NOMECH,
};

struct sasl;

/* The mechanisms authd enables, space-separated, into out (replaced). path
 * NULL: authclient_socket_path(). SASL_OK, or SASL_TEMPFAIL (out empty). */
int sasl_mechanisms(const char *path, const char *service, struct buf *out);
/* 1 if mech (case-insensitive) is in list (as sasl_mechanisms gives it). */
int sasl_mechanism_listed(const char *list, const char *mech);

/* An exchange for service ("smtp", "imap", "pop3") from ip ("" if none).
 * Connects at sasl_begin. sasl_new_fd uses fd instead (not closed by sasl_free). */
struct sasl *sasl_new(const char *path, const char *service, const char *ip);
struct sasl *sasl_new_fd(int fd, const char *service, const char *ip);
void sasl_free(struct sasl *s);
void sasl_set_timeout(struct sasl *s, int timeout_ms);

/* Start mech. initial: the client's initial response as sent (base64, "="
 * for an empty one), or NULL if it sent none. On SASL_CONTINUE challenge
 * holds the next challenge's base64 ("" for an empty one). */
int sasl_begin(struct sasl *s, const char *mech, const char *initial, struct buf *challenge,
	       struct account *acct, struct buf *reason);
/* The client's answer to the last challenge (a line without CRLF). */
int sasl_continue(struct sasl *s, const char *line, size_t len, struct buf *challenge,
		  struct account *acct, struct buf *reason);

#endif
