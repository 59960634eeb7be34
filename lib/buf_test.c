#include "buf.h"
#include "unit.h"

#include <stdint.h>
#include <stdlib.h>

TEST(buf_empty_is_valid)
{
	struct buf b = BUF_INIT;
	CHECK_INT(b.len, 0);
	CHECK_STR(buf_cstr(&b), "");
	CHECK(buf_eq_str(&b, ""));
	buf_free(&b);
	buf_free(&b); /* freeing twice is harmless */
}

TEST(buf_append_grows_and_terminates)
{
	struct buf b = BUF_INIT;
	for (int i = 0; i < 10000; i++)
		buf_append(&b, "ab", 2);
	CHECK_INT(b.len, 20000);
	CHECK(b.cap > b.len);
	CHECK(b.data[b.len] == '\0');
	CHECK(b.data[19998] == 'a' && b.data[19999] == 'b');
	buf_free(&b);
}

TEST(buf_keeps_nul_bytes)
{
	struct buf b = BUF_INIT;
	buf_append(&b, "a\0b", 3);
	CHECK_INT(b.len, 3);
	CHECK(buf_has_nul(&b));
	CHECK_MEM(b.data, b.len, "a\0b", 3);
	CHECK(!buf_eq_str(&b, "a"));
	buf_free(&b);
}

TEST(buf_printf_and_numbers)
{
	struct buf b = BUF_INIT;
	buf_printf(&b, "%s=%d;", "x", 42);
	buf_append_u64(&b, 0);
	buf_append_char(&b, ',');
	buf_append_u64(&b, UINT64_MAX);
	CHECK_BUF(b, "x=42;0,18446744073709551615");
	buf_reset(&b);
	/* longer than the initial capacity */
	buf_printf(&b, "%0300d", 7);
	CHECK_INT(b.len, 300);
	CHECK(b.data[299] == '7' && b.data[0] == '0');
	buf_free(&b);
}

TEST(buf_consume_truncate_set)
{
	struct buf b = BUF_INIT;
	buf_set_str(&b, "hello world");
	buf_consume(&b, 6);
	CHECK_BUF(b, "world");
	buf_truncate(&b, 3);
	CHECK_BUF(b, "wor");
	buf_truncate(&b, 10);
	CHECK_BUF(b, "wor");
	buf_consume(&b, 99);
	CHECK_BUF(b, "");
	buf_free(&b);
}

TEST(buf_append_from_itself)
{
	struct buf b = BUF_INIT;
	buf_set_str(&b, "abc");
	for (int i = 0; i < 8; i++)
		buf_append(&b, b.data, b.len); /* source moves when b grows */
	CHECK_INT(b.len, 3 * 256);
	CHECK_MEM(b.data + 3 * 255, 3, "abc", 3);
	buf_free(&b);
}

TEST(buf_space_commit)
{
	struct buf b = BUF_INIT;
	char *p = buf_space(&b, 5);
	memcpy(p, "12345", 5);
	buf_commit(&b, 5);
	CHECK_BUF(b, "12345");
	char *s = buf_detach(&b);
	CHECK_STR(s, "12345");
	CHECK(b.data == NULL && b.len == 0);
	free(s);
}

TEST(buf_nocase_compare)
{
	struct buf b = BUF_INIT;
	buf_set_str(&b, "EHLO");
	CHECK(buf_eq_str_nocase(&b, "ehlo"));
	CHECK(!buf_eq_str_nocase(&b, "ehl"));
	buf_set(&b, "EH\0O", 4);
	CHECK(!buf_eq_str_nocase(&b, "ehlo"));
	buf_free(&b);
}

TEST(buf_error_replaces_or_ignores)
{
	struct buf err = BUF_INIT;
	buf_set_str(&err, "old");
	buf_error(&err, "%s:%d: bad", "file", 3);
	CHECK_BUF(err, "file:3: bad");
	buf_error(NULL, "ignored %d", 1);
	buf_free(&err);
}
