/* qp: quoted-printable encoder and robust, incremental decoder (RFC 2045
 * 6.7), and the RFC 2047 Q variant. Input is untrusted; the decoder never
 * fails and keeps malformed escapes literally. */
#include "qp.h"
#include "alloc.h"

#include <stdint.h>

static const char hex_upper[] = "0123456789ABCDEF";

static int hex_value(unsigned char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

static void put_escape(struct buf *out, unsigned char c)
{
	char e[3] = { '=', hex_upper[c >> 4], hex_upper[c & 15] };
	buf_append(out, e, 3);
}

/* ---- encoding ---- */

/* Length of the hard line break at p[j], or 0 if there is none. */
static size_t hard_break(const unsigned char *p, size_t j, size_t len, unsigned flags)
{
	if (flags & QP_BINARY || j >= len)
		return 0;
	if (p[j] == '\n')
		return 1;
	return p[j] == '\r' && j + 1 < len && p[j + 1] == '\n' ? 2 : 0;
}

void qp_encode(struct buf *out, const void *data, size_t len, unsigned flags)
{
	const unsigned char *p = data;
	const char *eol = flags & QP_LF ? "\n" : "\r\n";
	size_t col = 0;
	for (size_t i = 0; i < len;) {
		size_t hb = hard_break(p, i, len, flags);
		if (hb) {
			buf_append_str(out, eol);
			col = 0;
			i += hb;
			continue;
		}
		unsigned char c = p[i++];
		/* does this character end its line? then it may use column 76 */
		int last = i == len || hard_break(p, i, len, flags);
		int literal = (c >= 33 && c <= 126 && c != '=') ||
			      ((c == ' ' || c == '\t') && !last);
		size_t width = literal ? 1 : 3;
		if (col + width > (last ? QP_LINE : QP_LINE - 1)) {
			buf_append_char(out, '=');
			buf_append_str(out, eol);
			col = 0;
		}
		if (literal)
			buf_append_char(out, (char)c);
		else
			put_escape(out, c);
		col += width;
	}
}

/* ---- decoding ---- */

enum {
	QD_TEXT,   /* ordinary text; ws may hold pending whitespace */
	QD_CR,     /* saw CR: a line break if LF follows */
	QD_EQ,     /* saw '=' */
	QD_EQ_HEX, /* saw '=' and one hex digit (in hex1) */
	QD_EQ_WS,  /* saw '=' and whitespace (in ws) */
	QD_EQ_CR,  /* saw '=', maybe whitespace, and CR */
};

void qp_dec_init(struct qp_dec *d)
{
	d->state = QD_TEXT;
	d->hex1 = 0;
	buf_init(&d->ws);
}

void qp_dec_free(struct qp_dec *d)
{
	buf_free(&d->ws);
	d->state = QD_TEXT;
}

static void flush_ws(struct qp_dec *d, struct buf *out)
{
	if (d->ws.len) {
		buf_append_buf(out, &d->ws);
		buf_reset(&d->ws);
	}
}

/* One byte in the TEXT or CR state. */
static void step_text(struct qp_dec *d, struct buf *out, unsigned char c)
{
	if (d->state == QD_CR) {
		if (c == '\n') {
			buf_reset(&d->ws); /* whitespace before a line break goes */
			buf_append(out, "\r\n", 2);
			d->state = QD_TEXT;
			return;
		}
		flush_ws(d, out);
		buf_append_char(out, '\r');
		d->state = QD_TEXT;
	}
	if (c == ' ' || c == '\t') {
		buf_append_char(&d->ws, (char)c);
	} else if (c == '\n') {
		buf_reset(&d->ws);
		buf_append_char(out, '\n');
	} else if (c == '\r') {
		d->state = QD_CR;
	} else {
		flush_ws(d, out);
		if (c == '=')
			d->state = QD_EQ;
		else
			buf_append_char(out, (char)c);
	}
}

/* One byte after '='; returns 1 if c must be handled again as text. */
static int step_escape(struct qp_dec *d, struct buf *out, unsigned char c)
{
	int h = hex_value(c);
	int ws = c == ' ' || c == '\t';
	if (d->state == QD_EQ && h >= 0) {
		d->hex1 = (char)c;
		d->state = QD_EQ_HEX;
	} else if (d->state == QD_EQ_HEX) {
		d->state = QD_TEXT;
		if (h >= 0) {
			buf_append_char(out, (char)(hex_value((unsigned char)d->hex1) << 4 | h));
			return 0;
		}
		char lit[2] = { '=', d->hex1 };
		buf_append(out, lit, 2);
		return 1;
	} else if (ws && d->state != QD_EQ_CR) {
		buf_append_char(&d->ws, (char)c); /* transport padding, if a break follows */
		d->state = QD_EQ_WS;
	} else if (c == '\n' || (c == '\r' && d->state != QD_EQ_CR)) {
		if (c == '\n')
			buf_reset(&d->ws); /* a soft line break: nothing is output */
		d->state = c == '\n' ? QD_TEXT : QD_EQ_CR;
	} else {
		/* not an escape after all: '=' is literal, the rest is text */
		buf_append_char(out, '=');
		d->state = d->state == QD_EQ_CR ? QD_CR : QD_TEXT;
		return 1;
	}
	return 0;
}

/* A run of bytes that need no state: not whitespace, CR, LF or '='. */
static size_t plain_run(const unsigned char *p, size_t len)
{
	size_t n = 0;
	while (n < len && p[n] != ' ' && p[n] != '\t' && p[n] != '\r' && p[n] != '\n' &&
	       p[n] != '=')
		n++;
	return n;
}

void qp_dec_feed(struct qp_dec *d, struct buf *out, const char *in, size_t len)
{
	const unsigned char *p = (const unsigned char *)in;
	for (size_t i = 0; i < len;) {
		if (d->state == QD_TEXT) {
			size_t n = plain_run(p + i, len - i);
			if (n) {
				flush_ws(d, out);
				buf_append(out, p + i, n);
				i += n;
				continue;
			}
		}
		if (d->state == QD_TEXT || d->state == QD_CR)
			step_text(d, out, p[i++]);
		else if (!step_escape(d, out, p[i]))
			i++;
	}
}

void qp_dec_finish(struct qp_dec *d, struct buf *out)
{
	switch (d->state) {
	case QD_EQ_HEX: {
		char lit[2] = { '=', d->hex1 };
		buf_append(out, lit, 2);
		break;
	}
	case QD_EQ_CR:
		buf_append_char(out, '=');
		/* the whitespace and CR after it were literal too */
		__attribute__((fallthrough));
	case QD_CR:
		flush_ws(d, out);
		buf_append_char(out, '\r');
		break;
	default:
		/* TEXT: trailing whitespace goes; EQ, EQ_WS: a soft break at the end */
		break;
	}
	qp_dec_free(d);
}

void qp_decode(struct buf *out, const char *in, size_t len)
{
	struct qp_dec d;
	qp_dec_init(&d);
	qp_dec_feed(&d, out, in, len);
	qp_dec_finish(&d, out);
}

/* ---- RFC 2047 Q ---- */

static int q_literal(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '!' || c == '*' || c == '+' || c == '-' || c == '/';
}

void qp_encode_q(struct buf *out, const void *data, size_t len)
{
	const unsigned char *p = data;
	for (size_t i = 0; i < len; i++) {
		if (q_literal(p[i]))
			buf_append_char(out, (char)p[i]);
		else if (p[i] == ' ')
			buf_append_char(out, '_');
		else
			put_escape(out, p[i]);
	}
}

size_t qp_encode_q_size(const void *data, size_t len)
{
	const unsigned char *p = data;
	size_t n = 0;
	for (size_t i = 0; i < len; i++)
		if (size_add(n, q_literal(p[i]) || p[i] == ' ' ? 1 : 3, &n) < 0)
			return SIZE_MAX;
	return n;
}

void qp_decode_q(struct buf *out, const char *in, size_t len)
{
	const unsigned char *p = (const unsigned char *)in;
	for (size_t i = 0; i < len; i++) {
		int hi, lo;
		if (p[i] == '_') {
			buf_append_char(out, ' ');
		} else if (p[i] == '=' && i + 2 < len && (hi = hex_value(p[i + 1])) >= 0 &&
			   (lo = hex_value(p[i + 2])) >= 0) {
			buf_append_char(out, (char)(hi << 4 | lo));
			i += 2;
		} else {
			buf_append_char(out, (char)p[i]);
		}
	}
}
