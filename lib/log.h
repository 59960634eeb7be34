/* log: one line per event, to syslog (facility mail) or to stderr.
 *
 * Where lines go is chosen by ESTAFETTE_LOG: "syslog" (the default) or "stderr"
 * (the sandbox and the tests use stderr; each line then carries a UTC time stamp).
 * Control characters and bytes outside printable ASCII are escaped as \xNN, so
 * no input can forge or split a log line. Lines are capped at LOG_MAX_LINE.
 * Never pass a password or a secret to these functions. */
#ifndef ESTAFETTE_LOG_H
#define ESTAFETTE_LOG_H

#include <stddef.h>

#define LOG_MAX_LINE 2000

enum log_dest { LOG_DEST_SYSLOG, LOG_DEST_STDERR };

void log_init(const char *ident);               /* destination from ESTAFETTE_LOG */
void log_set_dest(enum log_dest dest);
void log_set_debug(int on);
const char *log_ident(void);

void log_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* log_error + exit(code); code is a sysexits value (EX_TEMPFAIL when in doubt). */
_Noreturn void log_fatal(int code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Escape arbitrary bytes for a log line or an error message (as log lines do). */
struct buf;
void log_escape(struct buf *out, const void *data, size_t len);

#endif
