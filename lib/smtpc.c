/* smtpc: SMTP client sessions: replies, EHLO, STARTTLS, AUTH, transactions.
 *
 * Trusts its caller (addresses already validated, options from the
 * configuration) and nothing the server sends: replies are parsed strictly
 * and bounded. See smtpc.h for the outcome rules. */
#include "smtpc.h"

#include "alloc.h"
#include "base64.h"
#include "buf.h"
#include "io.h"
#include "smtpdata.h"
#include "tls.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define SMTPC_CHUNK 65536

struct smtpc {
	struct io *io;
	const struct smtpc_options *o;
	unsigned exts;
	uint64_t size;
	unsigned auth;
	int broken;       /* the connection cannot carry another command */
	int tls_failed;
	struct smtpc_reply reply;
	struct buf line;
	struct buf err;   /* why the last read or write failed */
};

void smtpc_timeouts_default(struct smtpc_timeouts *t)
{
	t->greeting = 5 * 60 * 1000;
	t->command = 5 * 60 * 1000;
	t->mail = 5 * 60 * 1000;
	t->rcpt = 5 * 60 * 1000;
	t->data_init = 2 * 60 * 1000;
	t->data_block = 3 * 60 * 1000;
	t->data_term = 10 * 60 * 1000;
}

void smtpc_options_init(struct smtpc_options *o)
{
	memset(o, 0, sizeof(*o));
	o->tls = SMTPC_TLS_MAY;
	smtpc_timeouts_default(&o->timeouts);
}

void smtpc_rcpt_init(struct smtpc_rcpt *r, const char *addr)
{
	memset(r, 0, sizeof(*r));
	r->addr = addr;
	r->outcome = SMTPC_NEXT;
}

void smtpc_rcpt_free(struct smtpc_rcpt *r)
{
	buf_free(&r->reply);
}

unsigned smtpc_extensions(const struct smtpc *c) { return c->exts; }
uint64_t smtpc_size_limit(const struct smtpc *c) { return c->size; }
unsigned smtpc_auth_mechs(const struct smtpc *c) { return c->auth; }
int smtpc_tls_active(const struct smtpc *c) { return tls_io_active(c->io); }
int smtpc_tls_failed(const struct smtpc *c) { return c->tls_failed; }
const struct smtpc_reply *smtpc_last_reply(const struct smtpc *c) { return &c->reply; }
struct io *smtpc_io(struct smtpc *c) { return c->io; }

/* ---- connecting ---- */

int smtpc_connect(const struct sockaddr *sa, socklen_t salen, int timeout_ms, struct buf *err)
{
	int fd = socket(sa->sa_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0) {
		buf_error(err, "socket: %s", strerror(errno));
		return -1;
	}
	if (connect(fd, sa, salen) == 0)
		return fd;
	if (errno != EINPROGRESS) {
		buf_error(err, "connect: %s", strerror(errno));
		close(fd);
		return -1;
	}
	struct pollfd p = { .fd = fd, .events = POLLOUT };
	int r;
	do
		r = poll(&p, 1, timeout_ms);
	while (r < 0 && errno == EINTR);
	int soerr = 0;
	socklen_t sl = sizeof(soerr);
	if (r == 0) {
		buf_error(err, "connect: timed out after %d ms", timeout_ms);
	} else if (r < 0 || getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) < 0) {
		buf_error(err, "connect: %s", strerror(errno));
	} else if (soerr != 0) {
		buf_error(err, "connect: %s", strerror(soerr));
	} else {
		return fd;
	}
	close(fd);
	return -1;
}

/* ---- session ---- */

struct smtpc *smtpc_new(int fd, const struct smtpc_options *o)
{
	struct io *io = io_new(fd, fd);
	if (!io)
		return NULL;
	io_set_nodelay(fd);
	io_set_max_line(io, SMTPC_MAX_LINE);
	struct smtpc *c = xcalloc(1, sizeof(*c));
	c->io = io;
	c->o = o;
	return c;
}

void smtpc_free(struct smtpc *c)
{
	if (!c)
		return;
	io_free(c->io);
	buf_free(&c->reply.text);
	buf_free(&c->line);
	buf_free(&c->err);
	free(c);
}

static const char *smtpc_peer(const struct smtpc *c)
{
	return c->o->label ? c->o->label : c->o->peer_name ? c->o->peer_name : "the server";
}

/* ---- replies ---- */

int smtpc_parse_line(const char *s, size_t len, int *code, int *more, size_t *text)
{
	if (len < 3 || s[0] < '2' || s[0] > '5' || s[1] < '0' || s[1] > '9' || s[2] < '0' ||
	    s[2] > '9')
		return -1;
	*code = (s[0] - '0') * 100 + (s[1] - '0') * 10 + (s[2] - '0');
	*more = 0;
	*text = 3;
	if (len == 3)
		return 0;
	if (s[3] != ' ' && s[3] != '-')
		return -1;
	*more = s[3] == '-';
	*text = 4;
	return 0;
}

/* An enhanced status code "c.sss.ddd" (RFC 3463) at the start of s. */
static void smtpc_enhanced(const char *s, size_t len, int code, char *out, size_t outsz)
{
	size_t i = 0, parts = 0, digits = 0;
	out[0] = '\0';
	if (len == 0 || s[0] != (char)('0' + code / 100))
		return;
	for (; i < len && i + 1 < outsz; i++) {
		if (s[i] >= '0' && s[i] <= '9') {
			if (++digits > 3)
				return;
		} else if (s[i] == '.' && digits > 0 && parts < 2) {
			parts++;
			digits = 0;
		} else {
			break;
		}
	}
	if (parts != 2 || digits == 0 || (i < len && s[i] != ' '))
		return;
	memcpy(out, s, i);
	out[i] = '\0';
}

static void smtpc_fail_io(struct smtpc *c, enum io_status st, const char *when)
{
	c->broken = 1;
	const char *what = st == IO_EOF ? "lost connection" :
			   st == IO_TIMEOUT ? "timed out" :
			   st == IO_TOOLONG ? "reply line too long" : io_error(c->io);
	buf_error(&c->err, "%s with %s %s", what, smtpc_peer(c), when);
}

static void smtpc_reply_add(struct smtpc *c, const struct buf *line)
{
	struct buf *t = &c->reply.text;
	if (t->len > SMTPC_MAX_REPLY)
		return;
	if (t->len)
		buf_append_char(t, '\n');
	for (size_t i = 0; i < line->len; i++) {
		unsigned char ch = (unsigned char)line->data[i];
		if ((ch < 0x20 && ch != '\t') || ch == 0x7f)
			buf_printf(t, "\\x%02x", ch);
		else
			buf_append_char(t, (char)ch);
	}
}

/* Read one (multi-line) reply into c->reply. 0, or -1 with c->err and the
 * connection marked broken. */
static int smtpc_read_reply(struct smtpc *c, int timeout_ms, const char *when)
{
	buf_reset(&c->reply.text);
	c->reply.code = 0;
	c->reply.enhanced[0] = '\0';
	io_set_timeout(c->io, timeout_ms);
	for (size_t n = 0;; n++) {
		enum io_status st = io_read_line(c->io, &c->line);
		if (st != IO_OK) {
			smtpc_fail_io(c, st, when);
			return -1;
		}
		int code, more;
		size_t text;
		if (n >= SMTPC_MAX_LINES ||
		    smtpc_parse_line(c->line.data, c->line.len, &code, &more, &text) < 0 ||
		    (n > 0 && code != c->reply.code)) {
			c->broken = 1;
			smtpc_reply_add(c, &c->line);
			buf_error(&c->err, "protocol error from %s %s: %s", smtpc_peer(c), when,
				  buf_cstr(&c->reply.text));
			return -1;
		}
		if (n == 0) {
			c->reply.code = code;
			smtpc_enhanced(c->line.data + text, c->line.len - text, code,
				       c->reply.enhanced, sizeof(c->reply.enhanced));
		}
		smtpc_reply_add(c, &c->line);
		if (!more)
			return 0;
	}
}

static enum smtpc_outcome smtpc_code_outcome(int code)
{
	return code < 400 ? SMTPC_OK : code < 500 ? SMTPC_TEMP : SMTPC_PERM;
}

/* Queue a command line (CRLF added). Checked at the next flush. */
static void smtpc_cmd(struct smtpc *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void smtpc_cmd(struct smtpc *c, const char *fmt, ...)
{
	struct buf line = BUF_INIT;
	va_list ap;
	va_start(ap, fmt);
	buf_vprintf(&line, fmt, ap);
	va_end(ap);
	buf_append_str(&line, "\r\n");
	io_write(c->io, line.data, line.len);
	buf_free(&line);
}

static int smtpc_flush(struct smtpc *c, int timeout_ms, const char *when)
{
	io_set_timeout(c->io, timeout_ms);
	enum io_status st = io_flush(c->io);
	if (st != IO_OK) {
		smtpc_fail_io(c, st, when);
		return -1;
	}
	return 0;
}

/* Send queued commands and read one reply. */
static int smtpc_exchange(struct smtpc *c, int timeout_ms, const char *when)
{
	if (smtpc_flush(c, timeout_ms, when) < 0)
		return -1;
	return smtpc_read_reply(c, timeout_ms, when);
}

/* why = "HOST said: REPLY (in reply to WHAT)". */
static void smtpc_said(struct smtpc *c, struct buf *why, const char *what)
{
	struct buf t = BUF_INIT;
	buf_printf(&t, "%s said: %s (in reply to %s)", smtpc_peer(c),
		   buf_cstr(&c->reply.text), what);
	buf_reset(why);
	buf_append_buf(why, &t);
	buf_free(&t);
}

/* ---- EHLO ---- */

static int smtpc_word_eq(const char *s, size_t len, const char *word)
{
	size_t n = strlen(word);
	return len == n && strncasecmp(s, word, n) == 0;
}

static void smtpc_parse_auth(const char *s, size_t len, unsigned *auth)
{
	size_t i = 0;
	while (i < len) {
		while (i < len && s[i] == ' ')
			i++;
		size_t start = i;
		while (i < len && s[i] != ' ')
			i++;
		if (smtpc_word_eq(s + start, i - start, "PLAIN"))
			*auth |= SMTPC_AUTH_PLAIN;
		else if (smtpc_word_eq(s + start, i - start, "LOGIN"))
			*auth |= SMTPC_AUTH_LOGIN;
	}
}

static const struct {
	const char *word;
	unsigned ext;
} smtpc_ext_words[] = {
	{ "PIPELINING", SMTPC_EXT_PIPELINING }, { "SIZE", SMTPC_EXT_SIZE },
	{ "8BITMIME", SMTPC_EXT_8BITMIME },     { "SMTPUTF8", SMTPC_EXT_SMTPUTF8 },
	{ "DSN", SMTPC_EXT_DSN },               { "CHUNKING", SMTPC_EXT_CHUNKING },
	{ "STARTTLS", SMTPC_EXT_STARTTLS },     { "AUTH", SMTPC_EXT_AUTH },
	{ "ENHANCEDSTATUSCODES", SMTPC_EXT_ENHANCEDSTATUSCODES },
};

void smtpc_parse_ehlo_line(const char *s, size_t len, unsigned *exts, uint64_t *size,
			   unsigned *auth)
{
	size_t kw = 0;
	while (kw < len && s[kw] != ' ' && s[kw] != '=')
		kw++;
	const char *arg = kw < len ? s + kw + 1 : s + len;
	size_t alen = kw < len ? len - kw - 1 : 0;
	for (size_t i = 0; i < sizeof(smtpc_ext_words) / sizeof(smtpc_ext_words[0]); i++) {
		if (!smtpc_word_eq(s, kw, smtpc_ext_words[i].word))
			continue;
		*exts |= smtpc_ext_words[i].ext;
		if (smtpc_ext_words[i].ext == SMTPC_EXT_AUTH)
			smtpc_parse_auth(arg, alen, auth);
		if (smtpc_ext_words[i].ext == SMTPC_EXT_SIZE) {
			uint64_t v = 0;
			size_t j = 0;
			for (; j < alen && j < 19 && arg[j] >= '0' && arg[j] <= '9'; j++)
				v = v * 10 + (uint64_t)(arg[j] - '0');
			*size = j > 0 && j == alen ? v : 0;  /* malformed: no limit known */
		}
	}
}

/* Parse c->reply (a 250 to EHLO) into the extension set. */
static void smtpc_ehlo_parse(struct smtpc *c)
{
	const char *p = buf_cstr(&c->reply.text), *end = p + c->reply.text.len;
	c->exts = 0;
	c->size = 0;
	c->auth = 0;
	const char *nl = memchr(p, '\n', (size_t)(end - p));
	while (nl) {  /* the first line is the greeting, keywords follow */
		p = nl + 1;
		nl = memchr(p, '\n', (size_t)(end - p));
		const char *e = nl ? nl : end;
		if (e - p > 4)
			smtpc_parse_ehlo_line(p + 4, (size_t)(e - p - 4), &c->exts, &c->size,
					      &c->auth);
	}
}

static enum smtpc_outcome smtpc_hello(struct smtpc *c, struct buf *why)
{
	const char *helo = c->o->helo ? c->o->helo : "localhost";
	smtpc_cmd(c, "EHLO %s", helo);
	if (smtpc_exchange(c, c->o->timeouts.command, "in reply to EHLO") < 0)
		goto broken;
	if (c->reply.code == 250) {
		smtpc_ehlo_parse(c);
		return SMTPC_OK;
	}
	if (c->reply.code == 421)
		goto refused;
	smtpc_cmd(c, "HELO %s", helo);
	c->exts = 0;
	if (smtpc_exchange(c, c->o->timeouts.command, "in reply to HELO") < 0)
		goto broken;
	if (c->reply.code == 250)
		return SMTPC_OK;
refused:
	c->broken = 1;
	smtpc_said(c, why, "EHLO/HELO");
	return SMTPC_NEXT;
broken:
	buf_set(why, c->err.data, c->err.len);
	return SMTPC_NEXT;
}

/* ---- STARTTLS and AUTH ---- */

static int smtpc_tls_required(const struct smtpc *c)
{
	return c->o->tls == SMTPC_TLS_ENCRYPT || c->o->tls == SMTPC_TLS_VERIFY;
}

/* TLS per policy; after success, EHLO again. */
static enum smtpc_outcome smtpc_starttls(struct smtpc *c, struct buf *why)
{
	if (c->o->tls == SMTPC_TLS_NONE)
		return SMTPC_OK;
	if (!(c->exts & SMTPC_EXT_STARTTLS) || !c->o->tls_ctx) {
		if (!smtpc_tls_required(c))
			return SMTPC_OK;
		buf_error(why, "TLS is required, but %s does not offer STARTTLS", smtpc_peer(c));
		return SMTPC_NEXT;
	}
	smtpc_cmd(c, "STARTTLS");
	if (smtpc_exchange(c, c->o->timeouts.command, "in reply to STARTTLS") < 0) {
		buf_set(why, c->err.data, c->err.len);
		return SMTPC_NEXT;
	}
	if (c->reply.code != 220) {
		if (!smtpc_tls_required(c))
			return SMTPC_OK;  /* opportunistic: carry on in plaintext */
		smtpc_said(c, why, "STARTTLS");
		return SMTPC_NEXT;
	}
	if (io_has_buffered_input(c->io)) {  /* CVE-2011-0411 shape, from a server */
		c->broken = 1;
		c->tls_failed = c->o->tls == SMTPC_TLS_MAY;
		buf_error(why, "%s sent data after its STARTTLS reply", smtpc_peer(c));
		return SMTPC_NEXT;
	}
	struct buf err = BUF_INIT;
	io_set_timeout(c->io, c->o->timeouts.command);
	if (tls_io_start(c->io, c->o->tls_ctx, TLS_CLIENT, c->o->peer_name, &err) != IO_OK) {
		c->broken = 1;
		c->tls_failed = c->o->tls == SMTPC_TLS_MAY;
		buf_error(why, "TLS handshake with %s failed: %s", smtpc_peer(c), buf_cstr(&err));
		buf_free(&err);
		return SMTPC_NEXT;
	}
	buf_free(&err);
	return smtpc_hello(c, why);
}

static int smtpc_auth_step(struct smtpc *c, const char *data, size_t len)
{
	struct buf b = BUF_INIT;
	base64_encode(&b, data, len, BASE64_NOWRAP);
	io_write(c->io, b.data, b.len);
	io_write(c->io, "\r\n", 2);
	memset(b.data, 0, b.len);
	buf_free(&b);
	return smtpc_exchange(c, c->o->timeouts.command, "during AUTH");
}

static enum smtpc_outcome smtpc_auth(struct smtpc *c, struct buf *why)
{
	const char *user = c->o->auth_user, *pass = c->o->auth_pass;
	if (!user || !pass)
		return SMTPC_OK;
	if (!tls_io_active(c->io) && !c->o->auth_plaintext) {
		buf_error(why, "refusing to send credentials to %s without TLS", smtpc_peer(c));
		return SMTPC_TEMP;
	}
	if (!(c->auth & (SMTPC_AUTH_PLAIN | SMTPC_AUTH_LOGIN))) {
		buf_error(why, "%s offers neither AUTH PLAIN nor AUTH LOGIN", smtpc_peer(c));
		return SMTPC_TEMP;
	}
	int rc;
	if (c->auth & SMTPC_AUTH_PLAIN) {
		struct buf resp = BUF_INIT;
		buf_append_char(&resp, '\0');
		buf_append_str(&resp, user);
		buf_append_char(&resp, '\0');
		buf_append_str(&resp, pass);
		io_write_str(c->io, "AUTH PLAIN ");
		rc = smtpc_auth_step(c, resp.data, resp.len);
		memset(resp.data, 0, resp.len);
		buf_free(&resp);
	} else {
		smtpc_cmd(c, "AUTH LOGIN");
		rc = smtpc_exchange(c, c->o->timeouts.command, "in reply to AUTH LOGIN");
		if (rc == 0 && c->reply.code == 334)
			rc = smtpc_auth_step(c, user, strlen(user));
		if (rc == 0 && c->reply.code == 334)
			rc = smtpc_auth_step(c, pass, strlen(pass));
	}
	if (rc < 0) {
		buf_set(why, c->err.data, c->err.len);
		return SMTPC_NEXT;
	}
	if (c->reply.code == 235)
		return SMTPC_OK;
	smtpc_said(c, why, "AUTH");
	return SMTPC_TEMP;  /* our credentials or the server: not the message's fault */
}

enum smtpc_outcome smtpc_open(struct smtpc *c, struct buf *why)
{
	if (smtpc_read_reply(c, c->o->timeouts.greeting, "while waiting for the greeting") < 0) {
		buf_set(why, c->err.data, c->err.len);
		return SMTPC_NEXT;
	}
	if (c->reply.code != 220) {
		c->broken = 1;
		smtpc_said(c, why, "the connection");
		return SMTPC_NEXT;
	}
	enum smtpc_outcome r = smtpc_hello(c, why);
	if (r == SMTPC_OK)
		r = smtpc_starttls(c, why);
	if (r == SMTPC_OK)
		r = smtpc_auth(c, why);
	return r;
}

void smtpc_quit(struct smtpc *c)
{
	if (c->broken)
		return;
	smtpc_cmd(c, "QUIT");
	int t = c->o->timeouts.command < 10000 ? c->o->timeouts.command : 10000;
	if (smtpc_exchange(c, t, "in reply to QUIT") == 0)
		c->broken = 1;
}

/* ---- one transaction ---- */

/* An envelope value we may put on a command line: printable, no '<', '>'. */
static int smtpc_addr_ok(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f || *s == '<' || *s == '>')
			return 0;
	return 1;
}

/* An ESMTP parameter value (xtext, RFC 3461 4): visible ASCII without '='. */
static int smtpc_param_ok(const char *s)
{
	if (!s || !*s)
		return 0;
	for (; *s; s++)
		if ((unsigned char)*s <= 0x20 || (unsigned char)*s >= 0x7f || *s == '=')
			return 0;
	return 1;
}

/* Decide r: with the server's current reply (rep) or our own reason. */
static void smtpc_set(struct smtpc_rcpt *r, enum smtpc_outcome o, const struct buf *text,
		      const struct smtpc_reply *rep)
{
	r->outcome = o;
	r->code = rep ? rep->code : 0;
	memcpy(r->enhanced, rep ? rep->enhanced : "", rep ? sizeof(r->enhanced) : 1);
	buf_reset(&r->reply);
	buf_append_buf(&r->reply, text);
}

/* Every recipient still undecided (and, if acc, accepted) gets o and text. */
static void smtpc_set_open(struct smtpc_rcpt *rcpt, size_t n, const char *acc,
			   enum smtpc_outcome o, const struct buf *text,
			   const struct smtpc_reply *rep)
{
	for (size_t i = 0; i < n; i++)
		if (acc ? acc[i] == 1 : rcpt[i].outcome == SMTPC_NEXT && rcpt[i].reply.len == 0)
			smtpc_set(&rcpt[i], o, text, rep);
}

static void smtpc_mail_params(struct smtpc *c, const struct smtpc_msg *m, struct buf *p)
{
	if ((c->exts & SMTPC_EXT_SIZE) && m->wire_size)
		buf_printf(p, " SIZE=%" PRIu64, m->wire_size);
	if (m->eightbit)
		buf_append_str(p, " BODY=8BITMIME");
	if (m->smtputf8)
		buf_append_str(p, " SMTPUTF8");
	if ((c->exts & SMTPC_EXT_DSN) && smtpc_param_ok(m->ret))
		buf_printf(p, " RET=%s", m->ret);
	if ((c->exts & SMTPC_EXT_DSN) && smtpc_param_ok(m->envid))
		buf_printf(p, " ENVID=%s", m->envid);
}

static void smtpc_rcpt_cmd(struct smtpc *c, const struct smtpc_rcpt *r)
{
	struct buf p = BUF_INIT;
	if ((c->exts & SMTPC_EXT_DSN) && smtpc_param_ok(r->notify))
		buf_printf(&p, " NOTIFY=%s", r->notify);
	if ((c->exts & SMTPC_EXT_DSN) && smtpc_param_ok(r->orcpt))
		buf_printf(&p, " ORCPT=%s", r->orcpt);
	smtpc_cmd(c, "RCPT TO:<%s>%s", r->addr, buf_cstr(&p));
	buf_free(&p);
}

/* Checks before MAIL: a failure decides every recipient. */
static int smtpc_precheck(struct smtpc *c, const struct smtpc_msg *m, struct buf *why)
{
	if (m->smtputf8 && !(c->exts & SMTPC_EXT_SMTPUTF8))
		buf_error(why, "5.6.7 the message needs SMTPUTF8, which %s does not offer",
			  smtpc_peer(c));
	else if (m->eightbit && !(c->exts & SMTPC_EXT_8BITMIME))
		buf_error(why, "5.6.3 the message has 8-bit content and %s does not offer "
			  "8BITMIME", smtpc_peer(c));
	else if ((c->exts & SMTPC_EXT_SIZE) && c->size && m->wire_size > c->size)
		buf_error(why, "5.3.4 message size %" PRIu64 " exceeds the limit %" PRIu64
			  " of %s", m->wire_size, c->size, smtpc_peer(c));
	else if (!smtpc_addr_ok(m->sender))
		buf_error(why, "5.1.7 invalid sender address");
	else
		return 0;
	return -1;
}

/* An 8-bit message for a server without 8BITMIME: *m becomes m7, its
 * 7-bit form, when the caller can make one. -1 with why if it cannot. */
static int smtpc_downgrade(struct smtpc *c, const struct smtpc_msg **m, struct smtpc_msg *m7,
			   struct buf *why)
{
	const struct smtpc_msg *o = *m;
	if (!o->eightbit || (c->exts & SMTPC_EXT_8BITMIME) || !o->downgrade ||
	    (o->smtputf8 && !(c->exts & SMTPC_EXT_SMTPUTF8)))
		return 0;  /* nothing to do, or smtpc_precheck refuses it */
	*m7 = *o;
	m7->eightbit = 0;
	m7->downgrade = NULL;
	if (o->downgrade(o->downgrade_ctx, m7, why) < 0) {
		if (why->len == 0)
			buf_set_str(why, "5.6.3 the message cannot be converted to 7 bit");
		return -1;
	}
	*m = m7;
	return 0;
}

/* The reply to one RCPT: acc[i] = 1 if accepted. */
static void smtpc_rcpt_reply(struct smtpc *c, struct smtpc_rcpt *r, char *acc)
{
	if (c->reply.code >= 200 && c->reply.code < 300) {
		*acc = 1;
		r->dsn_relayed = !(c->exts & SMTPC_EXT_DSN) && r->notify &&
				 strstr(r->notify, "SUCCESS") != NULL;
		r->dsn_passed = (c->exts & SMTPC_EXT_DSN) && r->notify &&
				strstr(r->notify, "SUCCESS") != NULL;
		return;
	}
	struct buf why = BUF_INIT;
	smtpc_said(c, &why, "RCPT TO");
	smtpc_set(r, smtpc_code_outcome(c->reply.code), &why, &c->reply);
	buf_free(&why);
}

/* MAIL and RCPTs, pipelined when offered. Returns the number accepted, or
 * -1 when the connection broke. */
static long smtpc_envelope(struct smtpc *c, const struct smtpc_msg *m,
			   struct smtpc_rcpt *rcpt, size_t n, char *acc)
{
	int pipe = (c->exts & SMTPC_EXT_PIPELINING) && !c->o->no_pipelining;
	struct buf params = BUF_INIT;
	smtpc_mail_params(c, m, &params);
	smtpc_cmd(c, "MAIL FROM:<%s>%s", m->sender, buf_cstr(&params));
	buf_free(&params);
	for (size_t i = 0; pipe && i < n; i++)
		if (acc[i] == 0)
			smtpc_rcpt_cmd(c, &rcpt[i]);
	if (smtpc_exchange(c, c->o->timeouts.mail, "in reply to MAIL FROM") < 0)
		return -1;
	int mail_ok = c->reply.code >= 200 && c->reply.code < 300;
	if (!mail_ok) {
		struct buf why = BUF_INIT;
		smtpc_said(c, &why, "MAIL FROM");
		smtpc_set_open(rcpt, n, NULL, smtpc_code_outcome(c->reply.code), &why, &c->reply);
		buf_free(&why);
		if (!pipe)
			return 0;
	}
	long accepted = 0;
	for (size_t i = 0; i < n; i++) {
		if (acc[i] != 0)
			continue;  /* refused before sending */
		if (!pipe) {
			smtpc_rcpt_cmd(c, &rcpt[i]);
			if (smtpc_flush(c, c->o->timeouts.rcpt, "sending RCPT TO") < 0)
				return -1;
		}
		if (smtpc_read_reply(c, c->o->timeouts.rcpt, "in reply to RCPT TO") < 0)
			return -1;
		if (mail_ok) {
			smtpc_rcpt_reply(c, &rcpt[i], &acc[i]);
			accepted += acc[i] == 1;
		}
	}
	return mail_ok ? accepted : 0;
}

/* Send the message: DATA's body and terminator, or BDAT chunks. 0 with the
 * final reply in c->reply, or -1 when the connection broke. */
static int smtpc_body(struct smtpc *c, const struct smtpc_msg *m, int bdat)
{
	struct smtpdata_enc enc;
	struct buf out = BUF_INIT;
	char *chunk = xmalloc(SMTPC_CHUNK);
	off_t off = 0;
	int rc = 0, last = 0;
	struct stat st;
	if (fstat(m->fd, &st) < 0)
		st.st_size = 0;  /* then read until EOF */
	smtpdata_init(&enc, !bdat);
	while (!last && rc == 0) {
		ssize_t r = pread(m->fd, chunk, SMTPC_CHUNK, off);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			c->broken = 1;  /* mid-DATA: the session cannot be rescued */
			buf_error(&c->err, "reading the message: %s", strerror(errno));
			rc = -1;
			break;
		}
		buf_reset(&out);
		smtpdata_encode(&enc, chunk, (size_t)r, &out);
		off += r;
		last = r == 0 || off >= st.st_size;  /* no empty BDAT after the data */
		if (last)
			smtpdata_finish(&enc, &out);
		if (bdat) {
			if (out.len == 0 && !last)
				continue;
			smtpc_cmd(c, "BDAT %zu%s", out.len, last ? " LAST" : "");
		}
		io_write(c->io, out.data, out.len);
		if (smtpc_flush(c, c->o->timeouts.data_block, "sending the message") < 0)
			rc = -1;
		else if (bdat && !last)
			rc = smtpc_read_reply(c, c->o->timeouts.data_block, "in reply to BDAT");
		if (rc == 0 && bdat && !last && c->reply.code != 250)
			break;  /* refused mid-way: c->reply is the answer */
		if (rc == 0 && last)
			rc = smtpc_read_reply(c, c->o->timeouts.data_term,
					      "in reply to the end of the message");
	}
	free(chunk);
	buf_free(&out);
	return rc;
}

static int smtpc_rset(struct smtpc *c)
{
	smtpc_cmd(c, "RSET");
	if (smtpc_exchange(c, c->o->timeouts.command, "in reply to RSET") < 0)
		return -1;
	if (c->reply.code != 250)
		c->broken = 1;  /* a server that cannot reset cannot carry another message */
	return 0;
}

/* After the envelope: the body, then every accepted recipient's outcome. */
static void smtpc_deliver(struct smtpc *c, const struct smtpc_msg *m,
			  struct smtpc_rcpt *rcpt, size_t n, char *acc)
{
	int bdat = (c->exts & SMTPC_EXT_CHUNKING) && !c->o->no_chunking;
	struct buf why = BUF_INIT;
	if (!bdat) {
		smtpc_cmd(c, "DATA");
		if (smtpc_exchange(c, c->o->timeouts.data_init, "in reply to DATA") < 0)
			goto broken;
		if (c->reply.code != 354) {
			smtpc_said(c, &why, "DATA");
			smtpc_set_open(rcpt, n, acc, smtpc_code_outcome(c->reply.code), &why,
				       &c->reply);
			goto done;
		}
	}
	if (smtpc_body(c, m, bdat) < 0)
		goto broken;
	smtpc_said(c, &why, bdat ? "BDAT" : "end of DATA");
	smtpc_set_open(rcpt, n, acc, smtpc_code_outcome(c->reply.code), &why, &c->reply);
	if (bdat && c->reply.code != 250 && smtpc_rset(c) < 0)
		c->broken = 1;
	goto done;
broken:
	smtpc_set_open(rcpt, n, acc, SMTPC_NEXT, &c->err, NULL);
done:
	buf_free(&why);
}

enum smtpc_outcome smtpc_send(struct smtpc *c, const struct smtpc_msg *m,
			      struct smtpc_rcpt *rcpt, size_t n)
{
	struct buf why = BUF_INIT;
	struct smtpc_msg m7;
	char *acc = xcalloc(n ? n : 1, 1);  /* 0 open, 1 accepted, 2 refused by us */
	for (size_t i = 0; i < n; i++) {
		rcpt[i].outcome = SMTPC_NEXT;
		rcpt[i].code = 0;
		rcpt[i].enhanced[0] = '\0';
		rcpt[i].dsn_relayed = 0;
		rcpt[i].dsn_passed = 0;
		buf_reset(&rcpt[i].reply);
		if (!smtpc_addr_ok(rcpt[i].addr)) {
			acc[i] = 2;
			buf_set_str(&why, "5.1.3 invalid recipient address");
			smtpc_set(&rcpt[i], SMTPC_PERM, &why, NULL);
		}
	}
	if (c->broken) {
		buf_error(&why, "the connection with %s is closed", smtpc_peer(c));
		smtpc_set_open(rcpt, n, NULL, SMTPC_NEXT, &why, NULL);
	} else if (smtpc_downgrade(c, &m, &m7, &why) < 0 || smtpc_precheck(c, m, &why) < 0) {
		smtpc_set_open(rcpt, n, NULL, SMTPC_PERM, &why, NULL);
	} else {
		long accepted = smtpc_envelope(c, m, rcpt, n, acc);
		if (accepted < 0)
			smtpc_set_open(rcpt, n, NULL, SMTPC_NEXT, &c->err, NULL);
		else if (accepted == 0 && smtpc_rset(c) < 0)
			smtpc_set_open(rcpt, n, NULL, SMTPC_NEXT, &c->err, NULL);
		else if (accepted > 0)
			smtpc_deliver(c, m, rcpt, n, acc);
	}
	free(acc);
	buf_free(&why);
	return c->broken ? SMTPC_NEXT : SMTPC_OK;
}
