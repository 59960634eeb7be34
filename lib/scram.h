/* scram: SCRAM-SHA-256 (RFC 5802, RFC 7677), the server's side of the
 * exchange and the stored keys it needs (RFC 5803).
 *
 * Stored keys: "{SCRAM-SHA-256}iter:salt$StoredKey:ServerKey" (RFC 5803's
 * authPassword value behind a scheme prefix; salt and keys in base64). Also
 * read: Dovecot's "{SCRAM-SHA-256}iter,salt,StoredKey,ServerKey" and RFC
 * 5803's own "SCRAM-SHA-256$iter:salt$StoredKey:ServerKey". The password is
 * used as the bytes given (no SASLprep): ASCII and already normalised UTF-8
 * passwords work; other Unicode forms must match byte for byte.
 *
 * The exchange (no channel binding: only gs2 flags "n" and "y"):
 *   scram_server_first(client-first) -> the user to look up
 *   scram_server_keys(the account's keys, or NULL for an unknown user)
 *   scram_server_challenge() -> server-first
 *   scram_server_final(client-final) -> server-final ("v=...") if the proof
 *   is right.
 * Every message is bounded (SCRAM_MAX_MESSAGE) and parsed strictly; nothing
 * from the client is trusted. The server nonce is fresh per exchange, so a
 * proof replayed from another exchange never verifies. */
#ifndef ESTAFETTE_SCRAM_H
#define ESTAFETTE_SCRAM_H

#include "buf.h"

#include <stddef.h>

#define SCRAM_KEY_LEN 32           /* SHA-256 */
#define SCRAM_SALT_MAX 64          /* bytes of salt accepted in a stored value */
#define SCRAM_SALT_LEN 16          /* bytes of salt made by scram_keys_make */
#define SCRAM_ITER_MIN 4096        /* RFC 7677: at least 4096 */
#define SCRAM_ITER_MAX 10000000u   /* more is refused: clients would take minutes */
#define SCRAM_ITER_DEFAULT 10000
#define SCRAM_MAX_MESSAGE 4096     /* a client message, in bytes */
#define SCRAM_MAX_USER 512

struct scram_keys {
	unsigned iter;
	size_t saltlen;
	unsigned char salt[SCRAM_SALT_MAX];
	unsigned char stored[SCRAM_KEY_LEN];
	unsigned char server[SCRAM_KEY_LEN];
};

/* Keys for pw with this salt and iteration count. 0, or -1 (bad arguments,
 * OpenSSL failure). */
int scram_keys_derive(const char *pw, size_t len, const unsigned char *salt, size_t saltlen,
		      unsigned iter, struct scram_keys *k);
/* As above with a fresh random salt of SCRAM_SALT_LEN bytes. */
int scram_keys_make(const char *pw, size_t len, unsigned iter, struct scram_keys *k);
/* Append "{SCRAM-SHA-256}iter:salt$stored:server". */
void scram_keys_format(const struct scram_keys *k, struct buf *out);
/* Parse any accepted stored form (a C string): 0, or -1 if it is not one. */
int scram_keys_parse(const char *stored, struct scram_keys *k);

enum scram_state { SCRAM_START, SCRAM_GOT_FIRST, SCRAM_SENT_FIRST, SCRAM_DONE };

struct scram_server {
	enum scram_state state;
	int have_keys;            /* 0: unknown user, the proof can never verify */
	struct scram_keys keys;
	struct buf gs2;           /* the gs2 header, "n,," or "y,,a=...," */
	struct buf first_bare;    /* client-first-message-bare */
	struct buf server_first;
	struct buf nonce;         /* client nonce + server nonce */
	struct buf user;          /* decoded saslname */
};
#define SCRAM_SERVER_INIT { SCRAM_START, 0, { 0, 0, { 0 }, { 0 }, { 0 } }, BUF_INIT, BUF_INIT, \
			    BUF_INIT, BUF_INIT, BUF_INIT }

void scram_server_free(struct scram_server *s); /* wipes the keys */

/* The client-first message: 0 and s->user set (NUL-free, no control bytes,
 * at most SCRAM_MAX_USER), or -1 with a static reason. An authzid other than
 * the user is refused (no proxy authorisation). */
int scram_server_first(struct scram_server *s, const char *msg, size_t len, const char **why);
/* The account's keys; NULL for an unknown user: fake keys derived from
 * secret (so that the salt and count look stable and real) that no proof
 * matches. */
void scram_server_keys(struct scram_server *s, const struct scram_keys *k,
		       const void *secret, size_t secretlen);
/* Append the server-first message. snonce: NULL for a fresh random nonce
 * (tests pass a fixed one). 0, or -1 if no random bytes. */
int scram_server_challenge(struct scram_server *s, const char *snonce, struct buf *out);
/* The client-final message: 1 and the server-final message appended to out
 * if the proof is right, 0 if it is wrong, -1 (with *why) if malformed. */
int scram_server_final(struct scram_server *s, const char *msg, size_t len, struct buf *out,
		       const char **why);

#endif
