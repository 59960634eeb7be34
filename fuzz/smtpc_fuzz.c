/* smtpc_fuzz: lib/smtpc, the SMTP client of the remote delivery module, as it
 * reads a remote server's replies (untrusted). Byte 0 bit 0: one reply line
 * for smtpc_parse_line and smtpc_parse_ehlo_line; else a whole session: the
 * rest of the input is everything the server says (greeting, EHLO reply,
 * replies to MAIL, RCPTs, DATA/BDAT, end of data), written into a socketpair
 * whose server side is then shut down, while smtpc_open and smtpc_send run a
 * transaction of a fixed message to 1-3 recipients (byte 0 bits: count,
 * AUTH PLAIN, no pipelining, no chunking, 8-bit). Invariants: a parsed line
 * has a code 200-599 (or the line is refused) and its text inside the line;
 * every recipient ends OK, TEMP, PERM or NEXT with a reply or reason; reply
 * texts hold no control bytes but TAB and the LF joining lines; enhanced
 * codes are "" or digits and dots. */
#define _GNU_SOURCE
#include "fuzz.h"
#include "buf.h"
#include "smtpc.h"

#include <sys/mman.h>
#include <sys/socket.h>

static void check_text(const struct buf *t)
{
	for (size_t i = 0; i < t->len; i++) {
		unsigned char c = (unsigned char)t->data[i];
		FUZZ_CHECK(c == '\t' || c == '\n' || (c >= 0x20 && c != 0x7f));
	}
}

static void check_enhanced(const char *e)
{
	FUZZ_CHECK(strnlen(e, 16) < 16);
	for (; *e; e++)
		FUZZ_CHECK((*e >= '0' && *e <= '9') || *e == '.');
}

static void fuzz_line(const char *s, size_t len)
{
	int code = 0, more = 0;
	size_t text = 0;
	if (smtpc_parse_line(s, len, &code, &more, &text) == 0) {
		FUZZ_CHECK(code >= 200 && code <= 599);
		FUZZ_CHECK(more == 0 || more == 1);
		FUZZ_CHECK(text <= len);
	}
	unsigned exts = 0, auth = 0;
	uint64_t size = 0;
	smtpc_parse_ehlo_line(s, len, &exts, &size, &auth);
}

static const char message[] = "From: a@example.org\nSubject: t\n\n.line\nbody \xc3\xa9\n";

static void fuzz_session(const uint8_t *p, size_t len, unsigned opt)
{
	int sv[2];
	FUZZ_CHECK(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == 0);
	int big = 1 << 20;
	setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &big, sizeof big);
	setsockopt(sv[1], SOL_SOCKET, SO_RCVBUF, &big, sizeof big);
	FUZZ_CHECK(len == 0 || write(sv[1], p, len) == (ssize_t)len);
	shutdown(sv[1], SHUT_WR);
	struct smtpc_options o;
	smtpc_options_init(&o);
	o.helo = "mx.example";
	o.peer_name = "peer.example";
	o.tls = SMTPC_TLS_NONE;
	if (opt & 0x08) {
		o.auth_user = "user";
		o.auth_pass = "pass";
		o.auth_plaintext = 1;
	}
	o.no_pipelining = (opt >> 4) & 1;
	o.no_chunking = (opt >> 5) & 1;
	struct smtpc_timeouts *t = &o.timeouts;
	t->greeting = t->command = t->mail = t->rcpt = 200;
	t->data_init = t->data_block = t->data_term = 200;
	int mfd = memfd_create("msg", 0);
	FUZZ_CHECK(mfd >= 0 && write(mfd, message, sizeof message - 1) == sizeof message - 1);
	struct smtpc_msg m = { .sender = "a@example.org", .fd = mfd, .wire_size = sizeof message + 4,
			       .eightbit = (opt >> 6) & 1, .ret = (opt & 0x80) ? "HDRS" : NULL,
			       .envid = (opt & 0x80) ? "id+2B1" : NULL };
	struct smtpc_rcpt r[3];
	size_t n = 1 + ((opt >> 1) & 3) % 3;
	static const char *const addrs[] = { "b@example.net", "c@example.net", "d@example.com" };
	for (size_t i = 0; i < n; i++) {
		smtpc_rcpt_init(&r[i], addrs[i]);
		r[i].notify = i == 1 ? "SUCCESS,DELAY" : NULL;
		r[i].orcpt = i == 2 ? "rfc822;d@example.com" : NULL;
	}
	struct smtpc *c = smtpc_new(sv[0], &o);
	FUZZ_CHECK(c != NULL);
	struct buf why = BUF_INIT;
	enum smtpc_outcome st = smtpc_open(c, &why);
	FUZZ_CHECK(st == SMTPC_OK || st == SMTPC_TEMP || st == SMTPC_PERM || st == SMTPC_NEXT);
	if (st != SMTPC_OK) {
		FUZZ_CHECK(why.len > 0);
	} else {
		enum smtpc_outcome s2 = smtpc_send(c, &m, r, n);
		FUZZ_CHECK(s2 == SMTPC_OK || s2 == SMTPC_NEXT);
		for (size_t i = 0; i < n; i++) {
			FUZZ_CHECK(r[i].outcome <= SMTPC_NEXT);
			FUZZ_CHECK(r[i].reply.len > 0);
			check_text(&r[i].reply);
			check_enhanced(r[i].enhanced);
			FUZZ_CHECK(r[i].code == 0 || (r[i].code >= 200 && r[i].code <= 599));
		}
	}
	const struct smtpc_reply *last = smtpc_last_reply(c);
	if (last) {
		check_text(&last->text);
		check_enhanced(last->enhanced);
	}
	(void)smtpc_extensions(c);
	(void)smtpc_size_limit(c);
	smtpc_free(c);
	for (size_t i = 0; i < n; i++)
		smtpc_rcpt_free(&r[i]);
	buf_free(&why);
	close(mfd);
	close(sv[0]);
	close(sv[1]);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_in in;
	fuzz_in_init(&in, data, size);
	unsigned opt = fuzz_take_byte(&in);
	if (opt & 1)
		fuzz_line((const char *)in.p, in.len);
	else
		fuzz_session(in.p, in.len, opt);
	return 0;
}
