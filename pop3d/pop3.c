/* pop3: command splitting, numbers, CAPA and dot-stuffing shared by pop3-login
 * and pop3d. Trusts nothing: every input is a client's line or a stored
 * message, bounded by the caller. */
#include "pop3.h"

#include <stdint.h>
#include <string.h>

int pop3_parse(const char *line, size_t len, struct pop3_cmd *c)
{
	size_t i = 0;
	if (memchr(line, '\0', len))
		return -1;
	while (i < len && line[i] != ' ') {
		char ch = line[i];
		if (i == 8 || !((ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') ||
				(ch >= '0' && ch <= '9')))
			return -1;
		c->verb[i++] = (char)(ch >= 'a' && ch <= 'z' ? ch - 32 : ch);
	}
	if (i == 0)
		return -1;
	c->verb[i] = '\0';
	c->arg = i < len ? line + i + 1 : "";
	c->arglen = i < len ? len - i - 1 : 0;
	return 0;
}

int pop3_is(const struct pop3_cmd *c, const char *verb)
{
	return strcmp(c->verb, verb) == 0;
}

int pop3_number(const char *s, size_t len, uint64_t *out)
{
	uint64_t n = 0;
	if (len == 0 || len > POP3_MAX_DIGITS)
		return -1;
	for (size_t i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		unsigned d = (unsigned)(s[i] - '0');
		n = n > (UINT64_MAX - d) / 10 ? UINT64_MAX : n * 10 + d; /* saturate */
	}
	*out = n;
	return 0;
}

int pop3_numbers(const char *s, size_t len, uint64_t *a, uint64_t *b)
{
	const char *sp = memchr(s, ' ', len);
	if (sp == NULL)
		return pop3_number(s, len, a) == 0 ? 1 : -1;
	size_t l1 = (size_t)(sp - s);
	if (pop3_number(s, l1, a) < 0 || pop3_number(sp + 1, len - l1 - 1, b) < 0)
		return -1;
	return 2;
}

void pop3_capa(struct buf *out, unsigned flags, const char *mechs)
{
	buf_append_str(out, "+OK capability list follows\r\nTOP\r\nUIDL\r\nRESP-CODES\r\n"
			    "AUTH-RESP-CODE\r\nPIPELINING\r\nEXPIRE NEVER\r\nLOGIN-DELAY 0\r\n");
	if (flags & POP3_CAPA_LOGIN)
		buf_printf(out, "USER\r\nSASL %s\r\nUTF8 USER\r\n", mechs ? mechs : "PLAIN");
	else
		buf_append_str(out, "UTF8\r\n");
	if (flags & POP3_CAPA_STLS)
		buf_append_str(out, "STLS\r\n");
	buf_append_str(out, "IMPLEMENTATION " POP3_IMPLEMENTATION "\r\n.\r\n");
}

void pop3_stuff_init(struct pop3_stuff *s, int limited, uint64_t lines)
{
	memset(s, 0, sizeof *s);
	s->bol = 1;
	s->limited = limited;
	s->lines = lines;
}

/* A line ended (its LF was written). */
static void line_end(struct pop3_stuff *s)
{
	int empty = s->linelen == 0 || (s->linelen == 1 && s->cr);
	if (s->in_body) {
		if (s->limited && --s->lines == 0)
			s->done = 1;
	} else if (empty) {
		s->in_body = 1;
		if (s->limited && s->lines == 0)
			s->done = 1;
	}
	s->bol = 1;
	s->cr = 0;
	s->linelen = 0;
}

void pop3_stuff_feed(struct pop3_stuff *s, const char *p, size_t n, struct buf *out)
{
	size_t i = 0;
	buf_reserve(out, n + n / 16 + 16);
	while (i < n && !s->done) {
		/* copy a run of ordinary bytes at once */
		size_t j = i;
		if (!s->bol) {
			const char *lf = memchr(p + i, '\n', n - i);
			j = lf ? (size_t)(lf - p) : n;
			if (j > i) {
				buf_append(out, p + i, j - i);
				s->linelen += j - i;
				s->cr = p[j - 1] == '\r';
				i = j;
				continue;
			}
		}
		char c = p[i++];
		if (c == '\n') {
			if (!s->cr)
				buf_append_char(out, '\r');
			buf_append_char(out, '\n');
			line_end(s);
			continue;
		}
		if (s->bol && c == '.')
			buf_append_char(out, '.');
		buf_append_char(out, c);
		s->bol = 0;
		s->cr = c == '\r';
		s->linelen++;
	}
}

void pop3_stuff_end(struct pop3_stuff *s, struct buf *out)
{
	if (!s->bol && !s->done)
		buf_append_str(out, s->cr ? "\n" : "\r\n");
	buf_append_str(out, ".\r\n");
}
