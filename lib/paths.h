/* paths: where an instance lives.
 *
 * One setting, the instance root, places everything: the compile-time
 * ESTAFETTE_PREFIX (make PREFIX=...), overridden by the environment variable
 * ESTAFETTE_ROOT or by a program's --root flag (paths_set_root). A set-id
 * program ignores ESTAFETTE_ROOT, so its caller cannot point it elsewhere.
 * Under the root:
 *   etc/estafette         configuration (paths_config)
 *   var/spool/estafette   the queue (paths_queue)
 *   var/lib/estafette     state: caches, databases (paths_state)
 *   var/run/estafette     sockets, pid files, triggers (paths_run)
 *   libexec/estafette     the suite's programs (paths_libexec)
 *   bin, sbin             user and admin commands */
#ifndef ESTAFETTE_PATHS_H
#define ESTAFETTE_PATHS_H

struct buf;

const char *paths_root(void);
void paths_set_root(const char *root);

const char *paths_config(void);
const char *paths_queue(void);
const char *paths_state(void);
const char *paths_run(void);
const char *paths_libexec(void);

/* For a set-id program, which ignores ESTAFETTE_ROOT: take the root from the
 * program's own location. If /proc/self/exe is ROOT/libexec/estafette/NAME,
 * the file there is this very program, and ROOT, ROOT/libexec and
 * ROOT/libexec/estafette are owned by the program file's owner and writable by
 * nobody else, then the root becomes ROOT and 0 is returned; otherwise -1 and
 * nothing changes. Only that owner could have placed the program there, so a
 * caller cannot choose the root (a hard link in a directory of the caller's
 * fails the owner check). */
int paths_root_from_exe(void);
/* The same checks on a given canonical program path (for tests). */
int paths_root_from_exe_path(const char *exe);

/* out = dir "/" name (name must be a relative path the caller trusts). */
void paths_join(struct buf *out, const char *dir, const char *name);

#endif
