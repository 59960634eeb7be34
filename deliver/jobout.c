/* jobout: a delivery run's output and exit status as courierd's answer. */
#include "jobout.h"

#include <errno.h>
#include <sys/wait.h>
#include <sysexits.h>
#include <unistd.h>

const char *jobout_code(int st)
{
	if (WIFEXITED(st)) {
		int c = WEXITSTATUS(st);
		if (c == 0)
			return "250";
		if (c == EX_TEMPFAIL || c == 111)
			return "451";
		return "550";
	}
	return "451";
}

void jobout_read(int fd, struct buf *out)
{
	char tmp[512];
	ssize_t n;
	while ((n = read(fd, tmp, sizeof tmp)) != 0) {
		if (n < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (out->len < JOBOUT_MAX)
			buf_append(out, tmp, (size_t)n < JOBOUT_MAX - out->len ? (size_t)n
									 : JOBOUT_MAX - out->len);
	}
	while (out->len && (out->data[out->len - 1] == '\n' || out->data[out->len - 1] == '\r'))
		buf_truncate(out, out->len - 1);
	for (size_t i = 0; i < out->len; i++)
		if (out->data[i] == '\n')
			out->data[i] = ' ';
}
