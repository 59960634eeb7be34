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

/* out = dir "/" name (name must be a relative path the caller trusts). */
void paths_join(struct buf *out, const char *dir, const char *name);

#endif
