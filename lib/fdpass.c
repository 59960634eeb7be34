/* fdpass: a packet and a descriptor over a UNIX socket (fdpass.h). */
#define _GNU_SOURCE /* MSG_CMSG_CLOEXEC */
#include "fdpass.h"

#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

int fdpass_send(int sock, const void *data, size_t len, int fd)
{
	union { struct cmsghdr h; char b[CMSG_SPACE(sizeof(int))]; } c;
	memset(&c, 0, sizeof c);
	struct iovec iov = { (void *)data, len };
	struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = c.b,
			    .msg_controllen = sizeof c.b };
	struct cmsghdr *h = CMSG_FIRSTHDR(&m);
	h->cmsg_level = SOL_SOCKET;
	h->cmsg_type = SCM_RIGHTS;
	h->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(h), &fd, sizeof fd);
	ssize_t n;
	while ((n = sendmsg(sock, &m, MSG_NOSIGNAL)) < 0 && errno == EINTR)
		;
	if (n >= 0 && (size_t)n != len)
		errno = EMSGSIZE;
	return n >= 0 && (size_t)n == len ? 0 : -1;
}

enum fdpass_result fdpass_recv(int sock, char *buf, size_t cap, int *fd, int flags)
{
	union { struct cmsghdr h; char b[CMSG_SPACE(sizeof(int))]; } c;
	struct iovec iov = { buf, cap - 1 };
	struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = c.b,
			    .msg_controllen = sizeof c.b };
	*fd = -1;
	ssize_t n;
	int rf = MSG_CMSG_CLOEXEC | ((flags & FDPASS_NONBLOCK) ? MSG_DONTWAIT : 0);
	while ((n = recvmsg(sock, &m, rf)) < 0 && errno == EINTR)
		;
	if (n < 0)
		return errno == EAGAIN || errno == EWOULDBLOCK ? FDPASS_AGAIN : FDPASS_ERROR;
	if (n == 0)
		return FDPASS_EOF;
	buf[n] = '\0';
	struct cmsghdr *h = CMSG_FIRSTHDR(&m);
	if (h && h->cmsg_level == SOL_SOCKET && h->cmsg_type == SCM_RIGHTS)
		memcpy(fd, CMSG_DATA(h), sizeof(int));
	if (*fd < 0 || (m.msg_flags & (MSG_TRUNC | MSG_CTRUNC)) || memchr(buf, 0, (size_t)n)) {
		if (*fd >= 0)
			close(*fd);
		*fd = -1;
		return FDPASS_BAD;
	}
	return FDPASS_OK;
}
