/* Tests for sasl: exchanges relayed to a fake authd on a socketpair (each
 * reply written a byte at a time), the base64 framing both ways, cancel,
 * malformed client data, malformed or missing authd replies, a timeout, and
 * the mechanism list over a UNIX socket in the test's directory. */
#include "sasl.h"
#include "authclient.h"
#include "buf.h"
#include "unit.h"

#include <signal.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

/* A fake authd: for each pair, read a line, compare it with the first,
 * answer the second (NULL: close). Exits 0 if every line was as expected. */
static pid_t fake(int fd, const char *const *script)
{
	pid_t pid = fork();
	if (pid != 0)
		return pid;
	for (size_t k = 0; script[k]; k += 2) {
		char in[20000];
		size_t n = 0;
		while (n < sizeof in - 1) {
			ssize_t r = read(fd, in + n, 1);
			if (r <= 0)
				_exit(2);
			if (in[n] == '\n')
				break;
			n++;
		}
		in[n] = '\0';
		if (strcmp(in, script[k]) != 0)
			_exit(3);
		if (script[k + 1] == NULL)
			_exit(0);
		for (const char *p = script[k + 1]; *p; p++)
			if (write(fd, p, 1) != 1)
				_exit(4);
		if (write(fd, "\n", 1) != 1)
			_exit(4);
	}
	_exit(0);
}

static int status(pid_t pid)
{
	int st;
	waitpid(pid, &st, 0);
	return WIFEXITED(st) ? WEXITSTATUS(st) : 99;
}

struct fx {
	int sv[2];
	pid_t pid;
	struct sasl *s;
	struct buf chal, reason;
	struct account acct;
};

static void fx_start(struct fx *f, const char *const *script)
{
	CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, f->sv) == 0);
	f->pid = fake(f->sv[1], script);
	close(f->sv[1]);
	f->s = sasl_new_fd(f->sv[0], "imap", "127.0.0.1");
	buf_init(&f->chal);
	buf_init(&f->reason);
	struct account init = ACCOUNT_INIT;
	f->acct = init;
}

static void fx_end(struct fx *f, int want_status)
{
	sasl_free(f->s);
	close(f->sv[0]);
	CHECK_INT(status(f->pid), want_status);
	buf_free(&f->chal);
	buf_free(&f->reason);
	account_free(&f->acct);
}

#define OKLINE "OK address=joe%40example.test uid=1000 gid=1000 home=/h maildir= quota= options="

TEST(sasl_scram_like_flow)
{
	static const char *const script[] = {
		"SASL imap SCRAM-SHA-256 127.0.0.1 bixuPWpvZSxyPWFiYw==", "CONT cj1hYmN4eXo=",
		"STEP Yz1iaXdzLHA9eA==", "CONT dj14",
		"STEP =", OKLINE,
		NULL,
	};
	struct fx f;
	fx_start(&f, script);
	CHECK_INT(sasl_begin(f.s, "scram-sha-256", "biwsbj1qb2Uscj1hYmM=", &f.chal, &f.acct, &f.reason),
		  SASL_TEMPFAIL); /* not what the fake expects: it gave up */
	fx_end(&f, 3);
	fx_start(&f, script);
	CHECK_INT(sasl_begin(f.s, "scram-sha-256", "bixuPWpvZSxyPWFiYw==", &f.chal, &f.acct,
			     &f.reason), SASL_CONTINUE);
	CHECK_BUF(f.chal, "cj1hYmN4eXo=");
	CHECK_INT(sasl_continue(f.s, "Yz1iaXdzLHA9eA==", 16, &f.chal, &f.acct, &f.reason),
		  SASL_CONTINUE);
	CHECK_BUF(f.chal, "dj14");
	CHECK_INT(sasl_continue(f.s, "", 0, &f.chal, &f.acct, &f.reason), SASL_OK);
	CHECK_STR(f.acct.address, "joe@example.test");
	CHECK_INT((int)f.acct.uid, 1000);
	/* the exchange is over */
	CHECK_INT(sasl_continue(f.s, "", 0, &f.chal, &f.acct, &f.reason), SASL_TEMPFAIL);
	fx_end(&f, 0);
}

TEST(sasl_empty_challenge_and_no)
{
	static const char *const script[] = {
		"SASL imap PLAIN 127.0.0.1", "CONT =",
		"STEP AGpvZQB4", "NO authentication%20failed",
		NULL,
	};
	struct fx f;
	fx_start(&f, script);
	CHECK_INT(sasl_begin(f.s, "PLAIN", NULL, &f.chal, &f.acct, &f.reason), SASL_CONTINUE);
	CHECK_INT((int)f.chal.len, 0);
	CHECK_INT(sasl_continue(f.s, "AGpvZQB4", 8, &f.chal, &f.acct, &f.reason), SASL_NO);
	CHECK_BUF(f.reason, "authentication failed");
	fx_end(&f, 0);
}

TEST(sasl_cancel)
{
	static const char *const script[] = {
		"SASL imap LOGIN 127.0.0.1 =", "CONT VXNlcm5hbWU6",
		"STEP *", "NO cancelled",
		NULL,
	};
	struct fx f;
	fx_start(&f, script);
	CHECK_INT(sasl_begin(f.s, "LOGIN", "=", &f.chal, &f.acct, &f.reason), SASL_CONTINUE);
	CHECK_BUF(f.chal, "VXNlcm5hbWU6");
	CHECK_INT(sasl_continue(f.s, "*", 1, &f.chal, &f.acct, &f.reason), SASL_CANCEL);
	fx_end(&f, 0);
}

TEST(sasl_client_data_refused_locally)
{
	static const char *const script[] = { "SASL imap LOGIN 127.0.0.1", "CONT VXNlcm5hbWU6",
					      NULL };
	struct fx f;
	fx_start(&f, script);
	CHECK_INT(sasl_begin(f.s, "NTLM", NULL, &f.chal, &f.acct, &f.reason), SASL_NOMECH);
	CHECK_INT(sasl_begin(f.s, "LOGIN", "not base64!", &f.chal, &f.acct, &f.reason), SASL_BAD);
	CHECK_INT(sasl_begin(f.s, "LOGIN", "", &f.chal, &f.acct, &f.reason), SASL_BAD);
	CHECK_INT(sasl_begin(f.s, "LOGIN", NULL, &f.chal, &f.acct, &f.reason), SASL_CONTINUE);
	CHECK_INT(sasl_continue(f.s, "am9l\0", 5, &f.chal, &f.acct, &f.reason), SASL_BAD);
	fx_end(&f, 0);
	fx_start(&f, script);
	CHECK_INT(sasl_begin(f.s, "LOGIN", NULL, &f.chal, &f.acct, &f.reason), SASL_CONTINUE);
	static char big[SASL_MAX_RESPONSE + 4];
	memset(big, 'A', sizeof big);
	CHECK_INT(sasl_continue(f.s, big, sizeof big, &f.chal, &f.acct, &f.reason), SASL_BAD);
	fx_end(&f, 0);
}

TEST(sasl_bad_authd_replies)
{
	static const char *const replies[] = { "CONT !!!", "CONT", "BAD malformed", "HELLO",
					       "TEMPFAIL db%20down", "OK uid=x" };
	for (size_t i = 0; i < sizeof replies / sizeof replies[0]; i++) {
		const char *script[] = { "SASL imap PLAIN 127.0.0.1", replies[i], NULL };
		struct fx f;
		fx_start(&f, script);
		CHECK_INT(sasl_begin(f.s, "PLAIN", NULL, &f.chal, &f.acct, &f.reason),
			  SASL_TEMPFAIL);
		CHECK(f.reason.len > 0);
		fx_end(&f, 0);
	}
	/* authd closes without answering */
	const char *script[] = { "SASL imap PLAIN 127.0.0.1", NULL };
	struct fx f;
	fx_start(&f, script);
	CHECK_INT(sasl_begin(f.s, "PLAIN", NULL, &f.chal, &f.acct, &f.reason), SASL_TEMPFAIL);
	fx_end(&f, 0);
}

TEST(sasl_timeout)
{
	int sv[2];
	CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
	struct sasl *s = sasl_new_fd(sv[0], "smtp", "fe80::1%eth0");
	struct buf chal = BUF_INIT, reason = BUF_INIT;
	struct account a = ACCOUNT_INIT;
	sasl_set_timeout(s, 200);
	CHECK_INT(sasl_begin(s, "PLAIN", NULL, &chal, &a, &reason), SASL_TEMPFAIL);
	CHECK(strstr(buf_cstr(&reason), "timeout") != NULL);
	char got[64] = { 0 };
	CHECK(read(sv[1], got, sizeof got - 1) > 0);
	CHECK_STR(got, "SASL smtp PLAIN -\n"); /* an address authd cannot take: none */
	sasl_free(s);
	close(sv[0]);
	close(sv[1]);
	buf_free(&chal);
	buf_free(&reason);
}

TEST(sasl_mechanisms_over_unix_socket)
{
	struct buf path = BUF_INIT, list = BUF_INIT;
	buf_printf(&path, "%s/sock", unit_tmpdir());
	int l = socket(AF_UNIX, SOCK_STREAM, 0);
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	memcpy(sun.sun_path, path.data, path.len);
	CHECK(bind(l, (struct sockaddr *)&sun, sizeof sun) == 0 && listen(l, 4) == 0);
	static const char *const script[] = { "MECHS pop3", "OK mechs=PLAIN,NTLM,SCRAM-SHA-256",
					      NULL };
	pid_t pid = fork();
	if (pid == 0) {
		int c = accept(l, NULL, NULL);
		waitpid(fake(c, script), NULL, 0);
		_exit(0);
	}
	CHECK_INT(sasl_mechanisms(buf_cstr(&path), "pop3", &list), SASL_OK);
	CHECK_BUF(list, "PLAIN SCRAM-SHA-256");
	CHECK(sasl_mechanism_listed(buf_cstr(&list), "scram-sha-256"));
	CHECK(sasl_mechanism_listed(buf_cstr(&list), "PLAIN"));
	CHECK(!sasl_mechanism_listed(buf_cstr(&list), "PLAI"));
	CHECK(!sasl_mechanism_listed(buf_cstr(&list), "NTLM"));
	waitpid(pid, NULL, 0);
	close(l);
	unlink(buf_cstr(&path));
	CHECK_INT(sasl_mechanisms(buf_cstr(&path), "pop3", &list), SASL_TEMPFAIL);
	CHECK_INT((int)list.len, 0);
	buf_free(&path);
	buf_free(&list);
}
