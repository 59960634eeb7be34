/* fssync: what an fsync makes durable on the file system of a descriptor.
 *
 * The queue and the Maildir writers skip directory fsyncs where the file
 * system's journal already orders a rename before anything written after it
 * (docs/QUEUE.md). That holds for ext4 with a journal and for XFS, not for
 * ext4 mounted without one (seen on this project's own test machines), ext2
 * or unknown file systems, where a renamed file's name reaches the disk only
 * with an fsync of its directory. btrfs logs a file's new names with the
 * file at fsync. When in doubt the answer is FSSYNC_PLAIN: the safe one. */
#ifndef ESTAFETTE_FSSYNC_H
#define ESTAFETTE_FSSYNC_H

#include <sys/types.h>

enum fssync_kind {
	FSSYNC_PLAIN,     /* fsync the file and the directory of each new name */
	FSSYNC_INODE_LOG, /* an fsync'd file's names are durable with it (btrfs) */
	FSSYNC_JOURNAL,   /* one ordered journal: a commit covers earlier renames */
};

/* The kind for fd's file system (remembered per device). */
enum fssync_kind fssync_kind(int fd);

/* Whether the ext4 file system on dev has a journal (jbd2 lists it under
 * /proc/fs/jbd2); 0 when that cannot be told. For the tests. */
int fssync_ext4_journaled(dev_t dev);

#endif
