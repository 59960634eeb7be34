/* backend_pgsql: accounts in PostgreSQL through libpq (settings "pgsql.*",
 * authd(8)). One configured query, run with PQsendQueryParams: the user name
 * and its parts go to the server as parameters, never into the SQL text.
 *
 * The connection opens at the first lookup of each authd process (never in
 * the parent, whose children would share it) and is dropped after any
 * failure, so the next lookup reconnects. Connecting and every query run
 * non-blocking under poll() with the deadline "pgsql.timeout"; a timeout,
 * a lost server or a malformed row is an ERROR (TEMPFAIL), never NOTFOUND. */
#include "backend.h"
#include "backend_sql.h"
#include "alloc.h"

#include <libpq-fe.h>
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>

struct backend {
	struct sql_conf c;
	PGconn *conn;
};

static struct backend *pg_open(const struct config_env *conf, struct buf *err)
{
	struct backend *be = xcalloc(1, sizeof *be);
	if (sql_conf_read(&be->c, conf, "pgsql", SQL_DIALECT_PG, err) < 0) {
		sql_conf_free(&be->c);
		free(be);
		return NULL;
	}
	return be;
}

static void pg_drop(struct backend *be)
{
	if (be->conn)
		PQfinish(be->conn);
	be->conn = NULL;
}

static void pg_close(struct backend *be)
{
	pg_drop(be);
	sql_conf_free(&be->c);
	free(be);
}

/* Wait for fd to be ready for events until deadline: 1 ready, 0 timeout, -1 error. */
static int wait_fd(int fd, short events, long long deadline)
{
	for (;;) {
		long long left = deadline - sql_now_ms();
		if (left <= 0)
			return 0;
		struct pollfd p = { .fd = fd, .events = events };
		int r = poll(&p, 1, (int)(left > 60000 ? 60000 : left));
		if (r > 0)
			return 1;
		if (r < 0 && errno != EINTR)
			return -1;
	}
}

static void add_param(const char **k, const char **v, size_t *n, const char *key, struct buf *val)
{
	if (val->len == 0)
		return;
	k[*n] = key;
	v[*n] = buf_cstr(val);
	(*n)++;
}

static PGconn *pg_start(struct backend *be)
{
	const char *k[8], *v[8];
	size_t n = 0;
	add_param(k, v, &n, "dbname", &be->c.conninfo); /* expanded: a whole conninfo */
	add_param(k, v, &n, "host", &be->c.socket);     /* a directory for libpq */
	add_param(k, v, &n, "host", &be->c.host);
	add_param(k, v, &n, "port", &be->c.port);
	add_param(k, v, &n, "user", &be->c.user);
	add_param(k, v, &n, "dbname", &be->c.database);
	add_param(k, v, &n, "password", &be->c.password);
	k[n] = NULL;
	v[n] = NULL;
	return PQconnectStartParams(k, v, 1);
}

static int pg_connect(struct backend *be, long long deadline, struct buf *err)
{
	if (be->conn && PQstatus(be->conn) == CONNECTION_OK)
		return 0;
	pg_drop(be);
	if ((be->conn = pg_start(be)) == NULL) {
		buf_error(err, "pgsql: out of memory");
		return -1;
	}
	PostgresPollingStatusType st = PGRES_POLLING_WRITING;
	while (st != PGRES_POLLING_OK) {
		if (st == PGRES_POLLING_FAILED || PQstatus(be->conn) == CONNECTION_BAD) {
			buf_error(err, "pgsql: connect: %s", PQerrorMessage(be->conn));
			return -1;
		}
		int w = wait_fd(PQsocket(be->conn),
				st == PGRES_POLLING_READING ? POLLIN : POLLOUT, deadline);
		if (w <= 0) {
			buf_error(err, "pgsql: connect: %s", w == 0 ? "timed out" : strerror(errno));
			return -1;
		}
		st = PQconnectPoll(be->conn);
	}
	if (PQsetnonblocking(be->conn, 1) != 0) {
		buf_error(err, "pgsql: %s", PQerrorMessage(be->conn));
		return -1;
	}
	return 0;
}

/* Send the query and wait for its whole answer; the first result or NULL. */
static PGresult *pg_run(struct backend *be, const struct sql_query *q, const struct sql_args *a,
			long long deadline, struct buf *err)
{
	int lengths[SQL_MAX_PARAMS];
	for (size_t i = 0; i < q->nparams; i++)
		lengths[i] = (int)a->lengths[i]; /* a name (SQL_USER_MAX) or a secret we made */
	if (!PQsendQueryParams(be->conn, buf_cstr((struct buf *)&q->text), (int)q->nparams,
			       NULL, a->values, lengths, NULL, 0))
		goto fail;
	int f;
	while ((f = PQflush(be->conn)) == 1)
		if (wait_fd(PQsocket(be->conn), POLLOUT, deadline) <= 0)
			goto timeout;
	if (f < 0)
		goto fail;
	PGresult *first = NULL, *r;
	for (;;) {
		while (PQisBusy(be->conn)) {
			if (wait_fd(PQsocket(be->conn), POLLIN, deadline) <= 0) {
				PQclear(first);
				goto timeout;
			}
			if (!PQconsumeInput(be->conn)) {
				PQclear(first);
				goto fail;
			}
		}
		if ((r = PQgetResult(be->conn)) == NULL)
			break;
		if (first == NULL)
			first = r;
		else
			PQclear(r);
	}
	if (first == NULL)
		buf_error(err, "pgsql: no result");
	return first;
timeout:
	buf_error(err, "pgsql: query timed out");
	return NULL;
fail:
	buf_error(err, "pgsql: %s", PQerrorMessage(be->conn));
	return NULL;
}

/* Row i's columns into out: SQL_SET_UID | SQL_SET_GID as seen, or -1. */
static int pg_row(PGresult *res, int row, struct backend_account *out, struct buf *err)
{
	int seen = 0;
	for (int i = 0; i < PQnfields(res); i++) {
		if (PQgetisnull(res, row, i))
			continue;
		int s = sql_set_column(out, PQfname(res, i), PQgetvalue(res, row, i),
				       (size_t)PQgetlength(res, row, i), err);
		if (s < 0)
			return -1;
		seen |= s;
	}
	if (seen != (SQL_SET_UID | SQL_SET_GID)) {
		buf_error(err, "pgsql: the query gave no uid or no gid");
		return -1;
	}
	return seen;
}

static int pg_fill(PGresult *res, struct backend_account *out, const char *user,
		   struct buf *err)
{
	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		buf_error(err, "pgsql: query: %s", PQresultErrorMessage(res));
		return BACKEND_ERROR;
	}
	int rows = PQntuples(res);
	if (rows == 0)
		return BACKEND_NOTFOUND;
	if (rows > 1) {
		buf_error(err, "pgsql: query returned %d rows for one user", rows);
		return BACKEND_ERROR;
	}
	backend_account_reset(out);
	buf_set_str(&out->address, user);
	return pg_row(res, 0, out, err) < 0 ? BACKEND_ERROR : BACKEND_FOUND;
}

/* One try on the current or a new connection; drops the connection after a
 * failure. *lost: the connection itself failed (not the query). */
static int pg_try(struct backend *be, const struct sql_args *a, const char *user,
		  long long deadline, struct backend_account *out, int *lost, struct buf *err)
{
	*lost = 0;
	if (pg_connect(be, deadline, err) < 0) {
		pg_drop(be);
		return BACKEND_ERROR;
	}
	PGresult *res = pg_run(be, &be->c.query, a, deadline, err);
	if (res == NULL) {
		*lost = PQstatus(be->conn) == CONNECTION_BAD;
		pg_drop(be); /* a half-read answer leaves the connection unusable */
		return BACKEND_ERROR;
	}
	int rc = pg_fill(res, out, user, err);
	PQclear(res);
	if (rc == BACKEND_ERROR) {
		backend_account_reset(out);
		*lost = PQstatus(be->conn) == CONNECTION_BAD;
		pg_drop(be);
	}
	return rc;
}

static int pg_lookup(struct backend *be, const char *service, const char *user,
		     struct backend_account *out, struct buf *err)
{
	(void)service;
	struct sql_args a;
	memset(&a, 0, sizeof a);
	int rc = BACKEND_NOTFOUND, lost;
	if (sql_args_make(&a, &be->c.query, user) < 0)
		goto out; /* no account can be named like that */
	long long deadline = sql_now_ms() + (long long)be->c.timeout_ms;
	int reused = be->conn != NULL;
	rc = pg_try(be, &a, user, deadline, out, &lost, err);
	if (rc == BACKEND_ERROR && reused && lost && sql_now_ms() < deadline) {
		buf_reset(err); /* an old connection the server has since closed: once more */
		rc = pg_try(be, &a, user, deadline, out, &lost, err);
	}
out:
	sql_args_free(&a);
	return rc;
}

/* Run q (enum_query, passwd_query) on the connection, once more on a new
 * connection if an old one turns out lost. The result, or NULL with err. */
static PGresult *pg_query(struct backend *be, const struct sql_query *q, const struct sql_args *a,
			  struct buf *err)
{
	long long deadline = sql_now_ms() + (long long)be->c.timeout_ms;
	for (int attempt = 0; attempt < 2; attempt++) {
		int reused = be->conn != NULL;
		if (pg_connect(be, deadline, err) < 0) {
			pg_drop(be);
			return NULL;
		}
		PGresult *res = pg_run(be, q, a, deadline, err);
		if (res)
			return res;
		int lost = PQstatus(be->conn) == CONNECTION_BAD;
		pg_drop(be);
		if (!reused || !lost || sql_now_ms() >= deadline)
			break;
		buf_reset(err);
	}
	return NULL;
}

static int pg_enumerate(struct backend *be, int (*each)(void *ctx, const struct backend_account *a),
			void *ctx, struct buf *err)
{
	struct sql_args a;
	struct backend_account acct;
	memset(&a, 0, sizeof a);
	memset(&acct, 0, sizeof acct);
	if (be->c.enum_query.text.len == 0)
		return 0; /* not configured: nothing to list */
	PGresult *res = pg_query(be, &be->c.enum_query, &a, err);
	if (res == NULL)
		return -1;
	int rc = 0;
	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		buf_error(err, "pgsql: enum_query: %s", PQresultErrorMessage(res));
		rc = -1;
	}
	for (int row = 0; rc == 0 && row < PQntuples(res); row++) {
		backend_account_reset(&acct);
		if (pg_row(res, row, &acct, err) < 0 || acct.address.len == 0) {
			if (err->len == 0)
				buf_error(err, "pgsql: enum_query gave a row without an address");
			rc = -1;
		} else if (each(ctx, &acct)) {
			break;
		}
	}
	PQclear(res);
	backend_account_free(&acct);
	return rc;
}

static int pg_passwd(struct backend *be, const char *service, const struct backend_account *acct,
		     const struct backend_secrets *sec, struct buf *err)
{
	(void)service;
	struct sql_args a;
	memset(&a, 0, sizeof a);
	const struct sql_query *q = &be->c.passwd_query;
	int rc = 0;
	if (q->text.len == 0 || sql_args_make(&a, q, buf_cstr((struct buf *)&acct->address)) < 0)
		goto out; /* not configured, or not a name a database holds */
	sql_args_secrets(&a, q, sec);
	PGresult *res = pg_query(be, q, &a, err);
	if (res == NULL) {
		rc = -1;
	} else if (PQresultStatus(res) != PGRES_COMMAND_OK &&
		   PQresultStatus(res) != PGRES_TUPLES_OK) {
		buf_error(err, "pgsql: passwd_query: %s", PQresultErrorMessage(res));
		rc = -1;
	} else {
		rc = strtol(PQcmdTuples(res), NULL, 10) > 0 ? 1 : 0;
	}
	PQclear(res);
out:
	sql_args_free(&a);
	return rc;
}

const struct backend_ops backend_pgsql = {
	.name = "pgsql",
	.open = pg_open,
	.lookup = pg_lookup,
	.verify = NULL,
	.enumerate = pg_enumerate,
	.passwd = pg_passwd,
	.close = pg_close,
};
