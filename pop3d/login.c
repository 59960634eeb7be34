/* pop3-login: the POP3 login stage, AUTHORIZATION state (pop3d(8)).
 *
 *   pop3-login [--implicit-tls] [--root DIR]
 *
 * Run by the listener as the net user with the client on fds 0/1. Speaks
 * CAPA, USER, PASS, AUTH PLAIN (RFC 5034), STLS (RFC 2595), UTF8 (RFC 6856)
 * and QUIT; asks authd; on success hands the client to pop3d through
 * auth-exec (lib/login, auth-exec(8)), which answers the PASS/AUTH.
 * Trusts: its configuration (pop3d.conf) and authd; nothing the client sends.
 * It never runs as root and never touches a maildrop. */
#include "config.h"
#include "log.h"
#include "login.h"
#include "paths.h"
#include "pop3.h"
#include "priv.h"
#include "sasl.h"
#include "utf8.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>

#define LOGIN_TIMEOUT_MS (2 * 60 * 1000)   /* per command before login */
#define LOGIN_DEADLINE_MS (10 * 60 * 1000) /* the whole login stage */
#define MAX_AUTH_FAILURES 3

static const char *const known_settings[] = {
	"tls_cert", "tls_key", "plaintext_auth", "uidl", NULL,
};

struct state {
	struct login l;
	struct buf user;   /* from USER */
	struct buf out;
	int plaintext_ok;  /* USER/PASS and SASL allowed without TLS */
	int quit;
	struct buf mechs;  /* SASL mechanisms from authd, asked at most once */
};

static const char *mechanisms(struct state *s)
{
	if (!s->mechs.len)
		login_mechanisms(&s->l, &s->mechs);
	return buf_cstr(&s->mechs);
}

static void reply(struct state *s, const char *text)
{
	buf_append_str(&s->out, text);
	buf_append_str(&s->out, "\r\n");
}

static int send_out(struct state *s)
{
	io_write(s->l.io, s->out.data, s->out.len);
	buf_reset(&s->out);
	return io_flush(s->l.io) == IO_OK ? 0 : -1;
}

static int may_login(struct state *s)
{
	if (s->plaintext_ok || login_tls_active(&s->l))
		return 1;
	reply(s, "-ERR [AUTH] plaintext authentication needs STLS first");
	return 0;
}

/* After authd's answer: on success become the mail stage (does not return). */
static void login_result(struct state *s, int ok, int tempfail, struct account *acct,
			 const struct buf *reason)
{
	struct buf err = BUF_INIT;
	if (ok) {
		log_info("login user=%s ip=%s", acct->address, s->l.ip);
		login_exec(&s->l, acct, login_tls_active(&s->l) ? "tls=1" : "tls=0",
			   "-ERR [SYS/TEMP] cannot start the mail session", &err);
		log_error("user=%s: %s", acct->address, buf_cstr(&err));
		reply(s, "-ERR [SYS/TEMP] cannot start the mail session");
		s->quit = 1;
	} else if (tempfail) {
		log_warn("auth tempfail ip=%s: %s", s->l.ip, reason->data ? reason->data : "");
		reply(s, "-ERR [SYS/TEMP] authentication service unavailable, try later");
	} else {
		log_info("auth failed ip=%s", s->l.ip);
		reply(s, "-ERR [AUTH] authentication failed");
		if (s->l.failures >= MAX_AUTH_FAILURES) {
			reply(s, "-ERR too many failures");
			s->quit = 1;
		}
	}
	buf_free(&err);
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

static void cmd_user(struct state *s, const struct pop3_cmd *c)
{
	if (!may_login(s))
		return;
	if (c->arglen == 0 || c->arglen > LOGIN_MAX_USER || !utf8_valid(c->arg, c->arglen)) {
		reply(s, "-ERR bad user name");
		return;
	}
	buf_set(&s->user, c->arg, c->arglen);
	reply(s, "+OK send PASS");
}

static void cmd_pass(struct state *s, const struct pop3_cmd *c)
{
	if (s->user.len == 0) {
		reply(s, "-ERR USER first");
		return;
	}
	struct buf pass = BUF_INIT;
	buf_set(&pass, c->arg, c->arglen); /* the whole rest of the line: spaces are allowed */
	struct buf user = BUF_INIT;
	buf_set(&user, s->user.data, s->user.len);
	buf_reset(&s->user);
	if (pass.len == 0 || pass.len > LOGIN_MAX_PASS) {
		s->l.failures++;
		reply(s, "-ERR [AUTH] authentication failed");
	} else {
		try_login(s, buf_cstr(&user), &pass);
	}
	login_wipe(&pass);
	buf_free(&user);
}

/* AUTH mechanism [initial-response] (RFC 5034), any mechanism authd offers,
 * the exchange relayed by lib/login; AUTH alone lists the mechanisms. */
static void cmd_auth(struct state *s, const struct pop3_cmd *c)
{
	if (c->arglen == 0) {
		reply(s, "+OK");
		for (const char *m = mechanisms(s); *m;) {
			size_t n = strcspn(m, " ");
			buf_append(&s->out, m, n);
			buf_append_str(&s->out, "\r\n");
			m += n + (m[n] == ' ');
		}
		reply(s, ".");
		return;
	}
	const char *sp = memchr(c->arg, ' ', c->arglen);
	size_t ml = sp ? (size_t)(sp - c->arg) : c->arglen;
	char mech[21];
	if (ml == 0 || ml >= sizeof mech) {
		reply(s, "-ERR unsupported mechanism");
		return;
	}
	for (size_t i = 0; i < ml; i++)
		mech[i] = (char)toupper((unsigned char)c->arg[i]);
	mech[ml] = '\0';
	if (!sasl_mechanism_listed(mechanisms(s), mech)) {
		reply(s, "-ERR unsupported mechanism");
		return;
	}
	if (!may_login(s) || send_out(s) < 0)
		return;
	struct buf init = BUF_INIT, reason = BUF_INIT;
	struct account acct = ACCOUNT_INIT;
	if (sp)
		buf_set(&init, sp + 1, c->arglen - ml - 1);
	int r = login_sasl(&s->l, mech, sp ? buf_cstr(&init) : NULL, &acct, &reason);
	login_wipe(&init);
	if (r < 0)
		s->quit = 1;
	else if (r == SASL_CANCEL)
		reply(s, "-ERR authentication cancelled");
	else if (r == SASL_BAD)
		reply(s, "-ERR [AUTH] malformed authentication data");
	else
		login_result(s, r == SASL_OK, r != SASL_OK && r != SASL_NO, &acct, &reason);
	account_free(&acct);
	buf_free(&reason);
}

static void cmd_stls(struct state *s, const struct pop3_cmd *c)
{
	struct buf err = BUF_INIT;
	if (!login_tls_offered(&s->l)) {
		reply(s, "-ERR STLS not available");
	} else if (login_tls_load(&s->l, &err) < 0) {
		log_error("TLS disabled: %s", buf_cstr(&err));
		reply(s, "-ERR STLS not available");
	} else if (io_has_buffered_input(s->l.io)) {
		reply(s, "-ERR no pipelining after STLS");
		s->quit = 1;
	} else {
		reply(s, "+OK begin TLS negotiation");
		if (send_out(s) < 0 || login_starttls(&s->l, &err) < 0) {
			log_info("STLS failed ip=%s: %s", s->l.ip, buf_cstr(&err));
			s->quit = 1;
			buf_reset(&s->out);
		}
		buf_reset(&s->user); /* RFC 2595: forget what came before */
	}
	buf_free(&err);
}

static void cmd_capa(struct state *s, const struct pop3_cmd *c)
{
	unsigned f = POP3_CAPA_LOGIN;
	if (login_tls_offered(&s->l))
		f |= POP3_CAPA_STLS;
	pop3_capa(&s->out, f, (f & POP3_CAPA_LOGIN) ? mechanisms(s) : NULL);
}

static void cmd_utf8(struct state *s, const struct pop3_cmd *c)
{
	reply(s, "+OK UTF8 enabled");
}

static void cmd_quit(struct state *s, const struct pop3_cmd *c)
{
	reply(s, "+OK bye");
	s->quit = 1;
}

static const struct {
	const char *verb;
	void (*fn)(struct state *, const struct pop3_cmd *);
	int args; /* 0 none, 1 optional, 2 required */
} commands[] = {
	{ "CAPA", cmd_capa, 0 }, { "USER", cmd_user, 2 }, { "PASS", cmd_pass, 2 },
	{ "AUTH", cmd_auth, 1 }, { "STLS", cmd_stls, 0 }, { "UTF8", cmd_utf8, 0 },
	{ "QUIT", cmd_quit, 0 },
};

/* 1 if the line was a bad command. */
static int dispatch(struct state *s, const struct buf *line)
{
	struct pop3_cmd c;
	if (pop3_parse(line->data ? line->data : "", line->len, &c) == 0) {
		for (size_t k = 0; k < sizeof commands / sizeof commands[0]; k++) {
			if (!pop3_is(&c, commands[k].verb))
				continue;
			if ((commands[k].args == 0 && c.arglen) || (commands[k].args == 2 && !c.arglen))
				break;
			commands[k].fn(s, &c);
			return 0;
		}
		if (pop3_is(&c, "STAT") || pop3_is(&c, "LIST") || pop3_is(&c, "RETR") ||
		    pop3_is(&c, "DELE") || pop3_is(&c, "TOP") || pop3_is(&c, "UIDL") ||
		    pop3_is(&c, "RSET") || pop3_is(&c, "NOOP") || pop3_is(&c, "APOP")) {
			reply(s, "-ERR not logged in");
			return 1;
		}
	}
	reply(s, "-ERR unknown command or bad arguments");
	return 1;
}

static void serve(struct state *s)
{
	struct buf line = BUF_INIT;
	unsigned errors = 0;
	reply(s, "+OK estafette POP3 server ready");
	while (!s->quit && send_out(s) == 0) {
		enum io_status st = io_read_line(s->l.io, &line);
		if (st == IO_TOOLONG) {
			reply(s, "-ERR line too long");
			errors++;
		} else if (st != IO_OK) {
			break;
		} else {
			errors += (unsigned)dispatch(s, &line);
		}
		if (errors >= POP3_MAX_ERRORS) {
			reply(s, "-ERR too many bad commands");
			s->quit = 1;
		}
		if (line.data)
			explicit_bzero(line.data, line.cap); /* it may have held a password */
	}
	if (s->out.len)
		send_out(s);
	login_wipe(&line);
	buf_free(&s->mechs);
}

static void read_settings(struct state *s, struct buf *cert, struct buf *key,
			  struct buf *plaintext)
{
	struct config_env env = CONFIG_ENV_INIT;
	struct buf err = BUF_INIT;
	const char *v;
	if (config_read_env("pop3d.conf", &env, &err) < 0 ||
	    config_env_check(&env, known_settings, &err) < 0)
		log_fatal(EX_CONFIG, "%s", buf_cstr(&err));
	config_env_string(&env, "uidl", "imap", &v);
	if (strcmp(v, "maildir") != 0 && strcmp(v, "imap") != 0)
		log_fatal(EX_CONFIG, "pop3d.conf: uidl must be maildir or imap, not %s", v);
	const char *pt;
	config_env_string(&env, "plaintext_auth", NULL, &pt);
	if (pt)
		buf_set_str(plaintext, pt);
	login_tls_files(&env, "pop3d.pem", cert, key);
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
			log_fatal(EX_USAGE, "usage: pop3-login [--implicit-tls] [--root DIR]");
	}
	log_init("pop3-login");
	priv_refuse_root("pop3-login");
	struct state s;
	struct buf cert = BUF_INIT, key = BUF_INIT, err = BUF_INIT, plaintext = BUF_INIT;
	memset(&s, 0, sizeof s);
	read_settings(&s, &cert, &key, &plaintext);
	if (login_init(&s.l, "pop3", buf_cstr(&cert), buf_cstr(&key), &err) < 0)
		log_fatal(EX_TEMPFAIL, "%s", buf_cstr(&err));
	if (login_plaintext_allowed(&s.l, plaintext.len ? buf_cstr(&plaintext) : NULL,
				    &s.plaintext_ok, &err) < 0)
		log_fatal(EX_CONFIG, "%s.conf: %s", "pop3d", buf_cstr(&err));
	buf_reset(&err);
	if (!login_tls_offered(&s.l))
		log_debug("no TLS: %s", buf_cstr(&err));
	io_set_timeout(s.l.io, LOGIN_TIMEOUT_MS);
	io_set_deadline(s.l.io, LOGIN_DEADLINE_MS);
	io_set_max_line(s.l.io, POP3_MAX_LINE);
	if (implicit && login_starttls(&s.l, &err) < 0) {
		log_info("TLS handshake failed ip=%s: %s", s.l.ip, buf_cstr(&err));
	} else if (!implicit || login_tls_active(&s.l)) {
		serve(&s);
	}
	login_free(&s.l);
	login_wipe(&s.user);
	buf_free(&s.out);
	buf_free(&cert);
	buf_free(&key);
	buf_free(&plaintext);
	buf_free(&err);
	return 0;
}
