/* smtpd dispatch: the command table. A command is a verb of letters, then
 * nothing or one space and the argument; NUL bytes are refused (RFC 5321 forbids
 * them in commands). Unknown verbs count as bad commands; an HTTP request
 * (a browser or proxy abused to talk to us) ends the session at once. */
#include "smtpd.h"

#include <string.h>
#include <strings.h>

struct command {
	const char *verb;
	void (*fn)(struct session *s, const char *arg, size_t len);
};

static const struct command commands[] = {
	{ "EHLO", cmd_ehlo }, { "HELO", cmd_helo }, { "MAIL", cmd_mail },
	{ "RCPT", cmd_rcpt }, { "DATA", cmd_data }, { "BDAT", cmd_bdat },
	{ "RSET", cmd_rset }, { "NOOP", cmd_noop }, { "QUIT", cmd_quit },
	{ "HELP", cmd_help }, { "VRFY", cmd_vrfy }, { "EXPN", cmd_expn },
	{ "STARTTLS", cmd_starttls }, { "AUTH", cmd_auth },
};

void dispatch_command(struct session *s, const char *line, size_t len)
{
	if (memchr(line, '\0', len)) {
		reply_bad(s, "500 5.5.2 NUL byte in command refused");
		return;
	}
	size_t v = 0;
	while (v < len && line[v] != ' ')
		v++;
	const char *arg = v < len ? line + v + 1 : line + len;
	size_t alen = v < len ? len - v - 1 : 0;
	for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++) {
		if (strlen(commands[i].verb) == v && strncasecmp(commands[i].verb, line, v) == 0) {
			commands[i].fn(s, arg, alen);
			return;
		}
	}
	if ((v == 4 && strncmp(line, "POST", 4) == 0) || (v == 3 && strncmp(line, "GET", 3) == 0) ||
	    (v == 7 && strncmp(line, "CONNECT", 7) == 0)) {
		reply(s, "421 4.7.0 %s This is an SMTP server, closing", buf_cstr(&s->me));
		session_end(s, "HTTP request");
	}
	reply_bad(s, "500 5.5.2 Command unrecognized");
}
