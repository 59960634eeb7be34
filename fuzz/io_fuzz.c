/* io_fuzz: lib/io's line reader over a fake transport. The first byte sets
 * max_line (1-64 or the default), the rest is the peer's byte stream, handed
 * over in pieces whose sizes the input chooses, with "would block" answers
 * in between. Invariant: the lines, their endings, IO_TOOLONG and IO_EOF
 * come exactly as a plain split at LF says they should, and io_peek sees
 * the next unread byte. */
#include "fuzz.h"
#include "buf.h"
#include "io.h"

#include <unistd.h>

struct fake {
	struct fuzz_in *in;
	const char *p;
	size_t len, off;
	int blocked;
};

static ssize_t fake_read(void *ctx, void *p, size_t n)
{
	struct fake *f = ctx;
	if (f->off == f->len)
		return 0;
	if (!f->blocked && (f->in->rng & 0x700) == 0) {
		f->blocked = 1; /* a would-block once in a while */
		f->in->rng = f->in->rng * 1103515245u + 12345u;
		return IO_T_WANT_READ;
	}
	f->blocked = 0;
	size_t k = fuzz_piece(f->in, f->len - f->off);
	if (k > n)
		k = n;
	memcpy(p, f->p + f->off, k);
	f->off += k;
	return (ssize_t)k;
}

static ssize_t fake_write(void *ctx, const void *p, size_t n)
{
	(void)ctx;
	(void)p;
	return (ssize_t)n;
}

static const struct io_transport fake_transport = { "fake", fake_read, fake_write, NULL, NULL, NULL };

/* A pipe that always has a byte to read, so io_wait() returns at once. */
static int ready_fds[2] = { -1, -1 };

static void ready_pipe(void)
{
	if (ready_fds[0] >= 0)
		return;
	if (pipe(ready_fds) < 0 || write(ready_fds[1], "x", 1) != 1)
		abort();
}

/* What the next io_read_line must give for the rest of s from off. */
static enum io_status expect(const char *s, size_t len, size_t *off, size_t max,
			     size_t *lstart, size_t *llen, enum io_eol *eol)
{
	if (*off == len)
		return IO_EOF;
	const char *lf = memchr(s + *off, '\n', len - *off);
	size_t seg = lf ? (size_t)(lf - (s + *off)) : len - *off;
	*lstart = *off;
	*llen = seg;
	*eol = lf ? IO_EOL_LF : IO_EOL_NONE;
	if (lf && seg > 0 && s[*off + seg - 1] == '\r') {
		(*llen)--;
		*eol = IO_EOL_CRLF;
	}
	*off += seg + (lf ? 1 : 0);
	return *llen > max ? IO_TOOLONG : IO_OK;
}

static void read_all(struct io *io, struct fuzz_in *in, const char *s, size_t len, size_t max)
{
	struct buf line = BUF_INIT;
	size_t off = 0;
	for (;;) {
		if (in->rng & 0x10000) {
			enum io_status ps = IO_OK;
			int c = io_peek(io, &ps);
			FUZZ_CHECK(off < len ? c == (unsigned char)s[off] : (c == -1 && ps == IO_EOF));
		}
		size_t ls = 0, ll = 0;
		enum io_eol eol = IO_EOL_NONE;
		enum io_status want = expect(s, len, &off, max, &ls, &ll, &eol);
		enum io_status got = io_read_line(io, &line);
		FUZZ_CHECK(got == want);
		if (got == IO_OK) {
			FUZZ_CHECK(fuzz_eq(line.data, line.len, s + ls, ll));
			FUZZ_CHECK(io_eol(io) == eol);
		}
		if (got == IO_EOF)
			break;
	}
	buf_free(&line);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_in in;
	fuzz_in_init(&in, data, size);
	unsigned opt = fuzz_take_byte(&in);
	size_t max = (opt & 0x40) ? IO_DEFAULT_MAX_LINE : 1 + (opt & 0x3f);
	ready_pipe();
	struct io *io = io_new(ready_fds[0], ready_fds[1]);
	FUZZ_CHECK(io != NULL);
	struct fake f = { &in, (const char *)in.p, in.len, 0, 0 };
	io_set_transport(io, &fake_transport, &f);
	io_set_max_line(io, max);
	io_set_timeout(io, 1000);
	read_all(io, &in, f.p, f.len, max);
	uint64_t bin = 0, bout = 0;
	io_counts(io, &bin, &bout);
	FUZZ_CHECK(bin == f.len);
	io_free(io);
	return 0;
}
