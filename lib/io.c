/* io: buffered reader/writer with timeouts over a pluggable transport.
 *
 * Trusts nothing it reads: input lines are bounded by max_line, an over-long
 * line is skipped rather than stored, and memory for input stays within about
 * 2 * max_line + IO_CHUNK. Fds are non-blocking; every transport call is tried
 * first and only a "would block" answer leads to poll() with the timeout. */
#include "io.h"
#include "alloc.h"
#include "buf.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define IO_CHUNK 16384                /* bytes asked of the transport per read */
#define IO_MAX_XFER (1024 * 1024 * 1024) /* cap per transport call (SSL uses int) */
#define IO_OUT_HIGH (1024 * 1024)     /* io_write flushes past this much output */

struct io {
	int rfd, wfd;
	int wsock;          /* wfd is a socket: send() with MSG_NOSIGNAL */
	int plain_errno;    /* errno of the plain transport's last failure */
	const struct io_transport *tr;
	void *tr_ctx;
	struct buf in;      /* input; bytes before in_pos are consumed */
	size_t in_pos;
	size_t in_scan;     /* bytes after in_pos already searched for LF */
	int eof;
	int skipping;       /* inside an over-long line, discarding to its LF */
	struct buf out;     /* output; bytes before out_pos are sent */
	size_t out_pos;
	enum io_status werr; /* sticky write failure */
	int timeout_ms;
	int64_t deadline;   /* CLOCK_MONOTONIC ms, 0 for none */
	size_t max_line;
	enum io_eol eol;
	struct buf errmsg;
	uint64_t nin, nout;
};

/* The plain transport: ctx is the io itself. */
static ssize_t plain_read(void *ctx, void *p, size_t n)
{
	struct io *io = ctx;
	for (;;) {
		ssize_t r = read(io->rfd, p, n);
		if (r >= 0)
			return r;
		if (errno == EAGAIN || errno == EWOULDBLOCK)
			return IO_T_WANT_READ;
		if (errno != EINTR) {
			io->plain_errno = errno;
			return IO_T_ERROR;
		}
	}
}

static ssize_t plain_write(void *ctx, const void *p, size_t n)
{
	struct io *io = ctx;
	for (;;) {
		ssize_t r = io->wsock ? send(io->wfd, p, n, MSG_NOSIGNAL) : write(io->wfd, p, n);
		if (r >= 0)
			return r;
		if (errno == EAGAIN || errno == EWOULDBLOCK)
			return IO_T_WANT_WRITE;
		if (errno != EINTR) {
			io->plain_errno = errno;
			return IO_T_ERROR;
		}
	}
}

static void plain_error(void *ctx, struct buf *out)
{
	struct io *io = ctx;
	buf_set_str(out, strerror(io->plain_errno));
}

static const struct io_transport plain_transport = {
	"plain", plain_read, plain_write, NULL, plain_error, NULL,
};

static int set_nonblock(int fd)
{
	int fl = fcntl(fd, F_GETFL);
	if (fl < 0)
		return -1;
	if (fl & O_NONBLOCK)
		return 0;
	return fcntl(fd, F_SETFL, fl | O_NONBLOCK);
}

struct io *io_new(int rfd, int wfd)
{
	if (set_nonblock(rfd) < 0 || set_nonblock(wfd) < 0)
		return NULL;
	struct io *io = xcalloc(1, sizeof *io);
	struct stat st;
	io->rfd = rfd;
	io->wfd = wfd;
	io->wsock = fstat(wfd, &st) == 0 && S_ISSOCK(st.st_mode);
	io->tr = &plain_transport;
	io->tr_ctx = io;
	io->timeout_ms = IO_DEFAULT_TIMEOUT_MS;
	io->max_line = IO_DEFAULT_MAX_LINE;
	return io;
}

void io_free(struct io *io)
{
	if (io == NULL)
		return;
	if (io->tr->close)
		io->tr->close(io->tr_ctx);
	buf_free(&io->in);
	buf_free(&io->out);
	buf_free(&io->errmsg);
	free(io);
}

int io_rfd(const struct io *io) { return io->rfd; }
int io_wfd(const struct io *io) { return io->wfd; }
enum io_eol io_eol(const struct io *io) { return io->eol; }
size_t io_pending_output(const struct io *io) { return io->out.len - io->out_pos; }

void io_set_timeout(struct io *io, int timeout_ms)
{
	io->timeout_ms = timeout_ms;
}

static int64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void io_set_deadline(struct io *io, int64_t ms_from_now)
{
	io->deadline = ms_from_now > 0 ? now_ms() + ms_from_now : 0;
}

void io_set_max_line(struct io *io, size_t max_line)
{
	/* keep max_line + 2 and the buffer sums far from overflow */
	io->max_line = max_line > SIZE_MAX / 4 ? SIZE_MAX / 4 : max_line;
}

const char *io_error(struct io *io)
{
	return buf_cstr(&io->errmsg);
}

void io_counts(const struct io *io, uint64_t *bytes_in, uint64_t *bytes_out)
{
	*bytes_in = io->nin;
	*bytes_out = io->nout;
}

static enum io_status io_fail(struct io *io, enum io_status st, const char *why)
{
	buf_reset(&io->errmsg);
	if (why)
		buf_set_str(&io->errmsg, why);
	else if (io->tr->error)
		io->tr->error(io->tr_ctx, &io->errmsg);
	else
		buf_set_str(&io->errmsg, "transport error");
	return st;
}

/* Milliseconds poll() may wait, given when this wait started; 0 means none left. */
static int wait_left(const struct io *io, int64_t start, int64_t now)
{
	int64_t left = -1;
	if (io->timeout_ms >= 0) {
		left = io->timeout_ms - (now - start);
		if (left < 0)
			left = 0;
	}
	if (io->deadline) {
		int64_t dl = io->deadline - now;
		if (dl < 0)
			dl = 0;
		if (left < 0 || dl < left)
			left = dl;
	}
	return left > INT32_MAX ? INT32_MAX : (int)left;
}

enum io_status io_wait(struct io *io, int want_write)
{
	struct pollfd p = { want_write ? io->wfd : io->rfd, want_write ? POLLOUT : POLLIN, 0 };
	int64_t start = now_ms();
	for (;;) {
		int left = wait_left(io, start, now_ms());
		if (left == 0)
			return io_fail(io, IO_TIMEOUT, "timed out");
		int r = poll(&p, 1, left);
		if (r > 0) {
			if (p.revents & POLLNVAL)
				return io_fail(io, IO_ERROR, strerror(EBADF));
			return IO_OK; /* POLLHUP/POLLERR: the next call reports it */
		}
		if (r < 0 && errno != EINTR)
			return io_fail(io, IO_ERROR, strerror(errno));
	}
}

/* Turn a transport's negative answer into a wait or a failure. */
static enum io_status io_wait_code(struct io *io, ssize_t code)
{
	if (code == IO_T_WANT_READ)
		return io_wait(io, 0);
	if (code == IO_T_WANT_WRITE)
		return io_wait(io, 1);
	return io_fail(io, IO_ERROR, NULL);
}

/* Read once from the transport into out, waiting as needed. */
static enum io_status io_read_into(struct io *io, struct buf *out, size_t max)
{
	if (io->eof)
		return IO_EOF;
	if (max > IO_MAX_XFER)
		max = IO_MAX_XFER;
	for (;;) {
		char *p = buf_space(out, max);
		ssize_t r = io->tr->read(io->tr_ctx, p, max);
		if (r > 0) {
			buf_commit(out, (size_t)r);
			io->nin += (uint64_t)r;
			return IO_OK;
		}
		if (r == 0) {
			io->eof = 1;
			return IO_EOF;
		}
		enum io_status st = io_wait_code(io, r);
		if (st != IO_OK)
			return st;
	}
}

/* Drop consumed input when that costs no more than what was consumed, so the
 * copying stays linear in the input. */
static void io_compact(struct io *io)
{
	size_t rest = io->in.len - io->in_pos;
	if (io->in_pos == 0 || rest > io->in_pos)
		return;
	buf_consume(&io->in, io->in_pos);
	io->in_pos = 0;
}

static enum io_status io_fill(struct io *io)
{
	io_compact(io);
	return io_read_into(io, &io->in, IO_CHUNK);
}

static size_t io_avail(const struct io *io)
{
	return io->in.len - io->in_pos;
}

/* Hand out the n bytes at in_pos followed by a terminator of tlen bytes. */
static enum io_status io_take_line(struct io *io, struct buf *line, size_t n, size_t tlen)
{
	const char *start = io->in.data + io->in_pos;
	io->in_pos += n + tlen;
	io->in_scan = 0;
	if (io->skipping) {
		io->skipping = 0;
		return IO_TOOLONG;
	}
	if (tlen && n > 0 && start[n - 1] == '\r') {
		io->eol = IO_EOL_CRLF;
		n--;
	} else {
		io->eol = tlen ? IO_EOL_LF : IO_EOL_NONE;
	}
	if (n > io->max_line)
		return IO_TOOLONG;
	buf_append(line, start, n);
	return IO_OK;
}

enum io_status io_read_line(struct io *io, struct buf *line)
{
	buf_reset(line);
	io->eol = IO_EOL_NONE;
	for (;;) {
		size_t avail = io_avail(io);
		if (avail > io->in_scan) {
			const char *start = io->in.data + io->in_pos;
			const char *lf = memchr(start + io->in_scan, '\n', avail - io->in_scan);
			if (lf)
				return io_take_line(io, line, (size_t)(lf - start), 1);
		}
		/* max_line bytes plus a CR may still end well; one more cannot */
		if (avail > io->max_line + 1) {
			io->skipping = 1;
			io->in_pos = io->in.len;
			avail = 0;
		}
		io->in_scan = avail;
		enum io_status st = io_fill(io);
		if (st == IO_EOF && (avail || io->skipping))
			return io_take_line(io, line, avail, 0);
		if (st != IO_OK)
			return st;
	}
}

enum io_status io_read_exact(struct io *io, struct buf *out, size_t n)
{
	size_t take = io_avail(io) < n ? io_avail(io) : n;
	if (take) {
		buf_append(out, io->in.data + io->in_pos, take);
		io->in_pos += take;
		io->in_scan = 0;
		n -= take;
	}
	while (n) {
		size_t before = out->len;
		enum io_status st = io_read_into(io, out, n < IO_CHUNK * 4 ? n : IO_CHUNK * 4);
		if (st != IO_OK)
			return st;
		n -= out->len - before;
	}
	return IO_OK;
}

enum io_status io_read_some(struct io *io, struct buf *out, size_t max)
{
	if (max == 0)
		return IO_OK;
	if (io_avail(io) == 0)
		return io_read_into(io, out, max < IO_CHUNK * 4 ? max : IO_CHUNK * 4);
	size_t take = io_avail(io) < max ? io_avail(io) : max;
	buf_append(out, io->in.data + io->in_pos, take);
	io->in_pos += take;
	io->in_scan = 0;
	return IO_OK;
}

int io_peek(struct io *io, enum io_status *status)
{
	*status = IO_OK;
	if (io_avail(io) == 0) {
		*status = io_fill(io);
		if (*status != IO_OK)
			return -1;
	}
	return (unsigned char)io->in.data[io->in_pos];
}

size_t io_has_buffered_input(const struct io *io)
{
	size_t n = io_avail(io);
	if (io->tr->pending)
		n += io->tr->pending(io->tr_ctx);
	return n;
}

void io_discard_input(struct io *io)
{
	buf_reset(&io->in);
	io->in_pos = 0;
	io->in_scan = 0;
	io->skipping = 0;
}

enum io_status io_flush(struct io *io)
{
	if (io->werr != IO_OK)
		return io->werr;
	while (io->out_pos < io->out.len) {
		size_t n = io->out.len - io->out_pos;
		ssize_t r = io->tr->write(io->tr_ctx, io->out.data + io->out_pos,
					  n > IO_MAX_XFER ? IO_MAX_XFER : n);
		if (r > 0) {
			io->out_pos += (size_t)r;
			io->nout += (uint64_t)r;
			continue;
		}
		enum io_status st = r == 0 ? io_fail(io, IO_ERROR, "write returned 0")
					   : io_wait_code(io, r);
		if (st != IO_OK) {
			io->werr = st;
			return st;
		}
	}
	buf_reset(&io->out);
	io->out_pos = 0;
	return IO_OK;
}

static enum io_status io_after_append(struct io *io)
{
	if (io_pending_output(io) >= IO_OUT_HIGH)
		return io_flush(io);
	return IO_OK;
}

enum io_status io_write(struct io *io, const void *p, size_t n)
{
	if (io->werr != IO_OK)
		return io->werr;
	buf_append(&io->out, p, n);
	return io_after_append(io);
}

enum io_status io_write_str(struct io *io, const char *s)
{
	return io_write(io, s, strlen(s));
}

enum io_status io_printf(struct io *io, const char *fmt, ...)
{
	if (io->werr != IO_OK)
		return io->werr;
	va_list ap;
	va_start(ap, fmt);
	buf_vprintf(&io->out, fmt, ap);
	va_end(ap);
	return io_after_append(io);
}

void io_set_transport(struct io *io, const struct io_transport *tr, void *ctx)
{
	if (io->tr->close)
		io->tr->close(io->tr_ctx);
	io->tr = tr ? tr : &plain_transport;
	io->tr_ctx = tr ? ctx : io;
	io_discard_input(io);
	io->eof = 0;
	buf_reset(&io->out);
	io->out_pos = 0;
}

const struct io_transport *io_get_transport(const struct io *io, void **ctx)
{
	if (ctx)
		*ctx = io->tr_ctx;
	return io->tr;
}

int io_set_nodelay(int fd)
{
	int on = 1;
	if (setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof on) == 0)
		return 0;
	if (errno == ENOTSOCK || errno == EOPNOTSUPP || errno == ENOPROTOOPT)
		return 0; /* a pipe or a unix socket: nothing to do */
	return -1;
}
