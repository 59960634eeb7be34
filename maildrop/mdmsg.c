/* mdmsg: the message and pattern matching; see mdmsg.h. */
#include "mdmsg.h"

#include "mdlex.h" /* MD_PAT_* */

#include <string.h>

#define MD_MATCH_LIMIT  1000000 /* PCRE2 backtracking steps per match */
#define MD_DEPTH_LIMIT  10000
#define MD_HEAP_LIMIT   (16 * 1024) /* KiB */

void md_msg_init(struct md_msg *m)
{
	memset(m, 0, sizeof *m);
}

void md_msg_free(struct md_msg *m)
{
	buf_free(&m->data);
	buf_free(&m->unfolded);
	memset(m, 0, sizeof *m);
}

/* Header lines joined with their continuations (each line break a space). */
static void unfold(struct md_msg *m)
{
	const char *p = m->data.data ? m->data.data : "";
	size_t end = m->body, i = 0;
	buf_reset(&m->unfolded);
	while (i < end) {
		const char *nl = memchr(p + i, '\n', end - i);
		size_t n = nl ? (size_t)(nl - (p + i)) : end - i;
		size_t keep = n && p[i + n - 1] == '\r' ? n - 1 : n;
		if (keep == 0)
			break; /* the empty line */
		/* as Courier's maildrop: the line break becomes a space */
		if ((p[i] == ' ' || p[i] == '\t') && m->unfolded.len)
			m->unfolded.data[m->unfolded.len - 1] = ' ';
		buf_append(&m->unfolded, p + i, keep);
		buf_append_char(&m->unfolded, '\n');
		i += n + 1;
	}
}

void md_msg_set(struct md_msg *m, struct buf *data)
{
	buf_free(&m->data);
	m->data = *data;
	buf_init(data);
	const char *p = m->data.data ? m->data.data : "";
	size_t len = m->data.len;
	m->body = len;
	m->lines = 0;
	for (size_t i = 0; i < len;) {
		const char *nl = memchr(p + i, '\n', len - i);
		size_t n = nl ? (size_t)(nl - (p + i)) : len - i;
		m->lines++;
		if (m->body == len && (n == 0 || (n == 1 && p[i] == '\r')))
			m->body = i + n + 1 > len ? len : i + n + 1;
		i += n + 1;
	}
	unfold(m);
}

pcre2_code *md_pat_compile(const char *pat, size_t len, unsigned flags, struct buf *err)
{
	int code;
	PCRE2_SIZE off;
	uint32_t opts = PCRE2_UTF | PCRE2_MATCH_INVALID_UTF;
	if (!(flags & MD_PAT_CASE))
		opts |= PCRE2_CASELESS;
	pcre2_code *re = pcre2_compile((PCRE2_SPTR)pat, len, opts, &code, &off, NULL);
	if (!re) {
		PCRE2_UCHAR msg[256];
		if (pcre2_get_error_message(code, msg, sizeof msg) < 0)
			memcpy(msg, "invalid pattern", 16);
		buf_error(err, "pattern error at offset %zu: %s", (size_t)off, (const char *)msg);
	}
	return re;
}

static pcre2_match_context *match_ctx(void)
{
	static pcre2_match_context *ctx;
	if (!ctx) {
		ctx = pcre2_match_context_create(NULL);
		if (!ctx)
			return NULL;
		pcre2_set_match_limit(ctx, MD_MATCH_LIMIT);
		pcre2_set_depth_limit(ctx, MD_DEPTH_LIMIT);
		pcre2_set_heap_limit(ctx, MD_HEAP_LIMIT);
	}
	return ctx;
}

/* All matches (or the first) in one subject; returns how many were reported,
 * with *stop set when fn asked to stop. */
static size_t search_one(const char *s, size_t len, const pcre2_code *re, int all,
			 md_match_fn fn, void *arg, int *limited, int *stop)
{
	pcre2_match_data *md = pcre2_match_data_create_from_pattern(re, NULL);
	size_t calls = 0, start = 0;
	if (!md)
		return 0;
	while (start <= len) {
		int rc = pcre2_match(re, (PCRE2_SPTR)s, len, start, 0, md, match_ctx());
		if (rc < 0) {
			if (rc != PCRE2_ERROR_NOMATCH)
				*limited = 1;
			break;
		}
		calls++;
		if (fn(arg, s, len, md)) {
			*stop = 1;
			break;
		}
		if (!all)
			break;
		PCRE2_SIZE *ov = pcre2_get_ovector_pointer(md);
		start = ov[1] > ov[0] ? ov[1] : ov[1] + 1;
	}
	pcre2_match_data_free(md);
	return calls;
}

static size_t search_lines(const char *p, size_t len, const pcre2_code *re, int all,
			   md_match_fn fn, void *arg, int *limited, int *stop)
{
	size_t calls = 0;
	for (size_t i = 0; i < len && !*stop;) {
		const char *nl = memchr(p + i, '\n', len - i);
		size_t n = nl ? (size_t)(nl - (p + i)) : len - i;
		size_t keep = n && p[i + n - 1] == '\r' ? n - 1 : n;
		calls += search_one(p + i, keep, re, all, fn, arg, limited, stop);
		i += n + 1;
	}
	return calls;
}

size_t md_pat_search(const struct md_msg *m, const pcre2_code *re, unsigned flags, int all,
		     md_match_fn fn, void *arg, int *limited)
{
	int stop = 0;
	size_t calls = 0;
	if ((flags & MD_PAT_HEADER) || !(flags & MD_PAT_BODY))
		calls += search_lines(m->unfolded.data ? m->unfolded.data : "", m->unfolded.len, re,
				      all, fn, arg, limited, &stop);
	if ((flags & MD_PAT_BODY) && !stop && m->body < m->data.len)
		calls += search_lines(m->data.data + m->body, m->data.len - m->body, re, all, fn,
				      arg, limited, &stop);
	return calls;
}

size_t md_pat_search_str(const char *s, size_t len, const pcre2_code *re, int all,
			 md_match_fn fn, void *arg, int *limited)
{
	int stop = 0;
	return search_one(s ? s : "", len, re, all, fn, arg, limited, &stop);
}
