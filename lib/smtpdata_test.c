/* smtpdata tests: CRLF conversion and dot-stuffing fed whole, byte by byte and
 * in every split; smuggling-shaped input; the scan's SIZE and 8-bit verdicts. */
#include "smtpdata.h"
#include "buf.h"
#include "file.h"
#include "unit.h"

#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static void encode_split(const char *in, size_t n, int dotstuff, size_t piece,
			 struct buf *out)
{
	struct smtpdata_enc e;
	smtpdata_init(&e, dotstuff);
	buf_reset(out);
	for (size_t off = 0; off < n; off += piece)
		smtpdata_encode(&e, in + off, n - off < piece ? n - off : piece, out);
	smtpdata_finish(&e, out);
}

/* The same output for whole input, 1-byte pieces and every 2-way split. */
static void check_enc(const char *in, size_t n, int dotstuff, const char *want)
{
	struct buf out = BUF_INIT;
	for (size_t piece = 1; piece <= n + 1; piece++) {
		encode_split(in, n, dotstuff, piece, &out);
		CHECK_BUF(out, want);
	}
	buf_free(&out);
}

#define ENC(in, ds, want) check_enc(in, sizeof(in) - 1, ds, want)

TEST(smtpdata_crlf_and_dots)
{
	ENC("", 1, ".\r\n");
	ENC("", 0, "");
	ENC("a\n", 1, "a\r\n.\r\n");
	ENC("a\nb", 1, "a\r\nb\r\n.\r\n");
	ENC(".\n", 1, "..\r\n.\r\n");
	ENC(".\n", 0, ".\r\n");
	ENC("a\n.b\n..\n", 1, "a\r\n..b\r\n...\r\n.\r\n");
	ENC("x.y\n", 1, "x.y\r\n.\r\n");
	ENC("a\r\nb\n", 1, "a\r\nb\r\n.\r\n");
	ENC("\n\n", 1, "\r\n\r\n.\r\n");
	ENC("a\rb\n", 1, "a\r\nb\r\n.\r\n");  /* a bare CR ends its line */
	ENC("a\r.\rb", 1, "a\r\n..\r\nb\r\n.\r\n");
	ENC("a\r\r\n", 0, "a\r\n\r\n");
	ENC("end\r", 1, "end\r\n.\r\n");
}

TEST(smtpdata_nul_kept)
{
	struct buf out = BUF_INIT;
	encode_split("a\0b\n", 4, 0, 1, &out);
	CHECK_MEM(out.data, out.len, "a\0b\r\n", 5);
	buf_free(&out);
}

/* Smuggling shapes: whatever the input, the only CRLF.CRLF is the last one. */
TEST(smtpdata_no_smuggling)
{
	static const char *const in[] = { "a\n.\nMAIL FROM:<x>\n", "a\r.\r\nb\n", "a\n.\r\nb",
					  "\r\n.\r\n", ".\r\n.\n", "a\r.\rMAIL FROM:<x>\r",
					  "a\n.\rb", "a\r.\nb" };
	struct buf out = BUF_INIT;
	for (size_t i = 0; i < sizeof(in) / sizeof(in[0]); i++) {
		encode_split(in[i], strlen(in[i]), 1, 1, &out);
		const char *end = out.data + out.len - 5;
		CHECK(out.len >= 3);
		for (const char *p = out.data; p + 5 <= out.data + out.len; p++)
			CHECK(memcmp(p, "\r\n.\r\n", 5) != 0 || p == end);
		for (size_t k = 0; k < out.len; k++) { /* CR and LF only as CRLF */
			CHECK(out.data[k] != '\n' || (k > 0 && out.data[k - 1] == '\r'));
			CHECK(out.data[k] != '\r' || (k + 1 < out.len && out.data[k + 1] == '\n'));
		}
	}
	buf_free(&out);
}

static int tmpfile_with(const char *data, size_t n)
{
	char path[4200];
	snprintf(path, sizeof(path), "%s/msg", unit_tmpdir());
	int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	CHECK(fd >= 0);
	CHECK_INT(file_write_all(fd, data, n), 0);
	return fd;
}

TEST(smtpdata_scan_counts)
{
	struct smtpdata_info info;
	int fd = tmpfile_with("ab\n\xc3\xa9\nlonger line\n", 18);
	CHECK_INT(smtpdata_scan(fd, &info), 0);
	CHECK_INT(info.wire_size, 21);
	CHECK_INT(info.eightbit, 1);
	CHECK_INT(info.nul, 0);
	CHECK_INT(info.longest_line, 11);
	close(fd);
	fd = tmpfile_with("a\r\nb\0c", 6);
	CHECK_INT(smtpdata_scan(fd, &info), 0);
	CHECK_INT(info.wire_size, 8);  /* "a\r\nb\0c\r\n" */
	CHECK_INT(info.eightbit, 0);
	CHECK_INT(info.nul, 1);
	close(fd);
	fd = tmpfile_with("", 0);
	CHECK_INT(smtpdata_scan(fd, &info), 0);
	CHECK_INT(info.wire_size, 0);
	close(fd);
	CHECK_INT(smtpdata_scan(-1, &info), -1);
}

/* SIZE equals what BDAT sends, for a large file crossing chunk borders. */
TEST(smtpdata_scan_matches_encoding)
{
	static char data[200000];
	for (size_t i = 0; i < sizeof(data); i++)
		data[i] = i % 61 == 60 ? '\n' : i % 97 == 0 ? '.' : (char)('a' + i % 26);
	data[65535] = '\n';
	data[65536] = '.';
	data[131071] = '\r'; /* bare CRs, one at a chunk's end */
	data[1000] = '\r';
	data[1001] = '.';
	int fd = tmpfile_with(data, sizeof(data));
	struct smtpdata_info info;
	struct buf out = BUF_INIT;
	CHECK_INT(smtpdata_scan(fd, &info), 0);
	encode_split(data, sizeof(data), 0, 4096, &out);
	CHECK_INT(info.wire_size, out.len);
	close(fd);
	buf_free(&out);
}
