/* sasl: relay a client's SASL exchange to authd (see sasl.h).
 *
 * One authd connection per exchange, opened by sasl_begin and closed when
 * the exchange ends. Client data is checked here first (strict base64,
 * SASL_MAX_RESPONSE) so that malformed input is answered by the protocol
 * daemon without bothering authd; authd's lines are bounded by lib/io and
 * parsed strictly: anything unexpected is SASL_TEMPFAIL. */
#include "sasl.h"
#include "alloc.h"
#include "authclient.h"
#include "base64.h"
#include "buf.h"
#include "io.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

static const char *const known[] = { "PLAIN", "LOGIN", "CRAM-MD5", "SCRAM-SHA-256" };

struct sasl {
	int fd, own_fd;
	struct io *io;
	int timeout_ms;
	int active;                 /* an exchange is under way at authd */
	struct buf path, service, ip;
};

static struct sasl *sasl_alloc(const char *service, const char *ip)
{
	struct sasl *s = xcalloc(1, sizeof *s);
	s->fd = -1;
	s->timeout_ms = SASL_TIMEOUT_MS;
	buf_set_str(&s->service, service);
	/* authd takes an address in text or "-": anything else (a zone id) is dropped */
	if (*ip && strspn(ip, "0123456789abcdefABCDEF.:") == strlen(ip) && strlen(ip) < 64)
		buf_set_str(&s->ip, ip);
	else
		buf_set_str(&s->ip, "-");
	return s;
}

struct sasl *sasl_new(const char *path, const char *service, const char *ip)
{
	struct sasl *s = sasl_alloc(service, ip);
	if (path)
		buf_set_str(&s->path, path);
	else
		authclient_socket_path(&s->path);
	return s;
}

struct sasl *sasl_new_fd(int fd, const char *service, const char *ip)
{
	struct sasl *s = sasl_alloc(service, ip);
	s->fd = fd;
	return s;
}

void sasl_set_timeout(struct sasl *s, int timeout_ms)
{
	s->timeout_ms = timeout_ms;
}

static void disconnect(struct sasl *s)
{
	if (s->io)
		io_free(s->io);
	s->io = NULL;
	if (s->own_fd && s->fd >= 0)
		close(s->fd);
	if (s->own_fd)
		s->fd = -1;
	s->own_fd = 0;
	s->active = 0;
}

void sasl_free(struct sasl *s)
{
	if (s == NULL)
		return;
	disconnect(s);
	buf_free(&s->path);
	buf_free(&s->service);
	buf_free(&s->ip);
	free(s);
}

static int connect_authd(struct sasl *s)
{
	if (s->fd < 0) {
		if ((s->fd = authclient_connect(buf_cstr(&s->path))) < 0)
			return -1;
		s->own_fd = 1;
	}
	if ((s->io = io_new(s->fd, s->fd)) == NULL)
		return -1;
	io_set_timeout(s->io, s->timeout_ms);
	io_set_deadline(s->io, s->timeout_ms);
	io_set_max_line(s->io, AUTHCLIENT_MAX_LINE);
	return 0;
}

static int temp(struct buf *reason, const char *why)
{
	if (reason)
		buf_set_str(reason, why);
	return SASL_TEMPFAIL;
}

/* Send req, read one reply line into line: 0, or -1 with reason set. */
static int roundtrip(struct sasl *s, const struct buf *req, struct buf *line, struct buf *reason)
{
	io_write(s->io, req->data, req->len);
	io_write(s->io, "\n", 1);
	enum io_status st = io_flush(s->io);
	if (st == IO_OK)
		st = io_read_line(s->io, line);
	if (st == IO_OK && io_eol(s->io) != IO_EOL_NONE)
		return 0;
	temp(reason, st == IO_TIMEOUT ? "authd: timeout" : st == IO_TOOLONG ? "authd: reply too long"
									  : "authd: connection lost");
	return -1;
}

/* Interpret authd's reply to SASL or STEP. */
static int reply(struct sasl *s, const struct buf *line, struct buf *challenge,
		 struct account *acct, struct buf *reason)
{
	const char *l = line->data ? line->data : "";
	buf_reset(challenge);
	if (line->len >= 5 && memcmp(l, "CONT ", 5) == 0) {
		struct buf tmp = BUF_INIT;
		int ok = line->len == 6 && l[5] == '=';
		if (!ok && base64_decode_strict(&tmp, l + 5, line->len - 5, NULL) == 0) {
			buf_set(challenge, l + 5, line->len - 5);
			ok = 1;
		}
		buf_free(&tmp);
		if (ok)
			return SASL_CONTINUE;
		disconnect(s);
		return temp(reason, "authd: malformed challenge");
	}
	int r = authclient_parse_reply(l, line->len, acct, reason);
	disconnect(s);
	return r == AUTHCLIENT_OK ? SASL_OK : r == AUTHCLIENT_NO ? SASL_NO : SASL_TEMPFAIL;
}

/* Client data as it may be relayed: "=" or strict base64, bounded. */
static int client_data_ok(const char *d, size_t len)
{
	if (len == 1 && d[0] == '=')
		return 1;
	if (len == 0 || len > SASL_MAX_RESPONSE)
		return 0;
	struct buf tmp = BUF_INIT;
	int ok = base64_decode_strict(&tmp, d, len, NULL) == 0;
	if (tmp.data)
		explicit_bzero(tmp.data, tmp.cap);
	buf_free(&tmp);
	return ok;
}

static const char *known_mech(const char *mech)
{
	for (size_t i = 0; i < sizeof known / sizeof known[0]; i++)
		if (strcasecmp(mech, known[i]) == 0)
			return known[i];
	return NULL;
}

static int send_and_reply(struct sasl *s, struct buf *req, struct buf *challenge,
			  struct account *acct, struct buf *reason)
{
	struct buf line = BUF_INIT;
	int rc;
	if (roundtrip(s, req, &line, reason) < 0) {
		disconnect(s);
		rc = SASL_TEMPFAIL;
	} else {
		rc = reply(s, &line, challenge, acct, reason);
	}
	if (line.data)
		explicit_bzero(line.data, line.cap);
	buf_free(&line);
	if (req->data)
		explicit_bzero(req->data, req->cap);
	buf_free(req);
	return rc;
}

int sasl_begin(struct sasl *s, const char *mech, const char *initial, struct buf *challenge,
	       struct account *acct, struct buf *reason)
{
	const char *m = known_mech(mech);
	disconnect(s);
	if (m == NULL)
		return SASL_NOMECH;
	if (initial && !client_data_ok(initial, strlen(initial)))
		return SASL_BAD;
	if (connect_authd(s) < 0) {
		disconnect(s);
		return temp(reason, "authd: cannot connect");
	}
	struct buf req = BUF_INIT;
	buf_append_str(&req, "SASL ");
	authclient_encode(&req, s->service.data, s->service.len);
	buf_printf(&req, " %s %s", m, buf_cstr(&s->ip));
	if (initial)
		buf_printf(&req, " %s", initial);
	s->active = 1;
	return send_and_reply(s, &req, challenge, acct, reason);
}

int sasl_continue(struct sasl *s, const char *line, size_t len, struct buf *challenge,
		  struct account *acct, struct buf *reason)
{
	if (!s->active || s->io == NULL)
		return temp(reason, "no SASL exchange under way");
	int cancel = len == 1 && line[0] == '*';
	if (!cancel && len && !client_data_ok(line, len)) {
		disconnect(s); /* authd forgets the exchange with the connection */
		return SASL_BAD;
	}
	struct buf req = BUF_INIT;
	buf_append_str(&req, "STEP ");
	if (len == 0)
		buf_append_char(&req, '=');
	else
		buf_append(&req, line, len);
	int r = send_and_reply(s, &req, challenge, acct, reason);
	if (cancel) {
		disconnect(s);
		return SASL_CANCEL;
	}
	return r;
}

/* "OK mechs=A,B,C" into "A B C" (each a known mechanism). */
static int parse_mechs(const struct buf *line, struct buf *out)
{
	const char *l = buf_cstr((struct buf *)line);
	if (strncmp(l, "OK mechs=", 9) != 0)
		return -1;
	char *copy = xstrdup(l + 9), *save = NULL;
	for (char *n = strtok_r(copy, ",", &save); n; n = strtok_r(NULL, ",", &save))
		if (known_mech(n)) {
			if (out->len)
				buf_append_char(out, ' ');
			buf_append_str(out, known_mech(n));
		}
	free(copy);
	return 0;
}

int sasl_mechanisms(const char *path, const char *service, struct buf *out)
{
	struct sasl *s = sasl_new(path, service, "");
	struct buf req = BUF_INIT, line = BUF_INIT;
	int rc = SASL_TEMPFAIL;
	buf_reset(out);
	buf_append_str(&req, "MECHS ");
	authclient_encode(&req, service, strlen(service));
	if (connect_authd(s) == 0 && roundtrip(s, &req, &line, NULL) == 0 &&
	    parse_mechs(&line, out) == 0)
		rc = SASL_OK;
	else
		buf_reset(out);
	buf_free(&req);
	buf_free(&line);
	sasl_free(s);
	return rc;
}

int sasl_mechanism_listed(const char *list, const char *mech)
{
	size_t ml = strlen(mech);
	for (const char *p = list; *p;) {
		size_t n = strcspn(p, " ");
		if (n == ml && strncasecmp(p, mech, n) == 0)
			return 1;
		p += n;
		p += *p == ' ';
	}
	return 0;
}
