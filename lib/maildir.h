/* maildir: unique names, safe delivery into a Maildir, creating Maildirs, and
 * the Maildir++ quota line.
 *
 * Delivery follows cr.yp.to/proto/maildir.html: write tmp/NAME, fsync, link it
 * to new/NAME,S=<size>,W=<size> (or cur/...:2,FLAGS), unlink tmp/NAME, fsync
 * the directory. A file appears in new/ or cur/ complete or not at all.
 * Trusts: the maildir path the caller gives (it may be a symlink, as ~/Maildir
 * often is). Trusts nothing below it: tmp/, new/, cur/ and the files in them
 * are opened relative to directory descriptors without following symlinks.
 * All functions return 0, or -1 with errno set; none of them logs. */
#ifndef ESTAFETTE_MAILDIR_H
#define ESTAFETTE_MAILDIR_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#include "buf.h"

/* Append a fresh unique base name to out:
 *   <seconds>.M<usec>P<pid>[Q<n>]R<16 hex digits from getrandom()>.<host>
 * Q<n> counts the names this process made before (absent on its first).
 * In the host name '/' ':' ',' '\' and bytes outside printable ASCII are
 * written as \ooo (\057 for '/', \072 for ':'); it is cut at 64 bytes. */
int maildir_unique(struct buf *out);
/* The same at a given time (a caller that has a time stamp already; tests). */
int maildir_unique_at(struct buf *out, time_t sec, long usec);

/* Create name in dirfd exclusively, with mode (less the umask), for writing:
 * an existing file or a symlink there fails with EEXIST, never followed. */
int maildir_create_file(int dirfd, const char *name, mode_t mode);

/* One delivery in progress. Fill it with maildir_deliver_begin*, write with
 * maildir_deliver_write/buf/copy only (they keep the sizes), then either
 * commit or abort. Both release everything, and abort after commit is a no-op. */
struct maildir_delivery {
	int dirfd;          /* the maildir */
	int tmpfd;          /* its tmp/ */
	int destfd;         /* its new/ or cur/ */
	int fd;             /* the message in tmp/; -1 when none */
	struct buf tmpname; /* the message's name in tmp/ */
	struct buf info;    /* ":2,FLAGS" for cur/, else empty */
	uint64_t size;      /* bytes written */
	uint64_t vsize;     /* bytes with each bare LF counted as CRLF */
	int last_cr;        /* the last byte written was a CR */
	int error;          /* errno of a failed write; commit then fails */
	int set_mtime;
	time_t mtime;
	int ordered;        /* see maildir_deliver_ordered_with */
	dev_t ordered_dev;
};

/* Start a delivery to maildir/new/. */
int maildir_deliver_begin(struct maildir_delivery *d, const char *maildir);
/* Start a delivery to maildir/cur/ with flags (bytes as after ":2,"; checked
 * by mdflags_parse, EINVAL if bad): IMAP APPEND. */
int maildir_deliver_begin_cur(struct maildir_delivery *d, const char *maildir,
			      const char *flags);

int maildir_deliver_write(struct maildir_delivery *d, const void *data, size_t len);
int maildir_deliver_buf(struct maildir_delivery *d, const struct buf *b);
/* Copy from fd to its end; EFBIG (and nothing more written) past max bytes. */
int maildir_deliver_copy(struct maildir_delivery *d, int fd, uint64_t max);
/* Give the file this modification time on commit (IMAP INTERNALDATE). */
void maildir_deliver_set_mtime(struct maildir_delivery *d, time_t mtime);

/* The caller acknowledges the delivery only by a later change on file system
 * dev (courierd's queue): when the maildir lives there too and that file
 * system has an ordered journal (lib/fssync: ext4 with a journal, XFS), the
 * journal already orders that change after this one, and the fsync of new/
 * (or cur/) is skipped. The message file itself is always fsync'd. */
void maildir_deliver_ordered_with(struct maildir_delivery *d, dev_t dev);

/* Make the message durable and visible. name receives its file name within
 * new/ (or cur/). On failure nothing is left in new/ or cur/ nor in tmp/. */
int maildir_deliver_commit(struct maildir_delivery *d, struct buf *name);
void maildir_deliver_abort(struct maildir_delivery *d);

/* Flags for maildir_create and maildir_create_at. */
#define MAILDIR_CREATE_EXCL   1 /* fail with EEXIST if the maildir exists */
#define MAILDIR_CREATE_FOLDER 2 /* a Maildir++ folder: write "maildirfolder" */

/* Make path a Maildir (path, path/tmp, path/new, path/cur). Directories it
 * creates get exactly mode (not masked); existing ones are kept as they are
 * but must be real directories. The parent of path must exist. */
int maildir_create(const char *path, mode_t mode, int flags);
/* The same for name, one path component, in the directory parentfd; name
 * itself is not followed if it is a symlink. */
int maildir_create_at(int parentfd, const char *name, mode_t mode, int flags);

/* A Maildir++ quota: "<n>S" (bytes), "<n>C" (messages), or both joined by ','. */
struct maildir_quota {
	uint64_t bytes, count;
	int has_bytes, has_count;
};

#define MAILDIR_QUOTA_MAX 64 /* longest quota text accepted */

/* Parse spec strictly: each part once, digits only (at most 19), no spaces.
 * -1 with errno EINVAL and *err (if err) saying why. */
int maildir_quota_parse(const char *spec, struct maildir_quota *q, const char **err);
/* Append the canonical form, bytes first: "10000000S,1000C". */
void maildir_quota_format(const struct maildir_quota *q, struct buf *out);
/* Replace maildir/maildirsize atomically with the quota line alone; delivery
 * agents append the usage lines (Maildir++). */
int maildir_quota_write(const char *maildir, const struct maildir_quota *q);

#endif
