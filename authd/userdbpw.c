/* userdbpw: read a password on standard input, print its crypt(3) hash.
 *
 *   userdbpw [-y | -b | -6 | -s | -c]
 *
 * In the Courier tradition, for pasting into a userdb file. From a terminal
 * the password is asked twice with echo off; from a pipe one line is read.
 * -y yescrypt (default), -b bcrypt, -6 sha512-crypt; -s prints SCRAM-SHA-256
 * keys ({SCRAM-SHA-256}..., for scram-sha-256pw or an SQL/LDAP scram field)
 * and -c a CRAM-MD5 secret ({CRAM-MD5}..., for cram-md5pw). Exit 0 with the
 * result on standard output, or 1 with a message on standard error.
 *
 * Trusts nothing on standard input (bounded to PASSWD_MAX bytes, no NUL).
 * Needs no privileges and runs as whoever calls it. See userdbpw(8). */
#include "passwd.h"
#include "crammd5.h"
#include "scram.h"
#include "buf.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#define PROG "userdbpw"

static struct termios saved_tty;
static volatile sig_atomic_t tty_changed;

static _Noreturn void die(const char *msg)
{
	fprintf(stderr, PROG ": %s\n", msg);
	exit(1);
}

static void tty_restore(void)
{
	if (tty_changed) {
		tcsetattr(STDIN_FILENO, TCSAFLUSH, &saved_tty);
		tty_changed = 0;
	}
}

/* Put the echo back before dying of a signal, then die of it. */
static void on_signal(int sig)
{
	tty_restore();
	signal(sig, SIG_DFL);
	raise(sig);
}

static void tty_echo_off(void)
{
	static const int sigs[] = { SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGTSTP };
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	for (size_t i = 0; i < sizeof sigs / sizeof sigs[0]; i++)
		sigaction(sigs[i], &sa, NULL);
	if (tcgetattr(STDIN_FILENO, &saved_tty) < 0)
		die("cannot read the terminal settings");
	struct termios t = saved_tty;
	t.c_lflag &= ~(tcflag_t)ECHO;
	t.c_lflag |= ECHONL;
	tty_changed = 1;
	atexit(tty_restore); /* every exit, error or not, puts the echo back */
	if (tcsetattr(STDIN_FILENO, TCSAFLUSH, &t) < 0)
		die("cannot turn off echo on the terminal");
}

/* One line (without its '\n') of at most PASSWD_MAX bytes, into pw[]. Byte by
 * byte, so nothing after the line is consumed. Returns the length, or -1 at
 * end of input before any byte. */
static long read_line(char *pw, size_t cap)
{
	size_t len = 0;
	for (;;) {
		char c;
		ssize_t n = read(STDIN_FILENO, &c, 1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			die("cannot read standard input");
		if (n == 0)
			return len == 0 ? -1 : (long)len;
		if (c == '\n')
			return (long)len;
		if (len == cap) {
			fprintf(stderr, PROG ": password too long (more than %zu bytes)\n", cap);
			exit(1);
		}
		pw[len++] = c;
	}
}

/* The password from the terminal, asked twice; or one line from a pipe. */
static size_t read_password(char *pw, char *again, size_t cap)
{
	if (!isatty(STDIN_FILENO)) {
		long n = read_line(pw, cap);
		if (n < 0)
			die("no password on standard input");
		return (size_t)n;
	}
	tty_echo_off();
	fputs("Password: ", stderr);
	long n = read_line(pw, cap);
	fputs("Reenter password: ", stderr);
	long m = n < 0 ? -1 : read_line(again, cap);
	tty_restore();
	if (n < 0 || m < 0)
		die("no password entered");
	if (n != m || memcmp(pw, again, (size_t)n) != 0)
		die("passwords do not match");
	return (size_t)n;
}

static _Noreturn void usage(void)
{
	fputs("usage: " PROG " [-y | -b | -6 | -s | -c]\n"
	      "  -y  yescrypt (default)\n  -b  bcrypt\n  -6  sha512-crypt\n"
	      "  -s  SCRAM-SHA-256 keys\n  -c  CRAM-MD5 secret\n",
	      stderr);
	exit(1);
}

/* -s or -c: not a crypt scheme but a mechanism secret. */
static int mech_secret;

static enum passwd_scheme parse_args(int argc, char **argv)
{
	enum passwd_scheme scheme = PASSWD_DEFAULT;
	int c;
	while ((c = getopt(argc, argv, "yb6sc")) != -1) {
		if (c == 's' || c == 'c')
			mech_secret = c;
		else if (c == 'y')
			scheme = PASSWD_YESCRYPT;
		else if (c == 'b')
			scheme = PASSWD_BCRYPT;
		else if (c == '6')
			scheme = PASSWD_SHA512_CRYPT;
		else
			usage();
	}
	if (optind != argc)
		usage();
	return scheme;
}

static int make(const char *pw, size_t len, enum passwd_scheme scheme, struct buf *out)
{
	struct scram_keys k;
	if (mech_secret == 'c')
		return crammd5_secret_make(pw, len, out);
	if (mech_secret != 's')
		return passwd_hash(pw, len, scheme, out);
	if (scram_keys_make(pw, len, SCRAM_ITER_DEFAULT, &k) < 0)
		return -1;
	scram_keys_format(&k, out);
	explicit_bzero(&k, sizeof k);
	return 0;
}

int main(int argc, char **argv)
{
	enum passwd_scheme scheme = parse_args(argc, argv);
	static char pw[PASSWD_MAX], again[PASSWD_MAX];
	struct buf hash = BUF_INIT;

	size_t len = read_password(pw, again, sizeof pw);
	explicit_bzero(again, sizeof again);
	const char *why = passwd_check_input(pw, len, scheme);
	if (why != NULL)
		die(why);
	int r = make(pw, len, scheme, &hash);
	explicit_bzero(pw, sizeof pw);
	if (r < 0) {
		fprintf(stderr, PROG ": cannot hash the password: %s\n", strerror(errno));
		return 1;
	}
	buf_append_char(&hash, '\n');
	if (fwrite(hash.data, 1, hash.len, stdout) != hash.len || fflush(stdout) != 0)
		die("cannot write standard output");
	buf_free(&hash);
	return 0;
}
