/* mdmsg: the message maildrop filters, and pattern matching on it (PCRE2).
 *
 * The message is held in memory (bounded by the caller). Header lines are
 * unfolded once (a continuation line joins the one before it, its leading
 * blanks kept) and matched one by one, as are body lines. Patterns come from
 * the user's own filter but the message is hostile: matching runs with PCRE2
 * match and depth limits, and a match that hits them counts as no match. */
#ifndef ESTAFETTE_MDMSG_H
#define ESTAFETTE_MDMSG_H

#include "buf.h"

#include <stddef.h>

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

struct md_msg {
	struct buf data;     /* the whole message */
	size_t body;         /* offset of the body, after the empty line */
	struct buf unfolded; /* header lines, unfolded, each ending in '\n' */
	unsigned long lines; /* LINES */
};

void md_msg_init(struct md_msg *m);
void md_msg_free(struct md_msg *m);
/* Take the message from data (emptied); splits header and body. */
void md_msg_set(struct md_msg *m, struct buf *data);

/* Compile a pattern; flags are MD_PAT_* (only MD_PAT_CASE matters here).
 * NULL with the reason in err. */
pcre2_code *md_pat_compile(const char *pat, size_t len, unsigned flags, struct buf *err);

/* Called for every match; return nonzero to stop. md holds the groups. */
typedef int (*md_match_fn)(void *arg, const char *subject, size_t len, pcre2_match_data *md);

/* Match re against each line of the header (MD_PAT_HEADER, also the default
 * when neither is set), the body (MD_PAT_BODY), or both. Once per line unless
 * all is set (then every non-overlapping match in the line). Returns the
 * number of calls made; *limited is set when a match ran into a limit. */
size_t md_pat_search(const struct md_msg *m, const pcre2_code *re, unsigned flags, int all,
		     md_match_fn fn, void *arg, int *limited);
/* The same on one string (not split into lines). */
size_t md_pat_search_str(const char *s, size_t len, const pcre2_code *re, int all,
			 md_match_fn fn, void *arg, int *limited);

#endif
