#include "buf.h"
#include "mdflags.h"
#include "unit.h"

#include <errno.h>
#include <stdint.h>

static int name_with_str(const char *name, const char *flags, struct buf *out)
{
	struct mdflags f;
	if (mdflags_parse(&f, flags, strlen(flags)) < 0)
		return -1;
	return mdflags_name_with(name, strlen(name), &f, out);
}

TEST(mdflags_parse_format_sorted_unique)
{
	struct mdflags f;
	struct buf b = BUF_INIT;
	CHECK_INT(mdflags_parse(&f, "TSSRPFDaDzS", 11), 0);
	mdflags_format(&f, &b);
	CHECK_BUF(b, "DFPRSTaz");
	CHECK(mdflags_has(&f, 'S'));
	CHECK(!mdflags_has(&f, 'b'));
	/* unknown printable flags are kept, in ASCII order */
	buf_reset(&b);
	CHECK_INT(mdflags_parse(&f, "xA9S!~", 6), 0);
	mdflags_format(&f, &b);
	CHECK_BUF(b, "!9ASx~");
	/* empty set */
	buf_reset(&b);
	CHECK_INT(mdflags_parse(&f, "", 0), 0);
	mdflags_format(&f, &b);
	CHECK_INT(b.len, 0);
	buf_free(&b);
}

TEST(mdflags_parse_rejects_bad_bytes)
{
	struct mdflags f;
	CHECK_INT(mdflags_parse(&f, "S\0R", 3), -1);
	CHECK_INT(errno, EINVAL);
	CHECK(!mdflags_has(&f, 'S')); /* left empty on failure */
	CHECK_INT(mdflags_parse(&f, "S R", 3), -1);
	CHECK_INT(mdflags_parse(&f, "S/", 2), -1);
	CHECK_INT(mdflags_parse(&f, "S:", 2), -1);
	CHECK_INT(mdflags_parse(&f, "S\x7f", 2), -1);
	CHECK_INT(mdflags_parse(&f, "S\xc3\xa9", 3), -1);
	CHECK_INT(mdflags_parse(&f, "\n", 1), -1);
	CHECK_INT(mdflags_add(&f, 0x80), -1);
	CHECK_INT(mdflags_add(&f, -1), -1);
	CHECK_INT(mdflags_add(&f, 1000), -1);
	CHECK(!mdflags_has(&f, 1000));
	CHECK(!mdflags_has(&f, -5));
}

TEST(mdflags_add_remove)
{
	struct mdflags f = { { 0, 0 } }, g;
	CHECK_INT(mdflags_add(&f, 'S'), 0);
	CHECK_INT(mdflags_add(&f, 'S'), 0);
	CHECK_INT(mdflags_add(&f, 'a'), 0);
	CHECK_INT(mdflags_remove(&f, 'S'), 0);
	CHECK_INT(mdflags_remove(&f, 'S'), 0);
	CHECK_INT(mdflags_parse(&g, "a", 1), 0);
	CHECK(mdflags_equal(&f, &g));
}

TEST(mdflags_name_parse_kinds)
{
	struct mdflags_name n;
	const char *s = "1700000000.M1P2R3.host,S=10:2,SR";
	CHECK_INT(mdflags_name_parse(&n, s, strlen(s)), 0);
	CHECK_INT(n.info, MDFLAGS_INFO_2);
	CHECK_MEM(n.base, n.base_len, "1700000000.M1P2R3.host,S=10", 27);
	CHECK_MEM(n.info_data, n.info_len, "SR", 2);
	CHECK(mdflags_has(&n.flags, 'R'));

	CHECK_INT(mdflags_name_parse(&n, "abc", 3), 0);
	CHECK_INT(n.info, MDFLAGS_INFO_NONE);
	CHECK_INT(n.base_len, 3);

	CHECK_INT(mdflags_name_parse(&n, "abc:1,xyz", 9), 0);
	CHECK_INT(n.info, MDFLAGS_INFO_1);
	CHECK_MEM(n.info_data, n.info_len, "1,xyz", 5);

	CHECK_INT(mdflags_name_parse(&n, "abc:2", 5), 0);
	CHECK_INT(n.info, MDFLAGS_INFO_OTHER);
	CHECK_INT(mdflags_name_parse(&n, "abc:", 4), 0);
	CHECK_INT(n.info, MDFLAGS_INFO_OTHER);
	CHECK_INT(n.info_len, 0);
	CHECK_INT(mdflags_name_parse(&n, "abc:2,", 6), 0);
	CHECK_INT(n.info, MDFLAGS_INFO_2);
	CHECK_INT(n.info_len, 0);
	/* the last ':' starts the info */
	CHECK_INT(mdflags_name_parse(&n, "a:b:2,S", 7), 0);
	CHECK_MEM(n.base, n.base_len, "a:b", 3);
	CHECK_INT(n.info, MDFLAGS_INFO_2);
}

TEST(mdflags_name_parse_hostile)
{
	struct mdflags_name n;
	CHECK_INT(mdflags_name_parse(&n, "", 0), -1);
	CHECK_INT(errno, EINVAL);
	CHECK_INT(mdflags_name_parse(&n, ":2,S", 4), -1);
	CHECK_INT(mdflags_name_parse(&n, "ab\0c:2,S", 8), -1);
	CHECK_INT(mdflags_name_parse(&n, "abc:2,S\0", 8), -1);
	CHECK_INT(mdflags_name_parse(&n, "a/b:2,S", 7), -1);
	CHECK_INT(mdflags_name_parse(&n, "abc:2,S\n", 8), -1);
	CHECK_INT(mdflags_name_parse(&n, "abc:2,\xff", 7), -1);

	char big[1000];
	memset(big, 'x', sizeof big);
	CHECK_INT(mdflags_name_parse(&n, big, 256), -1);
	CHECK_INT(errno, ENAMETOOLONG);
	CHECK_INT(mdflags_name_parse(&n, big, sizeof big), -1);
	CHECK_INT(mdflags_name_parse(&n, big, 255), 0);
	/* a NUL-free, flag-only long info */
	memcpy(big + 200, ":2,", 3);
	CHECK_INT(mdflags_name_parse(&n, big, 255), 0);
	CHECK_INT(n.info, MDFLAGS_INFO_2);
	CHECK(mdflags_has(&n.flags, 'x'));
}

TEST(mdflags_name_round_trips)
{
	static const char *const same[] = {
		"1.M2P3R4.h:2,",
		"1.M2P3R4.h:2,S",
		"1.M2P3R4.h,S=5,W=6:2,DFPRSTabz",
		"x:2,!09AZaz~",
	};
	struct buf b = BUF_INIT;
	for (size_t i = 0; i < sizeof same / sizeof same[0]; i++) {
		struct mdflags_name n;
		CHECK_INT(mdflags_name_parse(&n, same[i], strlen(same[i])), 0);
		CHECK_INT(mdflags_name_with(same[i], strlen(same[i]), &n.flags, &b), 0);
		CHECK_STR(buf_cstr(&b), same[i]);
	}
	CHECK_INT(name_with_str("m:2,TSRSS", "TSRSS", &b), 0);
	CHECK_STR(buf_cstr(&b), "m:2,RST");
	CHECK_INT(name_with_str("m", "", &b), 0);
	CHECK_STR(buf_cstr(&b), "m:2,");
	buf_free(&b);
}

TEST(mdflags_name_set_one)
{
	struct buf b = BUF_INIT;
	CHECK_INT(mdflags_name_set("m", 1, 'S', 1, &b), 0);
	CHECK_STR(buf_cstr(&b), "m:2,S");
	CHECK_INT(mdflags_name_set("m:2,S", 5, 'F', 1, &b), 0);
	CHECK_STR(buf_cstr(&b), "m:2,FS");
	CHECK_INT(mdflags_name_set("m:2,FS", 6, 'S', 1, &b), 0);
	CHECK_STR(buf_cstr(&b), "m:2,FS");
	CHECK_INT(mdflags_name_set("m:2,FS", 6, 'F', 0, &b), 0);
	CHECK_STR(buf_cstr(&b), "m:2,S");
	CHECK_INT(mdflags_name_set("m:2,S", 5, 'T', 0, &b), 0);
	CHECK_STR(buf_cstr(&b), "m:2,S");
	CHECK_INT(mdflags_name_set("m:2,Sq", 6, 'a', 1, &b), 0);
	CHECK_STR(buf_cstr(&b), "m:2,Saq");
	/* keyword letters and unknown flags survive a change */
	CHECK_INT(mdflags_name_set("m:2,zX!", 7, 'S', 1, &b), 0);
	CHECK_STR(buf_cstr(&b), "m:2,!SXz");
	/* bad flag byte, experimental and unknown info */
	CHECK_INT(mdflags_name_set("m:2,S", 5, ':', 1, &b), -1);
	CHECK_INT(errno, EINVAL);
	CHECK_INT(mdflags_name_set("m:2,S", 5, '\0', 0, &b), -1);
	CHECK_INT(mdflags_name_set("m:1,S", 5, 'F', 1, &b), -1);
	CHECK_INT(errno, EINVAL);
	CHECK_INT(mdflags_name_set("m:3,S", 5, 'F', 1, &b), -1);
	CHECK_INT(mdflags_name_set("m:2S", 4, 'F', 1, &b), -1);
	buf_free(&b);
}

TEST(mdflags_name_set_too_long)
{
	char name[256];
	memset(name, 'x', 250);
	memcpy(name + 250, ":2,S", 5); /* 254 bytes + NUL */
	struct buf b = BUF_INIT;
	CHECK_INT(mdflags_name_set(name, 254, 'F', 1, &b), 0);
	CHECK_INT(b.len, 255);
	CHECK_INT(mdflags_name_set(buf_cstr(&b), b.len, 'R', 1, &b), -1);
	CHECK_INT(errno, ENAMETOOLONG);
	/* base 253, no info: ":2," would make 256 */
	memset(name, 'y', 253);
	CHECK_INT(mdflags_name_set(name, 253, 'S', 0, &b), -1);
	CHECK_INT(errno, ENAMETOOLONG);
	buf_free(&b);
}

static int size_of(const char *name, int field, uint64_t *v)
{
	return mdflags_name_size(name, strlen(name), field, v);
}

TEST(mdflags_name_sizes)
{
	uint64_t v = 0;
	CHECK_INT(size_of("1.M2P3R4.host,S=1234,W=1260:2,S", 'S', &v), 0);
	CHECK_INT(v, 1234);
	CHECK_INT(size_of("1.M2P3R4.host,S=1234,W=1260:2,S", 'W', &v), 0);
	CHECK_INT(v, 1260);
	CHECK_INT(size_of("1.M2P3R4.host,W=7", 'W', &v), 0);
	CHECK_INT(v, 7);
	CHECK_INT(size_of("1.M2P3R4.host,W=7", 'S', &v), -1);
	CHECK_INT(errno, ENOENT);
	CHECK_INT(size_of("1.M2P3R4.host", 'S', &v), -1);
	CHECK_INT(errno, ENOENT);
	/* the info part is not searched */
	CHECK_INT(size_of("1.host:2,S=5", 'S', &v), -1);
	CHECK_INT(errno, ENOENT);
	CHECK_INT(size_of("h,S=18446744073709551615", 'S', &v), 0);
	CHECK(v == UINT64_MAX);
	CHECK_INT(size_of("h,S=18446744073709551616", 'S', &v), -1);
	CHECK_INT(errno, EINVAL);
	CHECK_INT(size_of("h,S=000000000000000000001", 'S', &v), -1);
	CHECK_INT(size_of("h,S=", 'S', &v), -1);
	CHECK_INT(errno, EINVAL);
	CHECK_INT(size_of("h,S=12a", 'S', &v), -1);
	CHECK_INT(size_of("h,S=-1", 'S', &v), -1);
	CHECK_INT(size_of("h,S= 1", 'S', &v), -1);
	CHECK_INT(size_of("h,XS=1,S=2", 'S', &v), 0);
	CHECK_INT(v, 2);
	CHECK_INT(size_of("h,,S=3,", 'S', &v), 0);
	CHECK_INT(v, 3);
	CHECK_INT(mdflags_name_size("h,S=1\0", 6, 'S', &v), -1);
	CHECK_INT(errno, EINVAL);
}
