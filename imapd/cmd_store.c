/* cmd_store: STORE and UID STORE: FLAGS, +FLAGS, -FLAGS (.SILENT). Each
 * change is applied to the message's current flags on disk (mailbox.c finds
 * a file another session renamed), so concurrent changes are not lost. */
#include "imapd.h"

#include "alloc.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

static const struct {
	const char *name;
	char letter;
} sysflags[] = {
	{ "\\Answered", 'R' }, { "\\Flagged", 'F' }, { "\\Deleted", 'T' },
	{ "\\Seen", 'S' },     { "\\Draft", 'D' },
};

/* Flag names to Maildir letters (keywords get letters on demand). */
static int parse_flag_list(struct session *s, struct parser *ps, struct mailbox *mb,
			   struct mdflags *f)
{
	struct buf name = BUF_INIT;
	int paren = p_peek(ps, '('), rc = 0;
	memset(f, 0, sizeof *f);
	if (paren)
		ps->p++;
	for (int i = 0; rc == 0 && !(paren && p_peek(ps, ')')) && !(!paren && i > 0 && !p_peek(ps, ' ')); i++) {
		if ((i > 0 && p_sp(ps) < 0) || p_flag(ps, &name) < 0) {
			rc = -1;
			break;
		}
		const char *n = buf_cstr(&name);
		int letter = -1;
		for (size_t k = 0; k < sizeof sysflags / sizeof sysflags[0]; k++)
			if (strcasecmp(n, sysflags[k].name) == 0)
				letter = sysflags[k].letter;
		if (letter < 0 && n[0] == '\\') {
			ps->err = "Unknown system flag";
			rc = -1;
		} else if (letter < 0 && mb != NULL) {
			letter = keywords_letter(mb, n, !mb->readonly);
		}
		if (letter > 0)
			mdflags_add(f, letter);
	}
	if (rc == 0 && paren)
		rc = p_char(ps, ')');
	buf_free(&name);
	(void)s;
	return rc;
}

int store_parse_flags(struct session *s, struct parser *ps, struct mailbox *mb, struct mdflags *f)
{
	return parse_flag_list(s, ps, mb, f);
}

static void apply(struct mdflags *cur, const struct mdflags *f, int mode)
{
	if (mode == 0) {
		struct mdflags keep = { { 0, 0 } };
		for (int c = 0x21; c < 0x7f; c++) /* foreign letters we do not map stay */
			if (mdflags_has(cur, c) && !(c >= 'a' && c <= 'z') && !strchr("DFPRST", c))
				mdflags_add(&keep, c);
		if (mdflags_has(cur, 'P'))
			mdflags_add(&keep, 'P');
		*cur = keep;
	}
	for (int c = 0x21; c < 0x7f; c++)
		if (mdflags_has(f, c)) {
			if (mode >= 0)
				mdflags_add(cur, c);
			else
				mdflags_remove(cur, c);
		}
}

/* " (UNCHANGEDSINCE modseq)" (RFC 7162 3.1.3): 1 given, 0 not, -1 bad. */
static int parse_unchangedsince(struct parser *ps, uint64_t *since)
{
	struct buf w = BUF_INIT;
	if (ps->end - ps->p < 2 || ps->p[0] != ' ' || ps->p[1] != '(')
		return 0;
	ps->p += 2;
	int ok = p_atom(ps, &w) == 0 && strcasecmp(buf_cstr(&w), "UNCHANGEDSINCE") == 0 &&
		 p_sp(ps) == 0 && p_number(ps, since) == 0 && p_char(ps, ')') == 0;
	buf_free(&w);
	if (!ok && ps->err == NULL)
		ps->err = "Bad STORE modifier";
	return ok ? 1 : -1;
}

/* The reply for one message: now, unless its flags changed and CONDSTORE's
 * sync will report them with their new MODSEQ. */
static void store_report(struct session *s, size_t seq, struct msg *m, int renamed, int silent)
{
	if (s->condstore && renamed) {
		s->sel->rescan = 1;
		return;
	}
	if (silent)
		return;
	out_fmt(s, "* %zu FETCH (FLAGS ", seq);
	out_flags(s, s->sel, &m->flags, m->recent);
	if (s->uid || s->qresync)
		out_fmt(s, " UID %lu", (unsigned long)m->uid);
	if (s->condstore)
		out_fmt(s, " MODSEQ (%llu)", (unsigned long long)m->modseq);
	out_str(s, ")\r\n");
}

void cmd_store(struct session *s, struct parser *ps)
{
	struct seqset set;
	struct buf item = BUF_INIT, modified = BUF_INIT;
	struct mdflags f;
	uint64_t since = 0;
	if (p_sp(ps) < 0 || seqset_parse(ps, &set) < 0)
		return out_bad(s, ps);
	int cond = parse_unchangedsince(ps, &since);
	int ok = cond >= 0 && p_sp(ps) == 0 && p_flag(ps, &item) == 0 && p_sp(ps) == 0;
	const char *it = buf_cstr(&item);
	int mode = it[0] == '+' ? 1 : it[0] == '-' ? -1 : 0;
	if (mode != 0)
		it++;
	int silent = strcasecmp(it, "FLAGS.SILENT") == 0;
	ok = ok && (silent || strcasecmp(it, "FLAGS") == 0);
	int nkeywords = s->sel->nkeywords;
	ok = ok && parse_flag_list(s, ps, s->sel, &f) == 0 && p_eol(ps) == 0;
	if (ok && s->sel->nkeywords != nkeywords)
		out_mailbox_flags(s); /* before any FETCH uses the new keyword */
	buf_free(&item);
	if (!ok) {
		seqset_free(&set);
		return out_bad(s, ps);
	}
	if (s->sel->readonly) {
		seqset_free(&set);
		return out_tagged(s, "NO", "[READ-ONLY] Mailbox is read-only");
	}
	struct mailbox *mb = s->sel;
	if (!s->uid && !seqset_valid_seq(&set, mb->count)) {
		seqset_free(&set);
		return out_tagged(s, "BAD", "Invalid message sequence number");
	}
	if (cond)
		condstore_enable(s);
	if (s->condstore) { /* the modseqs as the disk has them now */
		mb->rescan = 1;
		mailbox_sync(s, s->expunge_ok);
	}
	char *sel = xcalloc(mb->count ? mb->count : 1, 1);
	seqset_select(&set, mb, s->uid, sel);
	/* without CONDSTORE no modseq is owed now: spare the next command a
	 * scan of the whole folder for these renames (imapd.h) */
	int own_only = !s->condstore && mailbox_cur_unchanged(mb), renamed = 0;
	for (size_t i = 0; i < mb->count; i++) {
		struct msg *m = &mb->msgs[i];
		if (!sel[i] || m->gone)
			continue;
		if (cond && m->modseq > since) {
			buf_printf(&modified, "%s%lu", modified.len ? "," : "",
				   (unsigned long)(s->uid ? m->uid : i + 1));
			continue;
		}
		const char *before = m->name;
		for (int attempt = 0; attempt < 3; attempt++) {
			struct mdflags nf = m->flags;
			apply(&nf, &f, mode);
			if (mailbox_set_flags(mb, m, &nf) != 1)
				break;
		}
		renamed |= m->name != before;
		store_report(s, i + 1, m, m->name != before, silent);
	}
	if (own_only && renamed)
		mailbox_own_renames(mb);
	free(sel);
	seqset_free(&set);
	if (modified.len)
		out_done(s, "OK", "[MODIFIED %s] Conditional STORE failed", buf_cstr(&modified));
	else
		out_done(s, "OK", "STORE completed");
	buf_free(&modified);
}
