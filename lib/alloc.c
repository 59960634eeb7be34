/* alloc: allocation wrappers that exit with EX_TEMPFAIL when memory runs out. */
#include "alloc.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

_Noreturn void die_nomem(void)
{
	/* No allocation, no stdio: just one line and out. */
	static const char msg[] = "fatal: out of memory\n";
	ssize_t r = write(2, msg, sizeof msg - 1);
	(void)r;
	_exit(EX_TEMPFAIL);
}

int size_add(size_t a, size_t b, size_t *out)
{
	if (a > SIZE_MAX - b)
		return -1;
	*out = a + b;
	return 0;
}

int size_mul(size_t a, size_t b, size_t *out)
{
	if (b != 0 && a > SIZE_MAX / b)
		return -1;
	*out = a * b;
	return 0;
}

void *xmalloc(size_t size)
{
	void *p = malloc(size ? size : 1);
	if (p == NULL)
		die_nomem();
	return p;
}

void *xcalloc(size_t count, size_t size)
{
	void *p = calloc(count ? count : 1, size ? size : 1);
	if (p == NULL)
		die_nomem();
	return p;
}

void *xrealloc(void *ptr, size_t size)
{
	void *p = realloc(ptr, size ? size : 1);
	if (p == NULL)
		die_nomem();
	return p;
}

void *xreallocarray(void *ptr, size_t count, size_t size)
{
	size_t total;
	if (size_mul(count, size, &total) < 0)
		die_nomem();
	return xrealloc(ptr, total);
}

char *xmemdup(const void *p, size_t len)
{
	size_t total;
	if (size_add(len, 1, &total) < 0)
		die_nomem();
	char *s = xmalloc(total);
	if (len)
		memcpy(s, p, len);
	s[len] = '\0';
	return s;
}

char *xstrdup(const char *s)
{
	return xmemdup(s, strlen(s));
}
