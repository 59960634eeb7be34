/* command: reading one whole IMAP command from the client, literals
 * included (RFC 3501 4.3, RFC 7888 LITERAL+/LITERAL-), for imapd and
 * imap-login. Lines are bounded by the io's max_line, each literal by the
 * caller's limits (APPEND's larger), checked before a byte of it is read:
 * a synchronizing literal that is too large gets NO [TOOBIG] and is never
 * requested; a non-synchronizing one ends the session with BYE. */
#include "imapd.h"

#include "io.h"

#include <string.h>
#include <strings.h>

int command_tag_valid(const struct buf *t)
{
	if (t->len == 0 || t->len > 64)
		return 0;
	for (size_t i = 0; i < t->len; i++) {
		unsigned char c = (unsigned char)t->data[i];
		if (c <= 0x20 || c >= 0x7f || strchr("(){%*\"\\+", c))
			return 0;
	}
	return 1;
}

/* The tag of a command line, for a reply before it is parsed (literal refused). */
static void command_line_tag(const struct buf *line, struct buf *tag)
{
	size_t n = 0;
	while (n < line->len && line->data[n] != ' ')
		n++;
	buf_set(tag, line->data, n);
	if (!command_tag_valid(tag))
		buf_set_str(tag, "*");
}

static int is_append(const struct buf *line)
{
	const char *sp = memchr(line->data, ' ', line->len);
	return sp != NULL && (size_t)(line->data + line->len - sp) > 7 &&
	       strncasecmp(sp + 1, "APPEND ", 7) == 0;
}

enum read_result command_read(struct io *io, struct buf *cmd, uint64_t max_literal,
			       uint64_t max_append)
{
	struct buf line = BUF_INIT, tag = BUF_INIT;
	enum read_result r = READ_END;
	int append = -1;
	buf_reset(cmd);
	for (;;) {
		enum io_status st = io_read_line(io, &line);
		if (st == IO_TOOLONG) {
			/* after a literal the tag is known: the command gets its tagged BAD */
			if (append >= 0)
				io_printf(io, "%s BAD Line too long\r\n", buf_cstr(&tag));
			else
				io_write_str(io, "* BAD Line too long\r\n");
			r = READ_SKIP;
			break;
		}
		if (st == IO_TIMEOUT)
			io_write_str(io, "* BYE Autologout: idle for too long\r\n");
		if (st != IO_OK)
			break;
		if (append < 0) {
			append = is_append(&line);
			command_line_tag(&line, &tag);
		}
		uint64_t n = 0;
		int nonsync = 0, lit = p_literal_size(line.data, line.len, &n, &nonsync);
		uint64_t max = append ? max_append : max_literal;
		/* the whole command: a few lines and literals beyond the largest one */
		uint64_t total = max + 4 * (max_literal + IMAPD_MAX_LINE);
		buf_append_buf(cmd, &line);
		if (lit == 0) {
			r = READ_OK;
			break;
		}
		if (lit < 0 || n > max || cmd->len + n > total) {
			if (nonsync) {
				io_write_str(io, "* BYE [TOOBIG] Literal too large\r\n");
				break;
			}
			io_printf(io, "%s NO [TOOBIG] Literal too large\r\n", buf_cstr(&tag));
			r = READ_SKIP;
			break;
		}
		buf_append_str(cmd, "\r\n");
		if (!nonsync) {
			io_write_str(io, "+ Ready for literal data\r\n");
			if (io_flush(io) != IO_OK)
				break;
		}
		if (io_read_exact(io, cmd, (size_t)n) != IO_OK)
			break;
	}
	buf_free(&line);
	buf_free(&tag);
	return r;
}

