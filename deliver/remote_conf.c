/* remote: configuration: remote.conf (settings), remote.routes (per-domain
 * smarthosts) and dns.conf (lib/dns). Trusts the files as the
 * administrator's; remote.routes may hold passwords, so it should be
 * readable by the remote user only. */
#include "remote.h"

#include "alloc.h"
#include "config.h"
#include "file.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

static const char *const remote_known[] = {
	"helo", "port", "tls", "tls_ca_file", "inet", "connect_timeout", "greeting_timeout",
	"command_timeout", "data_timeout", "data_end_timeout", "auth_plaintext",
	"destination_concurrency", "destination_rate_delay", NULL,
};

static int remote_tls_mode(const char *s, size_t len)
{
	static const char *const names[] = { "none", "may", "encrypt", "verify" };
	for (int i = 0; i < 4; i++)
		if (strlen(names[i]) == len && memcmp(s, names[i], len) == 0)
			return i;
	return -1;
}

static int remote_ms(const struct config_env *env, const char *name, uint64_t def, int *out,
		     struct buf *err)
{
	uint64_t v;
	if (config_env_u64(env, name, def, 1, 24 * 3600, CONFIG_UNIT_DURATION, &v, err) < 0)
		return -1;
	*out = (int)v * 1000;
	return 0;
}

static int remote_settings(struct remote_conf *c, const struct config_env *env, struct buf *err)
{
	const char *v;
	uint64_t port, conc, delay;
	if (config_env_check(env, remote_known, err) < 0 ||
	    config_env_u64(env, "port", 25, 1, 65535, CONFIG_UNIT_NONE, &port, err) < 0 ||
	    config_env_u64(env, "destination_concurrency", 0, 0, REMOTE_MAX_CONCURRENCY,
			   CONFIG_UNIT_NONE, &conc, err) < 0 ||
	    config_env_u64(env, "destination_rate_delay", 0, 0, REMOTE_MAX_RATE_DELAY,
			   CONFIG_UNIT_DURATION, &delay, err) < 0 ||
	    config_env_bool(env, "auth_plaintext", 0, &c->auth_plaintext, err) < 0 ||
	    remote_ms(env, "connect_timeout", 30, &c->connect_timeout_ms, err) < 0 ||
	    remote_ms(env, "greeting_timeout", 300, &c->timeouts.greeting, err) < 0 ||
	    remote_ms(env, "command_timeout", 300, &c->timeouts.command, err) < 0 ||
	    remote_ms(env, "data_timeout", 180, &c->timeouts.data_block, err) < 0 ||
	    remote_ms(env, "data_end_timeout", 600, &c->timeouts.data_term, err) < 0)
		return -1;
	c->port = (unsigned)port;
	c->concurrency = (int)conc;
	c->rate_delay = (int64_t)delay * 1000;
	c->timeouts.mail = c->timeouts.rcpt = c->timeouts.command;
	c->timeouts.data_init = c->timeouts.data_block < 120000 ? c->timeouts.data_block : 120000;
	config_env_string(env, "tls", "may", &v);
	int t = remote_tls_mode(v, strlen(v));
	config_env_string(env, "inet", "any", &v);
	c->want = strcmp(v, "ipv4") == 0 ? DNS_WANT_INET : strcmp(v, "ipv6") == 0 ? DNS_WANT_INET6 :
		  strcmp(v, "any") == 0 ? DNS_WANT_ANY : 0;
	if (t < 0 || c->want == 0) {
		buf_error(err, "%s: tls must be none, may, encrypt or verify; inet any, ipv4 "
			  "or ipv6", env->path);
		return -1;
	}
	c->tls = (enum smtpc_tls)t;
	if (config_env_string(env, "tls_ca_file", NULL, &v) > 0 && *v)
		c->tls_ca_file = xstrdup(v);
	if (config_env_string(env, "helo", NULL, &v) > 0 && *v)
		buf_set_str(&c->helo, v);
	else if (config_me(&c->helo, err) < 0)
		return -1;
	return 0;
}

void remote_route_free(struct remote_route *r)
{
	free(r->domain);
	free(r->host);
	free(r->user);
	if (r->pass)
		memset(r->pass, 0, strlen(r->pass));
	free(r->pass);
	memset(r, 0, sizeof(*r));
}

static char *remote_lower(const char *s, size_t n)
{
	char *d = xmemdup(s, n);
	for (char *p = d; *p; p++)
		if (*p >= 'A' && *p <= 'Z')
			*p = (char)(*p + 32);
	return d;
}

/* "host", "host:port", "[addr]" or "[addr]:port". */
static int remote_route_host(struct remote_route *r, const char *s, size_t n)
{
	const char *port = NULL;
	size_t hlen = n;
	if (n > 2 && s[0] == '[') {
		const char *close = memchr(s, ']', n);
		if (!close)
			return -1;
		r->literal = 1;
		r->host = xmemdup(s + 1, (size_t)(close - s - 1));
		unsigned char bin[16];
		if (inet_pton(AF_INET, r->host, bin) != 1 && inet_pton(AF_INET6, r->host, bin) != 1)
			return -1;
		if (close + 1 < s + n) {
			if (close[1] != ':')
				return -1;
			port = close + 2;
		}
	} else {
		const char *colon = memchr(s, ':', n);
		if (colon) {
			hlen = (size_t)(colon - s);
			port = colon + 1;
		}
		r->host = remote_lower(s, hlen);
		if (dns_name_check(r->host, hlen) < 0)
			return -1;
	}
	if (port) {
		uint64_t p;
		if (config_parse_u64(port, (size_t)(s + n - port), CONFIG_UNIT_NONE, 1, 65535, &p,
				     NULL) < 0)
			return -1;
		r->port = (unsigned)p;
	}
	return 0;
}

static int remote_route_option(struct remote_route *r, const char *s, size_t n)
{
	if (n > 4 && memcmp(s, "tls=", 4) == 0) {
		r->tls = remote_tls_mode(s + 4, n - 4);
		return r->tls < 0 ? -1 : 0;
	}
	uint64_t v;
	if (n > 12 && memcmp(s, "concurrency=", 12) == 0 && r->concurrency < 0) {
		if (config_parse_u64(s + 12, n - 12, CONFIG_UNIT_NONE, 0, REMOTE_MAX_CONCURRENCY,
				     &v, NULL) < 0)
			return -1;
		r->concurrency = (int)v;
		return 0;
	}
	if (n > 11 && memcmp(s, "rate_delay=", 11) == 0 && r->rate_delay < 0) {
		if (config_parse_u64(s + 11, n - 11, CONFIG_UNIT_DURATION, 0, REMOTE_MAX_RATE_DELAY,
				     &v, NULL) < 0)
			return -1;
		r->rate_delay = (int64_t)v * 1000;
		return 0;
	}
	if (n > 5 && memcmp(s, "auth=", 5) == 0 && !r->user) {
		const char *colon = memchr(s + 5, ':', n - 5);
		if (!colon || colon == s + 5)
			return -1;
		r->user = xmemdup(s + 5, (size_t)(colon - s - 5));
		r->pass = xmemdup(colon + 1, (size_t)(s + n - colon - 1));
		return 0;
	}
	return -1;
}

int remote_route_parse(const char *line, size_t len, struct remote_route *r, struct buf *err)
{
	memset(r, 0, sizeof(*r));
	r->tls = r->concurrency = -1;
	r->rate_delay = -1;
	size_t field = 0, i = 0;
	int rc = 0;
	while (i < len && rc == 0) {
		while (i < len && (line[i] == ' ' || line[i] == '\t'))
			i++;
		size_t start = i;
		while (i < len && line[i] != ' ' && line[i] != '\t')
			i++;
		if (i == start)
			break;
		int opt = memchr(line + start, '=', i - start) != NULL;
		if (field == 0)
			r->domain = remote_lower(line + start, i - start);
		else if (field == 1 && !opt)
			rc = remote_route_host(r, line + start, i - start);
		else
			rc = remote_route_option(r, line + start, i - start);
		field++;
	}
	/* without a host, only the limits and tls apply (to the MX hosts) */
	if (rc == 0 && !r->host && r->user)
		rc = -1;
	if (rc < 0 || field < 2 || memchr(line, '\0', len)) {
		buf_error(err, "bad route (want: DOMAIN [HOST[:PORT]] [tls=MODE] [auth=USER:PASS] "
			  "[concurrency=N] [rate_delay=DURATION])");
		remote_route_free(r);
		return -1;
	}
	return 0;
}

static int remote_routes_load(struct remote_conf *c, struct buf *err)
{
	struct buf path = BUF_INIT, text = BUF_INIT, one = BUF_INIT;
	config_path(&path, "remote.routes");
	int rc = 0;
	if (file_read(buf_cstr(&path), &text, CONFIG_MAX_FILE) < 0) {
		if (errno != ENOENT) {
			buf_error(err, "%s: %s", buf_cstr(&path), strerror(errno));
			rc = -1;
		}
		goto out;
	}
	struct config_lines s;
	const char *line;
	size_t len;
	config_lines_init(&s, buf_cstr(&path), text.data, text.len, CONFIG_MAX_LINE);
	while (rc == 0 && (rc = config_lines_next(&s, &line, &len, err)) > 0) {
		if (c->nroutes == REMOTE_MAX_ROUTES) {
			buf_error(err, "%s: more than %d routes", buf_cstr(&path), REMOTE_MAX_ROUTES);
			rc = -1;
			break;
		}
		c->routes = xreallocarray(c->routes, c->nroutes + 1, sizeof(*c->routes));
		if (remote_route_parse(line, len, &c->routes[c->nroutes], &one) < 0) {
			buf_error(err, "%s:%lu: %s", buf_cstr(&path), s.lineno, buf_cstr(&one));
			rc = -1;
		} else {
			c->nroutes++;
			rc = 0;
		}
	}
out:
	buf_free(&path);
	buf_free(&text);
	buf_free(&one);
	return rc < 0 ? -1 : 0;
}

const struct remote_route *remote_route_find(const struct remote_conf *c, const char *domain)
{
	const struct remote_route *best = NULL, *star = NULL;
	size_t dlen = strlen(domain), best_len = 0;
	for (size_t i = 0; i < c->nroutes; i++) {
		const char *d = c->routes[i].domain;
		size_t n = strlen(d);
		if (strcmp(d, domain) == 0)
			return &c->routes[i];
		if (strcmp(d, "*") == 0 && !star)
			star = &c->routes[i];
		if (d[0] == '.' && n < dlen && strcmp(domain + dlen - n, d) == 0 && n > best_len) {
			best = &c->routes[i];
			best_len = n;
		}
	}
	return best ? best : star;
}

void remote_limits(const struct remote_conf *c, const char *domain, int *concurrency,
		   int64_t *rate_delay)
{
	const struct remote_route *r = remote_route_find(c, domain);
	*concurrency = r && r->concurrency >= 0 ? r->concurrency : c->concurrency;
	*rate_delay = r && r->rate_delay >= 0 ? r->rate_delay : c->rate_delay;
}

int remote_conf_load(struct remote_conf *c, struct buf *err)
{
	struct config_env env = CONFIG_ENV_INIT;
	memset(c, 0, sizeof(*c));
	smtpc_timeouts_default(&c->timeouts);
	dns_options_init(&c->dns);
	int rc = config_read_env("remote.conf", &env, err) < 0 ? -1 : remote_settings(c, &env, err);
	config_env_free(&env);
	if (rc == 0)
		rc = remote_routes_load(c, err);
	if (rc == 0) {
		dns_options_free(&c->dns);
		rc = dns_options_read("dns.conf", &c->dns, err) < 0 ? -1 : 0;
	}
	return rc;
}

void remote_conf_free(struct remote_conf *c)
{
	for (size_t i = 0; i < c->nroutes; i++)
		remote_route_free(&c->routes[i]);
	free(c->routes);
	free(c->tls_ca_file);
	buf_free(&c->helo);
	dns_options_free(&c->dns);
	memset(c, 0, sizeof(*c));
}
