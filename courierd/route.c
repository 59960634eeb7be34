/* courierd: where a recipient goes (courierd(8) ROUTING).
 *
 * A domain listed in locals (default: me) is local: the address is looked up
 * in the aliases map (full address, then the local part), then as an account
 * in authd; failing both, without its extension (user-ext, user+ext: the
 * first delimiter splits). authd's TEMPFAIL defers, never bounces. Any other
 * domain goes to the remote module. Trusts its configuration and authd. */
#include "courierd.h"
#include "aliases.h"
#include "alloc.h"
#include "authconn.h"
#include "log.h"
#include "map.h"
#include "paths.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <string.h>
#include <strings.h>

#define LOOKUP_TIMEOUT_MS 10000

static struct map *amap;
static struct buf amap_err; /* why the map could not be opened */

void route_init(struct cd_route_result *r)
{
	memset(r, 0, sizeof *r);
}

void route_free(struct cd_route_result *r)
{
	buf_free(&r->account);
	buf_free(&r->ext);
	buf_free(&r->dest);
	buf_free(&r->text);
}

void route_reopen(void)
{
	if (amap)
		map_close(amap);
	amap = NULL;
}

static void set(struct cd_route_result *r, const char *code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void set(struct cd_route_result *r, const char *code, const char *fmt, ...)
{
	va_list ap;
	memcpy(r->code, code, 4);
	buf_reset(&r->text);
	va_start(ap, fmt);
	buf_vprintf(&r->text, fmt, ap);
	va_end(ap);
}

static int is_local_domain(const char *d)
{
	if (cd_conf.locals.count == 0)
		return strcasecmp(d, buf_cstr(&cd_conf.me)) == 0;
	for (size_t i = 0; i < cd_conf.locals.count; i++)
		if (strcasecmp(d, cd_conf.locals.items[i]) == 0)
			return 1;
	return 0;
}

/* MAP_FOUND with the targets in value, MAP_NOTFOUND, MAP_ERROR. */
static int alias_find(const char *local, size_t llen, const char *domain, struct buf *value,
		      struct buf *matched)
{
	if (amap == NULL) {
		/* retried on every lookup: a map that appears later is used at once */
		struct buf path = BUF_INIT;
		config_path(&path, "aliases.cdb");
		amap = map_open(buf_cstr(&path), &amap_err);
		int e = errno;
		buf_free(&path);
		if (amap == NULL)
			return e == ENOENT ? MAP_NOTFOUND : MAP_ERROR;
	}
	struct buf key = BUF_INIT;
	buf_append(&key, local, llen);
	buf_printf(&key, "@%s", domain);
	int r = map_lookup_lower(amap, key.data, key.len, value);
	if (r == MAP_NOTFOUND) {
		buf_set(&key, local, llen);
		r = map_lookup_lower(amap, local, llen, value);
	}
	for (size_t i = 0; i < key.len; i++)
		key.data[i] = (char)tolower((unsigned char)key.data[i]);
	buf_set(matched, key.data, key.len);
	buf_free(&key);
	return r;
}

/* 1 account found, 0 none, -1 tempfail (text set). */
static int account_find(const char *local, size_t llen, const char *domain,
			struct cd_route_result *r)
{
	struct buf req = BUF_INIT, user = BUF_INIT, reason = BUF_INIT;
	struct account a = ACCOUNT_INIT;
	buf_append(&user, local, llen);
	buf_printf(&user, "@%s", domain);
	authclient_lookup_request(&req, "courierd", buf_cstr(&user));
	static struct authconn conn = AUTHCONN_INIT; /* one connection for many look-ups */
	int rc = authconn_request(&conn, buf_cstr(&req), LOOKUP_TIMEOUT_MS, &a, &reason);
	if (rc == AUTHCLIENT_OK) {
		buf_set_str(&r->account, a.address[0] ? a.address : buf_cstr(&user));
		buf_reset(&r->dest);
		buf_printf(&r->dest, "local:%s", buf_cstr(&r->account));
	} else if (rc == AUTHCLIENT_TEMPFAIL) {
		set(r, "451", "4.3.0 account lookup failed (%s), will retry", buf_cstr(&reason));
	}
	account_free(&a);
	buf_free(&req);
	buf_free(&user);
	buf_free(&reason);
	return rc == AUTHCLIENT_OK ? 1 : rc == AUTHCLIENT_NO ? 0 : -1;
}

/* Alias, then account, for local (llen bytes) at domain. 1 routed, 0 not
 * found, -1 deferred. */
static int try_name(const char *local, size_t llen, const char *domain,
		    struct cd_route_result *r)
{
	int a = alias_find(local, llen, domain, &r->account, &r->ext);
	if (a == MAP_ERROR) {
		log_error("aliases: %s", amap ? map_error(amap) : buf_cstr(&amap_err));
		set(r, "451", "4.3.0 aliases map unusable, will retry");
		return -1;
	}
	if (a == MAP_FOUND) {
		r->route = CD_ALIAS;
		buf_reset(&r->dest);
		buf_printf(&r->dest, "alias:%s", buf_cstr(&r->ext)); /* ext: the key */
		return 1;
	}
	int f = account_find(local, llen, domain, r);
	buf_reset(&r->ext);
	if (f > 0)
		r->route = CD_LOCAL;
	return f;
}

static void route_local(const char *local, size_t llen, const char *domain,
			struct cd_route_result *r)
{
	int f = try_name(local, llen, domain, r);
	if (f != 0)
		return;
	size_t base = strcspn(local, cd_conf.delimiters);
	if (base > 0 && base < llen) {
		f = try_name(local, base, domain, r);
		if (f > 0 && r->route == CD_LOCAL)
			buf_set(&r->ext, local + base + 1, llen - base - 1);
		if (f != 0)
			return;
	}
	set(r, "550", "5.1.1 no such user here");
}

void route_rcpt(const char *addr, struct cd_route_result *r)
{
	const char *at = strrchr(addr, '@');
	struct buf domain = BUF_INIT;
	size_t llen = at ? (size_t)(at - addr) : strlen(addr);
	buf_set_str(&domain, at ? at + 1 : buf_cstr(&cd_conf.me));
	for (size_t i = 0; i < domain.len; i++)
		domain.data[i] = (char)tolower((unsigned char)domain.data[i]);
	r->code[0] = '\0';
	if (!is_local_domain(buf_cstr(&domain))) {
		r->route = CD_REMOTE;
		buf_set_str(&r->account, buf_cstr(&domain));
		buf_reset(&r->dest);
		buf_printf(&r->dest, "remote:%s", buf_cstr(&domain));
	} else {
		r->route = CD_LOCAL;
		route_local(addr, llen, buf_cstr(&domain), r);
	}
	buf_free(&domain);
}
