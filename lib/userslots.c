/* userslots: flock'd slot files bounding an account's sessions (userslots.h). */
#include "userslots.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

int userslots_take(const char *maildir, const char *service, unsigned max, struct buf *err)
{
	struct buf p = BUF_INIT;
	int fd = -1, opened = 0;
	if (max > USERSLOTS_MAX)
		max = USERSLOTS_MAX;
	buf_printf(&p, "%s/estafette-sessions", maildir);
	if (mkdir(buf_cstr(&p), 0700) < 0 && errno != EEXIST) {
		buf_error(err, "%s: %s", buf_cstr(&p), strerror(errno));
		buf_free(&p);
		return -1;
	}
	size_t dirlen = p.len;
	for (unsigned i = 0; i < max && fd < 0; i++) {
		p.len = dirlen;
		buf_printf(&p, "/%s.%u", service, i);
		int f = open(buf_cstr(&p), O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK, 0600);
		if (f < 0)
			continue;
		opened++;
		if (flock(f, LOCK_EX | LOCK_NB) == 0)
			fd = f;
		else
			close(f);
	}
	if (fd < 0 && opened == 0 && max > 0) {
		buf_error(err, "%s: no slot file can be opened", buf_cstr(&p));
		fd = -1;
	} else if (fd < 0) {
		fd = USERSLOTS_FULL;
	}
	buf_free(&p);
	return fd;
}
