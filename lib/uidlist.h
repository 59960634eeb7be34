/* uidlist: persistent IMAP UIDs of a Maildir folder ("estafette-uidlist"),
 * shared by imapd (UIDs) and pop3d (UIDLs), assigned under the folder's lock.
 * See lib/uidlist.c for the file format. */
#ifndef ESTAFETTE_UIDLIST_H
#define ESTAFETTE_UIDLIST_H

#include <stddef.h>
#include <stdint.h>

/* A message found on disk by a scan (in cur/, ascending UIDs). recent: its
 * UID is new, or this scan moved it from new/ to cur/. */
struct disk_msg {
	uint32_t uid;
	char *name;
	int recent;
	uint64_t modseq;   /* CONDSTORE (RFC 7162): last change of the message */
};

/* An expunged message remembered for QRESYNC: its UID and the modseq of
 * its removal. At most FOLDER_MAX_VANISHED are kept; vanished_floor is the
 * highest modseq forgotten (changes since an older modseq are unknown). */
#define FOLDER_MAX_VANISHED 10000
struct uid_modseq {
	uint32_t uid;
	uint64_t modseq;
};

struct folder_info {
	uint32_t uidvalidity, uidnext;
	uint64_t highestmodseq, vanished_floor;
	uint32_t first_recent;       /* the lowest UID no session claimed as \Recent */
	struct uid_modseq *vanished; /* ascending UIDs */
	size_t nvanished;
};

/* Take the folder's lock (flock on estafette-uidlist.lock): fd, or -1. */
int folder_lock(const char *path);
void folder_unlock(int fd);
/* Under the lock: move new/ to cur/, give unknown messages the next UIDs,
 * rewrite the list if it changed. 0, or -1 (errno). */
int folder_scan(const char *path, uint32_t *uidvalidity, uint32_t *uidnext,
		struct disk_msg **out, size_t *count);
/* Scan flags. FOLDER_SCAN_KEEP_NEW: rename nothing; list new/ as well and
 * number its messages (by base name, so the scan that later moves them keeps
 * their UIDs and reports them recent). Then name is the file's name in new/ or
 * cur/, and recent says it is in new/. */
#define FOLDER_SCAN_KEEP_NEW 1u
/* FOLDER_SCAN_PEEK: \Recent is not claimed (EXAMINE, STATUS, the scans of
 * APPEND and COPY): recent says the message is still unclaimed. Without it
 * (and without KEEP_NEW) a scan claims: recent says the message was unclaimed
 * and no later scan reports it recent again (RFC 3501 \Recent: one session). */
#define FOLDER_SCAN_PEEK 2u
int folder_scan_flags(const char *path, unsigned flags, uint32_t *uidvalidity,
		      uint32_t *uidnext, struct disk_msg **out, size_t *count);
void disk_msgs_free(struct disk_msg *d, size_t count);
/* folder_scan_flags with the modseqs: a message whose name (flags) changed
 * since the last scan, a new message and an expunge each take the next
 * modseq. Free fi with folder_info_free. */
int folder_scan_info(const char *path, unsigned flags, struct folder_info *fi,
		     struct disk_msg **out, size_t *count);
void folder_info_free(struct folder_info *fi);

#endif
