/* ticket: authd's signed statement "this account authenticated for this
 * service", which auth-exec(8) checks before it switches to the account.
 *
 * The signed line is
 *   service=S address=A uid=N gid=N home=H maildir=M quota=Q options=O expires=T
 * with values percent-encoded (authclient_encode); the MAC is HMAC-SHA256 under
 * the instance's key (etc/estafette/authd.key: 64 hex digits and LF, mode
 * 0600), in lowercase hex. A ticket as passed to auth-exec is that line plus
 * " mac=HEX". Trusts: the key file, once its mode checks out; nothing in a
 * ticket until its MAC verifies. Nothing here logs. */
#ifndef ESTAFETTE_TICKET_H
#define ESTAFETTE_TICKET_H

#include "authclient.h"
#include "buf.h"

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#define TICKET_KEY_LEN 32        /* bytes of key */
#define TICKET_MAC_HEX 64        /* hex digits of a MAC */
#define TICKET_LIFETIME 30       /* seconds a fresh ticket is valid */
#define TICKET_MAX_SKEW 60       /* an expiry further ahead than this is refused */
#define TICKET_MAX_LEN (8u * 1024)

/* The key file: paths_config()/authd.key. */
void ticket_key_path(struct buf *out);
/* Read the key from path (NULL: ticket_key_path). -1 with *err if missing,
 * malformed, not a regular file, or readable/writable by group or others. */
int ticket_key_load(const char *path, struct buf *key, struct buf *err);
/* Create a fresh random key at path (NULL: the default) unless one exists;
 * when chown_it, give the file to owner:group. 0 (created or present), or -1. */
int ticket_key_create(const char *path, int chown_it, uid_t owner, gid_t group,
		      struct buf *err);

/* The signed line for service and acct, with expiry expires (replaces out). */
void ticket_format(struct buf *out, const char *service, const struct account *acct,
		   uint64_t expires);
/* Lowercase hex HMAC-SHA256 of msg under key (replaces out). */
void ticket_mac(const struct buf *key, const void *msg, size_t len, struct buf *out);
/* The ticket for acct: signed line, " mac=", MAC (replaces out). */
void ticket_sign(struct buf *out, const struct buf *key, const char *service,
		 const struct account *acct, uint64_t expires);

/* Check a ticket (line plus " mac=HEX") for service at time now; on success
 * fill acct (freed first) and return 0. -1 with *err: malformed, bad MAC
 * (checked before anything is parsed), other service, expired, too far ahead. */
int ticket_verify(const char *ticket, size_t len, const struct buf *key, const char *service,
		  time_t now, struct account *acct, struct buf *err);

#endif
