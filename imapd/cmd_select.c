/* cmd_select: SELECT, EXAMINE, CLOSE, UNSELECT, EXPUNGE (and UID EXPUNGE). */
#include "imapd.h"

#include <malloc.h>
#include <string.h>
#include <strings.h>

void out_mailbox_flags(struct session *s)
{
	struct mailbox *mb = s->sel;
	out_str(s, "* FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft");
	for (int k = 0; k < mb->nkeywords; k++)
		if (mb->keywords[k] != NULL)
			out_fmt(s, " %s", mb->keywords[k]);
	out_str(s, ")\r\n");
	out_str(s, "* OK [PERMANENTFLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft");
	for (int k = 0; k < mb->nkeywords; k++)
		if (mb->keywords[k] != NULL)
			out_fmt(s, " %s", mb->keywords[k]);
	out_fmt(s, "%s)] Flags permitted\r\n", mb->readonly ? "" : " \\*");
}

static void report_selected(struct session *s)
{
	struct mailbox *mb = s->sel;
	size_t recent = 0, unseen = 0;
	for (size_t i = 0; i < mb->count; i++) {
		recent += mb->msgs[i].recent;
		if (unseen == 0 && !mdflags_has(&mb->msgs[i].flags, MDFLAG_SEEN))
			unseen = i + 1;
	}
	out_mailbox_flags(s);
	out_fmt(s, "* %zu EXISTS\r\n", mb->count);
	if (s->rev2) {
		/* RFC 9051 6.3.2: a LIST response with the name, no RECENT or UNSEEN */
		out_str(s, "* LIST () \".\" ");
		out_mailbox(s, mb->name);
		out_str(s, "\r\n");
	} else {
		out_fmt(s, "* %zu RECENT\r\n", recent);
		if (unseen)
			out_fmt(s, "* OK [UNSEEN %zu] First unseen\r\n", unseen);
	}
	out_fmt(s, "* OK [UIDVALIDITY %lu] UIDs valid\r\n", (unsigned long)mb->uidvalidity);
	out_fmt(s, "* OK [UIDNEXT %lu] Predicted next UID\r\n", (unsigned long)mb->uidnext);
	if (s->condstore)
		out_fmt(s, "* OK [HIGHESTMODSEQ %llu] Highest\r\n",
			(unsigned long long)mb->highestmodseq);
}

/* SELECT's (CONDSTORE) and (QRESYNC (uidvalidity modseq [known-uids]
 * [(seqs uids)])) parameters (RFC 7162 3.1.8, 3.2.5); the sequence match
 * data is checked and not used. */
struct qresync {
	int condstore, given;
	uint64_t validity, modseq;
	struct seqset known, seqs, uids;
};

static int parse_qresync(struct parser *ps, struct qresync *q)
{
	if (p_sp(ps) < 0 || p_char(ps, '(') < 0 || p_number(ps, &q->validity) < 0 ||
	    p_sp(ps) < 0 || p_number(ps, &q->modseq) < 0 || q->validity == 0 ||
	    q->validity > UINT32_MAX || q->modseq == 0)
		return -1;
	q->given = 1;
	if (p_peek(ps, ' ') && ps->p + 1 < ps->end && ps->p[1] != '(') {
		ps->p++;
		if (seqset_parse(ps, &q->known) < 0)
			return -1;
	}
	if (p_peek(ps, ' ')) {
		ps->p++;
		if (p_char(ps, '(') < 0 || seqset_parse(ps, &q->seqs) < 0 || p_sp(ps) < 0 ||
		    seqset_parse(ps, &q->uids) < 0 || p_char(ps, ')') < 0)
			return -1;
	}
	return p_char(ps, ')');
}

static int parse_select_params(struct session *s, struct parser *ps, struct qresync *q)
{
	struct buf w = BUF_INIT;
	int rc = 0;
	if (!p_peek(ps, ' '))
		return 0;
	ps->p++;
	if (p_char(ps, '(') < 0)
		return -1;
	for (int i = 0; rc == 0 && !p_peek(ps, ')'); i++) {
		if ((i > 0 && p_sp(ps) < 0) || p_atom(ps, &w) < 0)
			rc = -1;
		else if (strcasecmp(buf_cstr(&w), "CONDSTORE") == 0)
			q->condstore = 1;
		else if (strcasecmp(buf_cstr(&w), "QRESYNC") == 0 && s->qresync && !q->given)
			rc = parse_qresync(ps, q);
		else {
			ps->err = "Unknown SELECT parameter (QRESYNC needs ENABLE QRESYNC)";
			rc = -1;
		}
	}
	buf_free(&w);
	return rc == 0 ? p_char(ps, ')') : -1;
}

/* QRESYNC: what changed since the client's modseq (RFC 7162 3.2.5.1). */
static void report_qresync(struct session *s, struct qresync *q)
{
	struct mailbox *mb = s->sel;
	struct buf v = BUF_INIT;
	if (q->validity != mb->uidvalidity)
		return;
	if (q->known.count == 0) {
		uint32_t all[1] = { 1 };
		seqset_from_uids(&q->known, all, 1);
		q->known.r[0][1] = SEQ_STAR;
	}
	mailbox_vanished_since(mb, &q->known, q->modseq, &v);
	if (v.len)
		out_fmt(s, "* VANISHED (EARLIER) %s\r\n", buf_cstr(&v));
	uint32_t top = mb->count ? mb->msgs[mb->count - 1].uid : 0;
	for (size_t i = 0; i < mb->count; i++) {
		struct msg *m = &mb->msgs[i];
		if (m->modseq <= q->modseq || !seqset_has(&q->known, m->uid, top))
			continue;
		out_fmt(s, "* %zu FETCH (UID %lu FLAGS ", i + 1, (unsigned long)m->uid);
		out_flags(s, mb, &m->flags, m->recent);
		out_fmt(s, " MODSEQ (%llu))\r\n", (unsigned long long)m->modseq);
	}
	buf_free(&v);
}

static void select_common(struct session *s, struct parser *ps, int readonly)
{
	struct buf name = BUF_INIT, path = BUF_INIT;
	const char *err = NULL;
	struct qresync q;
	memset(&q, 0, sizeof q);
	if (p_sp(ps) < 0 || p_mailbox(s, ps, &name) < 0 || parse_select_params(s, ps, &q) < 0 ||
	    p_eol(ps) < 0) {
		out_bad(s, ps);
		goto done;
	}
	if (q.condstore || q.given)
		s->condstore = 1;
	if (strncasecmp(buf_cstr(&name), "INBOX", 5) == 0 && (name.len == 5 || name.data[5] == '.'))
		memcpy(name.data, "INBOX", 5); /* the name as LIST gives it */
	if (s->sel != NULL) {
		mailbox_close(s->sel);
		s->sel = NULL;
		out_str(s, "* OK [CLOSED] Previous mailbox closed\r\n");
	}
	if (folder_path(s, buf_cstr(&name), &path, &err) < 0 || !folder_exists(buf_cstr(&path))) {
		out_tagged(s, "NO", "[NONEXISTENT] %s", err ? err : "No such mailbox");
		goto done;
	}
	s->sel = mailbox_open(s, buf_cstr(&path), buf_cstr(&name), readonly);
	if (s->sel == NULL) {
		out_tagged(s, "NO", "[SERVERBUG] Cannot open mailbox");
		goto done;
	}
	report_selected(s);
	if (q.given)
		report_qresync(s, &q);
	malloc_trim(0); /* the scan's temporary memory goes back to the system */
	out_tagged(s, "OK", "[%s] %s completed", readonly ? "READ-ONLY" : "READ-WRITE",
		   readonly ? "EXAMINE" : "SELECT");
done:
	seqset_free(&q.known);
	seqset_free(&q.seqs);
	seqset_free(&q.uids);
	buf_free(&name);
	buf_free(&path);
}

void cmd_select(struct session *s, struct parser *ps)
{
	select_common(s, ps, 0);
}

void cmd_examine(struct session *s, struct parser *ps)
{
	select_common(s, ps, 1);
}

void cmd_close(struct session *s, struct parser *ps)
{
	if (p_eol(ps) < 0)
		return out_bad(s, ps);
	if (!s->sel->readonly)
		mailbox_expunge(s, NULL);
	mailbox_close(s->sel);
	s->sel = NULL;
	out_tagged(s, "OK", "CLOSE completed");
}

void cmd_unselect(struct session *s, struct parser *ps)
{
	if (p_eol(ps) < 0)
		return out_bad(s, ps);
	mailbox_close(s->sel);
	s->sel = NULL;
	out_tagged(s, "OK", "UNSELECT completed");
}

void cmd_expunge(struct session *s, struct parser *ps)
{
	struct seqset set = { NULL, 0, 0 };
	if (s->uid && (p_sp(ps) < 0 || seqset_parse(ps, &set) < 0))
		return out_bad(s, ps);
	if (p_eol(ps) < 0) {
		seqset_free(&set);
		return out_bad(s, ps);
	}
	if (s->sel->readonly) {
		seqset_free(&set);
		return out_tagged(s, "NO", "[READ-ONLY] Mailbox is read-only");
	}
	mailbox_expunge(s, s->uid ? &set : NULL);
	seqset_free(&set);
	out_done(s, "OK", "EXPUNGE completed");
}
