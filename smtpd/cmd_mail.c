/* smtpd MAIL FROM (RFC 5321 4.1.1.2) with SIZE (RFC 1870), BODY (RFC 6152),
 * SMTPUTF8 (RFC 6531), RET/ENVID (RFC 3461) and AUTH= (RFC 4954, ignored).
 * The address is parsed strictly by lib/addr; parameters are checked here so
 * that submit(8) never sees a value it would refuse. */
#include "smtpd.h"

#include "addr.h"
#include "log.h"
#include "queue.h"
#include "utf8.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define MAX_PARAMS 16

static int val_is(const struct esmtp_param *p, const char *v)
{
	return p->val && strlen(v) == p->vlen && strncasecmp(v, p->val, p->vlen) == 0;
}

static int once(struct session *s, unsigned *seen, unsigned bit)
{
	if (*seen & bit) {
		reply_bad(s, "501 5.5.4 Duplicate parameter");
		return -1;
	}
	*seen |= bit;
	return 0;
}

static int mail_size(struct session *s, const struct esmtp_param *p)
{
	uint64_t v = 0;
	if (!p->val || p->vlen > 20) {
		reply_bad(s, "501 5.5.4 Bad SIZE parameter");
		return -1;
	}
	for (size_t i = 0; i < p->vlen; i++) {
		unsigned d = (unsigned char)p->val[i] - '0';
		if (d > 9 || v > (UINT64_MAX - d) / 10) {
			reply_bad(s, "501 5.5.4 Bad SIZE parameter");
			return -1;
		}
		v = v * 10 + d;
	}
	if (v > s->conf->max_message_size) {
		reply_error(s, "552 5.3.4 Message size exceeds fixed limit of %llu bytes",
			    (unsigned long long)s->conf->max_message_size);
		return -1;
	}
	s->txn.size_hint = v;
	return 0;
}

static int mail_body(struct session *s, const struct esmtp_param *p)
{
	if (val_is(p, "7BIT") || val_is(p, "8BITMIME")) {
		s->txn.body = val_is(p, "7BIT") ? BODY_7BIT : BODY_8BITMIME;
		return 0;
	}
	reply_bad(s, "501 5.5.4 Unsupported BODY type");
	return -1;
}

static int mail_smtputf8(struct session *s, const struct esmtp_param *p)
{
	if (p->val) {
		reply_bad(s, "501 5.5.4 SMTPUTF8 takes no value");
		return -1;
	}
	s->txn.smtputf8 = 1;
	return 0;
}

static int mail_ret(struct session *s, const struct esmtp_param *p)
{
	if (!val_is(p, "FULL") && !val_is(p, "HDRS")) {
		reply_bad(s, "501 5.5.4 RET must be FULL or HDRS");
		return -1;
	}
	buf_set_str(&s->txn.ret, val_is(p, "FULL") ? "FULL" : "HDRS");
	return 0;
}

static int mail_envid(struct session *s, const struct esmtp_param *p)
{
	if (!p->val || p->vlen > 100 || !queue_xtext_valid(p->val, p->vlen)) {
		reply_bad(s, "501 5.5.4 Bad ENVID");
		return -1;
	}
	buf_set(&s->txn.envid, p->val, p->vlen);
	return 0;
}

/* VERP (Courier's form, delimiters "-=") and XVERP[=xy] (Postfix's, "+="
 * by default): bounces come back to sender-rcptlocal=rcptdomain@domain,
 * one return path per recipient (courierd(8) VERP). */
static int mail_verp(struct session *s, const struct esmtp_param *p)
{
	const char *d = param_is(p, "VERP") ? "-=" : "+=";
	if (param_is(p, "VERP") ? p->val != NULL
				 : p->val && !queue_verp_valid(p->val, p->vlen)) {
		reply_bad(s, "501 5.5.4 Bad VERP delimiters (two of + - = . _)");
		return -1;
	}
	if (p->val)
		d = p->val;
	memcpy(s->txn.verp, d, 2);
	s->txn.verp[2] = '\0';
	return 0;
}

/* RFC 4954 5: we do not trust other servers' AUTH= claims, so it is ignored. */
static int mail_auth(struct session *s, const struct esmtp_param *p)
{
	return 0;
}

static const struct {
	const char *key;
	int (*fn)(struct session *s, const struct esmtp_param *p);
} mail_params_known[] = {
	{ "SIZE", mail_size }, { "BODY", mail_body }, { "SMTPUTF8", mail_smtputf8 },
	{ "RET", mail_ret }, { "ENVID", mail_envid }, { "AUTH", mail_auth },
	{ "VERP", mail_verp }, { "XVERP", mail_verp },
};

/* One parameter; -1 after replying. Each may be given once. */
static int mail_param(struct session *s, const struct esmtp_param *p, unsigned *seen)
{
	for (unsigned i = 0; i < sizeof mail_params_known / sizeof mail_params_known[0]; i++) {
		if (!param_is(p, mail_params_known[i].key))
			continue;
		if (once(s, seen, 1u << i) < 0)
			return -1;
		return mail_params_known[i].fn(s, p);
	}
	reply_bad(s, "555 5.5.4 Unsupported parameter");
	return -1;
}

static int mail_params(struct session *s, const char *p, size_t len)
{
	struct esmtp_param ps[MAX_PARAMS];
	size_t n;
	unsigned seen = 0;
	if (len && !s->esmtp) {
		reply_bad(s, "555 5.5.4 Parameters need EHLO");
		return -1;
	}
	if (params_split(p, len, ps, MAX_PARAMS, &n) < 0) {
		reply_bad(s, "555 5.5.4 Bad parameter syntax");
		return -1;
	}
	for (size_t i = 0; i < n; i++)
		if (mail_param(s, &ps[i], &seen) < 0)
			return -1;
	return 0;
}

/* Submission: the sender must be the authenticated account (ASCII case ignored). */
static int sender_allowed(struct session *s, const struct addr *a)
{
	if (!s->submission || !s->conf->sender_check || !s->authed)
		return 1;
	return s->txn.sender.len == s->auth_user.len &&
	       strncasecmp(buf_cstr(&s->txn.sender), buf_cstr(&s->auth_user),
			   s->auth_user.len) == 0;
}

static int mail_check_state(struct session *s)
{
	if (!s->helo.len) {
		reply_error(s, "503 5.5.1 Send EHLO or HELO first");
		return -1;
	}
	if (s->txn.active) {
		reply_error(s, "503 5.5.1 Sender already given");
		return -1;
	}
	if (s->submission && !s->authed) {
		reply_error(s, "530 5.7.0 Authentication required");
		return -1;
	}
	return 0;
}

void cmd_mail(struct session *s, const char *arg, size_t len)
{
	struct addr a = ADDR_INIT;
	size_t rest = 0;
	if (mail_check_state(s) < 0)
		return;
	if (len < 5 || strncasecmp(arg, "FROM:", 5) != 0) {
		reply_bad(s, "501 5.5.4 Syntax: MAIL FROM:<address>");
		return;
	}
	enum addr_err e = addr_parse_path(arg + 5, len - 5, ADDR_SMTPUTF8 | ADDR_ALLOW_NULL, &a, &rest);
	if (e != ADDR_OK) {
		reply_bad(s, "%d 5.1.7 Bad sender address: %s", addr_err_code(e), addr_strerror(e));
		goto out;
	}
	if (mail_params(s, arg + 5 + rest, len - 5 - rest) < 0) {
		txn_reset(s);
		goto out;
	}
	if (!s->txn.smtputf8 && !utf8_is_ascii(arg + 5, rest)) {
		reply_error(s, "553 5.6.7 Non-ASCII address needs SMTPUTF8");
		txn_reset(s);
		goto out;
	}
	addr_format(&s->txn.sender, &a, 0);
	if (!sender_allowed(s, &a)) {
		reply_error(s, "553 5.7.1 Sender address not owned by user %s", buf_cstr(&s->auth_user));
		txn_reset(s);
		goto out;
	}
	s->txn.active = 1;
	reply(s, "250 2.1.0 Ok");
out:
	addr_free(&a);
}
