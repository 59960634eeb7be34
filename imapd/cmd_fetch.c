/* cmd_fetch: FETCH and UID FETCH (RFC 3501 6.4.5). The attribute list is
 * parsed whole first (nesting and counts bounded), then each message is
 * answered; a message body is read and parsed only if an attribute needs it.
 * Offsets of sections and partials count the CRLF form of the message. */
#include "imapd.h"

#include "alloc.h"
#include "date.h"
#include "mime.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define FETCH_MAX_ATTS 64
#define SECTION_MAX_PARTS 32
#define FIELDS_MAX 64

enum att_kind { A_FLAGS, A_UID, A_INTERNALDATE, A_SIZE, A_MODSEQ, A_ENVELOPE, A_BODYSTRUCTURE, A_BODY,
		A_SECTION, A_RFC822, A_RFC822_HEADER, A_RFC822_TEXT, A_BINARY, A_BINARY_SIZE };
enum sec_text { S_NONE, S_HEADER, S_FIELDS, S_FIELDS_NOT, S_TEXT, S_MIME };

struct att {
	enum att_kind kind;
	int peek;
	uint32_t parts[SECTION_MAX_PARTS];
	int nparts;
	enum sec_text text;
	struct buf fields[FIELDS_MAX];
	int nfields;
	int partial;
	uint64_t start, count;
	struct buf echo; /* BODY[...] as the reply names it */
};

struct fetch {
	struct att atts[FETCH_MAX_ATTS];
	int n;
	int set_seen;
	int unknown_cte; /* a BINARY part had an encoding we cannot decode */
	int changedsince, vanished; /* RFC 7162 FETCH modifiers */
	uint64_t since;
};

static char upper(char c)
{
	return c >= 'a' && c <= 'z' ? (char)(c - 32) : c;
}

static void fetch_free(struct fetch *f)
{
	for (int i = 0; i < f->n; i++) {
		for (int k = 0; k < f->atts[i].nfields; k++)
			buf_free(&f->atts[i].fields[k]);
		buf_free(&f->atts[i].echo);
	}
}

static struct att *add_att(struct fetch *f, struct parser *ps, enum att_kind k)
{
	if (f->n >= FETCH_MAX_ATTS) {
		ps->err = "Too many FETCH attributes";
		return NULL;
	}
	struct att *a = &f->atts[f->n++];
	memset(a, 0, sizeof *a);
	a->kind = k;
	return a;
}

static int parse_fields(struct parser *ps, struct att *a)
{
	struct buf name = BUF_INIT;
	if (p_sp(ps) < 0 || p_char(ps, '(') < 0)
		return -1;
	buf_append_str(&a->echo, " (");
	while (!p_peek(ps, ')')) {
		if (a->nfields > 0 && p_sp(ps) < 0)
			return -1;
		if (a->nfields >= FIELDS_MAX) {
			ps->err = "Too many header fields";
			return -1;
		}
		if (p_astring(ps, &name) < 0 || buf_has_nul(&name)) {
			buf_free(&name); /* a quoted string may have failed half-way */
			return -1;
		}
		buf_init(&a->fields[a->nfields]);
		buf_append_buf(&a->fields[a->nfields++], &name);
		if (a->nfields > 1)
			buf_append_char(&a->echo, ' ');
		for (size_t i = 0; i < name.len; i++)
			buf_append_char(&a->echo, (char)((name.data[i] >= 'a' && name.data[i] <= 'z') ?
							 name.data[i] - 32 : name.data[i]));
		buf_free(&name);
	}
	buf_free(&name);
	buf_append_char(&a->echo, ')');
	return a->nfields > 0 ? p_char(ps, ')') : -1;
}

/* "[1.2.HEADER.FIELDS (A B)]<0.100>" after BODY or BODY.PEEK */
static int parse_section(struct parser *ps, struct att *a)
{
	struct buf word = BUF_INIT;
	int rc = -1;
	buf_append_char(&a->echo, '[');
	p_char(ps, '[');
	while (ps->p < ps->end && *ps->p >= '1' && *ps->p <= '9') {
		uint64_t n;
		if (a->nparts >= SECTION_MAX_PARTS || p_number(ps, &n) < 0 || n > UINT32_MAX)
			goto done;
		a->parts[a->nparts++] = (uint32_t)n;
		buf_printf(&a->echo, "%s%llu", a->nparts > 1 ? "." : "", (unsigned long long)n);
		if (!p_peek(ps, '.'))
			break;
		ps->p++;
		if (!(ps->p < ps->end && *ps->p >= '1' && *ps->p <= '9'))
			break;
	}
	if (!p_peek(ps, ']')) {
		while (ps->p < ps->end && *ps->p != '\0' && strchr("HEADRFILSTXMNO.", upper(*ps->p)) &&
		       word.len < 32)
			buf_append_char(&word, upper(*ps->p++));
		const char *w = buf_cstr(&word);
		if (a->nparts)
			buf_append_char(&a->echo, '.');
		buf_append_str(&a->echo, w);
		if (strcmp(w, "HEADER") == 0)
			a->text = S_HEADER;
		else if (strcmp(w, "TEXT") == 0)
			a->text = S_TEXT;
		else if (strcmp(w, "MIME") == 0 && a->nparts > 0)
			a->text = S_MIME;
		else if (strcmp(w, "HEADER.FIELDS") == 0)
			a->text = S_FIELDS;
		else if (strcmp(w, "HEADER.FIELDS.NOT") == 0)
			a->text = S_FIELDS_NOT;
		else {
			ps->err = "Bad section";
			goto done;
		}
		if ((a->text == S_FIELDS || a->text == S_FIELDS_NOT) && parse_fields(ps, a) < 0)
			goto done;
	}
	if (p_char(ps, ']') < 0)
		goto done;
	buf_append_char(&a->echo, ']');
	if (p_peek(ps, '<')) {
		ps->p++;
		if (p_number(ps, &a->start) < 0 || p_char(ps, '.') < 0 ||
		    p_number(ps, &a->count) < 0 || a->count == 0 || p_char(ps, '>') < 0)
			goto done;
		a->partial = 1;
	}
	rc = 0;
done:
	buf_free(&word);
	return rc;
}

static const struct {
	const char *name;
	enum att_kind kind;
} simple_atts[] = {
	{ "FLAGS", A_FLAGS }, { "UID", A_UID }, { "INTERNALDATE", A_INTERNALDATE },
	{ "RFC822.SIZE", A_SIZE }, { "ENVELOPE", A_ENVELOPE },
	{ "BODYSTRUCTURE", A_BODYSTRUCTURE }, { "RFC822", A_RFC822 },
	{ "RFC822.HEADER", A_RFC822_HEADER }, { "RFC822.TEXT", A_RFC822_TEXT },
	{ "MODSEQ", A_MODSEQ },
};

static int macro(struct fetch *f, struct parser *ps, const char *w)
{
	static const enum att_kind all[] = { A_FLAGS, A_INTERNALDATE, A_SIZE, A_ENVELOPE, A_BODY };
	int n = strcmp(w, "FAST") == 0 ? 3 : strcmp(w, "ALL") == 0 ? 4 :
		strcmp(w, "FULL") == 0 ? 5 : 0;
	for (int i = 0; i < n; i++)
		if (add_att(f, ps, all[i]) == NULL)
			return -1;
	return n > 0 ? 0 : -1;
}

static int parse_att(struct fetch *f, struct parser *ps, int top)
{
	struct buf w = BUF_INIT;
	int rc = -1;
	while (ps->p < ps->end && *ps->p != '\0' && w.len < 32 &&
	       strchr("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.", upper(*ps->p)))
		buf_append_char(&w, upper(*ps->p++));
	const char *word = buf_cstr(&w);
	if (top && macro(f, ps, word) == 0) {
		rc = 0;
		goto done;
	}
	for (size_t i = 0; i < sizeof simple_atts / sizeof simple_atts[0]; i++)
		if (strcmp(word, simple_atts[i].name) == 0) {
			rc = add_att(f, ps, simple_atts[i].kind) ? 0 : -1;
			goto done;
		}
	if (strcmp(word, "BODY") == 0 || strcmp(word, "BODY.PEEK") == 0) {
		if (!p_peek(ps, '[') && word[4] == '\0') {
			rc = add_att(f, ps, A_BODY) ? 0 : -1;
			goto done;
		}
		struct att *a = add_att(f, ps, A_SECTION);
		if (a == NULL)
			goto done;
		a->peek = word[4] != '\0';
		rc = parse_section(ps, a);
		goto done;
	}
	if (strncmp(word, "BINARY", 6) == 0 && p_peek(ps, '[')) {
		int size = strcmp(word, "BINARY.SIZE") == 0, peek = strcmp(word, "BINARY.PEEK") == 0;
		struct att *a = word[6] == '\0' || size || peek ?
			add_att(f, ps, size ? A_BINARY_SIZE : A_BINARY) : NULL;
		if (a == NULL)
			goto bad;
		a->peek = peek || size;
		/* section-binary: part numbers only; no partial with BINARY.SIZE */
		if (parse_section(ps, a) == 0 && a->text == S_NONE && !(size && a->partial))
			rc = 0;
		else
			ps->err = "Bad BINARY section";
		goto done;
	}
bad:
	ps->err = "Unknown FETCH attribute";
done:
	buf_free(&w);
	return rc;
}

static int parse_atts(struct fetch *f, struct parser *ps)
{
	if (!p_peek(ps, '('))
		return parse_att(f, ps, 1);
	ps->p++;
	for (int i = 0; !p_peek(ps, ')'); i++)
		if ((i > 0 && p_sp(ps) < 0) || parse_att(f, ps, 0) < 0)
			return -1;
	return p_char(ps, ')');
}

/* The part a section's numbers name, or -1. */
static int resolve_part(const struct mime_msg *m, const struct att *a)
{
	int cur = 0;
	for (int i = 0; i < a->nparts; i++) {
		/* the container of this level: the root first, then what part cur holds
		 * (the root itself may be a message/rfc822 holding a message) */
		int c = i == 0 ? 0 : m->parts[cur].is_message ? m->parts[cur].first_child :
			m->parts[cur].is_multipart ? cur : -1;
		if (c < 0)
			return -1;
		if (m->parts[c].is_multipart) {
			int k = m->parts[c].first_child;
			for (uint32_t n = 1; k >= 0 && n < a->parts[i]; n++)
				k = m->parts[k].next;
			if (k < 0)
				return -1;
			cur = k;
		} else if (a->parts[i] == 1) {
			cur = c;
		} else {
			return -1;
		}
	}
	return cur;
}

struct fields_ctx {
	const struct att *a;
	const char *hdr;
	struct buf *out;
};

static int fields_fn(const char *name, size_t nlen, const char *v, size_t vlen, size_t foff,
		     size_t flen, void *ctx)
{
	struct fields_ctx *fc = ctx;
	int match = 0;
	(void)v;
	(void)vlen;
	for (int i = 0; i < fc->a->nfields && !match; i++)
		match = fc->a->fields[i].len == nlen &&
			strncasecmp(fc->a->fields[i].data, name, nlen) == 0;
	if (match == (fc->a->text == S_FIELDS))
		buf_append(fc->out, fc->hdr + foff, flen);
	return 0;
}

/* The bytes a section names: a pointer into the message, or into tmp. */
static int section_data(const struct mime_msg *m, const struct att *a, struct buf *tmp,
			const char **p, size_t *len)
{
	int part = resolve_part(m, a);
	if (part < 0)
		return -1;
	const struct mime_part *pt = &m->parts[part];
	if (a->text == S_HEADER || a->text == S_TEXT || a->text == S_FIELDS ||
	    a->text == S_FIELDS_NOT) {
		if (a->nparts > 0) {
			if (!pt->is_message)
				return -1;
			pt = &m->parts[pt->first_child];
		}
	}
	switch (a->text) {
	case S_NONE:
		*p = m->data + (a->nparts ? pt->body_off : 0);
		*len = a->nparts ? pt->body_len : m->len;
		return 0;
	case S_HEADER:
	case S_MIME:
		*p = m->data + pt->hdr_off;
		*len = pt->hdr_len;
		return 0;
	case S_TEXT:
		*p = m->data + pt->body_off;
		*len = pt->body_len;
		return 0;
	default: {
		struct fields_ctx fc = { a, m->data + pt->hdr_off, tmp };
		buf_reset(tmp);
		mime_header_each(m->data + pt->hdr_off, pt->hdr_len, fields_fn, &fc);
		buf_append_str(tmp, "\r\n");
		*p = tmp->data;
		*len = tmp->len;
		return 0;
	}
	}
}

static void out_literal(struct session *s, const char *p, size_t len, const struct att *a)
{
	if (a != NULL && a->partial) {
		uint64_t start = a->start < len ? a->start : len;
		uint64_t n = len - start < a->count ? len - start : a->count;
		p += start;
		len = (size_t)n;
	}
	out_fmt(s, "{%zu}\r\n", len);
	if (memchr(p, '\0', len) == NULL) {
		out_data(s, p, len);
		return;
	}
	/* RFC 3501 literals carry no NUL: each goes out as 0x80 (as Dovecot does) */
	for (size_t i = 0; i < len;) {
		const char *z = memchr(p + i, '\0', len - i);
		size_t n = z ? (size_t)(z - (p + i)) : len - i;
		out_data(s, p + i, n);
		if (z != NULL)
			out_data(s, "\x80", 1);
		i += n + (z != NULL);
	}
}

struct msgdata {
	struct buf raw;
	struct mime_msg mime;
	int loaded, failed;
};

static int load(struct session *s, struct msg *m, struct msgdata *md)
{
	if (!md->loaded) {
		md->loaded = 1;
		md->failed = mailbox_read_msg(s->sel, m, &md->raw) < 0;
		if (!md->failed)
			mime_parse(&md->mime, md->raw.data ? md->raw.data : "", md->raw.len);
	}
	return md->failed ? -1 : 0;
}

/* BINARY[...] and BINARY.SIZE[...]: -1 for an unknown encoding. */
static int out_binary(struct session *s, const struct att *a, struct msgdata *md)
{
	struct buf dec = BUF_INIT;
	int part = resolve_part(&md->mime, a), rc = 0;
	int size = a->kind == A_BINARY_SIZE;
	out_fmt(s, "BINARY%s%s", size ? ".SIZE" : "", buf_cstr((struct buf *)&a->echo));
	if (a->partial)
		out_fmt(s, "<%llu>", (unsigned long long)a->start);
	if (part >= 0 && a->nparts == 0) /* BINARY[]: the whole message */
		buf_set(&dec, md->mime.data, md->mime.len);
	else if (part >= 0 && (rc = binary_decode(&md->mime, part, &dec)) < 0)
		buf_reset(&dec);
	if (size) {
		out_fmt(s, " %zu", part >= 0 ? dec.len : (size_t)0);
	} else if (part < 0 || rc < 0) {
		out_str(s, " NIL");
	} else {
		const char *p = dec.data ? dec.data : "";
		size_t len = dec.len;
		if (a->partial) {
			uint64_t st = a->start < len ? a->start : len;
			p += st;
			len = (size_t)(len - st < a->count ? len - st : a->count);
		}
		out_fmt(s, " %s{%zu}\r\n", memchr(p, '\0', len) ? "~" : "", len);
		out_data(s, p, len);
	}
	buf_free(&dec);
	return rc;
}

static void out_att(struct session *s, struct msg *m, const struct att *a, struct msgdata *md)
{
	struct buf tmp = BUF_INIT;
	const char *p;
	size_t len;
	switch (a->kind) {
	case A_FLAGS:
		out_str(s, "FLAGS ");
		out_flags(s, s->sel, &m->flags, m->recent);
		break;
	case A_UID:
		out_fmt(s, "UID %lu", (unsigned long)m->uid);
		break;
	case A_MODSEQ:
		out_fmt(s, "MODSEQ (%llu)", (unsigned long long)m->modseq);
		break;
	case A_INTERNALDATE:
		out_str(s, "INTERNALDATE ");
		date_format_imap(&tmp, mailbox_msg_mtime(s->sel, m), DATE_ZONE_UTC);
		out_data(s, tmp.data, tmp.len);
		break;
	case A_SIZE:
		out_fmt(s, "RFC822.SIZE %llu", (unsigned long long)mailbox_msg_size(s->sel, m));
		break;
	case A_ENVELOPE:
		out_str(s, "ENVELOPE ");
		if (m->env == NULL) {
			struct buf cap = BUF_INIT;
			s->capture = &cap;
			out_envelope(s, md->mime.data, 0, md->mime.parts[0].hdr_len);
			s->capture = NULL;
			m->env_len = (uint32_t)cap.len;
			m->env = buf_detach(&cap);
			m->env_owned = 1;
			s->sel->cache_dirty = 1;
		}
		out_data(s, m->env, m->env_len);
		break;
	case A_BODYSTRUCTURE:
		out_str(s, "BODYSTRUCTURE ");
		if (m->bs == NULL) {
			struct buf cap = BUF_INIT;
			s->capture = &cap;
			out_bodystructure(s, &md->mime, 0, 1);
			s->capture = NULL;
			m->bs_len = (uint32_t)cap.len;
			m->bs = buf_detach(&cap);
			m->bs_owned = 1;
			s->sel->cache_dirty = 1;
		}
		out_data(s, m->bs, m->bs_len);
		break;
	case A_BODY:
		out_str(s, a->kind == A_BODY ? "BODY " : "BODYSTRUCTURE ");
		out_bodystructure(s, &md->mime, 0, a->kind == A_BODYSTRUCTURE);
		break;
	case A_RFC822:
		out_str(s, "RFC822 ");
		out_literal(s, md->mime.data, md->mime.len, NULL);
		break;
	case A_RFC822_HEADER:
		out_str(s, "RFC822.HEADER ");
		out_literal(s, md->mime.data, md->mime.parts[0].hdr_len, NULL);
		break;
	case A_RFC822_TEXT:
		out_str(s, "RFC822.TEXT ");
		out_literal(s, md->mime.data + md->mime.parts[0].body_off,
			    md->mime.parts[0].body_len, NULL);
		break;
	case A_BINARY:
	case A_BINARY_SIZE:
		break; /* fetch_one: out_binary */
	case A_SECTION:
		out_fmt(s, "BODY%s", buf_cstr((struct buf *)&a->echo));
		if (a->partial)
			out_fmt(s, "<%llu>", (unsigned long long)a->start);
		out_str(s, " ");
		if (section_data(&md->mime, a, &tmp, &p, &len) < 0)
			out_str(s, "NIL");
		else
			out_literal(s, p, len, a);
		break;
	}
	buf_free(&tmp);
}

/* Whether answering f for m needs the message itself (not just the cache). */
static int needs_body(const struct fetch *f, const struct msg *m)
{
	for (int i = 0; i < f->n; i++) {
		enum att_kind k = f->atts[i].kind;
		if ((k == A_ENVELOPE && m->env == NULL) || (k == A_BODYSTRUCTURE && m->bs == NULL) ||
		    k >= A_BODY)
			return 1;
	}
	return 0;
}

/* One message's response; -1 if its file is gone. */
static int fetch_one(struct session *s, size_t seq, struct msg *m, struct fetch *f)
{
	struct msgdata md;
	int flags_done = 0, uid_done = 0;
	memset(&md, 0, sizeof md);
	if (needs_body(f, m) && load(s, m, &md) < 0)
		return -1;
	if (f->set_seen && !s->sel->readonly && !mdflags_has(&m->flags, MDFLAG_SEEN)) {
		for (int attempt = 0; attempt < 3; attempt++) {
			struct mdflags nf = m->flags;
			mdflags_add(&nf, MDFLAG_SEEN);
			int r = mailbox_set_flags(s->sel, m, &nf);
			if (r == 0)
				flags_done = -1; /* must be reported */
			if (r != 1)
				break;
		}
	}
	out_fmt(s, "* %zu FETCH (", seq);
	for (int i = 0; i < f->n; i++) {
		if (i > 0)
			out_str(s, " ");
		if (f->atts[i].kind == A_BINARY || f->atts[i].kind == A_BINARY_SIZE) {
			if (out_binary(s, &f->atts[i], &md) < 0)
				f->unknown_cte = 1;
		} else {
			out_att(s, m, &f->atts[i], &md);
		}
		if (f->atts[i].kind == A_FLAGS)
			flags_done = 1;
		if (f->atts[i].kind == A_UID)
			uid_done = 1;
	}
	if ((s->uid || s->qresync) && !uid_done)
		out_fmt(s, " UID %lu", (unsigned long)m->uid);
	if (flags_done < 0) {
		out_str(s, " FLAGS ");
		out_flags(s, s->sel, &m->flags, m->recent);
	}
	out_str(s, ")\r\n");
	buf_free(&md.raw);
	if (md.loaded && !md.failed)
		mime_free(&md.mime);
	return 0;
}

/* " (CHANGEDSINCE modseq [VANISHED])" (RFC 7162 3.1.4.1, 3.2.6); VANISHED
 * only in UID FETCH after ENABLE QRESYNC. */
static int parse_modifiers(struct session *s, struct parser *ps, struct fetch *f)
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
		else if (strcasecmp(buf_cstr(&w), "CHANGEDSINCE") == 0 && !f->changedsince) {
			f->changedsince = 1;
			rc = p_sp(ps) == 0 && p_number(ps, &f->since) == 0 && f->since > 0 ? 0 : -1;
		} else if (strcasecmp(buf_cstr(&w), "VANISHED") == 0 && s->uid && s->qresync)
			f->vanished = 1;
		else
			rc = -1;
	}
	buf_free(&w);
	if (rc == 0 && f->vanished && !f->changedsince)
		rc = -1;
	if (rc < 0 && ps->err == NULL)
		ps->err = "Bad FETCH modifier";
	return rc == 0 ? p_char(ps, ')') : -1;
}

/* CHANGEDSINCE: MODSEQ goes with every response; VANISHED reports expunges. */
static void fetch_changedsince(struct session *s, struct fetch *f, const struct seqset *set)
{
	int have = 0;
	condstore_enable(s);
	for (int i = 0; i < f->n; i++)
		have |= f->atts[i].kind == A_MODSEQ;
	if (!have && f->n < FETCH_MAX_ATTS)
		f->atts[f->n++].kind = A_MODSEQ;
	if (f->vanished) {
		struct buf v = BUF_INIT;
		mailbox_vanished_since(s->sel, set, f->since, &v);
		if (v.len)
			out_fmt(s, "* VANISHED (EARLIER) %s\r\n", buf_cstr(&v));
		buf_free(&v);
	}
}

void cmd_fetch(struct session *s, struct parser *ps)
{
	struct seqset set;
	struct fetch f;
	memset(&f, 0, sizeof f);
	if (p_sp(ps) < 0 || seqset_parse(ps, &set) < 0)
		return out_bad(s, ps);
	if (p_sp(ps) < 0 || parse_atts(&f, ps) < 0 || parse_modifiers(s, ps, &f) < 0 ||
	    p_eol(ps) < 0) {
		seqset_free(&set);
		fetch_free(&f);
		return out_bad(s, ps);
	}
	for (int i = 0; i < f.n; i++) {
		enum att_kind k = f.atts[i].kind;
		f.set_seen |= ((k == A_SECTION || k == A_BINARY) && !f.atts[i].peek) || k == A_RFC822 ||
			      k == A_RFC822_TEXT;
	}
	struct mailbox *mb = s->sel;
	if (!s->uid && !seqset_valid_seq(&set, mb->count)) {
		seqset_free(&set);
		fetch_free(&f);
		return out_tagged(s, "BAD", "Invalid message sequence number");
	}
	for (int i = 0; i < f.n; i++)
		if (f.atts[i].kind == A_MODSEQ)
			condstore_enable(s);
	if (f.changedsince)
		fetch_changedsince(s, &f, &set);
	char *sel = xcalloc(mb->count ? mb->count : 1, 1);
	seqset_select(&set, mb, s->uid, sel);
	int gone = 0;
	for (size_t i = 0; i < mb->count; i++)
		if (sel[i] && (!f.changedsince || mb->msgs[i].modseq > f.since) &&
		    fetch_one(s, i + 1, &mb->msgs[i], &f) < 0)
			gone = 1;
	if (!s->uid && mb->count == 0)
		gone = 0;
	free(sel);
	seqset_free(&set);
	fetch_free(&f);
	if (f.unknown_cte)
		out_done(s, "NO", "[UNKNOWN-CTE] Cannot decode a part's transfer encoding");
	else if (gone) /* RFC 2180 4.1.2, RFC 5530: the EXPUNGE follows */
		out_done(s, "NO", "[EXPUNGEISSUED] Some of the requested messages no longer exist");
	else
		out_done(s, "OK", "FETCH completed");
}
