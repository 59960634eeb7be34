/* addr: RFC 5321 path and mailbox parsing, canonical form, formatting.
 *
 * Trusts nothing in its input: every byte is checked against the RFC 5321
 * (and RFC 6531) grammar, every length against the 4.5.3.1 limits, and
 * domain labels that are not plain LDH go through libidn2. */
#include "addr.h"
#include "utf8.h"

#include <arpa/inet.h>
#include <idn2.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

void addr_init(struct addr *a)
{
	buf_init(&a->local);
	buf_init(&a->domain);
	buf_init(&a->domain_u);
	a->is_null = a->is_literal = a->local_utf8 = a->had_route = 0;
}

void addr_free(struct addr *a)
{
	buf_free(&a->local);
	buf_free(&a->domain);
	buf_free(&a->domain_u);
	addr_init(a);
}

static void addr_reset(struct addr *a)
{
	buf_reset(&a->local);
	buf_reset(&a->domain);
	buf_reset(&a->domain_u);
	a->is_null = a->is_literal = a->local_utf8 = a->had_route = 0;
}

/* ---- character classes ---- */

static int is_alnum(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c >= '0' && c <= '9');
}

/* RFC 5321 atext; bytes >= 0x80 count too (RFC 6531), checked elsewhere. */
static int is_atext(unsigned char c)
{
	return is_alnum(c) || c >= 0x80 || (c && strchr("!#$%&'*+-/=?^_`{|}~", c));
}

static int is_ctl(unsigned char c)
{
	return c < 0x20 || c == 0x7f;
}

static unsigned char lower(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') ? (unsigned char)(c + 32) : c;
}

static int has_ctl(const unsigned char *s, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (is_ctl(s[i]))
			return 1;
	return 0;
}

/* ---- local part ---- */

/* Dot-string: atoms of atext separated by single dots. Stops at '@' or end;
 * *n is the length consumed. */
static enum addr_err parse_dot_string(const unsigned char *s, size_t len,
				      struct buf *val, size_t *n)
{
	size_t i = 0, atom = 0;
	for (; i < len && s[i] != '@'; i++) {
		if (s[i] == '.') {
			if (atom == 0)
				return ADDR_ERR_LOCAL_SYNTAX;
			atom = 0;
		} else if (is_atext(s[i])) {
			atom++;
		} else {
			return ADDR_ERR_LOCAL_SYNTAX;
		}
	}
	if (atom == 0) /* empty, or a trailing dot */
		return ADDR_ERR_LOCAL_SYNTAX;
	buf_append(val, s, i);
	*n = i;
	return ADDR_OK;
}

/* Quoted-string starting at s[0] == '"': qtextSMTP and quoted-pairSMTP
 * (a backslash and one printable ASCII byte). */
static enum addr_err parse_quoted(const unsigned char *s, size_t len,
				  struct buf *val, size_t *n)
{
	for (size_t i = 1; i < len; i++) {
		unsigned char c = s[i];
		if (c == '"') {
			*n = i + 1;
			return ADDR_OK;
		}
		if (c == '\\') {
			if (i + 1 >= len)
				return ADDR_ERR_QUOTE;
			c = s[++i];
			if (c < 0x20 || c > 0x7e)
				return ADDR_ERR_LOCAL_SYNTAX;
		} else if (is_ctl(c)) {
			return ADDR_ERR_LOCAL_SYNTAX;
		}
		buf_append_char(val, (char)c);
	}
	return ADDR_ERR_QUOTE;
}

static enum addr_err parse_local(const unsigned char *s, size_t len,
				 unsigned flags, struct addr *out, size_t *n)
{
	enum addr_err e = (len && s[0] == '"') ? parse_quoted(s, len, &out->local, n)
					       : parse_dot_string(s, len, &out->local, n);
	if (e != ADDR_OK)
		return e;
	if (!utf8_is_ascii(out->local.data, out->local.len)) {
		if (!(flags & ADDR_SMTPUTF8))
			return ADDR_ERR_8BIT;
		if (!utf8_valid(out->local.data, out->local.len))
			return ADDR_ERR_UTF8;
		out->local_utf8 = 1;
	}
	if (*n > ADDR_MAX_LOCAL)
		return ADDR_ERR_LOCAL_TOO_LONG;
	return ADDR_OK;
}

/* ---- domain ---- */

/* An LDH label (RFC 5321 sub-domain), lowercased onto ace. */
static enum addr_err ldh_label(const unsigned char *s, size_t len, struct buf *ace)
{
	if (len > ADDR_MAX_LABEL)
		return ADDR_ERR_LABEL_TOO_LONG;
	if (s[0] == '-' || s[len - 1] == '-')
		return ADDR_ERR_DOMAIN_SYNTAX;
	for (size_t i = 0; i < len; i++) {
		if (!is_alnum(s[i]) && s[i] != '-')
			return ADDR_ERR_DOMAIN_SYNTAX;
		buf_append_char(ace, (char)lower(s[i]));
	}
	return ADDR_OK;
}

/* A U-label, or an A-label to verify: libidn2 maps, checks and encodes it
 * (IDNA2008 with the UTS #46 non-transitional mapping). */
static enum addr_err idna_label(const unsigned char *s, size_t len, struct buf *ace)
{
	char tmp[ADDR_MAX_DOMAIN + 1]; /* the whole domain fits, so does a label */
	memcpy(tmp, s, len);
	tmp[len] = '\0';
	uint8_t *res = NULL;
	int rc = idn2_lookup_u8((const uint8_t *)tmp, &res,
				IDN2_NONTRANSITIONAL | IDN2_NFC_INPUT);
	if (rc != IDN2_OK) {
		free(res);
		return rc == IDN2_TOO_BIG_LABEL ? ADDR_ERR_LABEL_TOO_LONG : ADDR_ERR_IDNA;
	}
	size_t rlen = strlen((char *)res);
	enum addr_err e = ADDR_ERR_IDNA;
	/* a mapped full stop (U+3002...) would smuggle in a second label */
	if (rlen > 0 && !memchr(res, '.', rlen))
		e = ldh_label(res, rlen, ace);
	free(res);
	return e == ADDR_ERR_DOMAIN_SYNTAX ? ADDR_ERR_IDNA : e;
}

static int is_a_label(const unsigned char *s, size_t len)
{
	return len >= 4 && lower(s[0]) == 'x' && lower(s[1]) == 'n' &&
	       s[2] == '-' && s[3] == '-';
}

static enum addr_err domain_label(const unsigned char *s, size_t len,
				  unsigned flags, struct buf *ace, int *idna)
{
	if (len == 0)
		return ADDR_ERR_DOMAIN_SYNTAX;
	if (!utf8_is_ascii(s, len)) {
		if (!(flags & ADDR_SMTPUTF8))
			return ADDR_ERR_8BIT;
		if (!utf8_valid(s, len))
			return ADDR_ERR_UTF8;
		*idna = 1;
		return idna_label(s, len, ace);
	}
	if (is_a_label(s, len)) {
		enum addr_err e = ldh_label(s, len, ace);
		if (e != ADDR_OK)
			return e == ADDR_ERR_DOMAIN_SYNTAX ? ADDR_ERR_IDNA : e;
		buf_truncate(ace, ace->len - len);
		*idna = 1;
		return idna_label(s, len, ace);
	}
	return ldh_label(s, len, ace);
}

/* The U-label form for display; the A-label form if libidn2 declines. */
static void domain_to_unicode(const struct buf *ace, struct buf *u)
{
	char *res = NULL;
	buf_reset(u);
	if (idn2_to_unicode_8z8z(ace->data, &res, 0) == IDN2_OK && res)
		buf_append_str(u, res);
	else
		buf_append_buf(u, ace);
	free(res);
}

/* "[1.2.3.4]" or "[IPv6:...]", rewritten in inet_ntop's normal form. */
static enum addr_err parse_literal(const char *s, size_t len, struct buf *ace)
{
	char tmp[ADDR_MAX_DOMAIN + 1], txt[INET6_ADDRSTRLEN];
	unsigned char bin[16];
	if (len < 3 || s[len - 1] != ']')
		return ADDR_ERR_LITERAL;
	memcpy(tmp, s + 1, len - 2);
	tmp[len - 2] = '\0'; /* the caller refused NUL bytes */
	if (strncasecmp(tmp, "IPv6:", 5) == 0) {
		if (inet_pton(AF_INET6, tmp + 5, bin) != 1 ||
		    !inet_ntop(AF_INET6, bin, txt, sizeof txt))
			return ADDR_ERR_LITERAL;
		buf_printf(ace, "[IPv6:%s]", txt);
		return ADDR_OK;
	}
	/* a General-address-literal's tag has no standard meaning: refuse */
	if (inet_pton(AF_INET, tmp, bin) != 1 || !inet_ntop(AF_INET, bin, txt, sizeof txt))
		return ADDR_ERR_LITERAL;
	buf_printf(ace, "[%s]", txt);
	return ADDR_OK;
}

static enum addr_err parse_domain_into(const char *s, size_t len, unsigned flags,
				       struct buf *ace, int *literal, int *idna)
{
	const unsigned char *u = (const unsigned char *)s;
	if (len == 0)
		return ADDR_ERR_DOMAIN_SYNTAX;
	if (len > ADDR_MAX_DOMAIN)
		return ADDR_ERR_DOMAIN_TOO_LONG;
	if (has_ctl(u, len))
		return ADDR_ERR_CONTROL;
	if (s[0] == '[') {
		*literal = 1;
		return parse_literal(s, len, ace);
	}
	if (len > 1 && s[len - 1] == '.')
		return ADDR_ERR_TRAILING_DOT;
	size_t start = 0;
	for (size_t i = 0; i <= len; i++) {
		if (i < len && s[i] != '.')
			continue;
		if (start)
			buf_append_char(ace, '.');
		enum addr_err e = domain_label(u + start, i - start, flags, ace, idna);
		if (e != ADDR_OK)
			return e;
		start = i + 1;
	}
	return ace->len > ADDR_MAX_DOMAIN ? ADDR_ERR_DOMAIN_TOO_LONG : ADDR_OK;
}

enum addr_err addr_parse_domain(const char *s, size_t len, unsigned flags,
				struct buf *ace, struct buf *u)
{
	int literal = 0, idna = 0;
	buf_reset(ace);
	enum addr_err e = parse_domain_into(s, len, flags, ace, &literal, &idna);
	if (e != ADDR_OK) {
		buf_reset(ace);
		return e;
	}
	if (u && idna)
		domain_to_unicode(ace, u);
	else if (u)
		buf_set(u, ace->data, ace->len);
	return ADDR_OK;
}

/* ---- mailbox and path ---- */

static int is_postmaster(const struct buf *local)
{
	return buf_eq_str_nocase(local, "postmaster");
}

/* local-part ["@" domain]: all of s. */
static enum addr_err parse_mailbox_inner(const char *s, size_t len, unsigned flags,
					 struct addr *out)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t n = 0;
	if (has_ctl(u, len))
		return ADDR_ERR_CONTROL;
	enum addr_err e = parse_local(u, len, flags, out, &n);
	if (e != ADDR_OK)
		return e;
	if (n == len) {
		if ((flags & ADDR_ALLOW_NODOMAIN) ||
		    ((flags & ADDR_ALLOW_POSTMASTER) && is_postmaster(&out->local)))
			return ADDR_OK;
		return ADDR_ERR_NO_DOMAIN;
	}
	if (s[n] != '@')
		return ADDR_ERR_LOCAL_SYNTAX;
	int idna = 0;
	e = parse_domain_into(s + n + 1, len - n - 1, flags, &out->domain,
			      &out->is_literal, &idna);
	if (e != ADDR_OK)
		return e;
	if (idna)
		domain_to_unicode(&out->domain, &out->domain_u);
	else
		buf_append_buf(&out->domain_u, &out->domain);
	return ADDR_OK;
}

/* A-d-l ":" at the start of s (s[0] == '@'): each At-domain is checked,
 * then forgotten. *n is the length up to and including the colon. */
static enum addr_err skip_route(const char *s, size_t len, unsigned flags, size_t *n)
{
	struct buf scratch = BUF_INIT;
	enum addr_err e = ADDR_ERR_ROUTE;
	size_t i = 0;
	while (i < len && s[i] == '@') {
		size_t j = i + 1;
		while (j < len && s[j] != ',' && s[j] != ':')
			j++;
		if (j == len || addr_parse_domain(s + i + 1, j - i - 1, flags,
						  &scratch, NULL) != ADDR_OK)
			break;
		if (s[j] == ':') {
			*n = j + 1;
			e = ADDR_OK;
			break;
		}
		i = j + 1;
	}
	buf_free(&scratch);
	return e;
}

/* Index of the '>' closing a path whose '<' is at start, or -1 with *e set.
 * Quoted strings may hold '>'. */
static long find_path_end(const char *s, size_t len, size_t start, enum addr_err *e)
{
	int quoted = 0;
	for (size_t i = start + 1; i < len; i++) {
		if (quoted && s[i] == '\\')
			i++;
		else if (s[i] == '"')
			quoted = !quoted;
		else if (!quoted && s[i] == '>')
			return (long)i;
	}
	*e = quoted ? ADDR_ERR_QUOTE : ADDR_ERR_SYNTAX;
	return -1;
}

/* What follows the '>' at end: nothing, or SP and parameters. */
static enum addr_err path_rest(const char *arg, size_t len, size_t end, size_t *rest)
{
	size_t i = end + 1;
	if (i < len && arg[i] != ' ')
		return ADDR_ERR_TRAILING;
	while (i < len && arg[i] == ' ')
		i++;
	if (!rest)
		return i == len ? ADDR_OK : ADDR_ERR_TRAILING;
	*rest = i;
	return ADDR_OK;
}

/* The inside of "<...>": null path, optional route, mailbox. */
static enum addr_err parse_path_inner(const char *s, size_t len, unsigned flags,
				      struct addr *out)
{
	if (len == 0) {
		if (!(flags & ADDR_ALLOW_NULL))
			return ADDR_ERR_NULL;
		out->is_null = 1;
		return ADDR_OK;
	}
	size_t skip = 0;
	if (s[0] == '@') {
		enum addr_err e = skip_route(s, len, flags, &skip);
		if (e != ADDR_OK)
			return e;
		if (skip == len)
			return ADDR_ERR_ROUTE;
		out->had_route = 1;
	}
	return parse_mailbox_inner(s + skip, len - skip, flags, out);
}

/* The canonical form (A-labels, minimal quoting) can be longer than what was
 * written (U-labels): it must fit in a path too, or the address we hand on
 * would be refused when parsed again (found by fuzz/addr). */
static enum addr_err check_canonical_len(const struct addr *a)
{
	struct buf tmp = BUF_INIT;
	addr_format(&tmp, a, ADDR_FMT_ANGLE);
	size_t n = tmp.len;
	buf_free(&tmp);
	return n > ADDR_MAX_PATH ? ADDR_ERR_PATH_TOO_LONG : ADDR_OK;
}

enum addr_err addr_parse_path(const char *arg, size_t len, unsigned flags,
			      struct addr *out, size_t *rest)
{
	enum addr_err e = ADDR_ERR_SYNTAX;
	addr_reset(out);
	if (len == 0)
		return ADDR_ERR_SYNTAX;
	if (memchr(arg, '\0', len) || memchr(arg, '\r', len) || memchr(arg, '\n', len))
		return ADDR_ERR_CONTROL;
	size_t start = 0;
	while (start < len && arg[start] == ' ')
		start++;
	if (start == len || arg[start] != '<')
		return ADDR_ERR_SYNTAX;
	long end = find_path_end(arg, len, start, &e);
	if (end < 0)
		return e;
	e = parse_path_inner(arg + start + 1, (size_t)end - start - 1, flags, out);
	if (e == ADDR_OK && (size_t)end - start + 1 > ADDR_MAX_PATH)
		e = ADDR_ERR_PATH_TOO_LONG;
	if (e == ADDR_OK)
		e = check_canonical_len(out);
	if (e == ADDR_OK)
		e = path_rest(arg, len, (size_t)end, rest);
	if (e != ADDR_OK)
		addr_reset(out);
	return e;
}

enum addr_err addr_parse_mailbox(const char *s, size_t len, unsigned flags,
				 struct addr *out)
{
	addr_reset(out);
	enum addr_err e = parse_mailbox_inner(s, len, flags, out);
	if (e == ADDR_OK && len > ADDR_MAX_PATH - 2)
		e = ADDR_ERR_PATH_TOO_LONG;
	if (e == ADDR_OK)
		e = check_canonical_len(out);
	if (e != ADDR_OK)
		addr_reset(out);
	return e;
}

/* ---- errors ---- */

static const char *const addr_err_text[] = {
	[ADDR_OK] = "OK",
	[ADDR_ERR_SYNTAX] = "Syntax error in address (expected <local@domain>)",
	[ADDR_ERR_TRAILING] = "Unexpected text after address",
	[ADDR_ERR_CONTROL] = "Control character in address",
	[ADDR_ERR_QUOTE] = "Unterminated quoted string in address",
	[ADDR_ERR_LOCAL_SYNTAX] = "Syntax error in local part of address",
	[ADDR_ERR_DOMAIN_SYNTAX] = "Syntax error in domain of address",
	[ADDR_ERR_TRAILING_DOT] = "Domain of address ends with a dot",
	[ADDR_ERR_LITERAL] = "Invalid address literal",
	[ADDR_ERR_ROUTE] = "Syntax error in source route",
	[ADDR_ERR_IDNA] = "Domain is not a valid internationalized domain name",
	[ADDR_ERR_8BIT] = "Non-ASCII address requires SMTPUTF8",
	[ADDR_ERR_UTF8] = "Invalid UTF-8 in address",
	[ADDR_ERR_NULL] = "Null address not allowed here",
	[ADDR_ERR_NO_DOMAIN] = "Address has no domain",
	[ADDR_ERR_LOCAL_TOO_LONG] = "Local part too long (max 64 octets)",
	[ADDR_ERR_DOMAIN_TOO_LONG] = "Domain too long (max 255 octets)",
	[ADDR_ERR_LABEL_TOO_LONG] = "Domain label too long (max 63 octets)",
	[ADDR_ERR_PATH_TOO_LONG] = "Path too long (max 256 octets)",
};

const char *addr_strerror(enum addr_err e)
{
	if ((size_t)e >= sizeof addr_err_text / sizeof addr_err_text[0] ||
	    !addr_err_text[e])
		return "Invalid address";
	return addr_err_text[e];
}

int addr_err_code(enum addr_err e)
{
	return (e == ADDR_ERR_8BIT || e == ADDR_ERR_IDNA) ? 553 : 501;
}

/* ---- formatting, comparison, splitting ---- */

static int is_dot_string(const char *v, size_t len)
{
	struct buf scratch = BUF_INIT;
	size_t n = 0;
	enum addr_err e = parse_dot_string((const unsigned char *)v, len, &scratch, &n);
	buf_free(&scratch);
	return e == ADDR_OK && n == len;
}

void addr_quote_local(struct buf *out, const char *v, size_t len)
{
	if (is_dot_string(v, len)) {
		buf_append(out, v, len);
		return;
	}
	buf_append_char(out, '"');
	for (size_t i = 0; i < len; i++) {
		if (v[i] == '"' || v[i] == '\\')
			buf_append_char(out, '\\');
		buf_append_char(out, v[i]);
	}
	buf_append_char(out, '"');
}

void addr_format(struct buf *out, const struct addr *a, unsigned how)
{
	if (how & ADDR_FMT_ANGLE)
		buf_append_char(out, '<');
	if (!a->is_null) {
		addr_quote_local(out, a->local.data, a->local.len);
		const struct buf *d = (how & ADDR_FMT_UNICODE) ? &a->domain_u : &a->domain;
		if (a->domain.len) {
			buf_append_char(out, '@');
			buf_append_buf(out, d);
		}
	}
	if (how & ADDR_FMT_ANGLE)
		buf_append_char(out, '>');
}

static int mem_eq(const struct buf *a, const struct buf *b, int nocase)
{
	if (a->len != b->len)
		return 0;
	for (size_t i = 0; i < a->len; i++) {
		unsigned char x = (unsigned char)a->data[i], y = (unsigned char)b->data[i];
		if (nocase ? lower(x) != lower(y) : x != y)
			return 0;
	}
	return 1;
}

int addr_eq(const struct addr *a, const struct addr *b, int local_nocase)
{
	if (a->is_null || b->is_null)
		return a->is_null == b->is_null;
	return mem_eq(&a->domain, &b->domain, 0) &&
	       mem_eq(&a->local, &b->local, local_nocase);
}

int addr_split(const char *s, size_t len, struct addr_span *local,
	       struct addr_span *domain)
{
	int quoted = 0;
	size_t at = len;
	for (size_t i = 0; i < len; i++) {
		if (quoted && s[i] == '\\')
			i++;
		else if (s[i] == '"')
			quoted = !quoted;
		else if (!quoted && s[i] == '@')
			at = i;
	}
	local->p = s;
	local->len = at;
	domain->p = len ? s + len : s; /* s may be NULL when empty (a struct buf) */
	domain->len = 0;
	if (at == len)
		return -1;
	domain->p = s + at + 1;
	domain->len = len - at - 1;
	return 0;
}

int addr_split_ext(const char *local, size_t len, const char *delims,
		   struct addr_span *user, struct addr_span *ext)
{
	user->p = local;
	user->len = len;
	ext->p = len ? local + len : local; /* local may be NULL when empty */
	ext->len = 0;
	if (!delims || !*delims)
		return 0;
	for (size_t i = 1; i < len; i++) {
		if (local[i] && strchr(delims, local[i])) {
			user->len = i;
			ext->p = local + i + 1;
			ext->len = len - i - 1;
			return 1;
		}
	}
	return 0;
}
