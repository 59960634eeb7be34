/* backend_sql: the parts the PostgreSQL and MySQL backends share (see
 * backend_sql.h). Trusts authd.conf; treats the user name and every value a
 * database returns as hostile: the name only ever travels as a query
 * parameter, and uid/gid must be plain decimal numbers. */
#include "backend_sql.h"
#include "config.h"
#include "file.h"

#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <time.h>

int sql_query_compile(struct sql_query *q, const char *src, const char *allowed,
		      enum sql_dialect d, struct buf *err)
{
	buf_reset(&q->text);
	q->nparams = 0;
	for (const char *p = src; *p; p++) {
		if (*p != '%') {
			buf_append_char(&q->text, *p);
			continue;
		}
		p++;
		if (*p == '%') {
			buf_append_char(&q->text, '%');
			continue;
		}
		if (*p == '\0' || !strchr(allowed, *p)) {
			buf_error(err, "query: unknown placeholder %%%c (known here: %s and %%%%)",
				  *p ? *p : ' ', allowed);
			return -1;
		}
		if (q->nparams == SQL_MAX_PARAMS) {
			buf_error(err, "query: more than %d placeholders", SQL_MAX_PARAMS);
			return -1;
		}
		q->params[q->nparams++] = *p;
		if (d == SQL_DIALECT_PG)
			buf_printf(&q->text, "$%zu", q->nparams);
		else
			buf_append_char(&q->text, '?');
	}
	return 0;
}

/* The first line of a password file, without its newline. */
static int read_password(struct buf *out, const char *file, struct buf *err)
{
	struct buf path = BUF_INIT;
	config_path(&path, file);
	int rc = file_read(buf_cstr(&path), out, 4096);
	if (rc < 0)
		buf_error(err, "%s: %s", buf_cstr(&path), strerror(errno));
	buf_free(&path);
	if (rc < 0)
		return -1;
	const char *nl = out->len ? memchr(out->data, '\n', out->len) : NULL;
	if (nl)
		buf_truncate(out, (size_t)(nl - out->data));
	if (out->len && out->data[out->len - 1] == '\r')
		buf_truncate(out, out->len - 1);
	if (buf_has_nul(out)) {
		buf_error(err, "%s: NUL byte in password", file);
		return -1;
	}
	return 0;
}

static void opt_string(const struct config_env *conf, const char *name, const char *key,
		       struct buf *out)
{
	struct buf full = BUF_INIT;
	const char *v;
	buf_printf(&full, "%s.%s", name, key);
	config_env_string(conf, buf_cstr(&full), "", &v);
	buf_set_str(out, v);
	buf_free(&full);
}

/* "query: ..." becomes "NAME.KEY: ...". */
static void buf_prepend_name(struct buf *err, const char *name, const char *key)
{
	struct buf tmp = BUF_INIT;
	const char *e = buf_cstr(err);
	buf_printf(&tmp, "%s.%s%s", name, key, strncmp(e, "query", 5) == 0 ? e + 5 : e);
	buf_set(err, tmp.data, tmp.len);
	buf_free(&tmp);
}

int sql_conf_read(struct sql_conf *c, const struct config_env *conf, const char *name,
		  enum sql_dialect d, struct buf *err)
{
	struct buf key = BUF_INIT, q = BUF_INIT;
	uint64_t t;
	int rc = -1;
	opt_string(conf, name, "host", &c->host);
	opt_string(conf, name, "port", &c->port);
	opt_string(conf, name, "socket", &c->socket);
	opt_string(conf, name, "user", &c->user);
	opt_string(conf, name, "database", &c->database);
	opt_string(conf, name, "conninfo", &c->conninfo);
	opt_string(conf, name, "password_file", &key);
	if (key.len && read_password(&c->password, buf_cstr(&key), err) < 0)
		goto out;
	buf_reset(&key);
	buf_printf(&key, "%s.timeout", name);
	if (config_env_u64(conf, buf_cstr(&key), 5, 1, 300, CONFIG_UNIT_DURATION, &t, err) < 0)
		goto out;
	c->timeout_ms = (unsigned long)t * 1000;
	opt_string(conf, name, "query", &q);
	if (q.len == 0) {
		buf_error(err, "%s.query is not set", name);
		goto out;
	}
	if (sql_query_compile(&c->query, buf_cstr(&q), "und", d, err) < 0)
		goto out;
	opt_string(conf, name, "enum_query", &q);
	if (sql_query_compile(&c->enum_query, buf_cstr(&q), "", d, err) < 0) {
		buf_prepend_name(err, name, "enum_query");
		goto out;
	}
	opt_string(conf, name, "passwd_query", &q);
	if (sql_query_compile(&c->passwd_query, buf_cstr(&q), "undpsc", d, err) < 0) {
		buf_prepend_name(err, name, "passwd_query");
		goto out;
	}
	rc = 0;
out:
	buf_free(&key);
	buf_free(&q);
	return rc;
}

void sql_conf_free(struct sql_conf *c)
{
	struct buf *all[] = { &c->host, &c->port, &c->socket, &c->user, &c->database,
			      &c->password, &c->conninfo, &c->query.text, &c->enum_query.text,
			      &c->passwd_query.text };
	for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) {
		if (all[i]->data)
			explicit_bzero(all[i]->data, all[i]->cap);
		buf_free(all[i]);
	}
}

int sql_args_make(struct sql_args *a, const struct sql_query *q, const char *user)
{
	size_t len = strlen(user);
	if (len == 0 || len > SQL_USER_MAX)
		return -1;
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)user[i] < 0x20 || user[i] == 0x7f)
			return -1;
	const char *at = strrchr(user, '@');
	buf_set(&a->user, user, len);
	buf_set(&a->local, user, at ? (size_t)(at - user) : len);
	buf_set_str(&a->domain, at ? at + 1 : "");
	for (size_t i = 0; i < q->nparams; i++) {
		struct buf *b = q->params[i] == 'u' ? &a->user
				: q->params[i] == 'n' ? &a->local : &a->domain;
		a->values[i] = buf_cstr(b);
		a->lengths[i] = b->len;
	}
	return 0;
}

void sql_args_secrets(struct sql_args *a, const struct sql_query *q,
		      const struct backend_secrets *s)
{
	for (size_t i = 0; i < q->nparams; i++) {
		const char *v = q->params[i] == 'p' ? s->hash : q->params[i] == 's' ? s->scram
				: q->params[i] == 'c' ? s->cram : NULL;
		if (strchr("psc", q->params[i])) {
			a->values[i] = v ? v : "";
			a->lengths[i] = strlen(a->values[i]);
		}
	}
}

void sql_args_free(struct sql_args *a)
{
	buf_free(&a->user);
	buf_free(&a->local);
	buf_free(&a->domain);
}

static int parse_id(const char *v, size_t len, unsigned long *out)
{
	unsigned long n = 0;
	if (len == 0 || len > 10)
		return -1;
	for (size_t i = 0; i < len; i++) {
		if (v[i] < '0' || v[i] > '9')
			return -1;
		n = n * 10 + (unsigned long)(v[i] - '0');
	}
	if (n > UINT32_MAX - 1)
		return -1;
	*out = n;
	return 0;
}

int sql_set_column(struct backend_account *out, const char *column, const char *value,
		   size_t len, struct buf *err)
{
	static const struct { const char *name; size_t off; } text[] = {
		{ "address", offsetof(struct backend_account, address) },
		{ "home", offsetof(struct backend_account, home) },
		{ "maildir", offsetof(struct backend_account, maildir) },
		{ "quota", offsetof(struct backend_account, quota) },
		{ "options", offsetof(struct backend_account, options) },
		{ "password", offsetof(struct backend_account, systempw) },
		{ "scram", offsetof(struct backend_account, scrampw) },
		{ "cram", offsetof(struct backend_account, crampw) },
	};
	if (strcmp(column, "uid") == 0 || strcmp(column, "gid") == 0) {
		unsigned long n;
		if (parse_id(value, len, &n) < 0) {
			buf_error(err, "column %s: not a number", column);
			return -1;
		}
		if (column[0] == 'u')
			out->uid = (uid_t)n;
		else
			out->gid = (gid_t)n;
		return column[0] == 'u' ? SQL_SET_UID : SQL_SET_GID;
	}
	for (size_t i = 0; i < sizeof text / sizeof text[0]; i++)
		if (strcmp(column, text[i].name) == 0) {
			struct buf *b = (struct buf *)((char *)out + text[i].off);
			if (memchr(value, '\0', len) || memchr(value, '\n', len)) {
				buf_error(err, "column %s: NUL or newline in value", column);
				return -1;
			}
			buf_set(b, value, len);
		}
	return 0;
}

long long sql_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}
