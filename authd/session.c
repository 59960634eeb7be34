/* session: one client connection of authd, in its own process.
 *
 * Trusts the peer only as far as main.c's SO_PEERCRED check: requests are
 * parsed strictly (protocol.c), credentials are never logged, a failed AUTH is
 * answered only after the configured delay (this process sleeps, nobody else
 * waits), and failures are counted per user and per IP (failures.c). PASSWD
 * checks the old password the same way before a backend stores the new
 * secrets; SASL exchanges run in exchange.c on the same helpers. */
#include "session.h"
#include "exchange.h"
#include "failures.h"
#include "io.h"
#include "log.h"
#include "passwd.h"
#include "protocol.h"
#include "authclient.h"
#include "ticket.h"
#include "crammd5.h"
#include "scram.h"

#include <errno.h>
#include <string.h>
#include <time.h>

static void sleep_ms(uint64_t ms)
{
	struct timespec ts = { (time_t)(ms / 1000), (long)(ms % 1000) * 1000000L };
	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

int session_find_account(const struct authd *d, const char *service, const char *user,
			struct backend_account *a, size_t *which, struct buf *err)
{
	for (size_t i = 0; i < d->nbackends; i++) {
		buf_reset(err);
		int r = d->ops[i]->lookup(d->be[i], service, user, a, err);
		if (r == BACKEND_NOTFOUND)
			continue;
		if (r == BACKEND_ERROR)
			log_error("backend %s: %s", d->ops[i]->name, buf_cstr(err));
		*which = i;
		return r;
	}
	return BACKEND_NOTFOUND;
}

static void do_lookup(struct session *s, struct request *r)
{
	struct backend_account a;
	struct buf err = BUF_INIT;
	size_t which;
	memset(&a, 0, sizeof a);
	int res = session_find_account(s->d, buf_cstr(&r->service), buf_cstr(&r->user), &a, &which, &err);
	if (res == BACKEND_FOUND)
		protocol_format_account(&s->out, "OK", &a);
	else if (res == BACKEND_NOTFOUND)
		protocol_format_status(&s->out, "NO", "no such account");
	else
		protocol_format_status(&s->out, "TEMPFAIL", "account database unavailable");
	log_debug("lookup service=%s user=%s result=%s", buf_cstr(&r->service), buf_cstr(&r->user),
		  res == BACKEND_FOUND ? "found" : res == BACKEND_NOTFOUND ? "notfound" : "tempfail");
	backend_account_free(&a);
	buf_free(&err);
}

/* 1 match, 0 mismatch, -1 backend error. */
static int check_password(const struct authd *d, size_t which, const char *service,
			  const struct backend_account *a, const struct buf *pass, struct buf *err)
{
	if (d->ops[which]->verify)
		return d->ops[which]->verify(d->be[which], service, a, pass->data, pass->len, err);
	const struct buf *stored = a->servicepw.len ? &a->servicepw : &a->systempw;
	return passwd_verify(pass->data, pass->len, stored->len ? stored->data : "") ? 1 : 0;
}

static int service_disabled(const struct backend_account *a, const char *service)
{
	struct account tmp = ACCOUNT_INIT;
	char opt[48];
	tmp.options = a->options.data ? a->options.data : (char *)"";
	size_t n = strlen(service);
	memcpy(opt, "disable-", 8);
	memcpy(opt + 8, service, n + 1);
	return account_has_option(&tmp, opt);
}

int session_rate_limited(struct session *s, const struct buf *user, const struct buf *ip)
{
	const struct authd *d = s->d;
	buf_set(&s->fkey, user->data, user->len);
	for (size_t i = 0; i < s->fkey.len; i++)
		if (s->fkey.data[i] >= 'A' && s->fkey.data[i] <= 'Z')
			s->fkey.data[i] = (char)(s->fkey.data[i] - 'A' + 'a');
	return failures_over("user", s->fkey.data, s->fkey.len, (unsigned)d->max_user_failures,
			     (unsigned)d->failure_window_s) ||
	       (!buf_eq_str(ip, "-") && failures_over("ip", ip->data, ip->len,
						      (unsigned)d->max_ip_failures,
						      (unsigned)d->failure_window_s));
}

struct verdict session_verdict(int res, int ok, const struct backend_account *a,
			       const char *service)
{
	if (res == BACKEND_ERROR || (res == BACKEND_FOUND && ok < 0))
		return (struct verdict){ "TEMPFAIL", "backend" };
	if (res == BACKEND_NOTFOUND)
		return (struct verdict){ "NO", "nouser" };
	if (!ok)
		return (struct verdict){ "NO", "badpass" };
	if (service_disabled(a, service))
		return (struct verdict){ "NO", "disabled" };
	return (struct verdict){ "OK", "ok" };
}

static struct verdict authenticate(struct session *s, struct request *r, struct backend_account *a,
				   size_t *whichp)
{
	const struct authd *d = s->d;
	const char *svc = buf_cstr(&r->service), *user = buf_cstr(&r->user);
	struct buf err = BUF_INIT;
	size_t which = 0;
	int ok = 0;
	if (session_rate_limited(s, &r->user, &r->ip))
		return (struct verdict){ "NO", "ratelimit" };
	int res = session_find_account(d, svc, user, a, &which, &err);
	if (res == BACKEND_NOTFOUND) {
		passwd_verify(r->pass.data, r->pass.len, d->dummy_hash); /* same time as a real check */
	} else if (res == BACKEND_FOUND) {
		ok = check_password(d, which, svc, a, &r->pass, &err);
		if (ok < 0)
			log_error("backend %s: %s", d->ops[which]->name, buf_cstr(&err));
	}
	buf_free(&err);
	*whichp = which;
	return session_verdict(res, ok, a, svc);
}

/* Replace the OK line's LF with " expires=T ticket=MAC" and LF (auth-exec(8)). */
static void add_ticket(struct session *s, const char *service, const struct backend_account *a)
{
	if (s->d->ticket_key.len == 0)
		return;
	struct account acct = ACCOUNT_INIT;
	struct buf line = BUF_INIT, mac = BUF_INIT;
	acct.address = (char *)buf_cstr((struct buf *)&a->address);
	acct.uid = a->uid;
	acct.gid = a->gid;
	acct.home = (char *)buf_cstr((struct buf *)&a->home);
	acct.maildir = (char *)buf_cstr((struct buf *)&a->maildir);
	acct.quota = (char *)buf_cstr((struct buf *)&a->quota);
	acct.options = (char *)buf_cstr((struct buf *)&a->options);
	uint64_t expires = (uint64_t)time(NULL) + TICKET_LIFETIME;
	ticket_format(&line, service, &acct, expires);
	ticket_mac(&s->d->ticket_key, line.data, line.len, &mac);
	if (s->out.len && s->out.data[s->out.len - 1] == '\n')
		buf_truncate(&s->out, s->out.len - 1);
	buf_printf(&s->out, " expires=%llu ticket=%s\n", (unsigned long long)expires, buf_cstr(&mac));
	buf_free(&line);
	buf_free(&mac);
}

void session_auth_reply(struct session *s, const char *service, const char *user,
			const struct buf *ip, struct verdict v, const struct backend_account *a)
{
	const struct authd *d = s->d;
	unsigned window = (unsigned)d->failure_window_s;
	const char *ipstr = buf_cstr((struct buf *)ip);
	if (strcmp(v.status, "OK") == 0) {
		failures_clear("user", s->fkey.data, s->fkey.len);
		protocol_format_account(&s->out, "OK", a);
		add_ticket(s, service, a);
		log_info("auth ok service=%s user=%s ip=%s", service, user, ipstr);
		return;
	}
	if (strcmp(v.status, "NO") == 0 && strcmp(v.reason, "ratelimit") != 0) {
		failures_add("user", s->fkey.data, s->fkey.len, window);
		if (!buf_eq_str(ip, "-"))
			failures_add("ip", ip->data, ip->len, window);
	}
	log_info("auth fail service=%s user=%s ip=%s reason=%s", service, user, ipstr, v.reason);
	if (strcmp(v.status, "NO") == 0) {
		sleep_ms(d->fail_delay_ms);
		protocol_format_status(&s->out, "NO", strcmp(v.reason, "disabled") == 0
			? "service disabled for this account" : "authentication failed");
	} else {
		protocol_format_status(&s->out, "TEMPFAIL", "account database unavailable");
	}
}

void session_auth(struct session *s, struct request *r)
{
	struct backend_account a;
	memset(&a, 0, sizeof a);
	size_t which;
	struct verdict v = authenticate(s, r, &a, &which);
	session_auth_reply(s, buf_cstr(&r->service), buf_cstr(&r->user), &r->ip, v, &a);
	backend_account_free(&a);
}

/* The new password's secrets for every mechanism; 0, or -1 (reason in *why). */
static int make_secrets(const struct buf *pw, struct buf *hash, struct buf *scram, struct buf *cram,
			const char **why)
{
	struct scram_keys k;
	if ((*why = passwd_check_input(pw->data, pw->len, PASSWD_DEFAULT)) != NULL)
		return -1;
	*why = "cannot hash the new password";
	if (passwd_hash(pw->data, pw->len, PASSWD_DEFAULT, hash) < 0 ||
	    scram_keys_make(pw->data, pw->len, SCRAM_ITER_DEFAULT, &k) < 0 ||
	    crammd5_secret_make(pw->data, pw->len, cram) < 0)
		return -1;
	scram_keys_format(&k, scram);
	explicit_bzero(&k, sizeof k);
	return 0;
}

static void wipe_buf(struct buf *b)
{
	if (b->data)
		explicit_bzero(b->data, b->cap);
	buf_free(b);
}

/* PASSWD: the old password must authenticate like an AUTH; then the backend
 * that holds the account stores the new secrets. */
static void do_passwd(struct session *s, struct request *r)
{
	const struct authd *d = s->d;
	struct backend_account a;
	struct buf err = BUF_INIT, hash = BUF_INIT, scram = BUF_INIT, cram = BUF_INIT;
	const char *svc = buf_cstr(&r->service), *user = buf_cstr(&r->user), *why;
	size_t which = 0;
	memset(&a, 0, sizeof a);
	buf_set_str(&r->ip, "-");
	struct verdict v = authenticate(s, r, &a, &which);
	if (strcmp(v.status, "OK") != 0) {
		session_auth_reply(s, svc, user, &r->ip, v, &a);
	} else if (d->ops[which]->passwd == NULL) {
		protocol_format_status(&s->out, "NO", "this account's backend cannot change passwords");
	} else if (make_secrets(&r->newpass, &hash, &scram, &cram, &why) < 0) {
		protocol_format_status(&s->out, "NO", why);
	} else {
		struct backend_secrets sec = { buf_cstr(&hash), buf_cstr(&scram), buf_cstr(&cram),
					       buf_cstr(&r->pass), r->pass.len };
		int rc = d->ops[which]->passwd(d->be[which], svc, &a, &sec, &err);
		if (rc < 0)
			log_error("backend %s: passwd: %s", d->ops[which]->name, buf_cstr(&err));
		else
			log_info("passwd %s service=%s user=%s", rc ? "ok" : "notstored", svc, user);
		if (rc > 0)
			protocol_format_account(&s->out, "OK", &a);
		else
			protocol_format_status(&s->out, rc < 0 ? "TEMPFAIL" : "NO", rc < 0
				? "account database unavailable" : "the password was not changed");
	}
	backend_account_free(&a);
	buf_free(&err);
	wipe_buf(&hash);
	wipe_buf(&scram);
	wipe_buf(&cram);
}

struct enum_ctx {
	struct session *s;
	unsigned long count;
};

static int enum_one(void *ctx, const struct backend_account *a)
{
	struct enum_ctx *e = ctx;
	protocol_format_account(&e->s->out, "ACCOUNT", a);
	e->count++;
	if (e->s->out.len > 64 * 1024) {
		io_write(e->s->io, e->s->out.data, e->s->out.len);
		buf_reset(&e->s->out);
		if (io_flush(e->s->io) != IO_OK)
			return 1;
	}
	return 0;
}

static void do_enum(struct session *s)
{
	if (s->peer != 0 && s->peer != s->d->self_uid) {
		protocol_format_status(&s->out, "NO", "ENUM is for root only");
		return;
	}
	struct enum_ctx e = { s, 0 };
	struct buf err = BUF_INIT;
	for (size_t i = 0; i < s->d->nbackends; i++) {
		if (s->d->ops[i]->enumerate == NULL)
			continue;
		if (s->d->ops[i]->enumerate(s->d->be[i], enum_one, &e, &err) < 0) {
			log_error("backend %s: %s", s->d->ops[i]->name, buf_cstr(&err));
			protocol_format_status(&s->out, "TEMPFAIL", "account database unavailable");
			buf_free(&err);
			return;
		}
	}
	buf_printf(&s->out, "OK count=%lu\n", e.count);
	buf_free(&err);
}

/* One request line; 0 to go on, -1 to close the connection. */
static int handle(struct session *s, const struct buf *line)
{
	struct request r;
	const char *why = "malformed request";
	memset(&r, 0, sizeof r);
	int rc = 0;
	if (protocol_parse(line->data ? line->data : "", line->len, &r, &why) < 0) {
		log_warn("bad request from uid %lu: %s", (unsigned long)s->peer, why);
		protocol_format_status(&s->out, "BAD", why);
		rc = -1;
	} else if (r.type != REQ_STEP && r.type != REQ_SASL && s->x) {
		exchange_end(s); /* another request abandons the exchange */
	}
	if (rc < 0) {
		/* answered BAD above */
	} else if (r.type == REQ_LOOKUP) {
		do_lookup(s, &r);
	} else if (r.type == REQ_AUTH) {
		session_auth(s, &r);
	} else if (r.type == REQ_MECHS) {
		exchange_mechs(s);
	} else if (r.type == REQ_SASL) {
		exchange_start(s, &r);
	} else if (r.type == REQ_STEP) {
		exchange_step(s, &r);
	} else if (r.type == REQ_ENUM) {
		do_enum(s);
	} else {
		do_passwd(s, &r);
	}
	request_free(&r);
	return rc;
}

void session_serve(const struct authd *d, int fd, uid_t peer_uid)
{
	struct session s = { d, io_new(fd, fd), peer_uid, BUF_INIT, BUF_INIT, NULL };
	struct buf line = BUF_INIT;
	if (s.io == NULL)
		return;
	io_set_deadline(s.io, (int64_t)d->timeout_s * 1000);
	io_set_max_line(s.io, AUTHCLIENT_MAX_LINE);
	for (;;) {
		enum io_status st = io_read_line(s.io, &line);
		int stop = 0;
		if (st == IO_TOOLONG) {
			log_warn("request too long from uid %lu", (unsigned long)peer_uid);
			protocol_format_status(&s.out, "BAD", "request too long");
			stop = 1;
		} else if (st != IO_OK) {
			if (st == IO_TIMEOUT)
				log_info("connection from uid %lu timed out", (unsigned long)peer_uid);
			break;
		} else {
			stop = handle(&s, &line) < 0;
		}
		io_write(s.io, s.out.data, s.out.len);
		if (line.data)
			explicit_bzero(line.data, line.cap);
		buf_reset(&s.out);
		if (io_flush(s.io) != IO_OK || stop)
			break;
	}
	if (line.data)
		explicit_bzero(line.data, line.cap);
	buf_free(&line);
	buf_free(&s.out);
	buf_free(&s.fkey);
	exchange_end(&s);
	io_free(s.io);
}
