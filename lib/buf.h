/* buf: the one growable byte buffer for all protocol data.
 *
 * A buf holds len bytes, which may include NULs, and always keeps one NUL
 * after them, so buf_cstr() is a valid C string whenever the data has no NUL of
 * its own (check with buf_has_nul() before trusting it as one).
 * Growth is geometric and overflow-checked; out of memory follows alloc.h.
 * A zeroed struct buf (BUF_INIT) is an empty, valid buffer. */
#ifndef ESTAFETTE_BUF_H
#define ESTAFETTE_BUF_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

struct buf {
	char *data;  /* NULL until the first append */
	size_t len;  /* bytes in use, excluding the trailing NUL */
	size_t cap;  /* bytes allocated */
};

#define BUF_INIT { NULL, 0, 0 }

void buf_init(struct buf *b);
void buf_free(struct buf *b);
void buf_reset(struct buf *b);                 /* len = 0, keeps memory */
void buf_reserve(struct buf *b, size_t extra); /* room for extra more bytes */

void buf_append(struct buf *b, const void *data, size_t len);
void buf_append_str(struct buf *b, const char *s);
void buf_append_char(struct buf *b, char c);
void buf_append_buf(struct buf *b, const struct buf *other);
void buf_append_u64(struct buf *b, uint64_t n);
void buf_printf(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void buf_vprintf(struct buf *b, const char *fmt, va_list ap) __attribute__((format(printf, 2, 0)));

/* For error out-parameters: if err is not NULL, replace its contents with the
 * formatted message (a NULL err means the caller does not want the text). */
void buf_error(struct buf *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

void buf_set(struct buf *b, const void *data, size_t len);
void buf_set_str(struct buf *b, const char *s);
void buf_truncate(struct buf *b, size_t len);  /* no-op if len >= b->len */
void buf_consume(struct buf *b, size_t n);     /* drop the first n bytes */

const char *buf_cstr(struct buf *b);           /* never NULL */
int buf_has_nul(const struct buf *b);
int buf_eq_str(const struct buf *b, const char *s);
int buf_eq_str_nocase(const struct buf *b, const char *s); /* ASCII only */
char *buf_detach(struct buf *b);               /* caller frees; b becomes empty */

/* Room to write into directly: returns a pointer to at least `want` free bytes
 * after len; after writing n of them, call buf_commit(b, n). */
char *buf_space(struct buf *b, size_t want);
void buf_commit(struct buf *b, size_t n);

#endif
