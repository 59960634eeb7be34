/* map: read-only key/value maps in cdb files (tinycdb), and their compiler.
 *
 * A map is compiled from a text source (map_compile, the makemap command) and
 * replaced atomically, so a reader sees the old map or the new one, never a
 * part. An open map keeps its file mapped; each lookup first makes a cheap
 * stat() of the path (at most once per check interval, default: every lookup)
 * and reopens the map if the file was replaced (other device, inode, size or
 * mtime), so long-running daemons pick up new maps by themselves.
 * If the replacement cannot be opened, lookups fail (MAP_ERROR) instead of
 * answering from stale or missing data; map_error() says why.
 * A map must never be rewritten in place (truncating a mapped file kills its
 * readers with SIGBUS): always build a new file and rename it, as makemap does.
 *
 * Keys and values are bytes; a key may be empty or hold NUL bytes (though a
 * source file cannot express either). Nothing here logs. */
#ifndef ESTAFETTE_MAP_H
#define ESTAFETTE_MAP_H

#include <stddef.h>

struct buf;
struct map;

enum { MAP_ERROR = -1, MAP_NOTFOUND = 0, MAP_FOUND = 1 };

/* NULL on error, with the reason in err (which may be NULL). A missing file is
 * an error (errno ENOENT) for the caller to judge. */
struct map *map_open(const char *path, struct buf *err);
void map_close(struct map *map);

/* The reason of the last MAP_ERROR (or of the last failed reopen). */
const char *map_error(const struct map *map);

/* Check the path for a new file at most every `seconds` (0: on every lookup). */
void map_set_check_interval(struct map *map, unsigned seconds);

/* 1 if the map was reopened on a new file, 0 if unchanged, -1 on error (the
 * old file stays in use, but lookups return MAP_ERROR until a check succeeds). */
int map_reopen_if_changed(struct map *map, struct buf *err);

/* MAP_FOUND with the value in value (replacing its contents), MAP_NOTFOUND,
 * or MAP_ERROR (value untouched). value may be NULL to test for presence. */
int map_lookup(struct map *map, const void *key, size_t len, struct buf *value);
/* The same with the key's ASCII letters lowercased (maps built with -l). */
int map_lookup_lower(struct map *map, const void *key, size_t len, struct buf *value);

/* Hierarchical lookups for access rules, most specific key first. Each stops
 * at the first key found; matched (may be NULL) receives that key. Keys are
 * lowercased, so the map should be compiled with MAP_COMPILE_LOWER.
 *
 * map_lookup_ip: ip is an IPv4 or IPv6 address in text.
 *   IPv4 192.0.2.10 tries "192.0.2.10", "192.0.2", "192.0", "192".
 *   IPv6 is written fully expanded: eight groups of four lowercase hex digits;
 *   2001:db8::1 tries "2001:0db8:0000:0000:0000:0000:0000:0001", then the
 *   same without its last group, down to "2001". An IPv4-mapped IPv6 address
 *   (::ffff:192.0.2.10) is looked up as the IPv4 address.
 *   A string that is not an address is MAP_ERROR. */
int map_lookup_ip(struct map *map, const char *ip, struct buf *value, struct buf *matched);

/* a.b.example tries "a.b.example", ".b.example", ".example" (a leading dot
 * matches subdomains only). One trailing dot of the domain is ignored. */
int map_lookup_domain(struct map *map, const void *domain, size_t len, struct buf *value,
		      struct buf *matched);

/* user@a.b.example tries "user@a.b.example", "user@", "@a.b.example",
 * "@.b.example", "@.example". The last '@' splits user from domain; an address
 * without '@' tries itself and then "user@". The empty address tries "". */
int map_lookup_address(struct map *map, const void *addr, size_t len, struct buf *value,
		       struct buf *matched);

/* Compile the text source at src into the cdb file dest.
 * Source lines: KEY, or KEY blanks VALUE; '#' starts a comment line; blank
 * lines are skipped; blanks and CR are trimmed from both ends (config(3)'s
 * line rules, which also refuse NUL bytes). A key cannot contain blanks or
 * start with '#'; the value is the rest of the line, possibly empty, and may
 * contain blanks. A key given twice is an error naming both lines.
 * The map is written to dest.tmp.PID, fsynced, renamed over dest and the
 * directory fsynced; on an error before the rename, dest is left as it was
 * and the temporary file removed. An existing dest
 * keeps its permission bits; a new one is created 0644 (less the umask).
 * Returns the number of records (>= 0), or -1 with "SRC:LINE: ..." in err. */
#define MAP_COMPILE_LOWER 1u   /* lowercase the keys' ASCII letters */
#define MAP_MAX_SOURCE (1024u * 1024 * 1024)
#define MAP_MAX_LINE (64u * 1024)
#define MAP_MAX_RECORDS (16u * 1024 * 1024)
long map_compile(const char *src, const char *dest, unsigned flags, struct buf *err);

#endif
