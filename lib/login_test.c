/* Unit tests of lib/login: SASL PLAIN splitting and the ticket handed to auth-exec. */
#include "login.h"
#include "ticket.h"
#include "unit.h"

#include <string.h>
#include <time.h>

TEST(login_plain_split_cases)
{
	struct buf u = BUF_INIT, p = BUF_INIT;
	CHECK_INT(login_plain_split("\0joe\0pw d", 9, &u, &p), 0);
	CHECK_BUF(u, "joe");
	CHECK_BUF(p, "pw d");
	CHECK_INT(login_plain_split("joe\0joe\0pw", 10, &u, &p), 0);
	CHECK_INT(login_plain_split("ann\0joe\0pw", 10, &u, &p), -1); /* proxy */
	CHECK_INT(login_plain_split("\0joe\0", 5, &u, &p), -1);       /* empty password */
	CHECK_INT(login_plain_split("\0\0pw", 4, &u, &p), -1);        /* empty user */
	CHECK_INT(login_plain_split("\0joe\0pw\0x", 9, &u, &p), -1);  /* extra NUL */
	CHECK_INT(login_plain_split("joe", 3, &u, &p), -1);
	CHECK_INT(login_plain_split("", 0, &u, &p), -1);
	static char big[LOGIN_MAX_PASS + 10];
	memset(big, 'x', sizeof big);
	big[0] = '\0';
	big[4] = '\0';
	CHECK_INT(login_plain_split(big, sizeof big, &u, &p), -1);   /* password too long */
	login_wipe(&p);
	CHECK(p.data == NULL);
	buf_free(&u);
}

TEST(login_ticket_env_verifies)
{
	struct buf key = BUF_INIT, t = BUF_INIT, env = BUF_INIT, err = BUF_INIT;
	for (int i = 0; i < TICKET_KEY_LEN; i++)
		buf_append_char(&key, (char)i);
	struct account a = ACCOUNT_INIT, got = ACCOUNT_INIT;
	a.address = (char *)"joe@example.test";
	a.uid = 1000;
	a.gid = 1000;
	a.home = (char *)"/home/joe";
	a.maildir = (char *)"";
	a.quota = (char *)"";
	a.options = (char *)"";
	a.expires = (uint64_t)time(NULL) + TICKET_LIFETIME;
	/* what authd sends: the MAC of the signed line */
	ticket_format(&t, "pop3", &a, a.expires);
	struct buf mac = BUF_INIT;
	ticket_mac(&key, t.data, t.len, &mac);
	a.ticket = mac.data;
	login_ticket_env("pop3", &a, &env);
	CHECK_INT(ticket_verify(env.data, env.len, &key, "pop3", time(NULL), &got, &err), 0);
	CHECK_STR(got.address, "joe@example.test");
	CHECK_INT(ticket_verify(env.data, env.len, &key, "imap", time(NULL), &got, &err), -1);
	account_free(&got);
	buf_free(&mac);
	buf_free(&key);
	buf_free(&t);
	buf_free(&env);
	buf_free(&err);
}
