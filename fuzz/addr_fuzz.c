/* addr_fuzz: lib/addr (RFC 5321 paths, mailboxes, domains; with and without
 * SMTPUTF8). The first byte picks the parse flags; the rest is the text.
 * Invariant: whatever parses formats back to text that parses to the same
 * address (canonical form is a fixed point). */
#include "fuzz.h"
#include "addr.h"

static void check_round_trip(const struct addr *a, unsigned flags, int path)
{
	struct buf text = BUF_INIT;
	struct addr b = ADDR_INIT;
	addr_format(&text, a, path ? ADDR_FMT_ANGLE : 0);
	enum addr_err e = path ? addr_parse_path(text.data, text.len, flags, &b, NULL)
			       : addr_parse_mailbox(text.data, text.len, flags, &b);
	if (e != ADDR_OK) {
		fprintf(stderr, "formatted \"%.*s\" does not parse: %s\n", (int)text.len,
			text.data, addr_strerror(e));
		FUZZ_CHECK(e == ADDR_OK);
	}
	FUZZ_CHECK(addr_eq(a, &b, 0));
	FUZZ_CHECK(a->is_null == b.is_null && a->is_literal == b.is_literal);
	struct buf again = BUF_INIT;
	addr_format(&again, &b, path ? ADDR_FMT_ANGLE : 0);
	FUZZ_CHECK(fuzz_eq(again.data, again.len, text.data, text.len));
	struct buf u = BUF_INIT;
	addr_format(&u, a, ADDR_FMT_UNICODE); /* display form: must not crash */
	buf_free(&u);
	buf_free(&again);
	buf_free(&text);
	addr_free(&b);
}

static void fuzz_path(const char *s, size_t len, unsigned flags)
{
	struct addr a = ADDR_INIT;
	size_t rest = 0;
	enum addr_err e = addr_parse_path(s, len, flags, &a, &rest);
	FUZZ_CHECK(addr_strerror(e) != NULL);
	(void)addr_err_code(e);
	if (e == ADDR_OK) {
		FUZZ_CHECK(rest <= len);
		check_round_trip(&a, flags, 1);
	}
	addr_free(&a);
}

static void fuzz_mailbox(const char *s, size_t len, unsigned flags)
{
	struct addr a = ADDR_INIT;
	if (addr_parse_mailbox(s, len, flags, &a) == ADDR_OK) {
		FUZZ_CHECK(a.local.len <= ADDR_MAX_LOCAL && a.domain.len <= ADDR_MAX_DOMAIN);
		check_round_trip(&a, flags, 0);
		struct addr_span user, ext;
		addr_split_ext(a.local.data, a.local.len, "-+", &user, &ext);
		FUZZ_CHECK(user.len + ext.len <= a.local.len);
	}
	addr_free(&a);
}

static void fuzz_domain(const char *s, size_t len, unsigned flags)
{
	struct buf ace = BUF_INIT, u = BUF_INIT;
	if (addr_parse_domain(s, len, flags, &ace, &u) == ADDR_OK) {
		FUZZ_CHECK(ace.len > 0 && ace.len <= ADDR_MAX_DOMAIN);
		struct buf ace2 = BUF_INIT;
		FUZZ_CHECK(addr_parse_domain(ace.data, ace.len, flags, &ace2, NULL) == ADDR_OK);
		FUZZ_CHECK(fuzz_eq(ace2.data, ace2.len, ace.data, ace.len));
		buf_free(&ace2);
	}
	buf_free(&ace);
	buf_free(&u);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_in in;
	fuzz_in_init(&in, data, size);
	unsigned opt = fuzz_take_byte(&in);
	unsigned flags = opt & 0x0f;
	const char *s = (const char *)in.p;
	struct addr_span local, domain;
	switch ((opt >> 4) & 3) {
	case 0: fuzz_path(s, in.len, flags); break;
	case 1: fuzz_mailbox(s, in.len, flags); break;
	case 2: fuzz_domain(s, in.len, flags); break;
	default:
		addr_split(s, in.len, &local, &domain);
		FUZZ_CHECK(local.len + domain.len <= in.len);
		break;
	}
	return 0;
}
