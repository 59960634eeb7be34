#include "authconn.h"
#include "buf.h"
#include "unit.h"

#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

/* A fake authd: answers per_conn requests on each connection, then closes
 * it; writes one byte per connection to the count pipe. */
static pid_t fake_authd(const char *path, int per_conn, int count_fd)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	snprintf(sun.sun_path, sizeof sun.sun_path, "%s", path);
	int ls = socket(AF_UNIX, SOCK_STREAM, 0);
	if (ls < 0 || bind(ls, (struct sockaddr *)&sun, sizeof sun) < 0 || listen(ls, 8) < 0)
		return -1;
	pid_t pid = fork();
	if (pid != 0) {
		close(ls);
		return pid;
	}
	for (;;) {
		int fd = accept(ls, NULL, NULL);
		if (fd < 0)
			_exit(0);
		(void)!write(count_fd, "c", 1);
		char b[512];
		for (int i = 0; i < per_conn; i++) {
			ssize_t n = read(fd, b, sizeof b);
			if (n <= 0)
				break;
			static const char ok[] = "OK uid=1001 gid=1002 home=/home/j\n";
			(void)!write(fd, ok, sizeof ok - 1);
		}
		close(fd);
	}
}

static void sock_path(struct buf *p)
{
	buf_printf(p, "%s/authd.sock", unit_tmpdir());
}

TEST(authconn_reuses_and_reconnects)
{
	struct buf path = BUF_INIT, why = BUF_INIT;
	sock_path(&path);
	int cp[2];
	CHECK(pipe(cp) == 0);
	pid_t pid = fake_authd(buf_cstr(&path), 2, cp[1]);
	CHECK(pid > 0);
	struct authconn c = AUTHCONN_INIT;
	c.path = buf_cstr(&path);
	for (int i = 0; i < 5; i++) {
		struct account a = ACCOUNT_INIT;
		CHECK_INT(authconn_lookup(&c, "smtp", "joe@example.test", &a, &why), AUTHCLIENT_OK);
		CHECK_INT((int)a.uid, 1001);
		account_free(&a);
	}
	authconn_close(&c);
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	char b[16];
	ssize_t n = read(cp[0], b, sizeof b); /* connections made */
	CHECK_INT((int)n, 3); /* 2 + 2 + 1 requests: the closed ones were retried once */
	buf_free(&path);
	buf_free(&why);
}

TEST(authconn_no_server_is_tempfail)
{
	struct buf path = BUF_INIT, why = BUF_INIT;
	sock_path(&path);
	struct authconn c = AUTHCONN_INIT;
	c.path = buf_cstr(&path);
	struct account a = ACCOUNT_INIT;
	CHECK_INT(authconn_lookup(&c, "smtp", "joe", &a, &why), AUTHCLIENT_TEMPFAIL);
	CHECK(strstr(buf_cstr(&why), "cannot connect") != NULL);
	CHECK_INT(c.fd, -1);
	buf_free(&path);
	buf_free(&why);
}

TEST(authconn_server_that_never_answers_is_tempfail_not_retried_forever)
{
	struct buf path = BUF_INIT, why = BUF_INIT;
	sock_path(&path);
	int cp[2];
	CHECK(pipe(cp) == 0);
	pid_t pid = fake_authd(buf_cstr(&path), 0, cp[1]); /* closes without a reply */
	CHECK(pid > 0);
	struct authconn c = AUTHCONN_INIT;
	c.path = buf_cstr(&path);
	struct account a = ACCOUNT_INIT;
	CHECK_INT(authconn_lookup(&c, "smtp", "joe", &a, &why), AUTHCLIENT_TEMPFAIL);
	CHECK_INT(authconn_lookup(&c, "smtp", "joe", &a, &why), AUTHCLIENT_TEMPFAIL);
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	char b[16];
	CHECK_INT((int)read(cp[0], b, sizeof b), 2); /* a fresh connection each: no retry loop */
	buf_free(&path);
	buf_free(&why);
}
