/* protocol: parsing authd's requests and formatting its replies.
 *
 * Trusts nothing in a request line: at most AUTHCLIENT_MAX_LINE bytes (the
 * reader enforces it), a fixed number of tokens, each decoded strictly and
 * bounded; credentials must be well-formed SASL PLAIN or LOGIN data. */
#include "protocol.h"
#include "authclient.h"
#include "backend.h"
#include "base64.h"
#include "passwd.h"

#include <string.h>
#include <strings.h>

#define MAX_TOKENS 6

static void wipe(struct buf *b)
{
	if (b->data)
		explicit_bzero(b->data, b->cap);
	buf_free(b);
}

void request_free(struct request *r)
{
	buf_free(&r->service);
	buf_free(&r->user);
	buf_free(&r->ip);
	wipe(&r->pass);
	wipe(&r->newpass);
	wipe(&r->data);
}

static const char *const mech_names[MECH_COUNT] = { "PLAIN", "LOGIN", "CRAM-MD5", "SCRAM-SHA-256" };

const char *protocol_mech_name(enum auth_mech m)
{
	return mech_names[m];
}

int protocol_mech_find(const char *name, size_t len)
{
	for (int i = 0; i < MECH_COUNT; i++)
		if (strlen(mech_names[i]) == len && strncasecmp(mech_names[i], name, len) == 0)
			return i;
	return -1;
}

struct token {
	const char *p;
	size_t len;
};

/* Split on single spaces; -1 on empty tokens or too many. */
static int split(const char *line, size_t len, struct token *t, size_t *n)
{
	*n = 0;
	size_t i = 0;
	while (i <= len) {
		const char *sp = memchr(line + i, ' ', len - i);
		size_t tl = sp ? (size_t)(sp - line - i) : len - i;
		if (tl == 0 || *n == MAX_TOKENS)
			return -1;
		t[(*n)++] = (struct token){ line + i, tl };
		i += tl + 1;
	}
	return 0;
}

static int decode_text(struct buf *out, const struct token *t, size_t max)
{
	buf_reset(out);
	if (authclient_decode(out, t->p, t->len) < 0 || out->len == 0 || out->len > max)
		return -1;
	for (size_t i = 0; i < out->len; i++)
		if ((unsigned char)out->data[i] < 0x20 || out->data[i] == 0x7f)
			return -1;
	return 0;
}

static int parse_service(struct buf *out, const struct token *t)
{
	if (decode_text(out, t, PROTO_MAX_SERVICE) < 0)
		return -1;
	for (size_t i = 0; i < out->len; i++) {
		char c = out->data[i];
		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-'))
			return -1;
	}
	return 0;
}

static int parse_ip(struct buf *out, const struct token *t)
{
	if (decode_text(out, t, PROTO_MAX_IP) < 0)
		return -1;
	if (buf_eq_str(out, "-"))
		return 0;
	return strspn(buf_cstr(out), "0123456789abcdefABCDEF.:") == out->len ? 0 : -1;
}

static int decode_b64(struct buf *out, const struct token *t)
{
	wipe(out);
	if (t->len == 1 && t->p[0] == '=')
		return 0; /* an empty response, as in RFC 4954 */
	return base64_decode_strict(out, t->p, t->len, NULL);
}

/* A user name or password: bounded, no NUL; a user also no control bytes. */
static int check_secret(const struct buf *b, size_t max)
{
	return b->len > 0 && b->len <= max && !memchr(b->data, '\0', b->len) ? 0 : -1;
}

static int check_user(const struct buf *b)
{
	if (check_secret(b, PROTO_MAX_USER) < 0)
		return -1;
	for (size_t i = 0; i < b->len; i++)
		if ((unsigned char)b->data[i] < 0x20 || b->data[i] == 0x7f)
			return -1;
	return 0;
}

int protocol_parse_plain(const struct buf *raw, struct buf *user, struct buf *pass)
{
	if (raw->len == 0)
		return -1;
	const char *z = raw->data, *end = raw->data + raw->len;
	const char *n1 = memchr(z, '\0', raw->len);
	const char *n2 = n1 ? memchr(n1 + 1, '\0', (size_t)(end - n1 - 1)) : NULL;
	if (n2 == NULL)
		return -1;
	buf_set(user, n1 + 1, (size_t)(n2 - n1 - 1));
	buf_set(pass, n2 + 1, (size_t)(end - n2 - 1));
	size_t zl = (size_t)(n1 - z);
	if (zl && (zl != user->len || memcmp(z, user->data, zl) != 0))
		return -1; /* no proxy authorisation */
	return check_user(user) == 0 && check_secret(pass, PASSWD_MAX) == 0 ? 0 : -1;
}

/* PLAIN: authzid NUL authcid NUL password; authzid empty or = authcid. */
static int parse_plain(struct request *r, const struct token *t)
{
	struct buf raw = BUF_INIT;
	int rc = -1;
	if (decode_b64(&raw, t) == 0)
		rc = protocol_parse_plain(&raw, &r->user, &r->pass);
	wipe(&raw);
	return rc;
}

static int parse_auth(struct request *r, const struct token *t, size_t n, const char **why)
{
	*why = "usage: AUTH service PLAIN|LOGIN ip data...";
	if (n < 5 || parse_service(&r->service, &t[1]) < 0 || parse_ip(&r->ip, &t[3]) < 0)
		return -1;
	if (t[2].len == 5 && strncasecmp(t[2].p, "PLAIN", 5) == 0 && n == 5) {
		r->mech = MECH_PLAIN;
		*why = "malformed PLAIN credentials";
		return parse_plain(r, &t[4]);
	}
	if (t[2].len == 5 && strncasecmp(t[2].p, "LOGIN", 5) == 0 && n == 6) {
		r->mech = MECH_LOGIN;
		*why = "malformed LOGIN credentials";
		if (decode_b64(&r->user, &t[4]) < 0 || decode_b64(&r->pass, &t[5]) < 0)
			return -1;
		return check_user(&r->user) == 0 && check_secret(&r->pass, PASSWD_MAX) == 0 ? 0 : -1;
	}
	*why = "unknown mechanism or wrong number of arguments";
	return -1;
}

static int parse_passwd(struct request *r, const struct token *t, size_t n, const char **why)
{
	*why = "usage: PASSWD service user old new";
	if (n != 5 || parse_service(&r->service, &t[1]) < 0 || decode_text(&r->user, &t[2], PROTO_MAX_USER) < 0)
		return -1;
	if (decode_b64(&r->pass, &t[3]) < 0 || decode_b64(&r->newpass, &t[4]) < 0)
		return -1;
	return check_secret(&r->pass, PASSWD_MAX) == 0 && check_secret(&r->newpass, PASSWD_MAX) == 0
		       ? 0 : -1;
}

static int is_word(const struct token *t, const char *w)
{
	return t->len == strlen(w) && strncasecmp(t->p, w, t->len) == 0;
}

/* SASL data: base64 (bounded), "=" for empty. */
static int parse_sasl_data(struct request *r, const struct token *t)
{
	if (t->len > 4 * ((PROTO_MAX_SASL_DATA + 2) / 3) || decode_b64(&r->data, t) < 0)
		return -1;
	return r->data.len <= PROTO_MAX_SASL_DATA ? 0 : -1;
}

/* SASL service mech ip [data] */
static int parse_sasl(struct request *r, const struct token *t, size_t n, const char **why)
{
	*why = "usage: SASL service mechanism ip [data]";
	if (n < 4 || n > 5 || parse_service(&r->service, &t[1]) < 0 || parse_ip(&r->ip, &t[3]) < 0)
		return -1;
	int m = protocol_mech_find(t[2].p, t[2].len);
	if (m < 0) {
		*why = "unknown mechanism";
		return -1;
	}
	r->mech = (enum auth_mech)m;
	r->has_data = n == 5;
	*why = "malformed SASL data";
	return n == 5 ? parse_sasl_data(r, &t[4]) : 0;
}

/* STEP data | STEP * */
static int parse_step(struct request *r, const struct token *t, size_t n, const char **why)
{
	*why = "usage: STEP data|*";
	if (n != 2)
		return -1;
	if (t[1].len == 1 && t[1].p[0] == '*') {
		r->cancel = 1;
		return 0;
	}
	*why = "malformed SASL data";
	return parse_sasl_data(r, &t[1]);
}

int protocol_parse(const char *line, size_t len, struct request *r, const char **why)
{
	struct token t[MAX_TOKENS];
	size_t n;
	if (len == 0 || memchr(line, '\0', len) || split(line, len, t, &n) < 0) {
		*why = "malformed request";
		return -1;
	}
	if (is_word(&t[0], "LOOKUP")) {
		r->type = REQ_LOOKUP;
		*why = "usage: LOOKUP service user";
		if (n != 3 || parse_service(&r->service, &t[1]) < 0)
			return -1;
		return decode_text(&r->user, &t[2], PROTO_MAX_USER);
	}
	if (is_word(&t[0], "AUTH")) {
		r->type = REQ_AUTH;
		return parse_auth(r, t, n, why);
	}
	if (is_word(&t[0], "ENUM")) {
		r->type = REQ_ENUM;
		*why = "usage: ENUM";
		return n == 1 ? 0 : -1;
	}
	if (is_word(&t[0], "PASSWD")) {
		r->type = REQ_PASSWD;
		return parse_passwd(r, t, n, why);
	}
	if (is_word(&t[0], "MECHS")) {
		r->type = REQ_MECHS;
		*why = "usage: MECHS service";
		return n == 2 ? parse_service(&r->service, &t[1]) : -1;
	}
	if (is_word(&t[0], "SASL")) {
		r->type = REQ_SASL;
		return parse_sasl(r, t, n, why);
	}
	if (is_word(&t[0], "STEP")) {
		r->type = REQ_STEP;
		return parse_step(r, t, n, why);
	}
	*why = "unknown command";
	return -1;
}

static void put(struct buf *out, const char *key, const struct buf *v)
{
	buf_printf(out, " %s=", key);
	authclient_encode(out, v->data ? v->data : "", v->len);
}

void protocol_format_account(struct buf *out, const char *prefix, const struct backend_account *a)
{
	buf_append_str(out, prefix);
	put(out, "address", &a->address);
	buf_printf(out, " uid=%lu gid=%lu", (unsigned long)a->uid, (unsigned long)a->gid);
	put(out, "home", &a->home);
	put(out, "maildir", &a->maildir);
	put(out, "quota", &a->quota);
	put(out, "options", &a->options);
	buf_append_char(out, '\n');
}

void protocol_format_status(struct buf *out, const char *status, const char *reason)
{
	buf_append_str(out, status);
	if (reason && *reason) {
		buf_append_char(out, ' ');
		authclient_encode(out, reason, strlen(reason));
	}
	buf_append_char(out, '\n');
}
