/* remote_conf tests: remote.routes lines (good, hostile, malformed), the
 * route lookup order, and remote.conf settings from a temporary instance. */
#include "remote.h"
#include "buf.h"
#include "file.h"
#include "paths.h"
#include "unit.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static int parse(const char *line, struct remote_route *r)
{
	struct buf err = BUF_INIT;
	int rc = remote_route_parse(line, strlen(line), r, &err);
	buf_free(&err);
	return rc;
}

TEST(remote_route_lines)
{
	struct remote_route r;
	CHECK_INT(parse("Example.COM relay.example.net:587 tls=verify auth=joe:pa:ss", &r), 0);
	CHECK_STR(r.domain, "example.com");
	CHECK_STR(r.host, "relay.example.net");
	CHECK_INT(r.port, 587);
	CHECK_INT(r.tls, SMTPC_TLS_VERIFY);
	CHECK_STR(r.user, "joe");
	CHECK_STR(r.pass, "pa:ss");
	CHECK_INT(r.literal, 0);
	remote_route_free(&r);
	CHECK_INT(parse("*\t[::1]:2525", &r), 0);
	CHECK_INT(r.literal, 1);
	CHECK_STR(r.host, "::1");
	CHECK_INT(r.port, 2525);
	CHECK_INT(r.tls, -1);
	remote_route_free(&r);
	CHECK_INT(parse(".example.org [192.0.2.1]", &r), 0);
	CHECK_INT(r.port, 0);
	remote_route_free(&r);
	static const char *const bad[] = {
		"", "example.com", "example.com relay:0", "example.com relay:65536",
		"example.com [not.an.ip]", "example.com [192.0.2.1", "example.com [::1]x",
		"example.com bad_host!", "example.com relay tls=sometimes",
		"example.com relay auth=nopassword", "example.com relay auth=:x",
		"example.com relay colour=red", "example.com relay:25x",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (parse(bad[i], &r) == 0)
			unit_fail(__FILE__, __LINE__, "accepted \"%s\"", bad[i]);
	struct buf err = BUF_INIT;
	CHECK_INT(remote_route_parse("a.b\0 relay", 11, &r, &err), -1);
	buf_free(&err);
}

TEST(remote_route_lookup_order)
{
	struct remote_conf c;
	memset(&c, 0, sizeof(c));
	struct remote_route routes[4];
	CHECK_INT(parse("* default.test", &routes[0]), 0);
	CHECK_INT(parse(".example.com sub.test", &routes[1]), 0);
	CHECK_INT(parse(".a.example.com deeper.test", &routes[2]), 0);
	CHECK_INT(parse("example.com exact.test", &routes[3]), 0);
	c.routes = routes;
	c.nroutes = 4;
	CHECK_STR(remote_route_find(&c, "example.com")->host, "exact.test");
	CHECK_STR(remote_route_find(&c, "x.example.com")->host, "sub.test");
	CHECK_STR(remote_route_find(&c, "x.a.example.com")->host, "deeper.test");
	CHECK_STR(remote_route_find(&c, "a.example.com")->host, "sub.test");
	CHECK_STR(remote_route_find(&c, "notexample.com")->host, "default.test");
	c.nroutes = 3;
	c.routes = routes + 1;
	CHECK(remote_route_find(&c, "other.test") == NULL);
	for (int i = 0; i < 4; i++)
		remote_route_free(&routes[i]);
}

static void put(const char *name, const char *text)
{
	struct buf p = BUF_INIT;
	buf_printf(&p, "%s/etc/estafette/%s", unit_tmpdir(), name);
	CHECK_INT(file_replace(buf_cstr(&p), text, strlen(text), 0644), 0);
	buf_free(&p);
}

TEST(remote_conf_files)
{
	struct buf dir = BUF_INIT, err = BUF_INIT;
	buf_printf(&dir, "%s/etc/estafette", unit_tmpdir());
	CHECK_INT(file_mkdirs(buf_cstr(&dir), 0755), 0);
	paths_set_root(unit_tmpdir());
	put("me", "mail.example.test\n");
	put("remote.conf", "port = 2525\ntls = encrypt\ninet = ipv6\ncommand_timeout = 7\n");
	put("remote.routes", "# smarthosts\n* [127.0.0.1]:26 auth=u:p\n");
	put("dns.conf", "forwarders = 127.0.0.1:53\n");
	struct remote_conf c;
	CHECK_INT(remote_conf_load(&c, &err), 0);
	CHECK_STR(buf_cstr(&c.helo), "mail.example.test");
	CHECK_INT(c.port, 2525);
	CHECK_INT(c.tls, SMTPC_TLS_ENCRYPT);
	CHECK_INT(c.want, DNS_WANT_INET6);
	CHECK_INT(c.timeouts.rcpt, 7000);
	CHECK_INT(c.nroutes, 1);
	CHECK_INT(c.dns.nforwarders, 1);
	remote_conf_free(&c);
	put("remote.routes", "* [127.0.0.1]:26\nbroken\n");
	CHECK_INT(remote_conf_load(&c, &err), -1);
	CHECK(strstr(buf_cstr(&err), "remote.routes:2:") != NULL);
	remote_conf_free(&c);
	put("remote.routes", "");
	put("remote.conf", "tls = sometimes\n");
	CHECK_INT(remote_conf_load(&c, &err), -1);
	remote_conf_free(&c);
	put("remote.conf", "prot = 25\n");
	CHECK_INT(remote_conf_load(&c, &err), -1);
	CHECK(strstr(buf_cstr(&err), "unknown setting prot") != NULL);
	remote_conf_free(&c);
	buf_free(&dir);
	buf_free(&err);
}

TEST(remote_route_limits)
{
	struct remote_route r;
	CHECK_INT(parse("slow.example concurrency=2 rate_delay=5 tls=verify", &r), 0);
	CHECK(r.host == NULL);  /* the MX hosts, with these limits and this TLS policy */
	CHECK_INT(r.concurrency, 2);
	CHECK_INT(r.rate_delay, 5000);
	CHECK_INT(r.tls, SMTPC_TLS_VERIFY);
	remote_route_free(&r);
	CHECK_INT(parse("x.example [192.0.2.1]:26 rate_delay=2m concurrency=0", &r), 0);
	CHECK_STR(r.host, "192.0.2.1");
	CHECK_INT(r.rate_delay, 120000);
	CHECK_INT(r.concurrency, 0);
	remote_route_free(&r);
	CHECK_INT(parse("x.example relay", &r), 0);
	CHECK_INT(r.concurrency, -1);
	CHECK_INT(r.rate_delay, -1);
	remote_route_free(&r);
	static const char *const bad[] = {
		"x.example concurrency=", "x.example concurrency=-1", "x.example concurrency=1001",
		"x.example concurrency=2 concurrency=3", "x.example rate_delay=2h",
		"x.example rate_delay=5x", "x.example rate_delay=", "x.example auth=u:p",
		"x.example concurrency=99999999999999999999999",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (parse(bad[i], &r) == 0)
			unit_fail(__FILE__, __LINE__, "accepted \"%s\"", bad[i]);
}

TEST(remote_limits_lookup)
{
	struct remote_conf c;
	memset(&c, 0, sizeof(c));
	c.concurrency = 10;
	c.rate_delay = 1000;
	struct remote_route routes[2];
	CHECK_INT(parse(".slow.example concurrency=1", &routes[0]), 0);
	CHECK_INT(parse("fast.example rate_delay=0", &routes[1]), 0);
	c.routes = routes;
	c.nroutes = 2;
	int conc;
	int64_t delay;
	remote_limits(&c, "mx.slow.example", &conc, &delay);
	CHECK_INT(conc, 1);
	CHECK_INT(delay, 1000);  /* not set on the route: remote.conf's */
	remote_limits(&c, "fast.example", &conc, &delay);
	CHECK_INT(conc, 10);
	CHECK_INT(delay, 0);
	remote_limits(&c, "other.example", &conc, &delay);
	CHECK_INT(conc, 10);
	CHECK_INT(delay, 1000);
	for (int i = 0; i < 2; i++)
		remote_route_free(&routes[i]);
}

TEST(remote_conf_limits)
{
	struct buf dir = BUF_INIT, err = BUF_INIT;
	buf_printf(&dir, "%s/etc/estafette", unit_tmpdir());
	CHECK_INT(file_mkdirs(buf_cstr(&dir), 0755), 0);
	paths_set_root(unit_tmpdir());
	put("me", "mail.example.test\n");
	put("dns.conf", "");
	put("remote.conf", "destination_concurrency = 4\ndestination_rate_delay = 3s\n");
	struct remote_conf c;
	CHECK_INT(remote_conf_load(&c, &err), 0);
	CHECK_INT(c.concurrency, 4);
	CHECK_INT(c.rate_delay, 3000);
	remote_conf_free(&c);
	put("remote.conf", "");
	CHECK_INT(remote_conf_load(&c, &err), 0);
	CHECK_INT(c.concurrency, 0);  /* unlimited here: courierd's max_per_destination */
	CHECK_INT(c.rate_delay, 0);
	remote_conf_free(&c);
	put("remote.conf", "destination_concurrency = 1001\n");
	CHECK_INT(remote_conf_load(&c, &err), -1);
	remote_conf_free(&c);
	buf_free(&dir);
	buf_free(&err);
}
