/* mddeliver: maildrop's deliveries: Maildir, mbox, and running commands.
 *
 * Every function returns 0 on success or -1 with the reason in err; a caller
 * that gets -1 must end with EX_TEMPFAIL unless the filter traps it. Nothing
 * here logs. Commands run as the current (already unprivileged) user. */
#ifndef ESTAFETTE_MDDELIVER_H
#define ESTAFETTE_MDDELIVER_H

#include "buf.h"

#include <sys/types.h>

#define MD_LOCK_TIMEOUT 60 /* seconds: dot-locks older than this are stale */
#define MD_LOCK_WAIT    300 /* seconds to wait for a lock at most */

/* Deliver msg into the maildir dir (to cur/ with FLAGS when flags is not
 * empty); quota (a Maildir++ quota spec, may be empty) is enforced with the
 * maildirsize file. name receives the file name. */
int md_deliver_maildir(const char *dir, const struct buf *msg, const char *flags,
		       const char *quota, struct buf *name, struct buf *err);
/* Append msg to the mbox file path under a dot-lock and an fcntl lock, with a
 * "From SENDER DATE" line, ">From " quoting and an empty line after it. */
int md_deliver_mbox(const char *path, const struct buf *msg, const char *sender,
		    struct buf *err);

/* Run argv with env; stdin from in (NULL: /dev/null); stdout into out (NULL:
 * inherited, at most max bytes kept otherwise). *status gets the exit code,
 * or -1 with err set when the command could not run or was killed. */
int md_run(char *const argv[], char *const env[], const struct buf *in, struct buf *out,
	   size_t max, int *status, struct buf *err);

/* Dot-lock: create lockfile (waiting for it); md_dotlock_release removes it. */
int md_dotlock_acquire(const char *lockfile, struct buf *err);
void md_dotlock_release(const char *lockfile);
/* An exclusive fcntl lock on path (created if missing); returns the fd. */
int md_flock_acquire(const char *path, struct buf *err);

#endif
