/* submit: the Received: header (RFC 5321 4.4) prepended to every message.
 * The H values come from smtpd (or whoever runs submit) and could hold
 * anything printable: bytes that would break the header's syntax are
 * replaced by '?'. */
#include "submit.h"
#include "alloc.h"
#include "date.h"

#include <string.h>
#include <unistd.h>

/* Append v with every byte outside printable ASCII, or a comment delimiter,
 * as '?' (space kept when allow_space). */
static void clean(struct buf *out, const char *v, int allow_space)
{
	for (; *v; v++) {
		unsigned char c = (unsigned char)*v;
		int ok = c > 0x20 && c < 0x7f && c != '(' && c != ')' && c != '\\' && c != ';';
		buf_append_char(out, ok || (allow_space && c == ' ') ? (char)c : '?');
	}
}

/* "helo (host [ip]:port)" for the from clause and the control file's H. */
static void from_clause(struct submit *s, struct buf *out)
{
	clean(out, s->h[H_HELO] ? s->h[H_HELO] : "unknown", 0);
	if (!s->h[H_HOST] && !s->h[H_IP])
		return;
	buf_append_str(out, " (");
	if (s->h[H_HOST])
		clean(out, s->h[H_HOST], 0);
	if (s->h[H_HOST] && s->h[H_IP])
		buf_append_char(out, ' ');
	if (s->h[H_IP]) {
		buf_append_char(out, '[');
		clean(out, s->h[H_IP], 0);
		buf_append_char(out, ']');
		if (s->h[H_PORT]) {
			buf_append_char(out, ':');
			clean(out, s->h[H_PORT], 0);
		}
	}
	buf_append_char(out, ')');
}

void submit_received(struct submit *s, struct buf *out, time_t now)
{
	struct buf from = BUF_INIT;
	if (s->have_h) {
		from_clause(s, &from);
		buf_printf(out, "Received: from %s\n", buf_cstr(&from));
		if (s->h[H_TLS]) {
			buf_append_str(out, "\t(using ");
			clean(out, s->h[H_TLS], 1);
			buf_append_str(out, ")\n");
		}
		buf_append_str(out, "\tby ");
		clean(out, s->h[H_BY] ? s->h[H_BY] : buf_cstr(&s->me), 0);
		buf_append_str(out, " (estafette)");
		if (s->h[H_PROTO]) {
			buf_append_str(out, " with ");
			clean(out, s->h[H_PROTO], 0);
		}
		s->env.client = buf_detach(&from);
	} else {
		buf_printf(out, "Received: (from uid %lu)\n\tby ", (unsigned long)getuid());
		clean(out, buf_cstr(&s->me), 0);
		buf_append_str(out, " (estafette)");
	}
	buf_printf(out, " id %s", s->tx.id);
	if (s->env.nrcpt == 1)
		buf_printf(out, "\n\tfor <%s>", s->env.rcpts[0].addr);
	buf_append_str(out, "; ");
	if (date_format_rfc5322(out, now, DATE_ZONE_LOCAL) < 0)
		(void)date_format_rfc5322(out, 0, DATE_ZONE_UTC);
	buf_append_char(out, '\n');
	buf_free(&from);
}
