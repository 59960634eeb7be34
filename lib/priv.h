/* priv: the suite's one routine for dropping root privileges, and checks around it.
 *
 * Every program that starts as root and serves others calls priv_drop_to() (or
 * priv_drop_to_ids() for an account that authd resolved) before it reads a
 * byte of untrusted input. The drop is verified afterwards: real, effective and
 * saved ids all equal the target, the supplementary groups are exactly the
 * target group (unless PRIV_INITGROUPS), and setuid(0) fails. Any failure
 * returns -1 with a message in err (and errno set); the caller must then exit
 * EX_TEMPFAIL without doing anything else. Nothing here logs.
 *
 * Core dumps: changing credentials makes Linux mark the process non-dumpable
 * (and not ptrace-able by the new user). We keep it that way by default,
 * because a process that ran as root may still hold secrets in memory (TLS
 * keys, passwords read during startup) that the unprivileged user must not be
 * able to read through a core file or /proc/PID/mem. PRIV_DUMPABLE restores
 * dumpability for processes that held no secrets, when debugging matters more.
 *
 * When the process does not run as root, a drop succeeds only if it already
 * runs as the target ids (the sandbox case, where everything runs as one
 * user); its supplementary groups are then left as they are. */
#ifndef ESTAFETTE_PRIV_H
#define ESTAFETTE_PRIV_H

#include <sys/types.h>

struct buf;

/* Flags for priv_drop_to(). */
#define PRIV_INITGROUPS 0x1 /* supplementary groups of the user from the group db */
#define PRIV_DUMPABLE   0x2 /* re-enable core dumps after the drop (see above) */

/* Largest buffer we grow to for one getpwnam_r/getgrnam_r answer. */
#define PRIV_PW_BUF_MAX (1024 * 1024)

/* Drop to user (by name) and group (by name; NULL = the user's primary group). */
int priv_drop_to(const char *user, const char *group, unsigned flags, struct buf *err);

/* Drop to numeric ids; the only group is gid (PRIV_INITGROUPS is refused here:
 * an authd account has no name in the group database). */
int priv_drop_to_ids(uid_t uid, gid_t gid, unsigned flags, struct buf *err);

/* Resolve a user (and optional group) name to ids without changing anything. */
int priv_lookup(const char *user, const char *group, uid_t *uid, gid_t *gid, struct buf *err);

/* 1 if the effective uid is 0. */
int priv_is_root(void);

/* For programs that must never run as root: if any of the real, effective or
 * saved uids is 0, print "progname: refusing to run as root" on stderr and
 * _exit(EX_TEMPFAIL) (the work, e.g. a delivery to an account mapped to uid 0, is
 * kept for a retry after the administrator fixes the mapping). */
void priv_refuse_root(const char *progname);

/* prctl(PR_SET_NO_NEW_PRIVS): no execve() after this can gain privileges
 * (set-id bits and file capabilities are ignored). 0 or -1 with errno. */
int priv_no_new_privs(void);

/* prctl(PR_SET_DUMPABLE, on). 0 or -1 with errno. */
int priv_set_dumpable(int on);

#endif
