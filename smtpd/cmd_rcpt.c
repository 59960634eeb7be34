/* smtpd RCPT TO (RFC 5321 4.1.1.3) with NOTIFY and ORCPT (RFC 3461). Whether
 * the recipient is acceptable is policy.c's decision (policy_rcpt). */
#include "smtpd.h"

#include "addr.h"
#include "alloc.h"
#include "queue.h"
#include "utf8.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define MAX_PARAMS 8
#define MAX_ORCPT 500

static int rcpt_notify(struct session *s, const struct esmtp_param *p, struct buf *out)
{
	if (!p->val || p->vlen > 64) {
		reply_bad(s, "501 5.5.4 Bad NOTIFY");
		return -1;
	}
	buf_set(out, p->val, p->vlen);
	for (size_t i = 0; i < out->len; i++)
		if (out->data[i] >= 'a' && out->data[i] <= 'z')
			out->data[i] = (char)(out->data[i] - 'a' + 'A');
	if (!queue_notify_valid(out->data, out->len)) {
		reply_bad(s, "501 5.5.4 Bad NOTIFY");
		return -1;
	}
	return 0;
}

static int rcpt_orcpt(struct session *s, const struct esmtp_param *p, struct buf *out)
{
	if (!p->val || p->vlen > MAX_ORCPT || !queue_orcpt_valid(p->val, p->vlen)) {
		reply_bad(s, "501 5.5.4 Bad ORCPT");
		return -1;
	}
	buf_set(out, p->val, p->vlen);
	return 0;
}

static int rcpt_params(struct session *s, const char *p, size_t len, struct buf *notify,
		       struct buf *orcpt)
{
	struct esmtp_param ps[MAX_PARAMS];
	size_t n;
	int have_n = 0, have_o = 0;
	if (len && !s->esmtp) {
		reply_bad(s, "555 5.5.4 Parameters need EHLO");
		return -1;
	}
	if (params_split(p, len, ps, MAX_PARAMS, &n) < 0) {
		reply_bad(s, "555 5.5.4 Bad parameter syntax");
		return -1;
	}
	for (size_t i = 0; i < n; i++) {
		int *seen = param_is(&ps[i], "NOTIFY") ? &have_n : param_is(&ps[i], "ORCPT") ? &have_o : NULL;
		if (!seen) {
			reply_bad(s, "555 5.5.4 Unsupported parameter");
			return -1;
		}
		if ((*seen)++) {
			reply_bad(s, "501 5.5.4 Duplicate parameter");
			return -1;
		}
		if ((seen == &have_n ? rcpt_notify(s, &ps[i], notify) : rcpt_orcpt(s, &ps[i], orcpt)) < 0)
			return -1;
	}
	return 0;
}

static void rcpt_add(struct session *s, const struct buf *addr, struct buf *notify, struct buf *orcpt)
{
	struct txn *t = &s->txn;
	if (t->nrcpt == t->rcpt_cap) {
		t->rcpt_cap = t->rcpt_cap ? t->rcpt_cap * 2 : 8;
		t->rcpts = xreallocarray(t->rcpts, t->rcpt_cap, sizeof *t->rcpts);
	}
	struct rcpt *r = &t->rcpts[t->nrcpt++];
	r->addr = xmemdup(addr->data ? addr->data : "", addr->len);
	r->notify = xmemdup(notify->data ? notify->data : "", notify->len);
	r->orcpt = xmemdup(orcpt->data ? orcpt->data : "", orcpt->len);
}

static int rcpt_check_state(struct session *s)
{
	if (!s->txn.active) {
		reply_error(s, "503 5.5.1 Need MAIL before RCPT");
		return -1;
	}
	if (s->txn.bdat) {
		reply_error(s, "503 5.5.1 RCPT after BDAT");
		return -1;
	}
	if (s->txn.nrcpt >= s->conf->max_recipients) {
		reply_error(s, "452 4.5.3 Too many recipients");
		return -1;
	}
	return 0;
}

void cmd_rcpt(struct session *s, const char *arg, size_t len)
{
	struct addr a = ADDR_INIT;
	struct buf canon = BUF_INIT, notify = BUF_INIT, orcpt = BUF_INIT;
	size_t rest = 0;
	if (rcpt_check_state(s) < 0)
		return;
	if (len < 3 || strncasecmp(arg, "TO:", 3) != 0) {
		reply_bad(s, "501 5.5.4 Syntax: RCPT TO:<address>");
		return;
	}
	unsigned flags = ADDR_ALLOW_POSTMASTER | (s->txn.smtputf8 ? ADDR_SMTPUTF8 : 0);
	enum addr_err e = addr_parse_path(arg + 3, len - 3, flags, &a, &rest);
	if (e == ADDR_ERR_8BIT)
		reply_error(s, "553 5.6.7 Non-ASCII address needs SMTPUTF8");
	else if (e != ADDR_OK)
		reply_bad(s, "%d 5.1.3 Bad recipient address: %s", addr_err_code(e), addr_strerror(e));
	if (e != ADDR_OK || rcpt_params(s, arg + 3 + rest, len - 3 - rest, &notify, &orcpt) < 0)
		goto out;
	addr_format(&canon, &a, 0);
	if (policy_rcpt(s, &a, &canon) == 0) {
		rcpt_add(s, &canon, &notify, &orcpt);
		reply(s, "250 2.1.5 Ok");
	}
out:
	addr_free(&a);
	buf_free(&canon);
	buf_free(&notify);
	buf_free(&orcpt);
}
