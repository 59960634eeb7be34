#include "fdpass.h"
#include "unit.h"

#include <fcntl.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

static void pair(int sv[2])
{
	CHECK(socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv) == 0);
}

TEST(fdpass_round_trip)
{
	int sv[2], fd;
	char buf[64];
	pair(sv);
	CHECK_INT(fdpass_send(sv[0], "L\tjob", 5, 0), 0);
	CHECK_INT(fdpass_recv(sv[1], buf, sizeof buf, &fd, 0), FDPASS_OK);
	CHECK_STR(buf, "L\tjob");
	struct stat a, b;
	CHECK(fstat(0, &a) == 0 && fstat(fd, &b) == 0);
	CHECK(a.st_ino == b.st_ino && a.st_dev == b.st_dev);
	CHECK(fcntl(fd, F_GETFD) & FD_CLOEXEC);
	close(fd);
	CHECK_INT(fdpass_recv(sv[1], buf, sizeof buf, &fd, FDPASS_NONBLOCK), FDPASS_AGAIN);
	close(sv[0]);
	CHECK_INT(fdpass_recv(sv[1], buf, sizeof buf, &fd, 0), FDPASS_EOF);
	CHECK_INT(fd, -1);
}

TEST(fdpass_refuses_bad_packets)
{
	int sv[2], fd;
	char buf[8];
	pair(sv);
	CHECK(send(sv[0], "no fd", 5, 0) == 5);            /* no descriptor */
	CHECK_INT(fdpass_recv(sv[1], buf, sizeof buf, &fd, 0), FDPASS_BAD);
	CHECK_INT(fdpass_send(sv[0], "0123456789", 10, 0), 0); /* longer than buf */
	CHECK_INT(fdpass_recv(sv[1], buf, sizeof buf, &fd, 0), FDPASS_BAD);
	CHECK_INT(fd, -1);
	CHECK_INT(fdpass_send(sv[0], "a\0b", 3, 0), 0);     /* NUL inside */
	CHECK_INT(fdpass_recv(sv[1], buf, sizeof buf, &fd, 0), FDPASS_BAD);
	close(sv[0]);
	close(sv[1]);
}
