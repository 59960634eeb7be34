/* mime_fuzz: lib/mime (the MIME tree of a message, header fields, structured
 * values) and lib/mimetext (encoded words, transfer decoding, charsets), as
 * imapd applies them to messages in a mail store. Byte 0 picks a charset for
 * a direct mimetext_to_utf8 of the rest; the rest is the message.
 * Invariants: every part lies inside the message, its header before its body,
 * children inside their parent's body and in order, the tree's links agree
 * with nchildren/parent/depth, the bounds hold, type names are lowercase;
 * the header walk and mime_header_get agree; parameters stay within their
 * bound; decoded text stays within MIMETEXT_MAX_EXPANSION (plus the bytes
 * kept as they were); mimetext_contains agrees with a plain search. */
#include "fuzz.h"
#include "buf.h"
#include "mime.h"
#include "mimetext.h"

#include <ctype.h>
#include <strings.h>

static const char *const charsets[] = {
	"", "utf-8", "iso-8859-1", "windows-1252", "iso-2022-jp", "shift_jis", "euc-kr",
	"utf-16", "utf-7", "gb18030", "big5", "koi8-r", "x-unknown", "UTF-32", "cp1255",
	"iso-8859-8-i",
};

static void check_name(const char *s)
{
	size_t n = strnlen(s, MIME_TYPE_MAX);
	FUZZ_CHECK(n < MIME_TYPE_MAX);
	for (size_t i = 0; i < n; i++)
		FUZZ_CHECK(!isupper((unsigned char)s[i]));
}

static void check_part(const struct mime_msg *m, int i)
{
	const struct mime_part *p = &m->parts[i];
	FUZZ_CHECK(p->hdr_off <= m->len && p->hdr_len <= m->len - p->hdr_off);
	FUZZ_CHECK(p->hdr_off + p->hdr_len <= p->body_off);
	FUZZ_CHECK(p->body_off <= m->len && p->body_len <= m->len - p->body_off);
	FUZZ_CHECK(p->body_lines <= p->body_len);
	FUZZ_CHECK(p->depth <= MIME_MAX_DEPTH + 1);
	check_name(p->type);
	check_name(p->subtype);
	int n = 0;
	size_t prev_end = p->body_off;
	for (int c = p->first_child; c >= 0; c = m->parts[c].next) {
		FUZZ_CHECK(c > i && c < m->count && n < m->count);
		const struct mime_part *k = &m->parts[c];
		FUZZ_CHECK(k->parent == i && k->depth == p->depth + 1);
		FUZZ_CHECK(k->hdr_off >= prev_end);
		FUZZ_CHECK(k->body_off + k->body_len <= p->body_off + p->body_len);
		prev_end = k->body_off + k->body_len;
		n++;
	}
	FUZZ_CHECK(n == p->nchildren);
	FUZZ_CHECK(!p->is_multipart || n > 0);
	FUZZ_CHECK(!p->is_message || n == 1);
}

struct walk {
	const char *want;
	int found;
};

static int field_fn(const char *name, size_t nlen, const char *value, size_t vlen, size_t off,
		    size_t flen, void *ctx)
{
	struct walk *w = ctx;
	(void)off;
	FUZZ_CHECK(nlen + vlen <= flen);
	FUZZ_CHECK(value >= name + nlen);
	if (!w->found && strlen(w->want) == nlen && strncasecmp(name, w->want, nlen) == 0)
		w->found = 1;
	return 0;
}

static void check_header(const struct mime_msg *m, const struct mime_part *p)
{
	const char *hdr = m->data + p->hdr_off;
	static const char *const names[] = { "content-type", "subject", "from" };
	for (size_t k = 0; k < sizeof names / sizeof names[0]; k++) {
		struct buf v = BUF_INIT, main_value = BUF_INIT, text = BUF_INIT;
		struct walk w = { names[k], 0 };
		(void)mime_header_each(hdr, p->hdr_len, field_fn, &w);
		int got = mime_header_get(hdr, p->hdr_len, names[k], &v);
		FUZZ_CHECK(got == w.found);
		FUZZ_CHECK(got || v.len == 0);
		struct mime_params params = { 0 };
		mime_params_parse(v.data ? v.data : "", v.len, &main_value, &params);
		FUZZ_CHECK(params.count >= 0 && params.count <= MIME_MAX_PARAMS);
		(void)mime_params_get(&params, "charset");
		mime_params_free(&params);
		mimetext_header(&text, v.data ? v.data : "", v.len);
		FUZZ_CHECK(text.len <= v.len * (MIMETEXT_MAX_EXPANSION + 1) + 16);
		buf_free(&v);
		buf_free(&main_value);
		buf_free(&text);
	}
}

static int naive_contains(const char *h, size_t hl, const char *n, size_t nl)
{
	for (size_t i = 0; i + nl <= hl; i++) {
		size_t j = 0;
		while (j < nl && tolower((unsigned char)h[i + j]) == tolower((unsigned char)n[j]))
			j++;
		if (j == nl)
			return 1;
	}
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_in in;
	fuzz_in_init(&in, data, size);
	unsigned opt = fuzz_take_byte(&in);
	const char *msg = (const char *)in.p;
	struct buf u = BUF_INIT;
	mimetext_to_utf8(&u, charsets[opt % (sizeof charsets / sizeof charsets[0])], msg, in.len);
	FUZZ_CHECK(u.len <= in.len * (MIMETEXT_MAX_EXPANSION + 1) + 16);
	buf_free(&u);

	struct mime_msg m;
	mime_parse(&m, msg, in.len);
	FUZZ_CHECK(m.count >= 1 && m.count <= MIME_MAX_PARTS + 1);
	FUZZ_CHECK(m.parts[0].parent == -1 && m.parts[0].depth == 0);
	for (int i = 0; i < m.count; i++) {
		check_part(&m, i);
		if (i < 20)
			check_header(&m, &m.parts[i]);
	}
	struct buf body = BUF_INIT;
	mimetext_body(&body, &m, 0);
	FUZZ_CHECK(body.len <= in.len * (MIMETEXT_MAX_EXPANSION + 1) + 16 * (size_t)m.count);
	const char *needle = in.len > 4 ? msg + in.len - 4 : msg;
	size_t nl = in.len > 4 ? 4 : in.len;
	FUZZ_CHECK(mimetext_contains(body.data ? body.data : "", body.len, needle, nl) ==
		   naive_contains(body.data ? body.data : "", body.len, needle, nl));
	buf_free(&body);
	mime_free(&m);
	return 0;
}
