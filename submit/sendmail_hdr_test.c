/* Unit tests of the header fields sendmail adds (sendmail_hdr.c): display
 * names as atoms, quoted strings or encoded words; From:, Date:, Message-ID:. */
#include "sendmail.h"
#include "unit.h"

#include <stdlib.h>
#include <string.h>

static void site(struct sm_site *s)
{
	memset(s, 0, sizeof *s);
	buf_set_str(&s->me, "mx.example");
	buf_set_str(&s->domain, "example.org");
	buf_set_str(&s->login, "joe");
	buf_set_str(&s->gecos, "Joe User");
}

static void site_free(struct sm_site *s)
{
	buf_free(&s->me);
	buf_free(&s->domain);
	buf_free(&s->login);
	buf_free(&s->gecos);
}

TEST(phrase_forms)
{
	struct buf b = BUF_INIT;
	sm_header_phrase(&b, "Joe User");
	CHECK_BUF(b, "Joe User");
	buf_reset(&b);
	sm_header_phrase(&b, "User, Joe (x) \"q\" \\");
	CHECK_BUF(b, "\"User, Joe (x) \\\"q\\\" \\\\\"");
	buf_reset(&b);
	sm_header_phrase(&b, "a\r\nBcc: x@y");
	CHECK_BUF(b, "\"a  Bcc: x@y\"");  /* no header injection */
	buf_reset(&b);
	sm_header_phrase(&b, "J\xc3\xb6rg");
	CHECK_BUF(b, "=?UTF-8?B?SsO2cmc=?=");
	buf_reset(&b);
	struct buf name = BUF_INIT;
	for (int i = 0; i < 40; i++)
		buf_append_str(&name, "\xc3\xb6");  /* 80 bytes: two words, split between chars */
	sm_header_phrase(&b, buf_cstr(&name));
	CHECK(strncmp(b.data, "=?UTF-8?B?", 10) == 0);
	const char *sp = strchr(b.data, ' ');
	CHECK(sp != NULL && sp - b.data <= 75);
	CHECK(strncmp(sp, " =?UTF-8?B?", 11) == 0);
	buf_reset(&b);
	sm_header_phrase(&b, "\x80\x80\x80");  /* invalid UTF-8: still encoded, never raw */
	CHECK(strncmp(b.data, "=?UTF-8?B?", 10) == 0);
	buf_free(&name);
	buf_free(&b);
}

TEST(added_headers)
{
	struct sm_site st;
	struct sm_env e;
	struct buf b = BUF_INIT;
	site(&st);
	memset(&e, 0, sizeof e);
	e.sender = strdup("");
	sm_header_add_missing(&st, &e, NULL, 0, 1, 1, &b);
	CHECK_BUF(b, "From: Joe User <joe@example.org>\n");
	buf_reset(&b);
	free(e.sender);
	e.sender = strdup("list@example.net");
	sm_header_add_missing(&st, &e, "", 0, 0, 0, &b);
	CHECK(strncmp(b.data, "From: list@example.net\nDate: ", 29) == 0);
	CHECK(strstr(b.data, "\nMessage-ID: <") != NULL);
	CHECK(strstr(b.data, "@mx.example>\n") != NULL);
	buf_reset(&b);
	sm_header_add_missing(&st, &e, NULL, 1, 1, 1, &b);
	CHECK_INT(b.len, 0);
	buf_free(&b);
	free(e.sender);
	site_free(&st);
}
