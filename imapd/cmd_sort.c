/* cmd_sort: SORT and UID SORT (RFC 5256 3; DISPLAYFROM, DISPLAYTO of
 * RFC 5957). The criteria are a bounded list; the keys of each matching
 * message come from the first SORT_MAX_HEADER bytes of its file; ties go to
 * the sequence number, so the order is total and stable. */
#define _GNU_SOURCE /* memmem, memrchr, qsort_r */
#include "imapd.h"

#include "alloc.h"
#include "mime.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#define SORT_MAX_KEYS 16

static const char *const key_names[] = { "ARRIVAL", "CC", "DATE", "FROM", "SIZE", "SUBJECT",
					 "TO", "DISPLAYFROM", "DISPLAYTO" };
enum { S_ARRIVAL, S_CC, S_DATE, S_FROM, S_SIZE, S_SUBJECT, S_TO, S_DFROM, S_DTO, S_NKEYS };

struct sort_ctx {
	int key[SORT_MAX_KEYS], rev[SORT_MAX_KEYS], n;
	struct sort_item *items;
};

static int parse_criteria(struct parser *ps, struct sort_ctx *c)
{
	struct buf w = BUF_INIT;
	int rev = 0, ok = p_char(ps, '(') == 0;
	while (ok && !p_peek(ps, ')')) {
		if ((c->n > 0 || rev) && p_sp(ps) < 0) {
			ok = 0;
			break;
		}
		if (p_atom(ps, &w) < 0) {
			ok = 0;
			break;
		}
		if (strcasecmp(buf_cstr(&w), "REVERSE") == 0 && !rev) {
			rev = 1;
			continue;
		}
		int k = 0;
		while (k < S_NKEYS && strcasecmp(buf_cstr(&w), key_names[k]) != 0)
			k++;
		if (k == S_NKEYS || c->n >= SORT_MAX_KEYS) {
			ps->err = k == S_NKEYS ? "Unknown sort key" : "Too many sort keys";
			ok = 0;
			break;
		}
		c->key[c->n] = k;
		c->rev[c->n++] = rev;
		rev = 0;
	}
	buf_free(&w);
	if (ok && (c->n == 0 || rev)) {
		ps->err = "Missing sort key";
		ok = 0;
	}
	return ok && p_char(ps, ')') == 0 && p_sp(ps) == 0 ? 0 : -1;
}

int sort_charset_and_search(struct session *s, struct parser *ps, char *hit)
{
	struct buf cs = BUF_INIT;
	int ok = p_astring(ps, &cs) == 0 && p_sp(ps) == 0;
	if (ok && strcasecmp(buf_cstr(&cs), "UTF-8") != 0 &&
	    strcasecmp(buf_cstr(&cs), "US-ASCII") != 0) {
		buf_free(&cs);
		out_tagged(s, "NO", "[BADCHARSET (UTF-8 US-ASCII)] Unsupported charset");
		return -1;
	}
	buf_free(&cs);
	if (!ok || search_matches(s, ps, hit) < 0) {
		out_bad(s, ps);
		return -1;
	}
	return 0;
}

/* The message's header (at most SORT_MAX_HEADER bytes of the file). */
void sort_read_header(struct mailbox *mb, struct msg *m, struct buf *hdr)
{
	char chunk[8192];
	buf_reset(hdr);
	int fd = mailbox_open_msg(mb, m);
	while (fd >= 0 && hdr->len < SORT_MAX_HEADER) {
		ssize_t r = read(fd, chunk, sizeof chunk);
		if (r <= 0)
			break;
		buf_append(hdr, chunk, (size_t)r);
		const char *e = memmem(hdr->data, hdr->len, "\n\n", 2);
		const char *f = memmem(hdr->data, hdr->len, "\n\r\n", 3);
		if (f && (!e || f < e))
			e = f;
		if (e) {
			hdr->len = (size_t)(e - hdr->data) + 1;
			break;
		}
	}
	if (fd >= 0)
		close(fd);
}

void sort_item_load(struct mailbox *mb, struct sort_item *it, unsigned need)
{
	struct msg *m = &mb->msgs[it->seq - 1];
	struct buf hdr = BUF_INIT;
	sort_read_header(mb, m, &hdr);
	const char *h = hdr.data ? hdr.data : "";
	static const char *const fields[] = { [S_CC] = "Cc", [S_FROM] = "From", [S_TO] = "To",
					       [S_DFROM] = "From", [S_DTO] = "To" };
	it->arrival = mailbox_msg_mtime(mb, m);
	if (need & (1u << S_SIZE))
		it->size = mailbox_msg_size(mb, m);
	it->date = subject_sent_date(h, hdr.len, it->arrival);
	if (need & (1u << S_SUBJECT)) {
		struct buf v = BUF_INIT;
		mime_header_get(h, hdr.len, "Subject", &v);
		it->reply = subject_base(&it->str[S_SUBJECT], v.data ? v.data : "", v.len);
		buf_free(&v);
	}
	for (int k = 0; k < S_NKEYS; k++)
		if ((need & (1u << k)) && k != S_SUBJECT && fields[k] != NULL)
			subject_addr_key(&it->str[k], h, hdr.len, fields[k], k >= S_DFROM);
	buf_free(&hdr);
}

void sort_items_free(struct sort_item *v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		for (int k = 0; k < SORT_NSTR; k++)
			buf_free(&v[i].str[k]);
	free(v);
}

static int cmp_buf(const struct buf *a, const struct buf *b)
{
	size_t n = a->len < b->len ? a->len : b->len;
	int r = n ? memcmp(a->data, b->data, n) : 0;
	return r ? r : (a->len > b->len) - (a->len < b->len);
}

static int cmp_items(const void *x, const void *y, void *arg)
{
	const struct sort_item *a = x, *b = y;
	const struct sort_ctx *c = arg;
	for (int i = 0; i < c->n; i++) {
		int k = c->key[i], r;
		if (k == S_ARRIVAL)
			r = (a->arrival > b->arrival) - (a->arrival < b->arrival);
		else if (k == S_DATE)
			r = (a->date > b->date) - (a->date < b->date);
		else if (k == S_SIZE)
			r = (a->size > b->size) - (a->size < b->size);
		else
			r = cmp_buf(&a->str[k], &b->str[k]);
		if (r)
			return c->rev[i] ? -r : r;
	}
	return (a->seq > b->seq) - (a->seq < b->seq);
}

/* The matching messages, their keys loaded; *n of them. */
struct sort_item *sort_collect(struct mailbox *mb, const char *hit, unsigned need, size_t *n)
{
	struct sort_item *v = xcalloc(mb->count ? mb->count : 1, sizeof *v);
	*n = 0;
	for (size_t i = 0; i < mb->count; i++)
		if (hit[i]) {
			v[*n].seq = (uint32_t)(i + 1);
			sort_item_load(mb, &v[(*n)++], need);
		}
	return v;
}

void sort_by_subject_date(struct sort_item *v, size_t n)
{
	struct sort_ctx c = { { S_SUBJECT, S_DATE }, { 0, 0 }, 2, NULL };
	qsort_r(v, n, sizeof *v, cmp_items, &c);
}

void sort_by_date(struct sort_item *v, size_t n)
{
	struct sort_ctx c = { { S_DATE }, { 0 }, 1, NULL };
	qsort_r(v, n, sizeof *v, cmp_items, &c);
}

/* ESORT (RFC 5267 3): the sorted result as an ESEARCH response; ALL keeps
 * the sort order, MIN and MAX are the lowest and highest numbers. */
static void out_esort(struct session *s, const uint32_t *v, size_t n, int ret)
{
	uint32_t lo = n ? v[0] : 0, hi = lo;
	for (size_t i = 1; i < n; i++) {
		lo = v[i] < lo ? v[i] : lo;
		hi = v[i] > hi ? v[i] : hi;
	}
	out_fmt(s, "* ESEARCH (TAG \"%s\")%s", s->tag, s->uid ? " UID" : "");
	if (n && (ret & SEARCH_RET_MIN))
		out_fmt(s, " MIN %lu", (unsigned long)lo);
	if (n && (ret & SEARCH_RET_MAX))
		out_fmt(s, " MAX %lu", (unsigned long)hi);
	if (ret & SEARCH_RET_COUNT)
		out_fmt(s, " COUNT %zu", n);
	if (n && (ret & SEARCH_RET_ALL)) {
		struct buf set = BUF_INIT;
		seqset_format(&set, v, n);
		out_fmt(s, " ALL %s", buf_cstr(&set));
		buf_free(&set);
	}
	out_str(s, "\r\n");
}

/* "RETURN (...) " before the criteria: the SEARCH_RET_ bits, 0 without,
 * -1 bad (SAVE is SEARCH's only). */
static int sort_return(struct parser *ps)
{
	struct buf w = BUF_INIT;
	const char *save = ps->p;
	int ret = 0;
	if (p_atom(ps, &w) == 0 && strcasecmp(buf_cstr(&w), "RETURN") == 0) {
		ret = search_parse_return(ps, &w);
		if (ret > 0 && (ret & SEARCH_RET_SAVE)) {
			ps->err = "SAVE is not a SORT result option";
			ret = -1;
		}
	} else {
		ps->p = save;
		ps->err = NULL;
	}
	buf_free(&w);
	return ret;
}

void cmd_sort(struct session *s, struct parser *ps)
{
	struct sort_ctx c;
	int ret;
	memset(&c, 0, sizeof c);
	if (p_sp(ps) < 0 || (ret = sort_return(ps)) < 0 || parse_criteria(ps, &c) < 0)
		return out_bad(s, ps);
	char *hit = xcalloc(s->sel->count ? s->sel->count : 1, 1);
	if (sort_charset_and_search(s, ps, hit) == 0) {
		unsigned need = 0;
		size_t n;
		for (int i = 0; i < c.n; i++)
			need |= 1u << c.key[i];
		struct sort_item *v = sort_collect(s->sel, hit, need, &n);
		qsort_r(v, n, sizeof *v, cmp_items, &c);
		uint32_t *ids = xcalloc(n ? n : 1, sizeof *ids);
		for (size_t i = 0; i < n; i++)
			ids[i] = s->uid ? s->sel->msgs[v[i].seq - 1].uid : (uint32_t)v[i].seq;
		if (ret) {
			out_esort(s, ids, n, ret);
		} else {
			out_str(s, "* SORT");
			for (size_t i = 0; i < n; i++)
				out_fmt(s, " %lu", (unsigned long)ids[i]);
			out_str(s, "\r\n");
		}
		free(ids);
		sort_items_free(v, n);
		out_done(s, "OK", "SORT completed");
	}
	free(hit);
}
