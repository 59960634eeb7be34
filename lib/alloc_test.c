#include "alloc.h"
#include "unit.h"

#include <stdint.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

TEST(alloc_checked_arithmetic)
{
	size_t r = 0;
	CHECK_INT(size_add(1, 2, &r), 0);
	CHECK_INT(r, 3);
	CHECK_INT(size_add(SIZE_MAX, 1, &r), -1);
	CHECK_INT(size_add(SIZE_MAX - 1, 1, &r), 0);
	CHECK(r == SIZE_MAX);
	CHECK_INT(size_mul(0, SIZE_MAX, &r), 0);
	CHECK_INT(r, 0);
	CHECK_INT(size_mul(SIZE_MAX / 2 + 1, 2, &r), -1);
	CHECK_INT(size_mul(1u << 20, 1u << 20, &r), 0);
	CHECK(r == (size_t)1 << 40);
}

TEST(alloc_memdup_terminates)
{
	char *s = xmemdup("a\0b", 3);
	CHECK(s[0] == 'a' && s[1] == '\0' && s[2] == 'b' && s[3] == '\0');
	free(s);
	s = xstrdup("");
	CHECK_STR(s, "");
	free(s);
	void *p = xmalloc(0); /* a valid, freeable pointer, never NULL */
	CHECK(p != NULL);
	free(p);
}

TEST(alloc_overflow_exits_tempfail)
{
	/* an impossible allocation ends the process with EX_TEMPFAIL, not a crash */
	pid_t pid = fork();
	CHECK(pid >= 0);
	if (pid == 0) {
		void *p = xreallocarray(NULL, SIZE_MAX / 2, 4);
		(void)p;
		_exit(0);
	}
	int status;
	CHECK(waitpid(pid, &status, 0) == pid);
	CHECK(WIFEXITED(status));
	CHECK_INT(WEXITSTATUS(status), 75);
}
