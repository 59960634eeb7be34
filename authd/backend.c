/* backend: the registry of authd's backends and the account record. */
#include "backend.h"

#include <string.h>

static const struct backend_ops *const all[] = {
	&backend_userdb,
	&backend_pgsql,
	&backend_mysql,
	&backend_ldap,
	&backend_system,
};

const char *const backend_settings[] = {
	"userdb.file",
	"pgsql.conninfo", "pgsql.host", "pgsql.port", "pgsql.socket", "pgsql.user",
	"pgsql.database", "pgsql.password_file", "pgsql.timeout", "pgsql.query",
	"pgsql.enum_query", "pgsql.passwd_query",
	"mysql.host", "mysql.port", "mysql.socket", "mysql.user", "mysql.database",
	"mysql.password_file", "mysql.timeout", "mysql.query", "mysql.enum_query",
	"mysql.passwd_query",
	"ldap.uri", "ldap.base", "ldap.filter", "ldap.binddn", "ldap.bindpw_file", "ldap.auth",
	"ldap.timeout", "ldap.uid", "ldap.gid", "ldap.uid_attr", "ldap.gid_attr", "ldap.home_attr",
	"ldap.maildir_attr", "ldap.quota_attr", "ldap.options_attr", "ldap.password_attr",
	"ldap.scram_attr", "ldap.cram_attr", "ldap.address_attr", "ldap.enum_filter",
	"ldap.passwd",
	"system.pam_service", "system.domain", "system.min_uid",
	NULL,
};

const struct backend_ops *backend_find(const char *name)
{
	for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
		if (strcmp(all[i]->name, name) == 0)
			return all[i];
	return NULL;
}

static void wipe(struct buf *b)
{
	if (b->data)
		explicit_bzero(b->data, b->cap);
	buf_reset(b);
}

void backend_account_reset(struct backend_account *a)
{
	buf_reset(&a->address);
	buf_reset(&a->home);
	buf_reset(&a->maildir);
	buf_reset(&a->quota);
	buf_reset(&a->options);
	wipe(&a->systempw);
	wipe(&a->servicepw);
	wipe(&a->scrampw);
	wipe(&a->crampw);
	a->uid = 0;
	a->gid = 0;
}

void backend_account_free(struct backend_account *a)
{
	backend_account_reset(a);
	buf_free(&a->address);
	buf_free(&a->home);
	buf_free(&a->maildir);
	buf_free(&a->quota);
	buf_free(&a->options);
	buf_free(&a->systempw);
	buf_free(&a->servicepw);
	buf_free(&a->scrampw);
	buf_free(&a->crampw);
}
