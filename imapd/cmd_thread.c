/* cmd_thread: THREAD and UID THREAD (RFC 5256 4), ORDEREDSUBJECT and
 * REFERENCES. Containers live in one array linked by index; message ids
 * hash into an open-addressing table; loops are refused while linking and
 * nothing recurses (the output walks an explicit stack), so hostile
 * References chains cost memory linear in their bounded size. */
#define _GNU_SOURCE /* memmem, memrchr, qsort_r */
#include "imapd.h"

#include "alloc.h"
#include "mime.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define THREAD_MAX_REFS 64
#define THREAD_MAX_DEPTH 10000

struct cont {
	int item;             /* index into the sort items, -1 for a dummy */
	int parent, child, next;
	char *id;
};

struct tree {
	struct cont *c;
	size_t n, cap;
	int *hash;            /* container index + 1, 0 empty */
	size_t hcap;
	struct sort_item *items;
};

static uint64_t hash_id(const char *id)
{
	uint64_t h = 1469598103934665603ull;
	for (; *id; id++)
		h = (h ^ (unsigned char)*id) * 1099511628211ull;
	return h;
}

static int new_cont(struct tree *t, int item, const char *id)
{
	if (t->n == t->cap) {
		t->cap = t->cap ? t->cap * 2 : 64;
		t->c = xreallocarray(t->c, t->cap, sizeof *t->c);
	}
	struct cont *c = &t->c[t->n];
	c->item = item;
	c->parent = c->child = c->next = -1;
	c->id = id ? xstrdup(id) : NULL;
	return (int)t->n++;
}

/* Double the id table (kept at most half full). */
static void grow_hash(struct tree *t)
{
	free(t->hash);
	t->hcap = t->hcap ? t->hcap * 2 : 1024;
	t->hash = xcalloc(t->hcap, sizeof *t->hash);
	for (size_t k = 0; k < t->n; k++) {
		if (t->c[k].id == NULL)
			continue;
		size_t i = (size_t)hash_id(t->c[k].id) & (t->hcap - 1);
		while (t->hash[i])
			i = (i + 1) & (t->hcap - 1);
		t->hash[i] = (int)k + 1;
	}
}

/* The container of id, made (a dummy) when missing. */
static int lookup(struct tree *t, const char *id, int create)
{
	if ((t->n + 1) * 2 > t->hcap)
		grow_hash(t);
	size_t i = (size_t)hash_id(id) & (t->hcap - 1);
	for (; t->hash[i]; i = (i + 1) & (t->hcap - 1))
		if (strcmp(t->c[t->hash[i] - 1].id, id) == 0)
			return t->hash[i] - 1;
	if (!create)
		return -1;
	int k = new_cont(t, -1, id);
	t->hash[i] = k + 1;
	return k;
}

/* Whether a is b or above it; a chain deeper than THREAD_MAX_DEPTH counts
 * as yes (the link is refused), which keeps linking linear. */
static int is_ancestor(const struct tree *t, int a, int b)
{
	for (size_t steps = 0; b >= 0; steps++, b = t->c[b].parent)
		if (a == b || steps > THREAD_MAX_DEPTH)
			return 1;
	return 0;
}

static void unlink_cont(struct tree *t, int k)
{
	int p = t->c[k].parent;
	if (p < 0)
		return;
	int *pp = &t->c[p].child;
	while (*pp >= 0 && *pp != k)
		pp = &t->c[*pp].next;
	if (*pp == k)
		*pp = t->c[k].next;
	t->c[k].parent = t->c[k].next = -1;
}

/* Append k to p's children; refused when it would make a loop. */
static void link_cont(struct tree *t, int p, int k)
{
	if (is_ancestor(t, k, p))
		return;
	unlink_cont(t, k);
	t->c[k].parent = p;
	int *pp = &t->c[p].child;
	while (*pp >= 0)
		pp = &t->c[*pp].next;
	*pp = k;
}

/* The message ids ("<...>") of a header value, the last THREAD_MAX_REFS. */
static size_t msg_ids(const char *v, size_t len, struct buf *ids)
{
	size_t n = 0;
	const char *p = v, *e = v + len;
	while (p < e) {
		const char *lt = memchr(p, '<', (size_t)(e - p));
		const char *gt = lt ? memchr(lt, '>', (size_t)(e - lt)) : NULL;
		if (!gt)
			break;
		if (n == THREAD_MAX_REFS) {
			buf_free(&ids[0]);
			memmove(ids, ids + 1, (THREAD_MAX_REFS - 1) * sizeof *ids);
			ids[THREAD_MAX_REFS - 1] = (struct buf)BUF_INIT;
			n--;
		}
		buf_set(&ids[n], lt, (size_t)(gt - lt + 1));
		buf_cstr(&ids[n++]);
		p = gt + 1;
	}
	return n;
}

/* Step 1 of REFERENCES for one message. */
static void add_message(struct tree *t, struct mailbox *mb, int item, struct buf *hdr)
{
	struct buf v = BUF_INIT, ids[THREAD_MAX_REFS];
	for (int i = 0; i < THREAD_MAX_REFS; i++)
		ids[i] = (struct buf)BUF_INIT;
	sort_read_header(mb, &mb->msgs[t->items[item].seq - 1], hdr);
	const char *h = hdr->data ? hdr->data : "";
	int k = -1;
	if (mime_header_get(h, hdr->len, "Message-ID", &v) && msg_ids(v.data, v.len, ids) > 0) {
		k = lookup(t, buf_cstr(&ids[0]), 1);
		if (t->c[k].item >= 0)
			k = -1;  /* a duplicate id: this message stands alone */
	}
	if (k < 0)
		k = new_cont(t, item, NULL);
	t->c[k].item = item;
	size_t n = 0;
	if (mime_header_get(h, hdr->len, "References", &v))
		n = msg_ids(v.data, v.len, ids);
	if (n == 0 && mime_header_get(h, hdr->len, "In-Reply-To", &v))
		n = msg_ids(v.data, v.len, ids) > 0;
	int prev = -1;
	for (size_t i = 0; i < n; i++) {
		int r = lookup(t, buf_cstr(&ids[i]), 1);
		if (prev >= 0 && t->c[r].parent < 0 && r != prev)
			link_cont(t, prev, r);
		prev = r;
	}
	/* RFC 5256 1.B: a parent k had is dropped first; the new one is refused
	 * if it would make a loop (k then starts a thread) */
	unlink_cont(t, k);
	if (prev >= 0 && prev != k)
		link_cont(t, prev, k);
	for (int i = 0; i < THREAD_MAX_REFS; i++)
		buf_free(&ids[i]);
	buf_free(&v);
}

/* Step 4: dummies go, children promoted, in post-order. */
static void prune(struct tree *t)
{
	int *stack = xcalloc(t->n + 1, sizeof *stack), *order = xcalloc(t->n + 1, sizeof *order);
	size_t sp = 0, no = 0;
	for (size_t i = 0; i < t->n; i++)
		if (t->c[i].parent < 0)
			stack[sp++] = (int)i;
	while (sp > 0) {       /* parents before children, then reversed */
		int k = stack[--sp];
		order[no++] = k;
		for (int c = t->c[k].child; c >= 0; c = t->c[c].next)
			stack[sp++] = c;
	}
	for (size_t j = no; j-- > 0;) {
		int k = order[j];
		struct cont *c = &t->c[k];
		if (c->item >= 0)
			continue;
		int p = c->parent;
		if (p < 0 && c->child >= 0 && t->c[c->child].next >= 0)
			continue;  /* a root dummy with several children stays */
		while (c->child >= 0) {
			int ch = c->child;
			unlink_cont(t, ch);
			if (p >= 0)
				link_cont(t, p, ch);
		}
		unlink_cont(t, k);
		c->item = -2;      /* gone */
	}
	free(stack);
	free(order);
}

/* The item that dates container k: its own, or its first child's. */
static int key_item(const struct tree *t, int k)
{
	for (size_t steps = 0; k >= 0 && steps <= t->n; steps++) {
		if (t->c[k].item >= 0)
			return t->c[k].item;
		k = t->c[k].child;
	}
	return -1;
}

static int cmp_date(const struct tree *t, int a, int b)
{
	int x = key_item(t, a), y = key_item(t, b);
	if (x < 0 || y < 0)
		return (x > y) - (x < y);
	const struct sort_item *p = &t->items[x], *q = &t->items[y];
	if (p->date != q->date)
		return p->date < q->date ? -1 : 1;
	return (p->seq > q->seq) - (p->seq < q->seq);
}

static int cmp_cont(const void *a, const void *b, void *arg)
{
	return cmp_date(arg, *(const int *)a, *(const int *)b);
}

/* Sort a sibling list (its first index at *head) by date. */
static void sort_list(struct tree *t, int *head, int *scratch)
{
	size_t n = 0;
	for (int c = *head; c >= 0; c = t->c[c].next)
		scratch[n++] = c;
	qsort_r(scratch, n, sizeof *scratch, cmp_cont, t);
	int *pp = head;
	for (size_t i = 0; i < n; i++) {
		*pp = scratch[i];
		pp = &t->c[scratch[i]].next;
	}
	*pp = -1;
}

/* Sort every set of children, deepest first; then the roots (a list at *roots). */
static void sort_all(struct tree *t, int *roots)
{
	int *stack = xcalloc(t->n + 1, sizeof *stack), *order = xcalloc(t->n + 1, sizeof *order);
	size_t sp = 0, no = 0;
	for (int r = *roots; r >= 0; r = t->c[r].next)
		stack[sp++] = r;
	while (sp > 0) {
		int k = stack[--sp];
		order[no++] = k;
		for (int c = t->c[k].child; c >= 0; c = t->c[c].next)
			stack[sp++] = c;
	}
	for (size_t j = no; j-- > 0;)
		sort_list(t, &t->c[order[j]].child, stack);
	sort_list(t, roots, stack);
	free(stack);
	free(order);
}

/* One thread: "(3 6 (4 23)(44 7 96))", walked with an explicit stack. */
static void out_thread(struct session *s, const struct tree *t, int root, int *stack)
{
	size_t sp = 0;
	stack[sp++] = root;
	while (sp > 0) {
		int k = stack[--sp];
		if (k < 0) {
			out_str(s, ")");
			continue;
		}
		out_str(s, "(");
		stack[sp++] = -1;
		for (int first = 1;; first = 0) {
			const struct cont *c = &t->c[k];
			if (c->item >= 0) {
				uint32_t seq = t->items[c->item].seq;
				out_fmt(s, "%s%lu", first ? "" : " ",
					(unsigned long)(s->uid ? s->sel->msgs[seq - 1].uid : seq));
			}
			if (c->child < 0)
				break;
			if (t->c[c->child].next < 0) {
				k = c->child;
				continue;
			}
			if (c->item >= 0)
				out_str(s, " ");
			size_t from = sp;
			for (int ch = c->child; ch >= 0; ch = t->c[ch].next)
				stack[sp++] = ch;
			for (size_t a = from, b = sp - 1; a < b; a++, b--) {
				int x = stack[a];
				stack[a] = stack[b];
				stack[b] = x;
			}
			break;
		}
	}
}

static const struct buf *cont_subject(const struct tree *t, int k)
{
	int i = t->c[k].item >= 0 ? t->c[k].item : (t->c[k].child >= 0 ? t->c[t->c[k].child].item : -1);
	return i >= 0 ? &t->items[i].str[5] : NULL;
}

/* Step 5: roots with one base subject under one thread. */
static void group_subjects(struct tree *t, const int *roots, size_t nroots)
{
	size_t cap = 16;
	while (cap < nroots * 2)
		cap *= 2;
	int *tab = xcalloc(cap, sizeof *tab);
	for (int pass = 0; pass < 2; pass++)
		for (size_t r = 0; r < nroots; r++) {
			int k = roots[r];
			const struct buf *sub = cont_subject(t, k);
			if (sub == NULL || sub->len == 0 || t->c[k].item == -2)
				continue;
			uint64_t h = 1469598103934665603ull;
			for (size_t i = 0; i < sub->len; i++)
				h = (h ^ (unsigned char)sub->data[i]) * 1099511628211ull;
			size_t i = (size_t)h & (cap - 1);
			for (; tab[i]; i = (i + 1) & (cap - 1)) {
				const struct buf *o = cont_subject(t, tab[i] - 1);
				if (o && o->len == sub->len && memcmp(o->data, sub->data, sub->len) == 0)
					break;
			}
			int e = tab[i] - 1;
			if (pass == 0) {
				if (e < 0 || (t->c[k].item < 0 && t->c[e].item >= 0) ||
				    (t->c[e].item >= 0 && t->c[k].item >= 0 && t->items[t->c[e].item].reply &&
				     !t->items[t->c[k].item].reply))
					tab[i] = k + 1;
				continue;
			}
			if (e == k || e < 0)
				continue;
			if (t->c[e].item < 0 && t->c[k].item < 0) {
				while (t->c[k].child >= 0)
					link_cont(t, e, t->c[k].child);
				t->c[k].item = -2;
			} else if (t->c[e].item < 0) {
				link_cont(t, e, k);
			} else if (!t->items[t->c[e].item].reply && t->items[t->c[k].item].reply) {
				link_cont(t, e, k);
			} else {
				int d = new_cont(t, -1, NULL);
				link_cont(t, d, e);
				link_cont(t, d, k);
				tab[i] = d + 1;
			}
		}
	free(tab);
}

static void build_references(struct tree *t, struct mailbox *mb, size_t n)
{
	struct buf hdr = BUF_INIT;
	for (size_t i = 0; i < n; i++)
		add_message(t, mb, (int)i, &hdr);
	buf_free(&hdr);
	prune(t);
	int *roots = xcalloc(t->n + 1, sizeof *roots);
	size_t nroots = 0;
	for (size_t k = 0; k < t->n; k++)
		if (t->c[k].parent < 0 && t->c[k].item != -2)
			roots[nroots++] = (int)k;
	group_subjects(t, roots, nroots);
	free(roots);
}

/* ORDEREDSUBJECT: by base subject, each first message the parent of the rest. */
static void build_ordered(struct tree *t, size_t n)
{
	sort_by_subject_date(t->items, n);
	int root = -1;
	for (size_t i = 0; i < n; i++) {
		int k = new_cont(t, (int)i, NULL);
		const struct buf *a = &t->items[i].str[5], *b = i ? &t->items[i - 1].str[5] : NULL;
		if (root >= 0 && a->len == b->len && memcmp(a->data ? a->data : "", b->data ? b->data : "",
							      a->len) == 0)
			link_cont(t, root, k);
		else
			root = k;
	}
}

void cmd_thread(struct session *s, struct parser *ps)
{
	struct buf alg = BUF_INIT;
	int refs = 0;
	if (p_sp(ps) < 0 || p_atom(ps, &alg) < 0 || p_sp(ps) < 0)
		goto bad;
	if (strcasecmp(buf_cstr(&alg), "REFERENCES") == 0)
		refs = 1;
	else if (strcasecmp(buf_cstr(&alg), "ORDEREDSUBJECT") != 0) {
		ps->err = "Unknown threading algorithm";
		goto bad;
	}
	char *hit = xcalloc(s->sel->count ? s->sel->count : 1, 1);
	if (sort_charset_and_search(s, ps, hit) == 0) {
		struct tree t;
		size_t n;
		memset(&t, 0, sizeof t);
		t.items = sort_collect(s->sel, hit, SORT_NEED_SUBJECT, &n);
		if (refs)
			build_references(&t, s->sel, n);
		else
			build_ordered(&t, n);
		int head = -1, *tail = &head;
		for (size_t k = 0; k < t.n; k++)
			if (t.c[k].parent < 0 && t.c[k].item != -2 &&
			    (t.c[k].item >= 0 || t.c[k].child >= 0)) {
				*tail = (int)k;
				tail = &t.c[k].next;
			}
		*tail = -1;
		sort_all(&t, &head);
		int *stack = xcalloc(t.n * 2 + 2, sizeof *stack);
		out_str(s, "* THREAD");
		if (head >= 0)
			out_str(s, " ");
		for (int r = head; r >= 0; r = t.c[r].next)
			out_thread(s, &t, r, stack);
		out_str(s, "\r\n");
		free(stack);
		for (size_t k = 0; k < t.n; k++)
			free(t.c[k].id);
		free(t.c);
		free(t.hash);
		sort_items_free(t.items, n);
		out_done(s, "OK", "THREAD completed");
	}
	free(hit);
	buf_free(&alg);
	return;
bad:
	buf_free(&alg);
	out_bad(s, ps);
}
