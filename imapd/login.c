/* imap-login: the IMAP login stage, not-authenticated state (imapd(8)).
 *
 *   imap-login [--implicit-tls] [--root DIR]
 *
 * Run by the listener as the net user with the client on fds 0/1. Speaks
 * CAPABILITY, NOOP, ID, LOGOUT, STARTTLS (RFC 3501 6.2.1), LOGIN and
 * AUTHENTICATE PLAIN and LOGIN with SASL-IR (RFC 4959); asks authd; on success hands
 * the client to imapd through auth-exec (lib/login, auth-exec(8)), and imapd
 * sends the tagged OK (ESTAFETTE_LOGIN_STATE "imap-tag=TAG").
 * Trusts: its configuration (imapd.conf) and authd; nothing the client sends:
 * commands are read whole under small limits (LOGIN_LITERAL_MAX) and parsed
 * by imapd's parser. It never runs as root and never touches a maildir. */
#include "imapd.h"

#include "config.h"
#include "io.h"
#include "log.h"
#include "login.h"
#include "paths.h"
#include "priv.h"
#include "sasl.h"
#include "userslots.h"
#include "utf8.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sysexits.h>

#define LOGIN_TIMEOUT_MS (2 * 60 * 1000)   /* per command before login */
#define LOGIN_DEADLINE_MS (10 * 60 * 1000) /* the whole login stage */
#define LOGIN_LITERAL_MAX (LOGIN_MAX_PASS + 8)
#define LOGIN_LINE_MAX (40 * 1024) /* ID: 30 pairs of 1024-octet strings (RFC 2971) */
#define MAX_AUTH_FAILURES 3

static const char *const known_settings[] = { "tls_cert", "tls_key", "plaintext_auth",
					       "max_user_sessions", NULL };

struct state {
	struct login l;
	int plaintext_ok; /* LOGIN and PLAIN allowed without TLS */
	uint64_t max_user_sessions; /* passed on to imapd; 0: no bound */
	int done;
	const char *tag;
	struct buf mechs; /* SASL mechanisms from authd, asked at most once */
};

static const char *mechanisms(struct state *s)
{
	if (!s->mechs.len)
		login_mechanisms(&s->l, &s->mechs);
	return buf_cstr(&s->mechs);
}

static int may_login(const struct state *s)
{
	return s->plaintext_ok || login_tls_active(&s->l);
}

static void capabilities(struct state *s)
{
	io_write_str(s->l.io, "IMAP4rev1 SASL-IR LITERAL+ ID ENABLE IDLE");
	if (login_tls_offered(&s->l))
		io_write_str(s->l.io, " STARTTLS");
	if (!may_login(s)) {
		io_write_str(s->l.io, " LOGINDISABLED");
		return;
	}
	for (const char *m = mechanisms(s); *m;) {
		size_t n = strcspn(m, " ");
		io_printf(s->l.io, " AUTH=%.*s", (int)n, m);
		m += n + (m[n] == ' ');
	}
}

static void tagged(struct state *s, const char *text)
{
	io_printf(s->l.io, "%s %s\r\n", s->tag, text);
}

/* authd's answer: on success become the mail stage (does not return). */
static void login_result(struct state *s, int ok, int tempfail, struct account *acct,
			 struct buf *reason)
{
	struct buf err = BUF_INIT, st = BUF_INIT, fail = BUF_INIT;
	if (ok) {
		log_info("login user=%s ip=%s", acct->address, s->l.ip);
		buf_printf(&st, "imap-tag=%s tls=%d max-sessions=%llu", s->tag,
			   login_tls_active(&s->l), (unsigned long long)s->max_user_sessions);
		buf_printf(&fail, "%s NO [UNAVAILABLE] cannot start the mail session", s->tag);
		login_exec(&s->l, acct, buf_cstr(&st), buf_cstr(&fail), &err);
		log_error("user=%s: %s", acct->address, buf_cstr(&err));
		tagged(s, "NO [UNAVAILABLE] cannot start the mail session");
		s->done = 1;
	} else if (tempfail) {
		log_warn("auth tempfail ip=%s: %s", s->l.ip, buf_cstr(reason));
		tagged(s, "NO [UNAVAILABLE] authentication service unavailable, try later");
	} else {
		tagged(s, "NO [AUTHENTICATIONFAILED] Authentication failed");
		if (s->l.failures >= MAX_AUTH_FAILURES) {
			io_write_str(s->l.io, "* BYE Too many failures\r\n");
			s->done = 1;
		}
	}
	buf_free(&err);
	buf_free(&st);
	buf_free(&fail);
}

static void try_login(struct state *s, const char *user, const struct buf *pass)
{
	struct account acct = ACCOUNT_INIT;
	struct buf reason = BUF_INIT;
	int rc = AUTHCLIENT_NO;
	if (strlen(user) == 0 || strlen(user) > LOGIN_MAX_USER || !utf8_valid(user, strlen(user)))
		s->l.failures++;
	else
		rc = login_auth(&s->l, user, pass->data ? pass->data : "", pass->len, &acct, &reason);
	login_result(s, rc == AUTHCLIENT_OK, rc == AUTHCLIENT_TEMPFAIL, &acct, &reason);
	account_free(&acct);
	buf_free(&reason);
}

static void cmd_login(struct state *s, struct parser *ps)
{
	struct buf user = BUF_INIT, pass = BUF_INIT;
	if (p_sp(ps) < 0 || p_astring(ps, &user) < 0 || p_sp(ps) < 0 ||
	    p_astring(ps, &pass) < 0 || p_eol(ps) < 0)
		tagged(s, "BAD Syntax: LOGIN user password");
	else if (!may_login(s))
		tagged(s, "NO [PRIVACYREQUIRED] LOGIN needs STARTTLS first");
	else if (buf_has_nul(&user) || buf_has_nul(&pass))
		tagged(s, "NO [AUTHENTICATIONFAILED] Authentication failed");
	else
		try_login(s, buf_cstr(&user), &pass);
	login_wipe(&pass);
	login_wipe(&user);
}

/* AUTHENTICATE mechanism [initial-response] (RFC 3501 6.2.2, SASL-IR RFC
 * 4959): every mechanism authd offers, the exchange relayed by lib/login. */
static void cmd_authenticate(struct state *s, struct parser *ps)
{
	struct buf mech = BUF_INIT, init = BUF_INIT, reason = BUF_INIT;
	struct account acct = ACCOUNT_INIT;
	int has_init = 0, bad = p_sp(ps) < 0 || p_atom(ps, &mech) < 0 || mech.len > 20;
	if (!bad && p_peek(ps, ' ')) { /* SASL-IR */
		ps->p++;
		has_init = 1;
		bad = p_atom(ps, &init) < 0;
	}
	if (bad || p_eol(ps) < 0) {
		tagged(s, "BAD Syntax: AUTHENTICATE mechanism [initial-response]");
	} else if (!sasl_mechanism_listed(mechanisms(s), buf_cstr(&mech))) {
		tagged(s, "NO Unsupported authentication mechanism");
	} else if (!may_login(s)) {
		tagged(s, "NO [PRIVACYREQUIRED] AUTHENTICATE needs STARTTLS first");
	} else {
		for (size_t i = 0; i < mech.len; i++)
			mech.data[i] = (char)toupper((unsigned char)mech.data[i]);
		int r = login_sasl(&s->l, buf_cstr(&mech), has_init ? buf_cstr(&init) : NULL, &acct,
				   &reason);
		if (r < 0)
			s->done = 1;
		else if (r == SASL_CANCEL)
			tagged(s, "BAD Authentication cancelled");
		else if (r == SASL_BAD)
			tagged(s, "BAD Invalid authentication data");
		else
			login_result(s, r == SASL_OK, r != SASL_OK && r != SASL_NO, &acct, &reason);
	}
	buf_free(&mech);
	login_wipe(&init);
	account_free(&acct);
	buf_free(&reason);
}

static void cmd_starttls(struct state *s, struct parser *ps)
{
	struct buf err = BUF_INIT;
	if (p_eol(ps) < 0) {
		tagged(s, "BAD Syntax: STARTTLS");
	} else if (!login_tls_offered(&s->l)) {
		tagged(s, "NO TLS is not available");
	} else if (login_tls_load(&s->l, &err) < 0) {
		log_error("TLS disabled: %s", buf_cstr(&err));
		tagged(s, "NO TLS is not available");
	} else {
		tagged(s, "OK Begin TLS negotiation now");
		if (io_flush(s->l.io) != IO_OK || login_starttls(&s->l, &err) < 0) {
			log_info("STARTTLS failed ip=%s: %s", s->l.ip, buf_cstr(&err));
			s->done = 1;
		}
	}
	buf_free(&err);
}

static void run(struct state *s, const struct buf *cmd)
{
	struct parser ps = { cmd->data, cmd->data + cmd->len, 0, NULL, NULL };
	struct buf tag = BUF_INIT, name = BUF_INIT;
	if (p_atom(&ps, &tag) < 0 || !command_tag_valid(&tag)) {
		io_write_str(s->l.io, "* BAD Invalid tag\r\n");
		goto done;
	}
	s->tag = buf_cstr(&tag);
	const char *n = p_sp(&ps) == 0 && p_atom(&ps, &name) == 0 ? buf_cstr(&name) : "";
	if (strcasecmp(n, "CAPABILITY") == 0 || strcasecmp(n, "NOOP") == 0 ||
	    strcasecmp(n, "ID") == 0) {
		if (strcasecmp(n, "CAPABILITY") == 0) {
			io_write_str(s->l.io, "* CAPABILITY ");
			capabilities(s);
			io_write_str(s->l.io, "\r\n");
		} else if (strcasecmp(n, "ID") == 0) {
			io_write_str(s->l.io, "* ID (\"name\" \"estafette\")\r\n");
		}
		io_printf(s->l.io, "%s OK %s completed\r\n", s->tag, n);
	} else if (strcasecmp(n, "LOGOUT") == 0) {
		io_write_str(s->l.io, "* BYE Logging out\r\n");
		tagged(s, "OK LOGOUT completed");
		s->done = 1;
	} else if (strcasecmp(n, "STARTTLS") == 0) {
		cmd_starttls(s, &ps);
	} else if (strcasecmp(n, "LOGIN") == 0) {
		cmd_login(s, &ps);
	} else if (strcasecmp(n, "AUTHENTICATE") == 0) {
		cmd_authenticate(s, &ps);
	} else {
		tagged(s, "BAD Command unknown or not allowed before login");
	}
done:
	s->tag = "*";
	buf_free(&tag);
	buf_free(&name);
}

static void serve(struct state *s)
{
	struct buf cmd = BUF_INIT;
	io_write_str(s->l.io, "* OK [CAPABILITY ");
	capabilities(s);
	io_write_str(s->l.io, "] estafette IMAP ready\r\n");
	while (!s->done && io_flush(s->l.io) == IO_OK) {
		enum read_result r = command_read(s->l.io, &cmd, LOGIN_LITERAL_MAX, LOGIN_LITERAL_MAX);
		if (r == READ_END)
			break;
		if (r == READ_OK)
			run(s, &cmd);
		login_wipe(&cmd); /* it may have held a password */
	}
	io_flush(s->l.io);
	login_wipe(&cmd);
	buf_free(&s->mechs);
}

static void read_settings(struct state *s, struct buf *cert, struct buf *key,
			  struct buf *plaintext)
{
	struct config_env env = CONFIG_ENV_INIT;
	struct buf err = BUF_INIT;
	if (config_read_env("imapd.conf", &env, &err) < 0 ||
	    config_env_check(&env, known_settings, &err) < 0 ||
	    config_env_u64(&env, "max_user_sessions", 0, 0, USERSLOTS_MAX, CONFIG_UNIT_NONE,
			   &s->max_user_sessions, &err) < 0)
		log_fatal(EX_CONFIG, "%s", buf_cstr(&err));
	const char *pt;
	config_env_string(&env, "plaintext_auth", NULL, &pt);
	if (pt)
		buf_set_str(plaintext, pt);
	login_tls_files(&env, "imapd.pem", cert, key);
	config_env_free(&env);
	buf_free(&err);
}

int main(int argc, char **argv)
{
	int implicit = 0;
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--implicit-tls") == 0)
			implicit = 1;
		else if (strcmp(argv[i], "--root") == 0 && i + 1 < argc)
			paths_set_root(argv[++i]);
		else
			log_fatal(EX_USAGE, "usage: imap-login [--implicit-tls] [--root DIR]");
	}
	log_init("imap-login");
	priv_refuse_root("imap-login");
	struct state s;
	struct buf cert = BUF_INIT, key = BUF_INIT, err = BUF_INIT, plaintext = BUF_INIT;
	memset(&s, 0, sizeof s);
	s.tag = "*";
	read_settings(&s, &cert, &key, &plaintext);
	if (login_init(&s.l, "imap", buf_cstr(&cert), buf_cstr(&key), &err) < 0)
		log_fatal(EX_TEMPFAIL, "%s", buf_cstr(&err));
	if (login_plaintext_allowed(&s.l, plaintext.len ? buf_cstr(&plaintext) : NULL,
				    &s.plaintext_ok, &err) < 0)
		log_fatal(EX_CONFIG, "%s.conf: %s", "imapd", buf_cstr(&err));
	buf_reset(&err);
	if (!login_tls_offered(&s.l))
		log_debug("no TLS: %s", buf_cstr(&err));
	io_set_timeout(s.l.io, LOGIN_TIMEOUT_MS);
	io_set_deadline(s.l.io, LOGIN_DEADLINE_MS);
	io_set_max_line(s.l.io, LOGIN_LINE_MAX);
	if (implicit && login_starttls(&s.l, &err) < 0)
		log_info("TLS handshake failed ip=%s: %s", s.l.ip, buf_cstr(&err));
	else if (!implicit || login_tls_active(&s.l))
		serve(&s);
	login_free(&s.l);
	buf_free(&cert);
	buf_free(&key);
	buf_free(&plaintext);
	buf_free(&err);
	return 0;
}
