/* submit: the input reader and the envelope part of the protocol.
 * Everything here comes from the caller and is checked before use. */
#include "submit.h"
#include "addr.h"
#include "alloc.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define CHUNK 65536

static int fill(struct submit_input *in)
{
	if (in->eof)
		return 0;
	if (in->pos > 0 && in->pos == in->b.len) {
		buf_reset(&in->b);
		in->pos = 0;
	}
	char *p = buf_space(&in->b, CHUNK);
	ssize_t n;
	do
		n = read(in->fd, p, CHUNK);
	while (n < 0 && errno == EINTR);
	if (n <= 0) {
		in->eof = 1;  /* a read error ends the input like EOF: abort */
		return 0;
	}
	buf_commit(&in->b, (size_t)n);
	return 1;
}

int submit_read_line(struct submit_input *in, struct buf *out, size_t max)
{
	size_t scanned = 0;
	for (;;) {
		const char *start = in->b.data ? in->b.data + in->pos : "";
		size_t avail = in->b.len - in->pos;
		const char *lf = avail > scanned ? memchr(start + scanned, '\n', avail - scanned) : NULL;
		if (lf) {
			size_t len = (size_t)(lf - start);
			if (len > max)
				return -1;
			buf_set(out, start, len);
			in->pos += len + 1;
			return 1;
		}
		scanned = avail;
		if (avail > max)
			return -1;
		if (in->pos > 0) { /* keep the partial line at the start */
			buf_consume(&in->b, in->pos);
			in->pos = 0;
		}
		if (!fill(in))
			return 0;
	}
}

int submit_input_done(struct submit_input *in)
{
	return in->pos == in->b.len && !fill(in);
}

size_t submit_read_some(struct submit_input *in, struct buf *out, size_t max)
{
	if (in->pos == in->b.len && !fill(in))
		return 0;
	size_t n = in->b.len - in->pos;
	if (n > max)
		n = max;
	buf_append(out, in->b.data + in->pos, n);
	in->pos += n;
	return n;
}

static const char *const hkeys[H_COUNT] = { "helo", "ip", "host", "port", "tls", "proto", "by" };


static void set_once(struct submit *s, char **slot, const char *v, size_t len)
{
	if (*slot)
		submit_fail(s, SUBMIT_EX_USAGE, "554 5.5.2 Duplicate envelope record");
	*slot = xmemdup(v, len);
}

static void env_h(struct submit *s, const char *v, size_t len)
{
	const char *eq = memchr(v, '=', len);
	int k = 0;
	while (eq && k < H_COUNT &&
	       !(strlen(hkeys[k]) == (size_t)(eq - v) && memcmp(hkeys[k], v, (size_t)(eq - v)) == 0))
		k++;
	if (eq == NULL || k == H_COUNT)
		submit_fail(s, SUBMIT_EX_USAGE, "554 5.5.2 Unknown H key");
	size_t vl = len - (size_t)(eq + 1 - v);
	if (vl > SUBMIT_MAX_HVALUE)
		submit_fail(s, SUBMIT_EX_USAGE, "554 5.5.2 H value too long");
	set_once(s, &s->h[k], eq + 1, vl);
	s->have_h = 1;
}

/* R<addr>[TAB<notify>[TAB<orcpt>]]: kept raw until the envelope is complete. */
static void env_r(struct submit *s, const char *v, size_t len)
{
	if (s->env.nrcpt >= s->lim.max_recipients)
		submit_fail(s, SUBMIT_EX_DATAERR, "554 5.5.3 Too many recipients (max %llu)",
			    (unsigned long long)s->lim.max_recipients);
	char *f[3] = { NULL, NULL, NULL };
	size_t i = 0, start = 0;
	for (size_t p = 0; p <= len; p++)
		if (p == len || v[p] == '\t') {
			if (i == 3)
				submit_fail(s, SUBMIT_EX_USAGE, "554 5.5.2 Too many fields in R");
			f[i++] = xmemdup(v + start, p - start);
			start = p + 1;
		}
	queue_env_add_rcpt(&s->env, f[0], f[1] ? f[1] : "", f[2] ? f[2] : "");
	for (i = 0; i < 3; i++)
		free(f[i]);
}

static void env_line(struct submit *s, const char *line, size_t len)
{
	const char *v = line + 1;
	size_t vl = len - 1;
	switch (line[0]) {
	case 'S': set_once(s, &s->env.sender, v, vl); break;
	case 'F': set_once(s, &s->env.source, v, vl); break;
	case 'E': set_once(s, &s->env.envid, v, vl); break;
	case 'N': set_once(s, &s->env.ret, v, vl); break;
	case 'B': set_once(s, &s->env.body, v, vl); break;
	case 'A': set_once(s, &s->env.auth, v, vl); break;
	case 'X': set_once(s, &s->env.verp, v, vl); break;
	case 'U':
		if (vl != 0 || s->env.smtputf8)
			submit_fail(s, SUBMIT_EX_USAGE, "554 5.5.2 Bad U record");
		s->env.smtputf8 = 1;
		break;
	case 'H': env_h(s, v, vl); break;
	case 'R': env_r(s, v, vl); break;
	default: submit_fail(s, SUBMIT_EX_USAGE, "554 5.5.2 Unknown envelope record");
	}
}

/* Canonical form of an address into *slot (replacing it); "" for <>. */
static int canon(char **slot, unsigned flags, enum addr_err *e)
{
	struct addr a = ADDR_INIT;
	struct buf out = BUF_INIT;
	*e = addr_parse_mailbox(*slot, strlen(*slot), flags, &a);
	if (*e == ADDR_OK) {
		addr_format(&out, &a, 0);
		free(*slot);
		*slot = buf_detach(&out);
	}
	addr_free(&a);
	buf_free(&out);
	return *e == ADDR_OK ? 0 : -1;
}

static void upcase(char *p)
{
	for (; p && *p; p++)
		if (*p >= 'a' && *p <= 'z')
			*p = (char)(*p - 'a' + 'A');
}

static void check_params(struct submit *s)
{
	struct queue_env *e = &s->env;
	if (e->sender == NULL || e->source == NULL)
		submit_fail(s, SUBMIT_EX_USAGE, "554 5.5.2 Envelope lacks S or F");
	if (e->nrcpt == 0)
		submit_fail(s, SUBMIT_EX_DATAERR, "554 5.5.1 No recipients");
	if (!queue_source_valid(e->source))
		submit_fail(s, SUBMIT_EX_USAGE, "554 5.5.2 Unknown source");
	upcase(e->ret);
	upcase(e->body);
	if (e->body == NULL)
		e->body = xstrdup("7BIT");
	if ((e->ret && !queue_ret_valid(e->ret)) || !queue_body_valid(e->body) ||
	    (e->envid && (!queue_xtext_valid(e->envid, strlen(e->envid)) ||
			  strlen(e->envid) > 100)) ||
	    (e->auth && (!queue_text_valid(e->auth, strlen(e->auth)) || strlen(e->auth) > 255)) ||
	    (e->verp && !queue_verp_valid(e->verp, strlen(e->verp))))
		submit_fail(s, SUBMIT_EX_DATAERR, "501 5.5.4 Invalid envelope parameter");
	for (int k = 0; k < H_COUNT; k++)
		if (s->h[k] && !queue_text_valid(s->h[k], strlen(s->h[k])))
			submit_fail(s, SUBMIT_EX_USAGE, "554 5.5.2 Control character in H value");
}

static void check_addrs(struct submit *s)
{
	struct queue_env *e = &s->env;
	unsigned flags = e->smtputf8 ? ADDR_SMTPUTF8 : 0;
	enum addr_err ae;
	if (e->sender[0] && canon(&e->sender, flags, &ae) < 0)
		submit_fail(s, SUBMIT_EX_DATAERR, "553 5.1.7 Bad sender address: %s",
			    addr_strerror(ae));
	for (size_t i = 0; i < e->nrcpt; i++) {
		struct queue_rcpt *r = &e->rcpts[i];
		upcase(r->notify);
		if (canon(&r->addr, flags | ADDR_ALLOW_POSTMASTER, &ae) < 0)
			submit_fail(s, SUBMIT_EX_DATAERR, "553 5.1.3 Bad recipient address: %s",
				    addr_strerror(ae));
		if (!queue_notify_valid(r->notify, strlen(r->notify)) ||
		    !queue_orcpt_valid(r->orcpt, strlen(r->orcpt)))
			submit_fail(s, SUBMIT_EX_DATAERR, "501 5.5.4 Invalid NOTIFY or ORCPT");
	}
}

void submit_read_envelope(struct submit *s)
{
	struct buf line = BUF_INIT;
	for (;;) {
		int r = submit_read_line(&s->in, &line, QUEUE_MAX_LINE);
		if (r == 0)
			submit_fail(s, SUBMIT_EX_TEMPFAIL, "%s", "");
		if (r < 0)
			submit_fail(s, SUBMIT_EX_USAGE, "554 5.5.2 Envelope line too long");
		if (line.len == 0)
			break;
		if (buf_has_nul(&line) || memchr(line.data, '\r', line.len))
			submit_fail(s, SUBMIT_EX_USAGE, "554 5.5.2 NUL or CR in the envelope");
		env_line(s, line.data, line.len);
	}
	buf_free(&line);
	check_params(s);
	check_addrs(s);
}
