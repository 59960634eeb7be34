/* userslots: a bound on one account's concurrent sessions of a service.
 *
 * A session holds one of max slot files, <maildir>/estafette-sessions/
 * <service>.<n>, locked with flock for as long as its process lives (the
 * descriptor is close-on-exec; the kernel drops the lock when the process
 * ends, crashed or not, so no count can leak). Trusts the maildir no further
 * than O_NOFOLLOW: a slot that is a link or cannot be opened counts as taken. */
#ifndef ESTAFETTE_USERSLOTS_H
#define ESTAFETTE_USERSLOTS_H

#include "buf.h"

#define USERSLOTS_MAX 10000

/* Take a free slot (max >= 1): its fd (keep it open), USERSLOTS_FULL when all max are
 * held, or -1 with *err (the directory cannot be made or read: the caller
 * lets the session go on, a limit must not lock users out on a bad disk). */
#define USERSLOTS_FULL (-2)
int userslots_take(const char *maildir, const char *service, unsigned max, struct buf *err);

#endif
