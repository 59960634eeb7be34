/* dns tests: the parsers on hostile input, and lookups against a real unbound
 * (Debian's /usr/sbin/unbound) started on a free loopback port as a pure
 * local authority: test zones in local-data, the root forwarded to a dead
 * loopback port that its default do-not-query-localhost forbids asking, so
 * every other name is an immediate SERVFAIL and nothing leaves the machine. */
#include "dns.h"
#include "alloc.h"
#include "buf.h"
#include "file.h"
#include "unit.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define UNBOUND "/usr/sbin/unbound"

/* ---- parsers ---- */

TEST(dns_server_forms)
{
	struct buf out = BUF_INIT, err = BUF_INIT;
	static const char *const good[][2] = {
		{ "127.0.0.1", "127.0.0.1@53" },
		{ "127.0.0.1:5353", "127.0.0.1@5353" },
		{ "127.0.0.1@5353", "127.0.0.1@5353" },
		{ "::1", "::1@53" },
		{ "[::1]:53", "::1@53" },
		{ "[::1]", "::1@53" },
		{ "2001:db8::1", "2001:db8::1@53" },
	};
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		CHECK_INT(dns_parse_server(good[i][0], strlen(good[i][0]), &out, &err), 0);
		CHECK_STR(buf_cstr(&out), good[i][1]);
	}
	static const char *const bad[] = {
		"", "localhost", "127.0.0.1:0", "127.0.0.1:65536", "127.0.0.1:", "[::1",
		"[::1]x", "1.2.3.4:53x", "[::1]:123456", "1.2.3", "::1@",
		"0000000000000000000000000000000000000000000000000000000000000",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		CHECK_INT(dns_parse_server(bad[i], strlen(bad[i]), &out, &err), -1);
	CHECK_INT(dns_parse_server("1.2.3.4\0:53", 10, &out, &err), -1);
	buf_free(&out);
	buf_free(&err);
}

TEST(dns_name_syntax)
{
	CHECK_INT(dns_name_check("example.com", 11), 0);
	CHECK_INT(dns_name_check("_25._tcp.mx-1.example", 21), 0);
	CHECK_INT(dns_name_check("", 0), -1);
	CHECK_INT(dns_name_check(".", 1), -1);
	CHECK_INT(dns_name_check("a..b", 4), -1);
	CHECK_INT(dns_name_check("a.b.", 4), -1);
	CHECK_INT(dns_name_check("a b", 3), -1);
	CHECK_INT(dns_name_check("a\0b", 3), -1);
	CHECK_INT(dns_name_check("b\xc3\xa9", 3), -1);
	char label[70];
	memset(label, 'a', sizeof(label));
	CHECK_INT(dns_name_check(label, 63), 0);
	CHECK_INT(dns_name_check(label, 64), -1);
	char name[300];
	for (size_t i = 0; i < sizeof(name); i++)
		name[i] = i % 2 ? '.' : 'a';
	CHECK_INT(dns_name_check(name, 253), 0);
	CHECK_INT(dns_name_check(name, 255), -1);
}

TEST(dns_wire_names)
{
	struct buf out = BUF_INIT;
	size_t used = 0;
	const unsigned char ok[] = "\2Mx\7Example\3COM\0rest";
	CHECK_INT(dns_wire_name(ok, sizeof(ok) - 1, &out, &used), 0);
	CHECK_BUF(out, "mx.example.com");
	CHECK_INT(used, 16);
	CHECK_INT(dns_wire_name((const unsigned char *)"\0", 1, &out, &used), 0);
	CHECK_INT(out.len, 0);
	CHECK_INT(used, 1);
	/* truncated at every length */
	for (size_t n = 0; n < 16; n++)
		CHECK_INT(dns_wire_name(ok, n, &out, &used), -1);
	CHECK_INT(dns_wire_name((const unsigned char *)"\xc0\x0c", 2, &out, &used), -1);
	CHECK_INT(dns_wire_name((const unsigned char *)"\3a b\0", 5, &out, &used), -1);
	CHECK_INT(dns_wire_name((const unsigned char *)"\3a\0b\0", 5, &out, &used), -1);
	CHECK_INT(dns_wire_name((const unsigned char *)"\3a.b\0", 5, &out, &used), -1);
	CHECK_INT(dns_wire_name((const unsigned char *)"\2\xc3\xa9\0", 4, &out, &used), -1);
	/* 5 labels of 63: 319 characters, over the limit */
	unsigned char big[5 * 64 + 1];
	for (size_t i = 0; i < 5; i++) {
		big[i * 64] = 63;
		memset(big + i * 64 + 1, 'x', 63);
	}
	big[5 * 64] = 0;
	CHECK_INT(dns_wire_name(big, sizeof(big), &out, &used), -1);
	buf_free(&out);
}

static uint32_t rnd_zero(uint32_t n)
{
	(void)n;
	return 0;
}

TEST(dns_mx_sorting)
{
	struct dns_mx mx[5] = {
		{ "c", 20 }, { "a", 10 }, { "e", 65535 }, { "b", 10 }, { "d", 0 },
	};
	dns_mx_sort(mx, 5, rnd_zero);
	CHECK_INT(mx[0].pref, 0);
	CHECK_INT(mx[1].pref, 10);
	CHECK_INT(mx[2].pref, 10);
	CHECK_INT(mx[3].pref, 20);
	CHECK_INT(mx[4].pref, 65535);
	/* equal preferences come in every order, roughly evenly */
	int first_a = 0;
	for (int i = 0; i < 400; i++) {
		struct dns_mx two[2] = { { "a", 10 }, { "b", 10 } };
		dns_mx_sort(two, 2, NULL);
		first_a += strcmp(two[0].host, "a") == 0;
	}
	CHECK(first_a > 120 && first_a < 280);
}

TEST(dns_options_file)
{
	struct dns_options o;
	struct buf err = BUF_INIT, path = BUF_INIT;
	buf_printf(&path, "%s/dns.conf", unit_tmpdir());
	const char *text = "# test\nforwarders = 127.0.0.1:5353, [::1]:53\n"
			   "trust_anchor_file = /x/root.key\ntimeout = 2\n";
	CHECK_INT(file_replace(buf_cstr(&path), text, strlen(text), 0644), 0);
	CHECK_INT(dns_options_read(buf_cstr(&path), &o, &err), 1);
	CHECK_INT(o.nforwarders, 2);
	CHECK_STR(o.forwarders[0], "127.0.0.1@5353");
	CHECK_STR(o.forwarders[1], "::1@53");
	CHECK_STR(o.trust_anchor_file, "/x/root.key");
	CHECK_INT(o.timeout_ms, 2000);
	dns_options_free(&o);

	const char *bad[] = { "forwarders = localhost\n", "timeout = 0\n", "colour = red\n",
			      "forwarders = 1.1.1.1 1.1.1.2 1.1.1.3 1.1.1.4 1.1.1.5 1.1.1.6 "
			      "1.1.1.7 1.1.1.8 1.1.1.9\n" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		CHECK_INT(file_replace(buf_cstr(&path), bad[i], strlen(bad[i]), 0644), 0);
		CHECK_INT(dns_options_read(buf_cstr(&path), &o, &err), -1);
		CHECK(strstr(buf_cstr(&err), "dns.conf") != NULL);
		dns_options_free(&o);
	}
	buf_printf(&path, ".missing");
	CHECK_INT(dns_options_read(buf_cstr(&path), &o, &err), 0);
	CHECK_STR(o.resolv_conf, "/etc/resolv.conf");
	CHECK_INT(o.timeout_ms, 30000);
	dns_options_free(&o);
	buf_free(&err);
	buf_free(&path);
}

/* ---- a real unbound ---- */

static pid_t unbound_pid;

static void unbound_stop(void)
{
	if (unbound_pid > 0) {
		kill(unbound_pid, SIGKILL);
		waitpid(unbound_pid, NULL, 0);
		unbound_pid = 0;
	}
}

/* A loopback port that was free a moment ago (UDP and TCP). */
static int free_port(void)
{
	for (int tries = 0; tries < 50; tries++) {
		int u = socket(AF_INET, SOCK_DGRAM, 0), t = socket(AF_INET, SOCK_STREAM, 0);
		struct sockaddr_in sin = { .sin_family = AF_INET };
		sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		socklen_t sl = sizeof(sin);
		CHECK(u >= 0 && t >= 0);
		CHECK(bind(u, (struct sockaddr *)&sin, sizeof(sin)) == 0);
		CHECK(getsockname(u, (struct sockaddr *)&sin, &sl) == 0);
		int ok = bind(t, (struct sockaddr *)&sin, sizeof(sin)) == 0;
		close(u);
		close(t);
		if (ok)
			return ntohs(sin.sin_port);
	}
	CHECK(!"no free port");
	return 0;
}

static const char zones[] =
	"local-zone: \"ok.test.\" static\n"
	"local-data: \"ok.test. MX 10 b.ok.test.\"\n"
	"local-data: \"ok.test. MX 5 A.Ok.Test.\"\n"
	"local-data: \"ok.test. MX 10 c.ok.test.\"\n"
	"local-data: \"a.ok.test. A 127.0.0.1\"\n"
	"local-data: \"a.ok.test. AAAA ::1\"\n"
	"local-data: \"b.ok.test. A 127.0.0.2\"\n"
	"local-data: \"c.ok.test. AAAA 2001:db8::25\"\n"
	"local-data: \"alias.ok.test. CNAME a.ok.test.\"\n"
	"local-zone: \"null.test.\" static\n"
	"local-data: \"null.test. MX 0 .\"\n"
	"local-zone: \"nullmix.test.\" static\n"
	"local-data: \"nullmix.test. MX 0 .\"\n"
	"local-data: \"nullmix.test. MX 10 mx.ok.test.\"\n"
	"local-zone: \"nomx.test.\" static\n"
	"local-data: \"nomx.test. A 127.0.0.9\"\n"
	"local-data: \"nomx.test. TXT hello\"\n"
	"local-zone: \"refused.test.\" refuse\n"
	"local-zone: \"dead.test.\" transparent\n";

static void unbound_write_conf(const char *path, int port, int dead)
{
	struct buf c = BUF_INIT;
	buf_printf(&c,
		   "server:\n interface: 127.0.0.1@%d\n port: %d\n do-ip6: no\n"
		   " username: \"\"\n chroot: \"\"\n directory: \"%s\"\n pidfile: \"\"\n"
		   " use-syslog: no\n logfile: \"%s/unbound.log\"\n verbosity: 0\n do-daemonize: no\n"
		   " num-threads: 1\n module-config: \"iterator\"\n"
		   " outgoing-range: 32\n"
		   " incoming-num-tcp: 4\n outgoing-num-tcp: 4\n so-reuseport: no\n%s"
		   "forward-zone:\n name: \".\"\n forward-addr: 127.0.0.1@%d\n"
		   "remote-control:\n control-enable: no\n",
		   port, port, unit_tmpdir(), unit_tmpdir(), zones, dead);
	CHECK_INT(file_replace(path, c.data, c.len, 0644), 0);
	buf_free(&c);
}

/* Wait until the server accepts TCP on port, up to 10 s. */
static void unbound_wait(int port)
{
	for (int i = 0; i < 200; i++) {
		int s = socket(AF_INET, SOCK_STREAM, 0);
		struct sockaddr_in sin = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
		sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		int ok = connect(s, (struct sockaddr *)&sin, sizeof(sin)) == 0;
		close(s);
		if (ok)
			return;
		CHECK(waitpid(unbound_pid, NULL, WNOHANG) == 0);
		usleep(50 * 1000);
	}
	CHECK(!"unbound did not start");
}

/* Start unbound; return a resolver pointed at it (timeout_ms per lookup).
 * NULL when unbound is not installed (the test then passes vacuously). */
static struct dns *unbound_start(int timeout_ms)
{
	if (access(UNBOUND, X_OK) != 0) {
		fprintf(stderr, "  (skipped: %s not installed)\n", UNBOUND);
		return NULL;
	}
	int port = free_port(), dead = free_port();
	struct buf conf = BUF_INIT, err = BUF_INIT, fwd = BUF_INIT;
	buf_printf(&conf, "%s/unbound.conf", unit_tmpdir());
	unbound_write_conf(buf_cstr(&conf), port, dead);
	atexit(unbound_stop);
	unbound_pid = fork();
	CHECK(unbound_pid >= 0);
	if (unbound_pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		execl(UNBOUND, UNBOUND, "-d", "-c", buf_cstr(&conf), (char *)NULL);
		_exit(127);
	}
	unbound_wait(port);
	struct dns_options o;
	dns_options_init(&o);
	buf_printf(&fwd, "127.0.0.1:%d", port);
	CHECK_INT(dns_options_add_forwarders(&o, buf_cstr(&fwd), &err), 0);
	o.timeout_ms = timeout_ms;
	struct dns *d = dns_new(&o, &err);
	CHECK(d != NULL);
	dns_options_free(&o);
	buf_free(&conf);
	buf_free(&err);
	buf_free(&fwd);
	return d;
}

static int64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

TEST(dns_live_mx_order)
{
	struct dns *d = unbound_start(5000);
	if (!d)
		return;
	struct dns_mxlist l;
	struct buf err = BUF_INIT;
	int b_first = 0;
	for (int i = 0; i < 60; i++) {
		CHECK_INT(dns_lookup_mx(d, "ok.test", &l, &err), DNS_OK);
		CHECK_INT(l.count, 3);
		CHECK_INT(l.implicit, 0);
		CHECK_INT(l.secure, 0);
		CHECK_STR(l.items[0].host, "a.ok.test");
		CHECK_INT(l.items[0].pref, 5);
		CHECK_INT(l.items[1].pref, 10);
		CHECK_INT(l.items[2].pref, 10);
		b_first += strcmp(l.items[1].host, "b.ok.test") == 0;
		dns_mxlist_free(&l);
	}
	/* 60 fair coin tosses: outside 10..50 has probability below 1e-6 */
	CHECK(b_first >= 10 && b_first <= 50);
	buf_free(&err);
	dns_free(d);
}

TEST(dns_live_null_and_implicit)
{
	struct dns *d = unbound_start(5000);
	if (!d)
		return;
	struct dns_mxlist l;
	struct buf err = BUF_INIT;
	CHECK_INT(dns_lookup_mx(d, "null.test", &l, &err), DNS_NULLMX);
	CHECK(strstr(buf_cstr(&err), "null MX") != NULL);
	CHECK_INT(l.count, 0);
	CHECK_INT(dns_lookup_mx(d, "nullmix.test", &l, &err), DNS_OK);
	CHECK_INT(l.count, 1);
	CHECK_STR(l.items[0].host, "mx.ok.test");
	dns_mxlist_free(&l);
	CHECK_INT(dns_lookup_mx(d, "nomx.test", &l, &err), DNS_OK);
	CHECK_INT(l.implicit, 1);
	CHECK_INT(l.count, 1);
	CHECK_STR(l.items[0].host, "nomx.test");
	dns_mxlist_free(&l);
	CHECK_INT(dns_lookup_mx(d, "missing.ok.test", &l, &err), DNS_NXDOMAIN);
	CHECK(strstr(buf_cstr(&err), "NXDOMAIN") != NULL);
	CHECK_INT(dns_lookup_mx(d, "bad name.test", &l, &err), DNS_BADNAME);
	CHECK_INT(dns_lookup_mx(d, "", &l, &err), DNS_BADNAME);
	buf_free(&err);
	dns_free(d);
}

TEST(dns_live_addresses)
{
	struct dns *d = unbound_start(5000);
	if (!d)
		return;
	struct dns_addrs a;
	struct buf err = BUF_INIT;
	char text[INET6_ADDRSTRLEN];
	CHECK_INT(dns_lookup_addrs(d, "a.ok.test", DNS_WANT_ANY, &a, &err), DNS_OK);
	CHECK_INT(a.count, 2);
	CHECK_INT(a.items[0].family, AF_INET6);
	CHECK_STR(inet_ntop(AF_INET6, a.items[0].addr, text, sizeof(text)), "::1");
	CHECK_INT(a.items[1].family, AF_INET);
	CHECK_STR(inet_ntop(AF_INET, a.items[1].addr, text, sizeof(text)), "127.0.0.1");
	dns_addrs_free(&a);
	CHECK_INT(dns_lookup_addrs(d, "a.ok.test", DNS_WANT_INET, &a, &err), DNS_OK);
	CHECK_INT(a.count, 1);
	CHECK_INT(a.items[0].family, AF_INET);
	dns_addrs_free(&a);
	CHECK_INT(dns_lookup_addrs(d, "b.ok.test", DNS_WANT_ANY, &a, &err), DNS_OK);
	CHECK_INT(a.count, 1);
	dns_addrs_free(&a);
	CHECK_INT(dns_lookup_addrs(d, "b.ok.test", DNS_WANT_INET6, &a, &err), DNS_NODATA);
	dns_addrs_free(&a);
	CHECK_INT(dns_lookup_addrs(d, "alias.ok.test", DNS_WANT_ANY, &a, &err), DNS_OK);
	CHECK_INT(a.count, 2);
	CHECK_STR(a.canon, "a.ok.test");
	dns_addrs_free(&a);
	CHECK_INT(dns_lookup_addrs(d, "nx.ok.test", DNS_WANT_ANY, &a, &err), DNS_NXDOMAIN);
	dns_addrs_free(&a);
	CHECK_INT(dns_lookup_addrs(d, "nomx.test", DNS_WANT_ANY, &a, &err), DNS_OK);
	CHECK_INT(a.count, 1);
	dns_addrs_free(&a);
	buf_free(&err);
	dns_free(d);
}

TEST(dns_live_temporary_failures)
{
	struct dns *d = unbound_start(3000);
	if (!d)
		return;
	struct dns_mxlist l;
	struct dns_addrs a;
	struct buf err = BUF_INIT;
	int64_t t0 = now_ms();
	CHECK_INT(dns_lookup_mx(d, "refused.test", &l, &err), DNS_TEMPFAIL);
	CHECK(strstr(buf_cstr(&err), "server failure") != NULL);
	CHECK_INT(dns_lookup_mx(d, "x.dead.test", &l, &err), DNS_TEMPFAIL);
	CHECK(strstr(buf_cstr(&err), "server failure") != NULL);
	CHECK_INT(dns_lookup_addrs(d, "x.dead.test", DNS_WANT_ANY, &a, &err), DNS_TEMPFAIL);
	dns_addrs_free(&a);
	CHECK(now_ms() - t0 < 10000);
	buf_free(&err);
	dns_free(d);
}

/* A forwarder that never answers: the lookup ends at the deadline. */
TEST(dns_timeout)
{
	int s = socket(AF_INET, SOCK_DGRAM, 0);
	struct sockaddr_in sin = { .sin_family = AF_INET };
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	socklen_t sl = sizeof(sin);
	CHECK(bind(s, (struct sockaddr *)&sin, sizeof(sin)) == 0);
	CHECK(getsockname(s, (struct sockaddr *)&sin, &sl) == 0);
	struct dns_options o;
	struct buf err = BUF_INIT, fwd = BUF_INIT;
	dns_options_init(&o);
	buf_printf(&fwd, "127.0.0.1:%d", ntohs(sin.sin_port));
	CHECK_INT(dns_options_add_forwarders(&o, buf_cstr(&fwd), &err), 0);
	o.timeout_ms = 700;
	struct dns *d = dns_new(&o, &err);
	CHECK(d != NULL);
	struct dns_mxlist l;
	int64_t t0 = now_ms();
	CHECK_INT(dns_lookup_mx(d, "example.test", &l, &err), DNS_TEMPFAIL);
	int64_t took = now_ms() - t0;
	CHECK(took >= 600 && took < 3000);
	CHECK(strstr(buf_cstr(&err), "timed out") != NULL);
	/* the context stays usable after a cancelled query */
	CHECK_INT(dns_lookup_mx(d, "example.test", &l, &err), DNS_TEMPFAIL);
	dns_free(d);
	dns_options_free(&o);
	buf_free(&err);
	buf_free(&fwd);
	close(s);
}
