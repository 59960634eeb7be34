/* Unit tests of sendmail's envelope helpers (sendmail_env.c): address lists
 * from users, qualification, senders, duplicates. */
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

static int add(struct sm_site *st, struct sm_env *e, const char *s, struct buf *err)
{
	return sm_add_list(st, e, s, strlen(s), "", err);
}

TEST(add_list_forms)
{
	struct sm_site st;
	struct sm_env e;
	struct buf err = BUF_INIT;
	site(&st);
	sm_env_init(&e);
	CHECK_INT(add(&st, &e, "bob", &err), 0);
	CHECK_INT(add(&st, &e, "Ann <ann@EXAMPLE.net>, carl@x.example (Carl)", &err), 0);
	CHECK_INT(add(&st, &e, "\"odd name\"@y.example", &err), 0);
	CHECK_INT(add(&st, &e, "team: d@z.example, e;", &err), 0);
	CHECK_INT(add(&st, &e, "undisclosed-recipients:;", &err), 0);
	CHECK_INT(e.nrcpt, 6);
	CHECK_STR(e.rcpts[0].addr, "bob@example.org");
	CHECK_STR(e.rcpts[1].addr, "ann@example.net");
	CHECK_STR(e.rcpts[2].addr, "carl@x.example");
	CHECK_STR(e.rcpts[3].addr, "\"odd name\"@y.example");
	CHECK_STR(e.rcpts[4].addr, "d@z.example");
	CHECK_STR(e.rcpts[5].addr, "e@example.org");
	CHECK_INT(e.smtputf8, 0);
	CHECK_INT(add(&st, &e, "j\xc3\xb6rg@example.org", &err), 0);
	CHECK_INT(e.smtputf8, 1);
	sm_env_free(&e);
	buf_free(&err);
	sm_site_free(&st);
}

TEST(add_list_hostile)
{
	struct sm_site st;
	struct sm_env e;
	struct buf err = BUF_INIT, big = BUF_INIT;
	site(&st);
	sm_env_init(&e);
	CHECK_INT(add(&st, &e, "a@@b", &err), -1);
	CHECK(strstr(buf_cstr(&err), "bad address") != NULL);
	CHECK_INT(add(&st, &e, "<unterminated", &err), -1);
	CHECK_INT(add(&st, &e, "a@b\nc@d", &err), -1);
	CHECK_INT(add(&st, &e, "x\xff@example.org", &err), -1); /* invalid UTF-8 */
	for (int i = 0; i < 100; i++)
		buf_append_str(&big, "a");
	buf_append_str(&big, "@example.org");
	CHECK_INT(add(&st, &e, buf_cstr(&big), &err), -1); /* local part over 64 */
	buf_reset(&big);
	for (int i = 0; i < 200; i++)
		buf_append_str(&big, "((");
	CHECK_INT(add(&st, &e, buf_cstr(&big), &err), -1); /* nesting */
	CHECK_INT(e.nrcpt, 0);
	sm_env_free(&e);
	buf_free(&err);
	buf_free(&big);
	sm_site_free(&st);
}

TEST(sender_forms)
{
	struct sm_site st;
	struct sm_env e;
	struct buf err = BUF_INIT;
	site(&st);
	sm_env_init(&e);
	CHECK_INT(sm_parse_sender(&st, "", &e, &err), 0);
	CHECK_STR(e.sender, "");
	CHECK_INT(sm_parse_sender(&st, "<>", &e, &err), 0);
	CHECK_STR(e.sender, "");
	CHECK_INT(sm_parse_sender(&st, "<list-owner>", &e, &err), 0);
	CHECK_STR(e.sender, "list-owner@example.org");
	CHECK_INT(sm_parse_sender(&st, "B@Example.COM", &e, &err), 0);
	CHECK_STR(e.sender, "B@example.com");
	CHECK_INT(sm_parse_sender(&st, "a b@c", &e, &err), -1);
	CHECK_INT(sm_parse_sender(&st, "<a@b> x", &e, &err), -1);
	CHECK_STR(e.sender, "B@example.com");
	sm_env_free(&e);
	buf_free(&err);
	sm_site_free(&st);
}

TEST(dedup_keeps_first_in_order)
{
	struct sm_env e;
	sm_env_init(&e);
	const char *in[] = { "c@x", "a@x", "c@x", "b@x", "a@x", "C@x", "a@x" };
	for (size_t i = 0; i < sizeof in / sizeof *in; i++)
		sm_env_add(&e, in[i], i == 2 ? "NEVER" : "", "");
	sm_env_dedup(&e);
	CHECK_INT(e.nrcpt, 4);
	CHECK_STR(e.rcpts[0].addr, "c@x");
	CHECK_STR(e.rcpts[0].notify, "");
	CHECK_STR(e.rcpts[1].addr, "a@x");
	CHECK_STR(e.rcpts[2].addr, "b@x");
	CHECK_STR(e.rcpts[3].addr, "C@x");
	sm_env_free(&e);
	/* many: O(n log n) */
	sm_env_init(&e);
	struct buf a = BUF_INIT;
	for (int i = 0; i < 50000; i++) {
		buf_reset(&a);
		buf_printf(&a, "u%d@x", i % 25000);
		sm_env_add(&e, buf_cstr(&a), "", "");
	}
	sm_env_dedup(&e);
	CHECK_INT(e.nrcpt, 25000);
	CHECK_STR(e.rcpts[24999].addr, "u24999@x");
	buf_free(&a);
	sm_env_free(&e);
}
