/* smtpd dnsbl: DNS block lists (RFC 5782). With dnsbl_zones set, the client's
 * address is looked up as an A record under each zone (IPv4 octets reversed,
 * IPv6 as 32 reversed nibbles); an answer in 127.0.0.0/8 means listed. Answers
 * come from the network: only that test is made, and a failed lookup (timeout,
 * SERVFAIL) never refuses a client, it is only logged. Resolver settings are
 * lib/dns's dns.conf. */
#include "smtpd.h"

#include "dns.h"
#include "log.h"

#include <arpa/inet.h>
#include <string.h>

/* The reversed query prefix of ip ("7.2.0.192"); -1 if ip is not an address. */
static int dnsbl_reverse(const char *ip, struct buf *out)
{
	unsigned char a[16];
	static const char hex[] = "0123456789abcdef";
	buf_reset(out);
	if (inet_pton(AF_INET, ip, a) == 1) {
		buf_printf(out, "%u.%u.%u.%u", a[3], a[2], a[1], a[0]);
		return 0;
	}
	if (inet_pton(AF_INET6, ip, a) != 1)
		return -1;
	for (int i = 15; i >= 0; i--)
		buf_printf(out, "%c.%c%s", hex[a[i] & 15], hex[a[i] >> 4], i ? "." : "");
	return 0;
}

/* 1 when the answer holds an address in 127.0.0.0/8. */
static int dnsbl_hit(const struct dns_addrs *r)
{
	for (size_t i = 0; i < r->count; i++)
		if (r->items[i].family == AF_INET && r->items[i].addr[0] == 127)
			return 1;
	return 0;
}

static int dnsbl_zone(struct dns *d, const struct buf *rev, const char *zone, size_t zl)
{
	struct buf name = BUF_INIT, err = BUF_INIT;
	struct dns_addrs r = { 0 };
	buf_printf(&name, "%s.%.*s", rev->data, (int)zl, zone);
	enum dns_status st = dns_lookup_addrs(d, buf_cstr(&name), DNS_WANT_INET, &r, &err);
	int hit = st == DNS_OK && dnsbl_hit(&r);
	if (st == DNS_TEMPFAIL || st == DNS_BADNAME)
		log_warn("dnsbl %s: %s", buf_cstr(&name), buf_cstr(&err));
	dns_addrs_free(&r);
	buf_free(&name);
	buf_free(&err);
	return hit;
}

int dnsbl_check(struct session *s, struct buf *zone_out)
{
	const char *z = s->conf->dnsbl_zones;
	struct buf rev = BUF_INIT, err = BUF_INIT;
	struct dns_options o;
	struct dns *d = NULL;
	int hit = 0;
	if (!z || !*z || dnsbl_reverse(s->ip, &rev) < 0)
		goto out;
	if (dns_options_read("dns.conf", &o, &err) < 0 || (d = dns_new(&o, &err)) == NULL) {
		log_error("dnsbl: %s", buf_cstr(&err));
		dns_options_free(&o);
		goto out;
	}
	dns_options_free(&o);
	while (*z && !hit) {
		size_t skip = strspn(z, " \t,"), len = strcspn(z + skip, " \t,");
		if (len && (hit = dnsbl_zone(d, &rev, z + skip, len)))
			buf_set(zone_out, z + skip, len);
		z += skip + len;
	}
	dns_free(d);
out:
	buf_free(&rev);
	buf_free(&err);
	return hit;
}
