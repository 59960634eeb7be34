/* reformail: rewrite the header of the message on stdin, formail style; see
 * reformail(1).
 *
 *   reformail -x HEADER: ... | -X HEADER: ...       print header values
 *   reformail [-a|-A|-i|-I 'H: value'] [-u|-U H:] [-R OLD: NEW:] [-c] [-d0|-d1]
 *             [-f0|-f1]
 *
 * The body is copied untouched. Exit: 0, 1 usage, 75 read or write errors.
 * Runs as the invoking user; the message is untrusted (bounded in size, NULs
 * pass through, nothing is interpreted but header names). */
#include "buf.h"
#include "file.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

#define RF_MAX_MESSAGE (256 * 1024 * 1024)
#define RF_MAX_OPTS    1000

struct field {
	struct buf text; /* "Name: value\n" with continuation lines */
	int deleted;
};

struct msg {
	struct field *f;
	size_t n, cap;
	const char *body; /* after the empty line, or NULL when none */
	size_t body_len;
	struct buf from_line; /* an initial "From " line */
};

static struct field *add_field(struct msg *m, const char *s, size_t len)
{
	if (m->n == m->cap) {
		m->cap = m->cap ? m->cap * 2 : 32;
		m->f = realloc(m->f, m->cap * sizeof *m->f);
		if (!m->f)
			exit(EX_TEMPFAIL);
	}
	struct field *f = &m->f[m->n++];
	buf_init(&f->text);
	f->deleted = 0;
	buf_set(&f->text, s, len);
	return f;
}

/* Split the input into header fields and body; CRLF becomes LF. */
static void split(struct msg *m, struct buf *in)
{
	size_t w = 0;
	for (size_t i = 0; i < in->len; i++) /* CRLF -> LF */
		if (!(in->data[i] == '\r' && i + 1 < in->len && in->data[i + 1] == '\n'))
			in->data[w++] = in->data[i];
	buf_truncate(in, w);
	const char *p = in->data ? in->data : "";
	size_t len = in->len, i = 0;
	while (i < len) {
		const char *nl = memchr(p + i, '\n', len - i);
		size_t n = nl ? (size_t)(nl - (p + i)) + 1 : len - i;
		if (p[i] == '\n') {
			m->body = p + i + 1;
			m->body_len = len - i - 1;
			return;
		}
		if (i == 0 && n >= 5 && !memcmp(p, "From ", 5))
			buf_set(&m->from_line, p, n);
		else if ((p[i] == ' ' || p[i] == '\t') && m->n)
			buf_append(&m->f[m->n - 1].text, p + i, n);
		else
			add_field(m, p + i, n);
		i += n;
	}
	if (m->n && m->f[m->n - 1].text.data[m->f[m->n - 1].text.len - 1] != '\n')
		buf_append_char(&m->f[m->n - 1].text, '\n');
}

/* Does field f have the name in spec ("Name:" or "Name: value")? */
static int is_named(const struct field *f, const char *spec)
{
	const char *colon = strchr(spec, ':');
	size_t n = colon ? (size_t)(colon - spec) : strlen(spec);
	return !f->deleted && f->text.len > n && f->text.data[n] == ':' &&
	       !strncasecmp(f->text.data, spec, n);
}

static int count_named(const struct msg *m, const char *spec)
{
	int c = 0;
	for (size_t i = 0; i < m->n; i++)
		c += is_named(&m->f[i], spec);
	return c;
}

/* "Name: value" as a field; an empty Message-ID gets a new unique one. */
static void append_header(struct msg *m, const char *spec)
{
	struct buf t = BUF_INIT;
	const char *colon = strchr(spec, ':');
	const char *v = colon ? colon + 1 : "";
	v += strspn(v, " \t");
	buf_append_str(&t, spec);
	if (!*v && colon && (!strncasecmp(spec, "Message-ID:", 11) ||
			     !strncasecmp(spec, "Resent-Message-ID:", 18))) {
		char host[256];
		if (gethostname(host, sizeof host) < 0)
			memcpy(host, "localhost", 10);
		host[sizeof host - 1] = 0;
		buf_truncate(&t, (size_t)(colon - spec) + 1);
		buf_printf(&t, " <%lld.%ld.reformail@%s>", (long long)time(NULL), (long)getpid(), host);
	}
	buf_append_char(&t, '\n');
	add_field(m, t.data, t.len);
	buf_free(&t);
}

/* A field on one line: each line break and the blanks after it become one
 * space (as Courier's reformail joins them). */
static void unfold(const struct buf *t, size_t from, struct buf *out)
{
	for (size_t j = from; j < t->len; j++) {
		if (t->data[j] == '\n' && j + 1 < t->len) {
			while (j + 1 < t->len && (t->data[j + 1] == ' ' || t->data[j + 1] == '\t'))
				j++;
			buf_append_char(out, ' ');
			continue;
		}
		buf_append_char(out, t->data[j]);
	}
}

static void print_value(const struct field *f, int with_name, struct buf *out)
{
	const char *s = f->text.data, *colon = memchr(s, ':', f->text.len);
	size_t a = 0;
	if (!with_name) {
		a = (size_t)(colon - s) + 1;
		while (a < f->text.len && (s[a] == ' ' || s[a] == '\t'))
			a++;
	}
	unfold(&f->text, a, out);
}

struct op { char opt; const char *arg; };

static void apply(struct msg *m, const struct op *o)
{
	switch (o->opt) {
	case 'a':
		if (!count_named(m, o->arg))
			append_header(m, o->arg);
		break;
	case 'A':
		append_header(m, o->arg);
		break;
	case 'i':
		for (size_t i = 0; i < m->n; i++) {
			if (!is_named(&m->f[i], o->arg))
				continue;
			struct buf t = BUF_INIT;
			buf_append_str(&t, "Old-");
			buf_append_buf(&t, &m->f[i].text);
			buf_free(&m->f[i].text);
			m->f[i].text = t;
		}
		append_header(m, o->arg);
		break;
	case 'I': {
		for (size_t i = 0; i < m->n; i++)
			if (is_named(&m->f[i], o->arg))
				m->f[i].deleted = 1;
		const char *v = strchr(o->arg, ':');
		if (v && v[1 + strspn(v + 1, " \t")])
			append_header(m, o->arg);
		break;
	}
	case 'u':
	case 'U': {
		int total = count_named(m, o->arg), seen = 0;
		for (size_t i = 0; i < m->n; i++) {
			if (!is_named(&m->f[i], o->arg))
				continue;
			seen++;
			if ((o->opt == 'u' && seen > 1) || (o->opt == 'U' && seen < total))
				m->f[i].deleted = 1;
		}
		break;
	}
	}
}

static void rename_header(struct msg *m, const char *from, const char *to)
{
	const char *fc = strchr(from, ':'), *tc = strchr(to, ':');
	size_t fn = fc ? (size_t)(fc - from) : strlen(from), tn = tc ? (size_t)(tc - to) : strlen(to);
	for (size_t i = 0; i < m->n; i++) {
		if (!is_named(&m->f[i], from))
			continue;
		struct buf t = BUF_INIT;
		buf_append(&t, to, tn);
		buf_append(&t, m->f[i].text.data + fn, m->f[i].text.len - fn);
		buf_free(&m->f[i].text);
		m->f[i].text = t;
	}
}

/* -f0: a From_ line becomes Return-Path:; -f1: add a From_ line. */
static void from_line(struct msg *m, int mode)
{
	if (mode == 0 && m->from_line.len) {
		const char *s = m->from_line.data + 5;
		size_t n = strcspn(s, " \t\n");
		struct buf t = BUF_INIT;
		for (size_t i = 0; i < m->n; i++)
			if (is_named(&m->f[i], "Return-Path:"))
				m->f[i].deleted = 1;
		buf_printf(&t, "Return-Path: <%.*s>\n", (int)n, s);
		add_field(m, t.data, t.len);
		buf_free(&t);
		buf_reset(&m->from_line);
	} else if (mode == 1 && !m->from_line.len) {
		char date[64];
		time_t now = time(NULL);
		struct tm tm;
		if (!localtime_r(&now, &tm) || !strftime(date, sizeof date, "%a %b %e %H:%M:%S %Y", &tm))
			date[0] = 0;
		buf_printf(&m->from_line, "From root  %s\n", date);
	}
}

static void output(const struct msg *m, int crlf, int concat, struct buf *out)
{
	struct buf h = BUF_INIT;
	buf_append_buf(&h, &m->from_line);
	for (size_t i = 0; i < m->n; i++) {
		if (m->f[i].deleted)
			continue;
		if (concat)
			unfold(&m->f[i].text, 0, &h);
		else
			buf_append_buf(&h, &m->f[i].text);
	}
	if (m->body) {
		buf_append_char(&h, '\n');
		buf_append(&h, m->body, m->body_len);
	}
	for (size_t i = 0; i < h.len; i++) {
		if (crlf && h.data[i] == '\n')
			buf_append_char(out, '\r');
		buf_append_char(out, h.data[i]);
	}
	buf_free(&h);
}

static _Noreturn void usage(void)
{
	fputs("usage: reformail [-x|-X header:]... | [-a|-A|-i|-I 'header: value'] [-u|-U header:]"
	      " [-R old: new:] [-c] [-d0|-d1] [-f0|-f1]\n", stderr);
	exit(1);
}

int main(int argc, char **argv)
{
	struct op ops[RF_MAX_OPTS];
	size_t nops = 0;
	int crlf = 0, concat = 0, fmode = -1, extract = 0;
	struct msg m;
	memset(&m, 0, sizeof m);
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (a[0] != '-' || !a[1] || nops >= RF_MAX_OPTS)
			usage();
		char o = a[1];
		const char *v = a[2] ? a + 2 : NULL;
		if (o == 'c' && !v) { concat = 1; continue; }
		if (!v && strchr("aAiIuUxXdfR", o) && i + 1 < argc)
			v = argv[++i];
		if (!v)
			usage();
		if (o == 'd') { crlf = !strcmp(v, "1"); continue; }
		if (o == 'f') { fmode = !strcmp(v, "1"); continue; }
		if (o == 'R') {
			if (i + 1 >= argc)
				usage();
			ops[nops].opt = 'R';
			ops[nops++].arg = v;
			v = argv[++i];
		} else if (!strchr("aAiIuUxX", o)) {
			usage();
		}
		if (o == 'x' || o == 'X')
			extract = 1;
		ops[nops].opt = o == 'R' ? 'r' : o;
		ops[nops++].arg = v;
	}
	struct buf in = BUF_INIT, out = BUF_INIT;
	if (file_read_fd(0, &in, RF_MAX_MESSAGE) < 0) {
		fprintf(stderr, "reformail: reading the message: %s\n",
			errno == EFBIG ? "too large" : strerror(errno));
		return EX_TEMPFAIL;
	}
	split(&m, &in);
	if (extract) {
		for (size_t i = 0; i < m.n; i++)
			for (size_t k = 0; k < nops; k++)
				if ((ops[k].opt == 'x' || ops[k].opt == 'X') && is_named(&m.f[i], ops[k].arg)) {
					print_value(&m.f[i], ops[k].opt == 'X', &out);
					break;
				}
	} else {
		for (size_t k = 0; k < nops; k++) {
			if (ops[k].opt == 'R')
				rename_header(&m, ops[k].arg, ops[k + 1].arg), k++;
			else
				apply(&m, &ops[k]);
		}
		if (fmode >= 0)
			from_line(&m, fmode); /* after the others, as Courier's */
		output(&m, crlf, concat, &out);
	}
	if (file_write_all(1, out.data, out.len) < 0)
		return EX_TEMPFAIL;
	for (size_t i = 0; i < m.n; i++)
		buf_free(&m.f[i].text);
	free(m.f);
	buf_free(&m.from_line);
	buf_free(&in);
	buf_free(&out);
	return 0;
}
