/* tls: OpenSSL 3 contexts and a TLS transport for struct io.
 *
 * Server and client contexts get modern defaults (TLS 1.2 at least, no
 * compression, no renegotiation, server cipher order, ECDHE/DHE AEAD ciphers
 * for TLS 1.2). tls_io_start() runs the handshake on an io with the io's
 * timeout and then installs the TLS transport, so io_read_line and friends
 * carry on over TLS; io_free() sends close_notify and frees the session.
 * Nothing here logs: failures are described in *err. OpenSSL writes with
 * write(), so a daemon using TLS must ignore SIGPIPE. */
#ifndef ESTAFETTE_TLS_H
#define ESTAFETTE_TLS_H

#include "io.h"

#include <openssl/ssl.h>

struct buf;

enum tls_role { TLS_SERVER, TLS_CLIENT };
enum tls_verify {
	TLS_VERIFY_NONE, /* opportunistic: handshake regardless, see tls_info.verified */
	TLS_VERIFY_PEER, /* fail the handshake unless the chain and name check out */
};

/* cert_file holds the certificate chain (leaf first), key_file its key (both
 * PEM; they may be the same file). NULL with *err set on failure. */
SSL_CTX *tls_server_ctx_new(const char *cert_file, const char *key_file, struct buf *err);
/* ca_file NULL means the system trust store. */
SSL_CTX *tls_client_ctx_new(const char *ca_file, enum tls_verify verify, struct buf *err);
void tls_ctx_free(SSL_CTX *ctx);

/* Flush pending plaintext output, drop buffered plaintext input (STARTTLS
 * injection; the caller should have checked io_has_buffered_input() first to
 * refuse it), handshake, and install TLS on io. For a client, hostname (may be
 * NULL) is sent as SNI and checked against the certificate (an IP literal is
 * checked against IP addresses and not sent). IO_OK, or IO_TIMEOUT or IO_ERROR
 * with *err set; after a failure the io is unusable (close the connection). */
enum io_status tls_io_start(struct io *io, SSL_CTX *ctx, enum tls_role role,
			    const char *hostname, struct buf *err);

struct tls_info {
	const char *version;      /* "TLSv1.3" */
	const char *cipher;       /* "TLS_AES_256_GCM_SHA384" */
	int bits;                 /* secret bits of the cipher */
	int verified;             /* peer sent a certificate that verified */
	const char *verify_error; /* why not, when it sent one; else NULL */
};

/* 0 and *info filled when io runs TLS, else -1. The strings are static or
 * live as long as the session. */
int tls_io_info(struct io *io, struct tls_info *info);
int tls_io_active(const struct io *io);

#endif
