/* protocol: authd's request lines and reply formatting (authd(8)).
 *
 * Requests are single lines of space-separated tokens; every token except
 * the base64 data is percent-encoded (lib/authclient.h). The parser trusts
 * nothing: tokens are bounded, decoded strictly and checked. */
#ifndef ESTAFETTE_AUTHD_PROTOCOL_H
#define ESTAFETTE_AUTHD_PROTOCOL_H

#include "buf.h"

#include <stddef.h>

struct backend_account;

enum request_type { REQ_LOOKUP, REQ_AUTH, REQ_ENUM, REQ_PASSWD, REQ_MECHS, REQ_SASL, REQ_STEP };
enum auth_mech { MECH_PLAIN, MECH_LOGIN, MECH_CRAM_MD5, MECH_SCRAM_SHA256, MECH_COUNT };

#define PROTO_MAX_SERVICE 32
#define PROTO_MAX_USER 512
#define PROTO_MAX_IP 64
#define PROTO_MAX_SASL_DATA 4096  /* one decoded SASL message (SASL, STEP) */

struct request {
	enum request_type type;
	enum auth_mech mech;
	struct buf service;  /* [a-z0-9-], 1-32 bytes */
	struct buf user;     /* LOOKUP, PASSWD; AUTH: from the credentials */
	struct buf ip;       /* AUTH: the client's address, "-" if none */
	struct buf pass;     /* AUTH; PASSWD: the old password (wiped after use) */
	struct buf newpass;  /* PASSWD */
	struct buf data;     /* SASL (initial response), STEP: decoded; wiped */
	int has_data;        /* SASL: an initial response was given */
	int cancel;          /* STEP *: the client gave up */
};

/* The mechanism's name ("SCRAM-SHA-256"), or its number from a name
 * (case-insensitive; -1 if unknown). */
/* SASL PLAIN's message (RFC 4616) into user and pass: 0, or -1 if malformed,
 * over-long, with a NUL or a control byte in the user, or with an authzid
 * other than the user. */
int protocol_parse_plain(const struct buf *raw, struct buf *user, struct buf *pass);
const char *protocol_mech_name(enum auth_mech m);
int protocol_mech_find(const char *name, size_t len);

void request_free(struct request *r); /* wipes the passwords */

/* 0, or -1 with a static reason in *why. */
int protocol_parse(const char *line, size_t len, struct request *r, const char **why);

/* "OK address=... uid=... gid=... home=... maildir=... quota=... options=..."
 * (with prefix instead of "OK" for ENUM's ACCOUNT lines), with LF. */
void protocol_format_account(struct buf *out, const char *prefix, const struct backend_account *a);
/* "NO reason\n", "TEMPFAIL reason\n", "BAD reason\n": reason encoded. */
void protocol_format_status(struct buf *out, const char *status, const char *reason);

#endif
