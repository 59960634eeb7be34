/* Unit tests of imapd/parse.c: tokens, literals, hostile input. */
#include "imapd.h"

#include "unit.h"

#include <string.h>

static struct parser P(const char *s, size_t n)
{
	struct parser ps = { s, s + n, 0, NULL, NULL };
	return ps;
}

TEST(parse_atoms_and_strings)
{
	const char s[] = "abc \"q \\\"x\\\\\" {3}\r\nxyz ]x NIL";
	struct parser ps = P(s, sizeof s - 1);
	struct buf b = BUF_INIT;
	CHECK_INT(p_atom(&ps, &b), 0);
	CHECK_BUF(b, "abc");
	CHECK_INT(p_sp(&ps), 0);
	CHECK_INT(p_astring(&ps, &b), 0);
	CHECK_BUF(b, "q \"x\\");
	CHECK_INT(p_sp(&ps), 0);
	CHECK_INT(p_astring(&ps, &b), 0);
	CHECK_BUF(b, "xyz");
	CHECK_INT(p_sp(&ps), 0);
	CHECK_INT(p_astring(&ps, &b), 0);
	CHECK_BUF(b, "]x");
	CHECK_INT(p_sp(&ps), 0);
	CHECK_INT(p_atom(&ps, &b), 0);
	CHECK_INT(p_eol(&ps), 0);
	buf_free(&b);
}

TEST(parse_bad_strings)
{
	struct buf b = BUF_INIT;
	const char *bad[] = { "\"open", "\"bad\\x\"", "{5}\r\nabc", "{x}\r\nabc", "{2}abc", "" };
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		struct parser ps = P(bad[i], strlen(bad[i]));
		CHECK(p_astring(&ps, &b) < 0);
		CHECK(ps.err != NULL);
	}
	const char nul[] = "\"a\0b\"";
	struct parser ps = P(nul, sizeof nul - 1);
	CHECK(p_string(&ps, &b) < 0);
	const char cr[] = "\"a\rb\"";
	ps = P(cr, sizeof cr - 1);
	CHECK(p_string(&ps, &b) < 0);
	buf_free(&b);
}

TEST(parse_literal_announcements)
{
	uint64_t n;
	int ns;
	CHECK_INT(p_literal_size("a APPEND x {12}", 15, &n, &ns), 1);
	CHECK_INT(n, 12);
	CHECK_INT(ns, 0);
	CHECK_INT(p_literal_size("a LOGIN {5+}", 12, &n, &ns), 1);
	CHECK_INT(ns, 1);
	CHECK_INT(p_literal_size("a x {5-}", 8, &n, &ns), 1);
	CHECK_INT(ns, 2);
	CHECK_INT(p_literal_size("a NOOP", 6, &n, &ns), 0);
	CHECK_INT(p_literal_size("a x {}", 6, &n, &ns), -1);
	CHECK_INT(p_literal_size("a x {99999999999999999999}", 26, &n, &ns), -1);
	CHECK_INT(p_literal_size("a x 5}", 6, &n, &ns), 0);
	CHECK_INT(p_literal_size("}", 1, &n, &ns), 0);
}

TEST(parse_numbers_and_flags)
{
	uint64_t n;
	struct buf b = BUF_INIT;
	struct parser ps = P("12345678901234567890", 20);
	CHECK(p_number(&ps, &n) < 0);
	ps = P("42 \\Seen $Junk \\", 16);
	CHECK_INT(p_number(&ps, &n), 0);
	CHECK_INT(n, 42);
	CHECK_INT(p_sp(&ps), 0);
	CHECK_INT(p_flag(&ps, &b), 0);
	CHECK_BUF(b, "\\Seen");
	CHECK_INT(p_sp(&ps), 0);
	CHECK_INT(p_flag(&ps, &b), 0);
	CHECK_BUF(b, "$Junk");
	CHECK_INT(p_sp(&ps), 0);
	CHECK(p_flag(&ps, &b) < 0);
	buf_free(&b);
}

TEST(parse_seqsets)
{
	struct seqset set;
	struct parser ps = P("1:3,7,*,9:5", 11);
	CHECK_INT(seqset_parse(&ps, &set), 0);
	CHECK_INT(set.count, 4);
	CHECK(seqset_has(&set, 2, 10));
	CHECK(seqset_has(&set, 10, 10));
	CHECK(seqset_has(&set, 6, 10));
	CHECK(!seqset_has(&set, 4, 10));
	CHECK(seqset_valid_seq(&set, 10));
	CHECK(!seqset_valid_seq(&set, 8));
	seqset_free(&set);
	const char *bad[] = { "0", "1:", ",1", "a", "4294967296", "" };
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		ps = P(bad[i], strlen(bad[i]));
		CHECK(seqset_parse(&ps, &set) < 0);
	}
}

TEST(parse_seqset_select_by_uid)
{
	struct msg msgs[4];
	struct mailbox mb;
	memset(msgs, 0, sizeof msgs);
	memset(&mb, 0, sizeof mb);
	uint32_t uids[4] = { 3, 8, 9, 20 };
	for (int i = 0; i < 4; i++)
		msgs[i].uid = uids[i];
	mb.msgs = msgs;
	mb.count = 4;
	struct seqset set;
	struct parser ps = P("5:9,15:*", 8);
	CHECK_INT(seqset_parse(&ps, &set), 0);
	char sel[4] = { 0 };
	CHECK_INT(seqset_select(&set, &mb, 1, sel), 3);
	CHECK(!sel[0] && sel[1] && sel[2] && sel[3]);
	memset(sel, 0, sizeof sel);
	CHECK_INT(seqset_select(&set, &mb, 0, sel), 1); /* "15:*" is 4:15 by sequence */
	CHECK(sel[3]);
	seqset_free(&set);
}

TEST(parse_seqset_saved_result)
{
	struct msg msgs[4];
	struct mailbox mb;
	memset(msgs, 0, sizeof msgs);
	memset(&mb, 0, sizeof mb);
	uint32_t uids[4] = { 3, 8, 9, 20 };
	for (int i = 0; i < 4; i++)
		msgs[i].uid = uids[i];
	mb.msgs = msgs;
	mb.count = 4;
	struct seqset saved = { NULL, 0, 0 }, set;
	const uint32_t v[] = { 8, 9, 10, 20, 21 };
	seqset_from_uids(&saved, v, 5);
	CHECK_INT((int)saved.count, 2); /* 8:10,20:21 */
	struct parser ps = P("$", 1);
	CHECK(seqset_parse(&ps, &set) < 0); /* nothing saved: no "$" outside a mailbox */
	ps = P("$", 1);
	ps.saved = &saved;
	CHECK_INT(seqset_parse(&ps, &set), 0);
	CHECK(set.uids);
	CHECK(seqset_valid_seq(&set, 1));
	char sel[4] = { 0 };
	CHECK_INT(seqset_select(&set, &mb, 0, sel), 3); /* by UID even without UID */
	CHECK(!sel[0] && sel[1] && sel[2] && sel[3]);
	seqset_free(&set);
	ps = P("$,1", 3);
	ps.saved = &saved;
	CHECK_INT(seqset_parse(&ps, &set), 0);
	CHECK(ps.p != ps.end); /* "$" stands alone: the rest is left for p_eol to refuse */
	seqset_free(&set);
	seqset_from_uids(&saved, v, 0);
	ps = P("$", 1);
	ps.saved = &saved;
	CHECK_INT(seqset_parse(&ps, &set), 0);
	CHECK_INT((int)set.count, 0);
	seqset_free(&set);
	seqset_free(&saved);
}
