/* dns: MX and address lookups for the SMTP client, through libunbound.
 *
 * One resolver context per process (the remote module runs one process per
 * delivery batch). Lookups are synchronous for the caller but bounded: each
 * runs libunbound's asynchronous API under a deadline and is cancelled when
 * the deadline passes. Answers come from the network and are untrusted: MX
 * targets are checked to be host names, every count and length is bounded.
 *
 * Results keep the distinctions delivery needs (RFC 5321 5.1, RFC 7505):
 *   DNS_OK        records found;
 *   DNS_NXDOMAIN  the name does not exist: permanent;
 *   DNS_NODATA    the name exists without records of that type;
 *   DNS_NULLMX    the domain publishes a null MX ("0 ."): accepts no mail;
 *   DNS_TEMPFAIL  SERVFAIL, REFUSED, timeout, DNSSEC-bogus, network error,
 *                 malformed answer: retry later;
 *   DNS_BADNAME   the name asked for is not a valid domain: permanent.
 * `secure` reports libunbound's DNSSEC verdict (validated with a trust anchor)
 * for DANE; it is 0 whenever no trust anchor is configured.
 *
 * Configuration: the settings file dns.conf (estafette-config(5)):
 *   forwarders = 127.0.0.1:5353 [::1]:53   servers to ask (blank/comma list);
 *   resolv_conf = /etc/resolv.conf         used when forwarders is empty;
 *                                          "none": full recursion from root;
 *   trust_anchor_file = PATH               enable DNSSEC validation;
 *   timeout = 30s                          per lookup (a host's A+AAAA pair
 *                                          counts as one).
 * Always set: "local-zone: test. transparent" (libunbound would otherwise
 * answer every *.test name NXDOMAIN itself, RFC 6761) and
 * "do-not-query-localhost: no" (forwarders on loopback are normal).
 * libunbound follows CNAME chains itself (bounded by its restart limit); a
 * loop ends as SERVFAIL, i.e. DNS_TEMPFAIL. /etc/hosts is not consulted. */
#ifndef ESTAFETTE_DNS_H
#define ESTAFETTE_DNS_H

#include <stddef.h>
#include <stdint.h>

struct buf;
struct dns;

enum dns_status {
	DNS_OK = 0,
	DNS_NXDOMAIN,
	DNS_NODATA,
	DNS_NULLMX,
	DNS_TEMPFAIL,
	DNS_BADNAME,
};

#define DNS_MAX_FORWARDERS 8
#define DNS_MAX_MX 64        /* MX records kept per domain (more are ignored) */
#define DNS_MAX_ADDRS 32     /* addresses kept per host and family */
#define DNS_NAME_MAX 253     /* text form, without the trailing dot */

struct dns_options {
	char *forwarders[DNS_MAX_FORWARDERS]; /* libunbound form "addr@port" */
	size_t nforwarders;
	char *resolv_conf;       /* NULL: full recursion */
	char *trust_anchor_file; /* NULL: no validation */
	int timeout_ms;
};

/* Defaults: no forwarders, /etc/resolv.conf, no trust anchor, 30 s. */
void dns_options_init(struct dns_options *o);
void dns_options_free(struct dns_options *o);
/* Read the settings file name (normally "dns.conf") into o (initialised
 * first). 0/1 as lib/config (1: the file existed), -1 with err. */
int dns_options_read(const char *name, struct dns_options *o, struct buf *err);
/* Add the servers of a blank- or comma-separated list (dns_parse_server
 * forms) to o's forwarders. 0, or -1 with err. */
int dns_options_add_forwarders(struct dns_options *o, const char *list, struct buf *err);
/* Parse "1.2.3.4", "1.2.3.4:53", "::1", "[::1]:53" or "1.2.3.4@53" into
 * libunbound's "addr@port" form in out. 0, or -1 with err. */
int dns_parse_server(const char *s, size_t len, struct buf *out, struct buf *err);

/* NULL with err on failure (bad forwarder, unreadable trust anchor). */
struct dns *dns_new(const struct dns_options *o, struct buf *err);
void dns_free(struct dns *d);

struct dns_addr {
	int family;               /* AF_INET or AF_INET6 */
	unsigned char addr[16];   /* 4 or 16 bytes used */
};

struct dns_addrs {
	struct dns_addr *items;   /* AAAA records first, then A, in answer order */
	size_t count;
	int secure;               /* every answer used was DNSSEC-validated */
	char *canon;              /* name after CNAMEs, no trailing dot; may be NULL */
};

#define DNS_WANT_INET 1
#define DNS_WANT_INET6 2
#define DNS_WANT_ANY (DNS_WANT_INET | DNS_WANT_INET6)

/* A and/or AAAA records of host (queried together). DNS_OK if either family
 * gave addresses; else DNS_TEMPFAIL if any query failed so; else NXDOMAIN or
 * NODATA. out is reset first; free it with dns_addrs_free after any return.
 * err explains anything but DNS_OK. */
enum dns_status dns_lookup_addrs(struct dns *d, const char *host, unsigned want,
				 struct dns_addrs *out, struct buf *err);
void dns_addrs_free(struct dns_addrs *a);

struct dns_mx {
	char *host;               /* lowercase, no trailing dot */
	unsigned pref;
};

struct dns_mxlist {
	struct dns_mx *items;     /* by preference; equal preferences shuffled */
	size_t count;
	int secure;
	int implicit;             /* no MX records: the domain itself, RFC 5321 5.1 */
};

/* The mail exchangers of domain. With MX records: DNS_OK and the targets in
 * preference order (random order among equals); a sole "." target is
 * DNS_NULLMX, and a "." among other targets is skipped. Without MX records
 * (NODATA): DNS_OK with the domain itself as the one implicit exchanger
 * (implicit = 1; the caller's address lookup then decides). NXDOMAIN,
 * TEMPFAIL and BADNAME as above. Targets that are not host names are
 * skipped; if none is left, DNS_TEMPFAIL (a broken zone may be fixed). */
enum dns_status dns_lookup_mx(struct dns *d, const char *domain, struct dns_mxlist *out,
			      struct buf *err);
void dns_mxlist_free(struct dns_mxlist *l);

const char *dns_status_str(enum dns_status s);

/* Pieces exposed for the unit tests. */
/* 0 if s (len bytes, no trailing dot) is a syntactically valid domain name
 * of LDH/underscore labels; else -1. */
int dns_name_check(const char *s, size_t len);
/* Decode an uncompressed wire-format name at p (len bytes available) into
 * lowercase text without the trailing dot ("" for the root); *used gets its
 * wire length. -1 if truncated, compressed, too long, or a label holds a byte
 * other than letter, digit, '-' or '_'. */
int dns_wire_name(const unsigned char *p, size_t len, struct buf *out, size_t *used);
/* Sort by preference, shuffling equal preferences with rnd(n) (0..n-1;
 * NULL: arc4random_uniform). */
void dns_mx_sort(struct dns_mx *mx, size_t n, uint32_t (*rnd)(uint32_t n));

#endif
