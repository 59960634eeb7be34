/* dsn: RFC 3464 delivery status notifications (see dsn.h). */
#include "dsn.h"
#include "buf.h"
#include "date.h"

#include <stdio.h>
#include <string.h>
#include <sys/random.h>

static int status_valid(const char *s, size_t len)
{
	/* class "." subject(1-3 digits) "." detail(1-3 digits) */
	if (len < 5 || len > 9 || (s[0] != '2' && s[0] != '4' && s[0] != '5') || s[1] != '.')
		return 0;
	size_t i = 2, d = 0;
	for (; i < len && s[i] >= '0' && s[i] <= '9'; i++)
		d++;
	if (d < 1 || d > 3 || i >= len || s[i] != '.')
		return 0;
	size_t e = 0;
	for (i++; i < len && s[i] >= '0' && s[i] <= '9'; i++)
		e++;
	return e >= 1 && e <= 3 && i == len;
}

void dsn_status(const char *code, const char *text, struct buf *out)
{
	size_t len = strcspn(text, " ");
	if (status_valid(text, len) && text[0] == code[0]) {
		buf_append(out, text, len);
		return;
	}
	buf_append_str(out, code[0] == '2' ? "2.0.0" : code[0] == '4' ? "4.0.0" : "5.0.0");
}

static int has_item(const char *list, const char *item)
{
	size_t n = strlen(item);
	for (const char *p = list; *p;) {
		size_t len = strcspn(p, ",");
		if (len == n && strncmp(p, item, n) == 0)
			return 1;
		p += len;
		if (*p == ',')
			p++;
	}
	return 0;
}

int dsn_wanted(const char *notify, enum dsn_action action)
{
	if (has_item(notify, "NEVER"))
		return 0;
	switch (action) {
	case DSN_FAILED: return notify[0] == '\0' || has_item(notify, "FAILURE");
	case DSN_DELAYED: return notify[0] == '\0' || has_item(notify, "DELAY");
	default: return has_item(notify, "SUCCESS");
	}
}

static int clean(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return 0;
	return 1;
}

static const char *action_name(enum dsn_action a)
{
	static const char *const names[] = { "failed", "delayed", "delivered", "expanded",
					     "relayed" };
	return names[a];
}

/* Diagnostic text: printable ASCII only, bounded. */
static void append_text(struct buf *out, const char *s)
{
	size_t n = 0;
	for (; *s && n < DSN_MAX_TEXT; s++, n++)
		buf_append_char(out, (unsigned char)*s >= 0x20 && (unsigned char)*s < 0x7f ? *s : '?');
}

static void human_part(const struct dsn_report *r, const struct dsn_rcpt *rc, size_t n,
		       struct buf *out)
{
	buf_append_str(out, "Content-Type: text/plain; charset=us-ascii\n\n");
	buf_printf(out, "This is the mail system at %s.\n\n", r->reporting_mta);
	for (int a = DSN_FAILED; a <= DSN_RELAYED; a++) {
		int first = 1;
		for (size_t i = 0; i < n; i++) {
			if ((int)rc[i].action != a)
				continue;
			if (first)
				buf_append_str(out, a == DSN_FAILED ? "Your message could not be delivered to:\n"
						    : a == DSN_DELAYED ? "Delivery is delayed (still trying) for:\n"
						    : a == DSN_RELAYED ? "Your message was relayed, to a server "
									 "that sends no delivery notices, for:\n"
								       : "Your message was delivered to:\n");
			first = 0;
			buf_printf(out, "  <%s>: ", rc[i].addr);
			append_text(out, rc[i].code);
			buf_append_char(out, ' ');
			append_text(out, rc[i].text);
			buf_append_char(out, '\n');
		}
		if (!first)
			buf_append_char(out, '\n');
	}
}

/* The remote host of a reply as the remote module words it ("HOST[IP] said:
 * ..."), for Remote-MTA (RFC 3464 2.3.5); 0 if the text names none. */
static int remote_mta(const char *text, struct buf *host)
{
	const char *said = strstr(text, "] said: ");
	if (!said)
		return 0;
	const char *start = said;
	while (start > text && start[-1] != ' ')
		start--;
	const char *br = memchr(start, '[', (size_t)(said - start));
	if (!br || br == start)
		return 0;
	for (const char *p = start; p < br; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		      (*p >= '0' && *p <= '9') || *p == '.' || *p == '-' || *p == '_'))
			return 0;
	buf_set(host, start, (size_t)(br - start));
	return 1;
}

static void status_part(const struct dsn_report *r, const struct dsn_rcpt *rc, size_t n,
			struct buf *out)
{
	struct buf host = BUF_INIT;
	buf_append_str(out, "Content-Type: message/delivery-status\n\n");
	buf_printf(out, "Reporting-MTA: dns; %s\n", r->reporting_mta);
	if (r->envid && r->envid[0])
		buf_printf(out, "Original-Envelope-Id: %s\n", r->envid);
	buf_printf(out, "X-Estafette-Queue-ID: %s\nArrival-Date: ", r->qid);
	date_format_rfc5322(out, (time_t)r->arrival, DATE_ZONE_UTC);
	buf_append_char(out, '\n');
	for (size_t i = 0; i < n; i++) {
		buf_append_char(out, '\n');
		if (rc[i].orcpt && rc[i].orcpt[0])
			buf_printf(out, "Original-Recipient: %s\n", rc[i].orcpt);
		buf_printf(out, "Final-Recipient: rfc822; %s\nAction: %s\nStatus: ", rc[i].addr,
			   action_name(rc[i].action));
		dsn_status(rc[i].code, rc[i].text, out);
		if (remote_mta(rc[i].text, &host))
			buf_printf(out, "\nRemote-MTA: dns; %s", buf_cstr(&host));
		buf_append_str(out, "\nDiagnostic-Code: smtp; ");
		append_text(out, rc[i].code);
		buf_append_char(out, ' ');
		append_text(out, rc[i].text);
		buf_append_str(out, "\nLast-Attempt-Date: ");
		date_format_rfc5322(out, (time_t)rc[i].last_attempt, DATE_ZONE_UTC);
		buf_append_char(out, '\n');
		if (rc[i].action == DSN_DELAYED) {
			buf_append_str(out, "Will-Retry-Until: ");
			date_format_rfc5322(out, (time_t)r->now, DATE_ZONE_UTC);
			buf_append_char(out, '\n');
		}
	}
	buf_free(&host);
}

/* The header section's length, its blank line included (the whole text if none). */
static size_t header_len(const char *m, size_t len)
{
	if (len && m[0] == '\n')
		return 1;
	for (size_t i = 0; i + 1 < len; i++)
		if (m[i] == '\n' && m[i + 1] == '\n')
			return i + 2;
	return len;
}

static void original_part(const struct dsn_report *r, struct buf *out)
{
	int hdrs = r->ret_hdrs || r->original_len > r->max_full;
	buf_append_str(out, hdrs ? "Content-Type: text/rfc822-headers\n\n"
				 : "Content-Type: message/rfc822\n\n");
	size_t len = hdrs ? header_len(r->original, r->original_len) : r->original_len;
	buf_append(out, r->original, len);
	if (len && r->original[len - 1] != '\n')
		buf_append_char(out, '\n');
}

int dsn_format(const struct dsn_report *r, const struct dsn_rcpt *rc, size_t n,
	       struct buf *out, struct buf *err)
{
	if (n == 0 || n > DSN_MAX_RCPTS) {
		buf_error(err, "dsn: %zu recipients", n);
		return -1;
	}
	if (!clean(r->to) || !clean(r->reporting_mta) || !clean(r->qid) ||
	    (r->envid && !clean(r->envid))) {
		buf_error(err, "dsn: control bytes in a header value");
		return -1;
	}
	for (size_t i = 0; i < n; i++)
		if (!clean(rc[i].addr) || (rc[i].orcpt && !clean(rc[i].orcpt)) || !clean(rc[i].code)) {
			buf_error(err, "dsn: control bytes in a recipient");
			return -1;
		}
	/* the id goes into the boundary (70 bytes at most) and the Message-ID */
	size_t qlen = strlen(r->qid);
	if (qlen == 0 || qlen > 40 || strspn(r->qid, "0123456789ABCDEFabcdef") != qlen) {
		buf_error(err, "dsn: bad queue id");
		return -1;
	}
	unsigned char rnd[8] = { 0 };
	if (getrandom(rnd, sizeof rnd, 0) != (ssize_t)sizeof rnd)
		memcpy(rnd, &r->now, sizeof rnd);
	char bnd[64];
	snprintf(bnd, sizeof bnd, "=_%s.%02x%02x%02x%02x%02x%02x%02x%02x", r->qid, rnd[0], rnd[1],
		 rnd[2], rnd[3], rnd[4], rnd[5], rnd[6], rnd[7]);
	int failed = 0, delayed = 0;
	for (size_t i = 0; i < n; i++)
		failed |= rc[i].action == DSN_FAILED, delayed |= rc[i].action == DSN_DELAYED;
	buf_printf(out, "From: Mail Delivery System <MAILER-DAEMON@%s>\nTo: <%s>\nSubject: %s\n",
		   r->reporting_mta, r->to,
		   failed ? "Undelivered Mail Returned to Sender"
			  : delayed ? "Delayed Mail (still being retried)" : "Successful Mail Delivery Report");
	buf_append_str(out, "Date: ");
	date_format_rfc5322(out, (time_t)r->now, DATE_ZONE_UTC);
	buf_printf(out, "\nMessage-ID: <%s.dsn%s@%s>\n", r->qid, bnd + 2 + strlen(r->qid),
		   r->reporting_mta);
	buf_printf(out, "Auto-Submitted: auto-replied\nMIME-Version: 1.0\n"
			"Content-Type: multipart/report; report-type=delivery-status;\n"
			"\tboundary=\"%s\"\n\nThis is a MIME-encapsulated message.\n\n--%s\n", bnd, bnd);
	human_part(r, rc, n, out);
	buf_printf(out, "--%s\n", bnd);
	status_part(r, rc, n, out);
	buf_printf(out, "\n--%s\n", bnd);
	original_part(r, out);
	buf_printf(out, "\n--%s--\n", bnd);
	return 0;
}
