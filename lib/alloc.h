/* alloc: the suite's one out-of-memory policy.
 *
 * Every allocation goes through these wrappers. When memory runs out the process
 * logs one line and exits with EX_TEMPFAIL (75): whatever it was doing (a message,
 * a session) is then retried by its caller, never half-done and never lost.
 * Sizes are size_t and every multiplication is checked. */
#ifndef ESTAFETTE_ALLOC_H
#define ESTAFETTE_ALLOC_H

#include <stddef.h>

void *xmalloc(size_t size);
void *xcalloc(size_t count, size_t size);
void *xrealloc(void *ptr, size_t size);
void *xreallocarray(void *ptr, size_t count, size_t size);
char *xstrdup(const char *s);
char *xmemdup(const void *p, size_t len); /* adds a NUL after len bytes */

/* Checked size arithmetic: return 0 and store the result, or -1 on overflow. */
int size_add(size_t a, size_t b, size_t *out);
int size_mul(size_t a, size_t b, size_t *out);

_Noreturn void die_nomem(void);

#endif
