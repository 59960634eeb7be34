/* io: buffered, timed reader/writer for the protocol daemons and the SMTP client.
 *
 * An io owns two buffers over a read fd and a write fd (the same fd for a
 * socket; stdin/stdout under inetd or tcpserver). It does not own the fds:
 * io_free() leaves them open. io_new() makes both fds non-blocking, because
 * that is the only way a timeout can bound a read or a write.
 *
 * Bytes move through a transport (plain read/write by default; lib/tls.h
 * installs an OpenSSL one for STARTTLS or TLS-on-connect). Everything read
 * from the peer is untrusted: lines are capped at max_line and may hold NULs.
 *
 * Output is buffered until io_flush() so that a reply leaves in as few
 * write()s as possible (a reply split over several segments stalls on
 * Nagle + delayed ACK). Write errors are sticky: io_write/io_printf may be
 * called without checking, and io_flush reports the first failure.
 *
 * Writing to a peer that has gone can raise SIGPIPE through the TLS
 * transport; daemons ignore SIGPIPE. */
#ifndef ESTAFETTE_IO_H
#define ESTAFETTE_IO_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct buf;
struct io;

enum io_status {
	IO_OK = 0,
	IO_EOF,     /* the peer closed (nothing more to read) */
	IO_TIMEOUT, /* waited longer than the timeout or past the deadline */
	IO_ERROR,   /* see io_error() */
	IO_TOOLONG, /* a line longer than max_line (it was skipped) */
};

/* How the last line from io_read_line() ended. */
enum io_eol {
	IO_EOL_NONE, /* at EOF without a terminator (or after a failure) */
	IO_EOL_LF,   /* bare LF */
	IO_EOL_CRLF,
};

/* Transport: read/write return bytes moved (>0), 0 for EOF on read, or one of
 * these codes. On IO_T_ERROR the transport keeps its reason for error(). */
#define IO_T_ERROR (-1)
#define IO_T_WANT_READ (-2)  /* wait until the read fd is readable, retry */
#define IO_T_WANT_WRITE (-3) /* wait until the write fd is writable, retry */

struct io_transport {
	const char *name;
	ssize_t (*read)(void *ctx, void *p, size_t n);
	ssize_t (*write)(void *ctx, const void *p, size_t n);
	size_t (*pending)(void *ctx);               /* bytes held inside; may be NULL */
	void (*error)(void *ctx, struct buf *out);  /* why IO_T_ERROR; may be NULL */
	void (*close)(void *ctx);                   /* free ctx; may be NULL */
};

#define IO_DEFAULT_TIMEOUT_MS (5 * 60 * 1000)
#define IO_DEFAULT_MAX_LINE 4096

/* NULL with errno set if an fd cannot be made non-blocking (e.g. EBADF). */
struct io *io_new(int rfd, int wfd);
void io_free(struct io *io);            /* closes the transport, not the fds */

int io_rfd(const struct io *io);
int io_wfd(const struct io *io);

/* Longest time one read, write or handshake step may wait without progress;
 * a negative value waits forever. Default IO_DEFAULT_TIMEOUT_MS. */
void io_set_timeout(struct io *io, int timeout_ms);
/* An overall deadline, ms from now, after which every wait times out;
 * 0 removes it. */
void io_set_deadline(struct io *io, int64_t ms_from_now);
/* Longest line io_read_line returns, NOT counting its CRLF or LF (SMTP's
 * 1000 octets with CRLF is max_line 998). Default IO_DEFAULT_MAX_LINE. */
void io_set_max_line(struct io *io, size_t max_line);

/* Read one line into line (replacing its contents), without its terminator;
 * io_eol() then says how it ended. A bare CR stays in the data.
 * IO_OK: a line (at EOF, the unterminated rest, with IO_EOL_NONE);
 * IO_TOOLONG: the line exceeded max_line and was skipped through its LF, so the
 * next call reads the next line; IO_EOF: nothing more; IO_TIMEOUT, IO_ERROR. */
enum io_status io_read_line(struct io *io, struct buf *line);
enum io_eol io_eol(const struct io *io);

/* Append exactly n bytes to out (IMAP literals, BDAT chunks; the caller
 * bounds n). IO_EOF if the stream ends first (what came is in out). */
enum io_status io_read_exact(struct io *io, struct buf *out, size_t n);
/* Append between 1 and max bytes to out, waiting only if none is buffered. */
enum io_status io_read_some(struct io *io, struct buf *out, size_t max);
/* Wait for at least one byte of input, then return it without consuming it:
 * 0..255, or -1 with *status set (IO_EOF, IO_TIMEOUT, IO_ERROR). */
int io_peek(struct io *io, enum io_status *status);

/* Input already received but not consumed (in the io or in the transport).
 * Before STARTTLS it must be zero: plaintext sent after the STARTTLS command
 * would otherwise be taken as if it came inside TLS (CVE-2011-0411). */
size_t io_has_buffered_input(const struct io *io);
void io_discard_input(struct io *io);

enum io_status io_write(struct io *io, const void *p, size_t n);
enum io_status io_write_str(struct io *io, const char *s);
enum io_status io_printf(struct io *io, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* Send everything buffered; handles partial writes and EAGAIN with the timeout. */
enum io_status io_flush(struct io *io);
size_t io_pending_output(const struct io *io);

/* Why the last IO_ERROR or IO_TIMEOUT happened (never NULL). */
const char *io_error(struct io *io);
void io_counts(const struct io *io, uint64_t *bytes_in, uint64_t *bytes_out);

/* Wait for the read fd (want_write 0) or the write fd (1) with the io's
 * timeout and deadline; for transports and handshakes. */
enum io_status io_wait(struct io *io, int want_write);

/* Replace the transport (closing the old one). Buffered input is discarded and
 * EOF forgotten; unflushed output is discarded too, so flush first. */
void io_set_transport(struct io *io, const struct io_transport *tr, void *ctx);
const struct io_transport *io_get_transport(const struct io *io, void **ctx);

/* Set TCP_NODELAY when fd is a TCP socket; other fds are left alone.
 * 0 or -1 with errno. */
int io_set_nodelay(int fd);

#endif
