/* seqset: IMAP sequence sets ("1:4,7,9:*") and selecting messages by them.
 * Trusts nothing: the number of ranges is bounded by the command's length,
 * and selecting is linear in the mailbox plus the ranges. */
#include "imapd.h"

#include "alloc.h"

#include <stdlib.h>
#include <string.h>

static int seq_number(struct parser *ps, uint32_t *n)
{
	uint64_t v;
	if (p_peek(ps, '*')) {
		ps->p++;
		*n = SEQ_STAR;
		return 0;
	}
	/* 4294967295 is a valid UID, distinct from "*" (SEQ_STAR is 0) */
	if (p_number(ps, &v) < 0 || v == 0 || v > UINT32_MAX) {
		ps->err = "Invalid sequence number";
		return -1;
	}
	*n = (uint32_t)v;
	return 0;
}

static void seqset_copy(struct seqset *set, const struct seqset *from)
{
	set->r = xreallocarray(NULL, from->count ? from->count : 1, sizeof *set->r);
	if (from->count)
		memcpy(set->r, from->r, from->count * sizeof *set->r);
	set->count = from->count;
	set->uids = 1;
}

int seqset_parse(struct parser *ps, struct seqset *set)
{
	set->r = NULL;
	set->count = 0;
	set->uids = 0;
	if (p_peek(ps, '$')) {
		ps->p++;
		if (ps->saved == NULL) {
			ps->err = "No saved search result";
			return -1;
		}
		seqset_copy(set, ps->saved);
		return 0;
	}
	for (;;) {
		uint32_t a, b;
		if (seq_number(ps, &a) < 0)
			goto bad;
		b = a;
		if (p_peek(ps, ':')) {
			ps->p++;
			if (seq_number(ps, &b) < 0)
				goto bad;
		}
		set->r = xreallocarray(set->r, set->count + 1, sizeof *set->r);
		set->r[set->count][0] = a < b ? a : b;
		set->r[set->count][1] = a < b ? b : a;
		set->count++;
		if (!p_peek(ps, ','))
			return 0;
		ps->p++;
	}
bad:
	seqset_free(set);
	return -1;
}

void seqset_free(struct seqset *set)
{
	free(set->r);
	set->r = NULL;
	set->count = 0;
	set->uids = 0;
}

void seqset_from_uids(struct seqset *set, const uint32_t *v, size_t n)
{
	seqset_free(set);
	set->uids = 1;
	for (size_t i = 0; i < n;) {
		size_t j = i;
		while (j + 1 < n && v[j + 1] == v[j] + 1)
			j++;
		set->r = xreallocarray(set->r, set->count + 1, sizeof *set->r);
		set->r[set->count][0] = v[i];
		set->r[set->count][1] = v[j];
		set->count++;
		i = j + 1;
	}
}

static void resolve(const uint32_t r[2], uint32_t star, uint32_t *lo, uint32_t *hi)
{
	uint32_t a = r[0] == SEQ_STAR ? star : r[0];
	uint32_t b = r[1] == SEQ_STAR ? star : r[1];
	*lo = a < b ? a : b;
	*hi = a < b ? b : a;
}

int seqset_has(const struct seqset *set, uint32_t n, uint32_t star)
{
	for (size_t i = 0; i < set->count; i++) {
		uint32_t lo, hi;
		resolve(set->r[i], star, &lo, &hi);
		if (n >= lo && n <= hi)
			return 1;
	}
	return 0;
}

/* The first message index with uid >= u. */
static size_t uid_lower_bound(const struct mailbox *mb, uint32_t u)
{
	size_t lo = 0, hi = mb->count;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (mb->msgs[mid].uid < u)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

size_t seqset_select(const struct seqset *set, const struct mailbox *mb, int by_uid, char *sel)
{
	size_t n = 0;
	if (mb->count == 0)
		return 0;
	by_uid = by_uid || set->uids;
	uint32_t star = by_uid ? mb->msgs[mb->count - 1].uid : (uint32_t)mb->count;
	for (size_t i = 0; i < set->count; i++) {
		uint32_t lo, hi;
		resolve(set->r[i], star, &lo, &hi);
		size_t k = by_uid ? uid_lower_bound(mb, lo) : (size_t)lo - 1;
		for (; k < mb->count; k++) {
			if (by_uid ? mb->msgs[k].uid > hi : k + 1 > hi)
				break;
			if (!sel[k]) {
				sel[k] = 1;
				n++;
			}
		}
	}
	return n;
}

int seqset_valid_seq(const struct seqset *set, size_t count)
{
	if (set->uids)
		return 1;
	for (size_t i = 0; i < set->count; i++)
		for (int k = 0; k < 2; k++) {
			uint32_t n = set->r[i][k];
			if (n == SEQ_STAR ? count == 0 : n > count)
				return 0;
		}
	return 1;
}

void seqset_format(struct buf *out, const uint32_t *v, size_t n)
{
	for (size_t i = 0; i < n;) {
		size_t j = i;
		while (j + 1 < n && v[j + 1] == v[j] + 1)
			j++;
		buf_printf(out, "%s%lu", i ? "," : "", (unsigned long)v[i]);
		if (j > i)
			buf_printf(out, ":%lu", (unsigned long)v[j]);
		i = j + 1;
	}
}
