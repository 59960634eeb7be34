/* remote: the remote delivery module (remote(8)). Shared declarations. */
#ifndef ESTAFETTE_REMOTE_H
#define ESTAFETTE_REMOTE_H

#include "buf.h"
#include "dns.h"
#include "smtpc.h"

#include <stddef.h>
#include <stdint.h>

#define REMOTE_MAX_ROUTES 1000
#define REMOTE_MAX_HOSTS 10      /* MX hosts tried per attempt */
#define REMOTE_MAX_ADDRS 10      /* addresses tried per host */
#define REMOTE_MAX_CONCURRENCY 1000
#define REMOTE_MAX_RATE_DELAY 3600 /* seconds */

/* A route line of remote.routes: mail for a domain goes to a fixed host. */
struct remote_route {
	char *domain;        /* "example.com", ".example.com" (subdomains) or "*" */
	char *host;          /* host name or IP address (from "[...]"); NULL: the
			      * domain's MX hosts (a line with options only) */
	int literal;         /* host is an IP address */
	unsigned port;       /* 0: the default port */
	int tls;             /* enum smtpc_tls, or -1 for remote.conf's */
	char *user, *pass;   /* AUTH credentials or NULL */
	int concurrency;     /* batches at once for the domain; -1: remote.conf's */
	int64_t rate_delay;  /* ms between batch starts; -1: remote.conf's */
};

struct remote_conf {
	struct buf helo;
	unsigned port;
	enum smtpc_tls tls;
	char *tls_ca_file;      /* NULL: the system store */
	unsigned want;          /* DNS_WANT_* */
	int connect_timeout_ms;
	struct smtpc_timeouts timeouts;
	int auth_plaintext;
	int concurrency;        /* destination_concurrency: 0 unlimited */
	int64_t rate_delay;     /* destination_rate_delay, in ms: 0 none */
	struct remote_route *routes;
	size_t nroutes;
	struct dns_options dns;
};

/* remote_conf.c: read remote.conf, remote.routes and dns.conf. 0 or -1. */
int remote_conf_load(struct remote_conf *c, struct buf *err);
void remote_conf_free(struct remote_conf *c);
/* The route for domain (lowercase): an exact match, else the longest
 * ".suffix" match, else "*"; NULL if none. */
const struct remote_route *remote_route_find(const struct remote_conf *c, const char *domain);
/* The concurrency and rate delay (ms) for a destination domain (lowercase):
 * its route's options, else remote.conf's. */
void remote_limits(const struct remote_conf *c, const char *domain, int *concurrency,
		   int64_t *rate_delay);
/* Parse one routes line; 0 or -1 with err. */
int remote_route_parse(const char *line, size_t len, struct remote_route *r, struct buf *err);
void remote_route_free(struct remote_route *r);

/* One job from courierd: a recipient of a queued message. */
struct remote_job {
	char *id, *qid, *sender, *rcpt;
	char *notify, *orcpt, *ret, *envid; /* DSN parameters to pass on; NULL: none */
	int fd;              /* the message */
};

/* remote_send.c: deliver a batch of jobs for one domain (in a child process),
 * answering each job on sock. */
void remote_deliver(const struct remote_conf *c, const char *domain, struct remote_job *jobs,
		    size_t n, int sock);

#endif
