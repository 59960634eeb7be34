/* mdfolder: Maildir++ folder names (Courier's and Dovecot's layout).
 *
 * Every folder of a maildir is one directory beside tmp/ new/ cur/ whose name
 * is '.' followed by the folder's path with '.' between levels: the IMAP
 * folder "INBOX.Sent.2024" (Courier, separator '.') or "Sent/2024" (Dovecot,
 * separator '/') lives in ".Sent.2024"; INBOX itself is the maildir.
 * Names are checked strictly, whatever their source (IMAP clients, command
 * lines, directory listings): no empty level, so no leading, trailing or
 * doubled separator; no '/'; no byte below 0x20 nor 0x7f; no level named tmp,
 * new or cur; no top level named INBOX (any case), which would shadow INBOX;
 * with separator '/', no '.' inside a level (it could not be told apart on
 * disk). The directory name is at most MDFOLDER_DIR_MAX bytes, the limit of
 * one directory entry. Other bytes are kept as given: Courier stores IMAP
 * modified UTF-7, and converting is imapd's job.
 * Functions return 0, or -1 with errno (EINVAL, ENAMETOOLONG) and *err (if
 * err is not NULL) set to a short reason fit for a client or a log. */
#ifndef ESTAFETTE_MDFOLDER_H
#define ESTAFETTE_MDFOLDER_H

#include <stddef.h>
#include <sys/types.h>

struct buf;

#define MDFOLDER_DIR_MAX 255

/* A folder path without INBOX: levels separated by sep ('.' or '/'). */
int mdfolder_check_path(const char *path, size_t len, char sep, const char **err);
/* A directory name: '.' and a path with separator '.'. */
int mdfolder_check_dir(const char *dir, size_t len, const char **err);

/* out = the directory of a folder path ("Sent/Sub" -> ".Sent.Sub"). */
int mdfolder_path_to_dir(const char *path, size_t len, char sep, struct buf *out,
			 const char **err);

/* IMAP name to directory name: "INBOX" (any case) gives "" (the maildir).
 * With sep '.', "Sent" and Courier's "INBOX.Sent" both give ".Sent" (the
 * "INBOX." prefix, any case, is dropped). With sep '/', "Sent/Sub" ->
 * ".Sent.Sub". */
int mdfolder_from_imap(const char *name, size_t len, char sep, struct buf *dir,
		       const char **err);
/* Directory name to IMAP name, the inverse: "" -> "INBOX"; with sep '.' in
 * Courier's form (".Sent" -> "INBOX.Sent"). */
int mdfolder_to_imap(const char *dir, size_t len, char sep, struct buf *name,
		     const char **err);

/* Create the folder dir (checked as above) in maildir as a Maildir++ folder
 * (with its "maildirfolder" marker). EEXIST if it exists already. */
int mdfolder_create(const char *maildir, const char *dir, mode_t mode);

#endif
