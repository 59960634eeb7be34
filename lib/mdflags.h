/* mdflags: the info part of a Maildir file name (":2,FLAGS") and its size fields.
 *
 * A message file in cur/ is named BASE:2,FLAGS (cr.yp.to/proto/maildir.html).
 * FLAGS are single bytes kept as a set and always written once each, in ASCII
 * order: the standard D F P R S T, Dovecot's keyword letters a-z, and any other
 * printable ASCII byte a foreign client used (kept, never interpreted). Info of
 * another version (":1,..." or anything else after the last ':') is kept as it
 * is and never rewritten. BASE may carry ",S=<size>" and ",W=<size>" fields
 * (Maildir++ / Dovecot). Trusts nothing: names come from directory listings
 * that other programs fill; every function is bounded by MDFLAGS_NAME_MAX. */
#ifndef ESTAFETTE_MDFLAGS_H
#define ESTAFETTE_MDFLAGS_H

#include <stddef.h>
#include <stdint.h>

struct buf;

#define MDFLAGS_NAME_MAX 255 /* a file name, as the file system allows */

/* The standard flags. */
#define MDFLAG_DRAFT   'D'
#define MDFLAG_FLAGGED 'F'
#define MDFLAG_PASSED  'P' /* resent/forwarded */
#define MDFLAG_REPLIED 'R'
#define MDFLAG_SEEN    'S'
#define MDFLAG_TRASHED 'T' /* IMAP \Deleted */

/* A set of flag bytes, one bit per ASCII code. A zeroed struct is empty. */
struct mdflags {
	uint64_t bits[2];
};

enum mdflags_info {
	MDFLAGS_INFO_NONE,  /* no ':' at all (a file in new/) */
	MDFLAGS_INFO_2,     /* ":2," followed by flags */
	MDFLAGS_INFO_1,     /* ":1,..." experimental; kept untouched */
	MDFLAGS_INFO_OTHER, /* anything else after ':'; kept untouched */
};

/* A parsed file name; the pointers point into the name given to the parser. */
struct mdflags_name {
	const char *base;
	size_t base_len;
	enum mdflags_info info;
	const char *info_data; /* after ':' (for INFO_2: after ":2,") */
	size_t info_len;
	struct mdflags flags;  /* INFO_2 only; empty otherwise */
};

/* 1 if c may be a flag: printable ASCII other than '/' and ':'. */
int mdflags_valid(int c);
int mdflags_has(const struct mdflags *f, int c);
/* Add or remove one flag: 0, or -1 (EINVAL) if c may not be a flag. */
int mdflags_add(struct mdflags *f, int c);
int mdflags_remove(struct mdflags *f, int c);
int mdflags_equal(const struct mdflags *a, const struct mdflags *b);

/* Parse flag bytes (the part after ":2,"); repeats are folded. -1 (EINVAL) on a
 * byte that may not be a flag, f then empty. */
int mdflags_parse(struct mdflags *f, const char *s, size_t len);
/* Append the flags to out, each once, in ASCII order. */
void mdflags_format(const struct mdflags *f, struct buf *out);

/* Split a file name into base and info. -1 with errno: ENAMETOOLONG over
 * MDFLAGS_NAME_MAX; EINVAL for an empty name or base, a NUL or '/', or bad
 * flag bytes after ":2,". */
int mdflags_name_parse(struct mdflags_name *n, const char *name, size_t len);

/* out = the name with its flags replaced by f (":2," added to a name without
 * info). -1 with errno: as mdflags_name_parse; EINVAL for ":1," or other info,
 * which is not ours to rewrite; ENAMETOOLONG if the result would be too long. */
int mdflags_name_with(const char *name, size_t len, const struct mdflags *f, struct buf *out);
/* The same with one flag set (on != 0) or cleared. */
int mdflags_name_set(const char *name, size_t len, int flag, int on, struct buf *out);

/* The value of the ",S=" (field 'S') or ",W=" (field 'W') size in the base of
 * a name: 0, or -1 with errno ENOENT (no such field) or EINVAL (malformed
 * name or value, or a value over UINT64_MAX). */
int mdflags_name_size(const char *name, size_t len, int field, uint64_t *out);

#endif
