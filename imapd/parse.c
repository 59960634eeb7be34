/* parse: tokens of one IMAP command (RFC 3501 section 9) from a complete
 * command in wire form. Trusts nothing: every token is bounded by the
 * command's end, literals by the sizes the reader checked, NULs refused. */
#include "imapd.h"

#include <string.h>

static int fail(struct parser *ps, const char *why)
{
	if (ps->err == NULL)
		ps->err = why;
	return -1;
}

int p_eol(struct parser *ps)
{
	return ps->p == ps->end ? 0 : fail(ps, "Unexpected characters at end of command");
}

int p_peek(struct parser *ps, char c)
{
	return ps->p < ps->end && *ps->p == c;
}

int p_char(struct parser *ps, char c)
{
	if (!p_peek(ps, c))
		return fail(ps, "Syntax error");
	ps->p++;
	return 0;
}

int p_sp(struct parser *ps)
{
	if (!p_peek(ps, ' '))
		return fail(ps, "Missing argument");
	ps->p++;
	return 0;
}

static int atom_char(unsigned char c)
{
	return c > 0x20 && c < 0x7f && !strchr("(){%*\"\\]", c);
}

int p_atom(struct parser *ps, struct buf *out)
{
	buf_reset(out);
	while (ps->p < ps->end && atom_char((unsigned char)*ps->p))
		buf_append_char(out, *ps->p++);
	return out->len ? 0 : fail(ps, "Expected an atom");
}

int p_number(struct parser *ps, uint64_t *n)
{
	uint64_t v = 0;
	int digits = 0;
	while (ps->p < ps->end && *ps->p >= '0' && *ps->p <= '9') {
		if (++digits > 19)
			return fail(ps, "Number too large");
		v = v * 10 + (uint64_t)(*ps->p++ - '0');
	}
	if (digits == 0)
		return fail(ps, "Expected a number");
	*n = v;
	return 0;
}

static int p_quoted(struct parser *ps, struct buf *out)
{
	ps->p++;
	while (ps->p < ps->end && *ps->p != '"') {
		char c = *ps->p++;
		if (c == '\\') {
			if (ps->p == ps->end || (*ps->p != '"' && *ps->p != '\\'))
				return fail(ps, "Bad escape in quoted string");
			c = *ps->p++;
		}
		if (c == '\0' || c == '\r' || c == '\n')
			return fail(ps, "Bad character in quoted string");
		buf_append_char(out, c);
	}
	if (ps->p == ps->end)
		return fail(ps, "Unterminated quoted string");
	ps->p++;
	return 0;
}

static int p_literal(struct parser *ps, struct buf *out)
{
	uint64_t n;
	ps->p++;
	if (p_number(ps, &n) < 0)
		return -1;
	if (p_peek(ps, '+') || p_peek(ps, '-'))
		ps->p++;
	if (p_char(ps, '}') < 0 || p_char(ps, '\r') < 0 || p_char(ps, '\n') < 0)
		return fail(ps, "Bad literal");
	if (n > (uint64_t)(ps->end - ps->p))
		return fail(ps, "Truncated literal");
	buf_append(out, ps->p, (size_t)n);
	ps->p += n;
	return 0;
}

int p_string(struct parser *ps, struct buf *out)
{
	buf_reset(out);
	if (p_peek(ps, '"'))
		return p_quoted(ps, out);
	if (p_peek(ps, '{'))
		return p_literal(ps, out);
	return fail(ps, "Expected a string");
}

int p_astring(struct parser *ps, struct buf *out)
{
	if (p_peek(ps, '"') || p_peek(ps, '{'))
		return p_string(ps, out);
	buf_reset(out);
	while (ps->p < ps->end && (atom_char((unsigned char)*ps->p) || *ps->p == ']'))
		buf_append_char(out, *ps->p++);
	return out->len ? 0 : fail(ps, "Expected a string or atom");
}

int p_list_mailbox(struct parser *ps, struct buf *out)
{
	if (p_peek(ps, '"') || p_peek(ps, '{'))
		return p_string(ps, out);
	buf_reset(out);
	while (ps->p < ps->end && (atom_char((unsigned char)*ps->p) || *ps->p == ']' ||
				   *ps->p == '%' || *ps->p == '*'))
		buf_append_char(out, *ps->p++);
	return out->len ? 0 : fail(ps, "Expected a mailbox pattern");
}

/* A flag: "\Name" or a keyword atom. */
int p_flag(struct parser *ps, struct buf *out)
{
	buf_reset(out);
	if (p_peek(ps, '\\'))
		buf_append_char(out, *ps->p++);
	while (ps->p < ps->end && atom_char((unsigned char)*ps->p))
		buf_append_char(out, *ps->p++);
	if (out->len == 0 || (out->len == 1 && out->data[0] == '\\'))
		return fail(ps, "Expected a flag");
	return 0;
}

/* Whether a command line ends with a literal announcement "{N}" or "{N+}":
 * 1 (with its size and kind), 0 if not, -1 if malformed or too large. */
int p_literal_size(const char *line, size_t len, uint64_t *n, int *nonsync)
{
	if (len < 3 || line[len - 1] != '}')
		return 0;
	size_t i = len - 1;
	*nonsync = 0;
	if (line[i - 1] == '+' || line[i - 1] == '-') {
		*nonsync = line[i - 1] == '+' ? 1 : 2;
		i--;
	}
	size_t digits_end = i;
	while (i > 0 && line[i - 1] >= '0' && line[i - 1] <= '9')
		i--;
	if (i == 0 || line[i - 1] != '{')
		return 0;
	if (i == digits_end || digits_end - i > 19)
		return -1;
	uint64_t v = 0;
	for (size_t k = i; k < digits_end; k++)
		v = v * 10 + (uint64_t)(line[k] - '0');
	*n = v;
	return 1;
}
