/* mdflags_fuzz: lib/mdflags (Maildir file names: base, info, flags, size
 * fields). The first byte is a flag to set or clear; the rest is a file
 * name as a directory listing might hold it. Invariants: the parts of a
 * parsed name lie inside it; setting flags gives a name that parses with
 * exactly those flags and the same base; formatting flags is canonical. */
#include "fuzz.h"
#include "buf.h"
#include "mdflags.h"

static void check_parts(const struct mdflags_name *n, const char *s, size_t len)
{
	FUZZ_CHECK(n->base == s && n->base_len > 0 && n->base_len <= len);
	if (n->info != MDFLAGS_INFO_NONE)
		FUZZ_CHECK(n->info_data >= s && n->info_data + n->info_len <= s + len);
}

static void check_with(const char *s, size_t len, const struct mdflags_name *n, int flag)
{
	struct buf out = BUF_INIT;
	struct mdflags f = n->flags;
	if (mdflags_add(&f, flag) < 0)
		FUZZ_CHECK(!mdflags_valid(flag));
	if (mdflags_name_with(s, len, &f, &out) == 0) {
		struct mdflags_name m;
		FUZZ_CHECK(mdflags_name_parse(&m, out.data, out.len) == 0);
		FUZZ_CHECK(m.info == MDFLAGS_INFO_2 && mdflags_equal(&m.flags, &f));
		FUZZ_CHECK(fuzz_eq(m.base, m.base_len, n->base, n->base_len));
		struct buf set = BUF_INIT;
		if (mdflags_name_set(s, len, flag, 1, &set) == 0)
			FUZZ_CHECK(fuzz_eq(set.data, set.len, out.data, out.len));
		buf_reset(&set);
		if (mdflags_name_set(out.data, out.len, flag, 0, &set) == 0) {
			FUZZ_CHECK(mdflags_name_parse(&m, set.data, set.len) == 0);
			FUZZ_CHECK(!mdflags_has(&m.flags, flag));
		}
		buf_free(&set);
	}
	buf_free(&out);
}

static void check_format(const struct mdflags *f)
{
	struct buf text = BUF_INIT;
	struct mdflags g;
	mdflags_format(f, &text);
	FUZZ_CHECK(mdflags_parse(&g, text.data, text.len) == 0 && mdflags_equal(f, &g));
	for (size_t i = 1; i < text.len; i++)
		FUZZ_CHECK(text.data[i - 1] < text.data[i]);
	buf_free(&text);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_in in;
	fuzz_in_init(&in, data, size);
	int flag = (int)fuzz_take_byte(&in);
	const char *s = (const char *)in.p;
	size_t len = in.len;
	struct mdflags_name n;
	if (mdflags_name_parse(&n, s, len) == 0) {
		check_parts(&n, s, len);
		check_format(&n.flags);
		check_with(s, len, &n, flag);
	}
	struct mdflags f;
	if (mdflags_parse(&f, s, len) == 0)
		check_format(&f);
	uint64_t v;
	(void)mdflags_name_size(s, len, 'S', &v);
	(void)mdflags_name_size(s, len, 'W', &v);
	return 0;
}
