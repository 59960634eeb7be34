/* remote: one batch of jobs for one domain, in its own process: the
 * destination (a route from remote.routes, else the MX hosts of the domain,
 * RFC 5321 5.1), then each host's addresses in turn until every recipient
 * has a final answer or every address failed. One connection carries every
 * message of the batch (connection reuse); recipients of one message go in
 * one transaction. Trusts the configuration and courierd's jobs; DNS and
 * SMTP answers go through lib/dns and lib/smtpc, which bound them. */
#define _GNU_SOURCE
#include "remote.h"

#include "alloc.h"
#include "dsn.h"
#include "file.h"
#include "log.h"
#include "mime7.h"
#include "smtpdata.h"
#include "tls.h"
#include "utf8.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#define REMOTE_TEXT_MAX 900
#define REMOTE_DOWNGRADE_MAX ((size_t)256 << 20)  /* converted in memory */

struct rmsg {
	struct remote_job *first;
	struct smtpc_msg m;
	size_t *job;          /* indexes into the batch */
	size_t n;
	int ok;               /* the message could be read */
	int fd7;              /* its 7-bit form (lib/mime7), made on first need; -1 */
	uint64_t size7;
	struct buf why7;      /* why there is none, once tried */
};

struct rhost {
	const char *name;
	int literal;
	unsigned port;
	enum smtpc_tls tls;
	const char *user, *pass;
	int implicit;
};

struct rstate {
	const struct remote_conf *c;
	struct remote_job *jobs;
	char *done;           /* per job: answered */
	size_t njobs, open;
	int sock;
	struct rmsg *msgs;
	size_t nmsgs;
	struct buf last_err;
	enum smtpc_tls tls;   /* for MX hosts and literals: remote.conf's or the route's */
	SSL_CTX *ctx_any, *ctx_verify;
	struct dns *dns;
};

/* ---- answers ---- */

/* "ID TAB CODE SP STATUS SP TEXT", one line, bounded. */
static void remote_answer(struct rstate *s, size_t j, int code, const char *enhanced,
			  const char *text)
{
	if (s->done[j])
		return;
	char c[4];
	struct buf status = BUF_INIT, out = BUF_INIT;
	snprintf(c, sizeof(c), "%03d", code);
	if (enhanced && *enhanced)
		buf_set_str(&status, enhanced);
	else
		dsn_status(c, text, &status);
	if (strncmp(text, status.data, status.len) == 0 && text[status.len] == ' ')
		text += status.len + 1;  /* our own reasons start with their status */
	buf_printf(&out, "%s\t%s %s ", s->jobs[j].id, c, buf_cstr(&status));
	for (const char *p = text; *p && out.len < REMOTE_TEXT_MAX; p++)
		buf_append_char(&out, (unsigned char)*p < 0x20 || *p == 0x7f ? ' ' : *p);
	if (send(s->sock, out.data, out.len, MSG_NOSIGNAL) < 0)
		log_warn("job %s: cannot answer courierd: %s", s->jobs[j].id, strerror(errno));
	log_info("id=%s rcpt=<%s> %s", s->jobs[j].qid, s->jobs[j].rcpt,
		 strchr(out.data, '\t') + 1);
	s->done[j] = 1;
	s->open--;
	buf_free(&status);
	buf_free(&out);
}

static void remote_answer_all(struct rstate *s, int code, const char *text)
{
	for (size_t j = 0; j < s->njobs; j++)
		remote_answer(s, j, code, NULL, text);
}

static void remote_answer_rcpt(struct rstate *s, size_t j, const struct smtpc_rcpt *r)
{
	int code = r->code;
	if (r->outcome == SMTPC_OK) {
		code = code >= 200 && code < 300 ? code : 250;
		/* courierd's success DSN: not ours to send, or "relayed" (RFC 3461 5.2.2) */
		const char *notify = s->jobs[j].notify;
		int success = notify && strstr(notify, "SUCCESS") != NULL;
		if (success && (r->dsn_relayed || r->dsn_passed)) {
			struct buf t = BUF_INIT;
			buf_printf(&t, "%s%s", r->dsn_relayed ? DSN_MARK_RELAYED : DSN_MARK_PASSED,
				   buf_cstr((struct buf *)&r->reply));
			remote_answer(s, j, code, r->enhanced, buf_cstr(&t));
			buf_free(&t);
			return;
		}
	} else if (r->outcome == SMTPC_TEMP) {
		code = code >= 400 && code < 500 ? code : 451;
	} else {
		code = code >= 500 && code < 600 ? code : 554;
	}
	remote_answer(s, j, code, r->enhanced, buf_cstr((struct buf *)&r->reply));
}

/* ---- messages ---- */

static int remote_needs_utf8(const char *s)
{
	return !utf8_is_ascii(s, strlen(s));
}

/* The whole message into out, at most REMOTE_DOWNGRADE_MAX bytes. pread:
 * the descriptor's offset is shared with courierd. */
static int remote_read_all(int fd, struct buf *out)
{
	for (uint64_t off = 0;;) {
		char *space = buf_space(out, 65536);
		ssize_t n = pread(fd, space, 65536, (off_t)off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n < 0 ? -1 : 0;
		if ((size_t)n > REMOTE_DOWNGRADE_MAX - out->len) {
			errno = EFBIG;
			return -1;
		}
		buf_commit(out, (size_t)n);
		off += (uint64_t)n;
	}
}

/* Make m's 7-bit form in a memory file (RFC 6152 3), once per message. */
static void remote_make7(struct rmsg *m)
{
	struct buf in = BUF_INIT, out = BUF_INIT;
	struct smtpdata_info info;
	if (remote_read_all(m->m.fd, &in) < 0) {
		buf_error(&m->why7, "5.6.3 the message has 8-bit content and the server does not "
			  "offer 8BITMIME; it is too large to convert to 7 bit (%s)", strerror(errno));
	} else if (mime7_convert(in.data, in.len, &out, &m->why7) == 0) {
		int fd = memfd_create("remote-7bit", MFD_CLOEXEC);
		if (fd < 0 || file_write_all(fd, out.data, out.len) < 0 ||
		    smtpdata_scan(fd, &info) < 0) {
			buf_error(&m->why7, "4.3.0 cannot keep the 7-bit form: %s", strerror(errno));
			if (fd >= 0)
				close(fd);
		} else {
			m->fd7 = fd;
			m->size7 = info.wire_size;
		}
	}
	buf_free(&in);
	buf_free(&out);
}

/* smtpc's downgrade hook (struct smtpc_msg). */
static int remote_downgrade(void *ctx, struct smtpc_msg *m7, struct buf *why)
{
	struct rmsg *m = ctx;
	if (m->fd7 < 0 && m->why7.len == 0)
		remote_make7(m);
	if (m->fd7 < 0) {
		buf_set(why, m->why7.data, m->why7.len);
		return -1;
	}
	m7->fd = m->fd7;
	m7->wire_size = m->size7;
	return 0;
}

static void remote_msgs(struct rstate *s)
{
	s->msgs = xcalloc(s->njobs, sizeof(*s->msgs));
	for (size_t j = 0; j < s->njobs; j++) {
		struct rmsg *m = NULL;
		for (size_t k = 0; k < s->nmsgs && !m; k++)
			if (strcmp(s->msgs[k].first->qid, s->jobs[j].qid) == 0 &&
			    strcmp(s->msgs[k].first->sender, s->jobs[j].sender) == 0)
				m = &s->msgs[k];
		if (!m) {
			m = &s->msgs[s->nmsgs++];
			m->first = &s->jobs[j];
			m->job = xcalloc(s->njobs, sizeof(*m->job));
			struct smtpdata_info info;
			m->ok = smtpdata_scan(s->jobs[j].fd, &info) == 0;
			m->m.sender = s->jobs[j].sender;
			m->m.fd = s->jobs[j].fd;
			m->m.wire_size = info.wire_size;
			m->m.eightbit = info.eightbit;
			m->m.smtputf8 = remote_needs_utf8(s->jobs[j].sender);
			m->m.downgrade = remote_downgrade;
			m->m.downgrade_ctx = m;
			m->m.ret = s->jobs[j].ret;
			m->m.envid = s->jobs[j].envid;
			m->fd7 = -1;
		}
		m->job[m->n++] = j;
		m->m.smtputf8 |= remote_needs_utf8(s->jobs[j].rcpt);
		if (!m->ok)
			remote_answer(s, j, 451, NULL, "4.3.0 cannot read the queued message");
	}
}

/* Send every message with open recipients; 0 when the connection broke. */
static int remote_session(struct rstate *s, struct smtpc *c)
{
	for (size_t k = 0; k < s->nmsgs && s->open > 0; k++) {
		struct rmsg *m = &s->msgs[k];
		struct smtpc_rcpt *r = xcalloc(m->n, sizeof(*r));
		size_t *which = xcalloc(m->n, sizeof(*which)), n = 0;
		for (size_t i = 0; i < m->n; i++)
			if (!s->done[m->job[i]]) {
				which[n] = m->job[i];
				smtpc_rcpt_init(&r[n], s->jobs[m->job[i]].rcpt);
				r[n].notify = s->jobs[m->job[i]].notify;
				r[n++].orcpt = s->jobs[m->job[i]].orcpt;
			}
		enum smtpc_outcome st = n ? smtpc_send(c, &m->m, r, n) : SMTPC_OK;
		for (size_t i = 0; i < n; i++) {
			if (r[i].outcome != SMTPC_NEXT)
				remote_answer_rcpt(s, which[i], &r[i]);
			else
				buf_set(&s->last_err, r[i].reply.data, r[i].reply.len);
			smtpc_rcpt_free(&r[i]);
		}
		free(r);
		free(which);
		if (st != SMTPC_OK)
			return 0;
	}
	return 1;
}

/* ---- connections ---- */

static SSL_CTX *remote_ctx(struct rstate *s, enum smtpc_tls tls)
{
	SSL_CTX **slot = tls == SMTPC_TLS_VERIFY ? &s->ctx_verify : &s->ctx_any;
	if (tls == SMTPC_TLS_NONE || *slot)
		return tls == SMTPC_TLS_NONE ? NULL : *slot;
	struct buf err = BUF_INIT;
	*slot = tls == SMTPC_TLS_VERIFY ?
		tls_client_ctx_new(s->c->tls_ca_file, TLS_VERIFY_PEER, &err) :
		tls_client_ctx_new(NULL, TLS_VERIFY_NONE, &err);
	if (!*slot)
		log_error("TLS client context: %s", buf_cstr(&err));
	buf_free(&err);
	return *slot;
}

static void remote_sockaddr(const struct dns_addr *a, unsigned port,
			    struct sockaddr_storage *ss, socklen_t *len, char *text, size_t tlen)
{
	memset(ss, 0, sizeof(*ss));
	if (a->family == AF_INET) {
		struct sockaddr_in *sin = (struct sockaddr_in *)ss;
		sin->sin_family = AF_INET;
		sin->sin_port = htons((uint16_t)port);
		memcpy(&sin->sin_addr, a->addr, 4);
		*len = sizeof(*sin);
	} else {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons((uint16_t)port);
		memcpy(&sin6->sin6_addr, a->addr, 16);
		*len = sizeof(*sin6);
	}
	inet_ntop(a->family, a->addr, text, (socklen_t)tlen);
}

static void remote_options(struct rstate *s, const struct rhost *h, enum smtpc_tls tls,
			   const char *label, struct smtpc_options *o)
{
	smtpc_options_init(o);
	o->helo = buf_cstr((struct buf *)&s->c->helo);
	o->peer_name = h->name;
	o->label = label;
	o->tls = tls;
	o->tls_ctx = remote_ctx(s, tls);
	o->auth_user = h->user;
	o->auth_pass = h->pass;
	o->auth_plaintext = s->c->auth_plaintext;
	o->timeouts = s->c->timeouts;
}

/* One connection attempt (two when an opportunistic TLS handshake fails:
 * again in plaintext). */
static void remote_try(struct rstate *s, const struct rhost *h, const struct dns_addr *a)
{
	struct sockaddr_storage ss;
	socklen_t sl;
	char ip[INET6_ADDRSTRLEN];
	struct buf label = BUF_INIT, why = BUF_INIT;
	remote_sockaddr(a, h->port, &ss, &sl, ip, sizeof(ip));
	buf_printf(&label, "%s[%s]", h->name, ip);
	enum smtpc_tls tls = h->tls;
	for (int attempt = 0; attempt < 2 && s->open > 0; attempt++) {
		int fd = smtpc_connect((struct sockaddr *)&ss, sl, s->c->connect_timeout_ms, &why);
		if (fd < 0) {
			buf_error(&s->last_err, "%s: %s", buf_cstr(&label), buf_cstr(&why));
			log_info("%s", buf_cstr(&s->last_err));
			break;
		}
		struct smtpc_options o;
		remote_options(s, h, tls, buf_cstr(&label), &o);
		struct smtpc *c = smtpc_new(fd, &o);
		enum smtpc_outcome st = c ? smtpc_open(c, &why) : SMTPC_NEXT;
		if (st == SMTPC_OK && remote_session(s, c))
			smtpc_quit(c);
		else if (st == SMTPC_TEMP)
			remote_answer_all(s, 451, buf_cstr(&why));
		else if (st == SMTPC_NEXT) {
			buf_set(&s->last_err, why.data, why.len);
			log_info("%s", buf_cstr(&why));
		}
		int retry = st == SMTPC_NEXT && c && smtpc_tls_failed(c);
		smtpc_free(c);
		close(fd);
		if (!retry)
			break;
		log_info("%s: %s; trying again without TLS", buf_cstr(&label), buf_cstr(&why));
		tls = SMTPC_TLS_NONE;
	}
	buf_free(&label);
	buf_free(&why);
}

/* Every address of one host. 1 if the host's name does not exist. */
static int remote_host(struct rstate *s, const struct rhost *h)
{
	struct dns_addrs addrs;
	struct buf err = BUF_INIT;
	enum dns_status st = DNS_OK;
	memset(&addrs, 0, sizeof(addrs));
	if (h->literal) {
		addrs.items = xcalloc(1, sizeof(*addrs.items));
		addrs.count = 1;
		addrs.items[0].family = strchr(h->name, ':') ? AF_INET6 : AF_INET;
		inet_pton(addrs.items[0].family, h->name, addrs.items[0].addr);
	} else {
		st = dns_lookup_addrs(s->dns, h->name, s->c->want, &addrs, &err);
	}
	if (st != DNS_OK)
		buf_error(&s->last_err, "%s", buf_cstr(&err));
	for (size_t i = 0; i < addrs.count && i < REMOTE_MAX_ADDRS && s->open > 0; i++)
		remote_try(s, h, &addrs.items[i]);
	dns_addrs_free(&addrs);
	buf_free(&err);
	return st == DNS_NXDOMAIN || st == DNS_NODATA;
}

/* ---- destinations ---- */

static void remote_base_host(const struct rstate *s, struct rhost *h, const char *name)
{
	memset(h, 0, sizeof(*h));
	h->name = name;
	h->port = s->c->port;
	h->tls = s->tls;
}

/* "[192.0.2.1]" or "[IPv6:2001:db8::1]": the address, or NULL. */
static char *remote_literal(const char *domain)
{
	size_t n = strlen(domain);
	if (n < 3 || domain[0] != '[' || domain[n - 1] != ']')
		return NULL;
	const char *a = domain + 1;
	if (strncasecmp(a, "IPv6:", 5) == 0)
		a += 5;
	char *addr = xmemdup(a, (size_t)(domain + n - 1 - a));
	unsigned char bin[16];
	if (inet_pton(strchr(addr, ':') ? AF_INET6 : AF_INET, addr, bin) != 1) {
		free(addr);
		return NULL;
	}
	return addr;
}

static void remote_via_mx(struct rstate *s, const char *domain)
{
	struct dns_mxlist mx;
	struct buf err = BUF_INIT;
	enum dns_status st = dns_lookup_mx(s->dns, domain, &mx, &err);
	struct buf text = BUF_INIT;
	buf_printf(&text, "%s %s", st == DNS_NULLMX ? "5.1.10" : st == DNS_TEMPFAIL ? "4.4.3" :
		   "5.1.2", buf_cstr(&err));
	if (st == DNS_NULLMX)
		remote_answer_all(s, 556, buf_cstr(&text));  /* RFC 7505 3 */
	else if (st == DNS_NXDOMAIN || st == DNS_BADNAME)
		remote_answer_all(s, 550, buf_cstr(&text));
	else if (st != DNS_OK)
		remote_answer_all(s, 451, buf_cstr(&text));
	buf_free(&text);
	for (size_t i = 0; st == DNS_OK && i < mx.count && i < REMOTE_MAX_HOSTS && s->open; i++) {
		struct rhost h;
		remote_base_host(s, &h, mx.items[i].host);
		int gone = remote_host(s, &h);
		if (gone && mx.implicit && s->open) {
			buf_reset(&err);
			buf_printf(&err, "5.1.2 %s has no MX and no address", domain);
			remote_answer_all(s, 550, buf_cstr(&err));
		}
	}
	dns_mxlist_free(&mx);
	buf_free(&err);
}

static void remote_route(struct rstate *s, const char *domain)
{
	const struct remote_route *r = remote_route_find(s->c, domain);
	char *literal = r && r->host ? NULL : remote_literal(domain);
	struct rhost h;
	s->tls = r && r->tls >= 0 ? (enum smtpc_tls)r->tls : s->c->tls;
	if (r && r->host) {
		remote_base_host(s, &h, r->host);
		h.literal = r->literal;
		h.port = r->port ? r->port : s->c->port;
		h.user = r->user;
		h.pass = r->pass;
		remote_host(s, &h);
	} else if (literal) {
		remote_base_host(s, &h, literal);
		h.literal = 1;
		remote_host(s, &h);
	} else if (domain[0] == '[') {
		remote_answer_all(s, 550, "5.1.2 bad address literal");
	} else {
		remote_via_mx(s, domain);
	}
	free(literal);
}

void remote_deliver(const struct remote_conf *c, const char *domain, struct remote_job *jobs,
		    size_t n, int sock)
{
	struct rstate s;
	struct buf err = BUF_INIT;
	memset(&s, 0, sizeof(s));
	s.c = c;
	s.jobs = jobs;
	s.njobs = s.open = n;
	s.done = xcalloc(n ? n : 1, 1);
	s.sock = sock;
	remote_msgs(&s);
	s.dns = dns_new(&c->dns, &err);
	if (!s.dns)
		remote_answer_all(&s, 451, buf_cstr(&err));
	else if (s.open)
		remote_route(&s, domain);
	if (s.open) {
		buf_reset(&err);
		buf_printf(&err, "4.4.1 no host of %s took the message: %s", domain,
			   s.last_err.len ? buf_cstr(&s.last_err) : "no address");
		remote_answer_all(&s, 451, buf_cstr(&err));
	}
	dns_free(s.dns);
	tls_ctx_free(s.ctx_any);
	tls_ctx_free(s.ctx_verify);
	for (size_t k = 0; k < s.nmsgs; k++) {
		free(s.msgs[k].job);
		buf_free(&s.msgs[k].why7);
		if (s.msgs[k].fd7 >= 0)
			close(s.msgs[k].fd7);
	}
	free(s.msgs);
	free(s.done);
	buf_free(&s.last_err);
	buf_free(&err);
}
