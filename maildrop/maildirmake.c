/* maildirmake: create a Maildir, a Maildir++ folder in one, or set its quota.
 *
 *   maildirmake [-S] DIR              a new maildir DIR (tmp, new, cur)
 *   maildirmake [-S] -f FOLDER DIR    the folder DIR/.FOLDER ("Sent", "Sent.2024")
 *   maildirmake [-S] -q QUOTA DIR     DIR/maildirsize with QUOTA ("10000000S,1000C");
 *                                     DIR is created when it does not exist
 * -S makes directories 0755 (readable by others, Courier's "sharable"), else 0700.
 * Exit codes: 0 done, 1 usage or failure (one line on stderr says why).
 * Trusts its arguments as the invoking user's; runs with that user's rights
 * only, and creates nothing through a symlink below DIR. Follows Courier's
 * maildirmake(1) and the Maildir++ layout; see maildirmake(1). */
#include "buf.h"
#include "log.h" /* log_escape */
#include "maildir.h"
#include "mdfolder.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static _Noreturn void usage(void)
{
	fputs("usage: maildirmake [-S] [-q QUOTA | -f FOLDER] DIR\n", stderr);
	exit(1);
}

/* "maildirmake: WHAT: WHY" with WHAT escaped, then exit 1. */
static _Noreturn void fail(const char *what, const char *why)
{
	struct buf esc = BUF_INIT;
	log_escape(&esc, what, strlen(what));
	fprintf(stderr, "maildirmake: %s: %s\n", buf_cstr(&esc), why);
	buf_free(&esc);
	exit(1);
}

/* A folder goes into a maildir that is there already. */
static void check_maildir(const char *dir)
{
	static const char *const subs[] = { "tmp", "new", "cur" };
	struct buf p = BUF_INIT;
	for (size_t i = 0; i < sizeof subs / sizeof subs[0]; i++) {
		buf_reset(&p);
		buf_printf(&p, "%s/%s", dir, subs[i]);
		if (access(buf_cstr(&p), F_OK) < 0)
			fail(dir, errno == ENOENT ? "not a maildir (create it first)" : strerror(errno));
	}
	buf_free(&p);
}

static int make_folder(const char *dir, const char *folder, mode_t mode)
{
	struct buf sub = BUF_INIT, path = BUF_INIT;
	const char *err = "invalid folder name";
	if (mdfolder_path_to_dir(folder, strlen(folder), '.', &sub, &err) < 0)
		fail(folder, err);
	check_maildir(dir);
	buf_printf(&path, "%s/%s", dir, buf_cstr(&sub));
	if (mdfolder_create(dir, buf_cstr(&sub), mode) < 0)
		fail(errno == EEXIST ? buf_cstr(&path) : dir,
		     errno == EEXIST ? "folder exists already" : strerror(errno));
	buf_free(&sub);
	buf_free(&path);
	return 0;
}

static int make_quota(const char *dir, const char *spec, mode_t mode)
{
	struct maildir_quota q;
	const char *err = "invalid quota";
	if (maildir_quota_parse(spec, &q, &err) < 0)
		fail(spec, err);
	/* an existing maildir keeps its mail and gets the new quota */
	if (maildir_create(dir, mode, 0) < 0)
		fail(dir, strerror(errno));
	if (maildir_quota_write(dir, &q) < 0)
		fail(dir, strerror(errno));
	return 0;
}

int main(int argc, char **argv)
{
	const char *folder = NULL, *quota = NULL;
	mode_t mode = 0700;
	int c;

	opterr = 0; /* our own messages, without argv[0]'s path */
	while ((c = getopt(argc, argv, "+:Sf:q:")) != -1) {
		switch (c) {
		case 'S':
			mode = 0755;
			break;
		case 'f':
			folder = optarg;
			break;
		case 'q':
			quota = optarg;
			break;
		case ':':
			fprintf(stderr, "maildirmake: option -%c needs an argument\n", optopt);
			usage();
		default:
			fprintf(stderr, "maildirmake: unknown option -%c\n",
				optopt > 0x20 && optopt < 0x7f ? optopt : '?');
			usage();
		}
	}
	if (argc - optind != 1 || argv[optind][0] == '\0')
		usage();
	if (folder && quota) {
		fputs("maildirmake: -f and -q cannot be combined (the quota belongs to the maildir)\n",
		      stderr);
		exit(1);
	}
	const char *dir = argv[optind];
	if (folder)
		return make_folder(dir, folder, mode);
	if (quota)
		return make_quota(dir, quota, mode);
	if (maildir_create(dir, mode, MAILDIR_CREATE_EXCL) < 0)
		fail(dir, errno == EEXIST ? "exists already" : strerror(errno));
	return 0;
}
