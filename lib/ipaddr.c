/* ipaddr: see ipaddr.h. */
#include "ipaddr.h"

#include <arpa/inet.h>
#include <string.h>

int ipaddr_is_loopback(const char *ip)
{
	unsigned char a[16];
	if (ip == NULL)
		return 0;
	if (inet_pton(AF_INET, ip, a) == 1)
		return a[0] == 127;
	if (inet_pton(AF_INET6, ip, a) != 1)
		return 0;
	static const unsigned char one[16] = { [15] = 1 };
	static const unsigned char mapped[12] = { [10] = 0xff, [11] = 0xff };
	return memcmp(a, one, 16) == 0 || (memcmp(a, mapped, 12) == 0 && a[12] == 127);
}
