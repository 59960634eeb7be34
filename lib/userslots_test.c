/* Tests for userslots: the bound holds, a slot comes free when its holder
 * closes it (or dies), a symlinked slot is never used, and a maildir where
 * nothing can be made is an error, not "full". */
#include "userslots.h"
#include "unit.h"

#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

TEST(bound_and_release)
{
	struct buf err = BUF_INIT;
	const char *dir = unit_tmpdir();
	int a = userslots_take(dir, "imap", 2, &err);
	int b = userslots_take(dir, "imap", 2, &err);
	CHECK(a >= 0 && b >= 0);
	CHECK_INT(userslots_take(dir, "imap", 2, &err), USERSLOTS_FULL);
	int p = userslots_take(dir, "pop3", 2, &err); /* another service: its own slots */
	CHECK(p >= 0);
	close(a);
	int c = userslots_take(dir, "imap", 2, &err);
	CHECK(c >= 0);
	CHECK_INT(userslots_take(dir, "imap", 3, &err) >= 0, 1); /* a larger bound: room */
	close(b);
	close(c);
	close(p);
	buf_free(&err);
}

TEST(a_dead_holder_frees_its_slot)
{
	struct buf err = BUF_INIT;
	const char *dir = unit_tmpdir();
	int ready[2];
	CHECK_INT(pipe(ready), 0);
	pid_t pid = fork();
	if (pid == 0) {
		int fd = userslots_take(dir, "imap", 1, &err);
		(void)!write(ready[1], fd >= 0 ? "y" : "n", 1);
		pause();
		_exit(0);
	}
	char c = 0;
	CHECK_INT(read(ready[0], &c, 1), 1);
	CHECK_INT(c, 'y');
	CHECK_INT(userslots_take(dir, "imap", 1, &err), USERSLOTS_FULL);
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	int fd = userslots_take(dir, "imap", 1, &err);
	CHECK(fd >= 0);
	close(fd);
	buf_free(&err);
}

TEST(links_are_never_slots)
{
	struct buf err = BUF_INIT, p = BUF_INIT;
	const char *dir = unit_tmpdir();
	buf_printf(&p, "%s/estafette-sessions", dir);
	CHECK_INT(mkdir(buf_cstr(&p), 0700), 0);
	buf_append_str(&p, "/imap.0");
	CHECK_INT(symlink("/etc/passwd", buf_cstr(&p)), 0);
	int fd = userslots_take(dir, "imap", 2, &err); /* gets imap.1 */
	CHECK(fd >= 0);
	CHECK_INT(userslots_take(dir, "imap", 2, &err), USERSLOTS_FULL);
	close(fd);
	CHECK_INT(userslots_take(dir, "imap", 1, &err), -1); /* only the link: an error */
	CHECK(err.len > 0);
	buf_free(&p);
	buf_free(&err);
}

TEST(missing_maildir_is_an_error)
{
	struct buf err = BUF_INIT;
	CHECK_INT(userslots_take("/nonexistent/estafette/x", "imap", 5, &err), -1);
	CHECK(err.len > 0);
	buf_free(&err);
}
