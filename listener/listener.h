/* listener: declarations shared by the files of the listener program (listener(8)).
 * Nothing here is a library interface; lib/ stays free of listener concerns. */
#ifndef ESTAFETTE_LISTENER_H
#define ESTAFETTE_LISTENER_H

#include <netinet/in.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <time.h>

struct buf;

#define LISTENER_MAX_SOCKETS 32  /* -a addresses or systemd fds */
#define LISTENER_IP_MAX 64       /* an address as text, NUL included */

/* table.c: open-addressing hash table of fixed-size entries keyed by 16 bytes.
 * Every entry type starts with struct table_head. Sized once for a maximum
 * number of entries (load stays <= 1/2), so there is no rehashing; the hash is
 * keyed with a random seed so that clients cannot choose colliding addresses. */
struct table_head {
	unsigned char key[16];
	unsigned char used;
};
struct table {
	unsigned char *slots;
	size_t entry_size;
	size_t mask;     /* slot count - 1 (a power of two) */
	size_t count;
	size_t max;
	uint64_t seed;
};
void table_init(struct table *t, size_t max_entries, size_t entry_size);
void table_free(struct table *t);
void *table_find(const struct table *t, const unsigned char key[16]);
/* A new zeroed entry with its key set; NULL when max entries are in use. */
void *table_insert(struct table *t, const unsigned char key[16]);
void table_delete(struct table *t, void *entry);
/* Entry number i (0 <= i <= t->mask) or NULL if that slot is empty. */
void *table_slot(const struct table *t, size_t i);

/* limits.c: connection counts per client address.
 * IPv4 (and IPv4-mapped IPv6) addresses count per address; native IPv6
 * addresses count per /64, the smallest network one client usually has. */
struct limits_key {
	unsigned char b[16];
};
void limits_key_of(const struct sockaddr *sa, struct limits_key *key);
void limits_init(struct table *t, size_t max_entries);
uint32_t limits_count(const struct table *t, const struct limits_key *key);
int limits_add(struct table *t, const struct limits_key *key);   /* 0 or -1 (full) */
void limits_remove(struct table *t, const struct limits_key *key);

/* children.c: running children by pid. */
struct child {
	struct table_head head;  /* key: the pid */
	pid_t pid;
	struct limits_key key;
	char ip[LISTENER_IP_MAX];
	unsigned port;
	struct timespec start;   /* CLOCK_MONOTONIC */
	int signalled;           /* 0, SIGTERM or SIGKILL: what we last sent */
};
void children_init(struct table *t, size_t max_entries);
struct child *children_add(struct table *t, pid_t pid);   /* NULL if full */
struct child *children_find(const struct table *t, pid_t pid);
void children_remove(struct table *t, struct child *c);

/* sock.c: the listening sockets. All are non-blocking and close-on-exec. */
struct socks {
	int fd[LISTENER_MAX_SOCKETS];
	size_t count;
};
/* Parse an IPv4 or IPv6 literal (optionally in brackets) with a port. */
int sock_parse_addr(const char *text, unsigned port, struct sockaddr_storage *ss,
		    socklen_t *len, struct buf *err);
/* Bind and listen on one address; appends to out. */
int sock_listen(struct socks *out, const struct sockaddr *sa, socklen_t len, int backlog,
		struct buf *err);
/* The default: [::] accepting IPv4 too, or 0.0.0.0 without IPv6. */
int sock_listen_any(struct socks *out, unsigned port, int backlog, struct buf *err);
/* systemd socket activation (LISTEN_PID/LISTEN_FDS): 1 if used, 0 if not, -1 on error. */
int sock_from_systemd(struct socks *out, struct buf *err);
/* An address as text (IPv4-mapped IPv6 shown as IPv4) and its port. */
void sock_format(const struct sockaddr *sa, char ip[LISTENER_IP_MAX], unsigned *port);

/* env.c: the ucspi-tcp environment of a child. */
void env_clear_inherited(void);
/* Sets PROTO, TCPLOCALIP, TCPLOCALPORT, TCPREMOTEIP, TCPREMOTEPORT and, when
 * lookup is on and the reverse name is forward-confirmed, TCPREMOTEHOST. */
int env_set_ucspi(const struct sockaddr *local, const struct sockaddr *remote, int lookup);

/* spawn.c: fork a child that runs argv[0] with the connection on fds 0 and 1.
 * Returns the pid, or -1 with errno from fork. */
pid_t spawn_child(int conn, const struct sockaddr *local, const struct sockaddr *remote,
		  int lookup, char *const argv[]);
/* The signal mask the listener runs with (SIGCHLD, SIGTERM, SIGINT, SIGHUP blocked). */
void spawn_signals(sigset_t *set);

/* serve.c: the event loop, once the sockets are bound and privileges dropped. */
struct serve_opts {
	size_t maxconn;
	size_t maxperip;
	const char *busy;        /* sent to a refused client; may be empty */
	size_t busy_len;
	unsigned timeout;        /* seconds per session, 0 = none */
	int lookup;              /* -h: TCPREMOTEHOST */
	char **argv;             /* the program and its arguments */
};
/* Runs until SIGTERM or SIGINT, stops the children, returns the exit code. */
int serve(const struct socks *socks, int sigfd, const struct serve_opts *o);

#endif
