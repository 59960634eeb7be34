/* Tests for priv. Dropping privileges needs root (CI runs as root); a test that
 * cannot apply without root says so on stderr and passes without checking. */
#define _GNU_SOURCE /* getresuid, setresuid and friends */
#include "priv.h"
#include "buf.h"
#include "unit.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <sysexits.h>
#include <unistd.h>

static int have_root(const char *test)
{
	if (geteuid() == 0)
		return 1;
	fprintf(stderr, "  note: %s does not apply: needs root (skipped, counted as passed)\n",
		test);
	return 0;
}

static void nobody_ids(uid_t *uid, gid_t *gid)
{
	struct passwd *pw = getpwnam("nobody");
	struct group *gr = getgrnam("nogroup");
	CHECK(pw != NULL && gr != NULL);
	*uid = pw->pw_uid;
	*gid = gr->gr_gid;
}

static void check_dropped(uid_t uid, gid_t gid)
{
	uid_t ru, eu, su;
	gid_t rg, eg, sg, groups[8];
	CHECK_INT(getresuid(&ru, &eu, &su), 0);
	CHECK_INT(getresgid(&rg, &eg, &sg), 0);
	CHECK(ru == uid && eu == uid && su == uid);
	CHECK(rg == gid && eg == gid && sg == gid);
	int n = getgroups(8, groups);
	CHECK(n == 0 || (n == 1 && groups[0] == gid));
	CHECK_INT(setuid(0), -1);
	CHECK_INT(seteuid(0), -1);
	CHECK_INT(setgid(0), -1);
	CHECK_INT(setgroups(0, NULL), -1);
	CHECK(!priv_is_root());
}

/* Start from root with several supplementary groups, so "gone" means something. */
static void add_groups(void)
{
	gid_t extra[3] = { 0, 4, 27 };
	CHECK_INT(setgroups(3, extra), 0);
	CHECK_INT(getgroups(0, NULL), 3);
}

TEST(priv_drop_to_nobody)
{
	if (!have_root(__func__))
		return;
	struct buf err = BUF_INIT;
	uid_t uid;
	gid_t gid;
	nobody_ids(&uid, &gid);
	add_groups();
	CHECK_INT(priv_drop_to("nobody", "nogroup", 0, &err), 0);
	check_dropped(uid, gid);
	CHECK_INT(prctl(PR_GET_DUMPABLE, 0L, 0L, 0L, 0L), 0);
	buf_free(&err);
}

TEST(priv_drop_primary_group)
{
	if (!have_root(__func__))
		return;
	struct passwd *pw = getpwnam("nobody");
	CHECK(pw != NULL);
	uid_t uid = pw->pw_uid;
	gid_t gid = pw->pw_gid;
	add_groups();
	CHECK_INT(priv_drop_to("nobody", NULL, PRIV_DUMPABLE, NULL), 0);
	check_dropped(uid, gid);
	CHECK_INT(prctl(PR_GET_DUMPABLE, 0L, 0L, 0L, 0L), 1);
}

TEST(priv_drop_initgroups)
{
	if (!have_root(__func__))
		return;
	uid_t uid;
	gid_t gid, groups[64];
	nobody_ids(&uid, &gid);
	add_groups();
	CHECK_INT(priv_drop_to("nobody", "nogroup", PRIV_INITGROUPS, NULL), 0);
	int n = getgroups(64, groups);
	CHECK(n >= 0);
	for (int i = 0; i < n; i++)
		CHECK(groups[i] != 0); /* nobody is in no privileged group */
	CHECK(getuid() == uid && getgid() == gid);
	CHECK_INT(setuid(0), -1);
}

TEST(priv_drop_to_ids_nobody)
{
	if (!have_root(__func__))
		return;
	add_groups();
	CHECK_INT(priv_drop_to_ids(65534, 65534, 0, NULL), 0);
	check_dropped(65534, 65534);
}

TEST(priv_drop_to_ids_refuses_bad_args)
{
	struct buf err = BUF_INIT;
	CHECK_INT(priv_drop_to_ids(65534, 65534, PRIV_INITGROUPS, &err), -1);
	CHECK_INT(errno, EINVAL);
	CHECK(strstr(buf_cstr(&err), "PRIV_INITGROUPS") != NULL);
	CHECK_INT(priv_drop_to_ids((uid_t)-1, 65534, 0, &err), -1);
	CHECK_INT(priv_drop_to_ids(65534, (gid_t)-1, 0, &err), -1);
	buf_free(&err);
}

TEST(priv_unknown_user_and_group)
{
	struct buf err = BUF_INIT;
	CHECK_INT(priv_drop_to("no-such-user-estafette", NULL, 0, &err), -1);
	CHECK_INT(errno, ENOENT);
	CHECK(strstr(buf_cstr(&err), "no such user") != NULL);
	CHECK_INT(priv_drop_to("nobody", "no-such-group-estafette", 0, &err), -1);
	CHECK(strstr(buf_cstr(&err), "no such group") != NULL);
	CHECK_INT(priv_drop_to("", NULL, 0, &err), -1);
	CHECK_INT(priv_drop_to(NULL, NULL, 0, &err), -1);
	CHECK_INT(priv_drop_to("nobody", "", 0, &err), -1);
	/* control characters in a name are escaped in the message */
	CHECK_INT(priv_drop_to("evil\nline\x1b", NULL, 0, &err), -1);
	CHECK(strchr(buf_cstr(&err), '\n') == NULL && strchr(buf_cstr(&err), '\x1b') == NULL);
	/* an over-long name is only a failed lookup */
	char *longname = malloc(100001);
	CHECK(longname != NULL);
	memset(longname, 'a', 100000);
	longname[100000] = '\0';
	CHECK_INT(priv_drop_to(longname, NULL, 0, &err), -1);
	CHECK_INT(priv_drop_to("nobody", longname, 0, &err), -1);
	free(longname);
	/* none of that changed anything */
	uid_t r, e, s;
	CHECK_INT(getresuid(&r, &e, &s), 0);
	CHECK(r == e && e == s);
	buf_free(&err);
}

TEST(priv_lookup_names)
{
	uid_t uid = 1;
	gid_t gid = 1;
	CHECK_INT(priv_lookup("root", NULL, &uid, &gid, NULL), 0);
	CHECK_INT(uid, 0);
	CHECK_INT(gid, 0);
	CHECK_INT(priv_lookup("root", "nogroup", &uid, &gid, NULL), 0);
	CHECK(gid == getgrnam("nogroup")->gr_gid);
}

/* A process already running as the target (the sandbox) may "drop" to itself. */
TEST(priv_drop_to_current_ids)
{
	CHECK_INT(priv_drop_to_ids(getuid(), getgid(), 0, NULL), 0);
	if (!have_root(__func__))
		return;
	uid_t uid;
	gid_t gid;
	nobody_ids(&uid, &gid);
	CHECK_INT(setgroups(1, &gid), 0);
	CHECK_INT(setresgid(gid, gid, gid), 0);
	CHECK_INT(setresuid(uid, uid, uid), 0);
	CHECK_INT(priv_drop_to("nobody", "nogroup", 0, NULL), 0);
	check_dropped(uid, gid);
	/* but never to somebody else */
	struct buf err = BUF_INIT;
	CHECK_INT(priv_drop_to("root", NULL, 0, &err), -1);
	CHECK(err.len > 0);
	CHECK_INT(priv_drop_to_ids(1, 1, 0, &err), -1);
	check_dropped(uid, gid);
	buf_free(&err);
}

/* A half-done drop (saved uid still 0, euid not) is completed, not trusted. */
TEST(priv_drop_completes_half_drop)
{
	if (!have_root(__func__))
		return;
	uid_t uid;
	gid_t gid;
	nobody_ids(&uid, &gid);
	CHECK_INT(setgroups(1, &gid), 0);
	CHECK_INT(setresgid(gid, gid, gid), 0);
	CHECK_INT(setresuid(uid, uid, 0), 0);
	CHECK(!priv_is_root());
	CHECK_INT(priv_drop_to("nobody", "nogroup", 0, NULL), 0);
	check_dropped(uid, gid);
}

static int child_status(void (*fn)(void), const char *errpath)
{
	fflush(NULL);
	pid_t pid = fork();
	CHECK(pid >= 0);
	if (pid == 0) {
		int fd = open(errpath, O_WRONLY | O_CREAT | O_TRUNC, 0600);
		if (fd < 0 || dup2(fd, 2) < 0)
			_exit(99);
		fn();
		_exit(0);
	}
	int status;
	CHECK(waitpid(pid, &status, 0) == pid);
	CHECK(WIFEXITED(status));
	return WEXITSTATUS(status);
}

static void refuse(void)
{
	priv_refuse_root("deliver-test");
}

static void drop_then_refuse(void)
{
	if (priv_drop_to("nobody", "nogroup", 0, NULL) < 0)
		_exit(98);
	priv_refuse_root("deliver-test");
}

static void half_drop_then_refuse(void)
{
	if (setresuid(65534, 65534, 0) < 0) /* saved uid 0 could come back */
		_exit(98);
	priv_refuse_root("deliver-test");
}

TEST(priv_refuse_root_exits)
{
	char path[4200];
	snprintf(path, sizeof path, "%s/stderr", unit_tmpdir());
	if (!priv_is_root()) {
		CHECK_INT(child_status(refuse, path), 0);
		have_root(__func__);
		return;
	}
	CHECK_INT(child_status(refuse, path), EX_TEMPFAIL);
	FILE *f = fopen(path, "r");
	char line[200] = "";
	CHECK(f != NULL && fgets(line, sizeof line, f) != NULL);
	fclose(f);
	CHECK_STR(line, "deliver-test: refusing to run as root\n");
	CHECK_INT(child_status(drop_then_refuse, path), 0);
	CHECK_INT(child_status(half_drop_then_refuse, path), EX_TEMPFAIL);
}

TEST(priv_no_new_privs_sets_flag)
{
	CHECK_INT(priv_no_new_privs(), 0);
	CHECK_INT(prctl(PR_GET_NO_NEW_PRIVS, 0L, 0L, 0L, 0L), 1);
	CHECK_INT(priv_set_dumpable(0), 0);
	CHECK_INT(prctl(PR_GET_DUMPABLE, 0L, 0L, 0L, 0L), 0);
	CHECK_INT(priv_set_dumpable(1), 0);
	CHECK_INT(prctl(PR_GET_DUMPABLE, 0L, 0L, 0L, 0L), 1);
}
