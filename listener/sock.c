/* sock: the listener's listening sockets: bound here, or inherited from systemd.
 *
 * Trusts its command line (the addresses) and, under socket activation, the
 * LISTEN_PID/LISTEN_FDS variables that systemd sets; inherited descriptors are
 * checked to be listening stream sockets before they are used. */
#include "listener.h"
#include "buf.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int sock_parse_addr(const char *text, unsigned port, struct sockaddr_storage *ss,
		    socklen_t *len, struct buf *err)
{
	char tmp[LISTENER_IP_MAX];
	size_t n = strlen(text);
	if (n >= 2 && text[0] == '[' && text[n - 1] == ']') {
		text++;
		n -= 2;
	}
	if (n == 0 || n >= sizeof tmp) {
		buf_set_str(err, "not an IP address");
		return -1;
	}
	memcpy(tmp, text, n);
	tmp[n] = '\0';
	memset(ss, 0, sizeof *ss);
	struct sockaddr_in *in = (struct sockaddr_in *)(void *)ss;
	struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)(void *)ss;
	if (inet_pton(AF_INET, tmp, &in->sin_addr) == 1) {
		in->sin_family = AF_INET;
		in->sin_port = htons((uint16_t)port);
		*len = sizeof *in;
		return 0;
	}
	if (inet_pton(AF_INET6, tmp, &in6->sin6_addr) == 1) {
		in6->sin6_family = AF_INET6;
		in6->sin6_port = htons((uint16_t)port);
		*len = sizeof *in6;
		return 0;
	}
	buf_set_str(err, "not an IPv4 or IPv6 address");
	return -1;
}

/* "ADDR port PORT" for messages. */
static void describe(struct buf *out, const struct sockaddr *sa)
{
	char ip[LISTENER_IP_MAX];
	unsigned port;
	sock_format(sa, ip, &port);
	buf_printf(out, "%s port %u", ip, port);
}

/* One listening socket; v6only only matters for AF_INET6. Returns the fd or -1. */
static int open_listen(const struct sockaddr *sa, socklen_t len, int v6only, int backlog,
		       struct buf *err)
{
	int one = 1;
	int fd = socket(sa->sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		goto fail;
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) != 0)
		goto fail;
	if (sa->sa_family == AF_INET6 &&
	    setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &v6only, sizeof v6only) != 0)
		goto fail;
	if (bind(fd, sa, len) != 0 || listen(fd, backlog) != 0)
		goto fail;
	return fd;
fail:;
	int e = errno;
	if (fd >= 0)
		close(fd);
	buf_reset(err);
	buf_append_str(err, "cannot listen on ");
	describe(err, sa);
	buf_printf(err, ": %s", strerror(e));
	errno = e;
	return -1;
}

int sock_listen(struct socks *out, const struct sockaddr *sa, socklen_t len, int backlog,
		struct buf *err)
{
	if (out->count >= LISTENER_MAX_SOCKETS) {
		buf_set_str(err, "too many listening addresses");
		return -1;
	}
	/* an explicit IPv6 address is only that address: "-a :: -a 0.0.0.0" must work */
	int fd = open_listen(sa, len, 1, backlog, err);
	if (fd < 0)
		return -1;
	out->fd[out->count++] = fd;
	return 0;
}

int sock_listen_any(struct socks *out, unsigned port, int backlog, struct buf *err)
{
	struct sockaddr_in6 in6;
	memset(&in6, 0, sizeof in6);
	in6.sin6_family = AF_INET6;
	in6.sin6_addr = in6addr_any;
	in6.sin6_port = htons((uint16_t)port);
	int fd = open_listen((struct sockaddr *)&in6, sizeof in6, 0, backlog, err);
	if (fd < 0 && (errno == EAFNOSUPPORT || errno == EADDRNOTAVAIL)) {
		/* no IPv6 in this kernel or namespace: IPv4 only */
		struct sockaddr_in in;
		memset(&in, 0, sizeof in);
		in.sin_family = AF_INET;
		in.sin_addr.s_addr = htonl(INADDR_ANY);
		in.sin_port = htons((uint16_t)port);
		fd = open_listen((struct sockaddr *)&in, sizeof in, 0, backlog, err);
	}
	if (fd < 0)
		return -1;
	out->fd[out->count++] = fd;
	return 0;
}

/* A decimal number in [min, max] or -1. */
static long env_number(const char *name, long min, long max)
{
	const char *s = getenv(name);
	if (s == NULL || *s < '0' || *s > '9')
		return -1;
	char *end;
	errno = 0;
	long v = strtol(s, &end, 10);
	if (errno != 0 || *end != '\0' || v < min || v > max)
		return -1;
	return v;
}

static int check_inherited(int fd, struct buf *err)
{
	int type = 0, acc = 0;
	socklen_t len = sizeof type;
	if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) != 0 || type != SOCK_STREAM) {
		buf_printf(err, "LISTEN_FDS: fd %d is not a stream socket", fd);
		return -1;
	}
	len = sizeof acc;
	if (getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &acc, &len) != 0 || !acc) {
		buf_printf(err, "LISTEN_FDS: fd %d is not listening (use Accept=no)", fd);
		return -1;
	}
	int fl = fcntl(fd, F_GETFL);
	if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) != 0 || fcntl(fd, F_SETFD, FD_CLOEXEC) != 0) {
		buf_printf(err, "LISTEN_FDS: fd %d: %s", fd, strerror(errno));
		return -1;
	}
	return 0;
}

int sock_from_systemd(struct socks *out, struct buf *err)
{
	long pid = env_number("LISTEN_PID", 1, INT32_MAX);
	long n = env_number("LISTEN_FDS", 0, INT32_MAX);
	/* never let a child believe it was socket-activated */
	unsetenv("LISTEN_PID");
	unsetenv("LISTEN_FDS");
	unsetenv("LISTEN_FDNAMES");
	if (pid != (long)getpid() || n < 1)
		return 0;
	if (n > LISTENER_MAX_SOCKETS) {
		buf_printf(err, "LISTEN_FDS: more than %d sockets", LISTENER_MAX_SOCKETS);
		return -1;
	}
	for (int fd = 3; fd < 3 + (int)n; fd++) {
		if (check_inherited(fd, err) != 0)
			return -1;
		out->fd[out->count++] = fd;
	}
	return 1;
}

void sock_format(const struct sockaddr *sa, char ip[LISTENER_IP_MAX], unsigned *port)
{
	ip[0] = '\0';
	*port = 0;
	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *in = (const struct sockaddr_in *)(const void *)sa;
		inet_ntop(AF_INET, &in->sin_addr, ip, LISTENER_IP_MAX);
		*port = ntohs(in->sin_port);
	} else if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)(const void *)sa;
		if (IN6_IS_ADDR_V4MAPPED(&in6->sin6_addr))
			inet_ntop(AF_INET, in6->sin6_addr.s6_addr + 12, ip, LISTENER_IP_MAX);
		else
			inet_ntop(AF_INET6, &in6->sin6_addr, ip, LISTENER_IP_MAX);
		*port = ntohs(in6->sin6_port);
	}
	if (ip[0] == '\0')
		memcpy(ip, "unknown", sizeof "unknown");
}
