/* cmd_select: SELECT, EXAMINE, CLOSE, UNSELECT, EXPUNGE (and UID EXPUNGE). */
#include "imapd.h"

#include <malloc.h>
#include <string.h>
#include <strings.h>

static void report_selected(struct session *s)
{
	struct mailbox *mb = s->sel;
	size_t recent = 0, unseen = 0;
	for (size_t i = 0; i < mb->count; i++) {
		recent += mb->msgs[i].recent;
		if (unseen == 0 && !mdflags_has(&mb->msgs[i].flags, MDFLAG_SEEN))
			unseen = i + 1;
	}
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
}

static void select_common(struct session *s, struct parser *ps, int readonly)
{
	struct buf name = BUF_INIT, path = BUF_INIT;
	const char *err = NULL;
	if (p_sp(ps) < 0 || p_mailbox(s, ps, &name) < 0 || p_eol(ps) < 0) {
		out_bad(s, ps);
		goto done;
	}
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
	malloc_trim(0); /* the scan's temporary memory goes back to the system */
	out_tagged(s, "OK", "[%s] %s completed", readonly ? "READ-ONLY" : "READ-WRITE",
		   readonly ? "EXAMINE" : "SELECT");
done:
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
