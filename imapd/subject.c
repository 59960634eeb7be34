/* subject: the base subject of RFC 5256 2.1 for SORT SUBJECT and THREAD,
 * and the sort keys of one message's header (sent date, first addresses).
 * The header is untrusted: every loop moves forward, nothing recurses. */
#define _GNU_SOURCE /* memmem, memrchr, qsort_r */
#include "imapd.h"

#include "addrlist.h"
#include "date.h"
#include "mime.h"
#include "mimetext.h"

#include <string.h>
#include <strings.h>

static int is_wsp(char c)
{
	return c == ' ' || c == '\t';
}

/* A "[...]" blob with its trailing spaces at p, or NULL. */
static const char *skip_blob(const char *p, const char *e)
{
	if (p >= e || *p != '[')
		return NULL;
	for (p++; p < e && *p != ']'; p++)
		if (*p == '[')
			return NULL;
	if (p >= e)
		return NULL;
	for (p++; p < e && is_wsp(*p); p++)
		;
	return p;
}

/* subj-refwd at p: "re" / "fw" / "fwd", spaces, an optional blob, ":". */
static const char *skip_refwd(const char *p, const char *e)
{
	if (e - p >= 3 && strncasecmp(p, "fwd", 3) == 0)
		p += 3;
	else if (e - p >= 2 && (strncasecmp(p, "re", 2) == 0 || strncasecmp(p, "fw", 2) == 0))
		p += 2;
	else
		return NULL;
	while (p < e && is_wsp(*p))
		p++;
	const char *b = skip_blob(p, e);
	if (b)
		p = b;
	return p < e && *p == ':' ? p + 1 : NULL;
}

/* Steps 2 to 5 of the base subject: trailers, leaders, blobs. */
static void strip(const char **bp, const char **ep, int *reply)
{
	const char *b = *bp, *e = *ep;
	for (int changed = 1; changed;) {
		changed = 0;
		for (;;) {                       /* (2) trailers */
			if (e > b && is_wsp(e[-1]))
				e--;
			else if (e - b >= 5 && strncasecmp(e - 5, "(fwd)", 5) == 0)
				e -= 5;
			else
				break;
		}
		for (int again = 1; again;) {    /* (3), (4) leaders and blobs */
			again = 0;
			const char *p = b;
			while (p < e && is_wsp(*p))
				p++;
			const char *r = p, *t;
			while ((t = skip_blob(r, e)) != NULL)
				r = t;
			if ((t = skip_refwd(r, e)) != NULL) {
				p = t;
				again = 1;
				*reply = 1;
			} else if ((t = skip_blob(p, e)) != NULL && t < e) {
				p = t;
				again = 1;
			}
			if (p != b)
				changed = 1;
			b = p;
		}
	}
	*bp = b;
	*ep = e;
}

int subject_base(struct buf *out, const char *v, size_t len)
{
	int reply = 0;
	struct buf d = BUF_INIT;
	mimetext_header(&d, v, len);
	buf_reset(out);
	for (size_t i = 0; i < d.len; i++) {  /* (1) runs of white space to one space */
		char c = d.data[i];
		if (c == '\t' || c == '\r' || c == '\n')
			c = ' ';
		if (c == ' ' && out->len && out->data[out->len - 1] == ' ')
			continue;
		buf_append(out, &c, 1);
	}
	const char *b = out->data ? out->data : "", *e = b + out->len;
	for (;;) {
		strip(&b, &e, &reply);
		if (e - b >= 6 && strncasecmp(b, "[fwd:", 5) == 0 && e[-1] == ']') {
			b += 5;                  /* (6) */
			reply = 1;
			e--;
			continue;
		}
		break;
	}
	buf_set(&d, b, (size_t)(e - b));
	for (size_t i = 0; i < d.len; i++)      /* i;ascii-casemap */
		if (d.data[i] >= 'a' && d.data[i] <= 'z')
			d.data[i] = (char)(d.data[i] - 'a' + 'A');
	buf_set(out, d.data ? d.data : "", d.len);
	buf_free(&d);
	return reply;
}

/* The sent date (RFC 5256: the internal date when there is none). */
time_t subject_sent_date(const char *hdr, size_t len, time_t internal)
{
	struct buf v = BUF_INIT;
	time_t t;
	int zone;
	int ok = mime_header_get(hdr, len, "Date", &v) &&
		 date_parse_rfc5322(v.data, v.len, &t, &zone, NULL) == 0;
	buf_free(&v);
	return ok ? t : internal;
}

/* The first address of field: its mailbox (local part), or with display set
 * its display name or else the whole address (RFC 5957); a group's name for
 * either; casemapped. */
void subject_addr_key(struct buf *out, const char *hdr, size_t len, const char *field,
		      int display)
{
	struct buf v = BUF_INIT;
	struct addrlist l = ADDRLIST_INIT;
	struct addrlist_opts o = { 0, 0, 0, ADDRLIST_KEEP_INVALID | ADDRLIST_GROUPS };
	buf_reset(out);
	if (mime_header_get(hdr, len, field, &v) &&
	    addrlist_parse(v.data ? v.data : "", v.len, &o, &l, NULL) == ADDRLIST_OK && l.count) {
		const struct buf *n = &l.items[0].name, *a = &l.items[0].address;
		/* a group first: its name is its mailbox, as ENVELOPE shows it */
		if ((display || l.items[0].group == ADDRLIST_GROUP_START) && n->len) {
			mimetext_header(out, n->data, n->len);
			if (out->len >= 2 && out->data[0] == '"' && out->data[out->len - 1] == '"') {
				memmove(out->data, out->data + 1, out->len - 2);
				out->len -= 2;
			}
		} else if (a->len) {
			const char *at = display ? NULL : memrchr(a->data, '@', a->len);
			buf_set(out, a->data, at ? (size_t)(at - a->data) : a->len);
		}
	}
	for (size_t i = 0; i < out->len; i++)
		if (out->data[i] >= 'a' && out->data[i] <= 'z')
			out->data[i] = (char)(out->data[i] - 'a' + 'A');
	addrlist_free(&l);
	buf_free(&v);
}
