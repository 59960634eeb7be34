/* Tests of backend_sql: query placeholders, the user name's parts and the
 * parsing of a row's columns, with hostile names and values. */
#include "backend_sql.h"
#include "unit.h"

#include <string.h>

static void account_free(struct backend_account *a)
{
	struct buf *all[] = { &a->address, &a->home, &a->maildir, &a->quota, &a->options,
			      &a->systempw, &a->servicepw, &a->scrampw, &a->crampw };
	for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
		buf_free(all[i]);
}

TEST(query_placeholders_pg_and_mysql)
{
	struct sql_query q = { BUF_INIT, 0, { 0 } };
	struct buf err = BUF_INIT;
	CHECK_INT(sql_query_compile(&q, "SELECT 1 FROM t WHERE a = %n AND b = %d OR c = %u "
				    "AND d LIKE '50%%'", "und", SQL_DIALECT_PG, &err), 0);
	CHECK_BUF(q.text, "SELECT 1 FROM t WHERE a = $1 AND b = $2 OR c = $3 AND d LIKE '50%'");
	CHECK_INT(q.nparams, 3);
	CHECK_MEM(q.params, 3, "ndu", 3);
	CHECK_INT(sql_query_compile(&q, "x=%u y=%u", "und", SQL_DIALECT_MYSQL, &err), 0);
	CHECK_BUF(q.text, "x=? y=?");
	CHECK_INT(q.nparams, 2);
	buf_free(&q.text);
	buf_free(&err);
}

TEST(query_bad_placeholders)
{
	struct sql_query q = { BUF_INIT, 0, { 0 } };
	struct buf err = BUF_INIT;
	CHECK_INT(sql_query_compile(&q, "a = %x", "und", SQL_DIALECT_PG, &err), -1);
	CHECK(strstr(buf_cstr(&err), "%x") != NULL);
	CHECK_INT(sql_query_compile(&q, "a = %", "und", SQL_DIALECT_PG, &err), -1);
	struct buf many = BUF_INIT;
	for (int i = 0; i <= SQL_MAX_PARAMS; i++)
		buf_append_str(&many, "%u,");
	CHECK_INT(sql_query_compile(&q, buf_cstr(&many), "und", SQL_DIALECT_MYSQL, &err), -1);
	buf_free(&many);
	buf_free(&q.text);
	buf_free(&err);
}

TEST(args_split_and_refuse)
{
	struct sql_query q = { BUF_INIT, 0, { 0 } };
	struct buf err = BUF_INIT;
	CHECK_INT(sql_query_compile(&q, "%u %n %d", "und", SQL_DIALECT_PG, &err), 0);
	struct sql_args a;
	memset(&a, 0, sizeof a);
	CHECK_INT(sql_args_make(&a, &q, "joe@x@example.test"), 0);
	CHECK_STR(a.values[0], "joe@x@example.test");
	CHECK_STR(a.values[1], "joe@x");
	CHECK_STR(a.values[2], "example.test");
	CHECK_INT(a.lengths[2], 12);
	CHECK_INT(sql_args_make(&a, &q, "' OR 1=1 --"), 0); /* only ever a parameter */
	CHECK_STR(a.values[1], "' OR 1=1 --");
	CHECK_STR(a.values[2], "");
	CHECK_INT(sql_args_make(&a, &q, ""), -1);
	CHECK_INT(sql_args_make(&a, &q, "a\tb"), -1);
	CHECK_INT(sql_args_make(&a, &q, "a\x7f"), -1);
	char longname[SQL_USER_MAX + 2];
	memset(longname, 'a', sizeof longname - 1);
	longname[sizeof longname - 1] = '\0';
	CHECK_INT(sql_args_make(&a, &q, longname), -1);
	longname[SQL_USER_MAX] = '\0';
	CHECK_INT(sql_args_make(&a, &q, longname), 0);
	sql_args_free(&a);
	buf_free(&q.text);
	buf_free(&err);
}

TEST(columns)
{
	struct backend_account a;
	struct buf err = BUF_INIT;
	memset(&a, 0, sizeof a);
	CHECK_INT(sql_set_column(&a, "uid", "1000", 4, &err), SQL_SET_UID);
	CHECK_INT(sql_set_column(&a, "gid", "4294967294", 10, &err), SQL_SET_GID);
	CHECK_INT(a.uid, 1000);
	CHECK_INT(a.gid, 4294967294LL);
	CHECK_INT(sql_set_column(&a, "home", "/home/joe", 9, &err), 0);
	CHECK_BUF(a.home, "/home/joe");
	CHECK_INT(sql_set_column(&a, "password", "{SHA512-CRYPT}$6$x", 18, &err), 0);
	CHECK_BUF(a.systempw, "{SHA512-CRYPT}$6$x");
	CHECK_INT(sql_set_column(&a, "other", "\n", 1, &err), 0); /* ignored */
	CHECK_INT(sql_set_column(&a, "uid", "-1", 2, &err), -1);
	CHECK_INT(sql_set_column(&a, "uid", "4294967295", 10, &err), -1);
	CHECK_INT(sql_set_column(&a, "uid", "99999999999", 11, &err), -1);
	CHECK_INT(sql_set_column(&a, "uid", "", 0, &err), -1);
	CHECK_INT(sql_set_column(&a, "gid", "1 ", 2, &err), -1);
	CHECK_INT(sql_set_column(&a, "home", "/a\0b", 4, &err), -1);
	CHECK_INT(sql_set_column(&a, "options", "x\ny", 3, &err), -1);
	CHECK_BUF(a.home, "/home/joe");
	account_free(&a);
	buf_free(&err);
}

TEST(passwd_and_enum_placeholders)
{
	struct sql_query q = { BUF_INIT, 0, { 0 } };
	struct buf err = BUF_INIT;
	/* the lookup query knows no secrets; enum_query no placeholder at all */
	CHECK_INT(sql_query_compile(&q, "SELECT %p", "und", SQL_DIALECT_PG, &err), -1);
	CHECK_INT(sql_query_compile(&q, "SELECT * FROM u WHERE a = %u", "", SQL_DIALECT_PG, &err),
		  -1);
	CHECK_INT(sql_query_compile(&q, "SELECT a FROM u WHERE b LIKE '%%'", "", SQL_DIALECT_PG,
				    &err), 0);
	CHECK_BUF(q.text, "SELECT a FROM u WHERE b LIKE '%'");
	CHECK_INT(sql_query_compile(&q, "UPDATE u SET p = %p, s = %s, c = %c WHERE l = %n AND d = %d",
				    "undpsc", SQL_DIALECT_PG, &err), 0);
	CHECK_BUF(q.text, "UPDATE u SET p = $1, s = $2, c = $3 WHERE l = $4 AND d = $5");
	struct sql_args a;
	memset(&a, 0, sizeof a);
	CHECK_INT(sql_args_make(&a, &q, "joe@example.test"), 0);
	struct backend_secrets s = { "$y$hash", "{SCRAM-SHA-256}k", NULL, NULL, 0 };
	sql_args_secrets(&a, &q, &s);
	CHECK_STR(a.values[0], "$y$hash");
	CHECK_STR(a.values[1], "{SCRAM-SHA-256}k");
	CHECK_STR(a.values[2], "");
	CHECK_INT((int)a.lengths[2], 0);
	CHECK_STR(a.values[3], "joe");
	CHECK_STR(a.values[4], "example.test");
	sql_args_free(&a);
	buf_free(&q.text);
	buf_free(&err);
}

TEST(address_and_secret_columns)
{
	struct backend_account a;
	struct buf err = BUF_INIT;
	memset(&a, 0, sizeof a);
	CHECK_INT(sql_set_column(&a, "address", "joe@example.test", 16, &err), 0);
	CHECK_BUF(a.address, "joe@example.test");
	CHECK_INT(sql_set_column(&a, "scram", "{SCRAM-SHA-256}x", 16, &err), 0);
	CHECK_BUF(a.scrampw, "{SCRAM-SHA-256}x");
	CHECK_INT(sql_set_column(&a, "cram", "{CRAM-MD5}y", 11, &err), 0);
	CHECK_BUF(a.crampw, "{CRAM-MD5}y");
	CHECK_INT(sql_set_column(&a, "address", "a\nb", 3, &err), -1);
	account_free(&a);
	buf_free(&err);
}
