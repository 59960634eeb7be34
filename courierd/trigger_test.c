#include "trigger.h"
#include "buf.h"
#include "unit.h"

#include <string.h>

static void collect(const char *id, void *arg)
{
	struct buf *b = arg;
	buf_append_str(b, id);
	buf_append_char(b, ',');
}

#define ID1 "0123456789abcdef0123"
#define ID2 "ffffffffffff00000000"

TEST(trigger_ids_in_one_read)
{
	struct trigger t = TRIGGER_INIT;
	struct buf got = BUF_INIT;
	const char *in = ID1 "\n" ID2 "\n";
	trigger_feed(&t, in, strlen(in), collect, &got);
	CHECK_STR(buf_cstr(&got), ID1 "," ID2 ",");
	CHECK_INT(t.rescan, 0);
	buf_free(&got);
}

TEST(trigger_id_split_across_reads)
{
	struct trigger t = TRIGGER_INIT;
	struct buf got = BUF_INIT;
	const char *in = ID1 "\n" ID2 "\n";
	for (size_t i = 0; i < strlen(in); i++)
		trigger_feed(&t, in + i, 1, collect, &got);
	CHECK_STR(buf_cstr(&got), ID1 "," ID2 ",");
	CHECK_INT(t.rescan, 0);
	buf_free(&got);
}

TEST(trigger_old_poke_asks_for_rescan)
{
	struct trigger t = TRIGGER_INIT;
	struct buf got = BUF_INIT;
	trigger_feed(&t, "x", 1, collect, &got);
	CHECK_INT(t.rescan, 1);
	t.rescan = 0;
	/* the junk line ends at the next LF; the id after it still counts */
	trigger_feed(&t, "xx\n" ID1 "\n", 3 + 21, collect, &got);
	CHECK_STR(buf_cstr(&got), ID1 ",");
	buf_free(&got);
}

TEST(trigger_hostile_lines)
{
	static const char *const bad[] = {
		"0123456789ABCDEF0123\n",      /* uppercase */
		"0123456789abcdef01234\n",     /* too long */
		"0123456789abcdef012\n",       /* too short */
		"\n",                          /* empty */
		"0123456789abcdef\0" "123\n",  /* NUL inside */
		"../../etc/passwd00000\n",
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		struct trigger t = TRIGGER_INIT;
		struct buf got = BUF_INIT;
		size_t n = i == 4 ? 21 : strlen(bad[i]);
		trigger_feed(&t, bad[i], n, collect, &got);
		CHECK_INT((int)got.len, 0);
		CHECK_INT(t.rescan, 1);
		buf_free(&got);
	}
}

TEST(trigger_endless_line_stays_bounded)
{
	struct trigger t = TRIGGER_INIT;
	struct buf got = BUF_INIT;
	char junk[4096];
	memset(junk, 'a', sizeof junk);
	for (int i = 0; i < 100; i++)
		trigger_feed(&t, junk, sizeof junk, collect, &got);
	CHECK(t.len <= QUEUE_ID_LEN);
	trigger_feed(&t, "\n" ID2 "\n", 22, collect, &got);
	CHECK_STR(buf_cstr(&got), ID2 ",");
	CHECK_INT(t.rescan, 1);
	buf_free(&got);
}
