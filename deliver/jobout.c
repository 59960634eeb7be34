/* jobout: a delivery run's output and exit status as courierd's answer. */
#include "jobout.h"
#include "config.h"
#include "log.h"

#include <errno.h>
#include <poll.h>
#include <sys/wait.h>
#include <time.h>
#include <sysexits.h>
#include <unistd.h>

int jobout_timeout(void)
{
	static int cached;
	static const char *const known[] = { "timeout", NULL };
	if (cached)
		return cached;
	struct config_env env = CONFIG_ENV_INIT;
	struct buf err = BUF_INIT;
	uint64_t t = 1000;
	if (config_read_env("deliver.conf", &env, &err) < 0 ||
	    config_env_check(&env, known, &err) < 0 ||
	    config_env_u64(&env, "timeout", 1000, 1, 86400, CONFIG_UNIT_DURATION, &t, &err) < 0) {
		log_error("deliver.conf: %s (using timeout = 1000s)", buf_cstr(&err));
		t = 1000;
	}
	config_env_free(&env);
	buf_free(&err);
	cached = (int)t;
	return cached;
}

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

int jobout_read(int fd, struct buf *out, int timeout_s)
{
	char tmp[512];
	ssize_t n;
	struct timespec now, end;
	clock_gettime(CLOCK_MONOTONIC, &end);
	end.tv_sec += timeout_s;
	int rc = 0;
	for (;;) {
		clock_gettime(CLOCK_MONOTONIC, &now);
		long ms = (long)(end.tv_sec - now.tv_sec) * 1000 + (end.tv_nsec - now.tv_nsec) / 1000000;
		struct pollfd p = { fd, POLLIN, 0 };
		int r = ms > 0 ? poll(&p, 1, (int)ms) : 0;
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			rc = r == 0 ? -1 : 0;
			break;
		}
		n = read(fd, tmp, sizeof tmp);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		if (out->len < JOBOUT_MAX)
			buf_append(out, tmp, (size_t)n < JOBOUT_MAX - out->len ? (size_t)n
									 : JOBOUT_MAX - out->len);
	}
	while (out->len && (out->data[out->len - 1] == '\n' || out->data[out->len - 1] == '\r'))
		buf_truncate(out, out->len - 1);
	for (size_t i = 0; i < out->len; i++)
		if (out->data[i] == '\n')
			out->data[i] = ' ';
	return rc;
}
