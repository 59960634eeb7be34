/* sendmail: the envelope, the site's names and address parsing.
 * Addresses come from the invoking user (command line, headers, SMTP -bs) and
 * are checked by lib/addr and lib/addrlist before submit checks them again. */
#include "sendmail.h"
#include "alloc.h"
#include "config.h"

#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char *progname = "sendmail";

const char *sm_progname(void) { return progname; }
void sm_set_progname(const char *name) { progname = name; }

static void vwarn(const char *fmt, va_list ap)
{
	struct buf line = BUF_INIT;
	buf_printf(&line, "%s: ", progname);
	buf_vprintf(&line, fmt, ap);
	buf_append_char(&line, '\n');
	fwrite(line.data, 1, line.len, stderr);
	fflush(stderr);
	buf_free(&line);
}

void sm_warn(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vwarn(fmt, ap);
	va_end(ap);
}

_Noreturn void sm_die(int code, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vwarn(fmt, ap);
	va_end(ap);
	exit(code);
}

void sm_env_init(struct sm_env *e)
{
	memset(e, 0, sizeof *e);
}

void sm_env_reset(struct sm_env *e)
{
	free(e->sender);
	free(e->envid);
	free(e->notify);
	for (size_t i = 0; i < e->nrcpt; i++) {
		free(e->rcpts[i].addr);
		free(e->rcpts[i].notify);
		free(e->rcpts[i].orcpt);
	}
	e->sender = e->envid = NULL;
	e->sender_given = e->smtputf8 = 0;
	e->body = e->ret = NULL;
	e->notify = NULL;
	e->nrcpt = 0;
}

void sm_env_free(struct sm_env *e)
{
	sm_env_reset(e);
	free(e->rcpts);
	memset(e, 0, sizeof *e);
}

void sm_env_add(struct sm_env *e, const char *addr, const char *notify, const char *orcpt)
{
	if (e->nrcpt == e->cap) {
		size_t cap = e->cap ? e->cap * 2 : 8;
		e->rcpts = xreallocarray(e->rcpts, cap, sizeof *e->rcpts);
		e->cap = cap;
	}
	struct sm_rcpt *r = &e->rcpts[e->nrcpt++];
	r->addr = xstrdup(addr);
	r->notify = xstrdup(notify ? notify : "");
	r->orcpt = xstrdup(orcpt ? orcpt : "");
}

struct dup_key {
	const char *addr;
	size_t idx;
};

static int dup_cmp(const void *a, const void *b)
{
	const struct dup_key *x = a, *y = b;
	int c = strcmp(x->addr, y->addr);
	if (c)
		return c;
	return x->idx < y->idx ? -1 : x->idx > y->idx;
}

/* Sort a copy of the keys, mark later copies of an address, compact in order:
 * O(n log n), the first occurrence (and its NOTIFY) wins. */
void sm_env_dedup(struct sm_env *e)
{
	if (e->nrcpt < 2)
		return;
	struct dup_key *k = xreallocarray(NULL, e->nrcpt, sizeof *k);
	char *drop = xcalloc(e->nrcpt, 1);
	for (size_t i = 0; i < e->nrcpt; i++)
		k[i] = (struct dup_key){ e->rcpts[i].addr, i };
	qsort(k, e->nrcpt, sizeof *k, dup_cmp);
	for (size_t i = 1; i < e->nrcpt; i++)
		if (strcmp(k[i].addr, k[i - 1].addr) == 0)
			drop[k[i].idx] = 1;
	size_t n = 0;
	for (size_t i = 0; i < e->nrcpt; i++) {
		if (drop[i]) {
			free(e->rcpts[i].addr);
			free(e->rcpts[i].notify);
			free(e->rcpts[i].orcpt);
		} else {
			e->rcpts[n++] = e->rcpts[i];
		}
	}
	e->nrcpt = n;
	free(k);
	free(drop);
}

static void gecos_name(struct buf *out, const char *gecos, const char *login)
{
	for (; *gecos && *gecos != ','; gecos++) {
		if (*gecos != '&') {
			buf_append_char(out, *gecos);
			continue;
		}
		size_t at = out->len;
		buf_append_str(out, login);  /* '&' is the login, capitalised */
		if (out->len > at && out->data[at] >= 'a' && out->data[at] <= 'z')
			out->data[at] = (char)(out->data[at] - 'a' + 'A');
	}
}

void sm_site_load(struct sm_site *s)
{
	struct buf err = BUF_INIT, dom = BUF_INIT;
	memset(s, 0, sizeof *s);
	if (config_me(&s->me, &err) < 0)
		sm_die(SM_EX_CONFIG, "%s", buf_cstr(&err));
	if (config_get_string("defaultdomain", buf_cstr(&s->me), &dom, &err) < 0)
		sm_die(SM_EX_CONFIG, "%s", buf_cstr(&err));
	if (addr_parse_domain(dom.data, dom.len, 0, &s->domain, NULL) != ADDR_OK)
		sm_die(SM_EX_CONFIG, "bad default domain \"%s\" (me or defaultdomain)",
		       buf_cstr(&dom));
	s->uid = getuid();
	struct passwd *pw = getpwuid(s->uid);
	if (pw == NULL)
		sm_die(SM_EX_NOUSER, "no passwd entry for uid %lu", (unsigned long)s->uid);
	buf_set_str(&s->login, pw->pw_name);
	gecos_name(&s->gecos, pw->pw_gecos ? pw->pw_gecos : "", pw->pw_name);
	buf_free(&dom);
	buf_free(&err);
}

void sm_site_free(struct sm_site *s)
{
	buf_free(&s->me);
	buf_free(&s->domain);
	buf_free(&s->login);
	buf_free(&s->gecos);
}

void sm_qualify(const struct sm_site *site, const struct addr *a, struct buf *out, int *utf8)
{
	buf_reset(out);
	if (a->domain.len == 0) {
		addr_quote_local(out, a->local.data ? a->local.data : "", a->local.len);
		buf_append_char(out, '@');
		buf_append(out, site->domain.data, site->domain.len);
	} else {
		addr_format(out, a, 0);
	}
	if (a->local_utf8 && utf8)
		*utf8 = 1;
}

static int add_one(const struct sm_site *site, struct sm_env *e, const struct addr *a,
		   const char *notify, struct buf *err)
{
	struct buf q = BUF_INIT;
	if (e->nrcpt >= SM_MAX_RCPTS) {
		buf_error(err, "too many recipients (max %u)", SM_MAX_RCPTS);
		return -1;
	}
	sm_qualify(site, a, &q, &e->smtputf8);
	sm_env_add(e, buf_cstr(&q), notify, "");
	buf_free(&q);
	return 0;
}

int sm_add_list(const struct sm_site *site, struct sm_env *e, const char *s, size_t len,
		const char *notify, struct buf *err)
{
	const unsigned aflags = ADDR_SMTPUTF8 | ADDR_ALLOW_NODOMAIN;
	struct addr a = ADDR_INIT;
	int rc = 0;
	/* a bare "user" or "user@host" first: an address list needs a domain */
	if (addr_parse_mailbox(s, len, aflags, &a) == ADDR_OK) {
		rc = add_one(site, e, &a, notify, err);
		addr_free(&a);
		return rc;
	}
	addr_free(&a);
	struct addrlist l = ADDRLIST_INIT;
	struct addrlist_error ae;
	struct addrlist_opts o = { SM_MAX_RCPTS, 0, aflags, 0 };
	if (addrlist_parse(s, len, &o, &l, &ae) != ADDRLIST_OK) {
		if (ae.code == ADDRLIST_ERR_ADDR)
			buf_error(err, "bad address: %s", addr_strerror(ae.addr_err));
		else
			buf_error(err, "bad address list: %s (at byte %zu)",
				  addrlist_strerror(ae.code), ae.offset);
		rc = -1;
	}
	for (size_t i = 0; rc == 0 && i < l.count; i++)
		rc = add_one(site, e, &l.items[i].addr, notify, err);
	addrlist_free(&l);
	return rc;
}

int sm_parse_sender(const struct sm_site *site, const char *s, struct sm_env *e,
		    struct buf *err)
{
	const unsigned aflags = ADDR_SMTPUTF8 | ADDR_ALLOW_NODOMAIN | ADDR_ALLOW_NULL;
	struct addr a = ADDR_INIT;
	struct buf q = BUF_INIT;
	size_t len = strlen(s);
	enum addr_err ae = s[0] == '<' ? addr_parse_path(s, len, aflags, &a, NULL)
				       : addr_parse_mailbox(s, len, aflags & ~ADDR_ALLOW_NULL, &a);
	if (len > 0 && ae != ADDR_OK) {
		buf_error(err, "bad sender address \"%s\": %s", s, addr_strerror(ae));
		addr_free(&a);
		return -1;
	}
	if (len > 0 && !a.is_null)
		sm_qualify(site, &a, &q, &e->smtputf8);
	free(e->sender);
	e->sender = buf_detach(&q);
	if (e->sender == NULL)
		e->sender = xstrdup("");
	e->sender_given = 1;
	addr_free(&a);
	buf_free(&q);
	return 0;
}
