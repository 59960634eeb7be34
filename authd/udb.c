/* udb: Courier userdb records: address normalisation and field access.
 * Trusts nothing in its input; see udb.h. */
#include "udb.h"
#include "buf.h"

#include <string.h>

static int bad_addr_byte(unsigned char c)
{
	return c < 0x21 || c == 0x7f || c == '|';
}

int udb_normalize(struct buf *out, const char *addr, size_t len)
{
	if (len == 0 || len > UDB_MAX_ADDRESS || addr[0] == '#')
		return -1;
	for (size_t i = 0; i < len; i++)
		if (bad_addr_byte((unsigned char)addr[i]))
			return -1;
	size_t at = len;
	for (size_t i = len; i > 0; i--)
		if (addr[i - 1] == '@') {
			at = i - 1;
			break;
		}
	buf_set(out, addr, len);
	for (size_t i = at; i < len; i++)
		if (out->data[i] >= 'A' && out->data[i] <= 'Z')
			out->data[i] = (char)(out->data[i] - 'A' + 'a');
	return 0;
}

int udb_valid_name(const char *s, size_t len)
{
	if (len == 0 || len > 64)
		return 0;
	for (size_t i = 0; i < len; i++) {
		char c = s[i];
		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-'))
			return 0;
	}
	return 1;
}

int udb_valid_value(const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c < 0x20 || c == 0x7f || c == '|')
			return 0;
	}
	return 1;
}

/* Walk the fields: calls each(name, nlen, val, vlen, ctx) until it returns
 * non-zero; -1 on a malformed field. */
typedef int (*field_fn)(const char *n, size_t nl, const char *v, size_t vl, void *ctx);

static int udb_walk(const char *s, size_t len, field_fn each, void *ctx)
{
	size_t i = 0, count = 0;
	while (i < len) {
		if (++count > UDB_MAX_FIELDS)
			return -1;
		const char *f = s + i;
		const char *bar = memchr(f, '|', len - i);
		size_t flen = bar ? (size_t)(bar - f) : len - i;
		i += flen + (bar != NULL);
		if (flen == 0)
			continue; /* "a=1||b=2" and a trailing '|' are harmless */
		const char *eq = memchr(f, '=', flen);
		size_t nlen = eq ? (size_t)(eq - f) : flen;
		const char *v = eq ? eq + 1 : f + flen;
		size_t vlen = eq ? flen - nlen - 1 : 0;
		if (!udb_valid_name(f, nlen) || !udb_valid_value(v, vlen))
			return -1;
		int r = each(f, nlen, v, vlen, ctx);
		if (r)
			return r;
	}
	return 0;
}

struct find_ctx {
	const char *name;
	const char *val;
	size_t vlen;
};

static int find_one(const char *n, size_t nl, const char *v, size_t vl, void *ctx)
{
	struct find_ctx *c = ctx;
	if (strlen(c->name) != nl || memcmp(c->name, n, nl) != 0)
		return 0;
	c->val = v;
	c->vlen = vl;
	return 1;
}

int udb_field(const char *s, size_t len, const char *name, const char **val, size_t *vlen)
{
	struct find_ctx c = { name, NULL, 0 };
	if (udb_walk(s, len, find_one, &c) != 1)
		return 0;
	*val = c.val;
	*vlen = c.vlen;
	return 1;
}

static int is_id(const char *v, size_t len)
{
	if (len == 0 || len > 10)
		return 0;
	unsigned long long n = 0;
	for (size_t i = 0; i < len; i++) {
		if (v[i] < '0' || v[i] > '9')
			return 0;
		n = n * 10 + (unsigned)(v[i] - '0');
	}
	return n < 4294967295ULL;
}

struct check_ctx {
	const char *s;
	size_t len;
	unsigned seen; /* 1 uid, 2 gid, 4 home */
	const char *msg;
};

static int check_one(const char *n, size_t nl, const char *v, size_t vl, void *ctx)
{
	struct check_ctx *c = ctx;
	/* a name given twice: look for it again after this field */
	const char *after = v + vl;
	size_t rest = (size_t)(c->s + c->len - after);
	char name[65];
	memcpy(name, n, nl);
	name[nl] = '\0';
	const char *dv;
	size_t dl;
	if (udb_field(after, rest, name, &dv, &dl)) {
		c->msg = "a field is given twice";
		return 1;
	}
	if (strcmp(name, "uid") == 0 || strcmp(name, "gid") == 0) {
		if (!is_id(v, vl)) {
			c->msg = "uid and gid must be decimal numbers";
			return 1;
		}
		c->seen |= name[0] == 'u' ? 1u : 2u;
	} else if (strcmp(name, "home") == 0) {
		if (vl == 0 || v[0] != '/') {
			c->msg = "home must be an absolute path";
			return 1;
		}
		c->seen |= 4;
	}
	return 0;
}

const char *udb_check_record(const char *s, size_t len)
{
	if (len > UDB_MAX_RECORD)
		return "record too long";
	struct check_ctx c = { s, len, 0, NULL };
	int r = udb_walk(s, len, check_one, &c);
	if (r < 0)
		return "malformed field (name=value, no '|' or control bytes in values)";
	if (c.msg)
		return c.msg;
	if (c.seen != 7)
		return "uid, gid and home are required";
	return NULL;
}
