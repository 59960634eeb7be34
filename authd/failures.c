/* failures: shared failure counters for authd; see failures.h.
 * Trusts nothing about keys (any bytes); memory is fixed at start. */
#include "failures.h"
#include "buf.h"

#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <time.h>

#define PROBE 8

struct slot {
	uint64_t hash; /* 0 = free */
	uint32_t count;
	int64_t since; /* monotonic seconds of the first counted failure */
};

struct table {
	pthread_mutex_t lock;
	uint64_t seed;
	struct slot slots[FAILURES_SLOTS];
};

static struct table *tab;

int failures_init(struct buf *err)
{
	tab = mmap(NULL, sizeof *tab, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (tab == MAP_FAILED) {
		tab = NULL;
		buf_printf(err, "mmap: %s", strerror(errno));
		return -1;
	}
	pthread_mutexattr_t a;
	pthread_mutexattr_init(&a);
	pthread_mutexattr_setpshared(&a, PTHREAD_PROCESS_SHARED);
	pthread_mutexattr_setrobust(&a, PTHREAD_MUTEX_ROBUST);
	int e = pthread_mutex_init(&tab->lock, &a);
	pthread_mutexattr_destroy(&a);
	if (e == 0 && getrandom(&tab->seed, sizeof tab->seed, 0) != sizeof tab->seed)
		e = errno;
	if (e) {
		buf_printf(err, "failure table: %s", strerror(e));
		return -1;
	}
	return 0;
}

static int64_t now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec;
}

/* Seeded FNV-1a over kind, a separator and key; never 0. */
static uint64_t hash(const char *kind, const char *key, size_t len)
{
	uint64_t h = 1469598103934665603ULL ^ tab->seed;
	const unsigned char *p = (const unsigned char *)kind;
	for (; *p; p++)
		h = (h ^ *p) * 1099511628211ULL;
	h = (h ^ 0xff) * 1099511628211ULL;
	p = (const unsigned char *)key;
	for (size_t i = 0; i < len; i++)
		h = (h ^ p[i]) * 1099511628211ULL;
	h ^= h >> 29;
	return h ? h : 1;
}

static void lock(void)
{
	if (pthread_mutex_lock(&tab->lock) == EOWNERDEAD)
		pthread_mutex_consistent(&tab->lock); /* a child died holding it: counters stay usable */
}

/* The slot of h, or (create) a free or the oldest slot in its probe run. */
static struct slot *find(uint64_t h, int create)
{
	size_t i0 = (size_t)(h % FAILURES_SLOTS);
	struct slot *free_s = NULL, *oldest = NULL;
	for (size_t k = 0; k < PROBE; k++) {
		struct slot *s = &tab->slots[(i0 + k) % FAILURES_SLOTS];
		if (s->hash == h)
			return s;
		if (s->hash == 0) {
			if (free_s == NULL)
				free_s = s;
		} else if (oldest == NULL || s->since < oldest->since) {
			oldest = s;
		}
	}
	struct slot *victim = free_s ? free_s : oldest;
	if (!create)
		return NULL;
	victim->hash = h;
	victim->count = 0;
	victim->since = now();
	return victim;
}

int failures_over(const char *kind, const char *key, size_t len, unsigned limit, unsigned window)
{
	if (tab == NULL || limit == 0)
		return 0;
	uint64_t h = hash(kind, key, len);
	lock();
	struct slot *s = find(h, 0);
	int over = s && now() - s->since < (int64_t)window && s->count >= limit;
	pthread_mutex_unlock(&tab->lock);
	return over;
}

void failures_add(const char *kind, const char *key, size_t len, unsigned window)
{
	if (tab == NULL)
		return;
	uint64_t h = hash(kind, key, len);
	lock();
	struct slot *s = find(h, 1);
	if (now() - s->since >= (int64_t)window) {
		s->count = 0;
		s->since = now();
	}
	if (s->count < UINT32_MAX)
		s->count++;
	pthread_mutex_unlock(&tab->lock);
}

void failures_clear(const char *kind, const char *key, size_t len)
{
	if (tab == NULL)
		return;
	uint64_t h = hash(kind, key, len);
	lock();
	struct slot *s = find(h, 0);
	if (s)
		memset(s, 0, sizeof *s);
	pthread_mutex_unlock(&tab->lock);
}
