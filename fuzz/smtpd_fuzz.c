/* smtpd_fuzz: smtpd's whole command loop (smtpd(8)) over a client's bytes:
 * EHLO/HELO, MAIL and RCPT with their ESMTP parameters (SIZE, BODY, SMTPUTF8,
 * RET, ENVID, AUTH, NOTIFY, ORCPT), DATA with dot-unstuffing, BDAT chunks,
 * AUTH PLAIN/LOGIN with their continuation lines, VRFY, RSET, pipelining.
 * The session plumbing (session.c) is replaced: session_end() jumps back
 * instead of exiting, submit is a stub that keeps the message, authd is
 * absent (ESTAFETTE_ROOT is a private empty directory: AUTH fails
 * temporarily). Byte 0: submission mode, loopback, authenticated, access,
 * VRFY; the rest is the client's input. Invariants: every reply line is
 * "NNN" + ' ' or '-' + printable ASCII + CRLF (client bytes never reach a
 * reply unescaped), codes are 2xx-5xx; the message handed to submit stays
 * within max_message_size plus one line; the recipient count stays within
 * max_recipients. */
#define _GNU_SOURCE
#include "fuzz.h"
#include "../smtpd/smtpd.h"
#include "config.h"
#include "io.h"

#include <setjmp.h>
#include <sys/mman.h>

void __lsan_disable(void) __attribute__((weak));
void __lsan_enable(void) __attribute__((weak));

static jmp_buf end_jump;
static struct smtpd_conf conf;

struct submit_client {
	struct buf data;
};
static struct buf last_message;

struct submit_client *submit_client_start(struct session *s, struct buf *err)
{
	(void)s, (void)err;
	struct submit_client *c = calloc(1, sizeof *c);
	FUZZ_CHECK(c != NULL);
	return c;
}

void submit_client_data(struct submit_client *c, const void *p, size_t n)
{
	buf_append(&c->data, p, n);
}

void submit_client_finish(struct submit_client *c, int timeout_s, struct buf *reply)
{
	(void)timeout_s;
	buf_set(&last_message, c->data.data, c->data.len);
	buf_set_str(reply, "250 2.0.0 Ok: queued as 0123456789abcdef0123");
	buf_free(&c->data);
	free(c);
}

void submit_client_abort(struct submit_client *c)
{
	buf_free(&c->data);
	free(c);
}

void smtpd_lists_free(void)
{
}

int smtpd_tls_ctx(struct session *s)
{
	(void)s;
	return -1;
}

void txn_reset(struct session *s)
{
	struct txn *t = &s->txn;
	for (size_t i = 0; i < t->nrcpt; i++) {
		free(t->rcpts[i].addr);
		free(t->rcpts[i].notify);
		free(t->rcpts[i].orcpt);
	}
	free(t->rcpts);
	if (t->sub)
		submit_client_abort(t->sub);
	buf_free(&t->sender);
	buf_free(&t->envid);
	buf_free(&t->ret);
	buf_free(&t->bdat_reply);
	memset(t, 0, sizeof *t);
}

void session_end(struct session *s, const char *why)
{
	(void)why;
	io_flush(s->io);
	longjmp(end_jump, 1);
}

int session_read_line(struct session *s)
{
	if (io_has_buffered_input(s->io) == 0 && io_flush(s->io) != IO_OK)
		session_end(s, "write failed");
	enum io_status st = io_read_line(s->io, &s->line);
	if (st == IO_EOF || st == IO_ERROR || st == IO_TIMEOUT ||
	    (st == IO_OK && io_eol(s->io) == IO_EOL_NONE))
		session_end(s, "client closed");
	return st;
}

static void check_replies(int fd)
{
	struct buf out = BUF_INIT;
	off_t end = lseek(fd, 0, SEEK_END);
	FUZZ_CHECK(end >= 0);
	if (end > 0) {
		char *p = buf_space(&out, (size_t)end);
		FUZZ_CHECK(pread(fd, p, (size_t)end, 0) == end);
		buf_commit(&out, (size_t)end);
	}
	size_t start = 0;
	for (size_t i = 0; i < out.len; i++) {
		unsigned char c = (unsigned char)out.data[i];
		if (c != '\n') {
			FUZZ_CHECK(c == '\r' || (c >= 0x20 && c < 0x7f));
			continue;
		}
		const char *l = out.data + start;
		size_t n = i - start;
		FUZZ_CHECK(n >= 4 && l[n - 1] == '\r');
		FUZZ_CHECK(memchr(l, '\r', n - 1) == NULL);
		FUZZ_CHECK(l[0] >= '2' && l[0] <= '5' && l[1] >= '0' && l[1] <= '9' && l[2] >= '0' &&
			   l[2] <= '9');
		FUZZ_CHECK(l[3] == ' ' || l[3] == '-' || (n == 4 && l[3] == '\r'));
		start = i + 1;
	}
	FUZZ_CHECK(start == out.len);
	buf_free(&out);
}

static void check_message(void)
{
	FUZZ_CHECK(last_message.len <= conf.max_message_size + conf.max_data_line + 2);
}

static void setup(struct session *s, unsigned opt, int in, int out)
{
	static char *locals_v[] = { (char *)"example.com" };
	static char *hosts_v[] = { (char *)"example.net" };
	static struct config_list locals = { locals_v, 1 }, hosts = { hosts_v, 1 };
	memset(s, 0, sizeof *s);
	s->conf = &conf;
	s->io = io_new(in, out);
	FUZZ_CHECK(s->io != NULL);
	io_set_max_line(s->io, conf.max_line);
	buf_set_str(&s->me, "mx.example");
	s->submission = opt & 1;
	s->loopback = (opt >> 1) & 1;
	s->ip = s->loopback ? "127.0.0.1" : "192.0.2.1";
	s->host = s->port = s->localip = "";
	if ((opt >> 2) & 1) {
		s->authed = 1;
		buf_set_str(&s->auth_user, "alice@example.com");
	}
	s->access = (enum access)((opt >> 3) & 3);
	conf.vrfy = (opt >> 5) & 1;
	s->locals = &locals;
	s->rcpthosts = &hosts;
}

static void cleanup(struct session *s)
{
	txn_reset(s);
	io_free(s->io);
	buf_free(&s->line);
	buf_free(&s->me);
	buf_free(&s->helo);
	buf_free(&s->auth_user);
	buf_free(&s->access_msg);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct session s; /* static: longjmp must not lose its contents */
	if (conf.max_line == 0) {
		setenv("ESTAFETTE_ROOT", fuzz_tmpfile(0, "root"), 1);
		conf.max_message_size = 1 << 14;
		conf.max_recipients = 5;
		conf.max_line = 512;
		conf.max_data_line = 998;
		conf.max_bad_commands = 20;
		conf.max_errors = 3;
		conf.command_timeout = conf.session_timeout = conf.submit_timeout = 5;
		conf.auth_loopback = 1;
		conf.dnsbl_zones = (char *)"";
	}
	struct fuzz_in in;
	fuzz_in_init(&in, data, size);
	unsigned opt = fuzz_take_byte(&in);
	int rfd = memfd_create("smtp-in", 0), wfd = memfd_create("smtp-out", 0);
	FUZZ_CHECK(rfd >= 0 && wfd >= 0);
	FUZZ_CHECK(in.len == 0 || write(rfd, in.p, in.len) == (ssize_t)in.len);
	FUZZ_CHECK(lseek(rfd, 0, SEEK_SET) == 0);
	setup(&s, opt, rfd, wfd);
	buf_reset(&last_message);
	if (__lsan_disable)
		__lsan_disable();
	if (setjmp(end_jump) == 0) {
		while (!s.quit) {
			enum io_status st = session_read_line(&s);
			FUZZ_CHECK(s.txn.nrcpt <= conf.max_recipients);
			if (st == IO_TOOLONG) {
				reply_bad(&s, "500 5.5.2 Line too long");
				continue;
			}
			dispatch_command(&s, s.line.data ? s.line.data : "", s.line.len);
		}
		io_flush(s.io);
	}
	if (__lsan_enable)
		__lsan_enable();
	FUZZ_CHECK(s.txn.nrcpt <= conf.max_recipients);
	cleanup(&s);
	check_replies(wfd);
	check_message();
	close(rfd);
	close(wfd);
	return 0;
}
