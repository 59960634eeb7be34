/* udb: Courier's userdb record format, shared by authd's userdb backend and
 * the userdb(8) command.
 *
 * A text line is "ADDRESS<TAB>name=value|name=value|..."; the compiled cdb maps
 * the normalised address to the field string. Field names are lowercase ASCII
 * letters, digits, '_' and '-'; values cannot hold '|', TAB or control bytes.
 * Trusts nothing: every function checks what it is given. */
#ifndef ESTAFETTE_AUTHD_UDB_H
#define ESTAFETTE_AUTHD_UDB_H

#include <stddef.h>

struct buf;

#define UDB_MAX_ADDRESS 512
#define UDB_MAX_RECORD (16u * 1024)   /* a field string */
#define UDB_MAX_FIELDS 64             /* fields in one record */

/* out = address with the domain (after the last '@') in ASCII lowercase; the
 * local part is kept as it is. -1 (out untouched) if the address is empty, too
 * long, or holds a byte below 0x21, 0x7f, '|' or '#' at its start. */
int udb_normalize(struct buf *out, const char *addr, size_t len);

/* The value of field name in the record s (len bytes): 1 found (*val, *vlen
 * point into s), 0 absent. */
int udb_field(const char *s, size_t len, const char *name, const char **val, size_t *vlen);

/* Check a record's syntax: every field "name=value" with a valid name and
 * value, no name twice, uid and gid decimal and present, home absolute.
 * NULL if fine, else a static message. */
const char *udb_check_record(const char *s, size_t len);

/* A field name or value as the format allows them. */
int udb_valid_name(const char *s, size_t len);
int udb_valid_value(const char *s, size_t len);

#endif
