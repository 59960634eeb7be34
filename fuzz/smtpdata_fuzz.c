/* smtpdata_fuzz: lib/smtpdata, the message -> SMTP wire encoder (DATA with
 * dot-stuffing, BDAT without) and the file scan that gives SIZE. Byte 0
 * picks DATA or BDAT; the rest is the stored message, fed in random pieces.
 * Invariants: pieces encode exactly as one call; every LF on the wire follows
 * a CR; in DATA the only CRLF "." CRLF is the terminator at the very end,
 * and undoing the dot-stuffing of each line gives the BDAT form; the scan's
 * wire_size is the BDAT form's length, its eightbit/nul flags match the
 * input, and no line of the BDAT form (without CRLF) is longer than
 * longest_line. */
#define _GNU_SOURCE
#include "fuzz.h"
#include "buf.h"
#include "smtpdata.h"

#include <sys/mman.h>

static void encode(struct fuzz_in *in, int dotstuff, int pieces, struct buf *out)
{
	struct smtpdata_enc e;
	smtpdata_init(&e, dotstuff);
	size_t pos = 0;
	while (pos < in->len) {
		size_t n = pieces ? fuzz_piece(in, in->len - pos) : in->len - pos;
		smtpdata_encode(&e, in->p + pos, n, out);
		pos += n;
	}
	smtpdata_finish(&e, out);
}

/* The DATA form with each line's leading '.' removed and without ".\r\n". */
static void unstuff(const struct buf *w, struct buf *out)
{
	FUZZ_CHECK(w->len >= 3 && memcmp(w->data + w->len - 3, ".\r\n", 3) == 0);
	size_t end = w->len - 3;
	int bol = 1;
	for (size_t i = 0; i < end; i++) {
		char c = w->data[i];
		if (bol && c == '.') {
			FUZZ_CHECK(i + 1 < end && w->data[i + 1] == '.');
			i++;
		}
		buf_append_char(out, w->data[i]);
		bol = w->data[i] == '\n';
	}
}

static void check_lines(const struct buf *w, uint64_t longest)
{
	size_t start = 0;
	for (size_t i = 0; i < w->len; i++) {
		if (w->data[i] != '\n')
			continue;
		FUZZ_CHECK(i > 0 && w->data[i - 1] == '\r');
		FUZZ_CHECK(i - 1 - start <= longest);
		start = i + 1;
	}
	FUZZ_CHECK(start == w->len); /* the form always ends with a line end */
}

static void check_scan(const uint8_t *p, size_t n, const struct buf *bdat)
{
	int fd = memfd_create("smtpdata", 0);
	FUZZ_CHECK(fd >= 0);
	FUZZ_CHECK(n == 0 || write(fd, p, n) == (ssize_t)n);
	struct smtpdata_info info;
	FUZZ_CHECK(smtpdata_scan(fd, &info) == 0);
	close(fd);
	FUZZ_CHECK(info.wire_size == bdat->len);
	int eight = 0;
	for (size_t i = 0; i < n; i++)
		eight |= p[i] >= 0x80;
	FUZZ_CHECK(info.eightbit == eight);
	FUZZ_CHECK(info.nul == (n > 0 && memchr(p, 0, n) != NULL));
	check_lines(bdat, info.longest_line);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_in in;
	fuzz_in_init(&in, data, size);
	(void)fuzz_take_byte(&in);
	struct buf one = BUF_INIT, pieces = BUF_INIT, bdat = BUF_INIT, plain = BUF_INIT;
	encode(&in, 1, 0, &one);
	encode(&in, 1, 1, &pieces);
	FUZZ_CHECK(fuzz_eq(one.data, one.len, pieces.data, pieces.len));
	const char *term = memmem(one.data, one.len, "\r\n.\r\n", 5);
	if (one.len == 3)
		FUZZ_CHECK(memcmp(one.data, ".\r\n", 3) == 0);
	else
		FUZZ_CHECK(term == one.data + one.len - 5);
	encode(&in, 0, 1, &bdat);
	unstuff(&one, &plain);
	FUZZ_CHECK(fuzz_eq(plain.data, plain.len, bdat.data, bdat.len));
	check_scan(in.p, in.len, &bdat);
	buf_free(&one);
	buf_free(&pieces);
	buf_free(&bdat);
	buf_free(&plain);
	return 0;
}
