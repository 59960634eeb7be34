/* spawn: fork one child per connection and exec the service program in it.
 *
 * The child gets the connection on fds 0 and 1, keeps fd 2 (the log), and
 * nothing else: every other descriptor is closed, the signal mask and
 * dispositions the listener changed are restored, the ucspi environment is
 * set, and argv is run with execv (no shell, no PATH search). Each child
 * leads its own process group so that a stop or a timeout also reaches the
 * programs it runs (a shell script's commands, smtpd's submit). */
#define _GNU_SOURCE /* close_range */
#include "listener.h"
#include "log.h"

#include <errno.h>
#include <netinet/tcp.h>
#include <string.h>
#include <sysexits.h>
#include <syslog.h>
#include <unistd.h>

void spawn_signals(sigset_t *set)
{
	sigemptyset(set);
	sigaddset(set, SIGCHLD);
	sigaddset(set, SIGTERM);
	sigaddset(set, SIGINT);
	sigaddset(set, SIGHUP);
}

static void close_from(unsigned first)
{
	if (close_range(first, ~0U, 0) == 0)
		return;
	/* kernels before 5.9: the slow way, bounded by the descriptor limit */
	long max = sysconf(_SC_OPEN_MAX);
	if (max < 0 || max > 1048576)
		max = 1048576;
	for (long fd = first; fd < max; fd++)
		close((int)fd);
}

static _Noreturn void child_fail(const char *what, const char *arg)
{
	log_error("child: %s %s: %s", what, arg, strerror(errno));
	_exit(EX_TEMPFAIL);
}

static _Noreturn void child_run(int conn, const struct sockaddr *local,
				const struct sockaddr *remote, int lookup, char *const argv[])
{
	sigset_t none;
	sigemptyset(&none);
	signal(SIGPIPE, SIG_DFL);
	sigprocmask(SIG_SETMASK, &none, NULL);
	setpgid(0, 0);
	int one = 1;
	/* a failure only costs latency: keep going */
	setsockopt(conn, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	if (env_set_ucspi(local, remote, lookup) != 0)
		child_fail("setting the environment for", argv[0]);
	/* conn > 2: main() made sure 0, 1 and 2 were open before any socket */
	if (dup2(conn, 0) < 0 || dup2(conn, 1) < 0)
		child_fail("dup2 for", argv[0]);
	closelog();
	close_from(3);
	execv(argv[0], argv);
	child_fail("cannot execute", argv[0]);
}

pid_t spawn_child(int conn, const struct sockaddr *local, const struct sockaddr *remote,
		  int lookup, char *const argv[])
{
	pid_t pid = fork();
	if (pid == 0)
		child_run(conn, local, remote, lookup, argv);
	if (pid > 0)
		setpgid(pid, pid); /* also here: no race with a kill(-pid) right after fork */
	return pid;
}
