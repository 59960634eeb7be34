/* Unit tests of imapd/subject.c: RFC 5256 base subjects, sort keys, hostile
 * subjects (piles of prefixes, unbalanced blobs, NUL bytes). */
#include "imapd.h"

#include "unit.h"

#include <string.h>

static int base(const char *in, const char *want)
{
	struct buf b = BUF_INIT;
	int reply = subject_base(&b, in, strlen(in));
	CHECK_BUF(b, want);
	buf_free(&b);
	return reply;
}

TEST(subject_base_rfc5256)
{
	CHECK_INT(base("Hello", "HELLO"), 0);
	CHECK_INT(base("Re: hello", "HELLO"), 1);
	CHECK_INT(base("RE:  Fwd:re:hello  (fwd) (FWD)", "HELLO"), 1);
	CHECK_INT(base("Re[2]: hello", "HELLO"), 1);
	CHECK_INT(base("[list] Re: [other] hello", "HELLO"), 1);
	CHECK_INT(base("[list]", "[LIST]"), 0);
	CHECK_INT(base("[list] hello", "HELLO"), 0);
	CHECK_INT(base("[fwd: Re: hello]", "HELLO"), 1);
	CHECK_INT(base("a\t\t b", "A B"), 0);
	CHECK_INT(base("=?utf-8?q?Re=3A_caf=C3=A9?=", "CAF\xc3\xa9"), 1);
	CHECK_INT(base("", ""), 0);
	CHECK_INT(base("Re:", ""), 1);
	CHECK_INT(base("[", "["), 0);
	CHECK_INT(base("[[x] y", "[[X] Y"), 0);
	CHECK_INT(base("reply", "REPLY"), 0);
}

TEST(subject_base_hostile)
{
	struct buf in = BUF_INIT, out = BUF_INIT;
	for (int i = 0; i < 20000; i++)
		buf_append_str(&in, "Re: [x] ");
	buf_append_str(&in, "z");
	for (int i = 0; i < 20000; i++)
		buf_append_str(&in, "(fwd)");
	CHECK_INT(subject_base(&out, in.data, in.len), 1);
	CHECK_BUF(out, "Z");
	CHECK_INT(subject_base(&out, "a\0b", 3) >= 0, 1);
	buf_free(&in);
	buf_free(&out);
}

TEST(subject_keys)
{
	const char h[] = "From: \"Amy B\" <amy@x.org>, bob@y\nTo: =?utf-8?q?Z=C3=A9?= <z@x>\n"
			 "Cc: broken <<\nDate: Thu, 1 Jan 2026 10:00:00 +0100\n";
	struct buf b = BUF_INIT;
	subject_addr_key(&b, h, sizeof h - 1, "From", 0);
	CHECK_BUF(b, "AMY");
	subject_addr_key(&b, h, sizeof h - 1, "From", 1);
	CHECK_BUF(b, "AMY B");
	subject_addr_key(&b, h, sizeof h - 1, "To", 1);
	CHECK_BUF(b, "Z\xc3\xa9");
	subject_addr_key(&b, h, sizeof h - 1, "Cc", 0);
	CHECK_BUF(b, "");
	subject_addr_key(&b, h, sizeof h - 1, "Bcc", 1);
	CHECK_BUF(b, "");
	CHECK_INT((long)subject_sent_date(h, sizeof h - 1, 7), 1767258000L);
	CHECK_INT((long)subject_sent_date("Date: junk\n", 11, 7), 7L);
	buf_free(&b);
}
