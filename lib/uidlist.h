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
int folder_scan_flags(const char *path, unsigned flags, uint32_t *uidvalidity,
		      uint32_t *uidnext, struct disk_msg **out, size_t *count);
void disk_msgs_free(struct disk_msg *d, size_t count);

#endif
