#include "buf.h"
#include "log.h"
#include "unit.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

/* Run fn with stderr sent to a file, and return what was written. */
static void capture(void (*fn)(void), struct buf *out)
{
	char path[4200];
	snprintf(path, sizeof path, "%s/err", unit_tmpdir());
	int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	CHECK(fd >= 0);
	int saved = dup(2);
	dup2(fd, 2);
	fn();
	dup2(saved, 2);
	close(saved);
	lseek(fd, 0, SEEK_SET);
	char tmp[8192];
	ssize_t n;
	while ((n = read(fd, tmp, sizeof tmp)) > 0)
		buf_append(out, tmp, (size_t)n);
	close(fd);
}

static void log_hostile(void)
{
	log_init("smtpd");
	log_info("from=<%s> size=%d", "evil\r\nfake: line\x01\\", 5);
}

TEST(log_escapes_control_characters)
{
	setenv("ESTAFETTE_LOG", "stderr", 1);
	struct buf out = BUF_INIT;
	capture(log_hostile, &out);
	const char *s = buf_cstr(&out);
	CHECK(strstr(s, " smtpd[") != NULL);
	CHECK(strstr(s, "]: info: from=<evil\\x0d\\x0afake: line\\x01\\x5c> size=5\n") != NULL);
	/* exactly one line */
	CHECK(strchr(s, '\n') == s + out.len - 1);
	buf_free(&out);
}

static void log_long(void)
{
	log_init("t");
	struct buf big = BUF_INIT;
	for (int i = 0; i < 5000; i++)
		buf_append_char(&big, 'x');
	log_warn("%s", buf_cstr(&big));
	buf_free(&big);
}

TEST(log_caps_line_length)
{
	setenv("ESTAFETTE_LOG", "stderr", 1);
	struct buf out = BUF_INIT;
	capture(log_long, &out);
	CHECK(out.len < LOG_MAX_LINE + 100);
	CHECK(strstr(buf_cstr(&out), "xxx...\n") != NULL);
	buf_free(&out);
}

static void log_debug_off_on(void)
{
	log_init("t");
	log_debug("hidden");
	log_set_debug(1);
	log_debug("shown");
}

TEST(log_debug_only_when_enabled)
{
	setenv("ESTAFETTE_LOG", "stderr", 1);
	unsetenv("ESTAFETTE_DEBUG");
	struct buf out = BUF_INIT;
	capture(log_debug_off_on, &out);
	CHECK(strstr(buf_cstr(&out), "hidden") == NULL);
	CHECK(strstr(buf_cstr(&out), "debug: shown") != NULL);
	buf_free(&out);
}

TEST(log_escape_is_reusable)
{
	struct buf out = BUF_INIT;
	log_escape(&out, "a\0\xff", 3);
	CHECK_BUF(out, "a\\x00\\xff");
	buf_free(&out);
}
