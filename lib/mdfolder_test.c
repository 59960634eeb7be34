#include "buf.h"
#include "maildir.h"
#include "mdfolder.h"
#include "unit.h"

#include <errno.h>
#include <stdio.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

struct imap_case {
	const char *imap; /* IMAP name */
	char sep;
	const char *dir;  /* directory, or NULL if the name is refused */
};

static const struct imap_case imap_cases[] = {
	{ "INBOX", '.', "" },
	{ "inbox", '.', "" },
	{ "InBoX", '/', "" },
	{ "INBOX.Sent", '.', ".Sent" },
	{ "inbox.Sent", '.', ".Sent" },
	{ "INBOX.Sent.Sub", '.', ".Sent.Sub" },
	{ "INBOX.&AMk-t&AOk-", '.', ".&AMk-t&AOk-" },      /* modified UTF-7 kept */
	{ "INBOX.caf\xc3\xa9", '.', ".caf\xc3\xa9" },       /* bytes kept */
	{ "INBOX.a b", '.', ".a b" },
	{ "INBOX.new-stuff", '.', ".new-stuff" },
	{ "INBOX.Tmp", '.', ".Tmp" },
	{ "Sent", '/', ".Sent" },
	{ "Sent/Sub", '/', ".Sent.Sub" },
	{ "Archive/2024/Q1", '/', ".Archive.2024.Q1" },
	{ "Sent", '.', ".Sent" },         /* outside INBOX.: the same folder */
	{ "Sent.Sub", '.', ".Sent.Sub" },
	{ "INBOXSent", '.', ".INBOXSent" },
	{ "INBOX.", '.', NULL },
	{ "Sent.", '.', NULL },
	{ ".Sent", '.', NULL },
	{ "..", '.', NULL },
	{ "../x", '.', NULL },
	{ "a/b", '.', NULL },
	{ "tmp", '.', NULL },
	{ "Inbox.INBOX", '.', NULL },
	{ "INBOX..Sent", '.', NULL },
	{ "INBOX.Sent.", '.', NULL },
	{ "INBOX.a..b", '.', NULL },
	{ "INBOX.a/b", '.', NULL },
	{ "INBOX.../x", '.', NULL },
	{ "INBOX.tmp", '.', NULL },
	{ "INBOX.a.new", '.', NULL },
	{ "INBOX.cur.a", '.', NULL },
	{ "INBOX.INBOX", '.', NULL },
	{ "INBOX.inbox.x", '.', NULL },
	{ "INBOX.a\tb", '.', NULL },
	{ "INBOX.a\x7f", '.', NULL },
	{ "INBOX.a\x1b[31m", '.', NULL },
	{ "", '.', NULL },
	{ "", '/', NULL },
	{ "../x", '/', NULL },
	{ "a..b", '/', NULL },
	{ ".a", '/', NULL },
	{ "a.", '/', NULL },
	{ "a.b", '/', NULL },
	{ "/a", '/', NULL },
	{ "a/", '/', NULL },
	{ "a//b", '/', NULL },
	{ "INBOX/a", '/', NULL },
	{ "a/INBOX", '/', ".a.INBOX" },  /* only the top level is reserved */
	{ "new", '/', NULL },
	{ "a/cur", '/', NULL },
	{ "a\nb", '/', NULL },
	{ "Sent", 'x', NULL },
};

TEST(mdfolder_imap_table)
{
	struct buf dir = BUF_INIT, back = BUF_INIT;
	for (size_t i = 0; i < sizeof imap_cases / sizeof imap_cases[0]; i++) {
		const struct imap_case *c = &imap_cases[i];
		const char *err = NULL;
		int r = mdfolder_from_imap(c->imap, strlen(c->imap), c->sep, &dir, &err);
		if (c->dir == NULL) {
			if (r != -1 || err == NULL || errno != EINVAL)
				unit_fail(__FILE__, __LINE__, "\"%s\" (%c) accepted", c->imap, c->sep);
			CHECK_INT(dir.len, 0);
			continue;
		}
		if (r != 0)
			unit_fail(__FILE__, __LINE__, "\"%s\" (%c) refused: %s", c->imap, c->sep, err);
		CHECK_STR(buf_cstr(&dir), c->dir);
		/* and back, to the canonical spelling */
		CHECK_INT(mdfolder_to_imap(dir.data, dir.len, c->sep, &back, &err), 0);
		if (strncasecmp(c->imap, "INBOX", 5) == 0 && (c->imap[5] == '.' || !c->imap[5]))
			CHECK(strncmp(buf_cstr(&back), "INBOX", 5) == 0 &&
			      strcmp(buf_cstr(&back) + 5, c->imap + 5) == 0);
		else if (c->sep == '.') /* a name outside INBOX. comes back in Courier's form */
			CHECK(strncmp(buf_cstr(&back), "INBOX.", 6) == 0 &&
			      strcmp(buf_cstr(&back) + 6, c->imap) == 0);
		else
			CHECK_STR(buf_cstr(&back), c->imap);
	}
	buf_free(&dir);
	buf_free(&back);
}

TEST(mdfolder_nul_bytes)
{
	struct buf dir = BUF_INIT;
	CHECK_INT(mdfolder_from_imap("INBOX.a\0b", 9, '.', &dir, NULL), -1);
	CHECK_INT(mdfolder_from_imap("INBOX\0", 6, '.', &dir, NULL), -1);
	CHECK_INT(mdfolder_from_imap("a\0", 2, '/', &dir, NULL), -1);
	CHECK_INT(mdfolder_check_dir(".a\0", 3, NULL), -1);
	CHECK_INT(mdfolder_to_imap(".a\0b", 4, '/', &dir, NULL), -1);
	buf_free(&dir);
}

TEST(mdfolder_lengths)
{
	char name[2100];
	struct buf dir = BUF_INIT;
	const char *err = NULL;
	/* a 2000-byte name */
	memcpy(name, "INBOX.", 6);
	memset(name + 6, 'x', 2000);
	CHECK_INT(mdfolder_from_imap(name, 2006, '.', &dir, &err), -1);
	CHECK_INT(errno, ENAMETOOLONG);
	CHECK(err != NULL);
	/* the directory entry may have 255 bytes, '.' included */
	CHECK_INT(mdfolder_from_imap(name, 6 + 254, '.', &dir, &err), 0);
	CHECK_INT(dir.len, 255);
	CHECK_INT(mdfolder_from_imap(name, 6 + 255, '.', &dir, &err), -1);
	/* many short levels */
	for (size_t i = 0; i < 2000; i += 2) {
		name[i] = 'a';
		name[i + 1] = '/';
	}
	CHECK_INT(mdfolder_from_imap(name, 1999, '/', &dir, &err), -1);
	CHECK_INT(mdfolder_from_imap(name, 253, '/', &dir, &err), 0);
	CHECK_INT(dir.len, 254);
	buf_free(&dir);
}

TEST(mdfolder_dir_table)
{
	static const char *const good[] = { ".a", ".Sent.Sub", ".a b", ".\xe2\x82\xac" };
	static const char *const bad[] = {
		"", ".", "..", "a", "a.b", ".a.", ".a..b", "..a", "./a", ".a/b", ".tmp", ".a.cur",
		".INBOX", ".Inbox.x", ".a\x01", "tmp", "new", "cur",
	};
	for (size_t i = 0; i < sizeof good / sizeof good[0]; i++)
		CHECK_INT(mdfolder_check_dir(good[i], strlen(good[i]), NULL), 0);
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		if (mdfolder_check_dir(bad[i], strlen(bad[i]), NULL) != -1)
			unit_fail(__FILE__, __LINE__, "dir \"%s\" accepted", bad[i]);
	/* a directory with '.' levels has no name when the separator is '/' */
	struct buf b = BUF_INIT;
	CHECK_INT(mdfolder_to_imap(".a.b", 4, '/', &b, NULL), 0);
	CHECK_STR(buf_cstr(&b), "a/b");
	CHECK_INT(mdfolder_to_imap(".a/b", 4, '/', &b, NULL), -1);
	CHECK_INT(mdfolder_to_imap("", 0, '/', &b, NULL), 0);
	CHECK_STR(buf_cstr(&b), "INBOX");
	buf_free(&b);
}

TEST(mdfolder_path_to_dir_courier_style)
{
	struct buf b = BUF_INIT;
	/* maildirmake -f takes the path without INBOX */
	CHECK_INT(mdfolder_path_to_dir("Sent.Sub", 8, '.', &b, NULL), 0);
	CHECK_STR(buf_cstr(&b), ".Sent.Sub");
	CHECK_INT(mdfolder_path_to_dir(".Sent", 5, '.', &b, NULL), -1);
	CHECK_INT(b.len, 0);
	CHECK_INT(mdfolder_path_to_dir("INBOX", 5, '.', &b, NULL), -1);
	CHECK_INT(mdfolder_check_path("a", 1, '\0', NULL), -1);
	buf_free(&b);
}

TEST(mdfolder_create_folder)
{
	char md[4200], p[4300];
	snprintf(md, sizeof md, "%s/md", unit_tmpdir());
	CHECK_INT(maildir_create(md, 0700, 0), 0);
	CHECK_INT(mdfolder_create(md, ".Sent", 0700), 0);
	struct stat st;
	snprintf(p, sizeof p, "%s/.Sent/maildirfolder", md);
	CHECK_INT(lstat(p, &st), 0);
	CHECK(S_ISREG(st.st_mode));
	snprintf(p, sizeof p, "%s/.Sent/new", md);
	CHECK_INT(lstat(p, &st), 0);
	CHECK(S_ISDIR(st.st_mode));
	CHECK_INT(mdfolder_create(md, ".Sent", 0700), -1);
	CHECK_INT(errno, EEXIST);
	CHECK_INT(mdfolder_create(md, ".Sent.Sub", 0700), 0);
	CHECK_INT(mdfolder_create(md, "../x", 0700), -1);
	CHECK_INT(errno, EINVAL);
	CHECK_INT(mdfolder_create(md, ".a/..", 0700), -1);
	CHECK_INT(mdfolder_create(md, ".tmp", 0700), -1);
	CHECK_INT(mdfolder_create(md, "new", 0700), -1);
	snprintf(p, sizeof p, "%s/nope", md);
	CHECK_INT(mdfolder_create(p, ".x", 0700), -1);
	CHECK_INT(errno, ENOENT);
	/* a folder can receive mail */
	snprintf(p, sizeof p, "%s/.Sent.Sub", md);
	struct maildir_delivery d;
	struct buf name = BUF_INIT;
	CHECK_INT(maildir_deliver_begin(&d, p), 0);
	CHECK_INT(maildir_deliver_write(&d, "x\n", 2), 0);
	CHECK_INT(maildir_deliver_commit(&d, &name), 0);
	buf_free(&name);
}
