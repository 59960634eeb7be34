/* smtpd EHLO/HELO (RFC 5321 4.1.1.1) and the extensions we announce. The
 * argument is kept for Received: only; it is not trusted or verified. */
#include "smtpd.h"

#include "addr.h"
#include "authclient.h"
#include "io.h"

#include <string.h>

#define MAX_HELO 255

static int helo_arg(struct session *s, const char *arg, size_t len)
{
	size_t n = 0;
	while (n < len && arg[n] != ' ')
		n++;
	if (n == 0) {
		reply_bad(s, "501 5.5.4 Syntax: EHLO hostname");
		return -1;
	}
	if (n > MAX_HELO) {
		reply_bad(s, "501 5.5.4 Hostname too long");
		return -1;
	}
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)arg[i];
		if (c < 0x21 || c == 0x7f) {
			reply_bad(s, "501 5.5.4 Bad character in hostname");
			return -1;
		}
	}
	txn_reset(s);
	buf_set(&s->helo, arg, n);
	return 0;
}

int auth_allowed(const struct session *s)
{
	return s->tls || (s->loopback && s->conf->auth_loopback);
}

void cmd_helo(struct session *s, const char *arg, size_t len)
{
	if (helo_arg(s, arg, len) < 0)
		return;
	s->esmtp = 0;
	reply(s, "250 %s", buf_cstr(&s->me));
}

void cmd_ehlo(struct session *s, const char *arg, size_t len)
{
	if (helo_arg(s, arg, len) < 0)
		return;
	s->esmtp = 1;
	reply(s, "250-%s", buf_cstr(&s->me));
	reply(s, "250-PIPELINING");
	reply(s, "250-SIZE %llu", (unsigned long long)s->conf->max_message_size);
	reply(s, "250-8BITMIME");
	reply(s, "250-ENHANCEDSTATUSCODES");
	reply(s, "250-DSN");
	reply(s, "250-SMTPUTF8");
	reply(s, "250-CHUNKING");
	reply(s, "250-XVERP");
	if ((s->tls_ctx || s->tls_offer) && !s->tls)
		reply(s, "250-STARTTLS");
	if (auth_allowed(s) && !s->authed)
		reply(s, "250-AUTH %s", auth_mechanisms(s));
	reply(s, "250 HELP");
}

void cmd_rset(struct session *s, const char *arg, size_t len)
{
	if (len) {
		reply_bad(s, "501 5.5.4 Syntax: RSET");
		return;
	}
	txn_reset(s);
	reply(s, "250 2.0.0 Ok");
}

void cmd_noop(struct session *s, const char *arg, size_t len)
{
	reply(s, "250 2.0.0 Ok");
}

void cmd_quit(struct session *s, const char *arg, size_t len)
{
	reply(s, "221 2.0.0 %s closing connection", buf_cstr(&s->me));
	s->quit = 1;
}

void cmd_help(struct session *s, const char *arg, size_t len)
{
	reply(s, "214-2.0.0 Commands: EHLO HELO MAIL RCPT DATA BDAT RSET NOOP QUIT HELP VRFY");
	reply(s, "214-2.0.0 STARTTLS AUTH. RFC 5321, 3207, 4954, 3030, 3461, 6531.");
	reply(s, "214 2.0.0 End of HELP");
}

/* VRFY would let anyone enumerate accounts: by default the RFC 5321 3.5.3
 * answer that neither confirms nor denies. With vrfy = yes, local addresses
 * are looked up (250 or 550); anything else still gets 252. */
void cmd_vrfy(struct session *s, const char *arg, size_t len)
{
	struct addr a = ADDR_INIT;
	struct buf canon = BUF_INIT;
	if (len == 0) {
		reply_bad(s, "501 5.5.4 Syntax: VRFY address");
		return;
	}
	int r = -1;
	if (s->conf->vrfy && (arg[0] == '<' ? addr_parse_path(arg, len, 0, &a, NULL)
					    : addr_parse_mailbox(arg, len, 0, &a)) == ADDR_OK) {
		addr_format(&canon, &a, 0);
		r = policy_vrfy(s, &a, &canon);
	}
	if (r == AUTHCLIENT_OK)
		reply(s, "250 2.1.5 <%s>", canon.data);
	else if (r == AUTHCLIENT_NO)
		reply_error(s, "550 5.1.1 No such user here");
	else if (r == AUTHCLIENT_TEMPFAIL)
		reply_error(s, "451 4.3.0 Cannot check the address now");
	else
		reply(s, "252 2.5.2 Cannot VRFY user, but will accept message and attempt delivery");
	addr_free(&a);
	buf_free(&canon);
}

void cmd_expn(struct session *s, const char *arg, size_t len)
{
	reply_error(s, "502 5.5.1 EXPN not available");
}
