/* dsn_fuzz: lib/dsn, the delivery status notification courierd builds from a
 * queue entry and the original message (both untrusted: the queue holds what
 * remote clients sent, the replies what remote servers said). Option bytes:
 * the recipient count (1-4), each one's action, RET=HDRS, the size limit for
 * returning the whole message, and the times; then NUL-separated fields: to,
 * reporting MTA, queue id, envid, per recipient addr/orcpt/code/text/notify,
 * and the rest is the original message. Invariants: dsn_status gives X.Y.Z
 * (at most 12 bytes) of the code's class; a refusal has a reason; an accepted
 * DSN is a multipart/report whose tree (lib/mime) has the three parts, the
 * human text, message/delivery-status and the original or its headers. */
#include "fuzz.h"
#include "buf.h"
#include "dsn.h"
#include "mime.h"

#include <ctype.h>

/* The next NUL-terminated field of the input (the rest if no NUL). */
static char *field(struct fuzz_in *in)
{
	const uint8_t *z = in->len ? memchr(in->p, 0, in->len) : NULL;
	size_t n = z ? (size_t)(z - in->p) : in->len;
	char *s = fuzz_strndup(in->p, n);
	in->p += z ? n + 1 : n;
	in->len -= z ? n + 1 : n;
	return s;
}

static int64_t take_time(struct fuzz_in *in)
{
	uint64_t v = 0;
	for (int i = 0; i < 5; i++)
		v = v << 8 | fuzz_take_byte(in);
	return (int64_t)v - 1700000000; /* negative, recent and far future */
}

static void check_status(const char *code, const char *text)
{
	struct buf st = BUF_INIT;
	dsn_status(code, text, &st);
	FUZZ_CHECK(st.len >= 5 && st.len <= 12);
	FUZZ_CHECK(st.data[1] == '.' && isdigit((unsigned char)st.data[0]));
	if (code[0] == '2' || code[0] == '4')
		FUZZ_CHECK(st.data[0] == code[0]);
	else
		FUZZ_CHECK(st.data[0] == '5' || st.data[0] == code[0]);
	buf_free(&st);
}

static void check_tree(const struct buf *out)
{
	struct mime_msg m;
	mime_parse(&m, out->data, out->len);
	FUZZ_CHECK(strcmp(m.parts[0].type, "multipart") == 0);
	FUZZ_CHECK(strcmp(m.parts[0].subtype, "report") == 0);
	FUZZ_CHECK(m.parts[0].nchildren == 3);
	int c = m.parts[0].first_child;
	FUZZ_CHECK(strcmp(m.parts[c].type, "text") == 0);
	c = m.parts[c].next;
	FUZZ_CHECK(strcmp(m.parts[c].subtype, "delivery-status") == 0);
	c = m.parts[c].next;
	FUZZ_CHECK(strcmp(m.parts[c].subtype, "rfc822") == 0 ||
		   strcmp(m.parts[c].subtype, "rfc822-headers") == 0);
	mime_free(&m);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_in in;
	fuzz_in_init(&in, data, size);
	unsigned opt = fuzz_take_byte(&in);
	size_t n = 1 + (opt & 3);
	struct dsn_rcpt rc[4];
	char *notify[4], *strs[4][4];
	struct dsn_report r = { 0 };
	r.ret_hdrs = (opt >> 2) & 1;
	r.max_full = (size_t)fuzz_take_byte(&in) * 16;
	r.arrival = take_time(&in);
	r.now = take_time(&in);
	for (size_t i = 0; i < n; i++) {
		rc[i].action = (enum dsn_action)(fuzz_take_byte(&in) & 3);
		rc[i].last_attempt = take_time(&in);
	}
	char *to = field(&in), *mta = field(&in), *qid = field(&in), *envid = field(&in);
	for (size_t i = 0; i < n; i++) {
		for (int k = 0; k < 4; k++)
			strs[i][k] = field(&in);
		notify[i] = field(&in);
		rc[i].addr = strs[i][0];
		rc[i].orcpt = strs[i][1];
		rc[i].code = strs[i][2];
		rc[i].text = strs[i][3];
		check_status(rc[i].code, rc[i].text);
		(void)dsn_wanted(notify[i], rc[i].action);
	}
	r.to = to;
	r.reporting_mta = mta;
	r.qid = qid;
	r.envid = envid[0] ? envid : NULL;
	r.original = (const char *)in.p;
	r.original_len = in.len;
	struct buf out = BUF_INIT, err = BUF_INIT;
	if (dsn_format(&r, rc, n, &out, &err) == 0)
		check_tree(&out);
	else
		FUZZ_CHECK(err.len > 0);
	buf_free(&out);
	buf_free(&err);
	for (size_t i = 0; i < n; i++) {
		for (int k = 0; k < 4; k++)
			free(strs[i][k]);
		free(notify[i]);
	}
	free(to);
	free(mta);
	free(qid);
	free(envid);
	return 0;
}
