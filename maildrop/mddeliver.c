/* mddeliver: Maildir and mbox delivery, locks, and commands; see mddeliver.h.
 *
 * mbox: the file is opened without following a final symlink, dot-locked
 * (PATH.lock; when the directory is not writable to us, as /var/mail often
 * is, only the fcntl lock is taken), locked with fcntl, appended to, fsynced;
 * after a failed write it is truncated back to its old size, so a mailbox
 * never keeps half a message. */
#define _GNU_SOURCE
#include "mddeliver.h"

#include "alloc.h"
#include "file.h"
#include "maildir.h"
#include "mdquota.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

int md_deliver_maildir(const char *dir, const struct buf *msg, const char *flags,
		       const char *quota, struct buf *name, struct buf *err)
{
	struct maildir_delivery d;
	if (md_quota_check(dir, quota, msg->len, err) < 0)
		return -1;
	int rc = *flags ? maildir_deliver_begin_cur(&d, dir, flags) : maildir_deliver_begin(&d, dir);
	if (rc < 0) {
		buf_error(err, "%s: %s", dir, strerror(errno));
		return -1;
	}
	if (maildir_deliver_buf(&d, msg) < 0 || maildir_deliver_commit(&d, name) < 0) {
		buf_error(err, "%s: %s", dir, strerror(errno));
		maildir_deliver_abort(&d);
		return -1;
	}
	md_quota_add(dir, quota, (int64_t)msg->len, 1);
	return 0;
}

int md_dotlock_acquire(const char *lockfile, struct buf *err)
{
	time_t start = time(NULL);
	for (;;) {
		int fd = open(lockfile, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
		if (fd >= 0) {
			close(fd);
			return 0;
		}
		if (errno != EEXIST) {
			int e = errno;
			buf_error(err, "%s: %s", lockfile, strerror(e));
			errno = e;
			return -1;
		}
		struct stat st;
		if (lstat(lockfile, &st) == 0 && time(NULL) - st.st_mtime > MD_LOCK_TIMEOUT) {
			unlink(lockfile); /* stale */
			continue;
		}
		if (time(NULL) - start > MD_LOCK_WAIT) {
			buf_error(err, "%s: timed out waiting for the lock", lockfile);
			return -1;
		}
		sleep(1);
	}
}

void md_dotlock_release(const char *lockfile)
{
	unlink(lockfile);
}

static int lock_fd(int fd, const char *path, struct buf *err)
{
	struct flock fl;
	memset(&fl, 0, sizeof fl);
	fl.l_type = F_WRLCK;
	fl.l_whence = SEEK_SET;
	alarm(MD_LOCK_WAIT);
	int rc = fcntl(fd, F_SETLKW, &fl);
	int e = errno;
	alarm(0);
	if (rc < 0) {
		buf_error(err, "%s: cannot lock: %s", path, strerror(e));
		return -1;
	}
	return 0;
}

int md_flock_acquire(const char *path, struct buf *err)
{
	int fd = open(path, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0) {
		buf_error(err, "%s: %s", path, strerror(errno));
		return -1;
	}
	if (lock_fd(fd, path, err) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

/* "From SENDER Www Mmm dd hh:mm:ss yyyy\n", then the message with lines
 * matching ^>*From_ quoted, a final newline, and an empty line. */
static void mbox_format(struct buf *out, const struct buf *msg, const char *sender)
{
	char date[64];
	time_t now = time(NULL);
	struct tm tm;
	if (!localtime_r(&now, &tm) || !strftime(date, sizeof date, "%a %b %e %H:%M:%S %Y", &tm))
		date[0] = 0;
	buf_printf(out, "From %s %s\n", *sender ? sender : "MAILER-DAEMON", date);
	buf_reserve(out, msg->len + msg->len / 50 + 2);
	const char *p = msg->data ? msg->data : "";
	for (size_t i = 0; i < msg->len;) {
		const char *nl = memchr(p + i, '\n', msg->len - i);
		size_t n = nl ? (size_t)(nl - (p + i)) + 1 : msg->len - i;
		size_t j = i;
		while (j < i + n && p[j] == '>')
			j++;
		if (i + n - j >= 5 && !memcmp(p + j, "From ", 5))
			buf_append_char(out, '>');
		buf_append(out, p + i, n);
		i += n;
	}
	if (msg->len && p[msg->len - 1] != '\n')
		buf_append_char(out, '\n');
	buf_append_char(out, '\n');
}

int md_deliver_mbox(const char *path, const struct buf *msg, const char *sender,
		    struct buf *err)
{
	struct buf lock = BUF_INIT, text = BUF_INIT;
	int locked = 0, rc = -1;
	buf_printf(&lock, "%s.lock", path);
	if (md_dotlock_acquire(buf_cstr(&lock), err) == 0)
		locked = 1;
	else if (errno != EACCES && errno != EPERM && errno != EROFS)
		goto out;
	int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0) {
		buf_error(err, "%s: %s", path, strerror(errno));
		goto out;
	}
	struct stat st;
	if (lock_fd(fd, path, err) < 0 || fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		if (!err || !err->len)
			buf_error(err, "%s: not a regular file", path);
		close(fd);
		goto out;
	}
	mbox_format(&text, msg, sender);
	if (file_write_all(fd, text.data, text.len) < 0 || fsync(fd) < 0) {
		buf_error(err, "%s: %s", path, strerror(errno));
		if (ftruncate(fd, st.st_size) < 0)
			buf_printf(err, " (and truncating it back failed)");
		close(fd);
		goto out;
	}
	rc = close(fd);
	if (rc < 0)
		buf_error(err, "%s: %s", path, strerror(errno));
out:
	if (locked)
		md_dotlock_release(buf_cstr(&lock));
	buf_free(&lock);
	buf_free(&text);
	return rc;
}

/* The input as a file descriptor: a sealed memory file. */
static int input_fd(const struct buf *in)
{
	if (!in)
		return open("/dev/null", O_RDONLY | O_CLOEXEC);
	int fd = memfd_create("maildrop", MFD_CLOEXEC);
	if (fd < 0)
		return -1;
	if (file_write_all(fd, in->data ? in->data : "", in->len) < 0 || lseek(fd, 0, SEEK_SET) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

static int read_output(int fd, struct buf *out, size_t max)
{
	char tmp[8192];
	for (;;) {
		ssize_t n = read(fd, tmp, sizeof tmp);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n < 0 ? -1 : 0;
		if (out->len + (size_t)n > max)
			return -2;
		buf_append(out, tmp, (size_t)n);
	}
}

int md_run(char *const argv[], char *const env[], const struct buf *in, struct buf *out,
	   size_t max, int *status, struct buf *err)
{
	int ifd = input_fd(in), p[2] = { -1, -1 };
	if (ifd < 0 || (out && pipe2(p, O_CLOEXEC) < 0)) {
		buf_error(err, "cannot run %s: %s", argv[0], strerror(errno));
		if (ifd >= 0)
			close(ifd);
		return -1;
	}
	fflush(stdout);
	pid_t pid = fork();
	if (pid == 0) {
		signal(SIGPIPE, SIG_DFL);
		if (dup2(ifd, 0) < 0 || (out && dup2(p[1], 1) < 0))
			_exit(127);
		execve(argv[0], argv, env);
		_exit(127);
	}
	int e = errno;
	close(ifd);
	if (out)
		close(p[1]);
	int rr = 0;
	if (pid > 0 && out)
		rr = read_output(p[0], out, max);
	if (out)
		close(p[0]);
	if (pid < 0) {
		buf_error(err, "cannot run %s: %s", argv[0], strerror(e));
		return -1;
	}
	int ws;
	while (waitpid(pid, &ws, 0) < 0)
		if (errno != EINTR) {
			buf_error(err, "waitpid: %s", strerror(errno));
			return -1;
		}
	if (!WIFEXITED(ws)) {
		buf_error(err, "%s: killed by signal %d", argv[0], WTERMSIG(ws));
		return -1;
	}
	if (rr == -2) {
		buf_error(err, "%s: output longer than %zu bytes", argv[0], max);
		return -1;
	}
	*status = WEXITSTATUS(ws);
	return 0;
}
