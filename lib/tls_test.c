/* tls tests: a self-signed EC certificate made at test time; a TLS server io in
 * a forked child and a client io in the parent over a socketpair. */
#include "tls.h"
#include "buf.h"
#include "io.h"
#include "unit.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

static const char *tmp_path(const char *name)
{
	static char path[4][4200];
	static int next;
	char *p = path[next++ % 4];
	snprintf(p, sizeof path[0], "%s/%s", unit_tmpdir(), name);
	return p;
}

static void add_ext(X509 *x, int nid, const char *value)
{
	X509V3_CTX v;
	X509V3_set_ctx_nodb(&v);
	X509V3_set_ctx(&v, x, x, NULL, NULL, 0);
	X509_EXTENSION *ext = X509V3_EXT_conf_nid(NULL, &v, nid, value);
	CHECK(ext != NULL);
	CHECK(X509_add_ext(x, ext, -1) == 1);
	X509_EXTENSION_free(ext);
}

/* Write name.crt and name.key: a self-signed P-256 certificate for cn. */
static void make_cert(const char *name, const char *cn)
{
	EVP_PKEY *key = EVP_EC_gen("P-256");
	X509 *x = X509_new();
	CHECK(key != NULL && x != NULL);
	CHECK(X509_set_version(x, 2) == 1);
	ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
	X509_gmtime_adj(X509_getm_notBefore(x), -3600);
	X509_gmtime_adj(X509_getm_notAfter(x), 86400);
	CHECK(X509_set_pubkey(x, key) == 1);
	X509_NAME *subject = X509_get_subject_name(x);
	CHECK(X509_NAME_add_entry_by_txt(subject, "CN", MBSTRING_ASC,
					 (const unsigned char *)cn, -1, -1, 0) == 1);
	CHECK(X509_set_issuer_name(x, subject) == 1);
	char san[300];
	snprintf(san, sizeof san, "DNS:%s", cn);
	add_ext(x, NID_subject_alt_name, san);
	add_ext(x, NID_basic_constraints, "critical,CA:TRUE");
	CHECK(X509_sign(x, key, EVP_sha256()) > 0);

	char file[300];
	snprintf(file, sizeof file, "%s.crt", name);
	FILE *f = fopen(tmp_path(file), "w");
	CHECK(f != NULL && PEM_write_X509(f, x) == 1);
	fclose(f);
	snprintf(file, sizeof file, "%s.key", name);
	f = fopen(tmp_path(file), "w");
	CHECK(f != NULL && PEM_write_PrivateKey(f, key, NULL, NULL, 0, NULL, NULL) == 1);
	fclose(f);
	X509_free(x);
	EVP_PKEY_free(key);
}

static SSL_CTX *server_ctx(void)
{
	struct buf err = BUF_INIT;
	SSL_CTX *ctx = tls_server_ctx_new(tmp_path("srv.crt"), tmp_path("srv.key"), &err);
	if (ctx == NULL)
		unit_fail(__FILE__, __LINE__, "server ctx: %s", buf_cstr(&err));
	buf_free(&err);
	return ctx;
}

static SSL_CTX *client_ctx(const char *ca, enum tls_verify verify)
{
	struct buf err = BUF_INIT;
	SSL_CTX *ctx = tls_client_ctx_new(tmp_path(ca), verify, &err);
	if (ctx == NULL)
		unit_fail(__FILE__, __LINE__, "client ctx: %s", buf_cstr(&err));
	buf_free(&err);
	return ctx;
}

typedef void (*server_fn)(struct io *io);

/* Run fn on a server io in a child; return the client's io in the parent. */
static struct io *start_server(server_fn fn, pid_t *pid)
{
	int sv[2];
	signal(SIGPIPE, SIG_IGN);
	make_cert("srv", "localhost");
	CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
	*pid = fork();
	CHECK(*pid >= 0);
	if (*pid == 0) {
		close(sv[0]);
		struct io *io = io_new(sv[1], sv[1]);
		io_set_timeout(io, 5000);
		fn(io);
		io_free(io);
		_exit(0);
	}
	close(sv[1]);
	struct io *io = io_new(sv[0], sv[0]);
	io_set_timeout(io, 5000);
	return io;
}

static void reap(pid_t pid)
{
	int status;
	CHECK(waitpid(pid, &status, 0) == pid);
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

static void server_accept(struct io *io)
{
	SSL_CTX *ctx = server_ctx();
	struct buf err = BUF_INIT;
	enum io_status st = tls_io_start(io, ctx, TLS_SERVER, NULL, &err);
	if (st != IO_OK)
		unit_fail(__FILE__, __LINE__, "server handshake: %s", buf_cstr(&err));
	CHECK(tls_io_active(io));
	buf_free(&err);
	tls_ctx_free(ctx);
}

/* Echo every line back with a prefix until EOF. */
static void server_echo(struct io *io)
{
	struct buf line = BUF_INIT;
	server_accept(io);
	io_set_max_line(io, 1024 * 1024);
	enum io_status st;
	while ((st = io_read_line(io, &line)) == IO_OK) {
		io_write_str(io, "echo ");
		io_write(io, line.data, line.len);
		io_write_str(io, "\r\n");
		CHECK_INT(io_flush(io), IO_OK);
	}
	CHECK_INT(st, IO_EOF);
	buf_free(&line);
}

TEST(tls_lines_both_ways)
{
	pid_t pid;
	struct io *io = start_server(server_echo, &pid);
	SSL_CTX *ctx = client_ctx("srv.crt", TLS_VERIFY_PEER);
	struct buf err = BUF_INIT, line = BUF_INIT, big = BUF_INIT;
	struct tls_info info;
	CHECK_INT(tls_io_info(io, &info), -1);
	CHECK_INT(tls_io_start(io, ctx, TLS_CLIENT, "localhost", &err), IO_OK);
	CHECK_INT(tls_io_info(io, &info), 0);
	CHECK_STR(info.version, "TLSv1.3");
	CHECK(info.bits >= 128);
	CHECK(strlen(info.cipher) > 0);
	CHECK_INT(info.verified, 1);
	CHECK(info.verify_error == NULL);

	io_write_str(io, "EHLO client\r\n");
	io_write(io, "NOOP\0x\r\n", 8);
	CHECK_INT(io_flush(io), IO_OK);
	CHECK_INT(io_read_line(io, &line), IO_OK);
	CHECK_BUF(line, "echo EHLO client");
	CHECK_INT(io_read_line(io, &line), IO_OK);
	CHECK_MEM(line.data, line.len, "echo NOOP\0x", 11);
	CHECK_INT(io_eol(io), IO_EOL_CRLF);

	/* 600 kB each way: many records, partial writes, both sides busy */
	for (size_t i = 0; i < 600000; i++)
		buf_append_char(&big, (char)('A' + i % 26));
	io_set_max_line(io, 1024 * 1024);
	io_write(io, big.data, big.len);
	io_write_str(io, "\r\n");
	CHECK_INT(io_flush(io), IO_OK);
	CHECK_INT(io_read_line(io, &line), IO_OK);
	CHECK_INT(line.len, big.len + 5);
	CHECK_MEM(line.data + 5, big.len, big.data, big.len);
	uint64_t nin, nout;
	io_counts(io, &nin, &nout);
	CHECK_INT(nout, 600000 + 2 + 13 + 8);

	io_free(io); /* close_notify: the server sees a clean EOF */
	reap(pid);
	tls_ctx_free(ctx);
	buf_free(&err);
	buf_free(&line);
	buf_free(&big);
}

static void server_expect_failure(struct io *io)
{
	SSL_CTX *ctx = server_ctx();
	struct buf err = BUF_INIT;
	CHECK(tls_io_start(io, ctx, TLS_SERVER, NULL, &err) != IO_OK);
	CHECK(err.len > 0);
	CHECK(!tls_io_active(io));
	buf_free(&err);
	tls_ctx_free(ctx);
}

TEST(tls_client_rejects_wrong_ca)
{
	pid_t pid;
	struct io *io = start_server(server_expect_failure, &pid);
	make_cert("other", "localhost");
	SSL_CTX *ctx = client_ctx("other.crt", TLS_VERIFY_PEER);
	struct buf err = BUF_INIT;
	CHECK_INT(tls_io_start(io, ctx, TLS_CLIENT, "localhost", &err), IO_ERROR);
	CHECK(strstr(buf_cstr(&err), "certificate verify failed") != NULL);
	CHECK(!tls_io_active(io));
	io_free(io);
	reap(pid);
	tls_ctx_free(ctx);
	buf_free(&err);
}

TEST(tls_client_checks_hostname)
{
	pid_t pid;
	struct io *io = start_server(server_expect_failure, &pid);
	SSL_CTX *ctx = client_ctx("srv.crt", TLS_VERIFY_PEER);
	struct buf err = BUF_INIT;
	CHECK_INT(tls_io_start(io, ctx, TLS_CLIENT, "mail.example.org", &err), IO_ERROR);
	CHECK(strstr(buf_cstr(&err), "hostname mismatch") != NULL);
	io_free(io);
	reap(pid);
	tls_ctx_free(ctx);
	buf_free(&err);
}

TEST(tls_opportunistic_client_reports_unverified)
{
	pid_t pid;
	struct io *io = start_server(server_echo, &pid);
	SSL_CTX *ctx = client_ctx("srv.crt", TLS_VERIFY_NONE);
	struct buf err = BUF_INIT, line = BUF_INIT;
	struct tls_info info;
	CHECK_INT(tls_io_start(io, ctx, TLS_CLIENT, "mx.example.net", &err), IO_OK);
	CHECK_INT(tls_io_info(io, &info), 0);
	CHECK_INT(info.verified, 0);
	CHECK(info.verify_error != NULL);
	io_write_str(io, "hi\n");
	CHECK_INT(io_flush(io), IO_OK);
	CHECK_INT(io_read_line(io, &line), IO_OK);
	CHECK_BUF(line, "echo hi");
	io_free(io);
	reap(pid);
	tls_ctx_free(ctx);
	buf_free(&err);
	buf_free(&line);
}

/* STARTTLS: plaintext pipelined after the command must not survive into TLS. */
static void server_starttls(struct io *io)
{
	struct buf line = BUF_INIT;
	CHECK_INT(io_read_line(io, &line), IO_OK);
	CHECK_BUF(line, "STARTTLS");
	CHECK(io_has_buffered_input(io) > 0); /* the injection is visible */
	io_write_str(io, "220 go ahead\r\n");
	server_accept(io); /* flushes the 220, drops "MAIL FROM" */
	CHECK_INT(io_has_buffered_input(io), 0);
	CHECK_INT(io_read_line(io, &line), IO_OK);
	CHECK_BUF(line, "EHLO inside");
	io_write_str(io, "250 ok\r\n");
	CHECK_INT(io_flush(io), IO_OK);
	CHECK_INT(io_read_line(io, &line), IO_EOF);
	buf_free(&line);
}

TEST(tls_starttls_drops_injected_plaintext)
{
	pid_t pid;
	struct io *io = start_server(server_starttls, &pid);
	SSL_CTX *ctx = client_ctx("srv.crt", TLS_VERIFY_PEER);
	struct buf err = BUF_INIT, line = BUF_INIT;
	io_write_str(io, "STARTTLS\r\nMAIL FROM:<evil@example.org>\r\n");
	CHECK_INT(io_flush(io), IO_OK);
	CHECK_INT(io_read_line(io, &line), IO_OK);
	CHECK_BUF(line, "220 go ahead");
	CHECK_INT(tls_io_start(io, ctx, TLS_CLIENT, "localhost", &err), IO_OK);
	CHECK_INT(tls_io_start(io, ctx, TLS_CLIENT, "localhost", &err), IO_ERROR);
	io_write_str(io, "EHLO inside\r\n");
	CHECK_INT(io_flush(io), IO_OK);
	CHECK_INT(io_read_line(io, &line), IO_OK);
	CHECK_BUF(line, "250 ok");
	io_free(io);
	reap(pid);
	tls_ctx_free(ctx);
	buf_free(&err);
	buf_free(&line);
}

TEST(tls_separate_fds_over_pipes)
{
	int up[2], down[2];
	signal(SIGPIPE, SIG_IGN);
	make_cert("srv", "localhost");
	CHECK(pipe(up) == 0 && pipe(down) == 0);
	pid_t pid = fork();
	CHECK(pid >= 0);
	if (pid == 0) { /* tcpserver style: read from one fd, write to another */
		close(up[1]);
		close(down[0]);
		struct io *sio = io_new(up[0], down[1]);
		io_set_timeout(sio, 5000);
		server_echo(sio);
		io_free(sio);
		_exit(0);
	}
	close(up[0]);
	close(down[1]);
	struct io *io = io_new(down[0], up[1]);
	io_set_timeout(io, 5000);
	SSL_CTX *ctx = client_ctx("srv.crt", TLS_VERIFY_PEER);
	struct buf err = BUF_INIT, line = BUF_INIT;
	CHECK_INT(tls_io_start(io, ctx, TLS_CLIENT, "localhost", &err), IO_OK);
	io_write_str(io, "over pipes\r\n");
	CHECK_INT(io_flush(io), IO_OK);
	CHECK_INT(io_read_line(io, &line), IO_OK);
	CHECK_BUF(line, "echo over pipes");
	io_free(io);
	close(up[1]);
	reap(pid);
	tls_ctx_free(ctx);
	buf_free(&err);
	buf_free(&line);
}

static void server_silent(struct io *io)
{
	sleep(2);
}

TEST(tls_handshake_times_out)
{
	pid_t pid;
	struct io *io = start_server(server_silent, &pid);
	SSL_CTX *ctx = client_ctx("srv.crt", TLS_VERIFY_PEER);
	struct buf err = BUF_INIT;
	io_set_timeout(io, 100);
	CHECK_INT(tls_io_start(io, ctx, TLS_CLIENT, "localhost", &err), IO_TIMEOUT);
	CHECK(strstr(buf_cstr(&err), "timed out") != NULL);
	io_free(io);
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	tls_ctx_free(ctx);
	buf_free(&err);
}

TEST(tls_server_rejects_plaintext_garbage)
{
	int sv[2];
	signal(SIGPIPE, SIG_IGN);
	make_cert("srv", "localhost");
	CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
	CHECK(write(sv[1], "GET / HTTP/1.0\r\n\r\n\0\xff", 20) == 20);
	close(sv[1]);
	struct io *io = io_new(sv[0], sv[0]);
	SSL_CTX *ctx = server_ctx();
	struct buf err = BUF_INIT;
	CHECK_INT(tls_io_start(io, ctx, TLS_SERVER, NULL, &err), IO_ERROR);
	CHECK(strstr(buf_cstr(&err), "TLS handshake") != NULL);
	io_free(io);
	tls_ctx_free(ctx);

	/* a peer that closes at once */
	CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
	close(sv[1]);
	io = io_new(sv[0], sv[0]);
	ctx = client_ctx("srv.crt", TLS_VERIFY_PEER);
	CHECK_INT(tls_io_start(io, ctx, TLS_CLIENT, "localhost", &err), IO_ERROR);
	io_free(io);
	tls_ctx_free(ctx);
	buf_free(&err);
}

TEST(tls_context_errors)
{
	struct buf err = BUF_INIT;
	make_cert("a", "localhost");
	make_cert("b", "localhost");
	CHECK(tls_server_ctx_new(tmp_path("missing.crt"), tmp_path("a.key"), &err) == NULL);
	CHECK(strstr(buf_cstr(&err), "cannot load certificate") != NULL);
	CHECK(tls_server_ctx_new(tmp_path("a.crt"), tmp_path("missing.key"), &err) == NULL);
	CHECK(strstr(buf_cstr(&err), "cannot load private key") != NULL);
	CHECK(tls_server_ctx_new(tmp_path("a.crt"), tmp_path("b.key"), &err) == NULL);
	CHECK(err.len > 0);
	CHECK(tls_server_ctx_new(tmp_path("a.key"), tmp_path("a.key"), &err) == NULL);
	CHECK(tls_client_ctx_new(tmp_path("missing.crt"), TLS_VERIFY_PEER, &err) == NULL);
	CHECK(strstr(buf_cstr(&err), "cannot load CA") != NULL);
	SSL_CTX *ctx = tls_client_ctx_new(NULL, TLS_VERIFY_PEER, &err);
	CHECK(ctx != NULL); /* the system store */
	tls_ctx_free(ctx);
	buf_free(&err);
}
