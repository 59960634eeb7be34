/* aliases_fuzz: lib/aliases, the aliases(5) source, a target list and a
 * compiled value, as courierd and aliases-compile read files that the
 * administrator (or, for :include: files, a user) writes. Byte 0 picks the
 * mode: 0 a whole source file, 1 a target list, 2 a compiled value, 3
 * aliases_compile of the source into a cdb (temp files), then every name is
 * looked up. Invariants: each accepted target is bounded, free of control
 * bytes and its canonical form decodes back to the same target; a list
 * formatted and joined by TAB decodes to the same list; refusals say why. */
#include "fuzz.h"
#include "aliases.h"
#include "buf.h"
#include "map.h"

static void check_list(const struct alias_list *l)
{
	struct buf joined = BUF_INIT, err = BUF_INIT;
	FUZZ_CHECK(l->count <= ALIASES_MAX_TARGETS);
	for (size_t i = 0; i < l->count; i++) {
		const struct alias_target *t = &l->items[i];
		size_t n = strlen(t->value);
		FUZZ_CHECK(n > 0 && n <= ALIASES_MAX_TARGET);
		for (size_t k = 0; k < n; k++)
			FUZZ_CHECK((unsigned char)t->value[k] >= 0x20 && t->value[k] != 0x7f);
		if (i > 0)
			buf_append_char(&joined, '\t');
		aliases_target_format(t, &joined);
	}
	if (l->count == 0)
		return;
	struct alias_list back = ALIAS_LIST_INIT;
	if (aliases_decode(joined.data, joined.len, &back, &err) < 0) {
		fprintf(stderr, "canonical \"%s\" does not decode: %s\n", buf_cstr(&joined),
			buf_cstr(&err));
		FUZZ_CHECK(0);
	}
	FUZZ_CHECK(back.count == l->count);
	for (size_t i = 0; i < l->count; i++) {
		FUZZ_CHECK(back.items[i].kind == l->items[i].kind);
		FUZZ_CHECK(strcmp(back.items[i].value, l->items[i].value) == 0);
	}
	alias_list_free(&back);
	buf_free(&joined);
	buf_free(&err);
}

static int entry_fn(void *ctx, const char *name, size_t line, const struct alias_list *t,
		    struct buf *err)
{
	(void)err;
	size_t *count = ctx;
	FUZZ_CHECK(line >= 1);
	FUZZ_CHECK(strlen(name) > 0 && strlen(name) <= ALIASES_MAX_NAME);
	check_list(t);
	(*count)++;
	return 0;
}

static void fuzz_compile(const char *s, size_t len)
{
	struct buf err = BUF_INIT;
	const char *src = fuzz_tmpfile(0, "aliases");
	const char *dst = fuzz_tmpfile(1, "aliases.cdb");
	fuzz_write_file(src, s, len);
	long n = aliases_compile(src, dst, &err);
	FUZZ_CHECK(n >= 0 || err.len > 0);
	if (n >= 0) {
		size_t seen = 0;
		FUZZ_CHECK(aliases_parse("f", s, len, entry_fn, &seen, &err) == 0);
		FUZZ_CHECK((size_t)n <= seen);
		unlink(dst);
	}
	unlink(src);
	buf_free(&err);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_in in;
	fuzz_in_init(&in, data, size);
	unsigned mode = fuzz_take_byte(&in) & 3;
	const char *s = (const char *)in.p;
	struct buf err = BUF_INIT;
	struct alias_list l = ALIAS_LIST_INIT;
	size_t count = 0;
	int r = 0;
	switch (mode) {
	case 0: r = aliases_parse("f", s, in.len, entry_fn, &count, &err); break;
	case 1: r = aliases_parse_targets(s, in.len, &l, &err); break;
	case 2: r = aliases_decode(s, in.len, &l, &err); break;
	default: fuzz_compile(s, in.len); break;
	}
	FUZZ_CHECK(r == 0 || err.len > 0);
	if (r == 0 && mode != 0)
		check_list(&l);
	alias_list_free(&l);
	buf_free(&err);
	return 0;
}
