/* Tests for ipaddr: loopback in every form, near misses, and non-addresses. */
#include "ipaddr.h"
#include "unit.h"

TEST(loopback_forms)
{
	CHECK(ipaddr_is_loopback("127.0.0.1"));
	CHECK(ipaddr_is_loopback("127.255.3.4"));
	CHECK(ipaddr_is_loopback("::1"));
	CHECK(ipaddr_is_loopback("0:0:0:0:0:0:0:1"));
	CHECK(ipaddr_is_loopback("::ffff:127.0.0.2"));
}

TEST(not_loopback)
{
	CHECK(!ipaddr_is_loopback("128.0.0.1"));
	CHECK(!ipaddr_is_loopback("10.127.0.1"));
	CHECK(!ipaddr_is_loopback("::2"));
	CHECK(!ipaddr_is_loopback("::ffff:10.0.0.1"));
	CHECK(!ipaddr_is_loopback("::127.0.0.1")); /* IPv4-compatible, not mapped */
	CHECK(!ipaddr_is_loopback(""));
	CHECK(!ipaddr_is_loopback("localhost"));
	CHECK(!ipaddr_is_loopback("127.0.0.1 "));
	CHECK(!ipaddr_is_loopback("127.0.0.1\n"));
	CHECK(!ipaddr_is_loopback(NULL));
}
