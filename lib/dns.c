/* dns: MX and address lookups over libunbound, bounded by a deadline.
 *
 * Trusts nothing in answers: names are decoded from wire form by our own
 * bounded decoder and must be host names; counts are capped. Trusts its
 * configuration (dns.conf) as the administrator's. See dns.h. */
#include "dns.h"

#include "alloc.h"
#include "buf.h"
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unbound.h>

#define DNS_TYPE_A 1
#define DNS_TYPE_MX 15
#define DNS_TYPE_AAAA 28
#define DNS_CLASS_IN 1
#define DNS_RCODE_NXDOMAIN 3

struct dns {
	struct ub_ctx *ctx;
	int timeout_ms;
};

/* One outstanding query and what its callback delivered. */
struct dns_q {
	int type;
	int id;
	int done;
	int err;
	struct ub_result *res;
};

const char *dns_status_str(enum dns_status s)
{
	switch (s) {
	case DNS_OK: return "ok";
	case DNS_NXDOMAIN: return "nxdomain";
	case DNS_NODATA: return "nodata";
	case DNS_NULLMX: return "null MX";
	case DNS_TEMPFAIL: return "temporary failure";
	case DNS_BADNAME: return "invalid name";
	}
	return "unknown";
}

/* ---- options ---- */

void dns_options_init(struct dns_options *o)
{
	memset(o, 0, sizeof(*o));
	o->resolv_conf = xstrdup("/etc/resolv.conf");
	o->timeout_ms = 30 * 1000;
}

void dns_options_free(struct dns_options *o)
{
	for (size_t i = 0; i < o->nforwarders; i++)
		free(o->forwarders[i]);
	free(o->resolv_conf);
	free(o->trust_anchor_file);
	memset(o, 0, sizeof(*o));
}

static int dns_port(const char *s, size_t len, unsigned long *port)
{
	if (len == 0 || len > 5)
		return -1;
	unsigned long v = 0;
	for (size_t i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (unsigned long)(s[i] - '0');
	}
	if (v == 0 || v > 65535)
		return -1;
	*port = v;
	return 0;
}

int dns_parse_server(const char *s, size_t len, struct buf *out, struct buf *err)
{
	const char *host = s, *port = NULL;
	size_t hlen = len, plen = 0;
	const char *at = memchr(s, '@', len);
	const char *colon = memchr(s, ':', len);
	if (len > 0 && s[0] == '[') {
		const char *close = memchr(s, ']', len);
		if (!close)
			goto bad;
		host = s + 1;
		hlen = (size_t)(close - host);
		size_t rest = len - (size_t)(close + 1 - s);
		if (rest > 0) {
			if (close[1] != ':' && close[1] != '@')
				goto bad;
			port = close + 2;
			plen = rest - 1;
		}
	} else if (at) {
		hlen = (size_t)(at - s);
		port = at + 1;
		plen = len - hlen - 1;
	} else if (colon && !memchr(colon + 1, ':', len - (size_t)(colon + 1 - s))) {
		hlen = (size_t)(colon - s);  /* exactly one colon: IPv4 with a port */
		port = colon + 1;
		plen = len - hlen - 1;
	}
	char addr[INET6_ADDRSTRLEN];
	unsigned char bin[16];
	unsigned long portnum = 53;
	if (hlen == 0 || hlen >= sizeof(addr) || memchr(s, '\0', len))
		goto bad;
	memcpy(addr, host, hlen);
	addr[hlen] = '\0';
	if (inet_pton(AF_INET, addr, bin) != 1 && inet_pton(AF_INET6, addr, bin) != 1)
		goto bad;
	if (port && dns_port(port, plen, &portnum) < 0)
		goto bad;
	buf_reset(out);
	buf_printf(out, "%s@%lu", addr, portnum);
	return 0;
bad:
	buf_error(err, "bad DNS server address: \"%.*s\"", (int)(len > 80 ? 80 : len), s);
	return -1;
}

int dns_options_add_forwarders(struct dns_options *o, const char *v, struct buf *err)
{
	struct buf one = BUF_INIT;
	const char *p = v;
	int rc = 0;
	while (*p && rc == 0) {
		size_t skip = strspn(p, " \t,");
		p += skip;
		size_t n = strcspn(p, " \t,");
		if (n == 0)
			break;
		if (o->nforwarders == DNS_MAX_FORWARDERS) {
			buf_error(err, "more than %d forwarders", DNS_MAX_FORWARDERS);
			rc = -1;
		} else if (dns_parse_server(p, n, &one, err) < 0) {
			rc = -1;
		} else {
			o->forwarders[o->nforwarders++] = buf_detach(&one);
		}
		p += n;
	}
	buf_free(&one);
	return rc;
}

static const char *const dns_known[] = {
	"forwarders", "resolv_conf", "trust_anchor_file", "timeout", NULL,
};

static int dns_options_apply(struct dns_options *o, const struct config_env *env,
			     struct buf *err)
{
	const char *v;
	uint64_t t;
	if (config_env_check(env, dns_known, err) < 0)
		return -1;
	if (config_env_string(env, "forwarders", "", &v) > 0 &&
	    dns_options_add_forwarders(o, v, err) < 0) {
		if (err) {
			struct buf msg = BUF_INIT;
			buf_printf(&msg, "%s:%lu: forwarders: %s", env->path,
				   config_env_find(env, "forwarders")->line, buf_cstr(err));
			buf_set(err, msg.data, msg.len);
			buf_free(&msg);
		}
		return -1;
	}
	if (config_env_string(env, "resolv_conf", NULL, &v) > 0) {
		free(o->resolv_conf);
		o->resolv_conf = (*v && strcmp(v, "none") != 0) ? xstrdup(v) : NULL;
	}
	if (config_env_string(env, "trust_anchor_file", NULL, &v) > 0 && *v)
		o->trust_anchor_file = xstrdup(v);
	if (config_env_u64(env, "timeout", 30, 1, 3600, CONFIG_UNIT_DURATION, &t, err) < 0)
		return -1;
	o->timeout_ms = (int)t * 1000;
	return 0;
}

int dns_options_read(const char *name, struct dns_options *o, struct buf *err)
{
	struct config_env env = CONFIG_ENV_INIT;
	dns_options_init(o);
	int rc = config_read_env(name, &env, err);
	if (rc >= 0 && dns_options_apply(o, &env, err) < 0)
		rc = -1;
	config_env_free(&env);
	return rc;
}

/* ---- context ---- */

static int dns_ub_check(int r, const char *what, const char *arg, struct buf *err)
{
	if (r == 0)
		return 0;
	buf_error(err, "libunbound: %s %s: %s", what, arg ? arg : "", ub_strerror(r));
	return -1;
}

static int dns_setup(struct dns *d, const struct dns_options *o, struct buf *err)
{
	if (dns_ub_check(ub_ctx_async(d->ctx, 1), "async", NULL, err) < 0 ||
	    dns_ub_check(ub_ctx_set_option(d->ctx, "local-zone:", "test. transparent"),
			 "local-zone", "test.", err) < 0 ||
	    dns_ub_check(ub_ctx_set_option(d->ctx, "do-not-query-localhost:", "no"),
			 "do-not-query-localhost", NULL, err) < 0)
		return -1;
	for (size_t i = 0; i < o->nforwarders; i++)
		if (dns_ub_check(ub_ctx_set_fwd(d->ctx, o->forwarders[i]), "forwarder",
				 o->forwarders[i], err) < 0)
			return -1;
	if (o->nforwarders == 0 && o->resolv_conf &&
	    dns_ub_check(ub_ctx_resolvconf(d->ctx, o->resolv_conf), "resolv.conf",
			 o->resolv_conf, err) < 0)
		return -1;
	if (o->trust_anchor_file &&
	    dns_ub_check(ub_ctx_add_ta_file(d->ctx, o->trust_anchor_file), "trust anchor",
			 o->trust_anchor_file, err) < 0)
		return -1;
	return 0;
}

struct dns *dns_new(const struct dns_options *o, struct buf *err)
{
	struct dns *d = xcalloc(1, sizeof(*d));
	d->ctx = ub_ctx_create();
	if (!d->ctx) {
		buf_error(err, "libunbound: cannot create a context");
		free(d);
		return NULL;
	}
	d->timeout_ms = o->timeout_ms > 0 ? o->timeout_ms : 30 * 1000;
	if (dns_setup(d, o, err) < 0) {
		dns_free(d);
		return NULL;
	}
	return d;
}

void dns_free(struct dns *d)
{
	if (!d)
		return;
	ub_ctx_delete(d->ctx);
	free(d);
}

/* ---- running queries ---- */

static void dns_cb(void *arg, int err, struct ub_result *res)
{
	struct dns_q *q = arg;
	q->done = 1;
	q->err = err;
	q->res = res;
}

static int64_t dns_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int dns_all_done(const struct dns_q *qs, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!qs[i].done)
			return 0;
	return 1;
}

static void dns_cancel(struct dns *d, struct dns_q *qs, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!qs[i].done && qs[i].id)
			ub_cancel(d->ctx, qs[i].id);
}

/* Start every query of qs for name and wait for all of them until the
 * deadline. 0, or -1 with err (queries still open are cancelled; those done
 * keep their results for the caller to free). */
static int dns_run(struct dns *d, const char *name, struct dns_q *qs, size_t n,
		   struct buf *err)
{
	for (size_t i = 0; i < n; i++) {
		int r = ub_resolve_async(d->ctx, name, qs[i].type, DNS_CLASS_IN, &qs[i],
					 dns_cb, &qs[i].id);
		if (r != 0) {
			dns_cancel(d, qs, i);
			buf_error(err, "libunbound: %s", ub_strerror(r));
			return -1;
		}
	}
	int64_t deadline = dns_now_ms() + d->timeout_ms;
	while (!dns_all_done(qs, n)) {
		int64_t left = deadline - dns_now_ms();
		if (left <= 0) {
			dns_cancel(d, qs, n);
			buf_error(err, "DNS lookup of %s timed out after %d ms", name,
				  d->timeout_ms);
			return -1;
		}
		struct pollfd pfd = { .fd = ub_fd(d->ctx), .events = POLLIN };
		int pr = poll(&pfd, 1, (int)left);
		if (pr < 0 && errno != EINTR) {
			dns_cancel(d, qs, n);
			buf_error(err, "poll: %s", strerror(errno));
			return -1;
		}
		if (pr > 0 && ub_process(d->ctx) != 0) {
			dns_cancel(d, qs, n);
			buf_error(err, "libunbound: processing failed");
			return -1;
		}
	}
	return 0;
}

static const char *dns_type_name(int type)
{
	return type == DNS_TYPE_MX ? "MX" : type == DNS_TYPE_A ? "A" : "AAAA";
}

/* The status one finished query stands for. */
static enum dns_status dns_q_status(const struct dns_q *q, const char *name, struct buf *err)
{
	const struct ub_result *r = q->res;
	const char *type = dns_type_name(q->type);
	if (q->err != 0 || !r) {
		buf_error(err, "%s %s: %s", name, type, ub_strerror(q->err));
		return DNS_TEMPFAIL;
	}
	if (r->bogus) {
		buf_error(err, "%s %s: DNSSEC validation failed: %s", name, type,
			  r->why_bogus ? r->why_bogus : "bogus");
		return DNS_TEMPFAIL;
	}
	if (r->nxdomain || r->rcode == DNS_RCODE_NXDOMAIN) {
		buf_error(err, "%s: no such domain (NXDOMAIN)", name);
		return DNS_NXDOMAIN;
	}
	if (r->rcode != 0) {
		buf_error(err, "%s %s: server failure (rcode %d)", name, type, r->rcode);
		return DNS_TEMPFAIL;
	}
	if (!r->havedata) {
		buf_error(err, "%s: no %s records", name, type);
		return DNS_NODATA;
	}
	return DNS_OK;
}

static void dns_q_free(struct dns_q *qs, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (qs[i].res)
			ub_resolve_free(qs[i].res);
}

/* ---- names ---- */

static int dns_label_char(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '-' || c == '_';
}

int dns_name_check(const char *s, size_t len)
{
	if (len == 0 || len > DNS_NAME_MAX)
		return -1;
	size_t label = 0;
	for (size_t i = 0; i < len; i++) {
		if (s[i] == '.') {
			if (label == 0)
				return -1;
			label = 0;
		} else if (!dns_label_char((unsigned char)s[i]) || ++label > 63) {
			return -1;
		}
	}
	return label == 0 ? -1 : 0;
}

int dns_wire_name(const unsigned char *p, size_t len, struct buf *out, size_t *used)
{
	size_t off = 0;
	buf_reset(out);
	for (;;) {
		if (off >= len)
			return -1;
		size_t n = p[off++];
		if (n == 0)
			break;
		if (n > 63 || n > len - off)
			return -1;  /* also rejects compression pointers (0xc0..) */
		if (out->len > 0)
			buf_append_char(out, '.');
		for (size_t i = 0; i < n; i++) {
			unsigned char c = p[off + i];
			if (!dns_label_char(c))
				return -1;
			buf_append_char(out, (char)(c >= 'A' && c <= 'Z' ? c + 32 : c));
		}
		off += n;
		if (out->len > DNS_NAME_MAX)
			return -1;
	}
	*used = off;
	return 0;
}

static char *dns_canon(const struct ub_result *r)
{
	if (!r || !r->canonname)
		return NULL;
	size_t n = strlen(r->canonname);
	if (n > 0 && r->canonname[n - 1] == '.')
		n--;
	if (dns_name_check(r->canonname, n) < 0)
		return NULL;
	char *s = xmemdup(r->canonname, n);
	for (char *c = s; *c; c++)
		if (*c >= 'A' && *c <= 'Z')
			*c = (char)(*c + 32);
	return s;
}

/* ---- addresses ---- */

void dns_addrs_free(struct dns_addrs *a)
{
	free(a->items);
	free(a->canon);
	memset(a, 0, sizeof(*a));
}

static void dns_addrs_take(struct dns_addrs *out, const struct ub_result *r, int family)
{
	size_t want = family == AF_INET ? 4 : 16, kept = 0;
	for (size_t i = 0; r->data[i] && kept < DNS_MAX_ADDRS; i++) {
		if (r->len[i] < 0 || (size_t)r->len[i] != want)
			continue;
		struct dns_addr *a = &out->items[out->count++];
		a->family = family;
		memcpy(a->addr, r->data[i], want);
		kept++;
	}
}

/* Combine the per-family statuses: any data wins, then temporary failure,
 * then NXDOMAIN, then NODATA. */
static enum dns_status dns_addr_merge(enum dns_status a, enum dns_status b)
{
	static const enum dns_status order[] = { DNS_OK, DNS_TEMPFAIL, DNS_NXDOMAIN, DNS_NODATA };
	for (size_t i = 0; i < sizeof(order) / sizeof(order[0]); i++)
		if (a == order[i] || b == order[i])
			return order[i];
	return DNS_TEMPFAIL;
}

static enum dns_status dns_addrs_collect(struct dns_q *qs, size_t n, const char *host,
					 struct dns_addrs *out, struct buf *err)
{
	enum dns_status st = DNS_NODATA;
	int secure = 1;
	struct buf why = BUF_INIT, one = BUF_INIT;
	out->items = xcalloc(2 * DNS_MAX_ADDRS, sizeof(*out->items));
	for (size_t i = 0; i < n; i++) {
		enum dns_status s = dns_q_status(&qs[i], host, &one);
		if (s == DNS_OK) {
			dns_addrs_take(out, qs[i].res, qs[i].type == DNS_TYPE_A ? AF_INET : AF_INET6);
			secure &= qs[i].res->secure != 0;
			if (!out->canon)
				out->canon = dns_canon(qs[i].res);
		} else if (why.len == 0 || s == DNS_TEMPFAIL) {
			buf_set(&why, one.data, one.len);
		}
		st = i == 0 ? s : dns_addr_merge(st, s);
	}
	if (st == DNS_OK && out->count == 0) {
		buf_set_str(&why, "answer held no usable address");
		st = DNS_TEMPFAIL;
	}
	out->secure = st == DNS_OK && secure;
	if (st != DNS_OK)
		buf_error(err, "%s", buf_cstr(&why));
	buf_free(&why);
	buf_free(&one);
	return st;
}

enum dns_status dns_lookup_addrs(struct dns *d, const char *host, unsigned want,
				 struct dns_addrs *out, struct buf *err)
{
	memset(out, 0, sizeof(*out));
	if (dns_name_check(host, strlen(host)) < 0) {
		buf_error(err, "invalid host name: \"%.80s\"", host);
		return DNS_BADNAME;
	}
	struct dns_q qs[2];
	size_t n = 0;
	memset(qs, 0, sizeof(qs));
	if (want & DNS_WANT_INET6)
		qs[n++].type = DNS_TYPE_AAAA;
	if (want & DNS_WANT_INET)
		qs[n++].type = DNS_TYPE_A;
	if (n == 0) {
		buf_error(err, "no address family wanted");
		return DNS_BADNAME;
	}
	enum dns_status st = DNS_TEMPFAIL;
	if (dns_run(d, host, qs, n, err) == 0)
		st = dns_addrs_collect(qs, n, host, out, err);
	dns_q_free(qs, n);
	return st;
}

/* ---- MX ---- */

void dns_mxlist_free(struct dns_mxlist *l)
{
	for (size_t i = 0; i < l->count; i++)
		free(l->items[i].host);
	free(l->items);
	memset(l, 0, sizeof(*l));
}

static int dns_mx_cmp(const void *a, const void *b)
{
	const struct dns_mx *x = a, *y = b;
	if (x->pref != y->pref)
		return x->pref < y->pref ? -1 : 1;
	return strcmp(x->host, y->host);
}

void dns_mx_sort(struct dns_mx *mx, size_t n, uint32_t (*rnd)(uint32_t n))
{
	if (n < 2)
		return;
	if (!rnd)
		rnd = arc4random_uniform;
	qsort(mx, n, sizeof(*mx), dns_mx_cmp);
	for (size_t start = 0; start < n;) {
		size_t end = start + 1;
		while (end < n && mx[end].pref == mx[start].pref)
			end++;
		for (size_t i = end - 1; i > start; i--) {  /* Fisher-Yates */
			size_t j = start + rnd((uint32_t)(i - start + 1));
			struct dns_mx t = mx[i];
			mx[i] = mx[j];
			mx[j] = t;
		}
		start = end;
	}
}

/* Decode the MX rdata of r into out; *nulls counts "." targets. */
static void dns_mx_take(struct dns_mxlist *out, const struct ub_result *r, size_t *nulls)
{
	struct buf host = BUF_INIT;
	size_t total = 0;
	for (size_t i = 0; r->data[i]; i++)
		total++;
	if (total > DNS_MAX_MX)
		total = DNS_MAX_MX;
	out->items = xcalloc(total ? total : 1, sizeof(*out->items));
	for (size_t i = 0; i < total; i++) {
		const unsigned char *p = (const unsigned char *)r->data[i];
		size_t used, len = r->len[i] > 0 ? (size_t)r->len[i] : 0;
		if (len < 3 || dns_wire_name(p + 2, len - 2, &host, &used) < 0 ||
		    used != len - 2)
			continue;
		if (host.len == 0) {
			(*nulls)++;
			continue;
		}
		struct dns_mx *m = &out->items[out->count++];
		m->pref = (unsigned)p[0] << 8 | p[1];
		m->host = buf_detach(&host);
	}
	buf_free(&host);
}

static enum dns_status dns_mx_result(struct dns_q *q, const char *domain,
				     struct dns_mxlist *out, struct buf *err)
{
	enum dns_status st = dns_q_status(q, domain, err);
	if (st == DNS_NODATA) {
		out->items = xcalloc(1, sizeof(*out->items));
		out->items[0].host = xstrdup(domain);
		out->count = 1;
		out->implicit = 1;
		out->secure = q->res->secure != 0;
		return DNS_OK;
	}
	if (st != DNS_OK)
		return st;
	size_t nulls = 0;
	dns_mx_take(out, q->res, &nulls);
	out->secure = q->res->secure != 0;
	if (out->count == 0 && nulls > 0) {
		buf_error(err, "%s: null MX, the domain accepts no mail (RFC 7505)", domain);
		return DNS_NULLMX;
	}
	if (out->count == 0) {
		buf_error(err, "%s: MX records hold no valid host name", domain);
		return DNS_TEMPFAIL;
	}
	dns_mx_sort(out->items, out->count, NULL);
	return DNS_OK;
}

enum dns_status dns_lookup_mx(struct dns *d, const char *domain, struct dns_mxlist *out,
			      struct buf *err)
{
	memset(out, 0, sizeof(*out));
	if (dns_name_check(domain, strlen(domain)) < 0) {
		buf_error(err, "invalid domain: \"%.80s\"", domain);
		return DNS_BADNAME;
	}
	struct dns_q q;
	memset(&q, 0, sizeof(q));
	q.type = DNS_TYPE_MX;
	enum dns_status st = DNS_TEMPFAIL;
	if (dns_run(d, domain, &q, 1, err) == 0)
		st = dns_mx_result(&q, domain, out, err);
	if (st != DNS_OK)
		dns_mxlist_free(out);
	dns_q_free(&q, 1);
	return st;
}
