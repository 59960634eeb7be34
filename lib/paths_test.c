#include "buf.h"
#include "file.h"
#include "paths.h"
#include "unit.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

TEST(paths_from_environment)
{
	setenv("ESTAFETTE_ROOT", "/tmp/inst/", 1);
	CHECK_STR(paths_root(), "/tmp/inst");
	CHECK_STR(paths_config(), "/tmp/inst/etc/estafette");
	CHECK_STR(paths_queue(), "/tmp/inst/var/spool/estafette");
	CHECK_STR(paths_state(), "/tmp/inst/var/lib/estafette");
	CHECK_STR(paths_run(), "/tmp/inst/var/run/estafette");
	CHECK_STR(paths_libexec(), "/tmp/inst/libexec/estafette");
}

TEST(paths_flag_overrides_environment)
{
	setenv("ESTAFETTE_ROOT", "/tmp/inst", 1);
	CHECK_STR(paths_config(), "/tmp/inst/etc/estafette");
	paths_set_root("/srv/mail");
	CHECK_STR(paths_config(), "/srv/mail/etc/estafette");
}

TEST(paths_default_is_prefix)
{
	unsetenv("ESTAFETTE_ROOT");
	CHECK_STR(paths_root(), ESTAFETTE_PREFIX);
}

TEST(paths_root_slash)
{
	paths_set_root("/");
	CHECK_STR(paths_config(), "/etc/estafette");
	struct buf b = BUF_INIT;
	paths_join(&b, "/a/", "b");
	CHECK_BUF(b, "/a/b");
	buf_free(&b);
}

/* Lay out ROOT/libexec/estafette/prog as a copy of nothing in particular: the
 * identity check against /proc/self/exe must then refuse it. */
static void make_tree(const char *root, struct buf *exe)
{
	struct buf d = BUF_INIT;
	buf_printf(&d, "%s/libexec/estafette", root);
	CHECK(mkdir(root, 0755) == 0 || errno == EEXIST);
	buf_printf(exe, "%s/libexec", root);
	CHECK(mkdir(buf_cstr(exe), 0755) == 0);
	CHECK(mkdir(buf_cstr(&d), 0755) == 0);
	buf_printf(exe, "/estafette/prog");
	buf_free(&d);
}

TEST(paths_root_from_exe_refuses_other_files)
{
	struct buf root = BUF_INIT, exe = BUF_INIT;
	buf_printf(&root, "%s/inst", unit_tmpdir());
	make_tree(buf_cstr(&root), &exe);
	int fd = open(buf_cstr(&exe), O_WRONLY | O_CREAT, 0755);
	if (fd >= 0)
		close(fd);
	paths_set_root("/before");
	/* a regular file there, but not the running program */
	CHECK_INT(paths_root_from_exe_path(buf_cstr(&exe)), -1);
	CHECK_STR(paths_root(), "/before");
	buf_free(&root);
	buf_free(&exe);
}

TEST(paths_root_from_exe_running_program)
{
	char self[4096];
	ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
	CHECK(n > 0);
	self[n] = '\0';
	/* the test binary does not live in libexec/estafette */
	paths_set_root("/before");
	CHECK_INT(paths_root_from_exe(), -1);
	CHECK_STR(paths_root(), "/before");
	/* a copy placed in ROOT/libexec/estafette and run from there takes ROOT */
	struct buf root = BUF_INIT, exe = BUF_INIT, cmd = BUF_INIT;
	buf_printf(&root, "%s/inst", unit_tmpdir());
	make_tree(buf_cstr(&root), &exe);
	struct buf data = BUF_INIT;
	CHECK(file_read(self, &data, 64u * 1024 * 1024) == 0);
	int fd = open(buf_cstr(&exe), O_WRONLY | O_CREAT | O_EXCL, 0755);
	CHECK(fd >= 0);
	CHECK(file_write_all(fd, data.data, data.len) == 0);
	close(fd);
	int pfd[2];
	CHECK(pipe(pfd) == 0);
	pid_t pid = fork();
	CHECK(pid >= 0);
	if (pid == 0) {
		dup2(pfd[1], 1);
		setenv("PATHS_TEST_PRINT_ROOT", "1", 1);
		execl(buf_cstr(&exe), "prog", (char *)NULL);
		_exit(127);
	}
	close(pfd[1]);
	struct buf out = BUF_INIT;
	CHECK(file_read_fd(pfd[0], &out, 65536) == 0);
	int status;
	waitpid(pid, &status, 0);
	buf_append_char(&root, '\n');
	CHECK_STR(buf_cstr(&out), buf_cstr(&root));
	/* a group-writable libexec makes it refuse */
	buf_truncate(&root, root.len - 1);
	buf_printf(&cmd, "%s/libexec", buf_cstr(&root));
	CHECK(chmod(buf_cstr(&cmd), 0775) == 0);
	CHECK_INT(paths_root_from_exe_path(buf_cstr(&exe)), -1);
	buf_free(&root);
	buf_free(&exe);
	buf_free(&cmd);
	buf_free(&data);
	buf_free(&out);
}

/* When the copy above runs, print what paths_root_from_exe() found and stop. */
__attribute__((constructor)) static void print_root_hook(void)
{
	if (getenv("PATHS_TEST_PRINT_ROOT") == NULL)
		return;
	if (paths_root_from_exe() == 0)
		printf("%s\n", paths_root());
	else
		printf("refused\n");
	fflush(stdout);
	_exit(0);
}
