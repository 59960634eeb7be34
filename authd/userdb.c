/* userdb: manage the accounts of authd's userdb backend (userdb(8)).
 *
 *   userdb [--root DIR] [-f FILE] ADDRESS set NAME=VALUE...
 *   userdb [--root DIR] [-f FILE] ADDRESS unset NAME...
 *   userdb [--root DIR] [-f FILE] ADDRESS del
 *   userdb [--root DIR] [-f FILE] ADDRESS passwd [-y|-b|-6] [-s] [-c]   (password on stdin;
 *          -s, -c also store SCRAM-SHA-256 keys and a CRAM-MD5 secret)
 *   userdb [--root DIR] [-f FILE] list
 *   userdb [--root DIR] [-f FILE] compile
 *
 * The text file (default etc/estafette/userdb) is Courier's userdb format and
 * is rewritten atomically, mode 0600; "compile" builds FILE.cdb from it
 * atomically (temporary file, fsync, rename), with the text file's owner, so
 * that authd (the auth user) can read it. Run by the administrator; trusts
 * nothing in the file (every line is checked before anything is written).
 * Exit 0 done, 1 error or not found, 2 usage. */
#include "alloc.h"
#include "buf.h"
#include "file.h"
#include "passwd.h"
#include "scram.h"
#include "crammd5.h"
#include "paths.h"
#include "udb.h"
#include "userdb_cdb.h"

#include <cdb.h>
#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define PROG "userdb"
#define MAX_TEXT (256u * 1024 * 1024)
#define MAX_LINE (64u * 1024)
#define AUTH_USER "estafette-auth"

struct line {
	char *text;     /* without LF */
	size_t len;
	size_t keylen;  /* bytes of the address (0: comment or blank) */
};

struct db {
	struct line *lines;
	size_t n, cap;
	const char *path;
};

static _Noreturn __attribute__((format(printf, 1, 2))) void die(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fprintf(stderr, PROG ": ");
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
	exit(1);
}

static _Noreturn void usage(void)
{
	fputs("usage: userdb [--root DIR] [-f FILE] ADDRESS set NAME=VALUE...\n"
	      "       userdb [--root DIR] [-f FILE] ADDRESS unset NAME...\n"
	      "       userdb [--root DIR] [-f FILE] ADDRESS del\n"
	      "       userdb [--root DIR] [-f FILE] ADDRESS passwd [-y|-b|-6] [-s] [-c]\n"
	      "       userdb [--root DIR] [-f FILE] list | compile\n", stderr);
	exit(2);
}

static void db_add(struct db *db, const char *text, size_t len)
{
	if (db->n == db->cap) {
		if (size_mul(db->cap ? db->cap : 32, 2, &db->cap) < 0)
			die_nomem();
		db->lines = xreallocarray(db->lines, db->cap, sizeof *db->lines);
	}
	struct line *l = &db->lines[db->n++];
	l->text = xmemdup(text, len);
	l->len = len;
	const char *tab = memchr(text, '\t', len);
	l->keylen = (len && text[0] != '#' && tab) ? (size_t)(tab - text) : 0;
}

/* Load the text file; a missing one is empty. Lines are checked by compile. */
static void db_load(struct db *db, const char *path)
{
	struct buf t = BUF_INIT;
	db->path = path;
	if (file_read(path, &t, MAX_TEXT) < 0) {
		if (errno != ENOENT)
			die("%s: cannot read it", path);
		return;
	}
	size_t i = 0;
	while (i < t.len) {
		const char *nl = memchr(t.data + i, '\n', t.len - i);
		size_t len = nl ? (size_t)(nl - t.data - i) : t.len - i;
		if (len > MAX_LINE)
			die("%s: a line is too long", path);
		if (memchr(t.data + i, '\0', len))
			die("%s: a line holds a NUL byte", path);
		db_add(db, t.data + i, len);
		i += len + 1;
	}
	explicit_bzero(t.data, t.cap);
	buf_free(&t);
}

/* The index of address's line, or db->n. */
static size_t db_find(const struct db *db, const char *addr)
{
	struct buf want = BUF_INIT, have = BUF_INIT;
	if (udb_normalize(&want, addr, strlen(addr)) < 0)
		die("unusable address: %s", addr);
	size_t i;
	for (i = 0; i < db->n; i++) {
		const struct line *l = &db->lines[i];
		if (l->keylen && udb_normalize(&have, l->text, l->keylen) == 0 &&
		    have.len == want.len && memcmp(have.data, want.data, want.len) == 0)
			break;
	}
	buf_free(&want);
	buf_free(&have);
	return i;
}

/* Who should own the files: the text file's owner, or (as root, for a new
 * file) the auth user. -1 when nothing should change. */
static void target_owner(const char *path, uid_t *uid, gid_t *gid)
{
	struct stat st;
	*uid = (uid_t)-1;
	*gid = (gid_t)-1;
	if (geteuid() != 0)
		return;
	if (stat(path, &st) == 0) {
		*uid = st.st_uid;
		*gid = st.st_gid;
		return;
	}
	struct passwd *pw = getpwnam(AUTH_USER);
	if (pw) {
		*uid = pw->pw_uid;
		*gid = pw->pw_gid;
	}
}

static void db_save(struct db *db)
{
	struct buf t = BUF_INIT;
	uid_t uid;
	gid_t gid;
	target_owner(db->path, &uid, &gid);
	for (size_t i = 0; i < db->n; i++) {
		buf_append(&t, db->lines[i].text, db->lines[i].len);
		buf_append_char(&t, '\n');
	}
	if (file_replace(db->path, t.data ? t.data : "", t.len, 0600) < 0)
		die("%s: cannot write it", db->path);
	if (uid != (uid_t)-1 && chown(db->path, uid, gid) < 0)
		die("%s: cannot give it to its owner", db->path);
	explicit_bzero(t.data, t.cap);
	buf_free(&t);
}

/* Fields of one record, for set and unset. */
struct fields {
	struct buf name[UDB_MAX_FIELDS], value[UDB_MAX_FIELDS];
	size_t n;
};

static void fields_parse(struct fields *f, const char *rec, size_t len)
{
	size_t i = 0;
	while (i < len) {
		const char *bar = memchr(rec + i, '|', len - i);
		size_t flen = bar ? (size_t)(bar - rec - i) : len - i;
		const char *eq = memchr(rec + i, '=', flen);
		if (flen && f->n < UDB_MAX_FIELDS) {
			size_t nl = eq ? (size_t)(eq - rec - i) : flen;
			buf_set(&f->name[f->n], rec + i, nl);
			buf_set(&f->value[f->n], eq ? eq + 1 : "", eq ? flen - nl - 1 : 0);
			f->n++;
		}
		i += flen + 1;
	}
}

static void fields_set(struct fields *f, const char *name, size_t nl, const char *v, size_t vl)
{
	size_t i;
	for (i = 0; i < f->n; i++)
		if (f->name[i].len == nl && memcmp(f->name[i].data, name, nl) == 0)
			break;
	if (i == f->n) {
		if (f->n == UDB_MAX_FIELDS)
			die("too many fields");
		buf_set(&f->name[f->n++], name, nl);
	}
	buf_set(&f->value[i], v, vl);
}

static void fields_unset(struct fields *f, const char *name)
{
	for (size_t i = 0; i < f->n; i++)
		if (buf_eq_str(&f->name[i], name)) {
			buf_set(&f->value[i], NULL, 0);
			buf_set(&f->name[i], NULL, 0); /* an empty name is dropped on output */
		}
}

/* Replace or add address's line with the fields, after checking them. */
static void db_put(struct db *db, size_t at, const char *addr, struct fields *f)
{
	struct buf line = BUF_INIT, key = BUF_INIT;
	if (udb_normalize(&key, addr, strlen(addr)) < 0)
		die("unusable address: %s", addr);
	buf_append_buf(&line, &key);
	buf_append_char(&line, '\t');
	size_t start = line.len;
	for (size_t i = 0; i < f->n; i++) {
		if (f->name[i].len == 0)
			continue;
		if (line.len > start)
			buf_append_char(&line, '|');
		buf_printf(&line, "%s=", buf_cstr(&f->name[i]));
		buf_append_buf(&line, &f->value[i]);
	}
	const char *why = udb_check_record(line.data + start, line.len - start);
	if (why)
		die("the account would be invalid: %s", why);
	if (at == db->n) {
		db_add(db, line.data, line.len);
	} else {
		free(db->lines[at].text);
		db->lines[at].text = xmemdup(line.data, line.len);
		db->lines[at].len = line.len;
		db->lines[at].keylen = key.len;
	}
	buf_free(&line);
	buf_free(&key);
}

static void load_fields(const struct db *db, size_t at, struct fields *f)
{
	memset(f, 0, sizeof *f);
	if (at < db->n) {
		const struct line *l = &db->lines[at];
		fields_parse(f, l->text + l->keylen + 1, l->len - l->keylen - 1);
	}
}

static void fields_free(struct fields *f)
{
	for (size_t i = 0; i < UDB_MAX_FIELDS; i++) {
		buf_free(&f->name[i]);
		if (f->value[i].data)
			explicit_bzero(f->value[i].data, f->value[i].cap);
		buf_free(&f->value[i]);
	}
}

static int cmd_set(struct db *db, const char *addr, int argc, char **argv)
{
	struct fields f;
	size_t at = db_find(db, addr);
	if (argc == 0)
		usage();
	load_fields(db, at, &f);
	for (int i = 0; i < argc; i++) {
		const char *eq = strchr(argv[i], '=');
		if (eq == NULL || !udb_valid_name(argv[i], (size_t)(eq - argv[i])) ||
		    !udb_valid_value(eq + 1, strlen(eq + 1)))
			die("bad field (NAME=VALUE, no '|' or control characters): %s", argv[i]);
		fields_set(&f, argv[i], (size_t)(eq - argv[i]), eq + 1, strlen(eq + 1));
	}
	db_put(db, at, addr, &f);
	fields_free(&f);
	db_save(db);
	return 0;
}

static int cmd_unset(struct db *db, const char *addr, int argc, char **argv)
{
	struct fields f;
	size_t at = db_find(db, addr);
	if (at == db->n)
		die("no such account: %s", addr);
	load_fields(db, at, &f);
	for (int i = 0; i < argc; i++)
		fields_unset(&f, argv[i]);
	db_put(db, at, addr, &f);
	fields_free(&f);
	db_save(db);
	return 0;
}

static int cmd_del(struct db *db, const char *addr)
{
	size_t at = db_find(db, addr);
	if (at == db->n)
		die("no such account: %s", addr);
	free(db->lines[at].text);
	memmove(&db->lines[at], &db->lines[at + 1], (db->n - at - 1) * sizeof *db->lines);
	db->n--;
	db_save(db);
	return 0;
}

/* One line of stdin, at most PASSWD_MAX bytes, without its LF (and CR). */
static size_t read_password(char *pw, size_t cap)
{
	size_t len = 0;
	for (;;) {
		char c;
		ssize_t n = read(STDIN_FILENO, &c, 1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			die("%s", "cannot read standard input");
		if (n == 0 || c == '\n')
			break;
		if (len == cap)
			die("%s", "password too long");
		pw[len++] = c;
	}
	if (len && pw[len - 1] == '\r')
		len--;
	return len;
}

/* passwd's options: -y -b -6 pick the crypt scheme, -s and -c add SCRAM and CRAM-MD5 secrets. */
static enum passwd_scheme passwd_options(int argc, char **argv, int *scram, int *cram)
{
	enum passwd_scheme scheme = PASSWD_DEFAULT;
	for (int i = 0; i < argc; i++) {
		const char *a = argv[i];
		if (a[0] != '-' || a[1] == '\0' || a[2] != '\0' || !strchr("yb6sc", a[1]))
			usage();
		if (a[1] == 's' || a[1] == 'c')
			*(a[1] == 's' ? scram : cram) = 1;
		else
			scheme = a[1] == 'b' ? PASSWD_BCRYPT : a[1] == '6' ? PASSWD_SHA512_CRYPT
									 : PASSWD_YESCRYPT;
	}
	return scheme;
}

/* Set or (when not asked for) remove the mechanism secrets: a secret left
 * from the old password would still let it in. */
static void set_secrets(struct fields *f, const char *pw, size_t len, int scram, int cram)
{
	struct buf v = BUF_INIT;
	struct scram_keys k;
	if (scram && scram_keys_make(pw, len, SCRAM_ITER_DEFAULT, &k) < 0)
		die("%s", "cannot make the SCRAM keys");
	if (scram) {
		scram_keys_format(&k, &v);
		fields_set(f, "scram-sha-256pw", 15, v.data, v.len);
		explicit_bzero(&k, sizeof k);
	} else {
		fields_unset(f, "scram-sha-256pw");
	}
	buf_reset(&v);
	if (cram && crammd5_secret_make(pw, len, &v) < 0)
		die("%s", "cannot make the CRAM-MD5 secret");
	if (cram)
		fields_set(f, "cram-md5pw", 10, v.data, v.len);
	else
		fields_unset(f, "cram-md5pw");
	if (v.data)
		explicit_bzero(v.data, v.cap);
	buf_free(&v);
}

static int cmd_passwd(struct db *db, const char *addr, int argc, char **argv)
{
	int scram = 0, cram = 0;
	enum passwd_scheme scheme = passwd_options(argc, argv, &scram, &cram);
	size_t at = db_find(db, addr);
	if (at == db->n)
		die("no such account (create it with set first): %s", addr);
	static char pw[PASSWD_MAX];
	size_t len = read_password(pw, sizeof pw);
	const char *why = passwd_check_input(pw, len, scheme);
	if (why)
		die("%s", why);
	struct buf hash = BUF_INIT;
	int r = passwd_hash(pw, len, scheme, &hash);
	if (r < 0)
		die("cannot hash the password: %s", strerror(errno));
	struct fields f;
	load_fields(db, at, &f);
	fields_set(&f, "systempw", 8, hash.data, hash.len);
	set_secrets(&f, pw, len, scram, cram);
	explicit_bzero(pw, sizeof pw);
	db_put(db, at, addr, &f);
	fields_free(&f);
	buf_free(&hash);
	db_save(db);
	return 0;
}

static int cmd_list(const struct db *db)
{
	for (size_t i = 0; i < db->n; i++)
		if (db->lines[i].keylen)
			printf("%.*s\n", (int)db->lines[i].keylen, db->lines[i].text);
	return fflush(stdout) == 0 ? 0 : 1;
}

struct rec {
	char *key;
	size_t klen;
	size_t line; /* index in db->lines */
};

static int rec_cmp(const void *a, const void *b)
{
	const struct rec *x = a, *y = b;
	size_t n = x->klen < y->klen ? x->klen : y->klen;
	int c = memcmp(x->key, y->key, n);
	return c ? c : (x->klen > y->klen) - (x->klen < y->klen);
}

/* Check every line; the records, sorted by key, with duplicates refused. */
static struct rec *compile_check(const struct db *db, size_t *count)
{
	struct rec *r = xcalloc(db->n ? db->n : 1, sizeof *r);
	size_t n = 0;
	struct buf key = BUF_INIT;
	for (size_t i = 0; i < db->n; i++) {
		const struct line *l = &db->lines[i];
		if (l->len == 0 || l->text[0] == '#')
			continue;
		if (l->keylen == 0)
			die("%s:%zu: no TAB between the address and the fields", db->path, i + 1);
		if (udb_normalize(&key, l->text, l->keylen) < 0)
			die("%s:%zu: unusable address", db->path, i + 1);
		const char *why = udb_check_record(l->text + l->keylen + 1, l->len - l->keylen - 1);
		if (why)
			die("%s:%zu: %s", db->path, i + 1, why);
		r[n++] = (struct rec){ buf_detach(&key), l->keylen, i };
	}
	qsort(r, n, sizeof *r, rec_cmp);
	for (size_t i = 1; i < n; i++)
		if (rec_cmp(&r[i - 1], &r[i]) == 0) {
			die("%s:%zu: address given twice", db->path, r[i].line + 1);
		}
	buf_free(&key);
	*count = n;
	return r;
}

static int cmd_compile(const struct db *db)
{
	size_t n;
	struct rec *r = compile_check(db, &n);
	struct buf dest = BUF_INIT, tmp = BUF_INIT;
	buf_printf(&dest, "%s.cdb", db->path);
	buf_printf(&tmp, "%s.tmp.%ld", buf_cstr(&dest), (long)getpid());
	uid_t uid;
	gid_t gid;
	target_owner(db->path, &uid, &gid);
	int fd = open(buf_cstr(&tmp), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0)
		die("%s: cannot create it", buf_cstr(&tmp));
	struct cdb_make cm;
	int bad = cdb_make_start(&cm, fd) < 0;
	bad |= cdb_make_add(&cm, USERDB_MARKER, sizeof USERDB_MARKER - 1, USERDB_MARKER_VALUE,
			    sizeof USERDB_MARKER_VALUE - 1) < 0;
	for (size_t i = 0; i < n && !bad; i++) {
		const struct line *l = &db->lines[r[i].line];
		bad |= cdb_make_add(&cm, r[i].key, (unsigned)r[i].klen, l->text + l->keylen + 1,
				    (unsigned)(l->len - l->keylen - 1)) < 0;
	}
	bad |= cdb_make_finish(&cm) < 0;
	if (!bad && uid != (uid_t)-1)
		bad |= fchown(fd, uid, gid) < 0;
	bad |= fsync(fd) < 0;
	bad |= close(fd) < 0;
	if (bad || rename(buf_cstr(&tmp), buf_cstr(&dest)) < 0 || file_fsync_parent(buf_cstr(&dest)) < 0) {
		int e = errno;
		unlink(buf_cstr(&tmp));
		die("cannot write the database: %s", strerror(e));
	}
	printf("%s: %zu accounts\n", buf_cstr(&dest), n);
	for (size_t i = 0; i < n; i++)
		free(r[i].key);
	free(r);
	buf_free(&dest);
	buf_free(&tmp);
	return 0;
}

static void db_free(struct db *db)
{
	for (size_t k = 0; k < db->n; k++) {
		explicit_bzero(db->lines[k].text, db->lines[k].len);
		free(db->lines[k].text);
	}
	free(db->lines);
}

static int run(struct db *db, int argc, char **argv)
{
	const char *cmd = argv[0];
	if (strcmp(cmd, "list") == 0 && argc == 1)
		return cmd_list(db);
	if ((strcmp(cmd, "compile") == 0 || strcmp(cmd, "makeuserdb") == 0) && argc == 1)
		return cmd_compile(db);
	if (argc < 2)
		usage();
	const char *addr = cmd, *verb = argv[1];
	int rest = argc - 2;
	char **rargv = argv + 2;
	if (strcmp(verb, "set") == 0)
		return cmd_set(db, addr, rest, rargv);
	if (strcmp(verb, "unset") == 0 && rest > 0)
		return cmd_unset(db, addr, rest, rargv);
	if (strcmp(verb, "del") == 0 && rest == 0)
		return cmd_del(db, addr);
	if (strcmp(verb, "passwd") == 0)
		return cmd_passwd(db, addr, rest, rargv);
	usage();
}

int main(int argc, char **argv)
{
	const char *file = NULL;
	int i = 1;
	for (; i < argc; i++) {
		if (strcmp(argv[i], "--root") == 0 && i + 1 < argc)
			paths_set_root(argv[++i]);
		else if (strcmp(argv[i], "-f") == 0 && i + 1 < argc)
			file = argv[++i];
		else
			break;
	}
	if (i >= argc)
		usage();
	struct buf path = BUF_INIT;
	if (file)
		buf_set_str(&path, file);
	else
		paths_join(&path, paths_config(), "userdb");
	struct db db = { NULL, 0, 0, NULL };
	umask(077);
	db_load(&db, buf_cstr(&path));
	int rc = run(&db, argc - i, argv + i);
	db_free(&db);
	buf_free(&path);
	return rc;
}
