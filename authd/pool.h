/* pool: authd's pre-forked connection processes. The parent only keeps the
 * pool's size right; workers accept on the listening socket themselves and
 * serve one connection at a time (pool.c says why). */
#ifndef ESTAFETTE_AUTHD_POOL_H
#define ESTAFETTE_AUTHD_POOL_H

#include "authd.h"

#include <sys/types.h>

/* 1 if the peer on fd may be served; sets *uid to its uid when known. */
typedef int pool_allowed_fn(int fd, uid_t *uid);

/* Install authd's signal handling (SIGTERM/SIGINT/SIGCHLD only inside
 * ppoll); before forking anything. */
void pool_signals(void);

/* Run the pool on the listening socket lfd until SIGTERM or SIGINT; then
 * tell every worker to stop (busy ones finish their session) and return. */
void pool_serve(const struct authd *d, int lfd, pool_allowed_fn *allowed);

#endif
