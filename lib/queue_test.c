#include "buf.h"
#include "file.h"
#include "queue.h"
#include "unit.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static const char good[] =
	"V1\nI0123456789abcdef0123\nT1700000000\nSsender@example.com\nFsmtp\n"
	"Eenv+2Bid\nNHDRS\nB8BITMIME\nU\nAalice\nHhelo=x ip=1.2.3.4\n"
	"Ra@example.com\tSUCCESS,FAILURE\trfc822;a@example.com\n"
	"Rb@example.org\t\t\n";

static int parse(const char *s, size_t len, struct buf *err)
{
	struct queue_env e;
	int r = queue_ctl_parse(s, len, NULL, &e, err);
	queue_env_free(&e);
	return r;
}

static int parse_str(const char *s)
{
	struct buf err = BUF_INIT;
	int r = parse(s, strlen(s), &err);
	buf_free(&err);
	return r;
}

static void fill_env(struct queue_env *e)
{
	queue_env_init(e);
	e->arrival = 1700000000;
	e->sender = strdup("");
	e->source = strdup("local");
	e->body = strdup("7BIT");
	queue_env_add_rcpt(e, "x@example.com", "NEVER", "");
}

static void make_queue(const char *q)
{
	struct buf d = BUF_INIT;
	const char *sub[] = { "tmp", "msg", "ctl" };
	CHECK(mkdir(q, 0770) == 0);
	for (int i = 0; i < 3; i++) {
		buf_printf(&d, "%s/%s", q, sub[i]);
		CHECK(mkdir(buf_cstr(&d), 0770) == 0);
		buf_reset(&d);
	}
	buf_free(&d);
}

TEST(queue_parse_good)
{
	struct queue_env e;
	struct buf err = BUF_INIT;
	CHECK_INT(queue_ctl_parse(good, strlen(good), "0123456789abcdef0123", &e, &err), 0);
	CHECK_STR(e.id, "0123456789abcdef0123");
	CHECK_INT(e.arrival, 1700000000);
	CHECK_STR(e.sender, "sender@example.com");
	CHECK_STR(e.envid, "env+2Bid");
	CHECK_STR(e.ret, "HDRS");
	CHECK_INT(e.smtputf8, 1);
	CHECK_INT(e.nrcpt, 2);
	CHECK_STR(e.rcpts[0].notify, "SUCCESS,FAILURE");
	CHECK_STR(e.rcpts[0].orcpt, "rfc822;a@example.com");
	CHECK_STR(e.rcpts[1].orcpt, "");
	/* round trip */
	struct buf out = BUF_INIT;
	CHECK_INT(queue_ctl_format(&e, &out, &err), 0);
	CHECK_BUF(out, good);
	queue_env_free(&e);
	CHECK_INT(queue_ctl_parse(good, strlen(good), "0123456789abcdef0124", &e, &err), -1);
	queue_env_free(&e);
	buf_free(&out);
	buf_free(&err);
}

TEST(queue_parse_status_records)
{
	struct buf s = BUF_INIT, err = BUF_INIT;
	struct queue_env e;
	buf_printf(&s, "%sD0 1700000100 421 4.4.1 try later\nD0 1700000200 250 ok\n"
		   "D1 1700000200 550\n", good);
	CHECK_INT(queue_ctl_parse(s.data, s.len, NULL, &e, &err), 0);
	CHECK_INT(e.rcpts[0].state, QUEUE_R_DELIVERED);
	CHECK_INT(e.rcpts[0].attempts, 2);
	CHECK_INT(e.rcpts[1].state, QUEUE_R_FAILED);
	queue_env_free(&e);
	/* the delay warning record, once, after the R records */
	buf_set_str(&s, good);
	buf_append_str(&s, "D0 1700000100 421 later\n");
	queue_ctl_w_record(&s, 1700000300);
	buf_append_str(&s, "D0 1700000400 250 ok\n");
	CHECK_INT(queue_ctl_parse(s.data, s.len, NULL, &e, &err), 0);
	CHECK_INT(e.warned, 1700000300);
	CHECK_INT(e.rcpts[0].state, QUEUE_R_DELIVERED);
	struct buf f = BUF_INIT;
	CHECK_INT(queue_ctl_format(&e, &f, &err), 0);
	CHECK(strstr(buf_cstr(&f), "\nW1700000300\n") != NULL);
	queue_env_free(&e);
	CHECK_INT(queue_ctl_parse(f.data, f.len, NULL, &e, &err), 0);
	CHECK_INT(e.warned, 1700000300);
	queue_env_free(&e);
	buf_free(&f);
	CHECK_INT(queue_ctl_parse(good, strlen(good), NULL, &e, &err), 0);
	CHECK_INT(e.warned, 0);
	queue_env_free(&e);
	const char *badw[] = { "W5\nW6\n", "W\n", "W0\n", "W05\n", "Wx\n", "W5 \n",
			       "W99999999999999999999\n", "W5\nRc@d\t\t\n", "w5\n", "W5" };
	for (size_t i = 0; i < sizeof badw / sizeof badw[0]; i++) {
		buf_set_str(&s, good);
		buf_append_str(&s, badw[i]);
		CHECK_INT(parse(s.data, s.len, &err), -1);
	}
	/* W before any R */
	const char *early = strstr(good, "\nR");
	CHECK(early != NULL);
	buf_reset(&s);
	buf_append(&s, good, (size_t)(early - good) + 1);
	buf_append_str(&s, "W5\n");
	buf_append_str(&s, early + 1);
	CHECK_INT(parse(s.data, s.len, &err), -1);
	/* after a final record, another one; index out of range; R after D */
	const char *bad[] = { "D1 5 550 x\nD1 6 250 y\n", "D2 5 250\n", "D0 5 250\nRc@d\t\t\n",
			      "D0 5 999\n", "D0 5 25\n", "D0 x 250\n", "D00 5 250\n",
			      "D0 5 250x\n", "D0 5 250 a\tb\n" };
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		buf_set_str(&s, good);
		buf_append_str(&s, bad[i]);
		CHECK_INT(parse(s.data, s.len, &err), -1);
	}
	buf_free(&s);
	buf_free(&err);
}

TEST(queue_parse_hostile)
{
	struct buf s = BUF_INIT, err = BUF_INIT;
	/* every truncation of a good file fails, except at line ends after the Rs */
	size_t whole_first_r = (size_t)(strstr(good, "Rb@") - good);
	for (size_t n = 0; n < strlen(good); n++) {
		int r = parse(good, n, &err);
		CHECK_INT(r, n == whole_first_r ? 0 : -1);
	}
	CHECK_INT(parse(good, strlen(good), &err), 0);
	/* NUL and CR in a record */
	buf_set(&s, good, strlen(good));
	s.data[30] = '\0';
	CHECK_INT(parse(s.data, s.len, &err), -1);
	buf_set_str(&s, good);
	buf_append_str(&s, "Rc@d\t\t\r\n");
	CHECK_INT(parse(s.data, s.len, &err), -1);
	/* over-long line, exactly at the limit and one over */
	buf_set_str(&s, good);
	buf_append_char(&s, 'A');
	for (size_t i = 0; i < QUEUE_MAX_LINE; i++)
		buf_append_char(&s, 'x');
	buf_append_char(&s, '\n');
	CHECK_INT(parse(s.data, s.len, &err), -1);
	CHECK(strstr(buf_cstr(&err), "too long") != NULL);
	buf_free(&s);
	buf_free(&err);
}

TEST(queue_parse_structure)
{
	CHECK_INT(parse_str(""), -1);
	CHECK_INT(parse_str("V2\nI0123456789abcdef0123\n"), -1);
	CHECK_INT(parse_str("I0123456789abcdef0123\nV1\n"), -1);
	/* unknown type, lowercase, duplicates, empty line */
	const char *extra[] = { "Xfoo\n", "rfoo\n", "Sdup@x\n", "Fsmtp\n", "\n", "U\n",
				"V1\n", "Ix\n", "Nfull\n", "Bbinarymime\n" };
	struct buf s = BUF_INIT;
	for (size_t i = 0; i < sizeof extra / sizeof extra[0]; i++) {
		buf_set_str(&s, good);
		buf_append_str(&s, extra[i]);
		CHECK_INT(parse_str(buf_cstr(&s)), -1);
	}
	/* each mandatory record missing */
	const char *need[] = { "I", "T", "S", "F", "B", "R" };
	for (size_t i = 0; i < 6; i++) {
		buf_reset(&s);
		for (const char *p = good; *p;) {
			const char *lf = strchr(p, '\n');
			if (*p != need[i][0])
				buf_append(&s, p, (size_t)(lf + 1 - p));
			p = lf + 1;
		}
		CHECK_INT(parse_str(buf_cstr(&s)), -1);
	}
	buf_free(&s);
}

TEST(queue_value_checks)
{
	CHECK(queue_notify_valid("NEVER", 5));
	CHECK(!queue_notify_valid("NEVER,DELAY", 11));
	CHECK(!queue_notify_valid("DELAY,DELAY", 11));
	CHECK(!queue_notify_valid("delay", 5));
	CHECK(!queue_notify_valid("DELAY,", 6));
	CHECK(queue_xtext_valid("a+2B", 4));
	CHECK(!queue_xtext_valid("a+2", 3));
	CHECK(!queue_xtext_valid("a+2b", 4));
	CHECK(!queue_xtext_valid("a=b", 3));
	CHECK(!queue_xtext_valid("a b", 3));
	CHECK(queue_orcpt_valid("rfc822;x@y", 10));
	CHECK(!queue_orcpt_valid(";x@y", 4));
	CHECK(!queue_orcpt_valid("rfc822;", 7));
	CHECK(!queue_id_valid("0123456789ABCDEF0123", 20));
	char id[QUEUE_ID_LEN + 1], id2[QUEUE_ID_LEN + 1];
	CHECK_INT(queue_id_new(id), 0);
	CHECK_INT(queue_id_new(id2), 0);
	CHECK(queue_id_valid(id, strlen(id)));
	CHECK(strcmp(id, id2) != 0);
	struct queue_env e;
	struct buf out = BUF_INIT, err = BUF_INIT;
	fill_env(&e);
	memcpy(e.id, id, sizeof id);
	free(e.sender);
	e.sender = strdup("a\nb@c");
	CHECK_INT(queue_ctl_format(&e, &out, &err), -1);
	queue_env_free(&e);
	buf_free(&out);
	buf_free(&err);
}

TEST(queue_commit_and_read_back)
{
	char q[4096];
	snprintf(q, sizeof q, "%s/q", unit_tmpdir());
	make_queue(q);
	struct queue_tx tx;
	struct queue_env e, back;
	struct buf err = BUF_INIT, path = BUF_INIT, data = BUF_INIT;
	CHECK_INT(queue_tx_begin(&tx, q, &err), 0);
	CHECK_INT(queue_tx_write(&tx, "Subject: x\n\nhi\n", 15, &err), 0);
	fill_env(&e);
	CHECK_INT(queue_tx_commit(&tx, &e, &err), 0);
	CHECK_STR(e.id, tx.id);
	CHECK_INT(queue_entry_state(q, e.id), QUEUE_ENTRY_COMPLETE);
	queue_path(&path, q, QUEUE_MSG, e.id);
	CHECK_INT(file_read(buf_cstr(&path), &data, 100), 0);
	CHECK_BUF(data, "Subject: x\n\nhi\n");
	CHECK_INT(queue_ctl_read(q, e.id, &back, &err), 0);
	CHECK_STR(back.rcpts[0].addr, "x@example.com");
	queue_env_free(&back);
	CHECK_INT(queue_clean_tmp(q, 0, &err), 0);
	queue_tx_abort(&tx); /* harmless after commit */
	CHECK_INT(queue_entry_state(q, e.id), QUEUE_ENTRY_COMPLETE);
	queue_env_free(&e);
	buf_free(&err);
	buf_free(&path);
	buf_free(&data);
}

TEST(queue_abort_leaves_nothing)
{
	char q[4096];
	snprintf(q, sizeof q, "%s/q", unit_tmpdir());
	make_queue(q);
	struct queue_tx tx;
	struct buf err = BUF_INIT;
	CHECK_INT(queue_tx_begin(&tx, q, &err), 0);
	CHECK_INT(queue_tx_write(&tx, "x", 1, &err), 0);
	queue_tx_abort(&tx);
	queue_tx_abort(&tx);
	CHECK_INT(queue_clean_tmp(q, 0, &err), 0);
	/* an invalid envelope fails the commit and removes the tmp files */
	struct queue_env e;
	fill_env(&e);
	free(e.body);
	e.body = strdup("9BIT");
	CHECK_INT(queue_tx_begin(&tx, q, &err), 0);
	CHECK_INT(queue_tx_commit(&tx, &e, &err), -1);
	CHECK_INT(queue_entry_state(q, tx.id), QUEUE_ENTRY_NONE);
	CHECK_INT(queue_clean_tmp(q, 0, &err), 0);
	queue_env_free(&e);
	buf_free(&err);
}

/* Crash at each step of the commit in a child; look at what is left. */
TEST(queue_crash_points)
{
	const enum queue_entry want[] = { QUEUE_ENTRY_NONE, QUEUE_ENTRY_NONE,
					  QUEUE_ENTRY_MSG_ONLY, QUEUE_ENTRY_COMPLETE };
	const long want_tmp[] = { 1, 2, 1, 0 };
	for (int step = 1; step <= 4; step++) {
		char q[4096];
		snprintf(q, sizeof q, "%s/q%d", unit_tmpdir(), step);
		make_queue(q);
		int pfd[2];
		CHECK(pipe(pfd) == 0);
		pid_t pid = fork();
		if (pid == 0) {
			struct queue_tx tx;
			struct queue_env e;
			fill_env(&e);
			queue_tx_set_crash_point(step);
			if (queue_tx_begin(&tx, q, NULL) < 0)
				_exit(1);
			if (write(pfd[1], tx.id, QUEUE_ID_LEN) != QUEUE_ID_LEN)
				_exit(1);
			queue_tx_write(&tx, "x\n", 2, NULL);
			queue_tx_commit(&tx, &e, NULL);
			_exit(0);
		}
		close(pfd[1]);
		char id[QUEUE_ID_LEN + 1] = { 0 };
		CHECK_INT(read(pfd[0], id, QUEUE_ID_LEN), QUEUE_ID_LEN);
		close(pfd[0]);
		int status;
		waitpid(pid, &status, 0);
		CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 99);
		CHECK_INT(queue_entry_state(q, id), want[step - 1]);
		CHECK_INT(queue_clean_tmp(q, 0, NULL), want_tmp[step - 1]);
		CHECK_INT(queue_clean_tmp(q, 0, NULL), 0);
	}
}

TEST(queue_clean_tmp_keeps_young_files)
{
	char q[4096];
	snprintf(q, sizeof q, "%s/q", unit_tmpdir());
	make_queue(q);
	struct queue_tx tx;
	CHECK_INT(queue_tx_begin(&tx, q, NULL), 0);
	CHECK_INT(queue_clean_tmp(q, 3600, NULL), 0);
	CHECK_INT(queue_clean_tmp(q, 0, NULL), 1);
	queue_tx_abort(&tx);
	CHECK_INT(queue_clean_tmp("/nonexistent", 0, NULL), -1);
}

TEST(queue_verp_record_and_sender)
{
	static const char head[] = "V1\nI0123456789abcdef0123\nT1700000000\nSs@example.com\nFsmtp\n"
				   "B7BIT\n";
	struct buf s = BUF_INIT, out = BUF_INIT, err = BUF_INIT;
	struct queue_env e;
	buf_printf(&s, "%sX-=\nRa@example.org\t\t\n", head);
	CHECK_INT(queue_ctl_parse(s.data, s.len, NULL, &e, &err), 0);
	CHECK_STR(e.verp, "-=");
	memcpy(e.id, "0123456789abcdef0123", QUEUE_ID_LEN + 1);
	CHECK_INT(queue_ctl_format(&e, &out, &err), 0);
	CHECK(strstr(buf_cstr(&out), "\nX-=\n") != NULL);
	queue_env_free(&e);
	static const char *const bad[] = { "X\n", "X-\n", "X-=+\n", "X@=\n", "X- \n", "X-=\nX+=\n" };
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		buf_reset(&s);
		buf_printf(&s, "%s%sRa@example.org\t\t\n", head, bad[i]);
		CHECK_INT(parse(s.data, s.len, &err), -1);
	}
	queue_verp_sender(&out, "list@lists.example", "-=", "joe@host.example");
	CHECK_STR(buf_cstr(&out), "list-joe=host.example@lists.example");
	queue_verp_sender(&out, "list@lists.example", "+=", "a.b@c.example");
	CHECK_STR(buf_cstr(&out), "list+a.b=c.example@lists.example");
	queue_verp_sender(&out, "", "-=", "joe@host.example"); /* <> stays <> */
	CHECK_STR(buf_cstr(&out), "");
	queue_verp_sender(&out, "list@lists.example", "-=", "\"j o\"@host.example");
	CHECK_STR(buf_cstr(&out), "list@lists.example");
	queue_verp_sender(&out, "list@lists.example", NULL, "joe@host.example");
	CHECK_STR(buf_cstr(&out), "list@lists.example");
	queue_verp_sender(&out, "list@lists.example", "-@", "joe@host.example");
	CHECK_STR(buf_cstr(&out), "list@lists.example");
	buf_free(&s);
	buf_free(&out);
	buf_free(&err);
}
