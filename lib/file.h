/* file: small, checked file-system operations used by every durable write.
 *
 * All functions return 0 on success and -1 with errno set on failure; none of
 * them logs. Short writes and EINTR are handled inside. */
#ifndef ESTAFETTE_FILE_H
#define ESTAFETTE_FILE_H

#include <stddef.h>
#include <sys/types.h>

struct buf;

int file_write_all(int fd, const void *data, size_t len);

/* Read the whole file at path into out (replacing its contents); fails with
 * EFBIG if it is larger than max bytes. */
int file_read(const char *path, struct buf *out, size_t max);
int file_read_fd(int fd, struct buf *out, size_t max);

/* fsync the directory holding path (or the directory itself with fsync_dir). */
int file_fsync_dir(const char *dir);
int file_fsync_parent(const char *path);

/* Replace path atomically with data: write path.tmp.<pid>, fsync, rename over
 * path, fsync the directory. Readers see the old or the new file, never a part. */
int file_replace(const char *path, const void *data, size_t len, mode_t mode);

/* mkdir -p with mode for every directory created; existing ones are left alone. */
int file_mkdirs(const char *path, mode_t mode);

#endif
