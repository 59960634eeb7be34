#define _GNU_SOURCE /* unshare, sethostname */
#include "buf.h"
#include "file.h"
#include "maildir.h"
#include "mdflags.h"
#include "unit.h"

#include <dirent.h>
#include <stddef.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#ifdef __x86_64__
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#endif
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

/* A path in the test's directory; valid for the next 15 calls. */
static const char *tpath(const char *name)
{
	static char path[16][4200];
	static int next;
	char *p = path[next++ % 16];
	snprintf(p, sizeof path[0], "%s/%s", unit_tmpdir(), name);
	return p;
}

/* A fresh maildir "md" in the test's directory. */
static const char *make_md(void)
{
	static char md[4200];
	snprintf(md, sizeof md, "%s", tpath("md"));
	CHECK_INT(maildir_create(md, 0700, 0), 0);
	return md;
}

/* Number of entries in dir (without . and ..); the only name into *one. */
static int count_entries(const char *dir, struct buf *one)
{
	DIR *d = opendir(dir);
	if (d == NULL)
		return -1;
	int n = 0;
	struct dirent *e;
	while ((e = readdir(d)) != NULL) {
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		n++;
		if (one)
			buf_set_str(one, e->d_name);
	}
	closedir(d);
	return n;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* 1 if the n strings are pairwise different (sorts them). */
static int all_distinct(char **v, size_t n)
{
	qsort(v, n, sizeof v[0], cmp_str);
	for (size_t i = 1; i < n; i++)
		if (strcmp(v[i - 1], v[i]) == 0)
			return 0;
	return 1;
}

TEST(maildir_unique_shape)
{
	struct buf b = BUF_INIT;
	CHECK_INT(maildir_unique_at(&b, 1700000000, 12345), 0);
	char want[64];
	snprintf(want, sizeof want, "1700000000.M12345P%ldR", (long)getpid());
	CHECK(strncmp(buf_cstr(&b), want, strlen(want)) == 0);
	const char *r = buf_cstr(&b) + strlen(want);
	for (int i = 0; i < 16; i++)
		CHECK(strchr("0123456789abcdef", r[i]) != NULL);
	CHECK(r[16] == '.');
	CHECK(strlen(r + 17) > 0 && strlen(r + 17) <= 64);
	CHECK(strpbrk(buf_cstr(&b), "/:,") == NULL);
	/* the second name of a process carries Q1 */
	buf_reset(&b);
	CHECK_INT(maildir_unique_at(&b, 1700000000, 12345), 0);
	snprintf(want, sizeof want, "1700000000.M12345P%ldQ1R", (long)getpid());
	CHECK(strncmp(buf_cstr(&b), want, strlen(want)) == 0);
	/* a name is a valid maildir file name without info */
	struct mdflags_name n;
	CHECK_INT(mdflags_name_parse(&n, b.data, b.len), 0);
	CHECK_INT(n.info, MDFLAGS_INFO_NONE);
	buf_free(&b);
}

TEST(maildir_unique_10000)
{
	enum { N = 10000 };
	char **v = calloc(N, sizeof *v);
	CHECK(v != NULL);
	struct buf b = BUF_INIT;
	for (size_t i = 0; i < N; i++) {
		buf_reset(&b);
		CHECK_INT(maildir_unique(&b), 0);
		v[i] = strdup(buf_cstr(&b));
	}
	CHECK(all_distinct(v, N));
	for (size_t i = 0; i < N; i++)
		free(v[i]);
	free(v);
	buf_free(&b);
}

TEST(maildir_unique_forked_same_microsecond)
{
	enum { KIDS = 16, EACH = 300 };
	const char *out = tpath("names");
	int fd = open(out, O_WRONLY | O_CREAT | O_APPEND, 0600);
	CHECK(fd >= 0);
	for (int k = 0; k < KIDS; k++) {
		pid_t pid = fork();
		CHECK(pid >= 0);
		if (pid == 0) {
			struct buf b = BUF_INIT;
			for (int i = 0; i < EACH; i++) {
				buf_reset(&b);
				if (maildir_unique_at(&b, 1700000000, 999999) < 0)
					_exit(1);
				buf_append_char(&b, '\n');
				if (file_write_all(fd, b.data, b.len) < 0)
					_exit(1);
			}
			_exit(0);
		}
	}
	for (int k = 0; k < KIDS; k++) {
		int status;
		CHECK(wait(&status) > 0);
		CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	}
	close(fd);
	struct buf all = BUF_INIT;
	CHECK_INT(file_read(out, &all, 1 << 22), 0);
	char **v = calloc(KIDS * EACH, sizeof *v);
	size_t n = 0;
	for (char *line = strtok(all.data, "\n"); line; line = strtok(NULL, "\n"))
		v[n++] = line;
	CHECK_INT(n, KIDS * EACH);
	CHECK(all_distinct(v, n));
	free(v);
	buf_free(&all);
}

TEST(maildir_unique_escapes_host)
{
	if (unshare(CLONE_NEWUTS) < 0 || sethostname("a/b:c,d\\e f", 11) < 0)
		return; /* no private UTS namespace here: nothing to check */
	struct buf b = BUF_INIT;
	CHECK_INT(maildir_unique_at(&b, 1, 2), 0);
	const char *host = strchr(strchr(buf_cstr(&b), 'R'), '.') + 1;
	CHECK_STR(host, "a\\057b\\072c\\054d\\134e\\040f");
	buf_free(&b);
}

/* Deliver data in pieces of step bytes; return the name in new/. */
static void deliver_pieces(const char *md, const char *data, size_t len, size_t step,
			   struct buf *name)
{
	struct maildir_delivery d;
	CHECK_INT(maildir_deliver_begin(&d, md), 0);
	for (size_t off = 0; off < len; off += step) {
		size_t n = len - off < step ? len - off : step;
		CHECK_INT(maildir_deliver_write(&d, data + off, n), 0);
	}
	CHECK_INT(maildir_deliver_commit(&d, name), 0);
	maildir_deliver_abort(&d); /* after commit: nothing */
}

TEST(maildir_deliver_exact_bytes)
{
	const char *md = make_md();
	static const char msg[] = "Subject: x\r\nA: b\n\nbody\0with NUL\r\nend\n";
	size_t len = sizeof msg - 1;
	for (size_t step = 1; step <= len; step += 7) {
		struct buf name = BUF_INIT, got = BUF_INIT, path = BUF_INIT;
		deliver_pieces(md, msg, len, step, &name);
		buf_printf(&path, "%s/new/%s", md, buf_cstr(&name));
		CHECK_INT(file_read(buf_cstr(&path), &got, 1000), 0);
		CHECK_MEM(got.data, got.len, msg, len);
		uint64_t s = 0, w = 0;
		CHECK_INT(mdflags_name_size(name.data, name.len, 'S', &s), 0);
		CHECK_INT(mdflags_name_size(name.data, name.len, 'W', &w), 0);
		CHECK_INT(s, len);
		CHECK_INT(w, len + 3); /* three bare LFs */
		CHECK(strchr(buf_cstr(&name), ':') == NULL);
		CHECK_INT(unlink(buf_cstr(&path)), 0);
		buf_free(&name);
		buf_free(&got);
		buf_free(&path);
	}
	CHECK_INT(count_entries(tpath("md/tmp"), NULL), 0);
	CHECK_INT(count_entries(tpath("md/new"), NULL), 0);
}

TEST(maildir_deliver_vsize_across_pieces)
{
	const char *md = make_md();
	struct buf name = BUF_INIT;
	/* the CR of a CRLF ends one piece, the LF starts the next */
	deliver_pieces(md, "a\r\nb\n\n\r", 7, 2, &name);
	uint64_t w = 0;
	CHECK_INT(mdflags_name_size(name.data, name.len, 'W', &w), 0);
	CHECK_INT(w, 9);
	/* empty message, from an empty buf that never held data */
	struct maildir_delivery d;
	struct buf empty = BUF_INIT;
	CHECK_INT(maildir_deliver_begin(&d, md), 0);
	CHECK_INT(maildir_deliver_buf(&d, &empty), 0);
	CHECK_INT(maildir_deliver_commit(&d, &name), 0);
	CHECK(strstr(buf_cstr(&name), ",S=0,W=0") != NULL);
	buf_free(&name);
}

TEST(maildir_deliver_buf_and_copy)
{
	const char *md = make_md();
	struct maildir_delivery d;
	struct buf msg = BUF_INIT, name = BUF_INIT, got = BUF_INIT, path = BUF_INIT;
	for (int i = 0; i < 20000; i++)
		buf_printf(&msg, "line %d\n", i);
	CHECK_INT(file_replace(tpath("src"), msg.data, msg.len, 0600), 0);

	CHECK_INT(maildir_deliver_begin(&d, md), 0);
	CHECK_INT(maildir_deliver_buf(&d, &msg), 0);
	int fd = open(tpath("src"), O_RDONLY);
	CHECK(fd >= 0);
	CHECK_INT(maildir_deliver_copy(&d, fd, msg.len), 0);
	close(fd);
	CHECK_INT(maildir_deliver_commit(&d, &name), 0);
	buf_printf(&path, "%s/new/%s", md, buf_cstr(&name));
	CHECK_INT(file_read(buf_cstr(&path), &got, 1 << 22), 0);
	CHECK_INT(got.len, 2 * msg.len);
	CHECK(memcmp(got.data, msg.data, msg.len) == 0);
	CHECK(memcmp(got.data + msg.len, msg.data, msg.len) == 0);

	/* over the limit: EFBIG, and the delivery cannot be committed */
	CHECK_INT(maildir_deliver_begin(&d, md), 0);
	fd = open(tpath("src"), O_RDONLY);
	CHECK_INT(maildir_deliver_copy(&d, fd, msg.len - 1), -1);
	CHECK_INT(errno, EFBIG);
	close(fd);
	CHECK_INT(maildir_deliver_write(&d, "x", 1), -1);
	CHECK_INT(maildir_deliver_commit(&d, &name), -1);
	CHECK_INT(errno, EFBIG);
	CHECK_INT(name.len, 0);
	CHECK_INT(count_entries(tpath("md/new"), NULL), 1);
	CHECK_INT(count_entries(tpath("md/tmp"), NULL), 0);
	buf_free(&msg);
	buf_free(&name);
	buf_free(&got);
	buf_free(&path);
}

TEST(maildir_deliver_crash_leaves_new_empty)
{
	const char *md = make_md();
	pid_t pid = fork();
	CHECK(pid >= 0);
	if (pid == 0) {
		struct maildir_delivery d;
		if (maildir_deliver_begin(&d, md) < 0 || maildir_deliver_write(&d, "half", 4) < 0)
			_exit(1);
		kill(getpid(), SIGKILL); /* die between write and commit */
		_exit(1);
	}
	int status;
	CHECK(waitpid(pid, &status, 0) == pid);
	CHECK(WIFSIGNALED(status));
	CHECK_INT(count_entries(tpath("md/new"), NULL), 0);
	CHECK_INT(count_entries(tpath("md/cur"), NULL), 0);
	CHECK_INT(count_entries(tpath("md/tmp"), NULL), 1);
}

TEST(maildir_deliver_abort_cleans_tmp)
{
	const char *md = make_md();
	struct maildir_delivery d;
	CHECK_INT(maildir_deliver_begin(&d, md), 0);
	CHECK_INT(maildir_deliver_write(&d, "abc", 3), 0);
	CHECK_INT(count_entries(tpath("md/tmp"), NULL), 1);
	maildir_deliver_abort(&d);
	maildir_deliver_abort(&d);
	CHECK_INT(count_entries(tpath("md/tmp"), NULL), 0);
	CHECK_INT(count_entries(tpath("md/new"), NULL), 0);
	struct buf name = BUF_INIT;
	CHECK_INT(maildir_deliver_commit(&d, &name), -1);
	CHECK_INT(errno, EBADF);
	CHECK_INT(maildir_deliver_write(&d, "x", 1), -1);
}

TEST(maildir_deliver_write_error_fails_commit)
{
	const char *md = make_md();
	struct rlimit rl = { 10, 10 };
	signal(SIGXFSZ, SIG_IGN);
	CHECK_INT(setrlimit(RLIMIT_FSIZE, &rl), 0);
	struct maildir_delivery d;
	struct buf name = BUF_INIT;
	CHECK_INT(maildir_deliver_begin(&d, md), 0);
	CHECK_INT(maildir_deliver_write(&d, "0123456789abcdef", 16), -1);
	CHECK_INT(errno, EFBIG);
	CHECK_INT(maildir_deliver_commit(&d, &name), -1);
	CHECK_INT(errno, EFBIG);
	CHECK_INT(count_entries(tpath("md/new"), NULL), 0);
	CHECK_INT(count_entries(tpath("md/tmp"), NULL), 0);
}

TEST(maildir_deliver_write_behind_back_fails)
{
	const char *md = make_md();
	struct maildir_delivery d;
	struct buf name = BUF_INIT;
	CHECK_INT(maildir_deliver_begin(&d, md), 0);
	CHECK_INT(maildir_deliver_write(&d, "abc", 3), 0);
	CHECK_INT(write(d.fd, "x", 1), 1);
	CHECK_INT(maildir_deliver_commit(&d, &name), -1);
	CHECK_INT(errno, EIO);
	CHECK_INT(count_entries(tpath("md/new"), NULL), 0);
	CHECK_INT(count_entries(tpath("md/tmp"), NULL), 0);
}

TEST(maildir_deliver_to_cur_with_flags)
{
	const char *md = make_md();
	struct maildir_delivery d;
	struct buf name = BUF_INIT, one = BUF_INIT;
	CHECK_INT(maildir_deliver_begin_cur(&d, md, "SFaS"), 0);
	CHECK_INT(maildir_deliver_write(&d, "hi\n", 3), 0);
	maildir_deliver_set_mtime(&d, 1000000000);
	CHECK_INT(maildir_deliver_commit(&d, &name), 0);
	size_t len = strlen(buf_cstr(&name));
	CHECK(len > 10 && strcmp(buf_cstr(&name) + len - 10, ",W=4:2,FSa") == 0);
	CHECK_INT(count_entries(tpath("md/cur"), &one), 1);
	CHECK_STR(buf_cstr(&one), buf_cstr(&name));
	CHECK_INT(count_entries(tpath("md/new"), NULL), 0);
	struct stat st;
	buf_reset(&one);
	buf_printf(&one, "%s/cur/%s", md, buf_cstr(&name));
	CHECK_INT(stat(buf_cstr(&one), &st), 0);
	CHECK_INT(st.st_mtime, 1000000000);
	CHECK_INT(st.st_mode & 0777, 0600);
	struct mdflags_name n;
	CHECK_INT(mdflags_name_parse(&n, name.data, name.len), 0);
	CHECK(mdflags_has(&n.flags, 'F') && mdflags_has(&n.flags, 'a'));

	CHECK_INT(maildir_deliver_begin_cur(&d, md, "S\n"), -1);
	CHECK_INT(errno, EINVAL);
	CHECK_INT(maildir_deliver_begin_cur(&d, md, "S/"), -1);
	maildir_deliver_abort(&d);
	CHECK_INT(count_entries(tpath("md/tmp"), NULL), 0);
	buf_free(&name);
	buf_free(&one);
}

TEST(maildir_deliver_refuses_symlinked_dirs)
{
	const char *md = make_md();
	struct maildir_delivery d;
	CHECK_INT(mkdir(tpath("elsewhere"), 0700), 0);
	CHECK_INT(rmdir(tpath("md/new")), 0);
	CHECK_INT(symlink(tpath("elsewhere"), tpath("md/new")), 0);
	CHECK_INT(maildir_deliver_begin(&d, md), -1);
	if (errno != ELOOP && errno != ENOTDIR)
		unit_fail(__FILE__, __LINE__, "errno %d", errno);
	CHECK_INT(count_entries(tpath("md/tmp"), NULL), 0);

	CHECK_INT(unlink(tpath("md/new")), 0);
	CHECK_INT(mkdir(tpath("md/new"), 0700), 0);
	CHECK_INT(rmdir(tpath("md/tmp")), 0);
	CHECK_INT(symlink(tpath("elsewhere"), tpath("md/tmp")), 0);
	CHECK_INT(maildir_deliver_begin(&d, md), -1);
	CHECK_INT(count_entries(tpath("elsewhere"), NULL), 0);
	/* maildir_create does not accept the symlink either */
	CHECK_INT(maildir_create(md, 0700, 0), -1);
	CHECK_INT(count_entries(tpath("elsewhere"), NULL), 0);
}

TEST(maildir_deliver_planted_tmp_symlink)
{
	const char *md = make_md();
	struct maildir_delivery d;
	struct buf name = BUF_INIT, tmp = BUF_INIT, got = BUF_INIT;
	CHECK_INT(file_replace(tpath("victim"), "secret", 6, 0600), 0);
	CHECK_INT(maildir_deliver_begin(&d, md), 0);
	CHECK_INT(maildir_deliver_write(&d, "mail", 4), 0);
	/* swap tmp/NAME for a symlink before the commit links it */
	buf_printf(&tmp, "%s/tmp/%s", md, buf_cstr(&d.tmpname));
	CHECK_INT(unlink(buf_cstr(&tmp)), 0);
	CHECK_INT(symlink(tpath("victim"), buf_cstr(&tmp)), 0);
	CHECK_INT(maildir_deliver_commit(&d, &name), -1);
	CHECK_INT(count_entries(tpath("md/new"), NULL), 0);
	CHECK_INT(count_entries(tpath("md/tmp"), NULL), 0);
	CHECK_INT(file_read(tpath("victim"), &got, 100), 0);
	CHECK_BUF(got, "secret");

	/* and the exclusive create never opens through a symlink */
	int dfd = open(tpath("md/tmp"), O_RDONLY | O_DIRECTORY);
	CHECK_INT(symlink(tpath("victim"), tpath("md/tmp/planted")), 0);
	CHECK_INT(symlink(tpath("nowhere"), tpath("md/tmp/dangling")), 0);
	CHECK_INT(maildir_create_file(dfd, "planted", 0600), -1);
	CHECK_INT(errno, EEXIST);
	CHECK_INT(maildir_create_file(dfd, "dangling", 0600), -1);
	CHECK_INT(errno, EEXIST);
	CHECK(access(tpath("nowhere"), F_OK) < 0);
	CHECK_INT(file_read(tpath("victim"), &got, 100), 0);
	CHECK_BUF(got, "secret");
	close(dfd);
	buf_free(&name);
	buf_free(&tmp);
	buf_free(&got);
}

TEST(maildir_deliver_missing_maildir)
{
	struct maildir_delivery d;
	CHECK_INT(maildir_deliver_begin(&d, tpath("none")), -1);
	CHECK_INT(errno, ENOENT);
	maildir_deliver_abort(&d);
	CHECK_INT(mkdir(tpath("half"), 0700), 0);
	CHECK_INT(maildir_deliver_begin(&d, tpath("half")), -1);
	CHECK_INT(errno, ENOENT);
}

#ifdef __x86_64__
/* Make syscall nr fail with err in this test process (with flags_only, only
 * when its fifth argument, renameat2's flags, is not 0): a file system
 * without hard links, or a kernel without RENAME_NOREPLACE. 0 if done. */
static int deny_syscall(int nr, int err, int flags_only)
{
	struct sock_filter f[] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_X86_64, 1, 0),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (unsigned)nr, 1, 0),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, args[4])),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 0, flags_only ? 0 : 1, 1),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | ((unsigned)err & SECCOMP_RET_DATA)),
	};
	struct sock_fprog prog = { (unsigned short)(sizeof f / sizeof f[0]), f };
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		return -1;
	return prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog);
}

static void deliver_one_checked(const char *md)
{
	struct buf name = BUF_INIT, got = BUF_INIT, path = BUF_INIT;
	deliver_pieces(md, "fallback\n", 9, 9, &name);
	buf_printf(&path, "%s/new/%s", md, buf_cstr(&name));
	CHECK_INT(file_read(buf_cstr(&path), &got, 100), 0);
	CHECK_BUF(got, "fallback\n");
	CHECK_INT(count_entries(tpath("md/tmp"), NULL), 0);
	CHECK_INT(count_entries(tpath("md/new"), NULL), 1);
	buf_free(&name);
	buf_free(&got);
	buf_free(&path);
}

TEST(maildir_deliver_without_hard_links)
{
	const char *md = make_md();
	if (deny_syscall(SYS_linkat, EPERM, 0) < 0)
		return; /* no seccomp here */
	CHECK_INT(linkat(AT_FDCWD, md, AT_FDCWD, tpath("x"), 0), -1);
	deliver_one_checked(md); /* by renameat2(RENAME_NOREPLACE) */
}

TEST(maildir_deliver_without_noreplace)
{
	const char *md = make_md();
	if (deny_syscall(SYS_linkat, EOPNOTSUPP, 0) < 0 ||
	    deny_syscall(SYS_renameat2, EINVAL, 1) < 0)
		return;
	CHECK_INT(renameat2(AT_FDCWD, tpath("a"), AT_FDCWD, tpath("b"), RENAME_NOREPLACE), -1);
	CHECK_INT(errno, EINVAL);
	deliver_one_checked(md); /* by a plain rename */
}

TEST(maildir_deliver_link_error_cleans_up)
{
	const char *md = make_md();
	if (deny_syscall(SYS_linkat, EIO, 0) < 0)
		return;
	struct maildir_delivery d;
	struct buf name = BUF_INIT;
	CHECK_INT(maildir_deliver_begin(&d, md), 0);
	CHECK_INT(maildir_deliver_write(&d, "x", 1), 0);
	CHECK_INT(maildir_deliver_commit(&d, &name), -1);
	CHECK_INT(errno, EIO);
	CHECK_INT(name.len, 0);
	CHECK_INT(count_entries(tpath("md/tmp"), NULL), 0);
	CHECK_INT(count_entries(tpath("md/new"), NULL), 0);
	buf_free(&name);
}
#endif

static mode_t mode_of(const char *p)
{
	struct stat st;
	if (lstat(p, &st) < 0)
		return (mode_t)-1;
	return st.st_mode;
}

TEST(maildir_create_modes_and_excl)
{
	umask(077);
	char md[4200];
	snprintf(md, sizeof md, "%s", tpath("shared"));
	CHECK_INT(maildir_create(md, 0755, 0), 0);
	CHECK_INT(mode_of(md) & 07777, 0755);
	CHECK(S_ISDIR(mode_of(tpath("shared/tmp"))));
	CHECK_INT(mode_of(tpath("shared/new")) & 07777, 0755);
	CHECK_INT(mode_of(tpath("shared/cur")) & 07777, 0755);
	CHECK(mode_of(tpath("shared/maildirfolder")) == (mode_t)-1);
	/* again: fine, unless exclusive */
	CHECK_INT(maildir_create(md, 0700, 0), 0);
	CHECK_INT(mode_of(md) & 07777, 0755);
	CHECK_INT(maildir_create(md, 0700, MAILDIR_CREATE_EXCL), -1);
	CHECK_INT(errno, EEXIST);
	/* a file where a directory belongs */
	CHECK_INT(rmdir(tpath("shared/cur")), 0);
	CHECK_INT(file_replace(tpath("shared/cur"), "", 0, 0600), 0);
	CHECK_INT(maildir_create(md, 0700, 0), -1);
	CHECK_INT(maildir_create(tpath("no/such/parent"), 0700, 0), -1);
	CHECK_INT(errno, ENOENT);
}

TEST(maildir_create_at_folder_marker)
{
	const char *md = make_md();
	int fd = open(md, O_RDONLY | O_DIRECTORY);
	CHECK(fd >= 0);
	CHECK_INT(maildir_create_at(fd, ".Sent", 0700, MAILDIR_CREATE_FOLDER), 0);
	CHECK(S_ISREG(mode_of(tpath("md/.Sent/maildirfolder"))));
	CHECK_INT(mode_of(tpath("md/.Sent/maildirfolder")) & 0777, 0600);
	CHECK(S_ISDIR(mode_of(tpath("md/.Sent/cur"))));
	CHECK_INT(maildir_create_at(fd, "a/b", 0700, 0), -1);
	CHECK_INT(errno, EINVAL);
	CHECK_INT(maildir_create_at(fd, "", 0700, 0), -1);
	/* a symlinked folder is not followed */
	CHECK_INT(mkdir(tpath("elsewhere"), 0700), 0);
	CHECK_INT(symlink(tpath("elsewhere"), tpath("md/.Link")), 0);
	CHECK_INT(maildir_create_at(fd, ".Link", 0700, MAILDIR_CREATE_FOLDER), -1);
	CHECK_INT(count_entries(tpath("elsewhere"), NULL), 0);
	/* a FIFO as the marker: refused, and we do not hang on it */
	CHECK_INT(maildir_create_at(fd, ".Fifo", 0700, 0), 0);
	CHECK_INT(mkfifo(tpath("md/.Fifo/maildirfolder"), 0600), 0);
	CHECK_INT(maildir_create_at(fd, ".Fifo", 0700, MAILDIR_CREATE_FOLDER), -1);
	/* a symlinked marker is not followed */
	CHECK_INT(maildir_create_at(fd, ".Sym", 0700, 0), 0);
	CHECK_INT(symlink(tpath("victim"), tpath("md/.Sym/maildirfolder")), 0);
	CHECK_INT(maildir_create_at(fd, ".Sym", 0700, MAILDIR_CREATE_FOLDER), -1);
	CHECK(access(tpath("victim"), F_OK) < 0);
	close(fd);
}

TEST(maildir_quota_parse_table)
{
	static const struct {
		const char *spec, *canon;
	} ok[] = {
		{ "10000000S", "10000000S" },
		{ "1000C", "1000C" },
		{ "10000000S,1000C", "10000000S,1000C" },
		{ "1000C,5S", "5S,1000C" },
		{ "0S", "0S" },
		{ "9999999999999999999S", "9999999999999999999S" },
	};
	static const char *const bad[] = {
		"", "S", "C", "10", "10X", "10s", "10c", "10S,", ",10S", "10S,,5C", "10S,5S",
		"10C,5C", "10 S", " 10S", "10S ", "-1S", "+1S", "10S;5C", "10S,5C,1S",
		"99999999999999999999S", "1S\n", "0x10S", "10S,5C\x80",
	};
	struct maildir_quota q;
	struct buf b = BUF_INIT;
	const char *err;
	for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
		CHECK_INT(maildir_quota_parse(ok[i].spec, &q, &err), 0);
		buf_reset(&b);
		maildir_quota_format(&q, &b);
		CHECK_STR(buf_cstr(&b), ok[i].canon);
	}
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		err = NULL;
		if (maildir_quota_parse(bad[i], &q, &err) != -1)
			unit_fail(__FILE__, __LINE__, "quota \"%s\" accepted", bad[i]);
		CHECK(err != NULL);
		CHECK(!q.has_bytes && !q.has_count);
	}
	char longspec[200];
	memset(longspec, '1', sizeof longspec);
	longspec[sizeof longspec - 1] = '\0';
	CHECK_INT(maildir_quota_parse(longspec, &q, NULL), -1);
	CHECK_INT(errno, EINVAL);
	buf_free(&b);
}

TEST(maildir_quota_write_file)
{
	const char *md = make_md();
	struct maildir_quota q;
	struct buf got = BUF_INIT;
	CHECK_INT(maildir_quota_parse("1000C,10000000S", &q, NULL), 0);
	CHECK_INT(maildir_quota_write(md, &q), 0);
	CHECK_INT(file_read(tpath("md/maildirsize"), &got, 100), 0);
	CHECK_BUF(got, "10000000S,1000C\n");
	CHECK_INT(maildir_quota_parse("5S", &q, NULL), 0);
	CHECK_INT(maildir_quota_write(md, &q), 0);
	CHECK_INT(file_read(tpath("md/maildirsize"), &got, 100), 0);
	CHECK_BUF(got, "5S\n");
	buf_free(&got);
}
