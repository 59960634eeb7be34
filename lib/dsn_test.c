/* Unit tests for lib/dsn. */
#include "dsn.h"
#include "buf.h"
#include "unit.h"

#include <string.h>

TEST(dsn_status_codes)
{
	struct buf b = BUF_INIT;
	dsn_status("550", "5.1.1 no such user", &b);
	CHECK_BUF(b, "5.1.1");
	buf_reset(&b);
	dsn_status("451", "5.1.1 class mismatch", &b);
	CHECK_BUF(b, "4.0.0");
	buf_reset(&b);
	dsn_status("250", "", &b);
	CHECK_BUF(b, "2.0.0");
	buf_reset(&b);
	dsn_status("550", "5.1234.1 too long", &b);
	CHECK_BUF(b, "5.0.0");
	buf_reset(&b);
	dsn_status("550", "5..1 x", &b);
	CHECK_BUF(b, "5.0.0");
	buf_free(&b);
}

TEST(dsn_notify)
{
	CHECK(dsn_wanted("", DSN_FAILED));
	CHECK(dsn_wanted("", DSN_DELAYED));
	CHECK(!dsn_wanted("", DSN_DELIVERED));
	CHECK(!dsn_wanted("NEVER", DSN_FAILED));
	CHECK(dsn_wanted("SUCCESS,FAILURE", DSN_DELIVERED));
	CHECK(!dsn_wanted("SUCCESS", DSN_FAILED));
	CHECK(!dsn_wanted("DELAYX", DSN_DELAYED));
}

static struct dsn_report report(const char *orig, int hdrs)
{
	struct dsn_report r = { "mx.example", "sender@example.org", "0123456789abcdef0123", "ENV+2Bid",
				1700000000, 1700000100, hdrs, orig, strlen(orig), 1000 };
	return r;
}

TEST(dsn_format_failure)
{
	struct dsn_rcpt rc[2] = {
		{ "a@example.test", "rfc822;A@example.test", DSN_FAILED, "550", "5.1.1 no such user",
		  1700000050 },
		{ "b@example.test", "", DSN_DELIVERED, "250", "2.0.0 ok", 1700000060 },
	};
	const char *orig = "Subject: test\nFrom: x@y\n\nbody line\n";
	struct dsn_report r = report(orig, 0);
	struct buf out = BUF_INIT, err = BUF_INIT;
	CHECK_INT(dsn_format(&r, rc, 2, &out, &err), 0);
	const char *s = buf_cstr(&out);
	CHECK(strstr(s, "To: <sender@example.org>\n") != NULL);
	CHECK(strstr(s, "Subject: Undelivered Mail Returned to Sender\n") != NULL);
	CHECK(strstr(s, "Content-Type: multipart/report; report-type=delivery-status;") != NULL);
	CHECK(strstr(s, "Original-Envelope-Id: ENV+2Bid\n") != NULL);
	CHECK(strstr(s, "Original-Recipient: rfc822;A@example.test\n"
			"Final-Recipient: rfc822; a@example.test\nAction: failed\nStatus: 5.1.1\n") != NULL);
	CHECK(strstr(s, "Action: delivered\nStatus: 2.0.0\n") != NULL);
	CHECK(strstr(s, "Content-Type: message/rfc822\n\nSubject: test\nFrom: x@y\n\nbody line\n") != NULL);
	CHECK(strstr(s, "Auto-Submitted: auto-replied\n") != NULL);
	buf_free(&out);
	buf_free(&err);
}

TEST(dsn_format_headers_only)
{
	struct dsn_rcpt rc = { "a@example.test", "", DSN_FAILED, "550", "x", 0 };
	struct buf out = BUF_INIT, err = BUF_INIT;
	struct dsn_report r = report("Subject: t\n\nsecret body\n", 1);
	CHECK_INT(dsn_format(&r, &rc, 1, &out, &err), 0);
	CHECK(strstr(buf_cstr(&out), "text/rfc822-headers\n\nSubject: t\n\n") != NULL);
	CHECK(strstr(buf_cstr(&out), "secret body") == NULL);
	/* too large for a full return: headers only, even with RET=FULL */
	buf_reset(&out);
	struct buf big = BUF_INIT;
	buf_append_str(&big, "Subject: big\n\n");
	for (int i = 0; i < 2000; i++)
		buf_append_str(&big, "x");
	r = report(buf_cstr(&big), 0);
	CHECK_INT(dsn_format(&r, &rc, 1, &out, &err), 0);
	CHECK(strstr(buf_cstr(&out), "text/rfc822-headers") != NULL);
	CHECK(strstr(buf_cstr(&out), "xxxx") == NULL);
	/* truncated original without a final LF or a header end */
	buf_reset(&out);
	r = report("Subject: cut", 1);
	CHECK_INT(dsn_format(&r, &rc, 1, &out, &err), 0);
	CHECK(strstr(buf_cstr(&out), "Subject: cut\n") != NULL);
	buf_free(&big);
	buf_free(&out);
	buf_free(&err);
}

TEST(dsn_format_hostile)
{
	struct dsn_rcpt rc = { "a@example.test\r\nBcc: x", "", DSN_FAILED, "550", "t\x01\xff", 0 };
	struct buf out = BUF_INIT, err = BUF_INIT;
	struct dsn_report r = report("", 0);
	CHECK_INT(dsn_format(&r, &rc, 1, &out, &err), -1);
	CHECK_INT(dsn_format(&r, &rc, 0, &out, &err), -1);
	rc.addr = "a@example.test";
	CHECK_INT(dsn_format(&r, &rc, 1, &out, &err), 0);
	CHECK(strstr(buf_cstr(&out), "550 t??\n") != NULL); /* control bytes replaced */
	r.to = "x\ny";
	CHECK_INT(dsn_format(&r, &rc, 1, &out, &err), -1);
	/* found by fuzz/dsn: a long queue id cut the boundary and the Message-ID
	 * read past it; ids are hex, at most 40 */
	r.to = "a@example.test";
	char qid[64];
	memset(qid, 'a', sizeof qid - 1);
	qid[sizeof qid - 1] = '\0';
	r.qid = qid;
	CHECK_INT(dsn_format(&r, &rc, 1, &out, &err), -1);
	CHECK(strstr(buf_cstr(&err), "queue id") != NULL);
	r.qid = "0123456789abcdef<>";
	CHECK_INT(dsn_format(&r, &rc, 1, &out, &err), -1);
	r.qid = "";
	CHECK_INT(dsn_format(&r, &rc, 1, &out, &err), -1);
	buf_free(&out);
	buf_free(&err);
}

TEST(dsn_remote_mta_and_relayed)
{
	struct dsn_rcpt rc[3] = {
		{ "a@example.test", "", DSN_FAILED, "550",
		  "5.1.1 mx.example.test[192.0.2.1] said: 550 5.1.1 no such user (in reply to RCPT TO)",
		  1700000050 },
		{ "b@example.test", "", DSN_RELAYED, "250", "2.0.0 (relayed) mx said: 250 ok",
		  1700000060 },
		{ "c@example.test", "", DSN_FAILED, "550", "5.0.0 x[y] said: bad host (a b[c] said: )",
		  1700000060 },
	};
	struct dsn_report r = report("Subject: t\n\nx\n", 0);
	struct buf out = BUF_INIT, err = BUF_INIT;
	CHECK_INT(dsn_format(&r, rc, 3, &out, &err), 0);
	const char *s = buf_cstr(&out);
	CHECK(strstr(s, "Status: 5.1.1\nRemote-MTA: dns; mx.example.test\nDiagnostic-Code: smtp; 550 ")
	      != NULL);
	CHECK(strstr(s, "Action: relayed\nStatus: 2.0.0\nDiagnostic-Code:") != NULL);
	CHECK(strstr(s, "relayed, to a server that sends no delivery notices") != NULL);
	CHECK(strstr(s, "Remote-MTA: dns; x\n") != NULL);
	CHECK(strstr(s, "Remote-MTA: dns; b\n") == NULL);
	buf_free(&out);
	buf_free(&err);
}
