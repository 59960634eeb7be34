/* table: the listener's fixed-capacity hash table (per-address counts, children).
 *
 * Linear probing with backward-shift deletion, so there are no tombstones and a
 * lookup never walks more than the cluster it hashes into. The capacity is at
 * least twice the maximum entry count, fixed at start: the caller bounds the
 * number of entries (MAXCONN), so the table never needs to grow. Keys are
 * hashed with a random seed; clients choose their addresses (an IPv6 client
 * can choose many), and must not be able to predict collisions. */
#include "listener.h"
#include "alloc.h"

#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

static uint64_t mix64(uint64_t x)
{
	/* splitmix64's finaliser: every input bit affects every output bit */
	x ^= x >> 30;
	x *= 0xbf58476d1ce4e5b9ULL;
	x ^= x >> 27;
	x *= 0x94d049bb133111ebULL;
	x ^= x >> 31;
	return x;
}

static size_t table_hash(const struct table *t, const unsigned char key[16])
{
	uint64_t a, b;
	memcpy(&a, key, 8);
	memcpy(&b, key + 8, 8);
	return (size_t)mix64(mix64(t->seed ^ a) ^ b);
}

static struct table_head *head_at(const struct table *t, size_t i)
{
	return (struct table_head *)(void *)(t->slots + i * t->entry_size);
}

static uint64_t random_seed(void)
{
	uint64_t seed = 0;
	if (getrandom(&seed, sizeof seed, GRND_NONBLOCK) != (ssize_t)sizeof seed) {
		/* early boot without entropy: still differ per process and start */
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		seed = mix64((uint64_t)ts.tv_nsec ^ ((uint64_t)ts.tv_sec << 20) ^ (uint64_t)getpid());
	}
	return seed;
}

void table_init(struct table *t, size_t max_entries, size_t entry_size)
{
	size_t want, slots = 16;
	if (size_mul(max_entries, 2, &want) != 0)
		die_nomem();
	while (slots < want) {
		if (size_mul(slots, 2, &slots) != 0)
			die_nomem();
	}
	t->slots = xcalloc(slots, entry_size);
	t->entry_size = entry_size;
	t->mask = slots - 1;
	t->count = 0;
	t->max = max_entries;
	t->seed = random_seed();
}

void table_free(struct table *t)
{
	free(t->slots);
	t->slots = NULL;
	t->count = 0;
}

void *table_find(const struct table *t, const unsigned char key[16])
{
	for (size_t i = table_hash(t, key) & t->mask;; i = (i + 1) & t->mask) {
		struct table_head *h = head_at(t, i);
		if (!h->used)
			return NULL;
		if (memcmp(h->key, key, 16) == 0)
			return h;
	}
}

void *table_insert(struct table *t, const unsigned char key[16])
{
	if (t->count >= t->max)
		return NULL;
	size_t i = table_hash(t, key) & t->mask;
	while (head_at(t, i)->used)
		i = (i + 1) & t->mask;
	struct table_head *h = head_at(t, i);
	memset(h, 0, t->entry_size);
	memcpy(h->key, key, 16);
	h->used = 1;
	t->count++;
	return h;
}

/* 1 if home slot k lies cyclically in (i, j]: the entry at j may not move to i. */
static int stays(size_t i, size_t j, size_t k)
{
	return i <= j ? (i < k && k <= j) : (i < k || k <= j);
}

void table_delete(struct table *t, void *entry)
{
	size_t i = (size_t)((unsigned char *)entry - t->slots) / t->entry_size;
	for (size_t j = (i + 1) & t->mask; head_at(t, j)->used; j = (j + 1) & t->mask) {
		size_t k = table_hash(t, head_at(t, j)->key) & t->mask;
		if (stays(i, j, k))
			continue;
		memcpy(head_at(t, i), head_at(t, j), t->entry_size);
		i = j;
	}
	memset(head_at(t, i), 0, t->entry_size);
	t->count--;
}

void *table_slot(const struct table *t, size_t i)
{
	struct table_head *h = head_at(t, i);
	return h->used ? h : NULL;
}
