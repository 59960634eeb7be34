/* ticket: authd's signed login tickets (see ticket.h and auth-exec(8)).
 *
 * Trusts the key file only after checking it is a regular file that neither
 * group nor others may read or write; trusts a ticket only after its MAC
 * matches (compared in constant time), and then still parses it strictly.
 * HMAC-SHA256 comes from lib/sha256, not OpenSSL: see sha256.h. */
#include "ticket.h"
#include "file.h"
#include "paths.h"
#include "sha256.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

static const char hexdig[] = "0123456789abcdef";

void ticket_key_path(struct buf *out)
{
	buf_reset(out);
	paths_join(out, paths_config(), "authd.key");
}

static void hex_append(struct buf *out, const unsigned char *p, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		buf_append_char(out, hexdig[p[i] >> 4]);
		buf_append_char(out, hexdig[p[i] & 15]);
	}
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

static int key_parse(const struct buf *text, struct buf *key)
{
	size_t n = text->len;
	if (n == TICKET_KEY_LEN * 2 + 1 && text->data[n - 1] == '\n')
		n--;
	if (n != TICKET_KEY_LEN * 2)
		return -1;
	buf_reset(key);
	for (size_t i = 0; i < n; i += 2) {
		int hi = hexval(text->data[i]), lo = hexval(text->data[i + 1]);
		if (hi < 0 || lo < 0)
			return -1;
		buf_append_char(key, (char)(hi << 4 | lo));
	}
	return 0;
}

int ticket_key_load(const char *path, struct buf *key, struct buf *err)
{
	struct buf def = BUF_INIT, text = BUF_INIT;
	if (path == NULL) {
		ticket_key_path(&def);
		path = buf_cstr(&def);
	}
	int rc = -1;
	struct stat st;
	int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st) < 0) {
		buf_error(err, "%s: %s", path, strerror(errno));
	} else if (!S_ISREG(st.st_mode) || (st.st_mode & 077)) {
		buf_error(err, "%s: not a regular file of mode 0600 or stricter", path);
	} else if (file_read_fd(fd, &text, 256) < 0) {
		buf_error(err, "%s: %s", path, strerror(errno));
	} else if (key_parse(&text, key) < 0) {
		buf_error(err, "%s: not %d hex digits", path, TICKET_KEY_LEN * 2);
	} else {
		rc = 0;
	}
	if (fd >= 0)
		close(fd);
	if (text.data)
		explicit_bzero(text.data, text.cap);
	buf_free(&text);
	buf_free(&def);
	return rc;
}

/* Write a new key to tmp (exclusively), then link it to path. */
static int key_write(const char *tmp, const char *path, int chown_it, uid_t owner, gid_t group,
		     struct buf *err)
{
	unsigned char raw[TICKET_KEY_LEN];
	struct buf text = BUF_INIT;
	int rc = -1;
	int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0 || getrandom(raw, sizeof raw, 0) != (ssize_t)sizeof raw) {
		buf_error(err, "%s: %s", tmp, strerror(errno));
		goto out;
	}
	hex_append(&text, raw, sizeof raw);
	buf_append_char(&text, '\n');
	if (fchmod(fd, 0600) < 0 || (chown_it && fchown(fd, owner, group) < 0) ||
	    file_write_all(fd, text.data, text.len) < 0 || fsync(fd) < 0) {
		buf_error(err, "%s: %s", tmp, strerror(errno));
		goto out;
	}
	if (link(tmp, path) < 0 && errno != EEXIST) {
		buf_error(err, "%s: %s", path, strerror(errno));
		goto out;
	}
	file_fsync_parent(path);
	rc = 0;
out:
	if (fd >= 0) {
		close(fd);
		unlink(tmp);
	}
	explicit_bzero(raw, sizeof raw);
	if (text.data)
		explicit_bzero(text.data, text.cap);
	buf_free(&text);
	return rc;
}

int ticket_key_create(const char *path, int chown_it, uid_t owner, gid_t group, struct buf *err)
{
	struct buf def = BUF_INIT, tmp = BUF_INIT;
	if (path == NULL) {
		ticket_key_path(&def);
		path = buf_cstr(&def);
	}
	struct stat st;
	int rc = 0;
	if (lstat(path, &st) < 0) {
		buf_printf(&tmp, "%s.new.%ld", path, (long)getpid());
		unlink(buf_cstr(&tmp)); /* a leftover of a crashed earlier start */
		rc = key_write(buf_cstr(&tmp), path, chown_it, owner, group, err);
	}
	buf_free(&def);
	buf_free(&tmp);
	return rc;
}

static void put(struct buf *out, const char *key, const char *v)
{
	buf_printf(out, " %s=", key);
	authclient_encode(out, v ? v : "", v ? strlen(v) : 0);
}

void ticket_format(struct buf *out, const char *service, const struct account *a,
		   uint64_t expires)
{
	buf_reset(out);
	buf_append_str(out, "service=");
	authclient_encode(out, service, strlen(service));
	put(out, "address", a->address);
	buf_printf(out, " uid=%lu gid=%lu", (unsigned long)a->uid, (unsigned long)a->gid);
	put(out, "home", a->home);
	put(out, "maildir", a->maildir);
	put(out, "quota", a->quota);
	put(out, "options", a->options);
	buf_printf(out, " expires=%llu", (unsigned long long)expires);
}

void ticket_mac(const struct buf *key, const void *msg, size_t len, struct buf *out)
{
	unsigned char mac[SHA256_LEN];
	buf_reset(out);
	hmac_sha256(key->data ? key->data : "", key->len, len ? msg : "", len, mac);
	hex_append(out, mac, sizeof mac);
}

void ticket_sign(struct buf *out, const struct buf *key, const char *service,
		 const struct account *acct, uint64_t expires)
{
	struct buf mac = BUF_INIT;
	ticket_format(out, service, acct, expires);
	ticket_mac(key, out->data, out->len, &mac);
	buf_append_str(out, " mac=");
	buf_append_buf(out, &mac);
	buf_free(&mac);
}

/* After the MAC matched: the fields, and the line must be exactly canonical. */
static int ticket_parse(const char *line, size_t len, const char *service, time_t now,
			struct account *acct, struct buf *err)
{
	struct buf want = BUF_INIT, ok = BUF_INIT;
	int rc = -1;
	const char *sp = memchr(line, ' ', len);
	buf_append_str(&ok, "OK");
	if (sp)
		buf_append(&ok, sp, len - (size_t)(sp - line));
	if (sp == NULL || authclient_parse_reply(ok.data, ok.len, acct, NULL) != AUTHCLIENT_OK) {
		buf_error(err, "malformed ticket");
		goto out;
	}
	ticket_format(&want, service, acct, acct->expires);
	if (want.len != len || memcmp(want.data, line, len) != 0)
		buf_error(err, "ticket for another service or not canonical");
	else if (acct->expires < (uint64_t)now)
		buf_error(err, "ticket expired");
	else if (acct->expires > (uint64_t)now + TICKET_MAX_SKEW)
		buf_error(err, "ticket expires too far ahead");
	else
		rc = 0;
out:
	buf_free(&want);
	buf_free(&ok);
	if (rc < 0)
		account_free(acct);
	return rc;
}

int ticket_verify(const char *ticket, size_t len, const struct buf *key, const char *service,
		  time_t now, struct account *acct, struct buf *err)
{
	static const char tag[] = " mac=";
	size_t tl = sizeof tag - 1;
	account_free(acct);
	if (len > TICKET_MAX_LEN || len < tl + TICKET_MAC_HEX ||
	    memcmp(ticket + len - TICKET_MAC_HEX - tl, tag, tl) != 0 || memchr(ticket, '\0', len)) {
		buf_error(err, "malformed ticket");
		return -1;
	}
	size_t body = len - TICKET_MAC_HEX - tl;
	struct buf mac = BUF_INIT;
	ticket_mac(key, ticket, body, &mac);
	int same = mac.len == TICKET_MAC_HEX &&
		   sha256_equal(mac.data, ticket + body + tl, TICKET_MAC_HEX);
	buf_free(&mac);
	if (!same) {
		buf_error(err, "ticket MAC does not verify");
		return -1;
	}
	return ticket_parse(ticket, body, service, now, acct, err);
}
