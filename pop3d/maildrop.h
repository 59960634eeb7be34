/* maildrop: a POP3 session's view of one Maildir (pop3d(8)).
 *
 * Opening takes the maildrop lock (flock on estafette-pop3.lock in the
 * Maildir, released by the kernel when the process ends), then lists new/
 * and cur/ without moving anything, so a login on a large fresh maildrop
 * costs two readdirs and a sort. Sizes are the wire sizes (LF counted as
 * CRLF): the ,W= field of the name when present, else counted from the file
 * once, when first asked. UIDLs are imapd's UIDVALIDITY.UID with
 * maildrop_use_imap_uids, else the unique part of the name (before ':' and
 * ','), stable for as long as the file exists (Courier-compatible). Deletions are only
 * marks until maildrop_update (the UPDATE state). Trusts nothing in the
 * Maildir: names are bounded and files opened without following symlinks. */
#ifndef ESTAFETTE_POP3D_MAILDROP_H
#define ESTAFETTE_POP3D_MAILDROP_H

#include "buf.h"

#include <stddef.h>
#include <stdint.h>

#define MAILDROP_MAX_MESSAGES 1000000
#define MAILDROP_LOCK_NAME "estafette-pop3.lock"
#define MAILDROP_UIDL_MAX 70

struct maildrop_msg {
	char *name;      /* "new/NAME" or "cur/NAME" */
	size_t baselen;  /* bytes of the unique part, after the "new/" */
	uint64_t order;  /* the delivery time from the name, for sorting */
	uint64_t size;
	uint32_t uid;    /* imapd's UID (maildrop_use_imap_uids), 0 if none */
	unsigned size_known : 1, deleted : 1, retrieved : 1;
};

struct maildrop {
	int dirfd;
	int lockfd;
	struct maildrop_msg *m;
	size_t n, cap;
	uint32_t uidvalidity; /* nonzero: UIDLs are "UIDVALIDITY.UID" */
};

enum { MAILDROP_OK = 0, MAILDROP_ERROR = -1, MAILDROP_INUSE = -2 };

/* Lock and list. MAILDROP_INUSE when another session holds the lock. */
int maildrop_open(struct maildrop *md, const char *path, struct buf *err);
void maildrop_close(struct maildrop *md);

/* After maildrop_open: take imapd's UIDs (lib/uidlist, under the folder's
 * lock, assigning the next UIDs to messages no IMAP session has seen, keyed
 * by base name and without moving new/ to cur/: imapd keeps them and still
 * reports those messages recent), so that UIDLs are "UIDVALIDITY.UID" as seen
 * over IMAP. A message that vanished meanwhile keeps its name UIDL. 0, or -1
 * with *err. */
int maildrop_use_imap_uids(struct maildrop *md, const char *path, struct buf *err);

/* Wire size of message i (0-based); -1 if it cannot be read. */
int maildrop_size(struct maildrop *md, size_t i, uint64_t *size);
/* The UIDL of message i (replaces out). */
void maildrop_uidl(const struct maildrop *md, size_t i, struct buf *out);
/* Open message i for reading; -1 (errno) if it is gone. */
int maildrop_open_msg(struct maildrop *md, size_t i);

/* The UPDATE state: unlink deleted messages, move retrieved ones from new/ to
 * cur/ with the S flag. 0, or -1 with *err if some deletion failed. */
int maildrop_update(struct maildrop *md, struct buf *err);

/* Count the wire size of the bytes of fd (LF not after CR counted twice). */
int maildrop_count_fd(int fd, uint64_t *size);

#endif
