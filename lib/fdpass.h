/* fdpass: one SOCK_SEQPACKET packet with an open descriptor attached
 * (SCM_RIGHTS), as courierd, deliver-spawn, its workers and the remote module
 * pass jobs and queue files to each other. */
#ifndef ESTAFETTE_FDPASS_H
#define ESTAFETTE_FDPASS_H

#include <stddef.h>

enum fdpass_result {
	FDPASS_OK = 1,
	FDPASS_EOF = 0,
	FDPASS_AGAIN = -1,  /* nothing waiting (FDPASS_NONBLOCK) */
	FDPASS_BAD = -2,    /* truncated, no descriptor, or a NUL in the text */
	FDPASS_ERROR = -3,  /* recvmsg failed: errno */
};

#define FDPASS_NONBLOCK 1

/* Send len bytes with fd attached, in one packet. 0, or -1 with errno. */
int fdpass_send(int sock, const void *data, size_t len, int fd);

/* Receive one packet into buf as a C string (at most cap - 1 bytes) and its
 * descriptor into *fd (close-on-exec). A bad packet's descriptor is closed
 * and *fd is -1 for anything but FDPASS_OK. */
enum fdpass_result fdpass_recv(int sock, char *buf, size_t cap, int *fd, int flags);

#endif
