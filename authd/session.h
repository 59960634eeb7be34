/* session: what a connection's request handlers share (session.c serves
 * LOOKUP, AUTH, ENUM, PASSWD; exchange.c the SASL exchanges). */
#ifndef ESTAFETTE_AUTHD_SESSION_H
#define ESTAFETTE_AUTHD_SESSION_H

#include "authd.h"
#include "backend.h"

#include <stddef.h>
#include <sys/types.h>

struct exchange;
struct request;

struct session {
	const struct authd *d;
	struct io *io;
	uid_t peer;
	struct buf out;
	struct buf fkey;      /* the user as counted for failures: lowercased */
	struct exchange *x;   /* a SASL exchange under way, or NULL */
};

/* Outcome of an authentication, for the reply and the log. */
struct verdict {
	const char *status;  /* OK, NO, TEMPFAIL */
	const char *reason;  /* for the log: ok, badpass, nouser, ratelimit, disabled, backend */
};

/* Ask the backends in order: BACKEND_FOUND with *which set, NOTFOUND, ERROR. */
int session_find_account(const struct authd *d, const char *service, const char *user,
			 struct backend_account *a, size_t *which, struct buf *err);
/* Set the failure key for user; 1 if user or ip ("-" = none) is over its limit. */
int session_rate_limited(struct session *s, const struct buf *user, const struct buf *ip);
/* The verdict for a lookup result res and a credential check ok (1, 0, -1). */
struct verdict session_verdict(int res, int ok, const struct backend_account *a,
			       const char *service);
/* Count, log, delay and reply for the verdict (after session_rate_limited). */
void session_auth_reply(struct session *s, const char *service, const char *user,
			const struct buf *ip, struct verdict v, const struct backend_account *a);
/* A whole PLAIN/LOGIN authentication for r (service, user, ip, pass). */
void session_auth(struct session *s, struct request *r);

#endif
