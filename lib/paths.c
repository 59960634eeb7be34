/* paths: the instance root and the directories derived from it. */
#include "paths.h"
#include "alloc.h"
#include "buf.h"

#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/stat.h>
#include <unistd.h>

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

#define EXE_DIR "/libexec/estafette/"

/* dir (the first len bytes of path) is owned by owner and not group/other-writable. */
static int dir_safe(const char *path, size_t len, uid_t owner)
{
	char *dir = len ? xmemdup(path, len) : xstrdup("/");
	struct stat st;
	int ok = lstat(dir, &st) == 0 && S_ISDIR(st.st_mode) && st.st_uid == owner &&
		 (st.st_mode & (S_IWGRP | S_IWOTH)) == 0;
	free(dir);
	return ok;
}

int paths_root_from_exe_path(const char *exe)
{
	const char *name = strrchr(exe, '/');
	size_t dl = sizeof EXE_DIR - 1;
	if (exe[0] != '/' || name == NULL || name[1] == '\0' || strchr(name, ' ') ||
	    (size_t)(name + 1 - exe) < dl || memcmp(name + 1 - dl, EXE_DIR, dl) != 0)
		return -1;
	struct stat exe_st, self_st;
	if (stat(exe, &exe_st) < 0 || !S_ISREG(exe_st.st_mode))
		return -1;
	/* the file at that path must be the program running now */
	if (stat("/proc/self/exe", &self_st) == 0 &&
	    (self_st.st_dev != exe_st.st_dev || self_st.st_ino != exe_st.st_ino))
		return -1;
	size_t rootlen = (size_t)(name + 1 - dl - exe);
	size_t libexec = rootlen + sizeof "/libexec" - 1;
	if (!dir_safe(exe, (size_t)(name - exe), exe_st.st_uid) ||
	    !dir_safe(exe, libexec, exe_st.st_uid) || !dir_safe(exe, rootlen, exe_st.st_uid))
		return -1;
	char *r = rootlen ? xmemdup(exe, rootlen) : xstrdup("/");
	paths_set_root(r);
	free(r);
	return 0;
}

int paths_root_from_exe(void)
{
	char exe[4096];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof exe);
	if (n <= 0 || (size_t)n >= sizeof exe)
		return -1;
	exe[n] = '\0';
	return paths_root_from_exe_path(exe);
}
