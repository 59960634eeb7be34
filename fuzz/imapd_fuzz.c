/* imapd_fuzz: what imapd and imap-login do with a client's bytes before a
 * mailbox is involved, and with a stored message's header and MIME tree.
 * Byte 0 bit 0 picks the mode.
 * Commands (bit 0 clear): command_read() collects whole commands, literals
 * included, from the input (a memfd behind lib/io; byte 1 sets the literal
 * limit); each command is then walked with the parser primitives, the next
 * option byte choosing among astring, list-mailbox, number, flag, string,
 * sequence set, SP, '(' and ')'. Invariants: the cursor never leaves the
 * command; a parsed sequence set has ordered ranges, agrees with
 * seqset_has() and formats (seqset_format) to text that parses back to the
 * same numbers.
 * Messages (bit 0 set): lib/mime's tree of the rest, then ENVELOPE and
 * BODYSTRUCTURE (extended and not) captured as responses. Invariant: each is
 * one parenthesized list in valid IMAP syntax: balanced, items separated by
 * one space (lists of lists may abut, as addresses do), quoted strings
 * without CR, LF, NUL or 8-bit bytes and with only \" and \\ escapes,
 * literals {n} CRLF followed by n bytes; an ENVELOPE has 10 items. */
#define _GNU_SOURCE
#include "fuzz.h"
#include "../imapd/imapd.h"
#include "io.h"
#include "mime.h"

#include <fcntl.h>
#include <sys/mman.h>

/* ---- responses ---- */

struct scan {
	const char *p, *end;
};

static void scan_quoted(struct scan *s)
{
	for (s->p++; s->p < s->end && *s->p != '"'; s->p++) {
		unsigned char c = (unsigned char)*s->p;
		FUZZ_CHECK(c != 0 && c != '\r' && c != '\n' && c < 0x80);
		if (c == '\\') {
			s->p++;
			FUZZ_CHECK(s->p < s->end && (*s->p == '"' || *s->p == '\\'));
		}
	}
	FUZZ_CHECK(s->p < s->end);
	s->p++;
}

static void scan_literal(struct scan *s)
{
	uint64_t n = 0;
	for (s->p++; s->p < s->end && *s->p >= '0' && *s->p <= '9'; s->p++)
		n = n * 10 + (uint64_t)(*s->p - '0');
	FUZZ_CHECK(s->end - s->p >= 3 && memcmp(s->p, "}\r\n", 3) == 0);
	s->p += 3;
	FUZZ_CHECK((uint64_t)(s->end - s->p) >= n);
	s->p += n;
}

/* One item at s->p; returns 1 for a list, 0 for anything else. */
static int scan_item(struct scan *s, int depth, size_t *items)
{
	FUZZ_CHECK(s->p < s->end && depth < 100);
	char c = *s->p;
	if (c == '"') {
		scan_quoted(s);
		return 0;
	}
	if (c == '{') {
		scan_literal(s);
		return 0;
	}
	if (c == '(') {
		size_t n = 0;
		s->p++;
		while (s->p < s->end && *s->p != ')') {
			if (n > 0 && *s->p == ' ')
				s->p++;
			else if (n > 0) /* address lists: "((...)(...))" */
				FUZZ_CHECK(*s->p == '(' && s->p[-1] == ')');
			scan_item(s, depth + 1, NULL);
			n++;
		}
		FUZZ_CHECK(s->p < s->end);
		s->p++;
		if (items)
			*items = n;
		return 1;
	}
	const char *start = s->p;
	while (s->p < s->end && *s->p != ' ' && *s->p != ')' && *s->p != '(') {
		unsigned char a = (unsigned char)*s->p;
		FUZZ_CHECK(a > 0x20 && a < 0x7f && a != '"' && a != '{');
		s->p++;
	}
	FUZZ_CHECK(s->p > start);
	return 0;
}

static void check_list(const struct buf *b, size_t want_items)
{
	struct scan s = { b->data, b->data + b->len };
	size_t items = 0;
	FUZZ_CHECK(b->len > 0 && scan_item(&s, 0, &items) == 1);
	FUZZ_CHECK(s.p == s.end);
	if (want_items)
		FUZZ_CHECK(items == want_items);
}

static void fuzz_message(const char *data, size_t len)
{
	struct session s = { 0 };
	struct buf out = BUF_INIT;
	struct mime_msg m;
	s.capture = &out;
	mime_parse(&m, data, len);
	out_envelope(&s, data, m.parts[0].hdr_off, m.parts[0].hdr_len);
	check_list(&out, 10);
	for (int ext = 0; ext < 2; ext++) {
		buf_reset(&out);
		out_bodystructure(&s, &m, 0, ext);
		check_list(&out, 0);
	}
	mime_free(&m);
	buf_free(&out);
}

/* ---- commands ---- */

static void check_seqset(const struct seqset *set, const char *from, const char *to)
{
	FUZZ_CHECK(set->count > 0);
	uint32_t v[64];
	size_t n = 0;
	for (size_t i = 0; i < set->count; i++)
		FUZZ_CHECK(set->r[i][0] <= set->r[i][1]);
	/* the members up to 64 (with '*' as 40), ascending */
	for (uint32_t k = 1; k <= 64; k++)
		if (seqset_has(set, k, 40))
			v[n++] = k;
	if (n == 0)
		return;
	struct buf text = BUF_INIT;
	seqset_format(&text, v, n);
	struct parser ps = { text.data, text.data + text.len, 0, NULL, NULL };
	struct seqset back;
	FUZZ_CHECK(seqset_parse(&ps, &back) == 0 && ps.p == ps.end);
	for (uint32_t k = 1; k <= 70; k++)
		FUZZ_CHECK(seqset_has(&back, k, 40) == (k <= 64 && seqset_has(set, k, 40)));
	(void)from, (void)to;
	seqset_free(&back);
	buf_free(&text);
}

static int step(struct parser *ps, unsigned what)
{
	struct buf b = BUF_INIT;
	uint64_t num;
	struct seqset set;
	const char *before = ps->p;
	int r;
	switch (what % 9) {
	case 0: r = p_astring(ps, &b); break;
	case 1: r = p_list_mailbox(ps, &b); break;
	case 2: r = p_number(ps, &num); break;
	case 3: r = p_flag(ps, &b); break;
	case 4: r = p_string(ps, &b); break;
	case 5:
		r = seqset_parse(ps, &set);
		if (r == 0) {
			check_seqset(&set, before, ps->p);
			seqset_free(&set);
		}
		break;
	case 6: r = p_sp(ps); break;
	case 7: r = p_char(ps, '('); break;
	default: r = p_char(ps, ')'); break;
	}
	FUZZ_CHECK(ps->p >= before && ps->p <= ps->end);
	FUZZ_CHECK(r == 0 || r == -1);
	buf_free(&b);
	return r;
}

static void walk(struct fuzz_in *in, const struct buf *cmd)
{
	static const uint32_t saved_v[] = { 2, 3, 4, 9 };
	struct seqset saved = { NULL, 0, 0 };
	seqset_from_uids(&saved, saved_v, 4);
	struct parser ps = { cmd->data, cmd->data + cmd->len, 0, NULL, &saved };
	struct buf tag = BUF_INIT, name = BUF_INIT;
	if (p_atom(&ps, &tag) == 0) {
		(void)command_tag_valid(&tag);
		if (p_sp(&ps) == 0 && p_atom(&ps, &name) == 0)
			for (int i = 0; i < 32 && !p_eol(&ps); i++)
				if (step(&ps, fuzz_take_byte(in)) < 0)
					break;
	}
	FUZZ_CHECK(ps.p >= cmd->data && ps.p <= ps.end);
	seqset_free(&saved);
	buf_free(&tag);
	buf_free(&name);
}

static void fuzz_commands(struct fuzz_in *in)
{
	uint64_t max_literal = 1 + (uint64_t)fuzz_take_byte(in) * 16;
	int rfd = memfd_create("imap-in", 0), wfd = open("/dev/null", O_WRONLY);
	FUZZ_CHECK(rfd >= 0 && wfd >= 0);
	FUZZ_CHECK(in->len == 0 || write(rfd, in->p, in->len) == (ssize_t)in->len);
	FUZZ_CHECK(lseek(rfd, 0, SEEK_SET) == 0);
	struct io *io = io_new(rfd, wfd);
	io_set_max_line(io, 1024);
	struct buf cmd = BUF_INIT;
	struct fuzz_in opts = *in; /* parser choices come from the same bytes */
	for (int k = 0; k < 50; k++) {
		enum read_result r = command_read(io, &cmd, max_literal, max_literal * 4);
		if (r == READ_END)
			break;
		if (r == READ_OK)
			walk(&opts, &cmd);
	}
	buf_free(&cmd);
	io_free(io);
	close(rfd);
	close(wfd);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_in in;
	fuzz_in_init(&in, data, size);
	unsigned opt = fuzz_take_byte(&in);
	if (opt & 1)
		fuzz_message((const char *)in.p, in.len);
	else
		fuzz_commands(&in);
	return 0;
}

/* output.c's out_done() syncs the mailbox; there is none here. */
int mailbox_sync(struct session *s, int allow_expunge)
{
	(void)s, (void)allow_expunge;
	return 0;
}
