/* queue: ids, paths, control files and the commit sequence of the mail queue.
 *
 * Trusts nothing it reads back: a control file may be truncated by a crash or
 * written by a buggy peer, so the parser bounds every line and refuses what it
 * does not know. The writer refuses values that would not read back. */
#define _GNU_SOURCE /* renameat2 */
#include "queue.h"
#include "alloc.h"
#include "buf.h"
#include "file.h"
#include "fssync.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static int crash_point;

void queue_tx_set_crash_point(int step) { crash_point = step; }

static void maybe_crash(int step)
{
	if (crash_point == step)
		_exit(99);
}

int queue_verp_valid(const char *v, size_t len)
{
	return len == 2 && v[0] && v[1] && strchr("+-=._", v[0]) && strchr("+-=._", v[1]);
}

void queue_verp_sender(struct buf *out, const char *sender, const char *delims,
		       const char *rcpt)
{
	const char *sat = strrchr(sender, '@'), *rat = strrchr(rcpt, '@');
	buf_set_str(out, sender);
	if (!delims || !sat || !rat || sat == sender || rat == rcpt || strchr(sender, '"') ||
	    strchr(rcpt, '"') || !queue_verp_valid(delims, strlen(delims)))
		return;
	buf_reset(out);
	buf_append(out, sender, (size_t)(sat - sender));
	buf_append_char(out, delims[0]);
	buf_append(out, rcpt, (size_t)(rat - rcpt));
	buf_append_char(out, delims[1]);
	buf_append_str(out, rat + 1);
	buf_append_str(out, sat);
}

void queue_env_init(struct queue_env *e)
{
	memset(e, 0, sizeof *e);
}

void queue_env_free(struct queue_env *e)
{
	free(e->sender);
	free(e->source);
	free(e->envid);
	free(e->ret);
	free(e->body);
	free(e->auth);
	free(e->client);
	free(e->verp);
	for (size_t i = 0; i < e->nrcpt; i++) {
		free(e->rcpts[i].addr);
		free(e->rcpts[i].notify);
		free(e->rcpts[i].orcpt);
	}
	free(e->rcpts);
	queue_env_init(e);
}

void queue_env_add_rcpt(struct queue_env *e, const char *addr, const char *notify,
			const char *orcpt)
{
	if (e->nrcpt == e->cap) {
		size_t cap = e->cap ? e->cap : 8;
		if (e->cap && size_mul(cap, 2, &cap) < 0)
			die_nomem();
		e->rcpts = xreallocarray(e->rcpts, cap, sizeof *e->rcpts);
		e->cap = cap;
	}
	struct queue_rcpt *r = &e->rcpts[e->nrcpt++];
	memset(r, 0, sizeof *r);
	r->addr = xstrdup(addr);
	r->notify = xstrdup(notify ? notify : "");
	r->orcpt = xstrdup(orcpt ? orcpt : "");
}

/* ---- value checks ---- */

static int is_hex_lower(char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); }
static int is_hex_upper(char c) { return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'F'); }

int queue_id_valid(const char *s, size_t len)
{
	if (len != QUEUE_ID_LEN)
		return 0;
	for (size_t i = 0; i < len; i++)
		if (!is_hex_lower(s[i]))
			return 0;
	return 1;
}

static int one_of(const char *s, const char *const *set)
{
	for (; *set; set++)
		if (strcmp(s, *set) == 0)
			return 1;
	return 0;
}

int queue_source_valid(const char *s)
{
	static const char *const set[] = { "smtp", "submission", "local", "dsn", NULL };
	return one_of(s, set);
}

int queue_ret_valid(const char *s)
{
	static const char *const set[] = { "FULL", "HDRS", NULL };
	return one_of(s, set);
}

int queue_body_valid(const char *s)
{
	static const char *const set[] = { "7BIT", "8BITMIME", "BINARYMIME", NULL };
	return one_of(s, set);
}

int queue_text_valid(const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c < 0x20 || c == 0x7f)
			return 0;
	}
	return 1;
}

/* RFC 3461 4: xtext = *( xchar / "+" 2 uppercase hex ), xchar 33..126 but '+' '='. */
int queue_xtext_valid(const char *s, size_t len)
{
	if (len > QUEUE_MAX_FIELD)
		return 0;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c == '+') {
			if (i + 2 >= len || !is_hex_upper(s[i + 1]) || !is_hex_upper(s[i + 2]))
				return 0;
			i += 2;
		} else if (c < 33 || c > 126 || c == '=') {
			return 0;
		}
	}
	return 1;
}

int queue_notify_valid(const char *s, size_t len)
{
	static const char *const words[] = { "NEVER", "SUCCESS", "FAILURE", "DELAY" };
	unsigned seen = 0;
	size_t count = 0;
	if (len == 0)
		return 1;
	for (size_t i = 0; i <= len;) {
		size_t j = i;
		while (j < len && s[j] != ',')
			j++;
		size_t k = 0;
		while (k < 4 && !(strlen(words[k]) == j - i && memcmp(words[k], s + i, j - i) == 0))
			k++;
		if (k == 4 || (seen & (1u << k)))
			return 0;
		seen |= 1u << k;
		count++;
		i = j + 1;
	}
	return !((seen & 1u) && count > 1); /* NEVER stands alone */
}

int queue_orcpt_valid(const char *s, size_t len)
{
	if (len == 0)
		return 1;
	const char *semi = memchr(s, ';', len);
	if (semi == NULL || semi == s || len > QUEUE_MAX_FIELD)
		return 0;
	for (const char *p = s; p < semi; p++) {
		char c = *p;
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '-'))
			return 0;
	}
	size_t rest = len - (size_t)(semi + 1 - s);
	return rest > 0 && queue_xtext_valid(semi + 1, rest);
}

/* ---- ids and paths ---- */

int queue_id_new(char id[QUEUE_ID_LEN + 1])
{
	struct timespec ts;
	uint32_t rnd;
	clock_gettime(CLOCK_REALTIME, &ts);
	uint64_t us = (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
	ssize_t n;
	do
		n = getrandom(&rnd, sizeof rnd, 0);
	while (n < 0 && errno == EINTR);
	if (n != (ssize_t)sizeof rnd)
		return -1;
	snprintf(id, QUEUE_ID_LEN + 1, "%012llx%08lx",
		 (unsigned long long)(us & 0xffffffffffffull), (unsigned long)rnd);
	return 0;
}

char queue_bucket(const char *id)
{
	return id[QUEUE_ID_LEN - 1];
}

void queue_path(struct buf *out, const char *qdir, enum queue_area area, const char *id)
{
	buf_set_str(out, qdir);
	switch (area) {
	case QUEUE_TMP_MSG: buf_printf(out, "/tmp/%s.msg", id); break;
	case QUEUE_TMP_CTL: buf_printf(out, "/tmp/%s.ctl", id); break;
	case QUEUE_MSG: buf_printf(out, "/msg/%c/%s", queue_bucket(id), id); break;
	case QUEUE_CTL: buf_printf(out, "/ctl/%c/%s", queue_bucket(id), id); break;
	}
}

/* ---- control file writer ---- */

static int put(struct buf *out, char type, const char *v, size_t max, struct buf *err)
{
	if (v == NULL)
		return 0;
	size_t len = strlen(v);
	if (len > max || !queue_text_valid(v, len)) {
		buf_printf(err, "invalid value for record %c", type);
		return -1;
	}
	buf_append_char(out, type);
	buf_append(out, v, len);
	buf_append_char(out, '\n');
	return 0;
}

static int check_env(const struct queue_env *e, struct buf *err)
{
	const char *bad = NULL;
	if (!queue_id_valid(e->id, strlen(e->id)))
		bad = "id";
	else if (e->sender == NULL)
		bad = "sender";
	else if (e->source == NULL || !queue_source_valid(e->source))
		bad = "source";
	else if (e->body == NULL || !queue_body_valid(e->body))
		bad = "body";
	else if (e->ret && !queue_ret_valid(e->ret))
		bad = "ret";
	else if (e->verp && !queue_verp_valid(e->verp, strlen(e->verp)))
		bad = "verp";
	else if (e->envid && !queue_xtext_valid(e->envid, strlen(e->envid)))
		bad = "envid";
	else if (e->nrcpt == 0 || e->nrcpt > QUEUE_MAX_RCPTS)
		bad = "recipient count";
	if (bad)
		buf_printf(err, "invalid envelope: %s", bad);
	return bad ? -1 : 0;
}

static int put_rcpt(struct buf *out, const struct queue_rcpt *r, struct buf *err)
{
	size_t a = strlen(r->addr), n = strlen(r->notify), o = strlen(r->orcpt);
	if (a == 0 || a > QUEUE_MAX_ADDR || !queue_text_valid(r->addr, a) ||
	    !queue_notify_valid(r->notify, n) || !queue_orcpt_valid(r->orcpt, o)) {
		buf_set_str(err, "invalid recipient record");
		return -1;
	}
	buf_printf(out, "R%s\t%s\t%s\n", r->addr, r->notify, r->orcpt);
	return 0;
}

int queue_ctl_format(const struct queue_env *e, struct buf *out, struct buf *err)
{
	buf_reset(out);
	if (check_env(e, err) < 0)
		return -1;
	buf_printf(out, "V%d\nI%s\nT%lld\n", QUEUE_VERSION, e->id, (long long)e->arrival);
	if (put(out, 'S', e->sender, QUEUE_MAX_ADDR, err) < 0 ||
	    put(out, 'F', e->source, QUEUE_MAX_FIELD, err) < 0 ||
	    put(out, 'E', e->envid, QUEUE_MAX_FIELD, err) < 0 ||
	    put(out, 'N', e->ret, QUEUE_MAX_FIELD, err) < 0 ||
	    put(out, 'B', e->body, QUEUE_MAX_FIELD, err) < 0 ||
	    put(out, 'U', e->smtputf8 ? "" : NULL, 0, err) < 0 ||
	    put(out, 'X', e->verp, QUEUE_MAX_FIELD, err) < 0 ||
	    put(out, 'A', e->auth, QUEUE_MAX_FIELD, err) < 0 ||
	    put(out, 'H', e->client, QUEUE_MAX_FIELD, err) < 0)
		return -1;
	for (size_t i = 0; i < e->nrcpt; i++)
		if (put_rcpt(out, &e->rcpts[i], err) < 0)
			return -1;
	if (e->warned > 0)
		queue_ctl_w_record(out, e->warned);
	return 0;
}

void queue_ctl_w_record(struct buf *out, int64_t when)
{
	buf_printf(out, "W%lld\n", (long long)when);
}

/* ---- control file reader ---- */

struct pstate {
	struct queue_env *e;
	const char *expect_id;
	unsigned long seen;   /* bit per record letter 'A'..'Z' */
	int after_d;          /* a D record was seen: no more R */
	struct buf *err;
};

static int parse_u64(const char *s, size_t len, uint64_t max, uint64_t *out)
{
	uint64_t v = 0;
	if (len == 0 || len > 20 || (len > 1 && s[0] == '0'))
		return -1;
	for (size_t i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		unsigned d = (unsigned)(s[i] - '0');
		if (v > (max - d) / 10)
			return -1;
		v = v * 10 + d;
	}
	*out = v;
	return 0;
}

static char *dup_text(const char *v, size_t len, size_t max)
{
	if (len > max || !queue_text_valid(v, len))
		return NULL;
	return xmemdup(v, len);
}

static int rec_i(struct pstate *ps, const char *v, size_t len)
{
	if (!queue_id_valid(v, len))
		return -1;
	memcpy(ps->e->id, v, len);
	ps->e->id[len] = '\0';
	if (ps->expect_id && strcmp(ps->expect_id, ps->e->id) != 0) {
		buf_set_str(ps->err, "id does not match the file name");
		return -2;
	}
	return 0;
}

static int rec_t(struct pstate *ps, const char *v, size_t len)
{
	uint64_t t;
	if (parse_u64(v, len, INT64_MAX, &t) < 0)
		return -1;
	ps->e->arrival = (int64_t)t;
	return 0;
}

static int rec_s(struct pstate *ps, const char *v, size_t len)
{
	return (ps->e->sender = dup_text(v, len, QUEUE_MAX_ADDR)) ? 0 : -1;
}

static int rec_choice(char **slot, const char *v, size_t len, int (*ok)(const char *))
{
	char *s = dup_text(v, len, QUEUE_MAX_FIELD);
	if (s == NULL || !ok(s)) {
		free(s);
		return -1;
	}
	*slot = s;
	return 0;
}

static int rec_f(struct pstate *ps, const char *v, size_t len)
{
	return rec_choice(&ps->e->source, v, len, queue_source_valid);
}

static int rec_n(struct pstate *ps, const char *v, size_t len)
{
	return rec_choice(&ps->e->ret, v, len, queue_ret_valid);
}

static int rec_b(struct pstate *ps, const char *v, size_t len)
{
	return rec_choice(&ps->e->body, v, len, queue_body_valid);
}

static int rec_e(struct pstate *ps, const char *v, size_t len)
{
	if (!queue_xtext_valid(v, len))
		return -1;
	ps->e->envid = xmemdup(v, len);
	return 0;
}

static int rec_u(struct pstate *ps, const char *v, size_t len)
{
	(void)v;
	ps->e->smtputf8 = 1;
	return len == 0 ? 0 : -1;
}

static int rec_x(struct pstate *ps, const char *v, size_t len)
{
	if (!queue_verp_valid(v, len))
		return -1;
	ps->e->verp = xmemdup(v, len);
	return 0;
}

static int rec_a(struct pstate *ps, const char *v, size_t len)
{
	return (ps->e->auth = dup_text(v, len, QUEUE_MAX_FIELD)) ? 0 : -1;
}

static int rec_h(struct pstate *ps, const char *v, size_t len)
{
	return (ps->e->client = dup_text(v, len, QUEUE_MAX_FIELD)) ? 0 : -1;
}

/* R<addr> TAB <notify> TAB <orcpt> */
static int rec_r(struct pstate *ps, const char *v, size_t len)
{
	const char *t1 = memchr(v, '\t', len);
	const char *t2 = t1 ? memchr(t1 + 1, '\t', len - (size_t)(t1 + 1 - v)) : NULL;
	if (ps->after_d || t2 == NULL || ps->e->nrcpt >= QUEUE_MAX_RCPTS)
		return -1;
	size_t alen = (size_t)(t1 - v), nlen = (size_t)(t2 - t1 - 1);
	size_t olen = len - (size_t)(t2 + 1 - v);
	if (alen == 0 || alen > QUEUE_MAX_ADDR || !queue_text_valid(v, alen) ||
	    !queue_notify_valid(t1 + 1, nlen) || memchr(t2 + 1, '\t', olen) ||
	    !queue_orcpt_valid(t2 + 1, olen))
		return -1;
	char *a = xmemdup(v, alen), *n = xmemdup(t1 + 1, nlen), *o = xmemdup(t2 + 1, olen);
	queue_env_add_rcpt(ps->e, a, n, o);
	free(a);
	free(n);
	free(o);
	return 0;
}

/* W<time>: courierd sent the "delayed" DSN then (once per entry); after the
 * R records, so a W line is never a recipient's. */
static int rec_w(struct pstate *ps, const char *v, size_t len)
{
	uint64_t t;
	if (ps->e->nrcpt == 0 || parse_u64(v, len, INT64_MAX, &t) < 0 || t == 0)
		return -1;
	ps->e->warned = (int64_t)t;
	ps->after_d = 1;
	return 0;
}

/* D<idx> SP <time> SP <3-digit code>[SP <text>] */
static int rec_d(struct pstate *ps, const char *v, size_t len)
{
	const char *sp1 = memchr(v, ' ', len);
	const char *sp2 = sp1 ? memchr(sp1 + 1, ' ', len - (size_t)(sp1 + 1 - v)) : NULL;
	uint64_t idx, t;
	if (sp2 == NULL || parse_u64(v, (size_t)(sp1 - v), UINT64_MAX, &idx) < 0 ||
	    idx >= ps->e->nrcpt ||
	    parse_u64(sp1 + 1, (size_t)(sp2 - sp1 - 1), INT64_MAX, &t) < 0)
		return -1;
	const char *c = sp2 + 1;
	size_t rest = len - (size_t)(c - v);
	if (rest < 3 || (c[0] != '2' && c[0] != '4' && c[0] != '5') || c[1] < '0' ||
	    c[1] > '9' || c[2] < '0' || c[2] > '9' || (rest > 3 && c[3] != ' ') ||
	    !queue_text_valid(c, rest))
		return -1;
	struct queue_rcpt *r = &ps->e->rcpts[idx];
	if (r->state != QUEUE_R_PENDING) {
		buf_printf(ps->err, "D record for recipient %llu after its final one",
			   (unsigned long long)idx);
		return -2;
	}
	r->attempts++;
	r->state = c[0] == '2' ? QUEUE_R_DELIVERED : c[0] == '5' ? QUEUE_R_FAILED : QUEUE_R_PENDING;
	ps->after_d = 1;
	return 0;
}

struct rec_type {
	char type;
	int once;
	int (*fn)(struct pstate *, const char *, size_t);
};

static const struct rec_type rec_types[] = {
	{ 'I', 1, rec_i }, { 'T', 1, rec_t }, { 'S', 1, rec_s }, { 'F', 1, rec_f },
	{ 'E', 1, rec_e }, { 'N', 1, rec_n }, { 'B', 1, rec_b }, { 'U', 1, rec_u },
	{ 'A', 1, rec_a }, { 'H', 1, rec_h }, { 'R', 0, rec_r }, { 'D', 0, rec_d },
	{ 'W', 1, rec_w }, { 'X', 1, rec_x },
};

static int parse_record(struct pstate *ps, const char *line, size_t len, size_t lineno)
{
	const struct rec_type *rt = NULL;
	for (size_t i = 0; i < sizeof rec_types / sizeof rec_types[0]; i++)
		if (rec_types[i].type == line[0])
			rt = &rec_types[i];
	if (rt == NULL) {
		buf_printf(ps->err, "line %zu: unknown record type 0x%02x", lineno,
			   (unsigned char)line[0]);
		return -1;
	}
	unsigned long bit = 1ul << (line[0] - 'A');
	if (rt->once && (ps->seen & bit)) {
		buf_printf(ps->err, "line %zu: duplicate %c record", lineno, line[0]);
		return -1;
	}
	if (line[0] == 'R' && !(ps->seen & (1ul << ('I' - 'A')))) {
		buf_printf(ps->err, "line %zu: R before I", lineno);
		return -1;
	}
	ps->seen |= bit;
	int r = rt->fn(ps, line + 1, len - 1);
	if (r == -1)
		buf_printf(ps->err, "line %zu: invalid %c record", lineno, line[0]);
	else if (r < 0)
		buf_printf(ps->err, " (line %zu)", lineno);
	return r < 0 ? -1 : 0;
}

static int check_line(const char *line, size_t len, size_t lineno, struct buf *err)
{
	if (len == 0 || memchr(line, '\0', len) || memchr(line, '\r', len)) {
		buf_printf(err, "line %zu: %s", lineno,
			   len == 0 ? "empty line" : "NUL or CR in a record");
		return -1;
	}
	if (lineno == 1 && !(len == 2 && line[0] == 'V' && line[1] == '0' + QUEUE_VERSION)) {
		buf_set_str(err, line[0] == 'V' ? "unsupported control file version"
						: "not a control file (no V record)");
		return -1;
	}
	return 0;
}

static int check_complete(const struct pstate *ps, struct buf *err)
{
	static const char need[] = "ITSFB";
	for (const char *p = need; *p; p++)
		if (!(ps->seen & (1ul << (*p - 'A')))) {
			buf_printf(err, "missing %c record", *p);
			return -1;
		}
	if (ps->e->nrcpt == 0) {
		buf_set_str(err, "no recipients");
		return -1;
	}
	return 0;
}

int queue_ctl_parse(const char *data, size_t len, const char *expect_id,
		    struct queue_env *out, struct buf *err)
{
	struct buf dummy = BUF_INIT;
	struct pstate ps = { out, expect_id, 0, 0, err ? err : &dummy };
	queue_env_init(out);
	buf_reset(ps.err);
	size_t pos = 0, lineno = 0;
	int r = len > QUEUE_MAX_CTL ? -1 : 0;
	if (r < 0)
		buf_set_str(ps.err, "control file too large");
	while (r == 0 && pos < len) {
		size_t avail = len - pos, scan = avail < QUEUE_MAX_LINE + 1 ? avail : QUEUE_MAX_LINE + 1;
		const char *lf = memchr(data + pos, '\n', scan);
		lineno++;
		if (lf == NULL) {
			buf_printf(ps.err, "line %zu: %s", lineno,
				   avail > QUEUE_MAX_LINE ? "line too long" : "truncated (no LF)");
			r = -1;
			break;
		}
		size_t ll = (size_t)(lf - (data + pos));
		r = check_line(data + pos, ll, lineno, ps.err);
		if (r == 0 && lineno > 1)
			r = parse_record(&ps, data + pos, ll, lineno);
		pos += ll + 1;
	}
	if (r == 0 && lineno == 0) {
		buf_set_str(ps.err, "empty control file");
		r = -1;
	}
	if (r == 0)
		r = check_complete(&ps, ps.err);
	if (r < 0)
		queue_env_free(out);
	buf_free(&dummy);
	return r;
}

int queue_ctl_read(const char *qdir, const char *id, struct queue_env *out, struct buf *err)
{
	struct buf path = BUF_INIT, data = BUF_INIT;
	queue_env_init(out);
	if (!queue_id_valid(id, strlen(id))) {
		if (err)
			buf_set_str(err, "invalid queue id");
		return -1;
	}
	queue_path(&path, qdir, QUEUE_CTL, id);
	int r = file_read(buf_cstr(&path), &data, QUEUE_MAX_CTL);
	if (r < 0 && err)
		buf_printf(err, "%s: %s", buf_cstr(&path), strerror(errno));
	if (r == 0) {
		r = queue_ctl_parse(data.data ? data.data : "", data.len, id, out, err);
		if (r < 0 && err) {
			struct buf msg = BUF_INIT;
			buf_printf(&msg, "%s: %s", buf_cstr(&path), buf_cstr(err));
			buf_set(err, msg.data, msg.len);
			buf_free(&msg);
		}
	}
	buf_free(&path);
	buf_free(&data);
	return r;
}

/* ---- the commit sequence ---- */

static void set_err(struct buf *err, const char *what, const char *path)
{
	if (err)
		buf_printf(err, "%s %s: %s", what, path, strerror(errno));
}

int queue_tx_begin(struct queue_tx *tx, const char *qdir, struct buf *err)
{
	struct buf path = BUF_INIT;
	memset(tx, 0, sizeof *tx);
	tx->fd = -1;
	for (int tries = 0; tries < 100 && tx->fd < 0; tries++) {
		if (queue_id_new(tx->id) < 0) {
			set_err(err, "getrandom for", "queue id");
			break;
		}
		queue_path(&path, qdir, QUEUE_TMP_MSG, tx->id);
		tx->fd = open(buf_cstr(&path), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
			      0640);
		if (tx->fd < 0 && errno != EEXIST) {
			set_err(err, "create", buf_cstr(&path));
			break;
		}
	}
	if (tx->fd >= 0)
		tx->qdir = xstrdup(qdir);
	else
		tx->id[0] = '\0';
	buf_free(&path);
	return tx->fd >= 0 ? 0 : -1;
}

int queue_tx_write(struct queue_tx *tx, const void *data, size_t len, struct buf *err)
{
	if (tx->fd < 0 || file_write_all(tx->fd, data, len) < 0) {
		if (tx->fd < 0)
			errno = EBADF;
		set_err(err, "write", "queue file");
		return -1;
	}
	tx->size += len;
	return 0;
}

/* rename without replacing anything already there (a colliding id fails). */
static int rename_new(const char *from, const char *to)
{
	if (renameat2(AT_FDCWD, from, AT_FDCWD, to, RENAME_NOREPLACE) == 0)
		return 0;
	if (errno != EINVAL && errno != ENOSYS)
		return -1;
	/* file systems without RENAME_NOREPLACE: link fails on EEXIST too */
	if (link(from, to) < 0)
		return -1;
	unlink(from);
	return 0;
}

/* mkdir of a bucket on demand: mode 0770 whatever the caller's umask. */
static int bucket_dir(const char *file)
{
	const char *slash = strrchr(file, '/');
	char *dir = xmemdup(file, (size_t)(slash - file));
	int r = 0;
	if (mkdir(dir, 0770) == 0) {
		r = chmod(dir, 0770);
		if (r == 0)
			r = file_fsync_parent(dir);
	} else if (errno != EEXIST) {
		r = -1;
	}
	int saved = errno;
	free(dir);
	errno = saved;
	return r;
}

/* The control file in tmp/, written but not yet synced: its fd, or -1. */
static int write_ctl(const struct queue_env *env, const char *path, struct buf *err)
{
	struct buf text = BUF_INIT;
	int fd = -1;
	if (queue_ctl_format(env, &text, err) == 0) {
		fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0660);
		if (fd < 0 || fchmod(fd, 0660) < 0 || file_write_all(fd, text.data, text.len) < 0) {
			set_err(err, "write", path);
			if (fd >= 0)
				close(fd);
			fd = -1;
		}
	}
	buf_free(&text);
	return fd;
}

static int move_in(const char *from, const char *to, struct buf *err)
{
	if (bucket_dir(to) < 0) {
		set_err(err, "make bucket for", to);
		return -1;
	}
	if (rename_new(from, to) < 0) {
		set_err(err, "rename to", to);
		return -1;
	}
	return 0;
}

/* ext4 (with its journal) and XFS journal metadata in order and flush the
 * disk's cache at each commit: once the control file's data has been written
 * out (sync_file_range allocates its blocks in the running transaction), the
 * message file's fsync commits that transaction too, so one commit makes both
 * files and both renames durable. btrfs logs an fsync'd file with its names:
 * both files are fsync'd. Elsewhere (ext4 without a journal, ext2, unknown)
 * both files and both directories are (lib/fssync). */
static int sync_both(int mfd, int cfd, const char *msg, const char *ctl, struct buf *err)
{
	enum fssync_kind k = fssync_kind(cfd);
	int ctl_done = k == FSSYNC_JOURNAL &&
		       sync_file_range(cfd, 0, 0, SYNC_FILE_RANGE_WAIT_BEFORE | SYNC_FILE_RANGE_WRITE |
						       SYNC_FILE_RANGE_WAIT_AFTER) == 0;
	if (!ctl_done && fsync(cfd) < 0) {
		set_err(err, "fsync", ctl);
		return -1;
	}
	if (fsync(mfd) < 0) {
		set_err(err, "fsync", msg);
		return -1;
	}
	if (k == FSSYNC_PLAIN && (file_fsync_parent(msg) < 0 || file_fsync_parent(ctl) < 0)) {
		set_err(err, "fsync the directory of", msg);
		return -1;
	}
	return 0;
}

/* Both files are renamed into place first and synced after: on a journaling
 * file system the commit that makes a renamed file durable also commits its
 * new name. Until that returns nothing has been acknowledged, so a power
 * loss in between can only leave an entry that was never promised
 * (docs/QUEUE.md). */
static int commit_steps(struct queue_tx *tx, struct queue_env *env, struct buf *p[4],
			struct buf *err)
{
	const char *tmsg = buf_cstr(p[0]), *tctl = buf_cstr(p[1]);
	const char *msg = buf_cstr(p[2]), *ctl = buf_cstr(p[3]);
	if (fchmod(tx->fd, 0640) < 0) {
		set_err(err, "chmod", tmsg);
		return -1;
	}
	maybe_crash(1);
	int cfd = write_ctl(env, tctl, err);
	if (cfd < 0)
		return -1;
	maybe_crash(2);
	int r = move_in(tmsg, msg, err);
	maybe_crash(3);
	if (r == 0 && move_in(tctl, ctl, err) < 0)
		r = -2;
	maybe_crash(4);
	int mfd = tx->fd;
	tx->fd = -1;
	if (r < 0) {
		close(mfd);
		close(cfd);
		return r;
	}
	r = sync_both(mfd, cfd, msg, ctl, err);
	if (close(mfd) < 0 && r == 0) {
		set_err(err, "close", msg);
		r = -1;
	}
	if (close(cfd) < 0 && r == 0) {
		set_err(err, "close", ctl);
		r = -1;
	}
	return r < 0 ? -3 : 0;
}

int queue_tx_commit(struct queue_tx *tx, struct queue_env *env, struct buf *err)
{
	struct buf b[4] = { BUF_INIT, BUF_INIT, BUF_INIT, BUF_INIT };
	struct buf *p[4] = { &b[0], &b[1], &b[2], &b[3] };
	if (tx->qdir == NULL) {
		if (err)
			buf_set_str(err, "no queue transaction");
		return -1;
	}
	memcpy(env->id, tx->id, sizeof env->id);
	queue_path(p[0], tx->qdir, QUEUE_TMP_MSG, tx->id);
	queue_path(p[1], tx->qdir, QUEUE_TMP_CTL, tx->id);
	queue_path(p[2], tx->qdir, QUEUE_MSG, tx->id);
	queue_path(p[3], tx->qdir, QUEUE_CTL, tx->id);
	int r = commit_steps(tx, env, p, err);
	if (r == -2) /* msg renamed but no ctl: take msg back out, it cannot be queued */
		unlink(buf_cstr(p[2]));
	if (r == -3) { /* in place but not durable, and the caller reports failure: take
			* it out (ctl first) so that a retry does not deliver it twice */
		unlink(buf_cstr(p[3]));
		unlink(buf_cstr(p[2]));
	}
	if (r < 0)
		queue_tx_abort(tx);
	else {
		free(tx->qdir);
		tx->qdir = NULL;
	}
	for (int i = 0; i < 4; i++)
		buf_free(&b[i]);
	return r < 0 ? -1 : 0;
}

void queue_tx_abort(struct queue_tx *tx)
{
	if (tx->fd >= 0)
		close(tx->fd);
	tx->fd = -1;
	if (tx->qdir) {
		struct buf path = BUF_INIT;
		queue_path(&path, tx->qdir, QUEUE_TMP_MSG, tx->id);
		unlink(buf_cstr(&path));
		queue_path(&path, tx->qdir, QUEUE_TMP_CTL, tx->id);
		unlink(buf_cstr(&path));
		buf_free(&path);
		free(tx->qdir);
		tx->qdir = NULL;
	}
}

/* ---- recovery helpers ---- */

enum queue_entry queue_entry_state(const char *qdir, const char *id)
{
	struct buf path = BUF_INIT;
	struct stat st;
	queue_path(&path, qdir, QUEUE_MSG, id);
	int msg = lstat(buf_cstr(&path), &st) == 0;
	queue_path(&path, qdir, QUEUE_CTL, id);
	int ctl = lstat(buf_cstr(&path), &st) == 0;
	buf_free(&path);
	if (msg && ctl)
		return QUEUE_ENTRY_COMPLETE;
	return msg ? QUEUE_ENTRY_MSG_ONLY : ctl ? QUEUE_ENTRY_CTL_ONLY : QUEUE_ENTRY_NONE;
}

long queue_clean_tmp(const char *qdir, int64_t min_age, struct buf *err)
{
	struct buf path = BUF_INIT;
	buf_set_str(&path, qdir);
	buf_append_str(&path, "/tmp");
	DIR *d = opendir(buf_cstr(&path));
	if (d == NULL) {
		set_err(err, "open", buf_cstr(&path));
		buf_free(&path);
		return -1;
	}
	long removed = 0;
	time_t now = time(NULL);
	size_t base = path.len;
	struct dirent *de;
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		struct stat st;
		buf_truncate(&path, base);
		buf_printf(&path, "/%s", de->d_name);
		/* min_age 0 takes everything, even a file stamped a tick ahead of now */
		if (lstat(buf_cstr(&path), &st) < 0 || !S_ISREG(st.st_mode) ||
		    (min_age > 0 && (int64_t)(now - st.st_mtime) < min_age))
			continue;
		if (unlink(buf_cstr(&path)) == 0)
			removed++;
	}
	closedir(d);
	buf_free(&path);
	return removed;
}
