/* log: escaped, length-capped single-line logging to syslog or stderr. */
#include "log.h"
#include "buf.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

static char ident_name[64] = "estafette";
static enum log_dest dest = LOG_DEST_SYSLOG;
static int debug_on;

void log_set_dest(enum log_dest d)
{
	dest = d;
	if (dest == LOG_DEST_SYSLOG)
		openlog(ident_name, LOG_PID | LOG_NDELAY, LOG_MAIL);
}

void log_init(const char *ident)
{
	snprintf(ident_name, sizeof ident_name, "%s", ident);
	const char *where = getenv("ESTAFETTE_LOG");
	log_set_dest(where && strcmp(where, "stderr") == 0 ? LOG_DEST_STDERR : LOG_DEST_SYSLOG);
	const char *dbg = getenv("ESTAFETTE_DEBUG");
	debug_on = dbg && *dbg && strcmp(dbg, "0") != 0;
}

void log_set_debug(int on)
{
	debug_on = on;
}

const char *log_ident(void)
{
	return ident_name;
}

void log_escape(struct buf *out, const void *data, size_t len)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *p = data;
	for (size_t i = 0; i < len; i++) {
		if (p[i] >= 0x20 && p[i] < 0x7f && p[i] != '\\') {
			buf_append_char(out, (char)p[i]);
		} else {
			char esc[4] = { '\\', 'x', hex[p[i] >> 4], hex[p[i] & 15] };
			buf_append(out, esc, 4);
		}
	}
}

static void emit(int priority, const char *level, const char *fmt, va_list ap)
{
	int saved_errno = errno;
	struct buf raw = BUF_INIT, line = BUF_INIT;
	buf_vprintf(&raw, fmt, ap);
	log_escape(&line, raw.data, raw.len);
	if (line.len > LOG_MAX_LINE) {
		buf_truncate(&line, LOG_MAX_LINE);
		buf_append_str(&line, "...");
	}
	if (dest == LOG_DEST_SYSLOG) {
		syslog(priority, "%s: %s", level, buf_cstr(&line));
	} else {
		struct buf out = BUF_INIT;
		char stamp[32];
		time_t now = time(NULL);
		struct tm tm;
		gmtime_r(&now, &tm);
		strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%SZ", &tm);
		buf_printf(&out, "%s %s[%ld]: %s: ", stamp, ident_name, (long)getpid(), level);
		buf_append_buf(&out, &line);
		buf_append_char(&out, '\n');
		/* one write per line, so lines of concurrent processes do not mix */
		ssize_t r = write(2, out.data, out.len);
		(void)r;
		buf_free(&out);
	}
	buf_free(&raw);
	buf_free(&line);
	errno = saved_errno;
}

#define LOG_FN(name, prio, level, guard)                                         \
	void name(const char *fmt, ...)                                          \
	{                                                                        \
		if (!(guard))                                                    \
			return;                                                  \
		va_list ap;                                                      \
		va_start(ap, fmt);                                               \
		emit(prio, level, fmt, ap);                                      \
		va_end(ap);                                                      \
	}

LOG_FN(log_debug, LOG_DEBUG, "debug", debug_on)
LOG_FN(log_info, LOG_INFO, "info", 1)
LOG_FN(log_warn, LOG_WARNING, "warning", 1)
LOG_FN(log_error, LOG_ERR, "error", 1)

_Noreturn void log_fatal(int code, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	emit(LOG_CRIT, "fatal", fmt, ap);
	va_end(ap);
	exit(code);
}
