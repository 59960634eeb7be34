/* maildir: unique names, delivery through tmp/, Maildir creation, quota line.
 * Trusts the maildir path it is given; nothing below it (see maildir.h). */
#define _GNU_SOURCE /* renameat2 and RENAME_NOREPLACE */
#include "maildir.h"
#include "alloc.h"
#include "buf.h"
#include "file.h"
#include "fssync.h"
#include "mdflags.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#define HOST_MAX 64      /* escaped host bytes in a unique name */
#define NAME_TRIES 8     /* fresh names tried when one is taken */
#define COPY_CHUNK 65536

/* ---- unique names ---- */

static int random_bytes(unsigned char *p, size_t len)
{
	while (len > 0) {
		ssize_t n = getrandom(p, len, 0);
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

/* Escape the host so a name never holds '/', the info separator ':', the
 * field separator ',' or anything unprintable; '\' too, so it stays
 * unambiguous. */
static void host_escape(struct buf *out, const char *host)
{
	for (const unsigned char *p = (const unsigned char *)host; *p; p++) {
		int plain = *p > 0x20 && *p < 0x7f && !strchr("/:,\\", *p);
		if (out->len + (plain ? 1 : 4) > HOST_MAX)
			break;
		if (plain)
			buf_append_char(out, (char)*p);
		else
			buf_printf(out, "\\%03o", *p);
	}
	if (out->len == 0)
		buf_append_str(out, "localhost");
}

static const struct buf *host_name(void)
{
	static struct buf host = BUF_INIT;
	if (host.len == 0) {
		char name[256];
		if (gethostname(name, sizeof name) < 0)
			name[0] = '\0';
		name[sizeof name - 1] = '\0';
		host_escape(&host, name);
	}
	return &host;
}

int maildir_unique_at(struct buf *out, time_t sec, long usec)
{
	static pid_t counter_pid;
	static uint64_t counter;
	unsigned char rnd[8];

	if (random_bytes(rnd, sizeof rnd) < 0)
		return -1;
	pid_t pid = getpid();
	if (pid != counter_pid) { /* a forked child starts its own count */
		counter_pid = pid;
		counter = 0;
	}
	buf_printf(out, "%lld.M%ldP%ld", (long long)sec, usec, (long)pid);
	if (counter > 0)
		buf_printf(out, "Q%" PRIu64, counter);
	counter++;
	buf_append_char(out, 'R');
	for (size_t i = 0; i < sizeof rnd; i++)
		buf_printf(out, "%02x", rnd[i]);
	buf_append_char(out, '.');
	buf_append_buf(out, host_name());
	return 0;
}

int maildir_unique(struct buf *out)
{
	struct timespec ts;
	if (clock_gettime(CLOCK_REALTIME, &ts) < 0)
		return -1;
	return maildir_unique_at(out, ts.tv_sec, ts.tv_nsec / 1000);
}

int maildir_create_file(int dirfd, const char *name, mode_t mode)
{
	/* O_EXCL never follows a symlink at name: it fails with EEXIST */
	return openat(dirfd, name,
		      O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_NOCTTY | O_CLOEXEC, mode);
}

/* ---- delivery ---- */

static void close_fd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

static void delivery_release(struct maildir_delivery *d)
{
	close_fd(&d->fd);
	close_fd(&d->destfd);
	close_fd(&d->tmpfd);
	close_fd(&d->dirfd);
	buf_free(&d->tmpname);
	buf_free(&d->info);
}

static int open_subdir(int dirfd, const char *name)
{
	return openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
}

static int delivery_open_tmp(struct maildir_delivery *d)
{
	struct stat st;
	if (fstat(d->dirfd, &st) < 0)
		return -1;
	/* like Dovecot: files get the maildir's permissions, less execute */
	mode_t mode = (st.st_mode & 0666) | 0600;
	for (int tries = 0;; tries++) {
		buf_reset(&d->tmpname);
		if (maildir_unique(&d->tmpname) < 0)
			return -1;
		d->fd = maildir_create_file(d->tmpfd, buf_cstr(&d->tmpname), mode);
		if (d->fd >= 0)
			return 0;
		if (errno != EEXIST || tries + 1 == NAME_TRIES)
			break;
	}
	buf_reset(&d->tmpname); /* nothing of ours there to unlink */
	return -1;
}

static int delivery_begin(struct maildir_delivery *d, const char *maildir, const char *dest)
{
	d->dirfd = open(maildir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (d->dirfd < 0)
		goto fail;
	d->tmpfd = open_subdir(d->dirfd, "tmp");
	if (d->tmpfd < 0)
		goto fail;
	d->destfd = open_subdir(d->dirfd, dest);
	if (d->destfd < 0 || delivery_open_tmp(d) < 0)
		goto fail;
	return 0;
fail:;
	int saved = errno;
	delivery_release(d);
	errno = saved;
	return -1;
}

static void delivery_init(struct maildir_delivery *d)
{
	memset(d, 0, sizeof *d);
	d->dirfd = d->tmpfd = d->destfd = d->fd = -1;
}

int maildir_deliver_begin(struct maildir_delivery *d, const char *maildir)
{
	delivery_init(d);
	return delivery_begin(d, maildir, "new");
}

int maildir_deliver_begin_cur(struct maildir_delivery *d, const char *maildir,
			      const char *flags)
{
	struct mdflags f;
	delivery_init(d);
	if (mdflags_parse(&f, flags, strlen(flags)) < 0)
		return -1;
	buf_append(&d->info, ":2,", 3);
	mdflags_format(&f, &d->info);
	if (delivery_begin(d, maildir, "cur") < 0)
		return -1;
	return 0;
}

/* Keep the sizes: vsize counts a LF without CR before it as two bytes, as
 * the message will look on the wire (RFC 5322 CRLF). */
static void delivery_count(struct maildir_delivery *d, const char *p, size_t len)
{
	d->size += len;
	d->vsize += len;
	const char *end = p + len;
	for (const char *q = p; q < end; q++) {
		q = memchr(q, '\n', (size_t)(end - q));
		if (q == NULL)
			break;
		int cr_before = q > p ? q[-1] == '\r' : d->last_cr;
		if (!cr_before)
			d->vsize++;
	}
	if (len > 0)
		d->last_cr = end[-1] == '\r';
}

int maildir_deliver_write(struct maildir_delivery *d, const void *data, size_t len)
{
	if (d->fd < 0) {
		errno = EBADF;
		return -1;
	}
	if (d->error) {
		errno = d->error;
		return -1;
	}
	if (len == 0)
		return 0;
	/* vsize grows by up to 2 * len; keep it well inside 64 bits */
	if (d->vsize > UINT64_MAX / 4 || len > UINT64_MAX / 4 - d->vsize) {
		d->error = errno = EFBIG;
		return -1;
	}
	if (file_write_all(d->fd, data, len) < 0) {
		d->error = errno;
		return -1;
	}
	delivery_count(d, data, len);
	return 0;
}

int maildir_deliver_buf(struct maildir_delivery *d, const struct buf *b)
{
	return maildir_deliver_write(d, b->data, b->len);
}

int maildir_deliver_copy(struct maildir_delivery *d, int fd, uint64_t max)
{
	char chunk[COPY_CHUNK];
	uint64_t copied = 0;
	for (;;) {
		ssize_t n = read(fd, chunk, sizeof chunk);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			d->error = errno;
			return -1;
		}
		if (n == 0)
			return 0;
		if ((uint64_t)n > max - copied) {
			d->error = errno = EFBIG;
			return -1;
		}
		copied += (uint64_t)n;
		if (maildir_deliver_write(d, chunk, (size_t)n) < 0)
			return -1;
	}
}

void maildir_deliver_ordered_with(struct maildir_delivery *d, dev_t dev)
{
	d->ordered = 1;
	d->ordered_dev = dev;
}

void maildir_deliver_set_mtime(struct maildir_delivery *d, time_t mtime)
{
	d->set_mtime = 1;
	d->mtime = mtime;
}

/* Close the tmp file durably; *st receives what it is, for the check below. */
static int delivery_finish_file(struct maildir_delivery *d, struct stat *st)
{
	if (fstat(d->fd, st) < 0)
		return -1;
	if (!S_ISREG(st->st_mode) || (uint64_t)st->st_size != d->size) {
		errno = EIO; /* written behind our back: the sizes would lie */
		return -1;
	}
	if (d->set_mtime) {
		struct timespec ts[2] = { { d->mtime, 0 }, { d->mtime, 0 } };
		if (futimens(d->fd, ts) < 0)
			return -1;
	}
	if (fsync(d->fd) < 0)
		return -1;
	int fd = d->fd;
	d->fd = -1;
	return close(fd);
}

static int link_unsupported(int e)
{
	return e == EPERM || e == EXDEV || e == ENOSYS || e == EOPNOTSUPP;
}

/* Move tmp/NAME to dest/final without ever replacing a file there. */
static int delivery_place(struct maildir_delivery *d, const char *final)
{
	const char *tmp = buf_cstr(&d->tmpname);
	if (linkat(d->tmpfd, tmp, d->destfd, final, 0) == 0) {
		/* delivered; a tmp/ leftover would be swept after 36 hours */
		(void)unlinkat(d->tmpfd, tmp, 0);
		buf_reset(&d->tmpname);
		return 0;
	}
	if (!link_unsupported(errno))
		return -1;
	if (renameat2(d->tmpfd, tmp, d->destfd, final, RENAME_NOREPLACE) < 0) {
		if (errno != EINVAL && errno != ENOSYS && errno != EOPNOTSUPP)
			return -1;
		/* no RENAME_NOREPLACE here: the name is unique, but look first */
		if (faccessat(d->destfd, final, F_OK, AT_SYMLINK_NOFOLLOW) == 0) {
			errno = EEXIST;
			return -1;
		}
		if (renameat(d->tmpfd, tmp, d->destfd, final) < 0)
			return -1;
	}
	buf_reset(&d->tmpname);
	return 0;
}

static void final_name(struct maildir_delivery *d, struct buf *name)
{
	buf_printf(name, ",S=%" PRIu64 ",W=%" PRIu64, d->size, d->vsize);
	buf_append_buf(name, &d->info);
}

static int delivery_link(struct maildir_delivery *d, const struct stat *st, struct buf *name)
{
	struct stat now;
	/* tmp/NAME must still be the file we wrote, not a planted symlink */
	if (fstatat(d->tmpfd, buf_cstr(&d->tmpname), &now, AT_SYMLINK_NOFOLLOW) < 0)
		return -1;
	if (now.st_dev != st->st_dev || now.st_ino != st->st_ino) {
		errno = ESTALE;
		return -1;
	}
	for (int tries = 0;; tries++) {
		buf_reset(name);
		if (tries == 0)
			buf_append_buf(name, &d->tmpname);
		else if (maildir_unique(name) < 0)
			return -1;
		final_name(d, name);
		if (name->len > MDFLAGS_NAME_MAX) {
			errno = ENAMETOOLONG;
			return -1;
		}
		if (delivery_place(d, buf_cstr(name)) == 0)
			break;
		if (errno != EEXIST || tries + 1 == NAME_TRIES)
			return -1;
	}
	struct stat dest;
	if (d->ordered && fstat(d->destfd, &dest) == 0 && dest.st_dev == d->ordered_dev &&
	    fssync_kind(d->destfd) == FSSYNC_JOURNAL)
		return 0;
	if (fsync(d->destfd) < 0) {
		/* not durable: take it back, the sender will retry */
		int saved = errno;
		(void)unlinkat(d->destfd, buf_cstr(name), 0);
		errno = saved;
		return -1;
	}
	return 0;
}

int maildir_deliver_commit(struct maildir_delivery *d, struct buf *name)
{
	struct stat st;
	if (d->fd < 0) {
		errno = EBADF;
		return -1;
	}
	if (d->error)
		errno = d->error;
	if (d->error || delivery_finish_file(d, &st) < 0 || delivery_link(d, &st, name) < 0) {
		int saved = errno;
		buf_reset(name);
		maildir_deliver_abort(d);
		errno = saved;
		return -1;
	}
	delivery_release(d);
	return 0;
}

void maildir_deliver_abort(struct maildir_delivery *d)
{
	int saved = errno;
	if (d->tmpfd >= 0 && d->tmpname.len > 0)
		(void)unlinkat(d->tmpfd, buf_cstr(&d->tmpname), 0);
	delivery_release(d);
	errno = saved;
}

/* ---- creation ---- */

/* Make (or find) directory name in parentfd; return it open. */
static int dir_ensure(int parentfd, const char *name, mode_t mode, int excl, int follow)
{
	int created = mkdirat(parentfd, name, mode) == 0;
	if (!created && (errno != EEXIST || excl))
		return -1;
	int fd = openat(parentfd, name,
			O_RDONLY | O_DIRECTORY | O_CLOEXEC | (follow ? 0 : O_NOFOLLOW));
	if (fd < 0)
		return -1;
	/* the mode asked for, not what the umask left of it */
	if (created && fchmod(fd, mode) < 0) {
		int saved = errno;
		close(fd);
		errno = saved;
		return -1;
	}
	return fd;
}

static int folder_marker(int fd, mode_t mode)
{
	struct stat st;
	int mfd = openat(fd, "maildirfolder",
			 O_WRONLY | O_CREAT | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC,
			 mode & 0666);
	if (mfd < 0)
		return -1;
	int r = fstat(mfd, &st);
	if (r == 0 && !S_ISREG(st.st_mode)) {
		errno = EEXIST;
		r = -1;
	}
	int saved = errno;
	close(mfd);
	errno = saved;
	return r;
}

static int maildir_populate(int fd, mode_t mode, int flags)
{
	static const char *const subs[] = { "tmp", "new", "cur" };
	for (size_t i = 0; i < sizeof subs / sizeof subs[0]; i++) {
		int sfd = dir_ensure(fd, subs[i], mode, 0, 0);
		if (sfd < 0)
			return -1;
		int r = fsync(sfd);
		close(sfd);
		if (r < 0)
			return -1;
	}
	if ((flags & MAILDIR_CREATE_FOLDER) && folder_marker(fd, mode) < 0)
		return -1;
	return fsync(fd);
}

static int create_common(int parentfd, const char *name, mode_t mode, int flags, int follow)
{
	int fd = dir_ensure(parentfd, name, mode, flags & MAILDIR_CREATE_EXCL, follow);
	if (fd < 0)
		return -1;
	int r = maildir_populate(fd, mode, flags);
	int saved = errno;
	close(fd);
	errno = saved;
	return r;
}

int maildir_create(const char *path, mode_t mode, int flags)
{
	if (create_common(AT_FDCWD, path, mode, flags, 1) < 0)
		return -1;
	return file_fsync_parent(path);
}

int maildir_create_at(int parentfd, const char *name, mode_t mode, int flags)
{
	if (name[0] == '\0' || strchr(name, '/')) {
		errno = EINVAL;
		return -1;
	}
	if (create_common(parentfd, name, mode, flags, 0) < 0)
		return -1;
	return fsync(parentfd);
}

/* ---- quota ---- */

static int quota_fail(const char **err, const char *why)
{
	if (err)
		*err = why;
	errno = EINVAL;
	return -1;
}

static int quota_part(const char **pp, struct maildir_quota *q, const char **err)
{
	const char *p = *pp;
	uint64_t v = 0;
	size_t n = 0;
	for (; p[n] >= '0' && p[n] <= '9'; n++) {
		if (n == 19)
			return quota_fail(err, "quota number too large");
		v = v * 10 + (uint64_t)(p[n] - '0'); /* 19 digits fit in 64 bits */
	}
	if (n == 0)
		return quota_fail(err, "quota part must start with a number");
	if (p[n] == 'S' && !q->has_bytes) {
		q->bytes = v;
		q->has_bytes = 1;
	} else if (p[n] == 'C' && !q->has_count) {
		q->count = v;
		q->has_count = 1;
	} else if (p[n] == 'S' || p[n] == 'C') {
		return quota_fail(err, "quota part given twice");
	} else {
		return quota_fail(err, "quota number must be followed by S or C");
	}
	*pp = p + n + 1;
	return 0;
}

int maildir_quota_parse(const char *spec, struct maildir_quota *q, const char **err)
{
	memset(q, 0, sizeof *q);
	size_t len = strnlen(spec, MAILDIR_QUOTA_MAX + 1);
	if (len == 0)
		return quota_fail(err, "empty quota");
	if (len > MAILDIR_QUOTA_MAX)
		return quota_fail(err, "quota too long");
	const char *p = spec;
	for (;;) {
		if (quota_part(&p, q, err) < 0) {
			memset(q, 0, sizeof *q);
			return -1;
		}
		if (*p == '\0')
			return 0;
		if (*p != ',') {
			memset(q, 0, sizeof *q);
			return quota_fail(err, "quota parts must be joined by ','");
		}
		p++;
	}
}

void maildir_quota_format(const struct maildir_quota *q, struct buf *out)
{
	if (q->has_bytes)
		buf_printf(out, "%" PRIu64 "S", q->bytes);
	if (q->has_bytes && q->has_count)
		buf_append_char(out, ',');
	if (q->has_count)
		buf_printf(out, "%" PRIu64 "C", q->count);
}

int maildir_quota_write(const char *maildir, const struct maildir_quota *q)
{
	struct buf path = BUF_INIT, line = BUF_INIT;
	buf_printf(&path, "%s/maildirsize", maildir);
	maildir_quota_format(q, &line);
	buf_append_char(&line, '\n');
	int r = file_replace(buf_cstr(&path), line.data, line.len, 0600);
	int saved = errno;
	buf_free(&path);
	buf_free(&line);
	errno = saved;
	return r;
}
