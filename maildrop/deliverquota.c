/* deliverquota: deliver the message on stdin into a Maildir (or a Maildir++
 * folder) within its Maildir++ quota; see deliverquota(8).
 *
 *   deliverquota [-c] MAILDIR [QUOTA]
 *
 * -c creates MAILDIR (and missing parents) first. QUOTA ("10000000S,1000C")
 * sets a new quota: maildirsize is rebuilt from the messages with it.
 * Exit: 0 delivered, 77 (EX_NOPERM) over quota, 75 (EX_TEMPFAIL) on any other
 * failure, 64 usage. Runs as the invoking user, trusts its arguments, and
 * nothing in the message (which is copied, never parsed). */
#include "buf.h"
#include "file.h"
#include "log.h"
#include "maildir.h"
#include "mddeliver.h"
#include "mdquota.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#define DQ_MAX_MESSAGE (256 * 1024 * 1024)

static _Noreturn void fail(int code, const char *what, const char *why)
{
	struct buf esc = BUF_INIT;
	log_escape(&esc, what, strlen(what));
	fprintf(stderr, "deliverquota: %s: %s\n", buf_cstr(&esc), why);
	buf_free(&esc);
	exit(code);
}

/* A new quota: rebuild maildirsize with it (the usage is counted again). */
static void set_quota(const char *dir, const char *spec)
{
	struct maildir_quota q;
	const char *why = "invalid quota";
	struct md_usage u;
	if (maildir_quota_parse(spec, &q, &why) < 0)
		fail(EX_USAGE, spec, why);
	struct buf canon = BUF_INIT, have = BUF_INIT;
	size_t fsz;
	maildir_quota_format(&q, &canon);
	if (md_quota_read(dir, &have, &u, &fsz) < 0 || !buf_eq_str(&have, buf_cstr(&canon))) {
		if (md_quota_recalc(dir, buf_cstr(&canon), &u) < 0)
			fail(EX_TEMPFAIL, dir, strerror(errno));
	}
	buf_free(&canon);
	buf_free(&have);
}

int main(int argc, char **argv)
{
	int ch, create = 0;
	log_init("deliverquota");
	while ((ch = getopt(argc, argv, "cw:W:")) != -1) {
		if (ch == 'c')
			create = 1;
		else if (ch != 'w' && ch != 'W')
			goto usage;
	}
	if (argc - optind < 1 || argc - optind > 2)
		goto usage;
	const char *dir = argv[optind];
	if (create && (file_mkdirs(dir, 0700) < 0 || maildir_create(dir, 0700, 0) < 0))
		fail(EX_TEMPFAIL, dir, strerror(errno));
	if (argc - optind == 2)
		set_quota(dir, argv[optind + 1]);
	struct buf msg = BUF_INIT, name = BUF_INIT, err = BUF_INIT;
	if (file_read_fd(0, &msg, DQ_MAX_MESSAGE) < 0)
		fail(EX_TEMPFAIL, "stdin", errno == EFBIG ? "message too large" : strerror(errno));
	if (md_deliver_maildir(dir, &msg, "", "", &name, &err) < 0)
		fail(errno == EDQUOT ? EX_NOPERM : EX_TEMPFAIL, dir, buf_cstr(&err));
	buf_free(&msg);
	buf_free(&name);
	buf_free(&err);
	return 0;
usage:
	fputs("usage: deliverquota [-c] maildir [quota]\n", stderr);
	return EX_USAGE;
}
