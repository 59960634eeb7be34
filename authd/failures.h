/* failures: per-user and per-IP counters of failed logins, shared by all of
 * authd's connection processes (an anonymous shared mapping made before the
 * first fork, guarded by a process-shared mutex).
 *
 * A fixed table (FAILURES_SLOTS entries): a key is hashed with a random seed
 * chosen at start, so nobody can aim collisions at a victim's slot; when the
 * table is full the oldest entry is forgotten. Keys are counted within a
 * window: the count restarts when the first failure is older than the window. */
#ifndef ESTAFETTE_AUTHD_FAILURES_H
#define ESTAFETTE_AUTHD_FAILURES_H

#include <stddef.h>

#define FAILURES_SLOTS 8192

struct buf;

/* Call once before forking. 0, or -1 with err. */
int failures_init(struct buf *err);

/* 1 if kind:key has failed at least limit times within window seconds. */
int failures_over(const char *kind, const char *key, size_t len, unsigned limit,
		  unsigned window);
void failures_add(const char *kind, const char *key, size_t len, unsigned window);
void failures_clear(const char *kind, const char *key, size_t len);

#endif
