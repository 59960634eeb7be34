/* authclient: the client side of authd's line protocol (authd(8)).
 *
 * Trusts nothing in a reply beyond its syntax: lines are bounded, values
 * decoded strictly, ids range-checked; whatever does not parse is TEMPFAIL. */
#include "authclient.h"
#include "alloc.h"
#include "base64.h"
#include "buf.h"
#include "io.h"
#include "log.h"
#include "paths.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#define ID_MAX 4294967294ULL /* (uid_t)-1 means "unchanged" to setuid: never an id */

void account_free(struct account *a)
{
	free(a->address);
	free(a->home);
	free(a->maildir);
	free(a->quota);
	free(a->options);
	free(a->ticket);
	memset(a, 0, sizeof *a);
}

int account_has_option(const struct account *a, const char *opt)
{
	size_t n = strlen(opt);
	const char *p = a->options ? a->options : "";
	while (*p) {
		size_t len = strcspn(p, ",");
		if (len == n && n > 0 && memcmp(p, opt, n) == 0)
			return 1;
		p += len;
		if (*p == ',')
			p++;
	}
	return 0;
}

void authclient_socket_path(struct buf *out)
{
	paths_join(out, paths_run(), "authd/socket");
}

static int needs_escape(unsigned char c)
{
	return c < 0x21 || c > 0x7e || c == '%' || c == '=';
}

void authclient_encode(struct buf *out, const void *data, size_t len)
{
	static const char hex[] = "0123456789ABCDEF";
	const unsigned char *p = data;
	for (size_t i = 0; i < len; i++) {
		if (needs_escape(p[i])) {
			char e[3] = { '%', hex[p[i] >> 4], hex[p[i] & 15] };
			buf_append(out, e, 3);
		} else {
			buf_append_char(out, (char)p[i]);
		}
	}
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

int authclient_decode(struct buf *out, const char *s, size_t len)
{
	size_t start = out->len;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c == '%') {
			if (len - i < 3)
				goto bad;
			int hi = hexval(s[i + 1]), lo = hexval(s[i + 2]);
			if (hi < 0 || lo < 0)
				goto bad;
			buf_append_char(out, (char)(hi << 4 | lo));
			i += 2;
		} else if (needs_escape(c) && c != '=') {
			goto bad;
		} else {
			buf_append_char(out, (char)c);
		}
	}
	return 0;
bad:
	buf_truncate(out, start);
	return -1;
}

/* A decimal id within 0..ID_MAX. */
static int parse_id(const struct buf *v, unsigned long long *out)
{
	if (v->len == 0 || v->len > 10)
		return -1;
	unsigned long long n = 0;
	for (size_t i = 0; i < v->len; i++) {
		if (v->data[i] < '0' || v->data[i] > '9')
			return -1;
		n = n * 10 + (unsigned)(v->data[i] - '0');
	}
	if (n > ID_MAX)
		return -1;
	*out = n;
	return 0;
}

static char **string_field(struct account *a, const char *key, size_t klen)
{
	static const struct {
		const char *name;
		size_t off;
	} fields[] = {
		{ "address", offsetof(struct account, address) },
		{ "home", offsetof(struct account, home) },
		{ "maildir", offsetof(struct account, maildir) },
		{ "quota", offsetof(struct account, quota) },
		{ "options", offsetof(struct account, options) },
		{ "ticket", offsetof(struct account, ticket) },
	};
	for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++)
		if (strlen(fields[i].name) == klen && memcmp(fields[i].name, key, klen) == 0)
			return (char **)(void *)((char *)a + fields[i].off);
	return NULL;
}

/* One key=value item of an OK line. got: bit 0 uid, bit 1 gid. */
static int parse_item(struct account *a, const char *p, size_t len, unsigned *got)
{
	const char *eq = memchr(p, '=', len);
	if (eq == NULL || eq == p)
		return -1;
	size_t klen = (size_t)(eq - p);
	struct buf v = BUF_INIT;
	int rc = -1;
	if (authclient_decode(&v, eq + 1, len - klen - 1) < 0 || buf_has_nul(&v))
		goto out;
	unsigned long long id;
	char **field;
	if (klen == 3 && memcmp(p, "uid", 3) == 0) {
		if (parse_id(&v, &id) == 0) {
			a->uid = (uid_t)id;
			*got |= 1;
			rc = 0;
		}
	} else if (klen == 3 && memcmp(p, "gid", 3) == 0) {
		if (parse_id(&v, &id) == 0) {
			a->gid = (gid_t)id;
			*got |= 2;
			rc = 0;
		}
	} else if (klen == 7 && memcmp(p, "expires", 7) == 0) {
		if (parse_id(&v, &id) == 0) {
			a->expires = id;
			rc = 0;
		}
	} else if ((field = string_field(a, p, klen)) != NULL) {
		free(*field);
		*field = buf_detach(&v);
		rc = 0;
	} else {
		rc = 0; /* unknown keys are for newer clients */
	}
out:
	buf_free(&v);
	return rc;
}

static void fill_empty(char **s)
{
	if (*s == NULL)
		*s = xstrdup("");
}

static int parse_ok(const char *p, const char *end, struct account *acct)
{
	unsigned got = 0;
	while (p < end) {
		if (*p == ' ') {
			p++;
			continue;
		}
		const char *sp = memchr(p, ' ', (size_t)(end - p));
		size_t len = sp ? (size_t)(sp - p) : (size_t)(end - p);
		if (parse_item(acct, p, len, &got) < 0)
			return -1;
		p += len;
	}
	if (got != 3 || acct->home == NULL || acct->home[0] != '/')
		return -1;
	fill_empty(&acct->address);
	fill_empty(&acct->maildir);
	fill_empty(&acct->quota);
	fill_empty(&acct->options);
	fill_empty(&acct->ticket);
	return 0;
}

static void set_reason(struct buf *reason, const char *p, size_t len)
{
	if (reason == NULL)
		return;
	struct buf d = BUF_INIT;
	buf_reset(reason);
	if (authclient_decode(&d, p, len) < 0)
		buf_set(&d, p, len);
	log_escape(reason, d.data ? d.data : "", d.len);
	buf_free(&d);
}

static int word_is(const char *line, size_t len, const char *w, const char **rest)
{
	size_t n = strlen(w);
	if (len < n || memcmp(line, w, n) != 0 || (len > n && line[n] != ' '))
		return 0;
	*rest = line + n + (len > n);
	return 1;
}

int authclient_parse_reply(const char *line, size_t len, struct account *acct, struct buf *reason)
{
	const char *rest, *end = line + len;
	if (acct)
		account_free(acct);
	if (word_is(line, len, "OK", &rest)) {
		struct account tmp = ACCOUNT_INIT;
		if (memchr(line, '\0', len) == NULL && parse_ok(rest, end, &tmp) == 0) {
			if (acct)
				*acct = tmp;
			else
				account_free(&tmp);
			return AUTHCLIENT_OK;
		}
		account_free(&tmp);
		set_reason(reason, "malformed reply from authd", 26);
		return AUTHCLIENT_TEMPFAIL;
	}
	if (word_is(line, len, "NO", &rest)) {
		set_reason(reason, rest, (size_t)(end - rest));
		return AUTHCLIENT_NO;
	}
	if (word_is(line, len, "TEMPFAIL", &rest)) {
		set_reason(reason, rest, (size_t)(end - rest));
		return AUTHCLIENT_TEMPFAIL;
	}
	set_reason(reason, "unexpected reply from authd", 27);
	return AUTHCLIENT_TEMPFAIL;
}

static int fail(struct buf *reason, const char *what, const char *detail)
{
	if (reason) {
		buf_reset(reason);
		buf_printf(reason, "authd: %s%s%s", what, detail ? ": " : "", detail ? detail : "");
	}
	return AUTHCLIENT_TEMPFAIL;
}

int authclient_request_fd(int fd, const char *request, int timeout_ms, struct account *acct,
			  struct buf *reason)
{
	if (acct)
		account_free(acct);
	size_t rlen = strlen(request);
	if (rlen > AUTHCLIENT_MAX_LINE || memchr(request, '\n', rlen))
		return fail(reason, "request too long or malformed", NULL);
	struct io *io = io_new(fd, fd);
	if (io == NULL)
		return fail(reason, "bad socket", strerror(errno));
	io_set_deadline(io, timeout_ms);
	io_set_timeout(io, timeout_ms);
	io_set_max_line(io, AUTHCLIENT_MAX_LINE);
	struct buf line = BUF_INIT;
	int rc;
	io_write(io, request, rlen);
	io_write(io, "\n", 1);
	enum io_status st = io_flush(io);
	if (st == IO_OK)
		st = io_read_line(io, &line);
	if (st == IO_OK && io_eol(io) != IO_EOL_NONE)
		rc = authclient_parse_reply(line.data ? line.data : "", line.len, acct, reason);
	else if (st == IO_OK || st == IO_EOF)
		rc = fail(reason, "connection closed without a reply", NULL);
	else if (st == IO_TOOLONG)
		rc = fail(reason, "reply too long", NULL);
	else
		rc = fail(reason, st == IO_TIMEOUT ? "timeout" : "i/o error", io_error(io));
	io_free(io);
	buf_free(&line);
	return rc;
}

static int connect_unix(const char *path)
{
	struct sockaddr_un sun;
	memset(&sun, 0, sizeof sun);
	sun.sun_family = AF_UNIX;
	if (strlen(path) >= sizeof sun.sun_path) {
		errno = ENAMETOOLONG;
		return -1;
	}
	memcpy(sun.sun_path, path, strlen(path) + 1);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	if (connect(fd, (struct sockaddr *)&sun, sizeof sun) < 0) {
		int e = errno;
		close(fd);
		errno = e;
		return -1;
	}
	return fd;
}

int authclient_connect(const char *path)
{
	struct buf def = BUF_INIT;
	if (path == NULL) {
		authclient_socket_path(&def);
		path = buf_cstr(&def);
	}
	int fd = connect_unix(path);
	int e = errno;
	buf_free(&def);
	errno = e;
	return fd;
}

int authclient_request(const char *path, const char *request, int timeout_ms,
		       struct account *acct, struct buf *reason)
{
	struct buf def = BUF_INIT;
	if (acct)
		account_free(acct);
	if (path == NULL) {
		authclient_socket_path(&def);
		path = buf_cstr(&def);
	}
	int fd = connect_unix(path);
	int rc;
	if (fd < 0)
		rc = fail(reason, "cannot connect", strerror(errno));
	else
		rc = authclient_request_fd(fd, request, timeout_ms, acct, reason);
	if (fd >= 0)
		close(fd);
	buf_free(&def);
	return rc;
}

void authclient_lookup_request(struct buf *req, const char *service, const char *user)
{
	buf_set_str(req, "LOOKUP ");
	authclient_encode(req, service, strlen(service));
	buf_append_char(req, ' ');
	authclient_encode(req, user, strlen(user));
}

int authclient_lookup(const char *path, const char *service, const char *user,
		      struct account *acct, struct buf *reason)
{
	struct buf req = BUF_INIT;
	authclient_lookup_request(&req, service, user);
	int rc = authclient_request(path, buf_cstr(&req), AUTHCLIENT_TIMEOUT_MS, acct, reason);
	buf_free(&req);
	return rc;
}

/* Overwrite a buffer's bytes before freeing it: it held a password. */
static void buf_wipe(struct buf *b)
{
	if (b->data)
		explicit_bzero(b->data, b->cap);
	buf_free(b);
}

int authclient_login(const char *path, const char *service, const char *ip, const char *user,
		     const char *pass, size_t pass_len, struct account *acct, struct buf *reason)
{
	struct buf raw = BUF_INIT, req = BUF_INIT;
	size_t ulen = strlen(user);
	buf_reserve(&raw, ulen + pass_len + 2);
	buf_append_char(&raw, '\0');
	buf_append(&raw, user, ulen);
	buf_append_char(&raw, '\0');
	buf_append(&raw, pass, pass_len);
	buf_reserve(&req, 64 + strlen(service) * 3 + strlen(ip) * 3 + raw.len / 3 * 4 + 4);
	buf_append_str(&req, "AUTH ");
	authclient_encode(&req, service, strlen(service));
	buf_append_str(&req, " PLAIN ");
	if (*ip)
		authclient_encode(&req, ip, strlen(ip));
	else
		buf_append_char(&req, '-');
	buf_append_char(&req, ' ');
	base64_encode(&req, raw.data, raw.len, BASE64_NOWRAP);
	int rc = authclient_request(path, buf_cstr(&req), AUTHCLIENT_TIMEOUT_MS, acct, reason);
	buf_wipe(&raw);
	buf_wipe(&req);
	return rc;
}
