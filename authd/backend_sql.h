/* backend_sql: what the SQL backends (pgsql, mysql) share: the query with its
 * placeholders, the user name split into its parts, the settings common to
 * both, and the filling of an account from a result row's named columns.
 *
 * Placeholders in a configured query: %u the full address as given, %n its
 * local part, %d its domain (empty without '@'), %% a '%'; in passwd_query
 * also %p the new crypt hash, %s the new SCRAM-SHA-256 keys, %c the new
 * CRAM-MD5 secret; enum_query has none. Each is sent to the server as a
 * parameter ($1... for PostgreSQL, ? for MySQL), never pasted into the SQL
 * text. */
#ifndef ESTAFETTE_AUTHD_BACKEND_SQL_H
#define ESTAFETTE_AUTHD_BACKEND_SQL_H

#include "backend.h"

#include <stddef.h>

#define SQL_MAX_PARAMS 16
#define SQL_USER_MAX   320 /* longest user name sent to a database */

enum sql_dialect { SQL_DIALECT_PG, SQL_DIALECT_MYSQL };

struct sql_query {
	struct buf text;               /* the SQL with server-side placeholders */
	size_t nparams;
	char params[SQL_MAX_PARAMS];   /* 'u', 'n', 'd', 'p', 's' or 'c' per placeholder */
};

/* Settings NAME.* common to both SQL backends. */
struct sql_conf {
	struct buf host, port, socket, user, database, password, conninfo;
	unsigned long timeout_ms;
	struct sql_query query;
	struct sql_query enum_query;   /* empty text: no ENUM */
	struct sql_query passwd_query; /* empty text: no PASSWD */
};

/* Compile a configured query whose placeholders are among allowed (e.g.
 * "und"); -1 with err on another placeholder or too many. */
int sql_query_compile(struct sql_query *q, const char *src, const char *allowed,
		      enum sql_dialect d, struct buf *err);
/* Read "NAME.*" settings; -1 with err. */
int sql_conf_read(struct sql_conf *c, const struct config_env *conf, const char *name,
		  enum sql_dialect d, struct buf *err);
void sql_conf_free(struct sql_conf *c);

/* The values of the query's parameters for user. 0, or -1 if user cannot be
 * an account name (too long, control characters): then NOTFOUND. */
struct sql_args {
	struct buf user, local, domain;
	const char *values[SQL_MAX_PARAMS];
	size_t lengths[SQL_MAX_PARAMS];
};
int sql_args_make(struct sql_args *a, const struct sql_query *q, const char *user);
/* Also the new secrets for %p %s %c (after sql_args_make); NULL ones are "". */
void sql_args_secrets(struct sql_args *a, const struct sql_query *q,
		      const struct backend_secrets *s);
void sql_args_free(struct sql_args *a);

/* Set out's field named by column (address, uid, gid, home, maildir, quota,
 * options, password, scram, cram; others ignored) to value. SQL_SET_UID or SQL_SET_GID when it set
 * that (a row without both is an error: never a default uid), else 0; -1 with
 * err if uid/gid is not a number or a value holds a NUL or newline. */
#define SQL_SET_UID 1
#define SQL_SET_GID 2
int sql_set_column(struct backend_account *out, const char *column, const char *value,
		   size_t len, struct buf *err);
/* Deadline helpers: milliseconds left until deadline (>= 0). */
long long sql_now_ms(void);

#endif
