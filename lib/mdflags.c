/* mdflags: parse and format the ":2,FLAGS" info of Maildir file names.
 * Trusts nothing: names come from directories other programs write to. */
#include "mdflags.h"
#include "buf.h"

#include <errno.h>
#include <string.h>

int mdflags_valid(int c)
{
	return c > 0x20 && c < 0x7f && c != '/' && c != ':';
}

int mdflags_has(const struct mdflags *f, int c)
{
	if (!mdflags_valid(c))
		return 0;
	return (f->bits[c >> 6] >> (c & 63)) & 1;
}

int mdflags_add(struct mdflags *f, int c)
{
	if (!mdflags_valid(c)) {
		errno = EINVAL;
		return -1;
	}
	f->bits[c >> 6] |= (uint64_t)1 << (c & 63);
	return 0;
}

int mdflags_remove(struct mdflags *f, int c)
{
	if (!mdflags_valid(c)) {
		errno = EINVAL;
		return -1;
	}
	f->bits[c >> 6] &= ~((uint64_t)1 << (c & 63));
	return 0;
}

int mdflags_equal(const struct mdflags *a, const struct mdflags *b)
{
	return a->bits[0] == b->bits[0] && a->bits[1] == b->bits[1];
}

int mdflags_parse(struct mdflags *f, const char *s, size_t len)
{
	memset(f, 0, sizeof *f);
	for (size_t i = 0; i < len; i++) {
		if (mdflags_add(f, (unsigned char)s[i]) < 0) {
			memset(f, 0, sizeof *f);
			return -1;
		}
	}
	return 0;
}

void mdflags_format(const struct mdflags *f, struct buf *out)
{
	/* walking the bits upwards is the ASCII order the spec asks for */
	for (int c = 0x21; c < 0x7f; c++)
		if (mdflags_has(f, c))
			buf_append_char(out, (char)c);
}

static void name_info(struct mdflags_name *n, const char *info, size_t len)
{
	n->info_data = info;
	n->info_len = len;
	if (len >= 2 && info[0] == '2' && info[1] == ',') {
		n->info = MDFLAGS_INFO_2;
		n->info_data = info + 2;
		n->info_len = len - 2;
	} else if (len >= 2 && info[0] == '1' && info[1] == ',') {
		n->info = MDFLAGS_INFO_1;
	} else {
		n->info = MDFLAGS_INFO_OTHER;
	}
}

int mdflags_name_parse(struct mdflags_name *n, const char *name, size_t len)
{
	memset(n, 0, sizeof *n);
	if (len > MDFLAGS_NAME_MAX) {
		errno = ENAMETOOLONG;
		return -1;
	}
	if (len == 0 || memchr(name, '\0', len) || memchr(name, '/', len)) {
		errno = EINVAL;
		return -1;
	}
	/* the base never holds a ':' of ours (hosts are escaped), so the last
	 * one starts the info, as in Courier */
	const char *colon = NULL;
	for (size_t i = len; i > 0; i--) {
		if (name[i - 1] == ':') {
			colon = name + i - 1;
			break;
		}
	}
	n->base = name;
	n->base_len = colon ? (size_t)(colon - name) : len;
	if (n->base_len == 0) {
		errno = EINVAL;
		return -1;
	}
	if (colon == NULL) {
		n->info = MDFLAGS_INFO_NONE;
		return 0;
	}
	name_info(n, colon + 1, len - n->base_len - 1);
	if (n->info == MDFLAGS_INFO_2 && mdflags_parse(&n->flags, n->info_data, n->info_len) < 0)
		return -1;
	return 0;
}

int mdflags_name_with(const char *name, size_t len, const struct mdflags *f, struct buf *out)
{
	struct mdflags_name n;
	if (mdflags_name_parse(&n, name, len) < 0)
		return -1;
	if (n.info != MDFLAGS_INFO_NONE && n.info != MDFLAGS_INFO_2) {
		errno = EINVAL;
		return -1;
	}
	buf_reset(out);
	buf_append(out, n.base, n.base_len);
	buf_append(out, ":2,", 3);
	mdflags_format(f, out);
	if (out->len > MDFLAGS_NAME_MAX) {
		buf_reset(out);
		errno = ENAMETOOLONG;
		return -1;
	}
	return 0;
}

int mdflags_name_set(const char *name, size_t len, int flag, int on, struct buf *out)
{
	struct mdflags_name n;
	if (mdflags_name_parse(&n, name, len) < 0)
		return -1;
	struct mdflags f = n.flags;
	if ((on ? mdflags_add(&f, flag) : mdflags_remove(&f, flag)) < 0)
		return -1;
	return mdflags_name_with(name, len, &f, out);
}

/* A decimal value of 1 to 20 digits that fits in 64 bits. */
static int parse_u64(const char *s, size_t len, uint64_t *out)
{
	uint64_t v = 0;
	if (len == 0 || len > 20)
		return -1;
	for (size_t i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		unsigned d = (unsigned)(s[i] - '0');
		if (v > (UINT64_MAX - d) / 10)
			return -1;
		v = v * 10 + d;
	}
	*out = v;
	return 0;
}

int mdflags_name_size(const char *name, size_t len, int field, uint64_t *out)
{
	struct mdflags_name n;
	if (mdflags_name_parse(&n, name, len) < 0)
		return -1;
	/* the fields follow the unique part: BASE,S=123,W=130 */
	const char *p = memchr(n.base, ',', n.base_len);
	const char *end = n.base + n.base_len;
	while (p != NULL) {
		const char *seg = p + 1;
		const char *next = memchr(seg, ',', (size_t)(end - seg));
		size_t seglen = (size_t)((next ? next : end) - seg);
		if (seglen >= 2 && seg[0] == field && seg[1] == '=') {
			if (parse_u64(seg + 2, seglen - 2, out) < 0) {
				errno = EINVAL;
				return -1;
			}
			return 0;
		}
		p = next;
	}
	errno = ENOENT;
	return -1;
}
