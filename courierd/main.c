/* courierd: the queue scheduler (courierd(8)).
 *
 *   courierd [--root DIR] [--debug]
 *
 * Started as root, it compiles a stale aliases map, makes the trigger FIFO,
 * starts the delivery modules that need privileges (deliver-spawn stays
 * root; the remote module drops to estafette-remote), then drops to the
 * queue user (estafette) with lib/priv before it reads the queue. Started
 * as another user it does the same without switching. It recovers the
 * queue, then loops: trigger bytes and a periodic scan find new entries,
 * the backoff schedule finds due ones, modules answer over their sockets.
 * SIGHUP rereads the configuration; SIGTERM stops new jobs, waits (at most
 * 30 s) for those in flight, records their results and exits 0.
 *
 * Trusts: its configuration, authd, and the control files' strict reader;
 * modules' answers are parsed strictly (sched_result). */
#define _GNU_SOURCE
#include "courierd.h"
#include "trigger.h"
#include "aliases.h"
#include "alloc.h"
#include "log.h"
#include "paths.h"
#include "priv.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

#define QUEUE_USER "estafette"
#define TRIGGER_FULL (60u * 1024) /* near the 64 KiB a FIFO holds by default */
#define REMOTE_USER "estafette-remote"
#define STOP_WAIT 30
#define PKT_MAX 8192

struct cd_conf cd_conf;
struct cd_module cd_modules[2] = { { "local", -1, 0 }, { "remote", -1, 0 } };
int cd_stopping;

static int sigfd[2] = { -1, -1 };

static void on_signal(int sig)
{
	int e = errno;
	unsigned char c = (unsigned char)sig;
	if (write(sigfd[1], &c, 1) < 0) { /* full: a signal is pending anyway */ }
	errno = e;
}

static void signals(void)
{
	if (pipe2(sigfd, O_CLOEXEC | O_NONBLOCK) < 0)
		log_fatal(EX_OSERR, "pipe: %s", strerror(errno));
	struct sigaction sa = { 0 };
	sa.sa_handler = on_signal;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	sa.sa_handler = SIG_IGN;
	sa.sa_flags = SA_NOCLDWAIT; /* modules and submit are waited for explicitly */
	sigaction(SIGPIPE, &sa, NULL);
	signal(SIGCHLD, SIG_DFL);
}

static void aliases_refresh(void)
{
	struct buf src = BUF_INIT, dst = BUF_INIT, err = BUF_INIT;
	struct stat s, d;
	config_path(&src, "aliases");
	config_path(&dst, "aliases.cdb");
	if (stat(buf_cstr(&src), &s) == 0 &&
	    (stat(buf_cstr(&dst), &d) < 0 || d.st_mtim.tv_sec < s.st_mtim.tv_sec ||
	     (d.st_mtim.tv_sec == s.st_mtim.tv_sec && d.st_mtim.tv_nsec < s.st_mtim.tv_nsec))) {
		mode_t old = umask(022); /* a new map must be readable by the queue user */
		long n = aliases_compile(buf_cstr(&src), buf_cstr(&dst), &err);
		umask(old);
		if (n < 0)
			log_error("aliases: %s", buf_cstr(&err));
		else
			log_info("aliases: compiled %ld names", n);
	}
	buf_free(&src);
	buf_free(&dst);
	buf_free(&err);
}

static int trigger_open(uid_t uid, gid_t gid, int as_root)
{
	struct buf path = BUF_INIT;
	paths_join(&path, paths_run(), "trigger");
	if (mkfifo(buf_cstr(&path), 0620) < 0 && errno != EEXIST)
		log_fatal(EX_TEMPFAIL, "mkfifo %s: %s", buf_cstr(&path), strerror(errno));
	struct stat st;
	if (lstat(buf_cstr(&path), &st) < 0 || !S_ISFIFO(st.st_mode))
		log_fatal(EX_TEMPFAIL, "%s is not a FIFO", buf_cstr(&path));
	if (as_root && (chown(buf_cstr(&path), uid, gid) < 0 || chmod(buf_cstr(&path), 0620) < 0))
		log_fatal(EX_TEMPFAIL, "chown %s: %s", buf_cstr(&path), strerror(errno));
	/* read-write: the FIFO never reports EOF when the last submit closes it */
	int fd = open(buf_cstr(&path), O_RDWR | O_NONBLOCK | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		log_fatal(EX_TEMPFAIL, "open %s: %s", buf_cstr(&path), strerror(errno));
	buf_free(&path);
	return fd;
}

static void module_start(struct cd_module *m, const char *prog, const char *user)
{
	struct buf path = BUF_INIT, err = BUF_INIT;
	paths_join(&path, paths_libexec(), prog);
	if (access(buf_cstr(&path), X_OK) < 0) {
		log_info("%s module: %s not installed", m->name, buf_cstr(&path));
		buf_free(&path);
		return;
	}
	int sv[2];
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
		log_fatal(EX_OSERR, "socketpair: %s", strerror(errno));
	pid_t pid = fork();
	if (pid < 0)
		log_fatal(EX_TEMPFAIL, "fork: %s", strerror(errno));
	if (pid == 0) {
		if (dup2(sv[1], 0) < 0)
			_exit(EX_OSERR);
		setenv("ESTAFETTE_ROOT", paths_root(), 1);
		if (user && priv_is_root() && priv_drop_to(user, NULL, 0, &err) < 0) {
			log_error("%s module: %s", m->name, buf_cstr(&err));
			_exit(EX_TEMPFAIL);
		}
		char *argv[] = { (char *)prog, NULL };
		execv(buf_cstr(&path), argv);
		log_error("%s: %s", buf_cstr(&path), strerror(errno));
		_exit(EX_OSERR);
	}
	close(sv[1]);
	fcntl(sv[0], F_SETFL, O_NONBLOCK);
	m->fd = sv[0];
	m->pid = pid;
	log_info("%s module started (%s, pid %ld)", m->name, prog, (long)pid);
	buf_free(&path);
}

static void load_conf(int fatal)
{
	struct cd_conf c;
	struct buf err = BUF_INIT;
	if (cd_conf_load(&c, &err) < 0) {
		if (fatal)
			log_fatal(EX_CONFIG, "%s", buf_cstr(&err));
		log_error("%s (keeping the old configuration)", buf_cstr(&err));
		cd_conf_free(&c);
	} else {
		cd_conf_free(&cd_conf);
		cd_conf = c;
	}
	buf_free(&err);
}

static int start(void)
{
	int as_root = priv_is_root();
	uid_t uid = getuid();
	gid_t gid = getgid();
	struct buf err = BUF_INIT;
	if (as_root && priv_lookup(QUEUE_USER, NULL, &uid, &gid, &err) < 0)
		log_fatal(EX_CONFIG, "%s", buf_cstr(&err));
	aliases_refresh();
	int fifo = trigger_open(uid, gid, as_root);
	module_start(&cd_modules[0], "deliver-spawn", NULL);
	module_start(&cd_modules[1], "remote", REMOTE_USER);
	if (cd_modules[0].fd < 0)
		log_warn("no local delivery module: local mail stays queued");
	if (as_root && priv_drop_to(QUEUE_USER, NULL, 0, &err) < 0)
		log_fatal(EX_TEMPFAIL, "%s", buf_cstr(&err));
	priv_refuse_root("courierd");
	buf_free(&err);
	return fifo;
}

static void read_module(struct cd_module *m)
{
	static char pkt[PKT_MAX];
	for (;;) {
		ssize_t n = recv(m->fd, pkt, sizeof pkt, MSG_DONTWAIT | MSG_TRUNC);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return;
		if (n <= 0) {
			log_error("%s module went away", m->name);
			close(m->fd);
			m->fd = -1;
			sched_module_lost(m);
			return;
		}
		if ((size_t)n > sizeof pkt)
			log_error("%s module: oversized answer ignored", m->name);
		else
			sched_result(m, pkt, (size_t)n);
	}
}

/* 1 to go on, 0 to stop now. */
static int handle_signals(int64_t *stop_at)
{
	unsigned char c[16];
	ssize_t n;
	while ((n = read(sigfd[0], c, sizeof c)) > 0)
		for (ssize_t i = 0; i < n; i++) {
			if (c[i] == SIGHUP) {
				log_info("SIGHUP: rereading the configuration");
				load_conf(0);
				route_reopen();
			} else if (!cd_stopping) {
				log_info("stopping: waiting for %zu deliveries", sched_in_flight());
				cd_stopping = 1;
				*stop_at = (int64_t)time(NULL) + STOP_WAIT;
			}
		}
	return 1;
}

static void trigger_add(const char *id, void *arg)
{
	sched_add(id, *(const int64_t *)arg);
}

/* Read what is waiting in the FIFO: 1 when a full rescan is due (junk, or
 * so much that a writer may have found it full and dropped its id). */
static int trigger_read(int fd, struct trigger *t, int64_t now)
{
	char b[4096];
	size_t total = 0;
	ssize_t n;
	while ((n = read(fd, b, sizeof b)) > 0) {
		trigger_feed(t, b, (size_t)n, trigger_add, &now);
		total += (size_t)n;
	}
	int rescan = t->rescan || total >= TRIGGER_FULL;
	t->rescan = 0;
	return rescan;
}

static void loop(int fifo)
{
	int64_t last_scan = 0, stop_at = 0;
	struct trigger trig = TRIGGER_INIT;
	for (;;) {
		int64_t now = (int64_t)time(NULL);
		if (cd_stopping && (sched_in_flight() == 0 || now >= stop_at))
			return;
		if (!cd_stopping && now - last_scan >= (int64_t)cd_conf.scan_interval) {
			sched_scan(now);
			last_scan = now;
		}
		sched_run(now);
		int64_t wake = cd_stopping ? now + 1 : sched_next_wakeup(now);
		int ms = wake <= now ? 0 : (int)((wake - now) * 1000 > 600000 ? 600000 : (wake - now) * 1000);
		struct pollfd p[4] = { { fifo, POLLIN, 0 }, { sigfd[0], POLLIN, 0 },
				       { cd_modules[0].fd, POLLIN, 0 }, { cd_modules[1].fd, POLLIN, 0 } };
		if (poll(p, 4, ms) < 0 && errno != EINTR)
			log_fatal(EX_OSERR, "poll: %s", strerror(errno));
		if (p[1].revents)
			handle_signals(&stop_at);
		if ((p[0].revents & POLLIN) && trigger_read(fifo, &trig, (int64_t)time(NULL)))
			last_scan = 0;
		for (int i = 0; i < 2; i++)
			if (cd_modules[i].fd >= 0 && p[2 + i].revents)
				read_module(&cd_modules[i]);
		if (cd_modules[0].fd < 0 && !cd_stopping)
			log_fatal(EX_TEMPFAIL, "the local delivery module is gone: exiting for a restart");
		/* modules start while courierd is still root: only a restart brings one back */
		if (cd_modules[1].fd < 0 && cd_modules[1].pid > 0 && !cd_stopping)
			log_fatal(EX_TEMPFAIL, "the remote delivery module is gone: exiting for a restart");
	}
}

int main(int argc, char **argv)
{
	log_init("courierd");
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--root") == 0 && i + 1 < argc)
			paths_set_root(argv[++i]);
		else if (strcmp(argv[i], "--debug") == 0)
			log_set_debug(1);
		else
			log_fatal(EX_USAGE, "usage: courierd [--root DIR] [--debug]");
	}
	umask(007);
	signals();
	load_conf(1);
	int fifo = start();
	log_info("started: queue %s, lifetime %llus, %llu deliveries at once", paths_queue(),
		 (unsigned long long)cd_conf.lifetime, (unsigned long long)cd_conf.max_deliveries);
	sched_recover();
	loop(fifo);
	log_info("stopped");
	cd_conf_free(&cd_conf);
	return 0;
}
