/* smtpd policy: which clients may talk and relay (the access map
 * smtpaccess.cdb, keyed by IP, network and verified host name), and which
 * recipients are accepted: local domains (locals) with the account checked by
 * authd, relayed-for domains (rcpthosts), anything else only for clients that
 * may relay. Routing syntax in local parts ('%', '!', '@') is never accepted
 * for a local domain, so no relay hack can pass through a local address. */
#include "smtpd.h"

#include "addr.h"
#include "authclient.h"
#include "config.h"
#include "log.h"
#include "map.h"

#include <errno.h>
#include <string.h>
#include <strings.h>

static int access_value(struct session *s, const struct buf *v)
{
	const char *p = v->data ? v->data : "";
	size_t w = strcspn(p, " \t");
	if (w == 5 && strncasecmp(p, "allow", 5) == 0)
		s->access = ACCESS_ALLOW;
	else if (w == 5 && strncasecmp(p, "relay", 5) == 0)
		s->access = ACCESS_RELAY;
	else if (w == 4 && strncasecmp(p, "deny", 4) == 0) {
		s->access = ACCESS_DENY;
		p += w + strspn(p + w, " \t");
		buf_set_str(&s->access_msg, *p ? p : "Access denied");
	} else {
		log_warn("smtpaccess: unknown value \"%s\" for %s, ignored", p, s->ip);
	}
	return 0;
}

int policy_client(struct session *s)
{
	struct buf path = BUF_INIT, err = BUF_INIT, val = BUF_INIT;
	int rc = 0;
	config_path(&path, "smtpaccess.cdb");
	struct map *m = map_open(buf_cstr(&path), &err);
	if (!m) {
		if (errno != ENOENT) {
			log_error("%s", buf_cstr(&err));
			rc = -1;
		}
		goto out;
	}
	int r = *s->ip ? map_lookup_ip(m, s->ip, &val, NULL) : MAP_NOTFOUND;
	if (r == MAP_NOTFOUND && *s->host)
		r = map_lookup_domain(m, s->host, strlen(s->host), &val, NULL);
	if (r == MAP_ERROR) {
		log_error("smtpaccess: %s", map_error(m));
		rc = -1;
	} else if (r == MAP_FOUND) {
		rc = access_value(s, &val);
	}
	map_close(m);
out:
	buf_free(&path);
	buf_free(&err);
	buf_free(&val);
	return rc;
}

int policy_may_relay(const struct session *s)
{
	return s->authed || s->access == ACCESS_RELAY;
}

int policy_domain_listed(const struct config_list *l, const char *domain, size_t len)
{
	for (size_t i = 0; l && i < l->count; i++)
		if (strlen(l->items[i]) == len && strncasecmp(l->items[i], domain, len) == 0)
			return 1;
	return 0;
}

static void reject(struct session *s, const struct buf *rcpt, const char *text)
{
	log_info("smtp reject ip=%s from=<%s> rcpt=<%s> reply=\"%s\"", s->ip,
		 buf_cstr(&s->txn.sender), rcpt->data ? rcpt->data : "", text);
	reply_error(s, "%s", text);
}

static int lookup(const char *address, struct buf *why)
{
	struct account acct = ACCOUNT_INIT;
	int r = authclient_lookup(NULL, "smtp", address, &acct, why);
	account_free(&acct);
	return r;
}

static int has_upper(const char *p, size_t n)
{
	if (!p)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (p[i] >= 'A' && p[i] <= 'Z')
			return 1;
	return 0;
}

static int routing_chars(const struct addr *a)
{
	const char *lp = a->local.data ? a->local.data : "";
	size_t ll = a->local.len;
	return memchr(lp, '%', ll) || memchr(lp, '!', ll) || memchr(lp, '@', ll) || memchr(lp, '\0', ll);
}

/* Ask authd about a local address (an AUTHCLIENT_ result). Local parts are
 * tried as given, then in lowercase (accounts are usually stored so; RFC 5321
 * 2.4 leaves their case to us). */
int policy_lookup_local(const struct addr *a, const struct buf *canon)
{
	struct buf why = BUF_INIT;
	int r = lookup(canon->data, &why);
	if (r == AUTHCLIENT_NO && has_upper(a->local.data, a->local.len)) {
		struct buf lower = BUF_INIT;
		buf_set(&lower, canon->data, canon->len);
		for (size_t i = 0; i < lower.len; i++) /* the domain is lowercase already */
			if (lower.data[i] >= 'A' && lower.data[i] <= 'Z')
				lower.data[i] = (char)(lower.data[i] - 'A' + 'a');
		r = lookup(lower.data, &why);
		buf_free(&lower);
	}
	if (r == AUTHCLIENT_TEMPFAIL)
		log_warn("recipient check for %s: %s", canon->data, buf_cstr(&why));
	buf_free(&why);
	return r;
}

/* A local address: routing syntax refused, the account checked unless checks are off. */
static int policy_local(struct session *s, const struct addr *a, const struct buf *canon)
{
	if (routing_chars(a)) {
		reject(s, canon, "550 5.1.1 Routing characters in local part refused");
		return -1;
	}
	if (!s->conf->recipient_check ||
	    (a->local.len == 10 && strncasecmp(a->local.data, "postmaster", 10) == 0))
		return 0;
	int r = policy_lookup_local(a, canon);
	if (r == AUTHCLIENT_OK)
		return 0;
	if (r == AUTHCLIENT_NO)
		reject(s, canon, "550 5.1.1 No such user here");
	else
		reject(s, canon, "451 4.3.0 Cannot check the recipient now, try again later");
	return -1;
}

/* VRFY with vrfy = yes: only local addresses are answered. */
int policy_vrfy(struct session *s, const struct addr *a, const struct buf *canon)
{
	if (!policy_domain_listed(s->locals, a->domain.data, a->domain.len) || routing_chars(a))
		return -1;
	return policy_lookup_local(a, canon);
}

int policy_rcpt(struct session *s, const struct addr *a, const struct buf *canon)
{
	if (a->domain.len == 0) /* <postmaster>, RFC 5321 4.5.1 */
		return 0;
	if (policy_domain_listed(s->locals, a->domain.data, a->domain.len))
		return policy_local(s, a, canon);
	if (policy_domain_listed(s->rcpthosts, a->domain.data, a->domain.len) || policy_may_relay(s))
		return 0;
	reject(s, canon, "554 5.7.1 Relaying denied");
	return -1;
}
