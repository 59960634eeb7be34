/* addrlist_fuzz: lib/addrlist (RFC 5322 address lists in header values).
 * The first byte picks the options (small item limits, KEEP_INVALID, the
 * addr flags); the rest is the header value. Invariants: on error nothing of
 * the call is kept and the offset is inside the input; addrlist_extract
 * agrees with addrlist_parse. */
#include "fuzz.h"
#include "addrlist.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_in in;
	fuzz_in_init(&in, data, size);
	unsigned opt = fuzz_take_byte(&in);
	struct addrlist_opts o = {
		.max_items = (opt & 0x80) ? (opt & 0x07) + 1 : 0,
		.max_len = (opt & 0x40) ? 200 : 0,
		.addr_flags = (opt & 0x08) ? ADDR_SMTPUTF8 : 0,
		.flags = (opt & 0x20) ? ADDRLIST_KEEP_INVALID : 0,
	};
	if (opt & 0x10)
		o.addr_flags |= ADDR_ALLOW_NODOMAIN;
	if ((opt & 0x84) == 0x04) /* the low bits are max_items' only with 0x80 */
		o.flags |= ADDRLIST_GROUPS;
	const char *s = (const char *)in.p;
	struct addrlist l = ADDRLIST_INIT;
	struct addrlist_error err;
	enum addrlist_err e = addrlist_parse(s, in.len, &o, &l, &err);
	FUZZ_CHECK(addrlist_strerror(e) != NULL);
	if (e != ADDRLIST_OK) {
		FUZZ_CHECK(l.count == 0);
		FUZZ_CHECK(err.code == e && err.offset <= in.len);
	} else {
		FUZZ_CHECK(o.max_items == 0 || l.count <= o.max_items);
		int open = 0; /* groups: a start, its mailboxes, an end; never nested */
		for (size_t i = 0; i < l.count; i++) {
			const struct addrlist_item *it = &l.items[i];
			FUZZ_CHECK(it->group == ADDRLIST_MAILBOX || (o.flags & ADDRLIST_GROUPS));
			FUZZ_CHECK(it->group == ADDRLIST_MAILBOX || it->address.len == 0);
			if (it->group == ADDRLIST_GROUP_START)
				FUZZ_CHECK(open++ == 0);
			if (it->group == ADDRLIST_GROUP_END)
				FUZZ_CHECK(--open == 0);
			FUZZ_CHECK(memchr(it->name.data ? it->name.data : "", '\n', it->name.len) == NULL);
			FUZZ_CHECK(it->err == ADDR_OK || (o.flags & ADDRLIST_KEEP_INVALID));
		}
		FUZZ_CHECK(open == 0);
	}
	/* a second call appends to the same list */
	size_t before = l.count;
	struct addrlist_error err2;
	enum addrlist_err e2 = addrlist_parse(s, in.len, &o, &l, &err2);
	FUZZ_CHECK(e2 == e);
	FUZZ_CHECK(l.count == (e == ADDRLIST_OK ? 2 * before : before));
	struct buf out = BUF_INIT;
	FUZZ_CHECK(addrlist_extract(s, in.len, &o, '\n', &out, NULL) == e);
	buf_free(&out);
	addrlist_free(&l);
	return 0;
}
