/* tls: OpenSSL glue, and the TLS transport that struct io runs over.
 *
 * Trusts OpenSSL and the certificate/key files the administrator names; the
 * peer's bytes are only ever handled by OpenSSL. Every SSL call is preceded by
 * ERR_clear_error() so that SSL_get_error() and our messages describe that
 * call and not some earlier one. */
#include "tls.h"
#include "alloc.h"
#include "buf.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/x509v3.h>

/* TLS 1.2 suites: forward secrecy and AEAD only (TLS 1.3 suites are fixed by
 * OpenSSL's defaults, which are all good). */
#define TLS12_CIPHERS                                                   \
	"ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"    \
	"ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"    \
	"ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305:"    \
	"DHE-RSA-AES128-GCM-SHA256:DHE-RSA-AES256-GCM-SHA384:"          \
	"DHE-RSA-CHACHA20-POLY1305"

struct tls_conn {
	SSL *ssl;
	int failed;     /* a fatal error: no more I/O, not even close_notify */
	struct buf err; /* why */
};

/* err = what, then OpenSSL's queued reasons. */
static void tls_err(struct buf *err, const char *what)
{
	char s[256];
	unsigned long e;
	buf_set_str(err, what);
	while ((e = ERR_get_error()) != 0) {
		ERR_error_string_n(e, s, sizeof s);
		buf_append_str(err, ": ");
		buf_append_str(err, s);
	}
}

/* The answer for an SSL_read/SSL_write that returned ret <= 0. */
static ssize_t tls_map(struct tls_conn *c, int ret, int reading)
{
	int e = SSL_get_error(c->ssl, ret);
	if (e == SSL_ERROR_WANT_READ)
		return IO_T_WANT_READ;
	if (e == SSL_ERROR_WANT_WRITE)
		return IO_T_WANT_WRITE;
	if (e == SSL_ERROR_ZERO_RETURN && reading)
		return 0;
	c->failed = 1;
	if (e == SSL_ERROR_ZERO_RETURN)
		buf_set_str(&c->err, "TLS session closed by peer");
	else if (e == SSL_ERROR_SYSCALL && ERR_peek_error() == 0)
		buf_set_str(&c->err, errno ? strerror(errno) : "connection closed");
	else
		tls_err(&c->err, reading ? "TLS read" : "TLS write");
	return IO_T_ERROR;
}

static ssize_t tls_read(void *ctx, void *p, size_t n)
{
	struct tls_conn *c = ctx;
	size_t got = 0;
	if (c->failed)
		return IO_T_ERROR;
	ERR_clear_error();
	errno = 0;
	if (SSL_read_ex(c->ssl, p, n, &got) == 1)
		return (ssize_t)got;
	return tls_map(c, 0, 1);
}

static ssize_t tls_write(void *ctx, const void *p, size_t n)
{
	struct tls_conn *c = ctx;
	size_t put = 0;
	if (c->failed)
		return IO_T_ERROR;
	ERR_clear_error();
	errno = 0;
	if (SSL_write_ex(c->ssl, p, n, &put) == 1)
		return (ssize_t)put;
	return tls_map(c, 0, 0);
}

static size_t tls_pending(void *ctx)
{
	struct tls_conn *c = ctx;
	int n = SSL_pending(c->ssl);
	return n > 0 ? (size_t)n : 0;
}

static void tls_error(void *ctx, struct buf *out)
{
	struct tls_conn *c = ctx;
	buf_set(out, c->err.data ? c->err.data : "", c->err.len);
}

/* Send close_notify once (without waiting for the peer's) and free. */
static void tls_close(void *ctx)
{
	struct tls_conn *c = ctx;
	if (!c->failed && SSL_is_init_finished(c->ssl)) {
		ERR_clear_error();
		SSL_shutdown(c->ssl);
	}
	SSL_free(c->ssl);
	buf_free(&c->err);
	free(c);
}

static const struct io_transport tls_transport = {
	"tls", tls_read, tls_write, tls_pending, tls_error, tls_close,
};

static SSL_CTX *tls_ctx_common(const SSL_METHOD *method, struct buf *err)
{
	ERR_clear_error();
	SSL_CTX *ctx = SSL_CTX_new(method);
	if (ctx == NULL) {
		tls_err(err, "SSL_CTX_new");
		return NULL;
	}
	SSL_CTX_set_options(ctx, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION |
				 SSL_OP_IGNORE_UNEXPECTED_EOF);
	SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE |
			      SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER | SSL_MODE_RELEASE_BUFFERS);
	if (!SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION) ||
	    !SSL_CTX_set_cipher_list(ctx, TLS12_CIPHERS)) {
		tls_err(err, "TLS context settings");
		SSL_CTX_free(ctx);
		return NULL;
	}
	return ctx;
}

SSL_CTX *tls_server_ctx_new(const char *cert_file, const char *key_file, struct buf *err)
{
	SSL_CTX *ctx = tls_ctx_common(TLS_server_method(), err);
	if (ctx == NULL)
		return NULL;
	SSL_CTX_set_options(ctx, SSL_OP_CIPHER_SERVER_PREFERENCE);
	SSL_CTX_set_dh_auto(ctx, 1);
	if (SSL_CTX_use_certificate_chain_file(ctx, cert_file) != 1) {
		tls_err(err, "cannot load certificate");
	} else if (SSL_CTX_use_PrivateKey_file(ctx, key_file, SSL_FILETYPE_PEM) != 1) {
		tls_err(err, "cannot load private key");
	} else if (SSL_CTX_check_private_key(ctx) != 1) {
		tls_err(err, "private key does not match certificate");
	} else {
		return ctx;
	}
	SSL_CTX_free(ctx);
	return NULL;
}

SSL_CTX *tls_client_ctx_new(const char *ca_file, enum tls_verify verify, struct buf *err)
{
	SSL_CTX *ctx = tls_ctx_common(TLS_client_method(), err);
	if (ctx == NULL)
		return NULL;
	SSL_CTX_set_verify(ctx, verify == TLS_VERIFY_PEER ? SSL_VERIFY_PEER : SSL_VERIFY_NONE,
			   NULL);
	int ok = ca_file ? SSL_CTX_load_verify_file(ctx, ca_file)
			 : SSL_CTX_set_default_verify_paths(ctx);
	if (ok != 1) {
		tls_err(err, "cannot load CA certificates");
		SSL_CTX_free(ctx);
		return NULL;
	}
	return ctx;
}

void tls_ctx_free(SSL_CTX *ctx)
{
	SSL_CTX_free(ctx);
}

static int tls_set_fds(SSL *ssl, const struct io *io)
{
	if (io_rfd(io) == io_wfd(io))
		return SSL_set_fd(ssl, io_rfd(io));
	return SSL_set_rfd(ssl, io_rfd(io)) && SSL_set_wfd(ssl, io_wfd(io));
}

/* SNI and the name the certificate must carry; IP literals get no SNI
 * (RFC 6066) and are matched against the certificate's IP addresses. */
static int tls_set_peer(SSL *ssl, const char *hostname)
{
	unsigned char addr[16];
	if (hostname == NULL || *hostname == '\0')
		return 1;
	X509_VERIFY_PARAM *vp = SSL_get0_param(ssl);
	if (inet_pton(AF_INET, hostname, addr) == 1 || inet_pton(AF_INET6, hostname, addr) == 1)
		return X509_VERIFY_PARAM_set1_ip_asc(vp, hostname);
	X509_VERIFY_PARAM_set_hostflags(vp, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
	return SSL_set_tlsext_host_name(ssl, hostname) == 1 && SSL_set1_host(ssl, hostname) == 1;
}

static enum io_status tls_handshake(struct io *io, SSL *ssl, struct buf *err)
{
	for (;;) {
		ERR_clear_error();
		errno = 0;
		int r = SSL_do_handshake(ssl);
		if (r == 1)
			return IO_OK;
		int e = SSL_get_error(ssl, r);
		if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
			enum io_status st = io_wait(io, e == SSL_ERROR_WANT_WRITE);
			if (st != IO_OK) {
				buf_printf(err, "TLS handshake: %s", io_error(io));
				return st;
			}
			continue;
		}
		if (e == SSL_ERROR_SYSCALL && ERR_peek_error() == 0) {
			buf_printf(err, "TLS handshake: %s",
				   errno ? strerror(errno) : "connection closed");
			return IO_ERROR;
		}
		tls_err(err, "TLS handshake failed");
		long vr = SSL_get_verify_result(ssl);
		if (vr != X509_V_OK)
			buf_printf(err, " (certificate: %s)", X509_verify_cert_error_string(vr));
		return IO_ERROR;
	}
}

enum io_status tls_io_start(struct io *io, SSL_CTX *ctx, enum tls_role role,
			    const char *hostname, struct buf *err)
{
	buf_reset(err);
	if (tls_io_active(io)) {
		buf_set_str(err, "TLS is already active");
		return IO_ERROR;
	}
	enum io_status st = io_flush(io);
	if (st != IO_OK) {
		buf_set_str(err, io_error(io));
		return st;
	}
	io_discard_input(io);
	ERR_clear_error();
	SSL *ssl = SSL_new(ctx);
	if (ssl == NULL || !tls_set_fds(ssl, io) ||
	    (role == TLS_CLIENT && !tls_set_peer(ssl, hostname))) {
		tls_err(err, "TLS setup");
		SSL_free(ssl);
		return IO_ERROR;
	}
	if (role == TLS_SERVER)
		SSL_set_accept_state(ssl);
	else
		SSL_set_connect_state(ssl);
	st = tls_handshake(io, ssl, err);
	if (st != IO_OK) {
		SSL_free(ssl);
		return st;
	}
	struct tls_conn *c = xcalloc(1, sizeof *c);
	c->ssl = ssl;
	io_set_transport(io, &tls_transport, c);
	return IO_OK;
}

int tls_io_active(const struct io *io)
{
	return io_get_transport(io, NULL) == &tls_transport;
}

int tls_io_info(struct io *io, struct tls_info *info)
{
	void *ctx;
	if (io_get_transport(io, &ctx) != &tls_transport)
		return -1;
	SSL *ssl = ((struct tls_conn *)ctx)->ssl;
	const SSL_CIPHER *cipher = SSL_get_current_cipher(ssl);
	long vr = SSL_get_verify_result(ssl);
	int has_peer = SSL_get0_peer_certificate(ssl) != NULL;
	info->version = SSL_get_version(ssl);
	info->cipher = cipher ? SSL_CIPHER_get_name(cipher) : "none";
	info->bits = cipher ? SSL_CIPHER_get_bits(cipher, NULL) : 0;
	info->verified = has_peer && vr == X509_V_OK;
	info->verify_error = has_peer && vr != X509_V_OK ? X509_verify_cert_error_string(vr)
							   : NULL;
	return 0;
}
