/* backend_mysql: accounts in MySQL or MariaDB through libmariadb (settings
 * "mysql.*", authd(8)). One configured query, run as a prepared statement:
 * the user name and its parts are bound as parameters, never pasted into
 * the SQL text.
 *
 * The connection opens at the first lookup of each authd process and is
 * dropped after any failure, so the next lookup reconnects. The client
 * library bounds connecting, reading and writing with "mysql.timeout"; a
 * timeout, a lost server or a malformed row is an ERROR (TEMPFAIL), never
 * NOTFOUND. */
#include "backend.h"
#include "backend_sql.h"
#include "alloc.h"

#include <errmsg.h>
#include <mysql.h>
#include <stdlib.h>
#include <string.h>

#define MY_MAX_COLUMNS 16
#define MY_VALUE_MAX   4096 /* longest value read from a column */

struct backend {
	struct sql_conf c;
	MYSQL *db;
};

static struct backend *my_open(const struct config_env *conf, struct buf *err)
{
	struct backend *be = xcalloc(1, sizeof *be);
	if (sql_conf_read(&be->c, conf, "mysql", SQL_DIALECT_MYSQL, err) < 0) {
		sql_conf_free(&be->c);
		free(be);
		return NULL;
	}
	return be;
}

static void my_drop(struct backend *be)
{
	if (be->db)
		mysql_close(be->db);
	be->db = NULL;
}

static void my_close(struct backend *be)
{
	my_drop(be);
	sql_conf_free(&be->c);
	free(be);
}

static const char *opt(struct buf *b)
{
	return b->len ? buf_cstr(b) : NULL;
}

static int my_connect(struct backend *be, struct buf *err)
{
	if (be->db)
		return 0;
	if ((be->db = mysql_init(NULL)) == NULL) {
		buf_error(err, "mysql: out of memory");
		return -1;
	}
	unsigned int t = (unsigned int)(be->c.timeout_ms / 1000);
	my_bool off = 0;
	mysql_options(be->db, MYSQL_OPT_CONNECT_TIMEOUT, &t);
	mysql_options(be->db, MYSQL_OPT_READ_TIMEOUT, &t);
	mysql_options(be->db, MYSQL_OPT_WRITE_TIMEOUT, &t);
	mysql_options(be->db, MYSQL_OPT_RECONNECT, &off); /* we reconnect, knowingly */
	mysql_options(be->db, MYSQL_SET_CHARSET_NAME, "utf8mb4");
	unsigned long port = be->c.port.len ? strtoul(buf_cstr(&be->c.port), NULL, 10) : 0;
	if (!mysql_real_connect(be->db, opt(&be->c.host), opt(&be->c.user), opt(&be->c.password),
				opt(&be->c.database), (unsigned int)port, opt(&be->c.socket), 0)) {
		buf_error(err, "mysql: connect: %s", mysql_error(be->db));
		return -1;
	}
	return 0;
}

struct my_row {
	MYSQL_BIND bind[MY_MAX_COLUMNS];
	char value[MY_MAX_COLUMNS][MY_VALUE_MAX];
	unsigned long length[MY_MAX_COLUMNS];
	my_bool null[MY_MAX_COLUMNS];
};

static int my_execute(MYSQL_STMT *st, struct sql_query *q, const struct sql_args *a,
		      struct buf *err)
{
	MYSQL_BIND param[SQL_MAX_PARAMS];
	unsigned long len[SQL_MAX_PARAMS];
	memset(param, 0, sizeof param);
	for (size_t i = 0; i < q->nparams; i++) {
		len[i] = a->lengths[i];
		param[i].buffer_type = MYSQL_TYPE_STRING;
		param[i].buffer = (void *)a->values[i];
		param[i].buffer_length = len[i];
		param[i].length = &len[i];
	}
	if (mysql_stmt_prepare(st, buf_cstr(&q->text), q->text.len) ||
	    mysql_stmt_param_count(st) != q->nparams ||
	    (q->nparams && mysql_stmt_bind_param(st, param)) || mysql_stmt_execute(st)) {
		buf_error(err, "mysql: query: %s", mysql_stmt_error(st));
		return -1;
	}
	return 0;
}

/* Bind the statement's result columns to row: the metadata (free it), or NULL with err. */
static MYSQL_RES *my_bind(MYSQL_STMT *st, struct my_row *row, unsigned int *n, struct buf *err)
{
	MYSQL_RES *meta = mysql_stmt_result_metadata(st);
	*n = meta ? mysql_num_fields(meta) : 0;
	if (*n == 0 || *n > MY_MAX_COLUMNS) {
		buf_error(err, "mysql: the query must return 1 to %d columns", MY_MAX_COLUMNS);
		goto fail;
	}
	memset(row->bind, 0, sizeof row->bind);
	for (unsigned int i = 0; i < *n; i++) {
		row->bind[i].buffer_type = MYSQL_TYPE_STRING;
		row->bind[i].buffer = row->value[i];
		row->bind[i].buffer_length = MY_VALUE_MAX;
		row->bind[i].length = &row->length[i];
		row->bind[i].is_null = &row->null[i];
	}
	if (mysql_stmt_bind_result(st, row->bind) == 0)
		return meta;
	buf_error(err, "mysql: result: %s", mysql_stmt_error(st));
fail:
	if (meta)
		mysql_free_result(meta);
	return NULL;
}

/* The fetched row's columns into out: 0, or -1 with err. */
static int my_row_fill(MYSQL_RES *meta, unsigned int n, struct my_row *row,
		       struct backend_account *out, struct buf *err)
{
	MYSQL_FIELD *fields = mysql_fetch_fields(meta);
	int seen = 0, s = 0;
	for (unsigned int i = 0; i < n && s >= 0; i++)
		if (!row->null[i] &&
		    (s = sql_set_column(out, fields[i].name, row->value[i], row->length[i], err)) > 0)
			seen |= s;
	if (s < 0)
		return -1;
	if (seen != (SQL_SET_UID | SQL_SET_GID)) {
		buf_error(err, "mysql: the query gave no uid or no gid");
		return -1;
	}
	return 0;
}

/* Fill out from the statement's single row. */
static int my_fill(MYSQL_STMT *st, struct my_row *row, struct backend_account *out,
		   const char *user, struct buf *err)
{
	unsigned int n;
	MYSQL_RES *meta = my_bind(st, row, &n, err);
	int rc = BACKEND_ERROR;
	if (meta == NULL)
		return rc;
	if (mysql_stmt_store_result(st)) {
		buf_error(err, "mysql: result: %s", mysql_stmt_error(st));
		goto out;
	}
	my_ulonglong rows = mysql_stmt_num_rows(st);
	if (rows != 1) {
		if (rows > 1)
			buf_error(err, "mysql: query returned %llu rows for one user",
				  (unsigned long long)rows);
		rc = rows ? BACKEND_ERROR : BACKEND_NOTFOUND;
		goto out;
	}
	int f = mysql_stmt_fetch(st);
	if (f != 0) {
		buf_error(err, "mysql: %s", f == MYSQL_DATA_TRUNCATED ? "a value is too long"
					     : mysql_stmt_error(st));
		goto out;
	}
	backend_account_reset(out);
	buf_set_str(&out->address, user);
	if (my_row_fill(meta, n, row, out, err) == 0)
		rc = BACKEND_FOUND;
out:
	mysql_free_result(meta);
	return rc;
}

/* One try on the current or a new connection; drops the connection after a
 * failure. *lost: the server went away (not a failed query). */
static int my_try(struct backend *be, const struct sql_args *a, const char *user,
		  struct backend_account *out, int *lost, struct buf *err)
{
	*lost = 0;
	if (my_connect(be, err) < 0) {
		my_drop(be);
		return BACKEND_ERROR;
	}
	int rc = BACKEND_ERROR;
	MYSQL_STMT *st = mysql_stmt_init(be->db);
	struct my_row *row = xcalloc(1, sizeof *row);
	if (st == NULL)
		buf_error(err, "mysql: %s", mysql_error(be->db));
	else if (my_execute(st, &be->c.query, a, err) == 0)
		rc = my_fill(st, row, out, user, err);
	explicit_bzero(row, sizeof *row);
	free(row);
	if (rc == BACKEND_ERROR) {
		unsigned int e = st ? mysql_stmt_errno(st) : mysql_errno(be->db);
		*lost = e == CR_SERVER_GONE_ERROR || e == CR_SERVER_LOST;
		backend_account_reset(out);
	}
	if (st)
		mysql_stmt_close(st);
	if (rc == BACKEND_ERROR)
		my_drop(be); /* reconnect next time */
	return rc;
}

static int my_lookup(struct backend *be, const char *service, const char *user,
		     struct backend_account *out, struct buf *err)
{
	(void)service;
	struct sql_args a;
	memset(&a, 0, sizeof a);
	int rc = BACKEND_NOTFOUND, lost;
	if (sql_args_make(&a, &be->c.query, user) < 0)
		goto out; /* no account can be named like that */
	int reused = be->db != NULL;
	rc = my_try(be, &a, user, out, &lost, err);
	if (rc == BACKEND_ERROR && reused && lost) {
		buf_reset(err); /* an old connection the server has since closed: once more */
		rc = my_try(be, &a, user, out, &lost, err);
	}
out:
	sql_args_free(&a);
	return rc;
}

/* Run q on the connection; once more on a new connection if an old one was
 * lost. The executed statement (close it), or NULL with err. */
static MYSQL_STMT *my_query(struct backend *be, const struct sql_query *q, const struct sql_args *a,
			    struct buf *err)
{
	for (int attempt = 0; attempt < 2; attempt++) {
		int reused = be->db != NULL;
		if (my_connect(be, err) < 0) {
			my_drop(be);
			return NULL;
		}
		MYSQL_STMT *st = mysql_stmt_init(be->db);
		if (st && my_execute(st, (struct sql_query *)q, a, err) == 0)
			return st;
		unsigned int e = st ? mysql_stmt_errno(st) : mysql_errno(be->db);
		if (st == NULL)
			buf_error(err, "mysql: %s", mysql_error(be->db));
		else
			mysql_stmt_close(st);
		my_drop(be);
		if (!reused || (e != CR_SERVER_GONE_ERROR && e != CR_SERVER_LOST))
			break;
		buf_reset(err);
	}
	return NULL;
}

/* Fetch every row of st, calling each; 0, or -1 with err. */
static int my_each_row(MYSQL_STMT *st, int (*each)(void *ctx, const struct backend_account *a),
		       void *ctx, struct buf *err)
{
	struct my_row *row = xcalloc(1, sizeof *row);
	struct backend_account acct;
	unsigned int n;
	int rc = -1, f;
	memset(&acct, 0, sizeof acct);
	MYSQL_RES *meta = my_bind(st, row, &n, err);
	while (meta && (f = mysql_stmt_fetch(st)) == 0) {
		backend_account_reset(&acct);
		if (my_row_fill(meta, n, row, &acct, err) < 0)
			goto out;
		if (acct.address.len == 0) {
			buf_error(err, "mysql: enum_query gave a row without an address");
			goto out;
		}
		if (each(ctx, &acct))
			break;
	}
	if (meta && f != 0 && f != MYSQL_NO_DATA)
		buf_error(err, "mysql: %s", f == MYSQL_DATA_TRUNCATED ? "a value is too long"
					     : mysql_stmt_error(st));
	else if (meta)
		rc = 0;
out:
	if (meta)
		mysql_free_result(meta);
	backend_account_free(&acct);
	explicit_bzero(row, sizeof *row);
	free(row);
	return rc;
}

static int my_enumerate(struct backend *be, int (*each)(void *ctx, const struct backend_account *a),
			void *ctx, struct buf *err)
{
	struct sql_args a;
	memset(&a, 0, sizeof a);
	if (be->c.enum_query.text.len == 0)
		return 0; /* not configured: nothing to list */
	MYSQL_STMT *st = my_query(be, &be->c.enum_query, &a, err);
	if (st == NULL)
		return -1;
	int rc = my_each_row(st, each, ctx, err);
	mysql_stmt_close(st);
	if (rc < 0)
		my_drop(be);
	return rc;
}

static int my_passwd(struct backend *be, const char *service, const struct backend_account *acct,
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
	MYSQL_STMT *st = my_query(be, q, &a, err);
	if (st == NULL) {
		rc = -1;
		goto out;
	}
	rc = mysql_stmt_affected_rows(st) > 0 && mysql_stmt_affected_rows(st) != (my_ulonglong)-1;
	mysql_stmt_close(st);
out:
	sql_args_free(&a);
	return rc;
}

const struct backend_ops backend_mysql = {
	.name = "mysql",
	.open = my_open,
	.lookup = my_lookup,
	.verify = NULL,
	.enumerate = my_enumerate,
	.passwd = my_passwd,
	.close = my_close,
};
