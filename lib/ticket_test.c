/* Unit tests of lib/ticket: key file handling, signing, verification, forgery. */
#include "ticket.h"
#include "buf.h"
#include "unit.h"

#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static void key_of(struct buf *key, char c)
{
	buf_reset(key);
	for (int i = 0; i < TICKET_KEY_LEN; i++)
		buf_append_char(key, c);
}

static struct account sample(void)
{
	struct account a = ACCOUNT_INIT;
	a.address = (char *)"joe@example.test";
	a.uid = 1000;
	a.gid = 1001;
	a.home = (char *)"/home/j oe";
	a.maildir = (char *)"";
	a.quota = (char *)"100S";
	a.options = (char *)"disable-imap";
	return a;
}

TEST(ticket_sign_and_verify)
{
	struct buf key = BUF_INIT, t = BUF_INIT, err = BUF_INIT;
	struct account a = sample(), got = ACCOUNT_INIT;
	key_of(&key, 'k');
	ticket_sign(&t, &key, "pop3", &a, 1000030);
	CHECK(strncmp(buf_cstr(&t), "service=pop3 address=joe@example.test uid=1000 gid=1001 "
				    "home=/home/j%20oe maildir= quota=100S options=disable-imap "
				    "expires=1000030 mac=", 120) == 0);
	CHECK_INT(ticket_verify(t.data, t.len, &key, "pop3", 1000000, &got, &err), 0);
	CHECK_STR(got.address, "joe@example.test");
	CHECK_INT(got.uid, 1000);
	CHECK_INT(got.gid, 1001);
	CHECK_STR(got.home, "/home/j oe");
	CHECK_STR(got.options, "disable-imap");
	/* expiry bounds */
	CHECK_INT(ticket_verify(t.data, t.len, &key, "pop3", 1000031, &got, &err), -1);
	CHECK(strstr(buf_cstr(&err), "expired") != NULL);
	CHECK_INT(ticket_verify(t.data, t.len, &key, "pop3", 1000030 - TICKET_MAX_SKEW - 1, &got, &err), -1);
	/* another service */
	CHECK_INT(ticket_verify(t.data, t.len, &key, "imap", 1000000, &got, &err), -1);
	/* another key */
	struct buf other = BUF_INIT;
	key_of(&other, 'x');
	CHECK_INT(ticket_verify(t.data, t.len, &other, "pop3", 1000000, &got, &err), -1);
	CHECK(strstr(buf_cstr(&err), "MAC") != NULL);
	account_free(&got);
	buf_free(&key);
	buf_free(&other);
	buf_free(&t);
	buf_free(&err);
}

TEST(ticket_forgeries_refused)
{
	struct buf key = BUF_INIT, t = BUF_INIT, err = BUF_INIT, f = BUF_INIT;
	struct account a = sample(), got = ACCOUNT_INIT;
	key_of(&key, 'k');
	ticket_sign(&t, &key, "pop3", &a, 1000030);
	/* every single changed byte fails */
	for (size_t i = 0; i < t.len; i++) {
		buf_set(&f, t.data, t.len);
		f.data[i] ^= 1;
		CHECK_INT(ticket_verify(f.data, f.len, &key, "pop3", 1000000, &got, &err), -1);
	}
	/* truncated, extended, NUL inside, garbage, empty */
	for (size_t n = 0; n < t.len; n += 7)
		CHECK_INT(ticket_verify(t.data, n, &key, "pop3", 1000000, &got, &err), -1);
	buf_set(&f, t.data, t.len);
	buf_append_str(&f, "0");
	CHECK_INT(ticket_verify(f.data, f.len, &key, "pop3", 1000000, &got, &err), -1);
	buf_set(&f, t.data, t.len);
	f.data[3] = '\0';
	CHECK_INT(ticket_verify(f.data, f.len, &key, "pop3", 1000000, &got, &err), -1);
	CHECK_INT(ticket_verify("", 0, &key, "pop3", 1000000, &got, &err), -1);
	/* a correctly signed but non-canonical line (extra key) is refused */
	buf_set_str(&f, "service=pop3 address=a uid=1 gid=1 home=/ maildir= quota= options= "
			"extra=1 expires=1000030");
	struct buf mac = BUF_INIT;
	ticket_mac(&key, f.data, f.len, &mac);
	buf_append_str(&f, " mac=");
	buf_append_buf(&f, &mac);
	CHECK_INT(ticket_verify(f.data, f.len, &key, "pop3", 1000000, &got, &err), -1);
	CHECK(got.address == NULL);
	buf_free(&mac);
	buf_free(&key);
	buf_free(&t);
	buf_free(&f);
	buf_free(&err);
}

TEST(ticket_key_file)
{
	char path[512];
	struct buf key = BUF_INIT, key2 = BUF_INIT, err = BUF_INIT;
	snprintf(path, sizeof path, "%s/authd.key", unit_tmpdir());
	CHECK_INT(ticket_key_load(path, &key, &err), -1);
	CHECK_INT(ticket_key_create(path, 0, 0, 0, &err), 0);
	struct stat st;
	CHECK_INT(stat(path, &st), 0);
	CHECK_INT(st.st_mode & 07777, 0600);
	CHECK_INT(st.st_size, 65);
	CHECK_INT(ticket_key_load(path, &key, &err), 0);
	CHECK_INT(key.len, TICKET_KEY_LEN);
	/* a second create keeps the key */
	CHECK_INT(ticket_key_create(path, 0, 0, 0, &err), 0);
	CHECK_INT(ticket_key_load(path, &key2, &err), 0);
	CHECK_MEM(key.data, key.len, key2.data, key2.len);
	/* too open a mode is refused */
	CHECK_INT(chmod(path, 0640), 0);
	CHECK_INT(ticket_key_load(path, &key, &err), -1);
	/* malformed contents */
	CHECK_INT(chmod(path, 0600), 0);
	int fd = open(path, O_WRONLY | O_TRUNC);
	CHECK(fd >= 0);
	CHECK_INT(write(fd, "abc\n", 4), 4);
	close(fd);
	CHECK_INT(ticket_key_load(path, &key, &err), -1);
	/* a symlink is not followed */
	char link[600];
	snprintf(link, sizeof link, "%s/link.key", unit_tmpdir());
	CHECK_INT(symlink(path, link), 0);
	CHECK_INT(ticket_key_load(link, &key, &err), -1);
	buf_free(&key);
	buf_free(&key2);
	buf_free(&err);
}
