/* limits: connection counts per client address, for MAXPERIP.
 *
 * Keys are 16 bytes: an IPv4 client is its IPv4-mapped IPv6 address (so it
 * counts the same whether it arrived on an IPv4 or a dual-stack socket); a
 * native IPv6 client is its /64 prefix with the rest zeroed, because a single
 * host usually owns a whole /64 and could otherwise open MAXPERIP connections
 * from each of 2^64 addresses. Mapped keys have 0xffff in bytes 10-11, which a
 * /64 key never has, so the two kinds cannot collide. */
#include "listener.h"

#include <string.h>

struct limits_entry {
	struct table_head head;
	uint32_t count;
};

void limits_key_of(const struct sockaddr *sa, struct limits_key *key)
{
	memset(key, 0, sizeof *key);
	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *in = (const struct sockaddr_in *)(const void *)sa;
		key->b[10] = 0xff;
		key->b[11] = 0xff;
		memcpy(key->b + 12, &in->sin_addr, 4);
	} else if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)(const void *)sa;
		if (IN6_IS_ADDR_V4MAPPED(&in6->sin6_addr))
			memcpy(key->b, &in6->sin6_addr, 16);
		else
			memcpy(key->b, &in6->sin6_addr, 8);
	}
}

void limits_init(struct table *t, size_t max_entries)
{
	table_init(t, max_entries, sizeof(struct limits_entry));
}

uint32_t limits_count(const struct table *t, const struct limits_key *key)
{
	const struct limits_entry *e = table_find(t, key->b);
	return e != NULL ? e->count : 0;
}

int limits_add(struct table *t, const struct limits_key *key)
{
	struct limits_entry *e = table_find(t, key->b);
	if (e == NULL && (e = table_insert(t, key->b)) == NULL)
		return -1;
	e->count++;
	return 0;
}

void limits_remove(struct table *t, const struct limits_key *key)
{
	struct limits_entry *e = table_find(t, key->b);
	if (e == NULL)
		return;
	if (--e->count == 0)
		table_delete(t, e);
}
