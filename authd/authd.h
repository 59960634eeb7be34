/* authd: the daemon's settings and the per-connection entry point. */
#ifndef ESTAFETTE_AUTHD_AUTHD_H
#define ESTAFETTE_AUTHD_AUTHD_H

#include "buf.h"

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct backend;
struct backend_ops;

#define AUTHD_MAX_BACKENDS 8

struct authd {
	const struct backend_ops *ops[AUTHD_MAX_BACKENDS];
	struct backend *be[AUTHD_MAX_BACKENDS];
	size_t nbackends;
	uint64_t fail_delay_ms;      /* before answering a failed AUTH */
	uint64_t timeout_s;          /* a whole connection */
	uint64_t max_connections;    /* = the most connection processes */
	uint64_t min_spare, max_spare; /* idle connection processes kept */
	uint64_t max_user_failures;  /* within failure_window; 0 = no limit */
	uint64_t max_ip_failures;
	uint64_t failure_window_s;
	uid_t self_uid;              /* ENUM is for root and this uid */
	char *dummy_hash;            /* verified against for unknown users: same timing */
	struct buf ticket_key;       /* signs AUTH tickets (lib/ticket.h); empty = no tickets */
	unsigned mechs;              /* SASL mechanisms offered: 1u << enum auth_mech */
	char hostname[256];          /* in CRAM-MD5 challenges */
	unsigned char fake_secret[32]; /* derives unknown users' fake SCRAM salts */
};

/* Serve one connection (requests until EOF, an error or the timeout). */
void session_serve(const struct authd *d, int fd, uid_t peer_uid);

#endif
