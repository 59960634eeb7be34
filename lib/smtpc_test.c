/* smtpc tests: a scripted SMTP server in a forked child over a socketpair.
 * The child checks each command against its script (failing with exit 2),
 * can check that commands arrived pipelined or not, replies (optionally one
 * byte at a time), and logs what it received to a transcript the test reads.
 * Hostile servers: bad codes, mixed codes, endless and over-long replies,
 * NULs, silence, hang-ups mid-DATA. STARTTLS against a test certificate. */
#include "smtpc.h"
#include "alloc.h"
#include "buf.h"
#include "file.h"
#include "io.h"
#include "smtpdata.h"
#include "tls.h"
#include "unit.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#define S_PIPED 1   /* more input must already be waiting before the reply */
#define S_UNPIPED 2 /* no more input may be waiting before the reply */
#define S_SLOW 4    /* reply one byte at a time */
#define S_CLOSE 8   /* hang up instead of replying */
#define S_TLS 16    /* after the reply, TLS handshake as the server */

struct step {
	const char *expect; /* prefix of the command; "<BODY>" = DATA's body */
	const char *reply;  /* CRLF-terminated lines, or NULL for no reply */
	unsigned flags;
};

static const char *tpath(const char *name)
{
	static char path[4][4200];
	static int next;
	char *p = path[next++ % 4];
	snprintf(p, sizeof(path[0]), "%s/%s", unit_tmpdir(), name);
	return p;
}

static void tlog(const char *data, size_t len)
{
	int fd = open(tpath("transcript"), O_WRONLY | O_CREAT | O_APPEND, 0600);
	if (fd < 0 || file_write_all(fd, data, len) < 0 || file_write_all(fd, "\n", 1) < 0)
		_exit(3);
	close(fd);
}

static int waiting_input(struct io *io, int ms)
{
	struct pollfd p = { .fd = io_rfd(io), .events = POLLIN };
	return io_has_buffered_input(io) > 0 || poll(&p, 1, ms) > 0;
}

static void srv_reply(struct io *io, const char *reply, unsigned flags)
{
	size_t n = strlen(reply);
	for (size_t i = 0; i < n; i += (flags & S_SLOW) ? 1 : n) {
		io_write(io, reply + i, (flags & S_SLOW) ? 1 : n);
		if (io_flush(io) != IO_OK)
			_exit(4);
	}
}

/* Read a DATA body through "." (logged as "<BODY>" + bytes, CRLFs kept). */
static void srv_body(struct io *io)
{
	struct buf line = BUF_INIT, body = BUF_INIT;
	buf_append_str(&body, "<BODY>");
	for (;;) {
		if (io_read_line(io, &line) != IO_OK || io_eol(io) != IO_EOL_CRLF)
			_exit(5);
		if (buf_eq_str(&line, "."))
			break;
		buf_append_buf(&body, &line);
		buf_append_str(&body, "\r\n");
	}
	tlog(body.data, body.len);
	buf_free(&line);
	buf_free(&body);
}

static void srv_bdat(struct io *io, const struct buf *cmd)
{
	struct buf data = BUF_INIT;
	size_t n = strtoul(cmd->data + 5, NULL, 10);
	if (io_read_exact(io, &data, n) != IO_OK)
		_exit(6);
	buf_printf(&data, "<END>");
	tlog(data.data, data.len);
	buf_free(&data);
}

static SSL_CTX *srv_tls_ctx(void)
{
	struct buf err = BUF_INIT;
	SSL_CTX *ctx = tls_server_ctx_new(tpath("srv.crt"), tpath("srv.key"), &err);
	if (!ctx) {
		fprintf(stderr, "server: %s\n", buf_cstr(&err));
		_exit(7);
	}
	buf_free(&err);
	return ctx;
}

static void srv_run(int fd, const struct step *script, const char *greeting)
{
	struct io *io = io_new(fd, fd);
	struct buf cmd = BUF_INIT;
	io_set_timeout(io, 5000);
	srv_reply(io, greeting, 0);
	for (const struct step *s = script; s->expect; s++) {
		if (strcmp(s->expect, "<BODY>") == 0) {
			srv_body(io);
		} else {
			if (io_read_line(io, &cmd) != IO_OK)
				_exit(8);
			tlog(cmd.data, cmd.len);
			if (strncmp(cmd.data, s->expect, strlen(s->expect)) != 0) {
				fprintf(stderr, "server: got \"%s\", want \"%s\"\n", buf_cstr(&cmd),
					s->expect);
				_exit(2);
			}
			if (strncmp(s->expect, "BDAT", 4) == 0)
				srv_bdat(io, &cmd);
		}
		if ((s->flags & S_PIPED) && !waiting_input(io, 300))
			_exit(9);
		if ((s->flags & S_UNPIPED) && waiting_input(io, 100))
			_exit(10);
		if (s->flags & S_CLOSE)
			_exit(0);
		if (s->reply)
			srv_reply(io, s->reply, s->flags);
		if ((s->flags & S_TLS) &&
		    tls_io_start(io, srv_tls_ctx(), TLS_SERVER, NULL, &cmd) != IO_OK) {
			fprintf(stderr, "server: %s\n", buf_cstr(&cmd));
			_exit(11);
		}
	}
	while (io_read_line(io, &cmd) == IO_OK)  /* whatever follows the script */
		tlog(cmd.data, cmd.len);
	io_free(io);
	buf_free(&cmd);
	_exit(0);
}

struct fixture {
	pid_t pid;
	int fd;
	struct smtpc_options o;
	struct smtpc *c;
	struct buf why;
};

static void start(struct fixture *f, const struct step *script, const char *greeting)
{
	int sv[2];
	CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
	signal(SIGPIPE, SIG_IGN);
	f->pid = fork();
	CHECK(f->pid >= 0);
	if (f->pid == 0) {
		close(sv[0]);
		srv_run(sv[1], script, greeting);
	}
	close(sv[1]);
	f->fd = sv[0];
	smtpc_options_init(&f->o);
	f->o.helo = "client.test";
	f->o.peer_name = "mx.test";
	struct smtpc_timeouts *t = &f->o.timeouts;
	t->greeting = t->command = t->mail = t->rcpt = 3000;
	t->data_init = t->data_block = t->data_term = 3000;
	buf_init(&f->why);
	f->c = NULL;
}

static void session(struct fixture *f)
{
	f->c = smtpc_new(f->fd, &f->o);
	CHECK(f->c != NULL);
}

/* End the client, wait for the server; its exit status must be 0. */
static void finish(struct fixture *f)
{
	int status;
	smtpc_free(f->c);
	close(f->fd);
	CHECK(waitpid(f->pid, &status, 0) == f->pid);
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		unit_fail(__FILE__, __LINE__, "server exit status %d", WEXITSTATUS(status));
	buf_free(&f->why);
}

static char *transcript(void)
{
	struct buf b = BUF_INIT;
	if (file_read(tpath("transcript"), &b, 1 << 24) < 0)
		buf_reset(&b);
	buf_append_str(&b, "");
	return buf_detach(&b);
}

static int message_fd(const char *text, struct smtpc_msg *m)
{
	int fd = open(tpath("msg"), O_RDWR | O_CREAT | O_TRUNC, 0600);
	CHECK(fd >= 0);
	CHECK_INT(file_write_all(fd, text, strlen(text)), 0);
	struct smtpdata_info info;
	CHECK_INT(smtpdata_scan(fd, &info), 0);
	memset(m, 0, sizeof(*m));
	m->sender = "from@client.test";
	m->fd = fd;
	m->wire_size = info.wire_size;
	m->eightbit = info.eightbit;
	return fd;
}

#define EHLO_FULL                                                                \
	"250-mx.test hello\r\n250-PIPELINING\r\n250-SIZE 1000000\r\n250-8BITMIME\r\n" \
	"250-DSN\r\n250-ENHANCEDSTATUSCODES\r\n250 SMTPUTF8\r\n"
#define EHLO_PLAIN "250-mx.test\r\n250 HELP\r\n"

/* ---- parsers ---- */

TEST(smtpc_reply_lines)
{
	int code, more;
	size_t text;
	CHECK_INT(smtpc_parse_line("250 ok", 6, &code, &more, &text), 0);
	CHECK_INT(code, 250);
	CHECK_INT(more, 0);
	CHECK_INT(text, 4);
	CHECK_INT(smtpc_parse_line("250-x", 5, &code, &more, &text), 0);
	CHECK_INT(more, 1);
	CHECK_INT(smtpc_parse_line("354", 3, &code, &more, &text), 0);
	CHECK_INT(code, 354);
	static const char *const bad[] = { "", "25", "250x", "150 x", "650 x", "2a0 x",
					   "abc", " 250 x", "250\t" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		CHECK_INT(smtpc_parse_line(bad[i], strlen(bad[i]), &code, &more, &text), -1);
}

TEST(smtpc_ehlo_keywords)
{
	unsigned exts = 0, auth = 0;
	uint64_t size = 7;
	smtpc_parse_ehlo_line("size 5000", 9, &exts, &size, &auth);
	CHECK_INT(size, 5000);
	CHECK(exts & SMTPC_EXT_SIZE);
	smtpc_parse_ehlo_line("SIZE", 4, &exts, &size, &auth);
	CHECK_INT(size, 0);
	smtpc_parse_ehlo_line("SIZE 12x", 8, &exts, &size, &auth);
	CHECK_INT(size, 0);
	smtpc_parse_ehlo_line("SIZE 99999999999999999999999", 28, &exts, &size, &auth);
	CHECK_INT(size, 0);
	smtpc_parse_ehlo_line("AUTH CRAM-MD5 login  PLAIN", 26, &exts, &size, &auth);
	CHECK_INT(auth, SMTPC_AUTH_PLAIN | SMTPC_AUTH_LOGIN);
	smtpc_parse_ehlo_line("AUTH=LOGIN", 10, &exts, &size, &auth);
	CHECK(exts & SMTPC_EXT_AUTH);
	smtpc_parse_ehlo_line("PIPELININGX", 11, &exts, &size, &auth);
	CHECK(!(exts & SMTPC_EXT_PIPELINING));
	smtpc_parse_ehlo_line("chunking", 8, &exts, &size, &auth);
	CHECK(exts & SMTPC_EXT_CHUNKING);
	smtpc_parse_ehlo_line("", 0, &exts, &size, &auth);
	smtpc_parse_ehlo_line("8BITMIME\0", 9, &exts, &size, &auth);
	CHECK(!(exts & SMTPC_EXT_8BITMIME));
}

/* ---- sessions ---- */

TEST(smtpc_pipelined_transaction)
{
	static const struct step script[] = {
		{ "EHLO client.test", EHLO_FULL, S_SLOW },
		{ "MAIL FROM:<from@client.test> SIZE=", "250 2.1.0 ok\r\n", S_PIPED },
		{ "RCPT TO:<a@mx.test> NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;a@mx.test",
		  "250 2.1.5 ok\r\n", S_PIPED },
		{ "RCPT TO:<b@mx.test>", "450 4.2.0 busy\r\n", S_PIPED },
		{ "RCPT TO:<c@mx.test>", "550-5.1.1 no such\r\n550 5.1.1 user\r\n", 0 },
		{ "DATA", "354 go\r\n", S_UNPIPED },
		{ "<BODY>", "250 2.0.0 queued as X1\r\n", 0 },
		{ "MAIL FROM:<from@client.test>", "250 ok\r\n", 0 },
		{ "RCPT TO:<d@mx.test>", "250 ok\r\n", 0 },
		{ "DATA", "354 go\r\n", 0 },
		{ "<BODY>", "250 queued as X2\r\n", 0 },
		{ "QUIT", "221 bye\r\n", 0 },
		{ NULL, NULL, 0 },
	};
	struct fixture f;
	start(&f, script, "220 mx.test ESMTP\r\n");
	session(&f);
	CHECK_INT(smtpc_open(f.c, &f.why), SMTPC_OK);
	unsigned want = SMTPC_EXT_PIPELINING | SMTPC_EXT_SIZE | SMTPC_EXT_8BITMIME |
			SMTPC_EXT_DSN | SMTPC_EXT_ENHANCEDSTATUSCODES | SMTPC_EXT_SMTPUTF8;
	CHECK_INT(smtpc_extensions(f.c), want);
	CHECK_INT(smtpc_size_limit(f.c), 1000000);
	struct smtpc_msg m;
	int fd = message_fd("Subject: x\n\n.hidden\nend", &m);
	m.ret = "HDRS";
	m.envid = "QID+2B1";
	struct smtpc_rcpt r[3];
	smtpc_rcpt_init(&r[0], "a@mx.test");
	r[0].notify = "SUCCESS,FAILURE";
	r[0].orcpt = "rfc822;a@mx.test";
	smtpc_rcpt_init(&r[1], "b@mx.test");
	smtpc_rcpt_init(&r[2], "c@mx.test");
	CHECK_INT(smtpc_send(f.c, &m, r, 3), SMTPC_OK);
	CHECK_INT(r[0].outcome, SMTPC_OK);
	CHECK(strstr(buf_cstr(&r[0].reply), "queued as X1") != NULL);
	CHECK_INT(r[0].dsn_relayed, 0);
	CHECK_INT(r[1].outcome, SMTPC_TEMP);
	CHECK(strstr(buf_cstr(&r[1].reply), "mx.test said: 450 4.2.0 busy (in reply to RCPT TO)"));
	CHECK_INT(r[2].outcome, SMTPC_PERM);
	CHECK(strstr(buf_cstr(&r[2].reply), "550-5.1.1 no such\n550 5.1.1 user") != NULL);
	CHECK_INT(r[2].code, 550);
	CHECK_STR(r[2].enhanced, "5.1.1");
	CHECK_INT(r[0].code, 250);
	CHECK_STR(smtpc_last_reply(f.c)->enhanced, "2.0.0");
	/* the same connection carries the next message */
	struct smtpc_rcpt d;
	smtpc_rcpt_init(&d, "d@mx.test");
	CHECK_INT(smtpc_send(f.c, &m, &d, 1), SMTPC_OK);
	CHECK_INT(d.outcome, SMTPC_OK);
	smtpc_quit(f.c);
	finish(&f);
	char *t = transcript();
	CHECK(strstr(t, "MAIL FROM:<from@client.test> SIZE=28 RET=HDRS ENVID=QID+2B1\n") != NULL);
	CHECK(strstr(t, "<BODY>Subject: x\r\n\r\n..hidden\r\nend\r\n\n") != NULL);
	free(t);
	for (int i = 0; i < 3; i++)
		smtpc_rcpt_free(&r[i]);
	smtpc_rcpt_free(&d);
	close(fd);
}

TEST(smtpc_helo_fallback_and_8bit)
{
	static const struct step script[] = {
		{ "EHLO", "502 5.5.1 what\r\n", 0 },
		{ "HELO client.test", "250 mx.test\r\n", 0 },
		{ "MAIL FROM:<from@client.test>\0", NULL, 0 },  /* only the second send */
		{ NULL, NULL, 0 },
	};
	struct fixture f;
	start(&f, script, "220 mx.test\r\n");
	f.o.tls = SMTPC_TLS_MAY;  /* nothing offered: carries on in plaintext */
	session(&f);
	CHECK_INT(smtpc_open(f.c, &f.why), SMTPC_OK);
	CHECK_INT(smtpc_extensions(f.c), 0);
	struct smtpc_msg m;
	int fd = message_fd("Subject: caf\xc3\xa9\n\nx\n", &m);
	struct smtpc_rcpt r;
	smtpc_rcpt_init(&r, "a@mx.test");
	CHECK_INT(smtpc_send(f.c, &m, &r, 1), SMTPC_OK);
	CHECK_INT(r.outcome, SMTPC_PERM);
	CHECK(strstr(buf_cstr(&r.reply), "5.6.3") != NULL);
	m.eightbit = 0;
	m.smtputf8 = 1;
	CHECK_INT(smtpc_send(f.c, &m, &r, 1), SMTPC_OK);
	CHECK_INT(r.outcome, SMTPC_PERM);
	CHECK(strstr(buf_cstr(&r.reply), "5.6.7") != NULL);
	smtpc_free(f.c);
	f.c = NULL;
	close(f.fd);
	f.fd = -1;
	waitpid(f.pid, NULL, 0);
	char *t = transcript();
	CHECK(strstr(t, "MAIL") == NULL);  /* refused before any MAIL */
	free(t);
	smtpc_rcpt_free(&r);
	buf_free(&f.why);
	close(fd);
}

TEST(smtpc_unpipelined_and_all_refused)
{
	static const struct step script[] = {
		{ "EHLO", "250-mx.test\r\n250 DSN\r\n", 0 },
		{ "MAIL FROM:<from@client.test>", "250 ok\r\n", S_UNPIPED },
		{ "RCPT TO:<a@mx.test> NOTIFY=NEVER", "550 no\r\n", S_UNPIPED },
		{ "RCPT TO:<b@mx.test>", "551 no\r\n", S_UNPIPED },
		{ "RSET", "250 ok\r\n", 0 },
		{ "MAIL FROM:<>", "452 4.3.1 full\r\n", 0 },
		{ "RSET", "250 ok\r\n", 0 },
		{ NULL, NULL, 0 },
	};
	struct fixture f;
	start(&f, script, "220 mx.test\r\n");
	session(&f);
	CHECK_INT(smtpc_open(f.c, &f.why), SMTPC_OK);
	struct smtpc_msg m;
	int fd = message_fd("x\n", &m);
	struct smtpc_rcpt r[2];
	smtpc_rcpt_init(&r[0], "a@mx.test");
	r[0].notify = "NEVER";
	smtpc_rcpt_init(&r[1], "b@mx.test");
	CHECK_INT(smtpc_send(f.c, &m, r, 2), SMTPC_OK);
	CHECK_INT(r[0].outcome, SMTPC_PERM);
	CHECK_INT(r[1].outcome, SMTPC_PERM);
	m.sender = "";
	CHECK_INT(smtpc_send(f.c, &m, r, 2), SMTPC_OK);
	CHECK_INT(r[0].outcome, SMTPC_TEMP);
	CHECK_INT(r[1].outcome, SMTPC_TEMP);
	CHECK(strstr(buf_cstr(&r[1].reply), "452 4.3.1 full (in reply to MAIL FROM)") != NULL);
	CHECK_INT(r[1].code, 452);
	CHECK_STR(r[1].enhanced, "4.3.1");
	finish(&f);
	for (int i = 0; i < 2; i++)
		smtpc_rcpt_free(&r[i]);
	close(fd);
}

TEST(smtpc_data_failures)
{
	static const struct step script[] = {
		{ "EHLO", EHLO_PLAIN, 0 },
		{ "MAIL", "250 ok\r\n", 0 },
		{ "RCPT", "250 ok\r\n", 0 },
		{ "DATA", "354 go\r\n", 0 },
		{ "<BODY>", "452 4.3.1 no room\r\n", 0 },
		{ "MAIL", "250 ok\r\n", 0 },
		{ "RCPT", "250 ok\r\n", 0 },
		{ "DATA", "554 5.7.1 no thanks\r\n", 0 },
		{ "MAIL", "250 ok\r\n", 0 },
		{ "RCPT", "250 ok\r\n", 0 },
		{ "DATA", "354 go\r\n", 0 },
		{ "<BODY>", NULL, S_CLOSE },
		{ NULL, NULL, 0 },
	};
	struct fixture f;
	start(&f, script, "220 mx.test\r\n");
	session(&f);
	CHECK_INT(smtpc_open(f.c, &f.why), SMTPC_OK);
	struct smtpc_msg m;
	int fd = message_fd("x\n", &m);
	struct smtpc_rcpt r;
	smtpc_rcpt_init(&r, "a@mx.test");
	CHECK_INT(smtpc_send(f.c, &m, &r, 1), SMTPC_OK);
	CHECK_INT(r.outcome, SMTPC_TEMP);
	CHECK(strstr(buf_cstr(&r.reply), "(in reply to end of DATA)") != NULL);
	CHECK_INT(smtpc_send(f.c, &m, &r, 1), SMTPC_OK);
	CHECK_INT(r.outcome, SMTPC_PERM);
	CHECK(strstr(buf_cstr(&r.reply), "554 5.7.1 no thanks (in reply to DATA)") != NULL);
	CHECK_INT(smtpc_send(f.c, &m, &r, 1), SMTPC_NEXT);
	CHECK_INT(r.outcome, SMTPC_NEXT);
	CHECK(strstr(buf_cstr(&r.reply), "lost connection with mx.test") != NULL);
	CHECK_INT(smtpc_send(f.c, &m, &r, 1), SMTPC_NEXT);  /* stays closed */
	finish(&f);
	smtpc_rcpt_free(&r);
	close(fd);
}

TEST(smtpc_chunking)
{
	static const struct step script[] = {
		{ "EHLO", "250-mx.test\r\n250-CHUNKING\r\n250 8BITMIME\r\n", 0 },
		{ "MAIL FROM:<from@client.test> BODY=8BITMIME", "250 ok\r\n", 0 },
		{ "RCPT", "250 ok\r\n", 0 },
		{ "BDAT 66191", "250 ok\r\n", 0 },
		{ "BDAT 4509 LAST", "250 ok\r\n", 0 },
		{ "MAIL", "250 ok\r\n", 0 },
		{ "RCPT", "250 ok\r\n", 0 },
		{ "BDAT 0 LAST", "250 ok\r\n", 0 },
		{ NULL, NULL, 0 },
	};
	struct fixture f;
	start(&f, script, "220 mx.test\r\n");
	session(&f);
	CHECK_INT(smtpc_open(f.c, &f.why), SMTPC_OK);
	char *big = xmalloc(70001);
	for (size_t i = 0; i < 70000; i++)
		big[i] = i % 100 == 99 ? '\n' : i % 100 == 0 ? '.' : (char)(0xc3 - (i % 2) * 0x5c);
	big[70000] = '\0';
	struct smtpc_msg m;
	int fd = message_fd(big, &m);
	struct smtpc_rcpt r;
	smtpc_rcpt_init(&r, "a@mx.test");
	CHECK_INT(smtpc_send(f.c, &m, &r, 1), SMTPC_OK);
	CHECK_INT(r.outcome, SMTPC_OK);
	close(fd);
	fd = message_fd("", &m);
	CHECK_INT(smtpc_send(f.c, &m, &r, 1), SMTPC_OK);
	CHECK_INT(r.outcome, SMTPC_OK);
	finish(&f);
	char *t = transcript();
	CHECK(strstr(t, "BDAT 66191\n") != NULL);    /* 65536 + 655 CRs */
	CHECK(strstr(t, "BDAT 4509 LAST\n") != NULL); /* the rest: 4464 + 45 */
	CHECK(strstr(t, "\r\n.g\xc3" "g") != NULL); /* no dot-stuffing in BDAT */
	free(t);
	free(big);
	smtpc_rcpt_free(&r);
	close(fd);
}

/* A server whose greeting or EHLO reply is hostile: SMTPC_NEXT, bounded. */
static void hostile_greeting(const char *greeting, const char *want)
{
	static const struct step none[] = { { NULL, NULL, 0 } };
	struct fixture f;
	start(&f, none, greeting);
	f.o.timeouts.greeting = 500;
	session(&f);
	CHECK_INT(smtpc_open(f.c, &f.why), SMTPC_NEXT);
	if (!strstr(buf_cstr(&f.why), want))
		unit_fail(__FILE__, __LINE__, "why \"%s\", want \"%s\"", buf_cstr(&f.why), want);
	smtpc_free(f.c);
	kill(f.pid, SIGKILL);
	close(f.fd);
	waitpid(f.pid, NULL, 0);
	buf_free(&f.why);
}

TEST(smtpc_hostile_greetings)
{
	hostile_greeting("554 5.7.1 go away\r\n", "mx.test said: 554 5.7.1 go away");
	hostile_greeting("421 busy\r\n", "421 busy");
	hostile_greeting("hello\r\n", "protocol error");
	hostile_greeting("220-a\r\n230 b\r\n", "protocol error");
	hostile_greeting("220-a\r\n220", "timed out");
	hostile_greeting("", "timed out");
	struct buf big = BUF_INIT;
	for (int i = 0; i < 101; i++)
		buf_append_str(&big, "220-x\r\n");
	buf_append_str(&big, "220 x\r\n");
	hostile_greeting(buf_cstr(&big), "protocol error");
	buf_reset(&big);
	buf_append_str(&big, "220 ");
	for (int i = 0; i < 3000; i++)
		buf_append_char(&big, 'x');
	buf_append_str(&big, "\r\n");
	hostile_greeting(buf_cstr(&big), "reply line too long");
	buf_free(&big);
}

TEST(smtpc_reply_escaped)
{
	static const struct step script[] = {
		{ "EHLO", "250-mx\x01test\r\n250 8BITMIME\r\n", 0 },
		{ NULL, NULL, 0 },
	};
	struct fixture f;
	start(&f, script, "220 mx.test\r\n");
	session(&f);
	CHECK_INT(smtpc_open(f.c, &f.why), SMTPC_OK);
	CHECK_STR(buf_cstr(&((struct smtpc_reply *)smtpc_last_reply(f.c))->text),
		  "250-mx\\x01test\n250 8BITMIME");
	finish(&f);
}

TEST(smtpc_size_limit_refused)
{
	static const struct step script[] = {
		{ "EHLO", "250-mx.test\r\n250 SIZE 10\r\n", 0 },
		{ NULL, NULL, 0 },
	};
	struct fixture f;
	start(&f, script, "220 mx.test\r\n");
	session(&f);
	CHECK_INT(smtpc_open(f.c, &f.why), SMTPC_OK);
	struct smtpc_msg m;
	int fd = message_fd("0123456789\n", &m);
	struct smtpc_rcpt r[2];
	smtpc_rcpt_init(&r[0], "a@mx.test");
	smtpc_rcpt_init(&r[1], "bad\r\nRSET@mx.test");
	CHECK_INT(smtpc_send(f.c, &m, r, 2), SMTPC_OK);
	CHECK_INT(r[0].outcome, SMTPC_PERM);
	CHECK(strstr(buf_cstr(&r[0].reply), "5.3.4 message size 12 exceeds the limit 10") != NULL);
	CHECK_INT(r[1].outcome, SMTPC_PERM);
	CHECK(strstr(buf_cstr(&r[1].reply), "invalid recipient") != NULL);
	finish(&f);
	for (int i = 0; i < 2; i++)
		smtpc_rcpt_free(&r[i]);
	close(fd);
}

TEST(smtpc_silent_server_times_out)
{
	static const struct step script[] = {
		{ "EHLO", EHLO_PLAIN, 0 },
		{ "MAIL", NULL, 0 },
		{ "RCPT", NULL, 0 },
		{ NULL, NULL, 0 },
	};
	struct fixture f;
	start(&f, script, "220 mx.test\r\n");
	f.o.timeouts.mail = 300;
	session(&f);
	CHECK_INT(smtpc_open(f.c, &f.why), SMTPC_OK);
	struct smtpc_msg m;
	int fd = message_fd("x\n", &m);
	struct smtpc_rcpt r;
	smtpc_rcpt_init(&r, "a@mx.test");
	CHECK_INT(smtpc_send(f.c, &m, &r, 1), SMTPC_NEXT);
	CHECK_INT(r.outcome, SMTPC_NEXT);
	CHECK(strstr(buf_cstr(&r.reply), "timed out with mx.test in reply to MAIL FROM") != NULL);
	smtpc_free(f.c);
	f.c = NULL;
	close(f.fd);
	waitpid(f.pid, NULL, 0);
	buf_free(&f.why);
	smtpc_rcpt_free(&r);
	close(fd);
}

TEST(smtpc_auth_plain_and_login)
{
	static const struct step script[] = {
		{ "EHLO", "250-mx.test\r\n250 AUTH PLAIN LOGIN\r\n", 0 },
		{ "AUTH PLAIN AGpvZQBzM2NyZXQ=", "235 ok\r\n", 0 },
		{ NULL, NULL, 0 },
	};
	struct fixture f;
	start(&f, script, "220 mx.test\r\n");
	f.o.auth_user = "joe";
	f.o.auth_pass = "s3cret";
	session(&f);
	CHECK_INT(smtpc_open(f.c, &f.why), SMTPC_TEMP);  /* no TLS: credentials kept */
	CHECK(strstr(buf_cstr(&f.why), "without TLS") != NULL);
	smtpc_free(f.c);
	kill(f.pid, SIGKILL);
	waitpid(f.pid, NULL, 0);
	close(f.fd);
	buf_free(&f.why);

	start(&f, script, "220 mx.test\r\n");
	f.o.auth_user = "joe";
	f.o.auth_pass = "s3cret";
	f.o.auth_plaintext = 1;
	session(&f);
	CHECK_INT(smtpc_open(f.c, &f.why), SMTPC_OK);
	finish(&f);

	static const struct step login[] = {
		{ "EHLO", "250-mx.test\r\n250 AUTH LOGIN\r\n", 0 },
		{ "AUTH LOGIN", "334 VXNlcm5hbWU6\r\n", 0 },
		{ "am9l", "334 UGFzc3dvcmQ6\r\n", 0 },
		{ "czNjcmV0", "535 5.7.8 bad\r\n", 0 },
		{ NULL, NULL, 0 },
	};
	start(&f, login, "220 mx.test\r\n");
	f.o.auth_user = "joe";
	f.o.auth_pass = "s3cret";
	f.o.auth_plaintext = 1;
	session(&f);
	CHECK_INT(smtpc_open(f.c, &f.why), SMTPC_TEMP);
	CHECK(strstr(buf_cstr(&f.why), "535 5.7.8 bad (in reply to AUTH)") != NULL);
	finish(&f);
}

/* A self-signed certificate for localhost, made with openssl(1). */
static int make_cert(void)
{
	if (access("/usr/bin/openssl", X_OK) != 0)
		return -1;
	pid_t pid = fork();
	CHECK(pid >= 0);
	if (pid == 0) {
		int null = open("/dev/null", O_WRONLY);
		dup2(null, 2);
		execl("/usr/bin/openssl", "openssl", "req", "-x509", "-newkey", "ec",
		      "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-days", "1", "-subj",
		      "/CN=localhost", "-addext", "subjectAltName=DNS:localhost", "-keyout",
		      tpath("srv.key"), "-out", tpath("srv.crt"), (char *)NULL);
		_exit(127);
	}
	int status;
	CHECK(waitpid(pid, &status, 0) == pid);
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	return 0;
}

static const struct step tls_script[] = {
	{ "EHLO", "250-mx.test\r\n250 STARTTLS\r\n", 0 },
	{ "STARTTLS", "220 go\r\n", S_TLS },
	{ "EHLO", "250-mx.test\r\n250 PIPELINING\r\n", 0 },
	{ NULL, NULL, 0 },
};

static enum smtpc_outcome tls_session(enum smtpc_tls policy, enum tls_verify verify,
				      const char *name, struct buf *why, unsigned *exts)
{
	struct fixture f;
	struct buf err = BUF_INIT;
	start(&f, tls_script, "220 mx.test\r\n");
	f.o.tls = policy;
	f.o.peer_name = name;
	f.o.tls_ctx = tls_client_ctx_new(tpath("srv.crt"), verify, &err);
	CHECK(f.o.tls_ctx != NULL);
	session(&f);
	enum smtpc_outcome o = smtpc_open(f.c, why);
	*exts = smtpc_extensions(f.c);
	if (o == SMTPC_OK)
		CHECK(smtpc_tls_active(f.c));
	smtpc_free(f.c);
	close(f.fd);
	waitpid(f.pid, NULL, 0);
	tls_ctx_free(f.o.tls_ctx);
	buf_free(&f.why);
	buf_free(&err);
	return o;
}

TEST(smtpc_starttls_policies)
{
	if (make_cert() < 0)
		return;
	struct buf why = BUF_INIT;
	unsigned exts;
	if (tls_session(SMTPC_TLS_VERIFY, TLS_VERIFY_PEER, "localhost", &why, &exts) != SMTPC_OK)
		unit_fail(__FILE__, __LINE__, "verify: %s", buf_cstr(&why));
	CHECK_INT(exts, SMTPC_EXT_PIPELINING);  /* the EHLO after TLS counts */
	CHECK_INT(tls_session(SMTPC_TLS_ENCRYPT, TLS_VERIFY_NONE, "other.test", &why, &exts),
		  SMTPC_OK);
	CHECK_INT(tls_session(SMTPC_TLS_VERIFY, TLS_VERIFY_PEER, "other.test", &why, &exts),
		  SMTPC_NEXT);
	CHECK(strstr(buf_cstr(&why), "TLS handshake with other.test failed") != NULL);
	buf_free(&why);
}

TEST(smtpc_tls_required_but_not_offered)
{
	static const struct step script[] = {
		{ "EHLO", EHLO_PLAIN, 0 },
		{ NULL, NULL, 0 },
	};
	struct fixture f;
	struct buf err = BUF_INIT;
	start(&f, script, "220 mx.test\r\n");
	f.o.tls = SMTPC_TLS_ENCRYPT;
	f.o.tls_ctx = tls_client_ctx_new(NULL, TLS_VERIFY_NONE, &err);
	session(&f);
	CHECK_INT(smtpc_open(f.c, &f.why), SMTPC_NEXT);
	CHECK(strstr(buf_cstr(&f.why), "does not offer STARTTLS") != NULL);
	tls_ctx_free(f.o.tls_ctx);
	finish(&f);
	buf_free(&err);
}

/* ---- the 7-bit downgrade hook ---- */

struct fake7 {
	int fd, calls, fail;
};

static int fake_downgrade(void *ctx, struct smtpc_msg *m7, struct buf *why)
{
	struct fake7 *f = ctx;
	f->calls++;
	if (f->fail) {
		buf_set_str(why, "5.6.3 cannot convert: test");
		return -1;
	}
	CHECK_INT(m7->eightbit, 0);
	m7->fd = f->fd;
	m7->wire_size = 40;
	return 0;
}

TEST(smtpc_8bit_downgrade_hook)
{
	static const struct step script[] = {
		{ "EHLO", "250-mx.test\r\n250-SIZE 1000\r\n250 PIPELINING\r\n", 0 },
		{ "MAIL FROM:<from@client.test> SIZE=40", "250 ok\r\n", 0 },
		{ "RCPT", "250 ok\r\n", 0 },
		{ "DATA", "354 go\r\n", 0 },
		{ "<BODY>", "250 queued\r\n", 0 },
		{ NULL, NULL, 0 },
	};
	struct fixture f;
	start(&f, script, "220 mx.test\r\n");
	session(&f);
	CHECK_INT(smtpc_open(f.c, &f.why), SMTPC_OK);
	struct smtpc_msg seven, m;
	int fd7 = message_fd("Subject: 7\n\ncaf=C3=A9\n", &seven);
	int fd7b = dup(fd7);
	int fd = open(tpath("msg8"), O_RDWR | O_CREAT | O_TRUNC, 0600);
	CHECK_INT(file_write_all(fd, "Subject: 8\n\ncaf\xc3\xa9\n", 16), 0);
	memset(&m, 0, sizeof(m));
	m.sender = "from@client.test";
	m.fd = fd;
	m.wire_size = 17;
	m.eightbit = 1;
	struct fake7 f7 = { fd7b, 0, 1 };
	m.downgrade = fake_downgrade;
	m.downgrade_ctx = &f7;
	struct smtpc_rcpt r;
	smtpc_rcpt_init(&r, "a@mx.test");
	CHECK_INT(smtpc_send(f.c, &m, &r, 1), SMTPC_OK);  /* the hook refuses */
	CHECK_INT(r.outcome, SMTPC_PERM);
	CHECK_STR(buf_cstr(&r.reply), "5.6.3 cannot convert: test");
	f7.fail = 0;
	CHECK_INT(smtpc_send(f.c, &m, &r, 1), SMTPC_OK);
	CHECK_INT(r.outcome, SMTPC_OK);
	CHECK_INT(f7.calls, 2);
	finish(&f);
	char *t = transcript();
	CHECK(strstr(t, "BODY=8BITMIME") == NULL);
	CHECK(strstr(t, "<BODY>Subject: 7\r\n\r\ncaf=C3=A9\r\n") != NULL);
	CHECK(strstr(t, "Subject: 8") == NULL);
	free(t);
	smtpc_rcpt_free(&r);
	close(fd);
	close(fd7);
	close(fd7b);
}
