/* Tests of authclient: encoding, reply parsing, and requests against a fake
 * authd on a socketpair or a UNIX socket in the test's directory. */
#include "authclient.h"
#include "buf.h"
#include "unit.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

TEST(authclient_encode_roundtrip)
{
	struct buf e = BUF_INIT, d = BUF_INIT;
	static const char raw[] = "a b=c%d\n\0\xff~";
	authclient_encode(&e, raw, sizeof raw - 1);
	CHECK_BUF(e, "a%20b%3Dc%25d%0A%00%FF~");
	CHECK_INT(authclient_decode(&d, e.data, e.len), 0);
	CHECK_MEM(d.data, d.len, raw, sizeof raw - 1);
	buf_free(&e);
	buf_free(&d);
}

TEST(authclient_decode_rejects)
{
	static const char *bad[] = { "%", "%4", "%G0", "a b", "x\ty", "\x80", "%%" };
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		struct buf d = BUF_INIT;
		buf_append_str(&d, "keep");
		CHECK_INT(authclient_decode(&d, bad[i], strlen(bad[i])), -1);
		CHECK_BUF(d, "keep");
		buf_free(&d);
	}
	struct buf d = BUF_INIT;
	CHECK_INT(authclient_decode(&d, "a=b%3d", 6), 0); /* raw '=' tolerated, lowercase hex */
	CHECK_BUF(d, "a=b=");
	buf_free(&d);
}

static const char good_ok[] =
	"OK address=joe@example.test uid=1001 gid=1002 home=/home/j%20oe "
	"maildir=/home/joe/Maildir quota=100S options=disable-imap,disable-pop3 future=1";

TEST(authclient_parse_ok)
{
	struct account a = ACCOUNT_INIT;
	struct buf r = BUF_INIT;
	CHECK_INT(authclient_parse_reply(good_ok, strlen(good_ok), &a, &r), AUTHCLIENT_OK);
	CHECK_STR(a.address, "joe@example.test");
	CHECK_INT(a.uid, 1001);
	CHECK_INT(a.gid, 1002);
	CHECK_STR(a.home, "/home/j oe");
	CHECK_STR(a.maildir, "/home/joe/Maildir");
	CHECK_STR(a.quota, "100S");
	CHECK(account_has_option(&a, "disable-imap"));
	CHECK(account_has_option(&a, "disable-pop3"));
	CHECK(!account_has_option(&a, "disable"));
	CHECK(!account_has_option(&a, ""));
	/* minimal reply: missing strings become "" */
	static const char min[] = "OK uid=0 gid=0 home=/";
	CHECK_INT(authclient_parse_reply(min, strlen(min), &a, &r), AUTHCLIENT_OK);
	CHECK_STR(a.maildir, "");
	CHECK_STR(a.options, "");
	account_free(&a);
	buf_free(&r);
}

TEST(authclient_parse_bad)
{
	static const char *bad[] = {
		"OK", "OK uid=1 gid=1", "OK uid=1 home=/x", "OK uid=x gid=1 home=/",
		"OK uid=4294967295 gid=1 home=/", "OK uid=99999999999 gid=1 home=/",
		"OK uid=1 gid=1 home=relative", "OK uid=1 gid=1 home=/a%00b",
		"OK uid=1 gid=1 home=/%zz", "OK =x uid=1 gid=1 home=/", "OK uid",
		"OKAY uid=1 gid=1 home=/", "", "WHAT", "ok uid=1 gid=1 home=/",
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		struct account a = ACCOUNT_INIT;
		struct buf r = BUF_INIT;
		CHECK_INT(authclient_parse_reply(bad[i], strlen(bad[i]), &a, &r),
			  AUTHCLIENT_TEMPFAIL);
		CHECK(a.home == NULL);
		account_free(&a);
		buf_free(&r);
	}
	/* a NUL inside an OK line */
	static const char nul[] = "OK uid=1 gid=1 home=/\0x";
	CHECK_INT(authclient_parse_reply(nul, sizeof nul - 1, NULL, NULL), AUTHCLIENT_TEMPFAIL);
}

TEST(authclient_parse_no_tempfail)
{
	struct buf r = BUF_INIT;
	CHECK_INT(authclient_parse_reply("NO bad%20password", 17, NULL, &r), AUTHCLIENT_NO);
	CHECK_BUF(r, "bad password");
	CHECK_INT(authclient_parse_reply("NO", 2, NULL, &r), AUTHCLIENT_NO);
	CHECK_BUF(r, "");
	CHECK_INT(authclient_parse_reply("TEMPFAIL db%0Adown", 18, NULL, &r), AUTHCLIENT_TEMPFAIL);
	CHECK(strchr(buf_cstr(&r), '\n') == NULL);
	buf_free(&r);
}

/* A fake authd on one end of a socketpair: reads one line, checks it, answers. */
static pid_t fake_server(int fd, const char *expect, const char *reply, size_t reply_len)
{
	pid_t pid = fork();
	if (pid != 0)
		return pid;
	char in[AUTHCLIENT_MAX_LINE + 2];
	size_t n = 0;
	while (n < sizeof in - 1) {
		ssize_t r = read(fd, in + n, 1);
		if (r <= 0 || in[n] == '\n')
			break;
		n++;
	}
	in[n] = '\0';
	if (expect && strcmp(in, expect) != 0)
		_exit(3);
	/* the reply in pieces, to exercise partial reads */
	for (size_t i = 0; i < reply_len; i++)
		if (write(fd, reply + i, 1) != 1)
			_exit(4);
	_exit(0);
}

static int server_status(pid_t pid)
{
	int st;
	waitpid(pid, &st, 0);
	return WIFEXITED(st) ? WEXITSTATUS(st) : 99;
}

TEST(authclient_request_socketpair)
{
	int sv[2];
	CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
	char reply[sizeof good_ok + 1];
	memcpy(reply, good_ok, sizeof good_ok - 1);
	reply[sizeof good_ok - 1] = '\n';
	pid_t pid = fake_server(sv[1], "LOOKUP imap joe", reply, sizeof good_ok);
	struct account a = ACCOUNT_INIT;
	struct buf r = BUF_INIT;
	CHECK_INT(authclient_request_fd(sv[0], "LOOKUP imap joe", 5000, &a, &r), AUTHCLIENT_OK);
	CHECK_INT(a.uid, 1001);
	CHECK_INT(server_status(pid), 0);
	account_free(&a);
	buf_free(&r);
}

TEST(authclient_request_failures)
{
	struct buf r = BUF_INIT;
	int sv[2];
	/* the server closes without answering */
	CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
	pid_t pid = fake_server(sv[1], NULL, "OK uid=1", 8);
	CHECK_INT(authclient_request_fd(sv[0], "LOOKUP a b", 5000, NULL, &r), AUTHCLIENT_TEMPFAIL);
	server_status(pid);
	close(sv[0]);
	close(sv[1]);
	/* the server never answers: timeout */
	CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
	CHECK_INT(authclient_request_fd(sv[0], "LOOKUP a b", 200, NULL, &r), AUTHCLIENT_TEMPFAIL);
	CHECK(strstr(buf_cstr(&r), "timeout") != NULL);
	close(sv[0]);
	close(sv[1]);
	/* a reply longer than the limit */
	CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
	size_t big = AUTHCLIENT_MAX_LINE + 10;
	char *huge = malloc(big);
	CHECK(huge != NULL);
	memset(huge, 'N', big);
	huge[big - 1] = '\n';
	pid = fake_server(sv[1], NULL, huge, big);
	CHECK_INT(authclient_request_fd(sv[0], "LOOKUP a b", 5000, NULL, &r), AUTHCLIENT_TEMPFAIL);
	server_status(pid);
	free(huge);
	/* a request with a newline is refused before sending */
	CHECK_INT(authclient_request_fd(sv[0], "LOOKUP a\nb", 5000, NULL, &r), AUTHCLIENT_TEMPFAIL);
	/* no socket at all */
	CHECK_INT(authclient_request("/nonexistent/authd", "LOOKUP a b", 100, NULL, &r),
		  AUTHCLIENT_TEMPFAIL);
	buf_free(&r);
}

TEST(authclient_login_over_unix_socket)
{
	struct buf path = BUF_INIT;
	buf_printf(&path, "%s/sock", unit_tmpdir());
	int ls = socket(AF_UNIX, SOCK_STREAM, 0);
	struct sockaddr_un sun;
	memset(&sun, 0, sizeof sun);
	sun.sun_family = AF_UNIX;
	memcpy(sun.sun_path, path.data, path.len + 1);
	CHECK(bind(ls, (struct sockaddr *)&sun, sizeof sun) == 0);
	CHECK(listen(ls, 1) == 0);
	pid_t pid = fork();
	if (pid == 0) {
		int c = accept(ls, NULL, NULL);
		/* base64("\0joe\0pw d") */
		static const char reply[] = "NO bad%20password\n";
		pid_t inner = fake_server(c, "AUTH imap PLAIN 192.0.2.1 AGpvZQBwdyBk", reply,
					  sizeof reply - 1);
		_exit(server_status(inner));
	}
	struct buf r = BUF_INIT;
	struct account a = ACCOUNT_INIT;
	CHECK_INT(authclient_login(path.data, "imap", "192.0.2.1", "joe", "pw d", 4, &a, &r),
		  AUTHCLIENT_NO);
	CHECK_BUF(r, "bad password");
	CHECK_INT(server_status(pid), 0);
	close(ls);
	buf_free(&r);
	buf_free(&path);
}

TEST(authclient_parse_ticket_fields)
{
	struct account a = ACCOUNT_INIT;
	static const char ok[] = "OK uid=5 gid=6 home=/h expires=1700000000 ticket=abc%20def";
	CHECK_INT(authclient_parse_reply(ok, strlen(ok), &a, NULL), AUTHCLIENT_OK);
	CHECK_STR(a.ticket, "abc def");
	CHECK_INT(a.expires, 1700000000);
	static const char none[] = "OK uid=5 gid=6 home=/h";
	CHECK_INT(authclient_parse_reply(none, strlen(none), &a, NULL), AUTHCLIENT_OK);
	CHECK_STR(a.ticket, "");
	CHECK_INT(a.expires, 0);
	static const char bad[] = "OK uid=5 gid=6 home=/h expires=99999999999";
	CHECK_INT(authclient_parse_reply(bad, strlen(bad), &a, NULL), AUTHCLIENT_TEMPFAIL);
	static const char bad2[] = "OK uid=5 gid=6 home=/h expires=-1";
	CHECK_INT(authclient_parse_reply(bad2, strlen(bad2), &a, NULL), AUTHCLIENT_TEMPFAIL);
	account_free(&a);
}
