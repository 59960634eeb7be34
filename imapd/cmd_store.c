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

void cmd_store(struct session *s, struct parser *ps)
{
	struct seqset set;
	struct buf item = BUF_INIT;
	struct mdflags f;
	if (p_sp(ps) < 0 || seqset_parse(ps, &set) < 0)
		return out_bad(s, ps);
	int ok = p_sp(ps) == 0 && p_flag(ps, &item) == 0 && p_sp(ps) == 0;
	const char *it = buf_cstr(&item);
	int mode = it[0] == '+' ? 1 : it[0] == '-' ? -1 : 0;
	if (mode != 0)
		it++;
	int silent = strcasecmp(it, "FLAGS.SILENT") == 0;
	ok = ok && (silent || strcasecmp(it, "FLAGS") == 0);
	ok = ok && parse_flag_list(s, ps, s->sel, &f) == 0 && p_eol(ps) == 0;
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
	char *sel = xcalloc(mb->count ? mb->count : 1, 1);
	seqset_select(&set, mb, s->uid, sel);
	for (size_t i = 0; i < mb->count; i++) {
		struct msg *m = &mb->msgs[i];
		if (!sel[i] || m->gone)
			continue;
		for (int attempt = 0; attempt < 3; attempt++) {
			struct mdflags nf = m->flags;
			apply(&nf, &f, mode);
			if (mailbox_set_flags(mb, m, &nf) != 1)
				break;
		}
		if (!silent) {
			out_fmt(s, "* %zu FETCH (FLAGS ", i + 1);
			out_flags(s, mb, &m->flags, m->recent);
			if (s->uid)
				out_fmt(s, " UID %lu", (unsigned long)m->uid);
			out_str(s, ")\r\n");
		}
	}
	free(sel);
	seqset_free(&set);
	out_done(s, "OK", "STORE completed");
}
