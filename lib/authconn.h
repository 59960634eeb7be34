/* authconn: a connection to authd kept across requests, for the processes
 * that ask many questions (courierd's routing, smtpd's recipient checks).
 * authd serves requests until EOF or its per-connection timeout, so a kept
 * connection may be gone at any time: a request that fails on a kept
 * connection is sent once more on a fresh one. Results as lib/authclient. */
#ifndef ESTAFETTE_AUTHCONN_H
#define ESTAFETTE_AUTHCONN_H

#include "authclient.h"

#include <stdint.h>

struct authconn {
	int fd;            /* -1: none */
	int64_t opened_ms; /* monotonic */
	const char *path;  /* NULL: authclient_socket_path() */
};
#define AUTHCONN_INIT { -1, 0, NULL }

/* Kept connections older than this are replaced before use (authd's own
 * per-connection timeout defaults to 30 s). */
#define AUTHCONN_MAX_AGE_MS (20 * 1000)

int authconn_request(struct authconn *c, const char *request, int timeout_ms,
		     struct account *acct, struct buf *reason);
/* "LOOKUP service user", as authclient_lookup. */
int authconn_lookup(struct authconn *c, const char *service, const char *user,
		    struct account *acct, struct buf *reason);
void authconn_close(struct authconn *c);

#endif
