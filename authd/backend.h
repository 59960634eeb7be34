/* backend: the interface of authd's account backends.
 *
 * authd asks its backends in the configured order (authd.conf "backends");
 * the first that knows the user answers. A backend answers FOUND, NOTFOUND or
 * ERROR; ERROR (a broken file, a database that is down, a timeout) makes authd
 * answer TEMPFAIL and stop, never fall through to "no such user", so that mail
 * is retried rather than bounced.
 *
 * Passwords: a backend that stores hashes (userdb, SQL) returns them in the
 * account and leaves verify NULL; authd checks them with lib/passwd. A
 * backend that must check a password itself (PAM, LDAP bind) implements
 * verify. A backend runs inside authd's per-connection process, as the auth
 * user; every call must bound its own time (settings such as "NAME.timeout"). */
#ifndef ESTAFETTE_AUTHD_BACKEND_H
#define ESTAFETTE_AUTHD_BACKEND_H

#include "buf.h"

#include <stddef.h>
#include <sys/types.h>

struct config_env;

enum backend_result { BACKEND_ERROR = -1, BACKEND_NOTFOUND = 0, BACKEND_FOUND = 1 };

struct backend_account {
	struct buf address;   /* canonical name */
	uid_t uid;
	gid_t gid;
	struct buf home, maildir, quota, options;
	struct buf systempw;  /* stored hash for every service; empty = none */
	struct buf servicepw; /* stored hash for the asked service only; wins if set */
	struct buf scrampw;   /* SCRAM-SHA-256 keys (lib/scram.h); empty = none */
	struct buf crampw;    /* CRAM-MD5 secret (lib/crammd5.h); empty = none */
};

/* New secrets for PASSWD, all made from the new password by authd: a crypt(3)
 * hash (lib/passwd), SCRAM-SHA-256 keys (lib/scram) and a CRAM-MD5 secret
 * (lib/crammd5). A backend stores those it is configured for. */
struct backend_secrets {
	const char *hash, *scram, *cram;
	const char *old;   /* the old password (checked), for a backend that binds with it */
	size_t oldlen;
};

struct backend;

struct backend_ops {
	const char *name;
	/* Settings named "NAME.*" in authd.conf. NULL with err on a config error
	 * (authd refuses to start); a backend that cannot reach its data yet must
	 * still open and answer ERROR per request. */
	struct backend *(*open)(const struct config_env *conf, struct buf *err);
	int (*lookup)(struct backend *be, const char *service, const char *user,
		      struct backend_account *out, struct buf *err);
	/* Optional: 1 match, 0 mismatch, -1 error. */
	int (*verify)(struct backend *be, const char *service, const struct backend_account *acct,
		      const char *pass, size_t len, struct buf *err);
	/* Optional: call each() per account until it returns non-zero. */
	int (*enumerate)(struct backend *be, int (*each)(void *ctx, const struct backend_account *a),
			 void *ctx, struct buf *err);
	/* Optional: store new secrets for the account a that lookup found (the
	 * caller has checked the old password). 1 done, 0 not stored (no such
	 * account any more), -1 error (with err). */
	int (*passwd)(struct backend *be, const char *service, const struct backend_account *a,
		      const struct backend_secrets *s, struct buf *err);
	void (*close)(struct backend *be);
};

/* The known backends, by name; NULL if unknown. */
const struct backend_ops *backend_find(const char *name);
/* Setting names each backend accepts, for config_env_check (NULL-terminated). */
extern const char *const backend_settings[];

void backend_account_reset(struct backend_account *a);
void backend_account_free(struct backend_account *a);

extern const struct backend_ops backend_userdb;
extern const struct backend_ops backend_pgsql;
extern const struct backend_ops backend_mysql;
extern const struct backend_ops backend_ldap;
extern const struct backend_ops backend_system;

#endif
