/* smtpd AUTH (RFC 4954) with PLAIN (RFC 4616) and LOGIN, checked by authd.
 * Offered only over TLS, or from loopback when auth_loopback is set, so a
 * password never crosses the network in clear. Passwords are wiped from memory
 * after use and never logged. */
#include "smtpd.h"

#include "authclient.h"
#include "base64.h"
#include "io.h"
#include "log.h"

#include <string.h>
#include <strings.h>

static int auth_decode(struct session *s, const char *p, size_t len, struct buf *out,
		       const char **why);

/* Send a 334 challenge and read the answer (base64) decoded into out.
 * -1 after replying (cancelled or bad base64). */
static int auth_ask(struct session *s, const char *challenge64, struct buf *out)
{
	const char *why;
	reply(s, "334 %s", challenge64);
	if (session_read_line(s) == IO_TOOLONG) {
		reply_bad(s, "500 5.5.6 Authentication exchange line too long");
		return -1;
	}
	if (s->line.len == 1 && s->line.data[0] == '*') {
		reply_error(s, "501 5.0.0 Authentication cancelled");
		return -1;
	}
	return auth_decode(s, s->line.data, s->line.len, out, &why);
}

static int auth_decode(struct session *s, const char *p, size_t len, struct buf *out,
		       const char **why)
{
	if (len == 1 && p[0] == '=')
		len = 0; /* an empty initial response */
	if (base64_decode_strict(out, p, len, why) < 0) {
		reply_bad(s, "501 5.5.2 Bad base64 data");
		return -1;
	}
	return 0;
}

static void auth_check(struct session *s, const char *user, const char *pass, size_t plen)
{
	struct account acct = ACCOUNT_INIT;
	struct buf why = BUF_INIT;
	int r = authclient_login(NULL, "smtp", s->ip, user, pass, plen, &acct, &why);
	if (r == AUTHCLIENT_OK) {
		s->authed = 1;
		buf_set_str(&s->auth_user, acct.address);
		log_info("smtp auth ip=%s user=%s", s->ip, acct.address);
		reply(s, "235 2.7.0 Authentication successful");
	} else if (r == AUTHCLIENT_NO) {
		log_info("smtp auth failed ip=%s user=%s", s->ip, user);
		reply_error(s, "535 5.7.8 Authentication credentials invalid");
	} else {
		log_warn("smtp auth tempfail ip=%s: %s", s->ip, buf_cstr(&why));
		reply_error(s, "454 4.7.0 Temporary authentication failure");
	}
	account_free(&acct);
	buf_free(&why);
}

/* authzid NUL authcid NUL password; authzid empty or the same as authcid. */
static void auth_plain_msg(struct session *s, struct buf *m)
{
	const char *p = m->data ? m->data : "";
	const char *n1 = memchr(p, '\0', m->len);
	const char *n2 = n1 ? memchr(n1 + 1, '\0', m->len - (size_t)(n1 + 1 - p)) : NULL;
	if (!n2 || n2 == n1 + 1 || (n1 != p && strcmp(p, n1 + 1) != 0)) {
		reply_bad(s, "501 5.5.2 Bad PLAIN response");
		return;
	}
	auth_check(s, n1 + 1, n2 + 1, m->len - (size_t)(n2 + 1 - p));
}

static void auth_plain(struct session *s, const char *init, size_t ilen)
{
	struct buf m = BUF_INIT;
	const char *why;
	int r = ilen ? auth_decode(s, init, ilen, &m, &why) : auth_ask(s, "", &m);
	if (r == 0)
		auth_plain_msg(s, &m);
	if (m.data)
		explicit_bzero(m.data, m.cap);
	buf_free(&m);
}

static void auth_login(struct session *s, const char *init, size_t ilen)
{
	struct buf user = BUF_INIT, pass = BUF_INIT;
	const char *why;
	int r = ilen ? auth_decode(s, init, ilen, &user, &why) : auth_ask(s, "VXNlcm5hbWU6", &user);
	if (r == 0)
		r = auth_ask(s, "UGFzc3dvcmQ6", &pass);
	if (r == 0 && (user.len == 0 || buf_has_nul(&user)))
		reply_error(s, "535 5.7.8 Authentication credentials invalid");
	else if (r == 0)
		auth_check(s, buf_cstr(&user), pass.data ? pass.data : "", pass.len);
	if (pass.data)
		explicit_bzero(pass.data, pass.cap);
	buf_free(&pass);
	buf_free(&user);
}

static int auth_check_state(struct session *s)
{
	if (!s->esmtp) {
		reply_error(s, "503 5.5.1 Send EHLO first");
		return -1;
	}
	if (s->authed) {
		reply_error(s, "503 5.5.1 Already authenticated");
		return -1;
	}
	if (s->txn.active) {
		reply_error(s, "503 5.5.1 AUTH not allowed during a mail transaction");
		return -1;
	}
	if (!auth_allowed(s)) {
		reply_error(s, "538 5.7.11 Encryption required for requested authentication mechanism");
		return -1;
	}
	return 0;
}

void cmd_auth(struct session *s, const char *arg, size_t len)
{
	if (auth_check_state(s) < 0)
		return;
	size_t m = 0;
	while (m < len && arg[m] != ' ')
		m++;
	const char *init = m < len ? arg + m + 1 : arg + len;
	size_t ilen = m < len ? len - m - 1 : 0;
	if (m == 5 && strncasecmp(arg, "PLAIN", 5) == 0)
		auth_plain(s, init, ilen);
	else if (m == 5 && strncasecmp(arg, "LOGIN", 5) == 0)
		auth_login(s, init, ilen);
	else
		reply_bad(s, "504 5.5.4 Unrecognized authentication mechanism");
}
