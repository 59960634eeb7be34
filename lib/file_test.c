#include "buf.h"
#include "file.h"
#include "unit.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

static const char *tmp_path(const char *name)
{
	static char path[4200];
	snprintf(path, sizeof path, "%s/%s", unit_tmpdir(), name);
	return path;
}

TEST(file_replace_then_read)
{
	const char *p = tmp_path("conf");
	CHECK_INT(file_replace(p, "one\n", 4, 0640), 0);
	CHECK_INT(file_replace(p, "two\0x", 5, 0640), 0);
	struct buf b = BUF_INIT;
	CHECK_INT(file_read(p, &b, 100), 0);
	CHECK_MEM(b.data, b.len, "two\0x", 5);
	struct stat st;
	CHECK_INT(stat(p, &st), 0);
	CHECK_INT(st.st_mode & 0777, 0640);
	/* no temporary file left behind */
	char tmpname[4300];
	snprintf(tmpname, sizeof tmpname, "%s.tmp.%ld", p, (long)getpid());
	CHECK(access(tmpname, F_OK) < 0);
	buf_free(&b);
}

TEST(file_read_bounded)
{
	const char *p = tmp_path("big");
	char data[1000];
	memset(data, 'x', sizeof data);
	CHECK_INT(file_replace(p, data, sizeof data, 0600), 0);
	struct buf b = BUF_INIT;
	CHECK_INT(file_read(p, &b, 999), -1);
	CHECK_INT(errno, EFBIG);
	CHECK_INT(file_read(p, &b, 1000), 0);
	CHECK_INT(b.len, 1000);
	CHECK_INT(file_read(tmp_path("missing"), &b, 10), -1);
	CHECK_INT(errno, ENOENT);
	buf_free(&b);
}

TEST(file_mkdirs_nested)
{
	const char *p = tmp_path("a/b/c");
	CHECK_INT(file_mkdirs(p, 0700), 0);
	CHECK_INT(file_mkdirs(p, 0700), 0);
	CHECK_INT(file_fsync_dir(p), 0);
	CHECK_INT(file_fsync_parent(p), 0);
	CHECK_INT(file_replace(tmp_path("a/file"), "", 0, 0600), 0);
	CHECK_INT(file_mkdirs(tmp_path("a/file/x"), 0700), -1);
}

TEST(file_write_all_to_pipe)
{
	int fds[2];
	CHECK_INT(pipe(fds), 0);
	CHECK_INT(file_write_all(fds[1], "hello", 5), 0);
	close(fds[1]);
	struct buf b = BUF_INIT;
	CHECK_INT(file_read_fd(fds[0], &b, 10), 0);
	CHECK_BUF(b, "hello");
	close(fds[0]);
	buf_free(&b);
}
