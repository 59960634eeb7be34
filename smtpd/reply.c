/* smtpd replies: one CRLF-terminated line per call into the io's output buffer
 * (session.c flushes when no further input is waiting), error counting and the
 * tarpit. Reply texts are ours; client data never reaches them unescaped. */
#include "smtpd.h"

#include "io.h"

#include <errno.h>
#include <stdarg.h>
#include <time.h>

static void reply_v(struct session *s, const char *fmt, va_list ap)
{
	struct buf b = BUF_INIT;
	buf_vprintf(&b, fmt, ap);
	buf_append(&b, "\r\n", 2);
	io_write(s->io, b.data, b.len);
	buf_free(&b);
}

void reply(struct session *s, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	reply_v(s, fmt, ap);
	va_end(ap);
}

/* After max_errors errors each further one waits tarpit_delay seconds more
 * (capped at a minute), flushing first so the client sees earlier replies. */
static void tarpit(struct session *s)
{
	s->errors++;
	if (s->conf->tarpit_delay == 0 || s->errors <= s->conf->max_errors)
		return;
	uint64_t extra = s->errors - s->conf->max_errors;
	uint64_t secs = s->conf->tarpit_delay * (extra > 60 ? 60 : extra);
	if (secs > 60)
		secs = 60;
	io_flush(s->io);
	struct timespec ts = { (time_t)secs, 0 };
	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

void reply_error(struct session *s, const char *fmt, ...)
{
	va_list ap;
	tarpit(s);
	va_start(ap, fmt);
	reply_v(s, fmt, ap);
	va_end(ap);
}

void reply_bad(struct session *s, const char *fmt, ...)
{
	va_list ap;
	if (++s->bad_commands > s->conf->max_bad_commands) {
		reply(s, "421 4.7.0 %s Too many errors, closing connection", buf_cstr(&s->me));
		session_end(s, "too many errors");
	}
	tarpit(s);
	va_start(ap, fmt);
	reply_v(s, fmt, ap);
	va_end(ap);
}

const char *session_proto(const struct session *s)
{
	static const char *const names[2][2][2] = {
		{ { "ESMTP", "ESMTPA" }, { "ESMTPS", "ESMTPSA" } },
		{ { "UTF8SMTP", "UTF8SMTPA" }, { "UTF8SMTPS", "UTF8SMTPSA" } },
	};
	if (!s->esmtp)
		return "SMTP";
	return names[s->txn.smtputf8 != 0][s->tls != 0][s->authed != 0];
}
