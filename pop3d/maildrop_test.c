/* Unit tests of pop3d/maildrop.c: listing, order, sizes, UIDLs, the lock,
 * deletions only at update. */
#include "maildrop.h"
#include "uidlist.h"
#include "unit.h"

#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static char root[512];

static void put(const char *sub, const char *name, const char *data)
{
	char p[1024];
	snprintf(p, sizeof p, "%s/%s/%s", root, sub, name);
	int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	CHECK(fd >= 0);
	CHECK_INT(write(fd, data, strlen(data)), (long long)strlen(data));
	close(fd);
}

static void setup(void)
{
	snprintf(root, sizeof root, "%s/Maildir", unit_tmpdir());
	CHECK_INT(mkdir(root, 0700), 0);
	const char *subs[] = { "tmp", "new", "cur" };
	for (int i = 0; i < 3; i++) {
		char p[600];
		snprintf(p, sizeof p, "%s/%s", root, subs[i]);
		CHECK_INT(mkdir(p, 0700), 0);
	}
}

static int count(const char *sub)
{
	char p[600];
	snprintf(p, sizeof p, "ls %s/%s | wc -l > %s/n", root, sub, unit_tmpdir());
	int n = 0;
	char *argv[] = { (char *)"/bin/sh", (char *)"-c", p, NULL };
	pid_t pid = fork();
	if (pid == 0) {
		execv(argv[0], argv);
		_exit(127);
	}
	waitpid(pid, NULL, 0);
	snprintf(p, sizeof p, "%s/n", unit_tmpdir());
	FILE *f = fopen(p, "r");
	CHECK(f && fscanf(f, "%d", &n) == 1);
	fclose(f);
	return n;
}

TEST(maildrop_lists_sorted_with_sizes)
{
	setup();
	struct maildrop md;
	struct buf err = BUF_INIT, u = BUF_INIT;
	put("cur", "1000000010.M2P1.h:2,S", "b\r\nc\r\n");
	put("new", "999999999.M1P1.h,S=4,W=6", "a\nb\n");
	put("new", "1000000020.M3P1.h", "x\ny\nz");
	put("new", ".hidden", "x");
	CHECK_INT(maildrop_open(&md, root, &err), MAILDROP_OK);
	CHECK_INT(md.n, 3);
	uint64_t s;
	CHECK_INT(maildrop_size(&md, 0, &s), 0);
	CHECK_INT(s, 6);
	CHECK_INT(maildrop_size(&md, 1, &s), 0);
	CHECK_INT(s, 6);
	CHECK_INT(maildrop_size(&md, 2, &s), 0);
	CHECK_INT(s, 7);
	maildrop_uidl(&md, 0, &u);
	CHECK_BUF(u, "999999999.M1P1.h");
	maildrop_uidl(&md, 1, &u);
	CHECK_BUF(u, "1000000010.M2P1.h");
	maildrop_close(&md);
	buf_free(&err);
	buf_free(&u);
}

TEST(maildrop_lock_and_update)
{
	setup();
	struct maildrop a, b;
	struct buf err = BUF_INIT;
	put("new", "1.M1P1.h", "one\n");
	put("new", "2.M1P1.h", "two\n");
	put("cur", "3.M1P1.h:2,", "three\n");
	CHECK_INT(maildrop_open(&a, root, &err), MAILDROP_OK);
	pid_t pid = fork();
	if (pid == 0) /* another process: the lock is held */
		_exit(maildrop_open(&b, root, &err) == MAILDROP_INUSE ? 0 : 1);
	int st;
	waitpid(pid, &st, 0);
	CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	a.m[0].deleted = 1;
	a.m[1].retrieved = 1;
	CHECK_INT(count("new"), 2); /* nothing happens before update */
	CHECK_INT(maildrop_update(&a, &err), 0);
	CHECK_INT(count("new"), 0);
	CHECK_INT(count("cur"), 2);
	char p[600];
	snprintf(p, sizeof p, "%s/cur/2.M1P1.h:2,S", root);
	CHECK_INT(access(p, F_OK), 0);
	maildrop_close(&a);
	CHECK_INT(maildrop_open(&b, root, &err), MAILDROP_OK); /* released */
	CHECK_INT(b.n, 2);
	maildrop_close(&b);
	buf_free(&err);
}

TEST(maildrop_odd_names_and_counts)
{
	setup();
	struct maildrop md;
	struct buf err = BUF_INIT, u = BUF_INIT;
	char longname[200];
	memset(longname, 'x', sizeof longname - 1);
	longname[sizeof longname - 1] = '\0';
	put("new", longname, "a\n");
	put("cur", "5.M1P1.h:2,S", "a\n");
	put("new", "5.M1P1.h", "a\n"); /* the same message seen twice (moved meanwhile) */
	CHECK_INT(maildrop_open(&md, root, &err), MAILDROP_OK);
	CHECK_INT(md.n, 2);
	maildrop_uidl(&md, 0, &u); /* the 199-byte name sorts first (no time): hashed */
	CHECK_INT(u.len, 32);
	maildrop_uidl(&md, 1, &u);
	CHECK_BUF(u, "5.M1P1.h");
	CHECK(strncmp(md.m[1].name, "cur/", 4) == 0);
	maildrop_close(&md);
	CHECK_INT(maildrop_open(&md, "/nonexistent/x", &err), MAILDROP_ERROR);
	maildrop_close(&md);
	/* counting across read boundaries */
	char p[600];
	snprintf(p, sizeof p, "%s/big", unit_tmpdir());
	int fd = open(p, O_RDWR | O_CREAT, 0600);
	char chunk[65536];
	memset(chunk, 'a', sizeof chunk);
	chunk[sizeof chunk - 1] = '\r';
	CHECK_INT(write(fd, chunk, sizeof chunk), (long long)sizeof chunk);
	CHECK_INT(write(fd, "\nb\n", 3), 3);
	lseek(fd, 0, SEEK_SET);
	uint64_t n;
	CHECK_INT(maildrop_count_fd(fd, &n), 0);
	CHECK_INT(n, 65536 + 3 + 1);
	close(fd);
	buf_free(&err);
	buf_free(&u);
}

TEST(maildrop_follows_a_moved_message)
{
	setup();
	struct maildrop md;
	struct buf err = BUF_INIT;
	put("new", "7.M1P1.h,S=2", "a\n");
	put("new", "8.M1P1.h", "b\n");
	CHECK_INT(maildrop_open(&md, root, &err), MAILDROP_OK);
	char from[700], to[700];
	/* another client moves both to cur/ and flags them */
	snprintf(from, sizeof from, "%s/new/7.M1P1.h,S=2", root);
	snprintf(to, sizeof to, "%s/cur/7.M1P1.h,S=2:2,S", root);
	CHECK_INT(rename(from, to), 0);
	snprintf(from, sizeof from, "%s/new/8.M1P1.h", root);
	snprintf(to, sizeof to, "%s/cur/8.M1P1.h:2,F", root);
	CHECK_INT(rename(from, to), 0);
	int fd = maildrop_open_msg(&md, 0);
	CHECK(fd >= 0);
	close(fd);
	CHECK_STR(md.m[0].name, "cur/7.M1P1.h,S=2:2,S");
	md.m[1].deleted = 1;
	CHECK_INT(maildrop_update(&md, &err), 0);
	CHECK_INT(access(to, F_OK), -1);
	CHECK_INT(count("cur"), 1);
	maildrop_close(&md);
	buf_free(&err);
}

TEST(maildrop_imap_uids_shared_with_imapd)
{
	setup();
	struct maildrop md;
	struct buf err = BUF_INIT, u = BUF_INIT, u2 = BUF_INIT;
	put("new", "1000000001.M1P1.h,S=2", "a\n");
	put("cur", "1000000002.M2P1.h:2,S", "b\n");
	CHECK_INT(maildrop_open(&md, root, &err), MAILDROP_OK);
	CHECK_INT(maildrop_use_imap_uids(&md, root, &err), 0);
	CHECK(md.uidvalidity != 0);
	maildrop_uidl(&md, 0, &u);
	maildrop_uidl(&md, 1, &u2);
	CHECK(strchr(buf_cstr(&u), '.') != NULL);
	CHECK(strcmp(buf_cstr(&u), buf_cstr(&u2)) != 0);
	/* numbered where it lies: nothing renamed */
	CHECK_STR(md.m[0].name, "new/1000000001.M1P1.h,S=2");
	CHECK_INT(count("new"), 1);
	int fd = maildrop_open_msg(&md, 0);
	CHECK(fd >= 0);
	close(fd);
	maildrop_close(&md);
	/* imapd's scan moves it, keeps the UID and reports it recent; the next
	 * POP3 session finds the same UIDs */
	uint32_t v = 0, next = 0;
	struct disk_msg *d = NULL;
	size_t nd = 0;
	CHECK_INT(folder_scan(root, &v, &next, &d, &nd), 0);
	CHECK_INT(nd, 2);
	struct buf want = BUF_INIT;
	buf_printf(&want, "%u.%u", (unsigned)v, (unsigned)d[0].uid);
	CHECK_STR(buf_cstr(&u), buf_cstr(&want));
	CHECK(d[0].recent && !d[1].recent);
	CHECK_INT(count("new"), 0);
	disk_msgs_free(d, nd);
	CHECK_INT(maildrop_open(&md, root, &err), MAILDROP_OK);
	CHECK_INT(maildrop_use_imap_uids(&md, root, &err), 0);
	maildrop_uidl(&md, 0, &u2);
	CHECK_STR(buf_cstr(&u2), buf_cstr(&want));
	maildrop_close(&md);
	buf_free(&want);
	buf_free(&err);
	buf_free(&u);
	buf_free(&u2);
}
