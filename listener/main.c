/* listener: accept TCP connections and run a service program for each (listener(8)).
 *
 *   listener [-a ADDR]... -p PORT [-c MAXCONN] [-i MAXPERIP] [-u USER[:GROUP]]
 *            [-b BACKLOG] [-m BUSY] [-t SECONDS] [-h] [--root DIR] -- PROGRAM [ARG...]
 *
 * Started as root, it binds its sockets (ports below 1024 need it), drops to
 * the net user once through lib/priv, and only then accepts: nothing that
 * touches the network runs as root. Each connection runs PROGRAM in a child
 * with the socket on stdin/stdout and the ucspi-tcp environment (the
 * interface of tcpserver and couriertcpd), within a total and a per-client
 * limit. Trusts its command line and environment (it is started by the
 * administrator, the sandbox or systemd); reads nothing from clients. */
#include "listener.h"
#include "alloc.h"
#include "buf.h"
#include "config.h"
#include "log.h"
#include "paths.h"
#include "priv.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sysexits.h>
#include <unistd.h>

#ifndef LISTENER_USER
#define LISTENER_USER "estafette-net" /* the net role of scripts/users */
#endif
#define BUSY_MAX 512

struct opts {
	const char *addrs[LISTENER_MAX_SOCKETS];
	size_t naddrs;
	uint64_t port;             /* 0 = not given */
	uint64_t backlog;
	char *user, *group;        /* NULL = default */
	struct buf busy;
	struct serve_opts serve;
};

static _Noreturn void usage(const char *msg)
{
	if (msg != NULL)
		fprintf(stderr, "listener: %s\n", msg);
	fprintf(stderr, "usage: listener [-a ADDR]... -p PORT [-c MAXCONN] [-i MAXPERIP] "
		"[-u USER[:GROUP]] [-b BACKLOG] [-m BUSY] [-t SECONDS] [-h] [--root DIR] "
		"-- PROGRAM [ARG...]\n");
	exit(EX_USAGE);
}

/* A startup failure: on stderr for whoever started us, and in the log. */
static _Noreturn void fail(int code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static _Noreturn void fail(int code, const char *fmt, ...)
{
	struct buf msg = BUF_INIT;
	va_list ap;
	va_start(ap, fmt);
	buf_vprintf(&msg, fmt, ap);
	va_end(ap);
	const char *dest = getenv("ESTAFETTE_LOG");
	if (dest == NULL || strcmp(dest, "stderr") != 0)
		fprintf(stderr, "listener: %s\n", buf_cstr(&msg));
	log_fatal(code, "%s", buf_cstr(&msg));
}

static uint64_t number(const char *opt, const char *s, uint64_t min, uint64_t max,
		       enum config_unit unit)
{
	uint64_t v;
	struct buf err = BUF_INIT;
	if (config_parse_u64(s, strlen(s), unit, min, max, &v, &err) != 0) {
		fprintf(stderr, "listener: %s: %s\n", opt, buf_cstr(&err));
		usage(NULL);
	}
	return v;
}

/* -m: the text with \r, \n, \t and \\ decoded, at most BUSY_MAX bytes. */
static void busy_message(struct buf *out, const char *s)
{
	buf_reset(out);
	for (; *s != '\0'; s++) {
		char c = *s;
		if (c == '\\') {
			switch (*++s) {
			case 'r': c = '\r'; break;
			case 'n': c = '\n'; break;
			case 't': c = '\t'; break;
			case '\\': c = '\\'; break;
			default: usage("-m: only \\r, \\n, \\t and \\\\ are escapes");
			}
		}
		buf_append_char(out, c);
	}
	if (out->len > BUSY_MAX)
		usage("-m: message too long");
}

static void user_group(struct opts *o, const char *s)
{
	free(o->user);
	o->user = xstrdup(s);
	char *colon = strchr(o->user, ':');
	o->group = NULL;
	if (colon != NULL) {
		*colon = '\0';
		o->group = colon + 1;
	}
	if (o->user[0] == '\0' || (o->group != NULL && o->group[0] == '\0'))
		usage("-u: USER or USER:GROUP");
}

static void parse_option(struct opts *o, int c, const char *arg)
{
	switch (c) {
	case 'a':
		if (o->naddrs >= LISTENER_MAX_SOCKETS)
			usage("too many -a addresses");
		o->addrs[o->naddrs++] = arg;
		break;
	case 'p': o->port = number("-p", arg, 1, 65535, CONFIG_UNIT_NONE); break;
	case 'c': o->serve.maxconn = number("-c", arg, 1, 100000, CONFIG_UNIT_NONE); break;
	case 'i': o->serve.maxperip = number("-i", arg, 1, 100000, CONFIG_UNIT_NONE); break;
	case 'b': o->backlog = number("-b", arg, 1, 65535, CONFIG_UNIT_NONE); break;
	case 't': o->serve.timeout = (unsigned)number("-t", arg, 0, 7 * 86400, CONFIG_UNIT_DURATION); break;
	case 'u': user_group(o, arg); break;
	case 'm': busy_message(&o->busy, arg); break;
	case 'h': o->serve.lookup = 1; break;
	case 'R': paths_set_root(arg); break;
	default: usage(NULL);
	}
}

static void parse_args(struct opts *o, int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "root", required_argument, NULL, 'R' },
		{ "help", no_argument, NULL, '?' },
		{ NULL, 0, NULL, 0 },
	};
	int c;
	while ((c = getopt_long(argc, argv, "+a:p:c:i:u:b:m:t:h", longopts, NULL)) != -1)
		parse_option(o, c, optarg);
	if (optind >= argc)
		usage("no PROGRAM given");
	if (o->serve.maxperip > o->serve.maxconn)
		o->serve.maxperip = o->serve.maxconn;
	o->serve.argv = argv + optind;
	o->serve.busy = o->busy.data;
	o->serve.busy_len = o->busy.len;
}

/* Descriptors 0, 1 and 2 open, so no socket can become someone's stdout or the log. */
static void std_fds(void)
{
	for (int fd = 0; fd <= 2; fd++) {
		if (fcntl(fd, F_GETFD) >= 0)
			continue;
		int n = open("/dev/null", O_RDWR);
		if (n < 0)
			exit(EX_OSERR);
		if (n != fd)
			close(n); /* open returns the lowest free fd, so this does not happen */
	}
}

static void bind_all(struct opts *o, struct socks *socks)
{
	struct buf err = BUF_INIT;
	int r = sock_from_systemd(socks, &err);
	if (r < 0)
		fail(EX_OSERR, "%s", buf_cstr(&err));
	if (r > 0)
		return;
	if (o->port == 0)
		usage("-p PORT is required (unless started by systemd socket activation)");
	for (size_t i = 0; i < o->naddrs; i++) {
		struct sockaddr_storage ss;
		socklen_t len;
		if (sock_parse_addr(o->addrs[i], (unsigned)o->port, &ss, &len, &err) != 0)
			usage(buf_cstr(&err));
		if (sock_listen(socks, (struct sockaddr *)&ss, len, (int)o->backlog, &err) != 0)
			fail(EX_OSERR, "%s", buf_cstr(&err));
	}
	if (o->naddrs == 0 && sock_listen_any(socks, (unsigned)o->port, (int)o->backlog, &err) != 0)
		fail(EX_OSERR, "%s", buf_cstr(&err));
	buf_free(&err);
}

/* Root drops to the net user (or -u); others stay as they are unless -u names
 * someone else, which priv_drop_to refuses: better than running as a surprise. */
static void drop_privileges(struct opts *o)
{
	struct buf err = BUF_INIT;
	if (!priv_is_root() && o->user == NULL)
		return;
	const char *user = o->user != NULL ? o->user : LISTENER_USER;
	if (priv_drop_to(user, o->group, 0, &err) != 0)
		fail(errno == ENOENT ? EX_NOUSER : EX_TEMPFAIL, "cannot run as %s: %s", user,
		     buf_cstr(&err));
	buf_free(&err);
}

static int signals_setup(void)
{
	sigset_t set;
	spawn_signals(&set);
	if (sigprocmask(SIG_BLOCK, &set, NULL) != 0)
		fail(EX_OSERR, "sigprocmask: %s", strerror(errno));
	signal(SIGPIPE, SIG_IGN);
	int fd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
	if (fd < 0)
		fail(EX_OSERR, "signalfd: %s", strerror(errno));
	return fd;
}

static void log_sockets(const struct socks *socks, const struct opts *o)
{
	for (size_t i = 0; i < socks->count; i++) {
		struct sockaddr_storage ss;
		socklen_t len = sizeof ss;
		char ip[LISTENER_IP_MAX];
		unsigned port;
		if (getsockname(socks->fd[i], (struct sockaddr *)&ss, &len) != 0)
			continue;
		sock_format((struct sockaddr *)&ss, ip, &port);
		log_info("listen ip=%s port=%u maxconn=%zu maxperip=%zu program=%s", ip, port,
			 o->serve.maxconn, o->serve.maxperip, o->serve.argv[0]);
	}
}

int main(int argc, char **argv)
{
	struct opts o;
	struct socks socks;
	memset(&o, 0, sizeof o);
	memset(&socks, 0, sizeof socks);
	o.backlog = 256;
	o.serve.maxconn = 200;
	o.serve.maxperip = 20;
	std_fds();
	log_init("listener");
	parse_args(&o, argc, argv);
	int sigfd = signals_setup();
	bind_all(&o, &socks);
	drop_privileges(&o);
	if (access(o.serve.argv[0], X_OK) != 0)
		fail(EX_CONFIG, "cannot execute %s: %s", o.serve.argv[0], strerror(errno));
	log_sockets(&socks, &o);
	int code = serve(&socks, sigfd, &o.serve);
	buf_free(&o.busy);
	free(o.user);
	return code;
}
