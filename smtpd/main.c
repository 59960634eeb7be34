/* smtpd: the ESMTP server, one process per connection on stdin/stdout.
 *
 * Runs as the net user (estafette-net): exec'd by listener(8) already as that
 * user, or started as root by inetd, in which case it drops to it before it
 * reads anything. It reads its configuration (me, locals, rcpthosts,
 * smtpd.conf, smtpaccess.cdb, the TLS certificate), the ucspi-tcp environment
 * (TCPREMOTEIP, TCPREMOTEHOST, TCPREMOTEPORT, TCPLOCALIP), and trusts none of
 * the client's bytes. Accounts are checked through authd, messages are queued
 * through submit(8). RFC 5321, 1870, 2920, 3030, 3207, 3461, 3463, 3848, 4954,
 * 6152, 6531. See smtpd(8) and smtpd.conf(5). */
#include "smtpd.h"

#include "config.h"
#include "io.h"
#include "ipaddr.h"
#include "log.h"
#include "paths.h"
#include "priv.h"
#include "tls.h"

#include <arpa/inet.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#define NET_USER "estafette-net" /* the net role of scripts/users */

static struct config_list locals = CONFIG_LIST_INIT, rcpthosts = CONFIG_LIST_INIT;

static _Noreturn void usage(void)
{
	fprintf(stderr, "usage: smtpd [--submission] [--implicit-tls] [--root dir]\n");
	exit(EX_USAGE);
}

static void parse_args(struct session *s, int argc, char **argv)
{
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--submission") == 0)
			s->submission = 1;
		else if (strcmp(argv[i], "--implicit-tls") == 0)
			s->implicit_tls = 1;
		else if (strcmp(argv[i], "--root") == 0 && i + 1 < argc)
			paths_set_root(argv[++i]);
		else
			usage();
	}
}

/* An environment value we may show in Received: and logs: printable ASCII
 * without blanks, at most 255 bytes; else "". */
static const char *env_token(const char *name)
{
	const char *v = getenv(name);
	if (!v || strlen(v) > 255)
		return "";
	for (const char *p = v; *p; p++)
		if ((unsigned char)*p <= ' ' || (unsigned char)*p >= 0x7f)
			return "";
	return v;
}

static void read_env(struct session *s)
{
	unsigned char a[16];
	s->ip = env_token("TCPREMOTEIP");
	if (!*s->ip)
		s->ip = env_token("TCP6REMOTEIP");
	if (inet_pton(AF_INET, s->ip, a) != 1 && inet_pton(AF_INET6, s->ip, a) != 1)
		s->ip = "";
	s->host = env_token("TCPREMOTEHOST");
	s->port = env_token("TCPREMOTEPORT");
	s->localip = env_token("TCPLOCALIP");
	s->loopback = *s->ip && ipaddr_is_loopback(s->ip);
}

static void read_config(struct session *s)
{
	struct buf err = BUF_INIT;
	if (config_me(&s->me, &err) < 0 || smtpd_conf_read(s->conf, &err) < 0 ||
	    config_read_list("locals", &locals, &err) < 0 ||
	    config_read_list("rcpthosts", &rcpthosts, &err) < 0) {
		log_error("%s", buf_cstr(&err));
		printf("421 4.3.0 Local configuration error, try again later\r\n");
		fflush(stdout);
		exit(EX_TEMPFAIL);
	}
	s->locals = &locals;
	s->rcpthosts = &rcpthosts;
	buf_free(&err);
}

/* Implicit TLS needs the context now. STARTTLS is offered when the
 * certificate is readable and loaded only when a client asks: OpenSSL's
 * set-up costs more than the rest of a plain session's start. */
static void load_tls(struct session *s)
{
	if (!s->implicit_tls) {
		s->tls_offer = access(s->conf->tls_cert, R_OK) == 0;
		return;
	}
	if (smtpd_tls_ctx(s) < 0)
		exit(EX_TEMPFAIL);
}

int smtpd_tls_ctx(struct session *s)
{
	struct buf err = BUF_INIT;
	if (!s->tls_ctx) {
		s->tls_ctx = tls_server_ctx_new(s->conf->tls_cert, s->conf->tls_key, &err);
		if (!s->tls_ctx) {
			log_error("TLS disabled: %s", buf_cstr(&err));
			s->tls_offer = 0;
		}
	}
	buf_free(&err);
	return s->tls_ctx ? 0 : -1;
}

static void start_io(struct session *s)
{
	if ((s->io = io_new(0, 1)) == NULL)
		log_fatal(EX_TEMPFAIL, "stdin/stdout: %s", strerror(errno));
	io_set_nodelay(1);
	io_set_timeout(s->io, (int)s->conf->command_timeout * 1000);
	io_set_deadline(s->io, (int64_t)s->conf->session_timeout * 1000);
	io_set_max_line(s->io, s->conf->max_line);
	if (s->implicit_tls) {
		struct buf err = BUF_INIT;
		if (tls_io_start(s->io, s->tls_ctx, TLS_SERVER, NULL, &err) != IO_OK) {
			log_info("smtp tls failed ip=%s: %s", s->ip, buf_cstr(&err));
			buf_free(&err);
			session_end(s, "TLS handshake failed");
		}
		s->tls = 1;
	}
}

static void greet(struct session *s)
{
	if (policy_client(s) < 0) {
		reply(s, "421 4.3.0 %s Service temporarily unavailable", buf_cstr(&s->me));
		session_end(s, "access map error");
	}
	if (s->access == ACCESS_DENY) {
		log_info("smtp reject ip=%s reply=\"554 5.7.1 %s\"", s->ip, buf_cstr(&s->access_msg));
		reply(s, "554 5.7.1 %s", buf_cstr(&s->access_msg));
		session_end(s, "access denied");
	}
	struct buf zone = BUF_INIT;
	if (s->access == ACCESS_DEFAULT && dnsbl_check(s, &zone)) {
		log_info("smtp reject ip=%s reply=\"554 5.7.1 blocked using %s\"", s->ip, buf_cstr(&zone));
		reply(s, "554 5.7.1 Service unavailable; client [%s] blocked using %s", s->ip,
		      buf_cstr(&zone));
		buf_free(&zone);
		session_end(s, "dnsbl");
	}
	buf_free(&zone);
	reply(s, "220 %s ESMTP estafette", buf_cstr(&s->me));
}

int main(int argc, char **argv)
{
	static struct smtpd_conf conf;
	static struct session sess;
	struct session *s = &sess;
	struct buf err = BUF_INIT;
	log_init("smtpd");
	if (priv_is_root() && priv_drop_to(NET_USER, NULL, 0, &err) != 0)
		log_fatal(EX_TEMPFAIL, "cannot drop privileges to %s: %s", NET_USER, buf_cstr(&err));
	buf_free(&err);
	signal(SIGPIPE, SIG_IGN);
	s->conf = &conf;
	parse_args(s, argc, argv);
	read_env(s);
	read_config(s);
	load_tls(s);
	start_io(s);
	log_info("smtp connect ip=%s port=%s host=%s%s", *s->ip ? s->ip : "-",
		 *s->port ? s->port : "-", *s->host ? s->host : "-",
		 s->submission ? " submission" : "");
	greet(s);
	session_run(s);
	return 0;
}

void smtpd_lists_free(void)
{
	config_list_free(&locals);
	config_list_free(&rcpthosts);
}
