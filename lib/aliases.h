/* aliases: the aliases(5) file, its compiled cdb form, and alias targets.
 *
 * Source (etc/estafette/aliases, /etc/aliases style):
 *   # comment
 *   name: target, target, ...
 *       continued target, ...        (a line starting with a blank continues)
 * name is a local part or a full address (case is ignored). A target is an
 * address (a bare name means name@ the domain being expanded), "|command",
 * "/path/file", or ":include:/path" (a file of addresses, one or more per
 * line, commas between them, '#' comments). A target holding commas or
 * leading blanks may be written in double quotes ("|prog a, b"); inside
 * quotes \" and \\ stand for " and \.
 *
 * Compiled form: a lib/map cdb whose keys are the lowercased names and whose
 * values are the targets, canonical ("|cmd", "/file", ":include:/p",
 * "addr"), joined by TAB. Targets hold no control bytes (TAB included).
 *
 * Nothing here logs; errors come back in err with "FILE:LINE: ". */
#ifndef ESTAFETTE_ALIASES_H
#define ESTAFETTE_ALIASES_H

#include <stddef.h>

struct buf;

#define ALIASES_MAX_ENTRY 60000u /* one name with its continuations (a map line) */
#define ALIASES_MAX_TARGETS 10000        /* targets of one name */
#define ALIASES_MAX_TARGET 4096          /* bytes of one target */
#define ALIASES_MAX_NAME 512
#define ALIASES_MAX_FILE (256u * 1024 * 1024)

enum alias_kind { ALIAS_ADDRESS, ALIAS_PROGRAM, ALIAS_FILE, ALIAS_INCLUDE };

struct alias_target {
	enum alias_kind kind;
	char *value; /* without its "|", ":include:" prefix; a file keeps its "/" */
};

struct alias_list {
	struct alias_target *items;
	size_t count, cap;
};
#define ALIAS_LIST_INIT { NULL, 0, 0 }

void alias_list_free(struct alias_list *l);

/* Parse a comma-separated target list (the part after "name:", or an include
 * file's text; newlines count as commas). Appends to out. */
int aliases_parse_targets(const char *s, size_t len, struct alias_list *out, struct buf *err);

/* Decode a compiled value (TAB-joined canonical targets). */
int aliases_decode(const char *v, size_t len, struct alias_list *out, struct buf *err);

/* Append the canonical form of t ("|cmd", ":include:/p", "/file", "addr"). */
void aliases_target_format(const struct alias_target *t, struct buf *out);

/* Compile the text source src into the cdb map dest (atomically, through
 * map_compile). Returns the number of names, or -1 with err. */
long aliases_compile(const char *src, const char *dest, struct buf *err);

/* Parse a whole source text: calls fn for each name with its targets.
 * fn returns 0 to go on, -1 to stop (err set by fn). */
int aliases_parse(const char *file, const char *text, size_t len,
		  int (*fn)(void *ctx, const char *name, size_t line, const struct alias_list *t,
			    struct buf *err),
		  void *ctx, struct buf *err);

#endif
