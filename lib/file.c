/* file: write-all, bounded read, fsync of directories, atomic replace, mkdir -p. */
#include "file.h"
#include "alloc.h"
#include "buf.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int file_write_all(int fd, const void *data, size_t len)
{
	const char *p = data;
	while (len > 0) {
		ssize_t n = write(fd, p, len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

int file_read_fd(int fd, struct buf *out, size_t max)
{
	buf_reset(out);
	for (;;) {
		char *space = buf_space(out, 65536);
		ssize_t n = read(fd, space, 65536);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		if (n == 0)
			return 0;
		if ((size_t)n > max - out->len) {
			errno = EFBIG;
			return -1;
		}
		buf_commit(out, (size_t)n);
	}
}

int file_read(const char *path, struct buf *out, size_t max)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return -1;
	int r = file_read_fd(fd, out, max);
	int saved = errno;
	close(fd);
	errno = saved;
	return r;
}

int file_fsync_dir(const char *dir)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	int r = fsync(fd);
	int saved = errno;
	close(fd);
	errno = saved;
	return r;
}

int file_fsync_parent(const char *path)
{
	const char *slash = strrchr(path, '/');
	if (slash == NULL)
		return file_fsync_dir(".");
	if (slash == path)
		return file_fsync_dir("/");
	char *dir = xmemdup(path, (size_t)(slash - path));
	int r = file_fsync_dir(dir);
	int saved = errno;
	free(dir);
	errno = saved;
	return r;
}

int file_replace(const char *path, const void *data, size_t len, mode_t mode)
{
	struct buf tmp = BUF_INIT;
	buf_printf(&tmp, "%s.tmp.%ld", path, (long)getpid());
	const char *tmpname = buf_cstr(&tmp);
	int fd = open(tmpname, O_WRONLY | O_CREAT | O_TRUNC | O_EXCL | O_CLOEXEC | O_NOFOLLOW, mode);
	if (fd < 0 && errno == EEXIST) {
		/* a leftover of an earlier process with our pid: it is ours to remove */
		unlink(tmpname);
		fd = open(tmpname, O_WRONLY | O_CREAT | O_TRUNC | O_EXCL | O_CLOEXEC | O_NOFOLLOW, mode);
	}
	if (fd < 0) {
		buf_free(&tmp);
		return -1;
	}
	int saved;
	if (file_write_all(fd, data, len) < 0 || fchmod(fd, mode) < 0 || fsync(fd) < 0) {
		saved = errno;
		close(fd);
		goto fail;
	}
	if (close(fd) < 0 || rename(tmpname, path) < 0) {
		saved = errno;
		goto fail;
	}
	buf_free(&tmp);
	return file_fsync_parent(path);
fail:
	unlink(tmpname);
	buf_free(&tmp);
	errno = saved;
	return -1;
}

int file_mkdirs(const char *path, mode_t mode)
{
	struct buf b = BUF_INIT;
	buf_set_str(&b, path);
	char *p = (char *)buf_cstr(&b);
	for (char *s = p + 1;; s++) {
		if (*s != '/' && *s != '\0')
			continue;
		char c = *s;
		*s = '\0';
		if (mkdir(p, mode) < 0 && errno != EEXIST) {
			int saved = errno;
			buf_free(&b);
			errno = saved;
			return -1;
		}
		*s = c;
		if (c == '\0')
			break;
	}
	struct stat st;
	int r = stat(p, &st) < 0 ? -1 : S_ISDIR(st.st_mode) ? 0 : (errno = ENOTDIR, -1);
	int saved = errno;
	buf_free(&b);
	errno = saved;
	return r;
}
