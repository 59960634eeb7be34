/* exchange: the SASL mechanisms authd runs itself, step by step (see
 * exchange.h). PLAIN and LOGIN gather a user and a password and then take
 * the AUTH path (session_auth); CRAM-MD5 (lib/crammd5) and SCRAM-SHA-256
 * (lib/scram) check against the secrets the account's backend stores.
 *
 * Trusts nothing from the client: every message is bounded by the protocol
 * parser (PROTO_MAX_SASL_DATA) and parsed strictly by the mechanism; an
 * exchange has at most EXCHANGE_MAX_STEPS steps. An unknown user costs the
 * same messages as a known one (SCRAM gets a stable fake salt), and failures
 * are counted, delayed and logged like AUTH's (session_auth_reply). */
#include "exchange.h"
#include "session.h"
#include "alloc.h"
#include "base64.h"
#include "crammd5.h"
#include "log.h"
#include "protocol.h"
#include "scram.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

struct exchange {
	enum auth_mech mech;
	unsigned steps;
	int stage;                   /* mechanism-specific, from 0 */
	struct buf service, ip, user, pass, challenge;
	struct scram_server scram;
	struct backend_account a;
	int res;                     /* SCRAM: the lookup's result */
	int limited;                 /* SCRAM: over a failure limit */
};

static void wipe(struct buf *b)
{
	if (b->data)
		explicit_bzero(b->data, b->cap);
	buf_free(b);
}

void exchange_end(struct session *s)
{
	struct exchange *x = s->x;
	if (x == NULL)
		return;
	buf_free(&x->service);
	buf_free(&x->ip);
	buf_free(&x->user);
	wipe(&x->pass);
	buf_free(&x->challenge);
	scram_server_free(&x->scram);
	backend_account_free(&x->a);
	free(x);
	s->x = NULL;
}

void exchange_mechs(struct session *s)
{
	const char *sep = "";
	buf_append_str(&s->out, "OK mechs=");
	for (int m = 0; m < MECH_COUNT; m++)
		if (s->d->mechs & (1u << m)) {
			buf_printf(&s->out, "%s%s", sep, protocol_mech_name((enum auth_mech)m));
			sep = ",";
		}
	buf_append_char(&s->out, '\n');
}

/* "CONT base64" ("CONT =" when empty). */
static void cont(struct session *s, const char *data, size_t len)
{
	buf_append_str(&s->out, "CONT ");
	if (len == 0)
		buf_append_char(&s->out, '=');
	else
		base64_encode(&s->out, data, len, BASE64_NOWRAP);
	buf_append_char(&s->out, '\n');
}

static void fail(struct session *s, const char *why)
{
	log_info("sasl fail mech=%s: %s", protocol_mech_name(s->x->mech), why);
	protocol_format_status(&s->out, "NO", why);
	exchange_end(s);
}

/* PLAIN and LOGIN: the AUTH path with the gathered user and password. */
static void finish_password(struct session *s)
{
	struct exchange *x = s->x;
	struct request r;
	memset(&r, 0, sizeof r);
	r.type = REQ_AUTH;
	r.mech = x->mech;
	r.service = x->service, r.ip = x->ip, r.user = x->user, r.pass = x->pass;
	session_auth(s, &r); /* borrows x's buffers; exchange_end frees them */
	exchange_end(s);
}

static int check_user(const struct buf *b)
{
	if (b->len == 0 || b->len > PROTO_MAX_USER)
		return -1;
	for (size_t i = 0; i < b->len; i++)
		if ((unsigned char)b->data[i] < 0x20 || b->data[i] == 0x7f)
			return -1;
	return 0;
}

static void step_plain(struct session *s, const struct buf *data)
{
	struct exchange *x = s->x;
	if (protocol_parse_plain(data, &x->user, &x->pass) < 0) {
		fail(s, "malformed PLAIN credentials");
		return;
	}
	finish_password(s);
}

static void step_login(struct session *s, const struct buf *data)
{
	struct exchange *x = s->x;
	if (x->stage == 0) {
		buf_set(&x->user, data->data, data->len);
		if (check_user(&x->user) < 0) {
			fail(s, "malformed LOGIN user name");
			return;
		}
		x->stage = 1;
		cont(s, "Password:", 9);
		return;
	}
	buf_set(&x->pass, data->data, data->len);
	if (x->pass.len == 0 || x->pass.len > 511 || memchr(x->pass.data, '\0', x->pass.len)) {
		fail(s, "malformed LOGIN password");
		return;
	}
	finish_password(s);
}

/* The CRAM-MD5 secret: the account's own, or a plaintext password. */
static const char *cram_secret(const struct backend_account *a)
{
	const struct buf *c[] = { &a->crampw, &a->servicepw, &a->systempw };
	for (size_t i = 0; i < 3; i++)
		if (c[i]->len && (i == 0 || strncasecmp(c[i]->data, "{PLAIN}", 7) == 0 ||
				  strncasecmp(c[i]->data, "{CLEARTEXT}", 11) == 0))
			return c[i]->data;
	return NULL;
}

static void step_cram(struct session *s, const struct buf *data)
{
	struct exchange *x = s->x;
	unsigned char digest[16];
	struct backend_account a;
	struct buf err = BUF_INIT;
	size_t which;
	int ok = 0;
	if (crammd5_parse(data->data ? data->data : "", data->len, &x->user, digest) < 0) {
		fail(s, "malformed CRAM-MD5 response");
		return;
	}
	memset(&a, 0, sizeof a);
	const char *svc = buf_cstr(&x->service), *user = buf_cstr(&x->user);
	struct verdict v = { "NO", "ratelimit" };
	if (!session_rate_limited(s, &x->user, &x->ip)) {
		int res = session_find_account(s->d, svc, user, &a, &which, &err);
		const char *secret = res == BACKEND_FOUND ? cram_secret(&a) : NULL;
		ok = secret && crammd5_verify(secret, x->challenge.data, x->challenge.len, digest);
		v = session_verdict(res, ok, &a, svc);
	}
	session_auth_reply(s, svc, user, &x->ip, v, &a);
	backend_account_free(&a);
	buf_free(&err);
	exchange_end(s);
}

/* client-first: look the user up, answer server-first. */
static void scram_first(struct session *s, const struct buf *data)
{
	struct exchange *x = s->x;
	struct buf err = BUF_INIT, out = BUF_INIT;
	struct scram_keys k;
	const char *why;
	size_t which;
	if (scram_server_first(&x->scram, data->data ? data->data : "", data->len, &why) < 0) {
		fail(s, why);
		return;
	}
	x->limited = session_rate_limited(s, &x->scram.user, &x->ip);
	x->res = x->limited ? BACKEND_NOTFOUND
			    : session_find_account(s->d, buf_cstr(&x->service),
						   buf_cstr(&x->scram.user), &x->a, &which, &err);
	buf_free(&err);
	if (x->res == BACKEND_ERROR) {
		struct verdict v = { "TEMPFAIL", "backend" };
		session_auth_reply(s, buf_cstr(&x->service), buf_cstr(&x->scram.user), &x->ip, v,
				   &x->a);
		exchange_end(s);
		return;
	}
	int have = x->res == BACKEND_FOUND && x->a.scrampw.len &&
		   scram_keys_parse(buf_cstr(&x->a.scrampw), &k) == 0;
	scram_server_keys(&x->scram, have ? &k : NULL, s->d->fake_secret, sizeof s->d->fake_secret);
	explicit_bzero(&k, sizeof k);
	if (scram_server_challenge(&x->scram, NULL, &out) < 0) {
		buf_free(&out);
		fail(s, "no random bytes");
		return;
	}
	x->stage = 1;
	cont(s, out.data, out.len);
	buf_free(&out);
}

static void step_scram(struct session *s, const struct buf *data)
{
	struct exchange *x = s->x;
	const char *svc = buf_cstr(&x->service), *user = buf_cstr(&x->scram.user), *why;
	if (x->stage == 0) {
		scram_first(s, data);
		return;
	}
	if (x->stage == 2) { /* the client's empty answer to server-final */
		if (data->len != 0) {
			fail(s, "unexpected data after server-final");
			return;
		}
		session_auth_reply(s, svc, user, &x->ip, (struct verdict){ "OK", "ok" }, &x->a);
		exchange_end(s);
		return;
	}
	struct buf out = BUF_INIT;
	int ok = scram_server_final(&x->scram, data->data ? data->data : "", data->len, &out, &why);
	struct verdict v = x->limited ? (struct verdict){ "NO", "ratelimit" }
				      : session_verdict(x->res, ok > 0, &x->a, svc);
	if (strcmp(v.status, "OK") == 0) {
		x->stage = 2;
		cont(s, out.data, out.len);
	} else {
		if (ok < 0)
			log_info("sasl mech=SCRAM-SHA-256 user=%s: %s", user, why);
		session_auth_reply(s, svc, user, &x->ip, v, &x->a);
		exchange_end(s);
	}
	buf_free(&out);
}

static void dispatch(struct session *s, const struct buf *data)
{
	static void (*const step[MECH_COUNT])(struct session *, const struct buf *) = {
		[MECH_PLAIN] = step_plain,
		[MECH_LOGIN] = step_login,
		[MECH_CRAM_MD5] = step_cram,
		[MECH_SCRAM_SHA256] = step_scram,
	};
	step[s->x->mech](s, data);
}

void exchange_start(struct session *s, struct request *r)
{
	exchange_end(s);
	if (!(s->d->mechs & (1u << r->mech))) {
		protocol_format_status(&s->out, "NO", "mechanism not enabled");
		return;
	}
	struct exchange *x = s->x = xcalloc(1, sizeof *x);
	struct scram_server init = SCRAM_SERVER_INIT;
	x->scram = init;
	x->mech = r->mech;
	buf_set(&x->service, r->service.data, r->service.len);
	buf_set(&x->ip, r->ip.data, r->ip.len);
	if (r->mech == MECH_CRAM_MD5) {
		if (r->has_data && r->data.len) {
			fail(s, "CRAM-MD5 takes no initial response");
			return;
		}
		if (crammd5_challenge(&x->challenge, s->d->hostname) < 0) {
			fail(s, "no random bytes");
			return;
		}
		cont(s, x->challenge.data, x->challenge.len);
		return;
	}
	if (r->has_data) {
		dispatch(s, &r->data);
		return;
	}
	if (r->mech == MECH_LOGIN) {
		cont(s, "Username:", 9);
		return;
	}
	cont(s, NULL, 0);
}

void exchange_step(struct session *s, struct request *r)
{
	if (s->x == NULL) {
		protocol_format_status(&s->out, "NO", "no SASL exchange under way");
		return;
	}
	if (r->cancel) {
		fail(s, "cancelled");
		return;
	}
	if (++s->x->steps > EXCHANGE_MAX_STEPS) {
		fail(s, "too many steps");
		return;
	}
	dispatch(s, &r->data);
}
