/* mdquota: Maildir++ quotas (the maildirsize file), as Courier and Dovecot
 * keep them: the first line is the quota ("<bytes>S,<count>C"), every other
 * line "<bytes> <count>" adds to the usage (negative after expunges). The
 * file is rebuilt from the messages' sizes (",S=" in their names, else stat)
 * when it grows past 5120 bytes, when it says "over quota" (before refusing
 * a message, as Courier does), or is missing while a quota is set. See
 * maildirquota(7). Shared by maildrop, deliverquota, mailbot and imapd. */
#ifndef ESTAFETTE_MDQUOTA_H
#define ESTAFETTE_MDQUOTA_H

#include "buf.h"

#include <stdint.h>

#define MD_QUOTA_FILE_MAX  5120

struct md_usage {
	int64_t bytes, count;
};

/* 0 when a message of size bytes fits (or there is no quota); -1 with errno
 * EDQUOT and err "mail quota exceeded", or another errno on failure. spec is
 * the MAILDIRQUOTA value (may be empty): used only when maildirsize is
 * missing. dir may be a Maildir++ folder; the quota is its parent's. */
int md_quota_check(const char *dir, const char *spec, uint64_t size, struct buf *err);
/* Record a delivery (or removal, with negative numbers). Best effort. */
void md_quota_add(const char *dir, const char *spec, int64_t bytes, int64_t count);
/* Rebuild maildirsize of the maildir root with quota line spec. */
int md_quota_recalc(const char *root, const char *spec, struct md_usage *u);
/* Read maildirsize: quota line into spec, sum into u; -1 if missing/bad. */
int md_quota_read(const char *root, struct buf *spec, struct md_usage *u, size_t *filesize);

#endif
