/* Unit tests of Maildir++ quota: reading maildirsize (negative lines, junk),
 * recalculation from file names and sizes, folders counting towards their
 * Maildir, and the over-quota decision. */
#include "mdquota.h"

#include "buf.h"
#include "file.h"
#include "maildir.h"
#include "unit.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

static void put(const char *dir, const char *name, const char *text)
{
	struct buf p = BUF_INIT;
	buf_printf(&p, "%s/%s", dir, name);
	CHECK_INT(file_replace(buf_cstr(&p), text, strlen(text), 0600), 0);
	buf_free(&p);
}

static const char *md(void)
{
	static char path[4096];
	snprintf(path, sizeof path, "%s/Maildir", unit_tmpdir());
	CHECK_INT(maildir_create(path, 0700, 0), 0);
	return path;
}

TEST(reads_usage_lines)
{
	const char *d = md();
	struct buf spec = BUF_INIT;
	struct md_usage u;
	size_t sz;
	put(d, "maildirsize", "1000S,10C\n  100 1\n  -40 -1\n300 2\nnonsense\n");
	CHECK_INT(md_quota_read(d, &spec, &u, &sz), 0);
	CHECK_STR(buf_cstr(&spec), "1000S,10C");
	CHECK_INT(u.bytes, 360);
	CHECK_INT(u.count, 2);
	buf_free(&spec);
}

TEST(recalc_counts_folders_but_not_trash)
{
	const char *d = md();
	struct buf f = BUF_INIT;
	struct md_usage u;
	put(d, "new/1.x,S=100", "ignored: the name gives the size");
	put(d, "cur/2.x:2,S", "12345");
	buf_printf(&f, "%s/.Sub", d);
	CHECK_INT(maildir_create(buf_cstr(&f), 0700, MAILDIR_CREATE_FOLDER), 0);
	put(buf_cstr(&f), "new/3.x,S=7", "");
	buf_reset(&f);
	buf_printf(&f, "%s/.Trash", d);
	CHECK_INT(maildir_create(buf_cstr(&f), 0700, MAILDIR_CREATE_FOLDER), 0);
	put(buf_cstr(&f), "new/4.x,S=1000", "");
	CHECK_INT(md_quota_recalc(d, "500S", &u), 0);
	CHECK_INT(u.bytes, 112);
	CHECK_INT(u.count, 3);
	buf_free(&f);
}

TEST(over_quota_is_refused_after_a_recount)
{
	const char *d = md();
	struct buf err = BUF_INIT, sub = BUF_INIT;
	CHECK_INT(md_quota_check(d, "", 100, &err), 0); /* no quota at all */
	CHECK_INT(md_quota_check(d, "150S", 100, &err), 0); /* creates maildirsize */
	md_quota_add(d, "", 100, 1);
	put(d, "new/1.x,S=100", "");
	CHECK_INT(md_quota_check(d, "", 100, &err), -1);
	CHECK_INT(errno, EDQUOT);
	CHECK(strstr(buf_cstr(&err), "quota"));
	/* the message went away unrecorded: the recount lets mail in */
	struct buf p = BUF_INIT;
	buf_printf(&p, "%s/new/1.x,S=100", d);
	CHECK_INT(remove(buf_cstr(&p)), 0);
	CHECK_INT(md_quota_check(d, "", 100, &err), 0);
	/* a folder uses its Maildir's quota */
	buf_printf(&sub, "%s/.F", d);
	CHECK_INT(maildir_create(buf_cstr(&sub), 0700, MAILDIR_CREATE_FOLDER), 0);
	CHECK_INT(md_quota_check(buf_cstr(&sub), "", 200, &err), -1);
	buf_free(&p);
	buf_free(&sub);
	buf_free(&err);
}

TEST(count_quota)
{
	const char *d = md();
	struct buf err = BUF_INIT;
	put(d, "maildirsize", "2C\n10 1\n10 1\n");
	put(d, "new/a,S=10", "");
	put(d, "new/b,S=10", "");
	CHECK_INT(md_quota_check(d, "", 1, &err), -1);
	buf_free(&err);
}
