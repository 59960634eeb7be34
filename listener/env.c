/* env: the ucspi-tcp environment of a connection (as tcpserver sets it).
 *
 * Runs in the child, after fork and before exec. The values come from the
 * kernel (getsockname/accept), and TCPREMOTEHOST from DNS only when asked for
 * (-h) and only if the reverse name resolves back to the client's address:
 * an unconfirmed PTR name is whatever the client's network operator wants. */
#include "listener.h"

#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Variables a ucspi server (tcpserver, tcpserver6, couriertcpd, sslserver) could
 * set; an inherited one must not describe some other connection. */
static const char *const inherited[] = {
	"PROTO", "TCPLOCALIP", "TCPLOCALPORT", "TCPLOCALHOST", "TCPREMOTEIP",
	"TCPREMOTEPORT", "TCPREMOTEHOST", "TCPREMOTEINFO", "TCP6LOCALIP", "TCP6LOCALPORT",
	"TCP6LOCALHOST", "TCP6REMOTEIP", "TCP6REMOTEPORT", "TCP6REMOTEHOST",
	"TCP6REMOTEINFO", "TCP6INTERFACE", "SSLLOCALIP", "SSLREMOTEIP", "TLS_PROTOCOL",
	"TLS_CIPHER", "LISTEN_PID", "LISTEN_FDS", "LISTEN_FDNAMES", NULL,
};

void env_clear_inherited(void)
{
	for (size_t i = 0; inherited[i] != NULL; i++)
		unsetenv(inherited[i]);
}

static int set_addr(const char *ipvar, const char *portvar, const struct sockaddr *sa)
{
	char ip[LISTENER_IP_MAX], port[16];
	unsigned p;
	sock_format(sa, ip, &p);
	snprintf(port, sizeof port, "%u", p);
	if (setenv(ipvar, ip, 1) != 0 || setenv(portvar, port, 1) != 0)
		return -1;
	return 0;
}

/* Same address, IPv4-mapped IPv6 and IPv4 alike (compared in their text form). */
static int same_address(const struct sockaddr *a, const struct sockaddr *b)
{
	char ia[LISTENER_IP_MAX], ib[LISTENER_IP_MAX];
	unsigned pa, pb;
	sock_format(a, ia, &pa);
	sock_format(b, ib, &pb);
	return strcmp(ia, ib) == 0;
}

/* The forward-confirmed reverse name of remote, or 0 with none. */
static int confirmed_name(const struct sockaddr *remote, char *host, size_t hostlen)
{
	socklen_t len = remote->sa_family == AF_INET6 ? sizeof(struct sockaddr_in6)
						       : sizeof(struct sockaddr_in);
	if (getnameinfo(remote, len, host, (socklen_t)hostlen, NULL, 0, NI_NAMEREQD) != 0)
		return 0;
	struct addrinfo hints, *res = NULL;
	memset(&hints, 0, sizeof hints);
	hints.ai_socktype = SOCK_STREAM;
	if (getaddrinfo(host, NULL, &hints, &res) != 0)
		return 0;
	int ok = 0;
	for (struct addrinfo *ai = res; ai != NULL && !ok; ai = ai->ai_next)
		ok = same_address(ai->ai_addr, remote);
	freeaddrinfo(res);
	return ok;
}

int env_set_ucspi(const struct sockaddr *local, const struct sockaddr *remote, int lookup)
{
	env_clear_inherited();
	if (setenv("PROTO", "TCP", 1) != 0 || set_addr("TCPLOCALIP", "TCPLOCALPORT", local) != 0 ||
	    set_addr("TCPREMOTEIP", "TCPREMOTEPORT", remote) != 0)
		return -1;
	char host[NI_MAXHOST];
	if (lookup && confirmed_name(remote, host, sizeof host) && setenv("TCPREMOTEHOST", host, 1) != 0)
		return -1;
	return 0;
}
