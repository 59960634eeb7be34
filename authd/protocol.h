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

enum request_type { REQ_LOOKUP, REQ_AUTH, REQ_ENUM, REQ_PASSWD };
enum auth_mech { MECH_PLAIN, MECH_LOGIN };

#define PROTO_MAX_SERVICE 32
#define PROTO_MAX_USER 512
#define PROTO_MAX_IP 64

struct request {
	enum request_type type;
	enum auth_mech mech;
	struct buf service;  /* [a-z0-9-], 1-32 bytes */
	struct buf user;     /* LOOKUP, PASSWD; AUTH: from the credentials */
	struct buf ip;       /* AUTH: the client's address, "-" if none */
	struct buf pass;     /* AUTH; PASSWD: the old password (wiped after use) */
	struct buf newpass;  /* PASSWD */
};

void request_free(struct request *r); /* wipes the passwords */

/* 0, or -1 with a static reason in *why. */
int protocol_parse(const char *line, size_t len, struct request *r, const char **why);

/* "OK address=... uid=... gid=... home=... maildir=... quota=... options=..."
 * (with prefix instead of "OK" for ENUM's ACCOUNT lines), with LF. */
void protocol_format_account(struct buf *out, const char *prefix, const struct backend_account *a);
/* "NO reason\n", "TEMPFAIL reason\n", "BAD reason\n": reason encoded. */
void protocol_format_status(struct buf *out, const char *status, const char *reason);

#endif
