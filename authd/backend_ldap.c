/* backend_ldap: accounts in an LDAP directory (OpenLDAP's libldap).
 *
 * lookup binds with ldap.binddn (or anonymously), searches ldap.base with
 * ldap.filter, whose %u %l %d placeholders are replaced by the user, its local
 * part and its domain, escaped per RFC 4515 so that a user name can never add
 * filter syntax. One entry is FOUND, none NOTFOUND, several or any server or
 * network failure (bounded by ldap.timeout) ERROR, i.e. TEMPFAIL.
 * verify either binds as the entry's DN with the password (ldap.auth = bind)
 * or checks the entry's password attribute with lib/passwd (compare).
 * enumerate lists the entries ldap.enum_filter finds (their ldap.address_attr
 * is the account's name); passwd replaces the password attribute (and the
 * SCRAM and CRAM-MD5 attributes when set), bound as the entry itself with the
 * old password (ldap.passwd = self) or as ldap.binddn (admin). Trusts the
 * directory's data only after checking it (numeric ids, no NUL bytes). */
#include "backend.h"
#include "alloc.h"
#include "config.h"
#include "file.h"
#include "passwd.h"

#define LDAP_DEPRECATED 0
#include <ldap.h>
#include <stdlib.h>
#include <string.h>

#define LDAP_MAX_VALUE 4096 /* longest attribute value accepted */

struct backend {
	char *uri, *base, *filter, *binddn;
	struct buf bindpw;
	int compare;           /* ldap.auth = compare */
	uint64_t timeout_s;
	uint64_t uid, gid;     /* defaults when the entry has no id attributes */
	const char *attr[10];  /* uid gid home maildir quota options password scram cram address */
	char *attr_store[10];
	char *enum_filter;
	int passwd;            /* 0 no PASSWD, 1 bound as the entry (self), 2 as binddn (admin) */
	struct buf dn;         /* DN of the entry the last lookup found */
	struct buf dn_user;    /* ... and for which user */
};

enum {
	A_UID, A_GID, A_HOME, A_MAILDIR, A_QUOTA, A_OPTIONS, A_PASSWORD, A_SCRAM, A_CRAM, A_ADDRESS,
	A_COUNT
};

static const char *const attr_setting[A_COUNT] = {
	"ldap.uid_attr", "ldap.gid_attr", "ldap.home_attr", "ldap.maildir_attr",
	"ldap.quota_attr", "ldap.options_attr", "ldap.password_attr", "ldap.scram_attr",
	"ldap.cram_attr", "ldap.address_attr",
};
static const char *const attr_default[A_COUNT] = {
	"uidNumber", "gidNumber", "homeDirectory", "mailMessageStore", "", "", "userPassword", "", "",
	"mail",
};

static char *setting(const struct config_env *conf, const char *name, const char *def)
{
	const char *v;
	config_env_string(conf, name, def, &v);
	return xstrdup(v);
}

static int read_bindpw(struct backend *be, const struct config_env *conf, struct buf *err)
{
	const char *file;
	config_env_string(conf, "ldap.bindpw_file", "", &file);
	if (*file == '\0')
		return 0;
	struct buf path = BUF_INIT;
	config_path(&path, file);
	int r = file_read(buf_cstr(&path), &be->bindpw, 1024);
	if (r < 0)
		buf_printf(err, "ldap.bindpw_file %s: cannot read", buf_cstr(&path));
	buf_free(&path);
	while (be->bindpw.len && (be->bindpw.data[be->bindpw.len - 1] == '\n' ||
				  be->bindpw.data[be->bindpw.len - 1] == '\r'))
		be->bindpw.len--;
	if (r == 0 && buf_has_nul(&be->bindpw)) {
		buf_set_str(err, "ldap.bindpw_file: NUL byte");
		r = -1;
	}
	return r < 0 ? -1 : 0;
}

static void ldap_close_be(struct backend *be)
{
	free(be->uri);
	free(be->base);
	free(be->filter);
	free(be->binddn);
	free(be->enum_filter);
	for (int i = 0; i < A_COUNT; i++)
		free(be->attr_store[i]);
	if (be->bindpw.data)
		explicit_bzero(be->bindpw.data, be->bindpw.cap);
	buf_free(&be->bindpw);
	buf_free(&be->dn);
	buf_free(&be->dn_user);
	free(be);
}

/* ldap.enum_filter (default: entries with an address) and ldap.passwd. */
static int ldap_open_more(struct backend *be, const struct config_env *conf, struct buf *err)
{
	const char *v;
	struct buf def = BUF_INIT;
	buf_printf(&def, "(%s=*)", be->attr[A_ADDRESS]);
	be->enum_filter = setting(conf, "ldap.enum_filter", buf_cstr(&def));
	buf_free(&def);
	config_env_string(conf, "ldap.passwd", "no", &v);
	be->passwd = strcmp(v, "self") == 0 ? 1 : strcmp(v, "admin") == 0 ? 2 : 0;
	if (be->passwd == 0 && strcmp(v, "no") != 0) {
		buf_printf(err, "ldap.passwd: \"no\", \"self\" or \"admin\", not \"%s\"", v);
		return -1;
	}
	if (*be->attr[A_ADDRESS] == '\0') {
		buf_set_str(err, "ldap.address_attr is empty");
		return -1;
	}
	return 0;
}

static struct backend *ldap_open_be(const struct config_env *conf, struct buf *err)
{
	struct backend *be = xcalloc(1, sizeof *be);
	const char *mode;
	be->uri = setting(conf, "ldap.uri", "ldap://127.0.0.1/");
	be->base = setting(conf, "ldap.base", "");
	be->filter = setting(conf, "ldap.filter", "(mail=%u)");
	be->binddn = setting(conf, "ldap.binddn", "");
	for (int i = 0; i < A_COUNT; i++)
		be->attr[i] = be->attr_store[i] = setting(conf, attr_setting[i], attr_default[i]);
	if (ldap_open_more(be, conf, err) < 0)
		goto fail;
	config_env_string(conf, "ldap.auth", "bind", &mode);
	if (strcmp(mode, "bind") != 0 && strcmp(mode, "compare") != 0) {
		buf_printf(err, "ldap.auth: \"bind\" or \"compare\", not \"%s\"", mode);
		goto fail;
	}
	be->compare = strcmp(mode, "compare") == 0;
	if (config_env_u64(conf, "ldap.timeout", 10, 1, 300, CONFIG_UNIT_DURATION, &be->timeout_s,
			   err) < 0 ||
	    config_env_u64(conf, "ldap.uid", 0, 0, 0xfffffffeu, CONFIG_UNIT_NONE, &be->uid, err) < 0 ||
	    config_env_u64(conf, "ldap.gid", 0, 0, 0xfffffffeu, CONFIG_UNIT_NONE, &be->gid, err) < 0 ||
	    read_bindpw(be, conf, err) < 0)
		goto fail;
	if (ldap_is_ldap_url(be->uri) == 0 && strncmp(be->uri, "ldapi://", 8) != 0 &&
	    strncmp(be->uri, "ldaps://", 8) != 0) {
		buf_printf(err, "ldap.uri: not an LDAP URI: %s", be->uri);
		goto fail;
	}
	return be;
fail:
	ldap_close_be(be);
	return NULL;
}

/* Append s[0..n) to f, escaped per RFC 4515 (and control bytes too). */
static void filter_escape(struct buf *f, const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c == '*' || c == '(' || c == ')' || c == '\\' || c < 0x20 || c == 0x7f)
			buf_printf(f, "\\%02x", c);
		else
			buf_append_char(f, (char)c);
	}
}

/* The search filter for user; -1 on a bad placeholder. */
static int filter_build(struct buf *f, const char *tmpl, const char *user, struct buf *err)
{
	const char *at = strrchr(user, '@');
	size_t ulen = strlen(user), llen = at ? (size_t)(at - user) : ulen;
	for (const char *p = tmpl; *p; p++) {
		if (*p != '%') {
			buf_append_char(f, *p);
			continue;
		}
		switch (*++p) {
		case 'u': filter_escape(f, user, ulen); break;
		case 'l': filter_escape(f, user, llen); break;
		case 'd': if (at) filter_escape(f, at + 1, strlen(at + 1)); break;
		case '%': buf_append_char(f, '%'); break;
		default:
			buf_printf(err, "ldap.filter: unknown placeholder %%%c (use %%u %%l %%d %%%%)",
				   *p ? *p : '?');
			return -1;
		}
	}
	return 0;
}

/* A connection to the server with every timeout set; NULL with err. */
static LDAP *connect_server(const struct backend *be, struct buf *err)
{
	LDAP *ld = NULL;
	int v3 = LDAP_VERSION3, rc;
	struct timeval tv = { (time_t)be->timeout_s, 0 };
	if ((rc = ldap_initialize(&ld, be->uri)) != LDAP_SUCCESS) {
		buf_printf(err, "ldap %s: %s", be->uri, ldap_err2string(rc));
		return NULL;
	}
	ldap_set_option(ld, LDAP_OPT_PROTOCOL_VERSION, &v3);
	ldap_set_option(ld, LDAP_OPT_REFERRALS, LDAP_OPT_OFF);
	ldap_set_option(ld, LDAP_OPT_NETWORK_TIMEOUT, &tv);
	ldap_set_option(ld, LDAP_OPT_TIMEOUT, &tv);
	return ld;
}

/* Simple bind; LDAP result code. An empty password is refused before it can
 * become an unauthenticated bind (RFC 4513 5.1.2). */
static int simple_bind(LDAP *ld, const char *dn, const char *pw, size_t len)
{
	struct berval cred = { (ber_len_t)len, (char *)pw };
	if (*dn && len == 0)
		return LDAP_INVALID_CREDENTIALS;
	return ldap_sasl_bind_s(ld, dn, LDAP_SASL_SIMPLE, &cred, NULL, NULL, NULL);
}

/* The first value of attribute name into out; 0 absent, 1 set, -1 bad. */
static int get_value(LDAP *ld, LDAPMessage *e, const char *name, struct buf *out)
{
	buf_reset(out);
	if (*name == '\0')
		return 0;
	struct berval **vals = ldap_get_values_len(ld, e, name);
	if (vals == NULL || vals[0] == NULL) {
		ldap_value_free_len(vals);
		return 0;
	}
	int r = 1;
	if (vals[0]->bv_len > LDAP_MAX_VALUE || memchr(vals[0]->bv_val, '\0', vals[0]->bv_len))
		r = -1;
	else
		buf_set(out, vals[0]->bv_val, vals[0]->bv_len);
	ldap_value_free_len(vals);
	return r;
}

static int parse_id(const struct buf *b, uint64_t def, int present, uint64_t *out)
{
	uint64_t n = 0;
	if (!present) {
		*out = def;
		return 0;
	}
	if (b->len == 0 || b->len > 10)
		return -1;
	for (size_t i = 0; i < b->len; i++) {
		if (b->data[i] < '0' || b->data[i] > '9')
			return -1;
		n = n * 10 + (uint64_t)(b->data[i] - '0');
	}
	if (n > 0xfffffffeu)
		return -1;
	*out = n;
	return 0;
}

/* Fill out from entry e. */
static int fill_account(struct backend *be, LDAP *ld, LDAPMessage *e, const char *user,
			struct backend_account *out, struct buf *err)
{
	struct buf *dest[A_COUNT] = { NULL, NULL, &out->home, &out->maildir, &out->quota,
				      &out->options, &out->systempw, &out->scrampw, &out->crampw, NULL };
	struct buf idv = BUF_INIT;
	uint64_t uid = 0, gid = 0;
	int bad = 0;
	backend_account_reset(out);
	buf_set_str(&out->address, user);
	for (int i = A_HOME; i < A_COUNT; i++)
		if (dest[i] && get_value(ld, e, be->attr[i], dest[i]) < 0)
			bad = 1;
	int p = get_value(ld, e, be->attr[A_UID], &idv);
	bad |= p < 0 || parse_id(&idv, be->uid, p > 0, &uid) < 0;
	p = get_value(ld, e, be->attr[A_GID], &idv);
	bad |= p < 0 || parse_id(&idv, be->gid, p > 0, &gid) < 0;
	buf_free(&idv);
	char *dn = ldap_get_dn(ld, e);
	if (bad || dn == NULL) {
		buf_printf(err, "entry %s: an attribute is malformed (ids, NUL, > %d bytes)",
			   dn ? dn : "?", LDAP_MAX_VALUE);
		ldap_memfree(dn);
		return -1;
	}
	out->uid = (uid_t)uid;
	out->gid = (gid_t)gid;
	buf_set_str(&be->dn, dn);
	buf_set_str(&be->dn_user, user);
	ldap_memfree(dn);
	return 0;
}

/* Search for user on a bound connection. */
static int search_user(struct backend *be, LDAP *ld, const char *user,
		       struct backend_account *out, struct buf *err)
{
	struct buf filter = BUF_INIT;
	struct timeval tv = { (time_t)be->timeout_s, 0 };
	LDAPMessage *res = NULL;
	char *attrs[A_COUNT + 1];
	int n = 0, rc = BACKEND_ERROR;
	for (int i = 0; i < A_COUNT; i++)
		if (*be->attr[i])
			attrs[n++] = (char *)be->attr[i];
	attrs[n] = NULL;
	if (filter_build(&filter, be->filter, user, err) < 0)
		goto out;
	int r = ldap_search_ext_s(ld, be->base, LDAP_SCOPE_SUBTREE, buf_cstr(&filter), attrs, 0,
				  NULL, NULL, &tv, 2, &res);
	if (r == LDAP_SIZELIMIT_EXCEEDED || (r == LDAP_SUCCESS && ldap_count_entries(ld, res) > 1)) {
		buf_printf(err, "filter %s matches several entries", buf_cstr(&filter));
	} else if (r == LDAP_NO_SUCH_OBJECT) {
		buf_printf(err, "ldap.base %s: no such object", be->base);
	} else if (r != LDAP_SUCCESS) {
		buf_printf(err, "search %s: %s", be->uri, ldap_err2string(r));
	} else {
		LDAPMessage *e = ldap_first_entry(ld, res);
		rc = e == NULL ? BACKEND_NOTFOUND
			       : fill_account(be, ld, e, user, out, err) < 0 ? BACKEND_ERROR
									     : BACKEND_FOUND;
	}
out:
	if (res)
		ldap_msgfree(res);
	buf_free(&filter);
	return rc;
}

static int ldap_lookup_be(struct backend *be, const char *service, const char *user,
			  struct backend_account *out, struct buf *err)
{
	(void)service;
	buf_reset(&be->dn);
	buf_reset(&be->dn_user);
	LDAP *ld = connect_server(be, err);
	if (ld == NULL)
		return BACKEND_ERROR;
	int rc = simple_bind(ld, be->binddn, be->bindpw.data ? be->bindpw.data : "", be->bindpw.len);
	if (rc != LDAP_SUCCESS) {
		buf_printf(err, "bind %s as %s: %s", be->uri, *be->binddn ? be->binddn : "anonymous",
			   ldap_err2string(rc));
		rc = BACKEND_ERROR;
	} else {
		rc = search_user(be, ld, user, out, err);
	}
	ldap_unbind_ext_s(ld, NULL, NULL);
	return rc;
}

static int ldap_verify_be(struct backend *be, const char *service, const struct backend_account *acct,
			  const char *pass, size_t len, struct buf *err)
{
	(void)service;
	if (be->compare) {
		const struct buf *s = &acct->systempw;
		return passwd_verify(pass, len, s->len ? s->data : "") ? 1 : 0;
	}
	if (be->dn.len == 0 || !buf_eq_str(&be->dn_user, buf_cstr((struct buf *)&acct->address))) {
		buf_set_str(err, "verify without a matching lookup");
		return -1;
	}
	if (len == 0 || memchr(pass, '\0', len))
		return 0;
	LDAP *ld = connect_server(be, err);
	if (ld == NULL)
		return -1;
	int rc = simple_bind(ld, buf_cstr(&be->dn), pass, len), r;
	if (rc == LDAP_SUCCESS) {
		r = 1;
	} else if (rc == LDAP_INVALID_CREDENTIALS || rc == LDAP_INAPPROPRIATE_AUTH) {
		r = 0;
	} else {
		buf_printf(err, "bind %s as %s: %s", be->uri, buf_cstr(&be->dn), ldap_err2string(rc));
		r = -1;
	}
	ldap_unbind_ext_s(ld, NULL, NULL);
	return r;
}

/* A connection bound as dn with pw: NULL with err. */
static LDAP *bound(struct backend *be, const char *dn, const char *pw, size_t len, struct buf *err)
{
	LDAP *ld = connect_server(be, err);
	if (ld == NULL)
		return NULL;
	int rc = simple_bind(ld, dn, pw, len);
	if (rc == LDAP_SUCCESS)
		return ld;
	buf_printf(err, "bind %s as %s: %s", be->uri, *dn ? dn : "anonymous", ldap_err2string(rc));
	ldap_unbind_ext_s(ld, NULL, NULL);
	return NULL;
}

/* Each entry of a search result as an account named by its address attribute. */
static int enum_entries(struct backend *be, LDAP *ld, LDAPMessage *res,
			int (*each)(void *ctx, const struct backend_account *a), void *ctx,
			struct buf *err)
{
	struct backend_account a;
	struct buf addr = BUF_INIT;
	int rc = 0;
	memset(&a, 0, sizeof a);
	for (LDAPMessage *e = ldap_first_entry(ld, res); e && rc == 0; e = ldap_next_entry(ld, e)) {
		int r = get_value(ld, e, be->attr[A_ADDRESS], &addr);
		if (r == 0)
			continue; /* not an account */
		if (r < 0 || fill_account(be, ld, e, buf_cstr(&addr), &a, err) < 0) {
			if (err->len == 0)
				buf_printf(err, "an entry's %s is malformed", be->attr[A_ADDRESS]);
			rc = -1;
		} else if (each(ctx, &a)) {
			break;
		}
	}
	backend_account_free(&a);
	buf_free(&addr);
	return rc;
}

static int ldap_enum_be(struct backend *be, int (*each)(void *ctx, const struct backend_account *a),
			void *ctx, struct buf *err)
{
	struct timeval tv = { (time_t)be->timeout_s, 0 };
	LDAPMessage *res = NULL;
	char *attrs[A_COUNT + 1];
	int n = 0, rc = -1;
	for (int i = 0; i < A_COUNT; i++)
		if (*be->attr[i] && i != A_PASSWORD && i != A_SCRAM && i != A_CRAM)
			attrs[n++] = (char *)be->attr[i];
	attrs[n] = NULL;
	LDAP *ld = bound(be, be->binddn, be->bindpw.data ? be->bindpw.data : "", be->bindpw.len, err);
	if (ld == NULL)
		return -1;
	int r = ldap_search_ext_s(ld, be->base, LDAP_SCOPE_SUBTREE, be->enum_filter, attrs, 0,
				  NULL, NULL, &tv, 0, &res);
	if (r != LDAP_SUCCESS)
		buf_printf(err, "search %s %s: %s", be->uri, be->enum_filter, ldap_err2string(r));
	else
		rc = enum_entries(be, ld, res, each, ctx, err);
	if (res)
		ldap_msgfree(res);
	ldap_unbind_ext_s(ld, NULL, NULL);
	return rc;
}

/* One "replace attr with value" modification, or nothing when attr is unset. */
static void add_mod(LDAPMod **mods, LDAPMod *m, struct berval *bv, struct berval **vals,
		    size_t *n, const char *attr, const char *value)
{
	if (*attr == '\0' || value == NULL)
		return;
	*bv = (struct berval){ (ber_len_t)strlen(value), (char *)value };
	vals[0] = bv;
	vals[1] = NULL;
	*m = (LDAPMod){ .mod_op = LDAP_MOD_REPLACE | LDAP_MOD_BVALUES, .mod_type = (char *)attr,
			.mod_vals.modv_bvals = vals };
	mods[(*n)++] = m;
	mods[*n] = NULL;
}

static int ldap_passwd_be(struct backend *be, const char *service, const struct backend_account *acct,
			  const struct backend_secrets *sec, struct buf *err)
{
	(void)service;
	if (be->passwd == 0)
		return 0;
	if (be->dn.len == 0 || !buf_eq_str(&be->dn_user, buf_cstr((struct buf *)&acct->address))) {
		buf_set_str(err, "passwd without a matching lookup");
		return -1;
	}
	struct buf crypt = BUF_INIT;
	buf_printf(&crypt, "{CRYPT}%s", sec->hash);
	LDAPMod m[3], *mods[4];
	struct berval bv[3], *vals[3][2];
	size_t n = 0;
	mods[0] = NULL;
	add_mod(mods, &m[0], &bv[0], vals[0], &n, be->attr[A_PASSWORD], buf_cstr(&crypt));
	add_mod(mods, &m[1], &bv[1], vals[1], &n, be->attr[A_SCRAM], sec->scram);
	add_mod(mods, &m[2], &bv[2], vals[2], &n, be->attr[A_CRAM], sec->cram);
	const char *dn = be->passwd == 1 ? buf_cstr(&be->dn) : be->binddn;
	LDAP *ld = be->passwd == 1 ? bound(be, dn, sec->old, sec->oldlen, err)
				   : bound(be, dn, be->bindpw.data ? be->bindpw.data : "",
					   be->bindpw.len, err);
	int rc = -1;
	if (ld) {
		int r = ldap_modify_ext_s(ld, buf_cstr(&be->dn), mods, NULL, NULL);
		rc = r == LDAP_SUCCESS ? 1 : r == LDAP_NO_SUCH_OBJECT ? 0 : -1;
		if (rc < 0)
			buf_printf(err, "modify %s: %s", buf_cstr(&be->dn), ldap_err2string(r));
		ldap_unbind_ext_s(ld, NULL, NULL);
	}
	explicit_bzero(crypt.data, crypt.cap);
	buf_free(&crypt);
	return rc;
}

const struct backend_ops backend_ldap = {
	.name = "ldap",
	.open = ldap_open_be,
	.lookup = ldap_lookup_be,
	.verify = ldap_verify_be,
	.enumerate = ldap_enum_be,
	.passwd = ldap_passwd_be,
	.close = ldap_close_be,
};
