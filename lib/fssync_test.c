/* Tests for fssync: this machine's own file systems are told apart by what
 * the kernel says of them, and anything unknown gets the safe answer. */
#include "fssync.h"
#include "unit.h"

#include <dirent.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/sysmacros.h>
#include <unistd.h>

TEST(bad_descriptor_is_plain)
{
	CHECK_INT(fssync_kind(-1), FSSYNC_PLAIN);
}

TEST(tmpfs_is_plain)
{
	int fd = open("/dev/shm", O_RDONLY | O_DIRECTORY);
	if (fd < 0)
		return; /* no /dev/shm here */
	CHECK_INT(fssync_kind(fd), FSSYNC_PLAIN);
	close(fd);
}

/* The test directory's file system: ext4 counts as journaled exactly when
 * jbd2 lists a journal for it (a mount without one must not skip fsyncs). */
TEST(ext4_needs_its_journal)
{
	int fd = open(unit_tmpdir(), O_RDONLY | O_DIRECTORY);
	struct statfs sf;
	struct stat st;
	CHECK(fd >= 0 && fstatfs(fd, &sf) == 0 && fstat(fd, &st) == 0);
	if (sf.f_type == 0xEF53) {
		int journaled = 0;
		DIR *d = opendir("/proc/fs/jbd2");
		for (struct dirent *e; d && (e = readdir(d)) != NULL;)
			journaled |= e->d_name[0] != '.';
		if (d)
			closedir(d);
		if (!journaled)
			CHECK_INT(fssync_kind(fd), FSSYNC_PLAIN);
		CHECK_INT(fssync_kind(fd) == FSSYNC_JOURNAL, fssync_ext4_journaled(st.st_dev));
	}
	close(fd);
}

TEST(unknown_device_has_no_journal)
{
	CHECK_INT(fssync_ext4_journaled(makedev(4095, 4095)), 0);
}
