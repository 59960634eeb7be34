/* login: the login stages' shared machinery (see login.h, auth-exec(8)).
 *
 * Runs as the net user. Trusts authd's replies as far as authclient parses
 * them; nothing from the client, whose credentials are only passed on to
 * authd and wiped. The relay process keeps the client (and its TLS session)
 * when the mail stage must not or cannot have the socket itself. */
#define _GNU_SOURCE
#include "login.h"
#include "alloc.h"
#include "sasl.h"
#include "config.h"
#include "file.h"
#include "ipaddr.h"
#include "log.h"
#include "paths.h"
#include "ticket.h"
#include "tls.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#define RELAY_TIMEOUT_MS (30 * 60 * 1000)

void login_wipe(struct buf *b)
{
	if (b->data)
		explicit_bzero(b->data, b->cap);
	buf_free(b);
}

void login_tls_files(struct config_env *env, const char *default_cert, struct buf *cert,
		     struct buf *key)
{
	const char *v;
	config_env_string(env, "tls_cert", default_cert, &v);
	if (v[0] == '/')
		buf_set_str(cert, v);
	else
		config_path(cert, v);
	config_env_string(env, "tls_key", "", &v);
	if (v[0] == '/' || v[0] == '\0')
		buf_set_str(key, v[0] ? v : buf_cstr(cert));
	else
		config_path(key, v);
}

int login_init(struct login *l, const char *service, const char *cert_file,
	       const char *key_file, struct buf *err)
{
	memset(l, 0, sizeof *l);
	l->service = service;
	signal(SIGPIPE, SIG_IGN);
	const char *ip = getenv("TCPREMOTEIP");
	l->ip = ip && strlen(ip) < 64 && strspn(ip, "0123456789abcdefABCDEF.:") == strlen(ip) ? ip : "";
	l->io = io_new(0, 1);
	if (l->io == NULL) {
		buf_error(err, "stdin/stdout: %s", strerror(errno));
		return -1;
	}
	io_set_nodelay(1);
	if (cert_file && access(cert_file, R_OK) == 0) {
		l->cert_file = xstrdup(cert_file);
		l->key_file = xstrdup(key_file ? key_file : cert_file);
	} else if (cert_file) {
		buf_error(err, "%s: %s", cert_file, strerror(errno));
	}
	return 0;
}

/* TCPREMOTEIP, else the socket on fd 0: a UNIX socket or a pipe is local. */
static int client_local(const struct login *l)
{
	if (*l->ip)
		return ipaddr_is_loopback(l->ip);
	struct sockaddr_storage ss;
	socklen_t len = sizeof ss;
	char txt[INET6_ADDRSTRLEN];
	if (getpeername(0, (struct sockaddr *)&ss, &len) < 0)
		return errno == ENOTSOCK;
	if (ss.ss_family == AF_INET)
		return inet_ntop(AF_INET, &((struct sockaddr_in *)&ss)->sin_addr, txt, sizeof txt) &&
		       ipaddr_is_loopback(txt);
	if (ss.ss_family == AF_INET6)
		return inet_ntop(AF_INET6, &((struct sockaddr_in6 *)&ss)->sin6_addr, txt, sizeof txt) &&
		       ipaddr_is_loopback(txt);
	return ss.ss_family == AF_UNIX;
}

int login_plaintext_allowed(const struct login *l, const char *setting, int *ok,
			    struct buf *err)
{
	if (setting == NULL || strcasecmp(setting, "loopback") == 0) {
		*ok = client_local(l);
		return 0;
	}
	if (config_parse_bool(setting, strlen(setting), ok, err) < 0) {
		buf_append_str(err, " (plaintext_auth: yes, no or loopback)");
		return -1;
	}
	return 0;
}

int login_tls_offered(const struct login *l)
{
	return l->cert_file != NULL && !login_tls_active(l);
}

int login_tls_load(struct login *l, struct buf *err)
{
	if (l->tls)
		return 0;
	if (l->cert_file == NULL) {
		buf_error(err, "TLS not available");
		return -1;
	}
	l->tls = tls_server_ctx_new(l->cert_file, l->key_file, err);
	if (l->tls == NULL) {
		free(l->cert_file);
		l->cert_file = NULL; /* not offered again */
		return -1;
	}
	return 0;
}

void login_free(struct login *l)
{
	if (l->io)
		io_free(l->io);
	if (l->tls)
		tls_ctx_free(l->tls);
	free(l->cert_file);
	free(l->key_file);
	memset(l, 0, sizeof *l);
}

int login_tls_active(const struct login *l)
{
	return tls_io_active(l->io);
}

int login_starttls(struct login *l, struct buf *err)
{
	if (login_tls_active(l)) {
		buf_error(err, "TLS not available");
		return -1;
	}
	if (login_tls_load(l, err) < 0)
		return -1;
	if (io_has_buffered_input(l->io)) {
		buf_error(err, "client sent data before the TLS handshake");
		return -1;
	}
	return tls_io_start(l->io, l->tls, TLS_SERVER, NULL, err) == IO_OK ? 0 : -1;
}

int login_plain_split(const void *msg, size_t len, struct buf *user, struct buf *pass)
{
	const char *z = msg, *end = z + len;
	const char *n1 = memchr(z, '\0', len);
	const char *n2 = n1 ? memchr(n1 + 1, '\0', (size_t)(end - n1 - 1)) : NULL;
	if (n2 == NULL || memchr(n2 + 1, '\0', (size_t)(end - n2 - 1)))
		return -1;
	size_t zl = (size_t)(n1 - z), ul = (size_t)(n2 - n1 - 1), pl = (size_t)(end - n2 - 1);
	if (ul == 0 || ul > LOGIN_MAX_USER || pl == 0 || pl > LOGIN_MAX_PASS)
		return -1;
	if (zl && (zl != ul || memcmp(z, n1 + 1, ul) != 0))
		return -1; /* no proxy authorisation */
	buf_set(user, n1 + 1, ul);
	buf_set(pass, n2 + 1, pl);
	return 0;
}

int login_auth(struct login *l, const char *user, const char *pass, size_t pass_len,
	       struct account *acct, struct buf *reason)
{
	int rc = authclient_login(NULL, l->service, l->ip, user, pass, pass_len, acct, reason);
	if (rc == AUTHCLIENT_OK && (acct->ticket == NULL || acct->ticket[0] == '\0')) {
		if (reason)
			buf_set_str(reason, "authd issued no ticket (is authd.key readable?)");
		account_free(acct);
		rc = AUTHCLIENT_TEMPFAIL;
	}
	if (rc == AUTHCLIENT_NO)
		l->failures++;
	return rc;
}

void login_mechanisms(struct login *l, struct buf *out)
{
	if (sasl_mechanisms(NULL, l->service, out) != SASL_OK || out->len == 0)
		buf_set_str(out, "PLAIN LOGIN");
}

int login_sasl(struct login *l, const char *mech, const char *initial, struct account *acct,
	       struct buf *reason)
{
	struct buf chal = BUF_INIT, line = BUF_INIT;
	struct sasl *x = sasl_new(NULL, l->service, l->ip);
	int r = sasl_begin(x, mech, initial, &chal, acct, reason);
	while (r == SASL_CONTINUE) {
		io_write(l->io, "+ ", 2);
		io_write(l->io, chal.data ? chal.data : "", chal.len);
		io_write(l->io, "\r\n", 2);
		if (io_flush(l->io) != IO_OK || io_read_line(l->io, &line) != IO_OK) {
			r = -1;
			break;
		}
		r = sasl_continue(x, line.data ? line.data : "", line.len, &chal, acct, reason);
		login_wipe(&line);
	}
	sasl_free(x);
	login_wipe(&line);
	buf_free(&chal);
	if (r == SASL_OK && (acct->ticket == NULL || acct->ticket[0] == '\0')) {
		if (reason)
			buf_set_str(reason, "authd issued no ticket (is authd.key readable?)");
		account_free(acct);
		r = SASL_TEMPFAIL;
	}
	if (r == SASL_NO)
		l->failures++;
	return r;
}

void login_ticket_env(const char *service, const struct account *acct, struct buf *out)
{
	ticket_format(out, service, acct, acct->expires);
	buf_append_str(out, " mac=");
	buf_append_str(out, acct->ticket ? acct->ticket : "");
}

static int printable(const char *s, size_t max)
{
	size_t n = strlen(s);
	for (size_t i = 0; i < n; i++)
		if (s[i] < 0x20 || s[i] > 0x7e)
			return 0;
	return n <= max;
}

/* Copy between the client and fd until the mail stage closes fd. */
static _Noreturn void relay(struct io *client, int fd)
{
	struct buf b = BUF_INIT;
	int client_eof = 0;
	io_set_timeout(client, RELAY_TIMEOUT_MS);
	io_set_deadline(client, 0); /* the login deadline ends here; the mail stage has its own */
	for (;;) {
		struct pollfd p[2] = { { fd, POLLIN, 0 }, { io_rfd(client), POLLIN, 0 } };
		int buffered = !client_eof && io_has_buffered_input(client) > 0;
		if (!buffered && poll(p, client_eof ? 1 : 2, -1) < 0 && errno != EINTR)
			break;
		if (buffered || (!client_eof && (p[1].revents & (POLLIN | POLLHUP | POLLERR)))) {
			buf_reset(&b);
			enum io_status st = io_read_some(client, &b, 65536);
			if (st == IO_OK && file_write_all(fd, b.data, b.len) < 0)
				break;
			if (st != IO_OK) {
				client_eof = 1;
				shutdown(fd, SHUT_WR);
			}
			continue;
		}
		if (p[0].revents & (POLLIN | POLLHUP | POLLERR)) {
			char chunk[65536];
			ssize_t r = read(fd, chunk, sizeof chunk);
			if (r < 0 && errno == EINTR)
				continue;
			if (r <= 0)
				break;
			io_write(client, chunk, (size_t)r);
			if (io_flush(client) != IO_OK)
				break;
		}
	}
	buf_free(&b);
	io_free(client); /* TLS close_notify */
	_exit(0);
}

/* Give the client to fds 0/1 through a relay process; 0 or -1. */
static int start_relay(struct login *l, struct buf *err)
{
	int sp[2];
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp) < 0) {
		buf_error(err, "socketpair: %s", strerror(errno));
		return -1;
	}
	pid_t pid = fork();
	if (pid < 0) {
		buf_error(err, "fork: %s", strerror(errno));
		close(sp[0]);
		close(sp[1]);
		return -1;
	}
	if (pid == 0) {
		close(sp[1]);
		relay(l->io, sp[0]);
	}
	close(sp[0]);
	if (dup2(sp[1], 0) < 0 || dup2(sp[1], 1) < 0) {
		buf_error(err, "dup2: %s", strerror(errno));
		return -1;
	}
	close(sp[1]);
	return 0;
}

int login_exec(struct login *l, const struct account *acct, const char *state,
	       const char *fail_reply, struct buf *err)
{
	struct buf t = BUF_INIT, path = BUF_INIT;
	if ((state && !printable(state, LOGIN_MAX_STATE)) ||
	    (fail_reply && !printable(fail_reply, LOGIN_MAX_FAIL))) {
		buf_error(err, "login state or failure reply not printable or too long");
		return -1;
	}
	login_ticket_env(l->service, acct, &t);
	if (setenv("ESTAFETTE_TICKET", buf_cstr(&t), 1) < 0 ||
	    (state && setenv("ESTAFETTE_LOGIN_STATE", state, 1) < 0) ||
	    (fail_reply && setenv("ESTAFETTE_LOGIN_FAIL", fail_reply, 1) < 0)) {
		buf_error(err, "setenv: %s", strerror(errno));
		buf_free(&t);
		return -1;
	}
	buf_free(&t);
	if (io_flush(l->io) != IO_OK) {
		buf_error(err, "client: %s", io_error(l->io));
		return -1;
	}
	if ((login_tls_active(l) || io_has_buffered_input(l->io)) && start_relay(l, err) < 0)
		return -1;
	paths_join(&path, paths_libexec(), "auth-exec");
	char *argv[] = { (char *)"auth-exec", (char *)l->service, NULL };
	execv(buf_cstr(&path), argv);
	buf_error(err, "%s: %s", buf_cstr(&path), strerror(errno));
	buf_free(&path);
	return -1;
}
