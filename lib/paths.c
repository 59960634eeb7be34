/* paths: the instance root and the directories derived from it. */
#include "paths.h"
#include "alloc.h"
#include "buf.h"

#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>

#ifndef ESTAFETTE_PREFIX
#define ESTAFETTE_PREFIX "/usr/local"
#endif

enum { P_CONFIG, P_QUEUE, P_STATE, P_RUN, P_LIBEXEC, P_COUNT };
static const char *const suffix[P_COUNT] = {
	"etc/estafette", "var/spool/estafette", "var/lib/estafette",
	"var/run/estafette", "libexec/estafette",
};

static char *root;
static char *derived[P_COUNT];

static void forget_derived(void)
{
	for (int i = 0; i < P_COUNT; i++) {
		free(derived[i]);
		derived[i] = NULL;
	}
}

void paths_set_root(const char *r)
{
	free(root);
	root = xstrdup(r);
	/* "/x/" and "/x" are the same root */
	size_t n = strlen(root);
	while (n > 1 && root[n - 1] == '/')
		root[--n] = '\0';
	forget_derived();
}

const char *paths_root(void)
{
	if (root == NULL) {
		const char *env = getauxval(AT_SECURE) ? NULL : getenv("ESTAFETTE_ROOT");
		paths_set_root(env && *env ? env : ESTAFETTE_PREFIX);
	}
	return root;
}

void paths_join(struct buf *out, const char *dir, const char *name)
{
	buf_set_str(out, dir);
	if (out->len == 0 || out->data[out->len - 1] != '/')
		buf_append_char(out, '/');
	buf_append_str(out, name);
}

static const char *derive(int which)
{
	if (derived[which] == NULL) {
		struct buf b = BUF_INIT;
		paths_join(&b, paths_root(), suffix[which]);
		derived[which] = buf_detach(&b);
	}
	return derived[which];
}

const char *paths_config(void) { return derive(P_CONFIG); }
const char *paths_queue(void) { return derive(P_QUEUE); }
const char *paths_state(void) { return derive(P_STATE); }
const char *paths_run(void) { return derive(P_RUN); }
const char *paths_libexec(void) { return derive(P_LIBEXEC); }
