/* userdb_cdb: the layout of the cdb that userdb(8) compiles and authd reads. */
#ifndef ESTAFETTE_AUTHD_USERDB_CDB_H
#define ESTAFETTE_AUTHD_USERDB_CDB_H

/* A record no text source can produce (its key starts with NUL): proves the
 * file was made by userdb(8), so a stray or garbled file is an error, not an
 * empty account list. */
#define USERDB_MARKER "\0estafette-userdb"
#define USERDB_MARKER_VALUE "1"

#endif
