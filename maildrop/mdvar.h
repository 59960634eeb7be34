/* mdvar: maildrop's variables, a hash table of names to byte strings.
 *
 * Names and values are arbitrary bytes (values may hold NULs); the number of
 * variables and the total size of their values are bounded so that a filter
 * cannot grow them without limit. */
#ifndef ESTAFETTE_MDVAR_H
#define ESTAFETTE_MDVAR_H

#include "buf.h"

#include <stddef.h>

#define MD_MAX_VARS       10000
#define MD_MAX_VAR_BYTES  (64 * 1024 * 1024) /* all values together */

struct md_var {
	struct md_var *next;
	struct buf name, value;
};

struct md_vars {
	struct md_var **slots;
	size_t nslots, count, bytes;
};

void md_vars_init(struct md_vars *v);
void md_vars_free(struct md_vars *v);
/* The value, or NULL when unset. */
const struct buf *md_vars_get(const struct md_vars *v, const char *name, size_t len);
const char *md_vars_get_str(const struct md_vars *v, const char *name); /* "" when unset */
/* 0, or -1 when a limit would be passed (nothing changed). */
int md_vars_set(struct md_vars *v, const char *name, size_t nlen, const void *val, size_t vlen);
int md_vars_set_str(struct md_vars *v, const char *name, const char *val);
/* Append "NAME=VALUE" strings (NULL-terminated array, caller frees each and the
 * array) for execve; names with '=' or values with NUL are left out. */
char **md_vars_environ(const struct md_vars *v);
void md_environ_free(char **env);

#endif
