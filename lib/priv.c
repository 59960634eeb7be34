/* priv: drop root to one user and group, then prove that it cannot come back.
 *
 * Trusts the passwd and group databases (through getpwnam_r/getgrnam_r) and
 * the kernel; trusts nothing about the names passed in beyond being C strings
 * (they are escaped before they appear in an error message). */
#define _GNU_SOURCE /* getresuid, setresuid and friends */
#include "priv.h"
#include "alloc.h"
#include "buf.h"
#include "log.h"

#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sysexits.h>
#include <unistd.h>

#define PRIV_PW_BUF_START 1024

/* Put "<message>[: strerror(e)]" into err, set errno = e, return -1. */
static int fail(struct buf *err, int e, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int fail(struct buf *err, int e, const char *fmt, ...)
{
	if (err != NULL) {
		va_list ap;
		buf_reset(err);
		va_start(ap, fmt);
		buf_vprintf(err, fmt, ap);
		va_end(ap);
		if (e != 0)
			buf_printf(err, ": %s", strerror(e));
	}
	errno = e != 0 ? e : EPERM;
	return -1;
}

/* A name made safe for an error message (caller frees the buf). */
static const char *quoted(struct buf *q, const char *name)
{
	buf_reset(q);
	log_escape(q, name, strlen(name));
	return buf_cstr(q);
}

/* Why a lookup found nothing, as an error. */
static int lookup_fail(struct buf *err, const char *what, const char *name, int r)
{
	struct buf q = BUF_INIT;
	if (r == 0 || r == ENOENT || r == ESRCH)
		fail(err, ENOENT, "no such %s \"%s\"", what, quoted(&q, name));
	else if (r == ERANGE)
		fail(err, r, "%s entry \"%s\" too large", what, quoted(&q, name));
	else
		fail(err, r, "looking up %s \"%s\"", what, quoted(&q, name));
	buf_free(&q);
	return -1;
}

static int lookup_user(const char *user, uid_t *uid, gid_t *gid, struct buf *err)
{
	struct passwd pw, *res = NULL;
	char *mem = NULL;
	int r;
	for (size_t size = PRIV_PW_BUF_START;; size *= 2) {
		mem = xrealloc(mem, size);
		do
			r = getpwnam_r(user, &pw, mem, size, &res);
		while (r == EINTR);
		if (r != ERANGE || size >= PRIV_PW_BUF_MAX)
			break;
	}
	if (r == 0 && res != NULL) {
		*uid = pw.pw_uid;
		*gid = pw.pw_gid;
	}
	free(mem);
	return r == 0 && res != NULL ? 0 : lookup_fail(err, "user", user, r);
}

static int lookup_group(const char *group, gid_t *gid, struct buf *err)
{
	struct group gr, *res = NULL;
	char *mem = NULL;
	int r;
	for (size_t size = PRIV_PW_BUF_START;; size *= 2) {
		mem = xrealloc(mem, size);
		do
			r = getgrnam_r(group, &gr, mem, size, &res);
		while (r == EINTR);
		if (r != ERANGE || size >= PRIV_PW_BUF_MAX)
			break;
	}
	if (r == 0 && res != NULL)
		*gid = gr.gr_gid;
	free(mem);
	return r == 0 && res != NULL ? 0 : lookup_fail(err, "group", group, r);
}

int priv_lookup(const char *user, const char *group, uid_t *uid, gid_t *gid, struct buf *err)
{
	if (user == NULL || *user == '\0')
		return fail(err, EINVAL, "empty user name");
	if (group != NULL && *group == '\0')
		return fail(err, EINVAL, "empty group name");
	if (lookup_user(user, uid, gid, err) < 0)
		return -1;
	if (group != NULL && lookup_group(group, gid, err) < 0)
		return -1;
	return 0;
}

/* Supplementary groups: exactly gid, or the user's from the group database.
 * A process that is not root cannot change them and keeps its own. */
static int set_groups(const char *user, gid_t gid, unsigned flags, int was_root, struct buf *err)
{
	int r;
	if (flags & PRIV_INITGROUPS)
		r = initgroups(user, gid);
	else
		r = setgroups(1, &gid);
	if (r == 0 || (!was_root && errno == EPERM))
		return 0;
	return fail(err, errno, "%s", (flags & PRIV_INITGROUPS) ? "initgroups" : "setgroups");
}

/* Only the target group may remain in the supplementary list. */
static int verify_groups(gid_t gid, struct buf *err)
{
	int n = getgroups(0, NULL);
	if (n < 0)
		return fail(err, errno, "getgroups");
	if (n > 1)
		return fail(err, 0, "%d supplementary groups remain after setgroups", n);
	if (n == 1) {
		gid_t g;
		if (getgroups(1, &g) != 1)
			return fail(err, errno, "getgroups");
		if (g != gid)
			return fail(err, 0, "supplementary group %lu remains", (unsigned long)g);
	}
	return 0;
}

/* Prove the drop: every id is the target, and neither root id comes back. */
static int verify_ids(uid_t uid, gid_t gid, struct buf *err)
{
	uid_t ru, eu, su;
	gid_t rg, eg, sg;
	if (getresuid(&ru, &eu, &su) < 0 || getresgid(&rg, &eg, &sg) < 0)
		return fail(err, errno, "getresuid/getresgid");
	if (ru != uid || eu != uid || su != uid)
		return fail(err, 0, "uids are %lu/%lu/%lu after dropping to %lu",
			    (unsigned long)ru, (unsigned long)eu, (unsigned long)su,
			    (unsigned long)uid);
	if (rg != gid || eg != gid || sg != gid)
		return fail(err, 0, "gids are %lu/%lu/%lu after dropping to %lu",
			    (unsigned long)rg, (unsigned long)eg, (unsigned long)sg,
			    (unsigned long)gid);
	if (uid != 0 && setuid(0) == 0)
		return fail(err, 0, "setuid(0) succeeded after dropping to uid %lu",
			    (unsigned long)uid);
	if (uid != 0 && gid != 0 && setgid(0) == 0)
		return fail(err, 0, "setgid(0) succeeded after dropping to gid %lu",
			    (unsigned long)gid);
	return 0;
}

static int drop(const char *user, uid_t uid, gid_t gid, unsigned flags, struct buf *err)
{
	int was_root = geteuid() == 0;
	if (set_groups(user, gid, flags, was_root, err) < 0)
		return -1;
	if (setresgid(gid, gid, gid) < 0)
		return fail(err, errno, "setresgid(%lu)", (unsigned long)gid);
	if (setresuid(uid, uid, uid) < 0)
		return fail(err, errno, "setresuid(%lu)", (unsigned long)uid);
	if (verify_ids(uid, gid, err) < 0)
		return -1;
	if (was_root && !(flags & PRIV_INITGROUPS) && verify_groups(gid, err) < 0)
		return -1;
	/* The kernel's choice depends on fs.suid_dumpable; make ours explicit. */
	if (priv_set_dumpable((flags & PRIV_DUMPABLE) != 0) < 0)
		return fail(err, errno, "prctl(PR_SET_DUMPABLE)");
	return 0;
}

int priv_drop_to(const char *user, const char *group, unsigned flags, struct buf *err)
{
	uid_t uid;
	gid_t gid;
	if (priv_lookup(user, group, &uid, &gid, err) < 0)
		return -1;
	return drop(user, uid, gid, flags, err);
}

int priv_drop_to_ids(uid_t uid, gid_t gid, unsigned flags, struct buf *err)
{
	if (flags & PRIV_INITGROUPS)
		return fail(err, EINVAL, "PRIV_INITGROUPS needs a user name");
	if (uid == (uid_t)-1 || gid == (gid_t)-1)
		return fail(err, EINVAL, "invalid id -1");
	return drop(NULL, uid, gid, flags, err);
}

int priv_is_root(void)
{
	return geteuid() == 0;
}

void priv_refuse_root(const char *progname)
{
	uid_t r, e, s;
	/* Fail closed: if the ids cannot be read, assume the worst. */
	if (getresuid(&r, &e, &s) == 0 && r != 0 && e != 0 && s != 0)
		return;
	fprintf(stderr, "%s: refusing to run as root\n", progname ? progname : "estafette");
	fflush(stderr);
	/* _exit: a process that must not be running runs no atexit handlers (nor
	 * the sanitizer's leak check, which cannot trace a half-root process). */
	_exit(EX_TEMPFAIL);
}

int priv_no_new_privs(void)
{
	return prctl(PR_SET_NO_NEW_PRIVS, 1L, 0L, 0L, 0L);
}

int priv_set_dumpable(int on)
{
	return prctl(PR_SET_DUMPABLE, on ? 1L : 0L, 0L, 0L, 0L);
}
