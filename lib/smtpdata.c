/* smtpdata: LF -> CRLF, dot-stuffing and the DATA terminator; a file scan
 * for SIZE and 8-bit content. See smtpdata.h. */
#include "smtpdata.h"

#include "alloc.h"
#include "buf.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>

void smtpdata_init(struct smtpdata_enc *e, int dotstuff)
{
	e->dotstuff = dotstuff;
	e->bol = 1;
	e->cr = 0;
}

void smtpdata_encode(struct smtpdata_enc *e, const void *in, size_t n, struct buf *out)
{
	const unsigned char *p = in;
	size_t want, k = 0;
	if (size_mul(n, 3, &want) < 0)  /* each byte becomes at most three (LF . x) */
		die_nomem();
	char *w = buf_space(out, want);
	for (size_t i = 0; i < n; i++) {
		unsigned char c = p[i];
		if (c == '\n') {
			if (!e->cr)
				w[k++] = '\r';
			w[k++] = '\n';
			e->bol = 1;
			e->cr = 0;
			continue;
		}
		if (e->cr) { /* a bare CR: make it a line end of its own */
			w[k++] = '\n';
			e->bol = 1;
		}
		if (e->bol && c == '.' && e->dotstuff)
			w[k++] = '.';
		w[k++] = (char)c;
		e->bol = 0;
		e->cr = c == '\r';
	}
	buf_commit(out, k);
}

void smtpdata_finish(struct smtpdata_enc *e, struct buf *out)
{
	if (!e->bol)
		buf_append_str(out, e->cr ? "\n" : "\r\n");
	e->bol = 1;
	e->cr = 0;
	if (e->dotstuff)
		buf_append_str(out, ".\r\n");
}

static void smtpdata_count(struct smtpdata_info *info, const unsigned char *p, size_t n,
			   int *cr, uint64_t *line)
{
	for (size_t i = 0; i < n; i++) {
		unsigned char c = p[i];
		if (c == '\n') {
			info->wire_size += *cr ? 1 : 2;
			if (*cr)
				(*line)--;  /* the CR belongs to the line end */
			if (*line > info->longest_line)
				info->longest_line = *line;
			*line = 0;
			*cr = 0;
			continue;
		}
		if (*cr) { /* a bare CR gets an LF: it ends the line */
			info->wire_size++;
			(*line)--;
			if (*line > info->longest_line)
				info->longest_line = *line;
			*line = 0;
		}
		info->wire_size++;
		(*line)++;
		info->eightbit |= c >= 0x80;
		info->nul |= c == 0;
		*cr = c == '\r';
	}
}

int smtpdata_scan(int fd, struct smtpdata_info *info)
{
	unsigned char chunk[65536];
	uint64_t line = 0;
	int cr = 0;
	off_t off = 0;
	memset(info, 0, sizeof(*info));
	for (;;) {
		ssize_t r = pread(fd, chunk, sizeof(chunk), off);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -1;
		if (r == 0)
			break;
		smtpdata_count(info, chunk, (size_t)r, &cr, &line);
		off += r;
	}
	if (line > 0 || cr) {  /* unterminated last line: finish adds CRLF (or LF) */
		info->wire_size += cr ? 1 : 2;
		if (line > info->longest_line)
			info->longest_line = line;
	}
	return 0;
}
