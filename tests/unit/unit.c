/* unit: register, fork and run every TEST of one test program. */
#include "unit.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define UNIT_MAX_TESTS 1024

static struct {
	const char *name;
	unit_fn fn;
} tests[UNIT_MAX_TESTS];
static size_t ntests;
static char tmpdir[4096];

void unit_register(const char *name, unit_fn fn)
{
	if (ntests == UNIT_MAX_TESTS) {
		fprintf(stderr, "unit: too many tests\n");
		exit(2);
	}
	tests[ntests].name = name;
	tests[ntests].fn = fn;
	ntests++;
}

_Noreturn void unit_fail(const char *file, int line, const char *fmt, ...)
{
	va_list ap;
	fprintf(stderr, "  %s:%d: ", file, line);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	fflush(stderr);
	_exit(1);
}

static void print_escaped(const void *p, size_t len)
{
	const unsigned char *s = p;
	size_t shown = len > 200 ? 200 : len;
	fputc('"', stderr);
	for (size_t i = 0; i < shown; i++) {
		if (isprint(s[i]) && s[i] != '"' && s[i] != '\\')
			fputc(s[i], stderr);
		else
			fprintf(stderr, "\\x%02x", s[i]);
	}
	fputc('"', stderr);
	if (shown < len)
		fprintf(stderr, "... (%zu bytes)", len);
}

void unit_check_mem(const char *file, int line, const char *what,
		    const void *got, size_t got_len, const void *want, size_t want_len)
{
	if (got_len == want_len && (want_len == 0 || memcmp(got, want, want_len) == 0))
		return;
	fprintf(stderr, "  %s:%d: %s is ", file, line, what);
	if (got == NULL)
		fputs("NULL", stderr);
	else
		print_escaped(got, got_len);
	fputs(", want ", stderr);
	print_escaped(want, want_len);
	fputc('\n', stderr);
	fflush(stderr);
	_exit(1);
}

const char *unit_tmpdir(void)
{
	return tmpdir;
}

static int run_one(size_t i)
{
	const char *base = getenv("TMPDIR");
	snprintf(tmpdir, sizeof tmpdir, "%s/unit.XXXXXX", base && *base ? base : "/tmp");
	if (mkdtemp(tmpdir) == NULL) {
		perror("unit: mkdtemp");
		return 0;
	}
	fflush(NULL);
	pid_t pid = fork();
	if (pid < 0) {
		perror("unit: fork");
		return 0;
	}
	if (pid == 0) {
		alarm(60); /* a hung test fails instead of hanging the suite */
		tests[i].fn();
		exit(0); /* not _exit: LeakSanitizer checks at exit */
	}
	int status;
	while (waitpid(pid, &status, 0) < 0)
		;
	pid_t rm = fork();
	if (rm == 0) {
		execlp("rm", "rm", "-rf", tmpdir, (char *)NULL);
		_exit(127);
	}
	if (rm > 0)
		waitpid(rm, NULL, 0);
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		return 1;
	if (WIFSIGNALED(status))
		fprintf(stderr, "  killed by signal %d\n", WTERMSIG(status));
	return 0;
}

int main(int argc, char **argv)
{
	const char *prog = strrchr(argv[0], '/') ? strrchr(argv[0], '/') + 1 : argv[0];
	const char *only = argc > 1 ? argv[1] : NULL;
	size_t passed = 0, failed = 0;

	for (size_t i = 0; i < ntests; i++) {
		if (only && strcmp(only, tests[i].name) != 0)
			continue;
		if (run_one(i)) {
			passed++;
		} else {
			failed++;
			fprintf(stderr, "FAIL %s: %s\n", prog, tests[i].name);
		}
	}
	printf("%s: %zu passed, %zu failed\n", prog, passed, failed);
	return failed ? 1 : 0;
}
