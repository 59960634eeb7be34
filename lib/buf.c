/* buf: growable byte buffer, always NUL-terminated after len. */
#include "buf.h"
#include "alloc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

void buf_init(struct buf *b)
{
	b->data = NULL;
	b->len = 0;
	b->cap = 0;
}

void buf_free(struct buf *b)
{
	free(b->data);
	buf_init(b);
}

void buf_reset(struct buf *b)
{
	b->len = 0;
	if (b->data)
		b->data[0] = '\0';
}

void buf_reserve(struct buf *b, size_t extra)
{
	size_t need;
	/* +1 for the trailing NUL */
	if (size_add(b->len, extra, &need) < 0 || size_add(need, 1, &need) < 0)
		die_nomem();
	if (need <= b->cap)
		return;
	size_t cap = b->cap ? b->cap : 64;
	while (cap < need) {
		if (cap > SIZE_MAX / 2) {
			cap = need;
			break;
		}
		cap *= 2;
	}
	b->data = xrealloc(b->data, cap);
	b->cap = cap;
}

char *buf_space(struct buf *b, size_t want)
{
	buf_reserve(b, want);
	return b->data + b->len;
}

void buf_commit(struct buf *b, size_t n)
{
	/* n must not exceed what buf_space() reserved */
	if (n >= b->cap - b->len)
		abort();
	b->len += n;
	b->data[b->len] = '\0';
}

void buf_append(struct buf *b, const void *data, size_t len)
{
	const char *src = data;
	/* the source may lie inside b itself and move when b grows */
	if (b->data && src >= b->data && src < b->data + b->cap) {
		size_t off = (size_t)(src - b->data);
		buf_reserve(b, len);
		src = b->data + off;
	} else {
		buf_reserve(b, len);
	}
	if (len)
		memmove(b->data + b->len, src, len);
	b->len += len;
	b->data[b->len] = '\0';
}

void buf_append_str(struct buf *b, const char *s)
{
	buf_append(b, s, strlen(s));
}

void buf_append_char(struct buf *b, char c)
{
	buf_append(b, &c, 1);
}

void buf_append_buf(struct buf *b, const struct buf *other)
{
	buf_append(b, other->data, other->len);
}

void buf_append_u64(struct buf *b, uint64_t n)
{
	char digits[20];
	size_t i = sizeof digits;
	do {
		digits[--i] = (char)('0' + n % 10);
		n /= 10;
	} while (n);
	buf_append(b, digits + i, sizeof digits - i);
}

void buf_vprintf(struct buf *b, const char *fmt, va_list ap)
{
	va_list ap2;
	va_copy(ap2, ap);
	int n = vsnprintf(NULL, 0, fmt, ap2);
	va_end(ap2);
	if (n < 0)
		abort(); /* an invalid format is a programming error */
	char *p = buf_space(b, (size_t)n);
	vsnprintf(p, (size_t)n + 1, fmt, ap);
	b->len += (size_t)n;
}

void buf_printf(struct buf *b, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	buf_vprintf(b, fmt, ap);
	va_end(ap);
}

void buf_error(struct buf *err, const char *fmt, ...)
{
	if (err == NULL)
		return;
	va_list ap;
	va_start(ap, fmt);
	buf_reset(err);
	buf_vprintf(err, fmt, ap);
	va_end(ap);
}

void buf_set(struct buf *b, const void *data, size_t len)
{
	buf_reset(b);
	buf_append(b, data, len);
}

void buf_set_str(struct buf *b, const char *s)
{
	buf_set(b, s, strlen(s));
}

void buf_truncate(struct buf *b, size_t len)
{
	if (len >= b->len)
		return;
	b->len = len;
	b->data[len] = '\0';
}

void buf_consume(struct buf *b, size_t n)
{
	if (n >= b->len) {
		buf_reset(b);
		return;
	}
	memmove(b->data, b->data + n, b->len - n);
	b->len -= n;
	b->data[b->len] = '\0';
}

const char *buf_cstr(struct buf *b)
{
	if (b->data == NULL)
		buf_reserve(b, 0), b->data[0] = '\0';
	return b->data;
}

int buf_has_nul(const struct buf *b)
{
	return b->len && memchr(b->data, '\0', b->len) != NULL;
}

int buf_eq_str(const struct buf *b, const char *s)
{
	size_t n = strlen(s);
	return b->len == n && (n == 0 || memcmp(b->data, s, n) == 0);
}

int buf_eq_str_nocase(const struct buf *b, const char *s)
{
	size_t n = strlen(s);
	return b->len == n && (n == 0 || strncasecmp(b->data, s, n) == 0);
}

char *buf_detach(struct buf *b)
{
	buf_cstr(b);
	char *p = b->data;
	buf_init(b);
	return p;
}
