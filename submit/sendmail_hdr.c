/* sendmail: the header fields added to a message that lacks them (From:,
 * Date:, Message-ID:, RFC 5322 3.6). The full name comes from the user (-F
 * or the passwd file): it is written as an atom phrase, a quoted string or
 * RFC 2047 encoded words, never raw. */
#include "sendmail.h"
#include "base64.h"
#include "date.h"
#include "log.h"

#include <string.h>
#include <sys/random.h>
#include <time.h>

#define EW_BYTES 45 /* input bytes per encoded word: 60 base64 chars, under 75 */

static int atext_or_space(unsigned char c)
{
	if (c == ' ' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))
		return 1;
	return c != 0 && strchr("!#$%&'*+-/=?^_`{|}~", c) != NULL;
}

/* Encoded words of at most EW_BYTES bytes, split between UTF-8 sequences. */
static void encoded_words(struct buf *out, const char *s, size_t len)
{
	size_t i = 0;
	while (i < len) {
		size_t n = len - i > EW_BYTES ? EW_BYTES : len - i;
		while (n < len - i && n > 1 && ((unsigned char)s[i + n] & 0xc0) == 0x80)
			n--;
		if (i > 0)
			buf_append_char(out, ' ');
		buf_append_str(out, "=?UTF-8?B?");
		base64_encode(out, s + i, n, BASE64_NOWRAP);
		buf_append_str(out, "?=");
		i += n;
	}
}

void sm_header_phrase(struct buf *out, const char *name)
{
	struct buf clean = BUF_INIT;
	int atoms = 1, ascii = 1;
	for (const char *p = name; *p; p++) {
		unsigned char c = (unsigned char)*p;
		char k = (c < 0x20 || c == 0x7f) ? ' ' : (char)c;
		buf_append_char(&clean, k);
		if (c >= 0x80)
			ascii = 0;
		else if (!atext_or_space((unsigned char)k))
			atoms = 0;
	}
	const char *s = buf_cstr(&clean);
	if (!ascii) {
		encoded_words(out, s, clean.len);
	} else if (atoms && clean.len > 0 && s[0] != ' ' && s[clean.len - 1] != ' ' &&
		   !strstr(s, "  ")) {
		buf_append(out, s, clean.len);
	} else {
		buf_append_char(out, '"');
		for (; *s; s++) {
			if (*s == '"' || *s == '\\')
				buf_append_char(out, '\\');
			buf_append_char(out, *s);
		}
		buf_append_char(out, '"');
	}
	buf_free(&clean);
}

static void add_from(const struct sm_site *site, const struct sm_env *env,
		     const char *fullname, struct buf *out)
{
	const char *name = fullname ? fullname : site->gecos.data ? site->gecos.data : "";
	buf_append_str(out, "From: ");
	if (name[0]) {
		sm_header_phrase(out, name);
		buf_append_str(out, " <");
	}
	if (env->sender && env->sender[0]) {
		buf_append_str(out, env->sender);
	} else {
		addr_quote_local(out, site->login.data ? site->login.data : "", site->login.len);
		buf_append_char(out, '@');
		buf_append(out, site->domain.data, site->domain.len);
	}
	buf_append_str(out, name[0] ? ">\n" : "\n");
}

static void add_msgid(const struct sm_site *site, time_t now, struct buf *out)
{
	unsigned char r[8] = { 0 };
	size_t got = 0;
	while (got < sizeof r) {
		ssize_t n = getrandom(r + got, sizeof r - got, 0);
		if (n <= 0)
			log_fatal(SM_EX_TEMPFAIL, "getrandom failed");
		got += (size_t)n;
	}
	buf_printf(out, "Message-ID: <%lld.", (long long)now);
	for (size_t i = 0; i < sizeof r; i++)
		buf_printf(out, "%02x", r[i]);
	buf_append_char(out, '@');
	buf_append(out, site->me.data, site->me.len);
	buf_append_str(out, ">\n");
}

void sm_header_add_missing(const struct sm_site *site, const struct sm_env *env,
			   const char *fullname, int have_from, int have_date, int have_msgid,
			   struct buf *out)
{
	time_t now = time(NULL);
	if (!have_from)
		add_from(site, env, fullname, out);
	if (!have_date) {
		buf_append_str(out, "Date: ");
		if (date_format_rfc5322(out, now, DATE_ZONE_LOCAL) < 0)
			(void)date_format_rfc5322(out, now, DATE_ZONE_UTC);
		buf_append_char(out, '\n');
	}
	if (!have_msgid)
		add_msgid(site, now, out);
}
