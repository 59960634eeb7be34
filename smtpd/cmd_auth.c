/* smtpd AUTH (RFC 4954): every mechanism authd offers (PLAIN, LOGIN,
 * CRAM-MD5, SCRAM-SHA-256, see authd(8) "mechanisms"), relayed to authd by
 * lib/sasl; smtpd itself only frames the 334 challenges and answers. Offered
 * only over TLS, or from loopback when auth_loopback is set, so a password
 * never crosses the network in clear. Client lines that carried credentials
 * are wiped after use and nothing of them is logged. */
#include "smtpd.h"

#include "authclient.h"
#include "io.h"
#include "log.h"
#include "sasl.h"

#include <string.h>
#include <strings.h>

#define MECH_MAX 20 /* RFC 4422 3.1: a mechanism name is at most 20 characters */

/* The mechanisms for EHLO, asked of authd once per session. */
const char *auth_mechanisms(struct session *s)
{
	if (!s->mechs.len) {
		if (sasl_mechanisms(NULL, "smtp", &s->mechs) != SASL_OK || !s->mechs.len)
			buf_set_str(&s->mechs, "PLAIN LOGIN"); /* authd answers for each later */
	}
	return buf_cstr(&s->mechs);
}

static void wipe_line(struct session *s)
{
	if (s->line.data)
		explicit_bzero(s->line.data, s->line.len);
}

static void auth_result(struct session *s, int r, const char *mech, const struct account *a,
			struct buf *why)
{
	switch (r) {
	case SASL_OK:
		s->authed = 1;
		buf_set_str(&s->auth_user, a->address);
		log_info("smtp auth ip=%s user=%s mech=%s", s->ip, a->address, mech);
		reply(s, "235 2.7.0 Authentication successful");
		break;
	case SASL_NO:
		log_info("smtp auth failed ip=%s mech=%s", s->ip, mech);
		reply_error(s, "535 5.7.8 Authentication credentials invalid");
		break;
	case SASL_BAD:
		reply_bad(s, "501 5.5.2 Bad authentication data");
		break;
	case SASL_CANCEL:
		reply_error(s, "501 5.0.0 Authentication cancelled");
		break;
	case SASL_NOMECH:
		reply_bad(s, "504 5.5.4 Unrecognized authentication mechanism");
		break;
	default:
		log_warn("smtp auth tempfail ip=%s: %s", s->ip, buf_cstr(why));
		reply_error(s, "454 4.7.0 Temporary authentication failure");
	}
}

static void auth_exchange(struct session *s, const char *mech, const char *init)
{
	struct buf chal = BUF_INIT, why = BUF_INIT;
	struct account acct = ACCOUNT_INIT;
	struct sasl *x = sasl_new(NULL, "smtp", s->ip);
	int r = sasl_begin(x, mech, init, &chal, &acct, &why);
	while (r == SASL_CONTINUE) {
		reply(s, "334 %s", buf_cstr(&chal));
		if (session_read_line(s) == IO_TOOLONG) {
			wipe_line(s);
			reply_bad(s, "500 5.5.6 Authentication exchange line too long");
			goto out;
		}
		r = sasl_continue(x, s->line.data ? s->line.data : "", s->line.len, &chal, &acct,
				  &why);
		wipe_line(s);
	}
	auth_result(s, r, mech, &acct, &why);
out:
	sasl_free(x);
	account_free(&acct);
	buf_free(&chal);
	buf_free(&why);
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
	char mech[MECH_MAX + 1];
	size_t m = 0;
	if (auth_check_state(s) < 0)
		return;
	while (m < len && arg[m] != ' ')
		m++;
	if (m == 0 || m > MECH_MAX || strspn(arg, "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
					       "abcdefghijklmnopqrstuvwxyz0123456789-_") < m) {
		reply_bad(s, "501 5.5.4 Syntax: AUTH mechanism [initial-response]");
		return;
	}
	for (size_t i = 0; i < m; i++)
		mech[i] = (arg[i] >= 'a' && arg[i] <= 'z') ? (char)(arg[i] - 32) : arg[i];
	mech[m] = '\0';
	if (!sasl_mechanism_listed(auth_mechanisms(s), mech)) {
		reply_bad(s, "504 5.5.4 Unrecognized authentication mechanism");
		return;
	}
	/* the initial response stays in s->line until the exchange wiped it */
	auth_exchange(s, mech, m < len ? arg + m + 1 : NULL);
	wipe_line(s);
}
