/* io tests: a forked peer feeds input one byte at a time or in chunks over a
 * socketpair or pipes; the io under test reads, times out, and writes. */
#include "io.h"
#include "alloc.h"
#include "buf.h"
#include "unit.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* Fork a child that writes data to fd in pieces of `piece` bytes, pausing
 * pause_us between them, then closes it. other is the parent's end. */
static pid_t feed(int fd, int other, const void *data, size_t len, size_t piece, int pause_us)
{
	pid_t pid = fork();
	CHECK(pid >= 0);
	if (pid > 0) {
		close(fd);
		return pid;
	}
	close(other);
	const char *p = data;
	for (size_t off = 0; off < len; off += piece) {
		size_t n = len - off < piece ? len - off : piece;
		if (write(fd, p + off, n) != (ssize_t)n)
			_exit(3);
		if (pause_us)
			usleep((useconds_t)pause_us);
	}
	close(fd);
	_exit(0);
}

static void reap(pid_t pid)
{
	int status;
	CHECK(waitpid(pid, &status, 0) == pid);
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

/* An io reading what a feeder writes. */
static struct io *feed_io(const void *data, size_t len, size_t piece, int pause_us, pid_t *pid)
{
	int sv[2];
	CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
	*pid = feed(sv[1], sv[0], data, len, piece, pause_us);
	struct io *io = io_new(sv[0], sv[0]);
	CHECK(io != NULL);
	io_set_timeout(io, 5000);
	return io;
}

static int64_t ms_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

#define EXPECT_LINE(io, line, text, eol)                                          \
	do {                                                                      \
		CHECK_INT(io_read_line(io, &line), IO_OK);                        \
		CHECK_MEM(line.data, line.len, text, sizeof(text) - 1);           \
		CHECK_INT(io_eol(io), eol);                                       \
	} while (0)

static const char terminators[] =
	"a\r\nb\nc\rd\r\n\r\n\xff\xfe\xc0\x80\n\nlast";

static void check_terminators(size_t piece, int pause_us)
{
	pid_t pid;
	struct io *io = feed_io(terminators, sizeof terminators - 1, piece, pause_us, &pid);
	struct buf line = BUF_INIT;
	EXPECT_LINE(io, line, "a", IO_EOL_CRLF);
	EXPECT_LINE(io, line, "b", IO_EOL_LF);
	EXPECT_LINE(io, line, "c\rd", IO_EOL_CRLF);
	EXPECT_LINE(io, line, "", IO_EOL_CRLF);
	EXPECT_LINE(io, line, "\xff\xfe\xc0\x80", IO_EOL_LF); /* bytes pass untouched */
	EXPECT_LINE(io, line, "", IO_EOL_LF);
	EXPECT_LINE(io, line, "last", IO_EOL_NONE);
	CHECK_INT(io_read_line(io, &line), IO_EOF);
	CHECK_INT(line.len, 0);
	CHECK_INT(io_read_line(io, &line), IO_EOF);
	reap(pid);
	io_free(io);
	buf_free(&line);
}

TEST(io_line_terminators_byte_by_byte) { check_terminators(1, 300); }
TEST(io_line_terminators_one_chunk) { check_terminators(4096, 0); }

TEST(io_eof_mid_line)
{
	pid_t pid;
	struct buf line = BUF_INIT;
	struct io *io = feed_io("abc\r", 4, 1, 200, &pid);
	EXPECT_LINE(io, line, "abc\r", IO_EOL_NONE); /* a CR alone ends nothing */
	CHECK_INT(io_read_line(io, &line), IO_EOF);
	reap(pid);
	io_free(io);

	io = feed_io("", 0, 1, 0, &pid);
	CHECK_INT(io_read_line(io, &line), IO_EOF);
	CHECK_INT(io_eol(io), IO_EOL_NONE);
	reap(pid);
	io_free(io);
	buf_free(&line);
}

TEST(io_nul_bytes)
{
	pid_t pid;
	struct buf line = BUF_INIT;
	struct io *io = feed_io("a\0b\r\n\0\n\0", 8, 1, 100, &pid);
	EXPECT_LINE(io, line, "a\0b", IO_EOL_CRLF);
	EXPECT_LINE(io, line, "\0", IO_EOL_LF);
	EXPECT_LINE(io, line, "\0", IO_EOL_NONE);
	CHECK_INT(io_read_line(io, &line), IO_EOF);
	reap(pid);
	io_free(io);
	buf_free(&line);
}

/* max_line 10: 10 bytes fit with CRLF or LF, 11 do not, and the stream recovers. */
static const char limits[] =
	"0123456789\r\n"
	"01234567890\r\n"
	"ok\r\n"
	"0123456789\n"
	"0123456789A\n"
	"0123456789\r\r\n"
	"fine\r\n"
	"0123456789ABCDEFGHIJ\r\n"
	"01234567890";

static void check_limits(size_t piece, int pause_us)
{
	pid_t pid;
	struct io *io = feed_io(limits, sizeof limits - 1, piece, pause_us, &pid);
	struct buf line = BUF_INIT;
	io_set_max_line(io, 10);
	EXPECT_LINE(io, line, "0123456789", IO_EOL_CRLF);
	CHECK_INT(io_read_line(io, &line), IO_TOOLONG);
	EXPECT_LINE(io, line, "ok", IO_EOL_CRLF);
	EXPECT_LINE(io, line, "0123456789", IO_EOL_LF);
	CHECK_INT(io_read_line(io, &line), IO_TOOLONG);
	CHECK_INT(io_read_line(io, &line), IO_TOOLONG); /* 10 bytes + CR in the data */
	EXPECT_LINE(io, line, "fine", IO_EOL_CRLF);
	CHECK_INT(io_read_line(io, &line), IO_TOOLONG);
	CHECK_INT(io_read_line(io, &line), IO_TOOLONG); /* at EOF, unterminated */
	CHECK_INT(io_read_line(io, &line), IO_EOF);
	reap(pid);
	io_free(io);
	buf_free(&line);
}

TEST(io_max_line_byte_by_byte) { check_limits(1, 100); }
TEST(io_max_line_chunks) { check_limits(7, 0); }
TEST(io_max_line_one_chunk) { check_limits(1000, 0); }

static void check_huge(size_t piece, const char *tail, size_t tail_len)
{
	size_t big = 1024 * 1024;
	struct buf in = BUF_INIT;
	for (size_t i = 0; i < big; i++)
		buf_append_char(&in, (char)('a' + i % 26));
	buf_append(&in, tail, tail_len);
	pid_t pid;
	struct io *io = feed_io(in.data, in.len, piece, 0, &pid);
	struct buf line = BUF_INIT;
	io_set_max_line(io, 998);
	CHECK_INT(io_read_line(io, &line), IO_TOOLONG);
	CHECK_INT(line.len, 0);
	if (tail_len) {
		EXPECT_LINE(io, line, "QUIT", IO_EOL_CRLF);
		EXPECT_LINE(io, line, "", IO_EOL_CRLF);
	}
	CHECK_INT(io_read_line(io, &line), IO_EOF);
	uint64_t nin, nout;
	io_counts(io, &nin, &nout);
	CHECK_INT(nin, in.len);
	CHECK_INT(nout, 0);
	reap(pid);
	io_free(io);
	buf_free(&line);
	buf_free(&in);
}

TEST(io_huge_line_recovers) { check_huge(65536, "\r\nQUIT\r\n\r\n", 10); }
TEST(io_huge_line_odd_chunks) { check_huge(999, "\nQUIT\r\n\r\n", 9); }
TEST(io_huge_line_at_eof) { check_huge(65536, "", 0); }

TEST(io_timeout_when_peer_is_silent)
{
	int sv[2];
	CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
	struct io *io = io_new(sv[0], sv[0]);
	struct buf line = BUF_INIT;
	io_set_timeout(io, 100);
	CHECK(write(sv[1], "partial", 7) == 7);
	int64_t t0 = ms_now();
	CHECK_INT(io_read_line(io, &line), IO_TIMEOUT);
	int64_t took = ms_now() - t0;
	CHECK(took >= 95 && took < 2000);
	CHECK_STR(io_error(io), "timed out");
	/* a read timeout loses nothing: the rest of the line still completes it */
	CHECK(write(sv[1], " line\r\n", 7) == 7);
	EXPECT_LINE(io, line, "partial line", IO_EOL_CRLF);
	io_free(io);
	buf_free(&line);
}

TEST(io_deadline_bounds_a_dribbling_peer)
{
	static const char drip[] = "x\r\nx\r\nx\r\nx\r\nx\r\nx\r\nx\r\nx\r\nx\r\nx\r\nx\r\nx\r\nx\r\n";
	pid_t pid;
	struct io *io = feed_io(drip, sizeof drip - 1, 1, 10000, &pid);
	struct buf line = BUF_INIT;
	io_set_timeout(io, 1000);
	io_set_deadline(io, 150);
	int64_t t0 = ms_now();
	enum io_status st;
	int lines = 0;
	while ((st = io_read_line(io, &line)) == IO_OK)
		lines++;
	CHECK_INT(st, IO_TIMEOUT);
	CHECK(lines >= 1 && lines < 13);
	CHECK(ms_now() - t0 < 1000);
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	io_free(io);
	buf_free(&line);
}

static void check_literal(size_t n, size_t piece, int pause_us)
{
	struct buf in = BUF_INIT, lit = BUF_INIT, line = BUF_INIT, want = BUF_INIT;
	buf_printf(&want, "A1 APPEND box {%zu}", n);
	buf_append_buf(&in, &want);
	buf_append_str(&in, "\r\n");
	size_t lit_off = in.len;
	for (size_t i = 0; i < n; i++)
		buf_append_char(&in, (char)(i * 7 % 256)); /* NULs, CRs and LFs too */
	buf_append_str(&in, "\r\nA2 NOOP\r\n");
	pid_t pid;
	struct io *io = feed_io(in.data, in.len, piece, pause_us, &pid);
	CHECK_INT(io_read_line(io, &line), IO_OK);
	CHECK_MEM(line.data, line.len, want.data, want.len);
	buf_set_str(&lit, "pre"); /* io_read_exact appends */
	CHECK_INT(io_read_exact(io, &lit, n), IO_OK);
	CHECK_INT(lit.len, n + 3);
	CHECK_MEM(lit.data, 3, "pre", 3);
	CHECK_MEM(lit.data + 3, n, in.data + lit_off, n);
	EXPECT_LINE(io, line, "", IO_EOL_CRLF);
	EXPECT_LINE(io, line, "A2 NOOP", IO_EOL_CRLF);
	CHECK_INT(io_read_exact(io, &lit, 0), IO_OK);
	buf_reset(&lit);
	CHECK_INT(io_read_exact(io, &lit, 1), IO_EOF);
	reap(pid);
	io_free(io);
	buf_free(&lit);
	buf_free(&line);
	buf_free(&want);
	buf_free(&in);
}

TEST(io_read_exact_large_chunks) { check_literal(300000, 4093, 0); }
TEST(io_read_exact_inside_buffer) { check_literal(100, 65536, 0); }
TEST(io_read_exact_byte_by_byte) { check_literal(300, 1, 100); }

TEST(io_read_exact_truncated)
{
	pid_t pid;
	struct buf lit = BUF_INIT;
	struct io *io = feed_io("{10}\r\nabc", 9, 3, 1000, &pid);
	struct buf line = BUF_INIT;
	EXPECT_LINE(io, line, "{10}", IO_EOL_CRLF);
	CHECK_INT(io_read_exact(io, &lit, 10), IO_EOF);
	CHECK_BUF(lit, "abc");
	reap(pid);
	io_free(io);
	buf_free(&lit);
	buf_free(&line);
}

TEST(io_read_some_and_peek)
{
	pid_t pid;
	struct buf got = BUF_INIT, line = BUF_INIT;
	enum io_status st;
	struct io *io = feed_io("hello\nworld", 11, 11, 0, &pid);
	CHECK_INT(io_peek(io, &st), 'h');
	CHECK_INT(st, IO_OK);
	CHECK_INT(io_has_buffered_input(io), 11);
	CHECK_INT(io_read_some(io, &got, 3), IO_OK);
	CHECK_BUF(got, "hel");
	EXPECT_LINE(io, line, "lo", IO_EOL_LF);
	CHECK_INT(io_read_some(io, &got, 100), IO_OK);
	CHECK_BUF(got, "helworld");
	CHECK_INT(io_read_some(io, &got, 100), IO_EOF);
	CHECK_INT(io_peek(io, &st), -1);
	CHECK_INT(st, IO_EOF);
	reap(pid);
	io_free(io);
	buf_free(&got);
	buf_free(&line);
}

/* The peer reads slowly and checks every byte of 10 MB. */
static pid_t slow_reader(int fd, int other, size_t total)
{
	pid_t pid = fork();
	CHECK(pid >= 0);
	if (pid > 0) {
		close(fd);
		return pid;
	}
	close(other);
	char chunk[65536];
	size_t seen = 0;
	ssize_t r;
	while ((r = read(fd, chunk, sizeof chunk)) > 0) {
		for (ssize_t i = 0; i < r; i++)
			if (chunk[i] != (char)((seen + (size_t)i) % 251))
				_exit(4);
		seen += (size_t)r;
		usleep(500);
	}
	_exit(seen == total ? 0 : 5);
}

TEST(io_flush_10mb_to_slow_reader)
{
	size_t total = 10 * 1024 * 1024;
	char *data = xmalloc(total);
	for (size_t i = 0; i < total; i++)
		data[i] = (char)(i % 251);
	int sv[2];
	CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
	pid_t pid = slow_reader(sv[1], sv[0], total);
	struct io *io = io_new(sv[0], sv[0]);
	io_set_timeout(io, 5000);
	for (size_t off = 0; off < total; off += 1000000) {
		size_t n = total - off < 1000000 ? total - off : 1000000;
		CHECK_INT(io_write(io, data + off, n), IO_OK);
	}
	CHECK_INT(io_flush(io), IO_OK);
	CHECK_INT(io_pending_output(io), 0);
	uint64_t nin, nout;
	io_counts(io, &nin, &nout);
	CHECK_INT(nout, total);
	close(sv[0]);
	reap(pid);
	io_free(io);
	free(data);
}

TEST(io_flush_timeout_is_sticky)
{
	int sv[2];
	CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
	struct io *io = io_new(sv[0], sv[0]);
	io_set_timeout(io, 100);
	struct buf big = BUF_INIT;
	buf_reserve(&big, 4 * 1024 * 1024);
	memset(big.data, 'x', 4 * 1024 * 1024);
	io_write(io, big.data, 512 * 1024); /* below the auto-flush mark */
	CHECK_INT(io_pending_output(io), 512 * 1024);
	int64_t t0 = ms_now();
	CHECK_INT(io_write(io, big.data, 4 * 1024 * 1024), IO_TIMEOUT);
	CHECK(ms_now() - t0 >= 95);
	CHECK_INT(io_printf(io, "%d", 1), IO_TIMEOUT);
	CHECK_INT(io_flush(io), IO_TIMEOUT);
	io_free(io);
	buf_free(&big);
}

TEST(io_reply_leaves_in_one_write)
{
	int sv[2];
	CHECK(socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv) == 0);
	struct io *io = io_new(sv[0], sv[0]);
	io_write_str(io, "* 1 FETCH (");
	io_printf(io, "UID %u RFC822.SIZE %zu", 42u, (size_t)1234);
	io_write(io, ")\r\nA1 OK done\r\n", 15);
	CHECK_INT(io_pending_output(io), 49);
	CHECK_INT(io_flush(io), IO_OK);
	char rec[256];
	ssize_t r = recv(sv[1], rec, sizeof rec, MSG_DONTWAIT); /* one record per write */
	CHECK_MEM(rec, (size_t)(r < 0 ? 0 : r),
		  "* 1 FETCH (UID 42 RFC822.SIZE 1234)\r\nA1 OK done\r\n", 49);
	CHECK(recv(sv[1], rec, sizeof rec, MSG_DONTWAIT) < 0 && errno == EAGAIN);
	CHECK_INT(io_flush(io), IO_OK); /* nothing to do */
	io_free(io);
}

TEST(io_separate_read_and_write_fds)
{
	int in[2], out[2];
	CHECK(pipe(in) == 0 && pipe(out) == 0);
	pid_t pid = feed(in[1], in[0], "EHLO x\r\nQUIT\r\n", 14, 3, 1000);
	struct io *io = io_new(in[0], out[1]);
	struct buf line = BUF_INIT;
	CHECK_INT(io_rfd(io), in[0]);
	CHECK_INT(io_wfd(io), out[1]);
	while (io_read_line(io, &line) == IO_OK)
		io_printf(io, "echo %s\r\n", buf_cstr(&line));
	CHECK_INT(io_flush(io), IO_OK);
	char got[64];
	CHECK_INT(read(out[0], got, sizeof got), 24);
	CHECK_MEM(got, 24, "echo EHLO x\r\necho QUIT\r\n", 24);
	/* a writer whose reader has gone gets an error, not a signal (here
	 * SIGPIPE is ignored for the pipe; sockets use MSG_NOSIGNAL) */
	signal(SIGPIPE, SIG_IGN);
	reap(pid); /* the feeder inherited out[0] too */
	close(out[0]);
	io_write_str(io, "more\r\n");
	CHECK_INT(io_flush(io), IO_ERROR);
	CHECK_STR(io_error(io), strerror(EPIPE));
	io_free(io);
	buf_free(&line);
}

TEST(io_socket_peer_gone_no_sigpipe)
{
	int sv[2];
	CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
	signal(SIGPIPE, SIG_DFL);
	close(sv[1]);
	struct io *io = io_new(sv[0], sv[0]);
	io_write_str(io, "221 bye\r\n");
	CHECK_INT(io_flush(io), IO_ERROR);
	io_free(io);
}

/* A transport over a string: one byte per call, "would block" in between,
 * with a pending count; the fd it waits on is /dev/null (always readable). */
struct fake {
	const char *data;
	size_t len, pos;
	int flip;
	int *closed;
};

static ssize_t fake_read(void *ctx, void *p, size_t n)
{
	struct fake *f = ctx;
	if ((f->flip ^= 1) != 0)
		return IO_T_WANT_READ;
	if (f->pos == f->len)
		return 0;
	if (f->data[f->pos] == '!')
		return IO_T_ERROR;
	*(char *)p = f->data[f->pos++];
	return n ? 1 : 0;
}

static ssize_t fake_write(void *ctx, const void *p, size_t n)
{
	return IO_T_ERROR;
}

static size_t fake_pending(void *ctx)
{
	struct fake *f = ctx;
	return f->len - f->pos;
}

static void fake_error(void *ctx, struct buf *out)
{
	buf_set_str(out, "fake failure");
}

static void fake_close(void *ctx)
{
	struct fake *f = ctx;
	(*f->closed)++;
}

static const struct io_transport fake_transport = {
	"fake", fake_read, fake_write, fake_pending, fake_error, fake_close,
};

TEST(io_pluggable_transport)
{
	int devnull = open("/dev/null", O_RDWR);
	CHECK(devnull >= 0);
	int sv[2];
	CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
	CHECK(write(sv[1], "STARTTLS\r\nRSET\r\n", 16) == 16);
	struct io *io = io_new(sv[0], sv[0]);
	struct buf line = BUF_INIT;
	EXPECT_LINE(io, line, "STARTTLS", IO_EOL_CRLF);
	CHECK_INT(io_has_buffered_input(io), 6); /* injected plaintext shows */
	CHECK(strcmp(io_get_transport(io, NULL)->name, "plain") == 0);

	int closed = 0;
	struct fake f = { "a\r\nb!", 5, 0, 0, &closed };
	struct io *fio = io_new(devnull, devnull);
	io_set_transport(fio, &fake_transport, &f);
	CHECK_INT(io_has_buffered_input(fio), 5);
	EXPECT_LINE(fio, line, "a", IO_EOL_CRLF);
	CHECK_INT(io_has_buffered_input(fio), 2);
	CHECK_INT(io_read_line(fio, &line), IO_ERROR);
	CHECK_STR(io_error(fio), "fake failure");
	io_write_str(fio, "x");
	CHECK_INT(io_flush(fio), IO_ERROR);
	void *ctx;
	CHECK(io_get_transport(fio, &ctx) == &fake_transport && ctx == &f);
	io_set_transport(fio, NULL, NULL); /* back to plain: the old one is closed */
	CHECK_INT(closed, 1);
	CHECK_INT(io_has_buffered_input(fio), 0);
	io_free(fio);
	CHECK_INT(closed, 1);

	/* switching transport drops the injected plaintext */
	io_set_transport(io, NULL, NULL);
	CHECK_INT(io_has_buffered_input(io), 0);
	close(sv[1]);
	CHECK_INT(io_read_line(io, &line), IO_EOF);
	io_free(io);
	buf_free(&line);
	close(devnull);
}

TEST(io_nodelay)
{
	int sv[2], p[2];
	CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0 && pipe(p) == 0);
	CHECK_INT(io_set_nodelay(sv[0]), 0);
	CHECK_INT(io_set_nodelay(p[0]), 0);
	int tcp = socket(AF_INET, SOCK_STREAM, 0);
	CHECK(tcp >= 0);
	CHECK_INT(io_set_nodelay(tcp), 0);
	int on = 0;
	socklen_t len = sizeof on;
	CHECK(getsockopt(tcp, IPPROTO_TCP, TCP_NODELAY, &on, &len) == 0);
	CHECK(on != 0);
	CHECK_INT(io_set_nodelay(-1), -1);
	CHECK_INT(errno, EBADF);
	CHECK(io_new(-1, -1) == NULL);
}
