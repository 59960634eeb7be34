/* backend_userdb: accounts in the cdb compiled by userdb(8) from Courier's
 * userdb text format (key: the normalised address, value: the field string).
 *
 * Trusts the cdb only as far as it parses: a record that does not pass
 * udb_check_record, or a file without userdb's marker record, is an ERROR
 * (TEMPFAIL to the client), never "no such user". The map is reopened by
 * lib/map whenever userdb(8) replaces the file. */
#include "backend.h"
#include "alloc.h"
#include "config.h"
#include "log.h"
#include "map.h"
#include "paths.h"
#include "udb.h"
#include "userdb_cdb.h"

#include <cdb.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct backend {
	struct buf path;
	struct map *map;  /* NULL until it opens */
};

static struct backend *udb_open(const struct config_env *conf, struct buf *err)
{
	struct backend *be = xcalloc(1, sizeof *be);
	const char *file;
	config_env_string(conf, "userdb.file", "userdb.cdb", &file);
	config_path(&be->path, file);
	struct buf why = BUF_INIT;
	be->map = map_open(buf_cstr(&be->path), &why); /* may fail now; retried per lookup */
	if (be->map == NULL)
		log_warn("userdb: %s (lookups answer TEMPFAIL until userdb(8) compiles it)",
			 buf_cstr(&why));
	buf_free(&why);
	return be;
}

static void udb_close(struct backend *be)
{
	if (be->map)
		map_close(be->map);
	buf_free(&be->path);
	free(be);
}

/* The map, opened and checked for userdb's marker. */
static struct map *udb_map(struct backend *be, struct buf *err)
{
	if (be->map == NULL && (be->map = map_open(buf_cstr(&be->path), err)) == NULL)
		return NULL;
	int r = map_lookup(be->map, USERDB_MARKER, sizeof USERDB_MARKER - 1, NULL);
	if (r == MAP_FOUND)
		return be->map;
	buf_reset(err);
	if (r == MAP_ERROR)
		buf_append_str(err, map_error(be->map));
	else
		buf_printf(err, "%s: not a database made by userdb(8)", buf_cstr(&be->path));
	return NULL;
}

static void copy_field(const char *rec, size_t len, const char *name, struct buf *out)
{
	const char *v;
	size_t vl;
	buf_reset(out);
	if (udb_field(rec, len, name, &v, &vl))
		buf_set(out, v, vl);
}

static unsigned long field_id(const char *rec, size_t len, const char *name)
{
	const char *v;
	size_t vl;
	unsigned long n = 0;
	if (udb_field(rec, len, name, &v, &vl))
		for (size_t i = 0; i < vl; i++)
			n = n * 10 + (unsigned long)(v[i] - '0'); /* checked by udb_check_record */
	return n;
}

/* Fill out from a record; -1 if the record is malformed. */
static int udb_fill(const char *key, size_t klen, const char *rec, size_t len,
		    const char *service, struct backend_account *out, struct buf *err)
{
	const char *why = udb_check_record(rec, len);
	if (why) {
		buf_printf(err, "userdb record for ");
		log_escape(err, key, klen);
		buf_printf(err, ": %s", why);
		return -1;
	}
	backend_account_reset(out);
	buf_set(&out->address, key, klen);
	out->uid = (uid_t)field_id(rec, len, "uid");
	out->gid = (gid_t)field_id(rec, len, "gid");
	copy_field(rec, len, "home", &out->home);
	copy_field(rec, len, "mail", &out->maildir);
	copy_field(rec, len, "quota", &out->quota);
	copy_field(rec, len, "options", &out->options);
	copy_field(rec, len, "systempw", &out->systempw);
	copy_field(rec, len, "scram-sha-256pw", &out->scrampw);
	copy_field(rec, len, "cram-md5pw", &out->crampw);
	if (service && strlen(service) <= 32) {
		char name[40];
		size_t sl = strlen(service);
		memcpy(name, service, sl);
		memcpy(name + sl, "pw", 3);
		copy_field(rec, len, name, &out->servicepw);
	}
	return 0;
}

static int udb_lookup(struct backend *be, const char *service, const char *user,
		      struct backend_account *out, struct buf *err)
{
	struct buf key = BUF_INIT, val = BUF_INIT;
	int rc = BACKEND_NOTFOUND;
	struct map *m;
	if (udb_normalize(&key, user, strlen(user)) < 0)
		goto out; /* no stored address can look like that */
	if ((m = udb_map(be, err)) == NULL) {
		rc = BACKEND_ERROR;
		goto out;
	}
	int r = map_lookup(m, key.data, key.len, &val);
	if (r == MAP_ERROR) {
		buf_set_str(err, map_error(m));
		rc = BACKEND_ERROR;
	} else if (r == MAP_FOUND) {
		rc = udb_fill(key.data, key.len, val.data ? val.data : "", val.len, service, out,
			      err) < 0 ? BACKEND_ERROR : BACKEND_FOUND;
	}
out:
	buf_free(&key);
	if (val.data)
		explicit_bzero(val.data, val.cap);
	buf_free(&val);
	return rc;
}

static int udb_enumerate(struct backend *be, int (*each)(void *ctx, const struct backend_account *a),
			 void *ctx, struct buf *err)
{
	int fd = open(buf_cstr(&be->path), O_RDONLY | O_CLOEXEC);
	struct cdb cdb;
	if (fd < 0 || cdb_init(&cdb, fd) < 0) {
		buf_printf(err, "%s: %s", buf_cstr(&be->path), strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	struct backend_account a;
	memset(&a, 0, sizeof a);
	unsigned pos;
	int rc = 0, r;
	cdb_seqinit(&pos, &cdb);
	while (rc == 0 && (r = cdb_seqnext(&pos, &cdb)) > 0) {
		const char *k = cdb_getkey(&cdb);
		unsigned kl = cdb_keylen(&cdb);
		if (kl == sizeof USERDB_MARKER - 1 && memcmp(k, USERDB_MARKER, kl) == 0)
			continue;
		if (udb_fill(k, kl, cdb_getdata(&cdb), cdb_datalen(&cdb), NULL, &a, err) < 0)
			rc = -1;
		else
			rc = each(ctx, &a) ? 1 : 0;
	}
	if (r < 0 && rc == 0) {
		buf_printf(err, "%s: corrupt database", buf_cstr(&be->path));
		rc = -1;
	}
	backend_account_free(&a);
	cdb_free(&cdb);
	close(fd);
	return rc < 0 ? -1 : 0;
}

const struct backend_ops backend_userdb = {
	.name = "userdb",
	.open = udb_open,
	.lookup = udb_lookup,
	.verify = NULL,
	.enumerate = udb_enumerate,
	.close = udb_close,
};
