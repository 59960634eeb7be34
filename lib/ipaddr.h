/* ipaddr: facts about a client's textual IP address (as TCPREMOTEIP holds
 * it), for the protocol programs' policies. */
#ifndef ESTAFETTE_IPADDR_H
#define ESTAFETTE_IPADDR_H

/* 1 for 127.0.0.0/8, ::1 and ::ffff:127.0.0.0/104; 0 for anything else,
 * including text that is not an address. */
int ipaddr_is_loopback(const char *ip);

#endif
