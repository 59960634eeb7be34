/* smtpd STARTTLS (RFC 3207). Input already buffered when the command arrives
 * was sent in plaintext and would be taken as if it came inside TLS (the
 * CVE-2011-0411 injection): such a session is refused and closed. After the
 * handshake all earlier state is forgotten, as RFC 3207 4.2 requires. */
#include "smtpd.h"

#include "io.h"
#include "log.h"
#include "tls.h"

void cmd_starttls(struct session *s, const char *arg, size_t len)
{
	struct buf err = BUF_INIT;
	if (len) {
		reply_bad(s, "501 5.5.4 Syntax: STARTTLS");
		return;
	}
	if (!s->tls_ctx && !s->tls_offer) {
		reply_error(s, "502 5.5.1 STARTTLS not available");
		return;
	}
	if (s->tls) {
		reply_error(s, "503 5.5.1 TLS already active");
		return;
	}
	if (smtpd_tls_ctx(s) < 0) {
		reply_error(s, "454 4.7.0 TLS not available due to temporary reason");
		return;
	}
	if (io_has_buffered_input(s->io)) {
		reply(s, "554 5.5.1 Commands pipelined after STARTTLS refused");
		session_end(s, "STARTTLS with pipelined input");
	}
	reply(s, "220 2.0.0 Ready to start TLS");
	if (tls_io_start(s->io, s->tls_ctx, TLS_SERVER, NULL, &err) != IO_OK) {
		log_info("smtp tls failed ip=%s: %s", s->ip, buf_cstr(&err));
		buf_free(&err);
		session_end(s, "TLS handshake failed");
	}
	s->tls = 1;
	s->esmtp = 0;
	buf_reset(&s->helo);
	txn_reset(s);
}
