/* fssync: the file system's durability model for a descriptor (fssync.h).
 * Trusts /sys and /proc as the kernel's own description of its devices. */
#include "fssync.h"

#include <dirent.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#define EXT4_MAGIC 0xEF53
#define XFS_MAGIC 0x58465342
#define BTRFS_MAGIC 0x9123683E

int fssync_ext4_journaled(dev_t dev)
{
	char link[64], target[PATH_MAX];
	snprintf(link, sizeof link, "/sys/dev/block/%u:%u", major(dev), minor(dev));
	ssize_t n = readlink(link, target, sizeof target - 1);
	if (n <= 0)
		return 0;
	target[n] = '\0';
	const char *name = strrchr(target, '/');
	name = name ? name + 1 : target;
	size_t len = strlen(name);
	DIR *d = opendir("/proc/fs/jbd2"); /* entries "<device>-<journal inode>" */
	if (d == NULL)
		return 0;
	int found = 0;
	for (struct dirent *e; !found && (e = readdir(d)) != NULL;)
		found = strncmp(e->d_name, name, len) == 0 && e->d_name[len] == '-';
	closedir(d);
	return found;
}

enum fssync_kind fssync_kind(int fd)
{
	static dev_t last_dev;
	static enum fssync_kind last_kind;
	static int have_last;
	struct stat st;
	struct statfs sf;
	if (fstat(fd, &st) < 0 || fstatfs(fd, &sf) < 0)
		return FSSYNC_PLAIN;
	if (have_last && st.st_dev == last_dev)
		return last_kind;
	enum fssync_kind k = FSSYNC_PLAIN;
	if (sf.f_type == XFS_MAGIC)
		k = FSSYNC_JOURNAL;
	else if (sf.f_type == EXT4_MAGIC && fssync_ext4_journaled(st.st_dev))
		k = FSSYNC_JOURNAL;
	else if ((unsigned long)sf.f_type == (unsigned long)BTRFS_MAGIC)
		k = FSSYNC_INODE_LOG;
	last_dev = st.st_dev;
	last_kind = k;
	have_last = 1;
	return k;
}
