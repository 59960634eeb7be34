/* scram: SCRAM-SHA-256 server side and stored keys (see scram.h).
 *
 * Trusts nothing it is given: client messages are bounded and parsed
 * attribute by attribute in the order RFC 5802 fixes; stored values are
 * checked for form, salt size and iteration count. Keys are compared in
 * constant time and wiped when the exchange ends. */
#include "scram.h"
#include "base64.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define PREFIX "{SCRAM-SHA-256}"
#define RFC_PREFIX "SCRAM-SHA-256$"

static int hmac256(const void *key, size_t klen, const void *d, size_t dlen,
		   unsigned char out[SCRAM_KEY_LEN])
{
	unsigned int n = 0;
	return HMAC(EVP_sha256(), key, (int)klen, d, dlen, out, &n) && n == SCRAM_KEY_LEN ? 0 : -1;
}

int scram_keys_derive(const char *pw, size_t len, const unsigned char *salt, size_t saltlen,
		      unsigned iter, struct scram_keys *k)
{
	unsigned char salted[SCRAM_KEY_LEN], ckey[SCRAM_KEY_LEN];
	if (len > 1024 || saltlen == 0 || saltlen > SCRAM_SALT_MAX || iter == 0 ||
	    iter > SCRAM_ITER_MAX)
		return -1;
	int ok = PKCS5_PBKDF2_HMAC(pw, (int)len, salt, (int)saltlen, (int)iter, EVP_sha256(),
				   SCRAM_KEY_LEN, salted) == 1 &&
		 hmac256(salted, sizeof salted, "Client Key", 10, ckey) == 0 &&
		 hmac256(salted, sizeof salted, "Server Key", 10, k->server) == 0 &&
		 EVP_Digest(ckey, sizeof ckey, k->stored, NULL, EVP_sha256(), NULL) == 1;
	k->iter = iter;
	k->saltlen = saltlen;
	memcpy(k->salt, salt, saltlen);
	OPENSSL_cleanse(salted, sizeof salted);
	OPENSSL_cleanse(ckey, sizeof ckey);
	return ok ? 0 : -1;
}

int scram_keys_make(const char *pw, size_t len, unsigned iter, struct scram_keys *k)
{
	unsigned char salt[SCRAM_SALT_LEN];
	if (RAND_bytes(salt, sizeof salt) != 1)
		return -1;
	return scram_keys_derive(pw, len, salt, sizeof salt, iter, k);
}

void scram_keys_format(const struct scram_keys *k, struct buf *out)
{
	buf_printf(out, PREFIX "%u:", k->iter);
	base64_encode(out, k->salt, k->saltlen, BASE64_NOWRAP);
	buf_append_char(out, '$');
	base64_encode(out, k->stored, SCRAM_KEY_LEN, BASE64_NOWRAP);
	buf_append_char(out, ':');
	base64_encode(out, k->server, SCRAM_KEY_LEN, BASE64_NOWRAP);
}

/* Decode a base64 field of exactly want bytes (or 1..want when exact is 0). */
static int field_b64(const char *s, size_t len, unsigned char *dst, size_t want, int exact,
		     size_t *got)
{
	struct buf b = BUF_INIT;
	int rc = -1;
	if (len <= 4 * ((want + 2) / 3) && base64_decode_strict(&b, s, len, NULL) == 0 &&
	    b.len > 0 && (exact ? b.len == want : b.len <= want)) {
		memcpy(dst, b.data, b.len);
		*got = b.len;
		rc = 0;
	}
	buf_free(&b);
	return rc;
}

static int parse_iter(const char *s, size_t len, unsigned *out)
{
	unsigned long n = 0;
	if (len == 0 || len > 8 || s[0] == '0')
		return -1;
	for (size_t i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		n = n * 10 + (unsigned long)(s[i] - '0');
	}
	if (n > SCRAM_ITER_MAX)
		return -1;
	*out = (unsigned)n;
	return 0;
}

/* "iter S1 salt S2 stored S3 server" with the three separators given. */
static int parse_fields(const char *s, const char *seps, struct scram_keys *k)
{
	const char *f[4];
	size_t fl[4], got;
	f[0] = s;
	for (int i = 0; i < 3; i++) {
		const char *e = strchr(f[i], seps[i]);
		if (e == NULL)
			return -1;
		fl[i] = (size_t)(e - f[i]);
		f[i + 1] = e + 1;
	}
	fl[3] = strlen(f[3]);
	if (parse_iter(f[0], fl[0], &k->iter) < 0 ||
	    field_b64(f[1], fl[1], k->salt, SCRAM_SALT_MAX, 0, &k->saltlen) < 0 ||
	    field_b64(f[2], fl[2], k->stored, SCRAM_KEY_LEN, 1, &got) < 0 ||
	    field_b64(f[3], fl[3], k->server, SCRAM_KEY_LEN, 1, &got) < 0)
		return -1;
	return 0;
}

int scram_keys_parse(const char *stored, struct scram_keys *k)
{
	memset(k, 0, sizeof *k);
	if (strlen(stored) > 512)
		return -1;
	if (strncasecmp(stored, RFC_PREFIX, sizeof RFC_PREFIX - 1) == 0)
		return parse_fields(stored + sizeof RFC_PREFIX - 1, ":$:", k);
	if (strncasecmp(stored, PREFIX, sizeof PREFIX - 1) != 0)
		return -1;
	stored += sizeof PREFIX - 1;
	size_t digits = strspn(stored, "0123456789");
	return parse_fields(stored, stored[digits] == ',' ? ",,," : ":$:", k);
}

void scram_server_free(struct scram_server *s)
{
	OPENSSL_cleanse(&s->keys, sizeof s->keys);
	buf_free(&s->gs2);
	buf_free(&s->first_bare);
	buf_free(&s->server_first);
	buf_free(&s->nonce);
	buf_free(&s->user);
	s->state = SCRAM_START;
	s->have_keys = 0;
}

/* RFC 5802 "printable": 0x21-0x7e except ','. */
static int valid_nonce(const char *p, size_t len)
{
	if (len == 0)
		return 0;
	for (size_t i = 0; i < len; i++)
		if (p[i] < 0x21 || p[i] > 0x7e || p[i] == ',')
			return 0;
	return 1;
}

/* A saslname: "=2C" and "=3D" are the only escapes; no NUL or control bytes. */
static int decode_saslname(struct buf *out, const char *p, size_t len)
{
	buf_reset(out);
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)p[i];
		if (c == '=') {
			if (i + 2 >= len)
				return -1;
			if (p[i + 1] == '2' && p[i + 2] == 'C')
				c = ',';
			else if (p[i + 1] == '3' && p[i + 2] == 'D')
				c = '=';
			else
				return -1;
			i += 2;
		} else if (c < 0x20 || c == 0x7f || c == ',') {
			return -1;
		}
		buf_append_char(out, (char)c);
	}
	return out->len > 0 && out->len <= SCRAM_MAX_USER ? 0 : -1;
}

/* The attribute at *p named name ("n", "r", ...): its value up to ',' or the end. */
static int attr(const char **p, const char *end, char name, const char **v, size_t *vl)
{
	if (end - *p < 2 || (*p)[0] != name || (*p)[1] != '=')
		return -1;
	*v = *p + 2;
	const char *c = memchr(*v, ',', (size_t)(end - *v));
	*vl = (size_t)((c ? c : end) - *v);
	*p = c ? c + 1 : end;
	return 0;
}

/* The gs2 header: "n," or "y," then "" or "a=authzid", then ','. */
static int parse_gs2(struct scram_server *s, const char **p, const char *end, const char **why)
{
	const char *q = *p, *v;
	size_t vl;
	*why = "channel binding is not supported";
	if (end - q < 3 || (q[0] != 'n' && q[0] != 'y') || q[1] != ',')
		return -1;
	q += 2;
	*why = "malformed authorization identity";
	if (*q != ',') {
		struct buf authz = BUF_INIT;
		int bad = attr(&q, end, 'a', &v, &vl) < 0 || q >= end || q[-1] != ',' ||
			  decode_saslname(&authz, v, vl) < 0;
		buf_free(&s->gs2);
		s->gs2 = authz; /* kept until the user is known, then compared */
		if (bad)
			return -1;
	} else {
		q++;
	}
	*p = q;
	return 0;
}

int scram_server_first(struct scram_server *s, const char *msg, size_t len, const char **why)
{
	const char *p = msg, *end = msg + len, *v, *bare;
	size_t vl;
	*why = "malformed client-first message";
	if (s->state != SCRAM_START || len == 0 || len > SCRAM_MAX_MESSAGE ||
	    memchr(msg, '\0', len))
		return -1;
	if (parse_gs2(s, &p, end, why) < 0)
		return -1;
	bare = p;
	*why = "malformed client-first message";
	if (end - p >= 2 && p[0] == 'm' && p[1] == '=') {
		*why = "mandatory extension not supported";
		return -1;
	}
	if (attr(&p, end, 'n', &v, &vl) < 0 || decode_saslname(&s->user, v, vl) < 0) {
		*why = "malformed user name";
		return -1;
	}
	if (attr(&p, end, 'r', &v, &vl) < 0 || !valid_nonce(v, vl))
		return -1;
	if (s->gs2.len && !buf_eq_str(&s->gs2, buf_cstr(&s->user))) {
		*why = "proxy authorization is not allowed";
		return -1;
	}
	buf_set(&s->nonce, v, vl);
	buf_set(&s->gs2, msg, (size_t)(bare - msg));
	buf_set(&s->first_bare, bare, (size_t)(end - bare));
	s->state = SCRAM_GOT_FIRST;
	return 0;
}

void scram_server_keys(struct scram_server *s, const struct scram_keys *k, const void *secret,
		       size_t secretlen)
{
	if (k) {
		s->keys = *k;
		s->have_keys = 1;
		return;
	}
	unsigned char mac[SCRAM_KEY_LEN];
	hmac256(secret, secretlen, s->user.data, s->user.len, mac);
	memset(&s->keys, 0, sizeof s->keys);
	s->keys.iter = SCRAM_ITER_DEFAULT;
	s->keys.saltlen = SCRAM_SALT_LEN;
	memcpy(s->keys.salt, mac, SCRAM_SALT_LEN);
	RAND_bytes(s->keys.stored, SCRAM_KEY_LEN); /* never matched: have_keys is 0 */
	s->have_keys = 0;
}

int scram_server_challenge(struct scram_server *s, const char *snonce, struct buf *out)
{
	if (s->state != SCRAM_GOT_FIRST)
		return -1;
	if (snonce) {
		buf_append_str(&s->nonce, snonce);
	} else {
		unsigned char rnd[18];
		if (RAND_bytes(rnd, sizeof rnd) != 1)
			return -1;
		base64_encode(&s->nonce, rnd, sizeof rnd, BASE64_NOWRAP);
	}
	buf_reset(&s->server_first);
	buf_printf(&s->server_first, "r=%s,s=", buf_cstr(&s->nonce));
	base64_encode(&s->server_first, s->keys.salt, s->keys.saltlen, BASE64_NOWRAP);
	buf_printf(&s->server_first, ",i=%u", s->keys.iter);
	buf_append_buf(out, &s->server_first);
	s->state = SCRAM_SENT_FIRST;
	return 0;
}

/* c= must be base64 of the gs2 header, r= the whole nonce. */
static int check_final_attrs(struct scram_server *s, const char **p, const char *end)
{
	const char *v;
	size_t vl;
	struct buf cb = BUF_INIT;
	int ok = attr(p, end, 'c', &v, &vl) == 0 && base64_decode_strict(&cb, v, vl, NULL) == 0 &&
		 cb.len == s->gs2.len && memcmp(cb.data, s->gs2.data, cb.len) == 0;
	buf_free(&cb);
	if (!ok || attr(p, end, 'r', &v, &vl) < 0)
		return -1;
	return vl == s->nonce.len && memcmp(v, s->nonce.data, vl) == 0 ? 0 : -1;
}

/* 1 if proof matches for auth message am, else 0. */
static int check_proof(const struct scram_server *s, const struct buf *am,
		       const unsigned char proof[SCRAM_KEY_LEN])
{
	unsigned char sig[SCRAM_KEY_LEN], ckey[SCRAM_KEY_LEN], stored[SCRAM_KEY_LEN];
	int ok = hmac256(s->keys.stored, SCRAM_KEY_LEN, am->data, am->len, sig) == 0;
	for (size_t i = 0; i < SCRAM_KEY_LEN; i++)
		ckey[i] = proof[i] ^ sig[i];
	ok = ok && EVP_Digest(ckey, sizeof ckey, stored, NULL, EVP_sha256(), NULL) == 1 &&
	     CRYPTO_memcmp(stored, s->keys.stored, SCRAM_KEY_LEN) == 0 && s->have_keys;
	OPENSSL_cleanse(ckey, sizeof ckey);
	return ok;
}

int scram_server_final(struct scram_server *s, const char *msg, size_t len, struct buf *out,
		       const char **why)
{
	const char *p = msg, *end = msg + len, *v;
	size_t vl, got;
	unsigned char proof[SCRAM_KEY_LEN], sig[SCRAM_KEY_LEN];
	*why = "malformed client-final message";
	if (s->state != SCRAM_SENT_FIRST || len == 0 || len > SCRAM_MAX_MESSAGE ||
	    memchr(msg, '\0', len))
		return -1;
	s->state = SCRAM_DONE; /* one try per exchange */
	if (check_final_attrs(s, &p, end) < 0) {
		*why = "channel binding or nonce mismatch";
		return -1;
	}
	const char *pa = end; /* the proof comes last: the last ",p=" */
	for (const char *q = end - 1; q >= p; q--)
		if ((q == p || q[-1] == ',') && end - q > 2 && q[0] == 'p' && q[1] == '=') {
			pa = q;
			break;
		}
	const char *pq = pa;
	if (pa == end || attr(&pq, end, 'p', &v, &vl) < 0 || pq != end ||
	    field_b64(v, vl, proof, SCRAM_KEY_LEN, 1, &got) < 0)
		return -1;
	struct buf am = BUF_INIT;
	buf_append_buf(&am, &s->first_bare);
	buf_append_char(&am, ',');
	buf_append_buf(&am, &s->server_first);
	buf_append_char(&am, ',');
	buf_append(&am, msg, (size_t)(pa - 1 - msg));
	int ok = check_proof(s, &am, proof);
	if (ok && hmac256(s->keys.server, SCRAM_KEY_LEN, am.data, am.len, sig) == 0) {
		buf_append_str(out, "v=");
		base64_encode(out, sig, sizeof sig, BASE64_NOWRAP);
	} else {
		ok = 0;
	}
	buf_free(&am);
	return ok;
}
