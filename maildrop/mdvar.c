/* mdvar: maildrop's variables; see mdvar.h. Chained hash table (FNV-1a),
 * doubled when the load passes 1, so lookups stay constant time. */
#include "mdvar.h"

#include "alloc.h"

#include <stdlib.h>
#include <string.h>

void md_vars_init(struct md_vars *v)
{
	memset(v, 0, sizeof *v);
	v->nslots = 64;
	v->slots = xcalloc(v->nslots, sizeof *v->slots);
}

void md_vars_free(struct md_vars *v)
{
	for (size_t i = 0; i < v->nslots; i++) {
		for (struct md_var *e = v->slots[i], *n; e; e = n) {
			n = e->next;
			buf_free(&e->name);
			buf_free(&e->value);
			free(e);
		}
	}
	free(v->slots);
	memset(v, 0, sizeof *v);
}

static size_t hash(const char *s, size_t len)
{
	uint64_t h = 1469598103934665603ULL;
	for (size_t i = 0; i < len; i++) {
		h ^= (unsigned char)s[i];
		h *= 1099511628211ULL;
	}
	return (size_t)h;
}

static struct md_var *find(const struct md_vars *v, const char *name, size_t len)
{
	for (struct md_var *e = v->slots[hash(name, len) % v->nslots]; e; e = e->next)
		if (e->name.len == len && !memcmp(e->name.data, name, len))
			return e;
	return NULL;
}

const struct buf *md_vars_get(const struct md_vars *v, const char *name, size_t len)
{
	struct md_var *e = find(v, name, len);
	return e ? &e->value : NULL;
}

const char *md_vars_get_str(const struct md_vars *v, const char *name)
{
	struct md_var *e = find(v, name, strlen(name));
	return e ? buf_cstr(&e->value) : "";
}

static void grow(struct md_vars *v)
{
	size_t n = v->nslots * 2;
	struct md_var **slots = xcalloc(n, sizeof *slots);
	for (size_t i = 0; i < v->nslots; i++) {
		for (struct md_var *e = v->slots[i], *next; e; e = next) {
			next = e->next;
			size_t h = hash(e->name.data, e->name.len) % n;
			e->next = slots[h];
			slots[h] = e;
		}
	}
	free(v->slots);
	v->slots = slots;
	v->nslots = n;
}

int md_vars_set(struct md_vars *v, const char *name, size_t nlen, const void *val, size_t vlen)
{
	struct md_var *e = find(v, name, nlen);
	size_t old = e ? e->value.len : 0;
	if (vlen > MD_MAX_VAR_BYTES || v->bytes - old + vlen > MD_MAX_VAR_BYTES)
		return -1;
	if (!e) {
		if (v->count >= MD_MAX_VARS)
			return -1;
		if (v->count >= v->nslots)
			grow(v);
		e = xcalloc(1, sizeof *e);
		buf_set(&e->name, name, nlen);
		size_t h = hash(name, nlen) % v->nslots;
		e->next = v->slots[h];
		v->slots[h] = e;
		v->count++;
	}
	v->bytes = v->bytes - old + vlen;
	buf_set(&e->value, val, vlen);
	return 0;
}

int md_vars_set_str(struct md_vars *v, const char *name, const char *val)
{
	return md_vars_set(v, name, strlen(name), val, strlen(val));
}

char **md_vars_environ(const struct md_vars *v)
{
	char **env = xcalloc(v->count + 1, sizeof *env);
	size_t n = 0;
	for (size_t i = 0; i < v->nslots; i++) {
		for (struct md_var *e = v->slots[i]; e; e = e->next) {
			if (!e->name.len || memchr(e->name.data, '=', e->name.len) ||
			    buf_has_nul(&e->name) || buf_has_nul(&e->value))
				continue;
			struct buf s = BUF_INIT;
			buf_append_buf(&s, &e->name);
			buf_append_char(&s, '=');
			buf_append_buf(&s, &e->value);
			env[n++] = buf_detach(&s);
		}
	}
	return env;
}

void md_environ_free(char **env)
{
	if (!env)
		return;
	for (char **p = env; *p; p++)
		free(*p);
	free(env);
}
