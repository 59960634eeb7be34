/* config: control files under the configuration directory (paths_config()).
 *
 * Three kinds of file, in the manner of qmail's and Courier's control files
 * (estafette-config(5) is the user's description):
 *   one-value files  the first line that is neither blank nor a comment,
 *                    trimmed ("me" holds the host name);
 *   list files       one item per line ("locals", "rcpthosts");
 *   settings files   "name = value" lines ("smtpd.conf").
 * Common rules: '#' at the start of a line (after blanks) makes it a comment;
 * blank lines are skipped; spaces, tabs and CR are trimmed from both ends of a
 * line, so CRLF files read like LF files; a NUL byte anywhere is an error; a
 * file is at most CONFIG_MAX_FILE bytes and a line at most CONFIG_MAX_LINE.
 * Values are bytes: no character set is assumed or checked.
 *
 * A missing file (ENOENT) means "use the default". Any other failure to read
 * (EACCES, EIO, EISDIR, ...) is an error, never a silent default.
 *
 * Functions return 1 when the value came from the file, 0 when the default was
 * used, -1 on error with a message in err ("PATH: ..." or "PATH:LINE: ...").
 * Readers into a struct overwrite it: free the previous contents first; free
 * it after any return (it is empty after an error).
 * err may be NULL. A name starting with '/' is used as it is; any other name
 * is taken relative to paths_config(). Nothing here logs. */
#ifndef ESTAFETTE_CONFIG_H
#define ESTAFETTE_CONFIG_H

#include <stddef.h>
#include <stdint.h>

struct buf;

#define CONFIG_MAX_FILE (16u * 1024 * 1024)
#define CONFIG_MAX_LINE (64u * 1024)

/* out = the path of configuration file name. */
void config_path(struct buf *out, const char *name);

/* Units accepted after a number:
 *   CONFIG_UNIT_NONE      a plain decimal number;
 *   CONFIG_UNIT_SIZE      bytes, optional suffix k, M, G (powers of 1024; the
 *                         letter's case does not matter);
 *   CONFIG_UNIT_DURATION  seconds, optional suffix s, m, h, d (lowercase). */
enum config_unit { CONFIG_UNIT_NONE, CONFIG_UNIT_SIZE, CONFIG_UNIT_DURATION };

/* Parsers shared by every getter. s is not NUL-terminated; on error, err gets
 * a message without a file name, such as: number too large: "99999999999". */
int config_parse_u64(const char *s, size_t len, enum config_unit unit,
		     uint64_t min, uint64_t max, uint64_t *out, struct buf *err);
/* yes/no, true/false, on/off, 1/0, in any case. */
int config_parse_bool(const char *s, size_t len, int *out, struct buf *err);

/* One-value files. A file holding only blanks and comments counts as missing.
 * Lines after the value line are ignored (as qmail does). */
int config_get_string(const char *name, const char *def, struct buf *out, struct buf *err);
int config_get_u64(const char *name, uint64_t def, uint64_t min, uint64_t max,
		   enum config_unit unit, uint64_t *out, struct buf *err);
int config_get_bool(const char *name, int def, int *out, struct buf *err);
/* "me", defaulting to gethostname(); returns 0, or -1 on error. */
int config_me(struct buf *out, struct buf *err);

/* List files: every item, in file order (items are C strings; duplicates kept).
 * A missing file gives an empty list. */
struct config_list {
	char **items;
	size_t count;
};
#define CONFIG_LIST_INIT { NULL, 0 }
int config_read_list(const char *name, struct config_list *out, struct buf *err);
void config_list_free(struct config_list *list);

/* Settings files: "name = value", blanks around '=' optional. A name is made of
 * ASCII letters, digits, '_', '-' and '.', and is case-sensitive. The value is
 * the rest of the line, trimmed; it may be empty and may contain '#' (only a
 * whole line is ever a comment). A name set twice is an error naming both
 * lines: a forgotten earlier line must not silently win or lose.
 * A missing file gives an empty set, so every getter returns its default. */
struct config_setting {
	char *name;
	char *value;
	unsigned long line;
};
struct config_env {
	char *path;                    /* for messages */
	struct config_setting *items;  /* sorted by name */
	size_t count;
};
#define CONFIG_ENV_INIT { NULL, NULL, 0 }
int config_read_env(const char *name, struct config_env *out, struct buf *err);
void config_env_free(struct config_env *env);

/* The setting or NULL. */
const struct config_setting *config_env_find(const struct config_env *env, const char *name);
int config_env_string(const struct config_env *env, const char *name, const char *def,
		      const char **out);
int config_env_u64(const struct config_env *env, const char *name, uint64_t def,
		   uint64_t min, uint64_t max, enum config_unit unit, uint64_t *out,
		   struct buf *err);
int config_env_bool(const struct config_env *env, const char *name, int def, int *out,
		    struct buf *err);
/* -1 (and "PATH:LINE: unknown setting ...") if a name is not in known, a
 * NULL-terminated array; else 0. Catches misspelt settings. */
int config_env_check(const struct config_env *env, const char *const *known, struct buf *err);

/* The line scanner all of the above use, for other modules reading files of
 * the same shape (lib/map's sources): returns 1 with the next trimmed,
 * non-blank, non-comment line, 0 at the end, -1 on a NUL byte or a line longer
 * than max_line. lineno is the number of the line returned. */
struct config_lines {
	const char *file;
	const char *p, *end;
	size_t max_line;
	unsigned long lineno;
};
void config_lines_init(struct config_lines *s, const char *file, const char *text,
		       size_t len, size_t max_line);
int config_lines_next(struct config_lines *s, const char **line, size_t *len, struct buf *err);

#endif
