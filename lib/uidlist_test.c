/* Unit tests of lib/uidlist.c: UIDs assigned once, kept, the list rebuilt
 * when damaged, new/ moved to cur/, or numbered in
 * place (FOLDER_SCAN_KEEP_NEW). */
#include "uidlist.h"

#include "buf.h"
#include "file.h"
#include "unit.h"

#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const char *mkmaildir(void)
{
	static struct buf p = BUF_INIT;
	const char *sub[] = { "cur", "new", "tmp" };
	buf_reset(&p);
	buf_printf(&p, "%s/M", unit_tmpdir());
	mkdir(buf_cstr(&p), 0700);
	for (int i = 0; i < 3; i++) {
		struct buf d = BUF_INIT;
		buf_printf(&d, "%s/%s", buf_cstr(&p), sub[i]);
		mkdir(buf_cstr(&d), 0700);
		buf_free(&d);
	}
	return buf_cstr(&p);
}

static void put(const char *md, const char *dir, const char *name)
{
	struct buf p = BUF_INIT;
	buf_printf(&p, "%s/%s/%s", md, dir, name);
	CHECK_INT(file_replace(buf_cstr(&p), "x\n", 2, 0600), 0);
	buf_free(&p);
}

static size_t scan(const char *md, struct disk_msg **d, uint32_t *validity, uint32_t *next)
{
	size_t n;
	int fd = folder_lock(md);
	CHECK(fd >= 0);
	CHECK_INT(folder_scan(md, validity, next, d, &n), 0);
	folder_unlock(fd);
	return n;
}

TEST(uidlist_assigns_and_keeps)
{
	const char *md = mkmaildir();
	struct disk_msg *d;
	uint32_t v1, v2, next;
	put(md, "new", "2.b.host");
	put(md, "new", "1.a.host");
	put(md, "cur", "3.c.host:2,S");
	size_t n = scan(md, &d, &v1, &next);
	CHECK_INT(n, 3);
	CHECK_INT(next, 4);
	CHECK_STR(d[0].name, "1.a.host:2,");
	CHECK_INT(d[0].uid, 1);
	CHECK_INT(d[2].uid, 3);
	CHECK(d[0].recent);
	disk_msgs_free(d, n);
	put(md, "new", "0.z.host"); /* sorts first, but is newer: gets UID 4 */
	n = scan(md, &d, &v2, &next);
	CHECK_INT(v1, v2);
	CHECK_INT(n, 4);
	CHECK_STR(d[3].name, "0.z.host:2,");
	CHECK_INT(d[3].uid, 4);
	CHECK(d[3].recent && !d[0].recent);
	disk_msgs_free(d, n);
}

TEST(uidlist_rebuilt_when_damaged)
{
	const char *md = mkmaildir();
	struct disk_msg *d;
	uint32_t v, next;
	struct buf p = BUF_INIT;
	put(md, "cur", "1.a.host:2,");
	buf_printf(&p, "%s/estafette-uidlist", md);
	const char *bad[] = { "E1 5 3\n2 1.a.host\n1 2.b\n", "garbage", "E1 0 1\n",
			      "E1 5 2\n7 1.a.host\n", "E1 5 9\n1 a\0b\n" };
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		CHECK_INT(file_replace(buf_cstr(&p), bad[i], strlen(bad[i]) + (i == 4 ? 4 : 0), 0600), 0);
		size_t n = scan(md, &d, &v, &next);
		CHECK_INT(n, 1);
		CHECK_INT(d[0].uid, 1);
		CHECK(v != 5);
		disk_msgs_free(d, n);
	}
	buf_free(&p);
}

TEST(uidlist_same_message_twice_and_expunged)
{
	const char *md = mkmaildir();
	struct disk_msg *d;
	uint32_t v, next;
	put(md, "cur", "1.a.host:2,S");
	put(md, "cur", "1.a.host:2,SF"); /* a crashed rename: one message */
	put(md, "cur", "2.b.host:2,");
	put(md, "cur", ".hidden");
	size_t n = scan(md, &d, &v, &next);
	CHECK_INT(n, 2);
	disk_msgs_free(d, n);
	struct buf p = BUF_INIT;
	buf_printf(&p, "%s/cur/2.b.host:2,", md);
	unlink(buf_cstr(&p));
	n = scan(md, &d, &v, &next);
	CHECK_INT(n, 1);
	CHECK_INT(next, 3);
	disk_msgs_free(d, n);
	buf_free(&p);
}

TEST(uidlist_imports_dovecot_and_courier)
{
	const char *md = mkmaildir();
	struct disk_msg *d;
	uint32_t v, next;
	struct buf p = BUF_INIT;
	put(md, "cur", "1.a.host:2,S");
	put(md, "cur", "2.b.host,S=5:2,");
	put(md, "new", "3.c.host");
	buf_printf(&p, "%s/dovecot-uidlist", md);
	const char *dv = "3 V1234 N50 Gabc\n7 :1.a.host\n9 W10 :2.b.host,S=5\n\nbad line\n";
	CHECK_INT(file_replace(buf_cstr(&p), dv, strlen(dv), 0600), 0);
	size_t n = scan(md, &d, &v, &next);
	CHECK_INT(v, 1234);
	CHECK_INT(n, 3);
	CHECK_INT(d[0].uid, 7);
	CHECK_INT(d[1].uid, 9);
	CHECK_INT(d[2].uid, 50);
	CHECK_INT(next, 51);
	disk_msgs_free(d, n);
	/* Courier's (version 1) in another maildir */
	buf_reset(&p);
	buf_printf(&p, "%s/X", unit_tmpdir());
	mkdir(buf_cstr(&p), 0700);
	const char *sub[] = { "cur", "new", "tmp" };
	for (int i = 0; i < 3; i++) {
		struct buf q = BUF_INIT;
		buf_printf(&q, "%s/%s", buf_cstr(&p), sub[i]);
		mkdir(buf_cstr(&q), 0700);
		buf_free(&q);
	}
	put(buf_cstr(&p), "cur", "5.e.host:2,");
	struct buf f = BUF_INIT;
	buf_printf(&f, "%s/courierimapuiddb", buf_cstr(&p));
	CHECK_INT(file_replace(buf_cstr(&f), "1 777 12\n11 5.e.host\n", 21, 0600), 0);
	n = scan(buf_cstr(&p), &d, &v, &next);
	CHECK_INT(v, 777);
	CHECK_INT(n, 1);
	CHECK_INT(d[0].uid, 11);
	disk_msgs_free(d, n);
	buf_free(&f);
	buf_free(&p);
}

static int exists(const char *md, const char *rel)
{
	struct buf p = BUF_INIT;
	struct stat st;
	buf_printf(&p, "%s/%s", md, rel);
	int r = stat(buf_cstr(&p), &st) == 0;
	buf_free(&p);
	return r;
}

static ino_t list_ino(const char *md)
{
	struct buf p = BUF_INIT;
	struct stat st;
	buf_printf(&p, "%s/estafette-uidlist", md);
	CHECK_INT(stat(buf_cstr(&p), &st), 0);
	buf_free(&p);
	return st.st_ino;
}

static size_t scan_keep(const char *md, struct disk_msg **d, uint32_t *validity)
{
	size_t n;
	uint32_t next;
	int fd = folder_lock(md);
	CHECK(fd >= 0);
	CHECK_INT(folder_scan_flags(md, FOLDER_SCAN_KEEP_NEW, validity, &next, d, &n), 0);
	folder_unlock(fd);
	return n;
}

/* pop3d's scan numbers new/ in place; imapd's later scan moves the messages,
 * keeps their UIDs and reports them recent exactly once. */
TEST(uidlist_keep_new_then_imap_moves)
{
	const char *md = mkmaildir();
	struct disk_msg *d;
	uint32_t v1, v2, next;
	put(md, "new", "2.b.host");
	put(md, "new", "1.a.host");
	put(md, "cur", "0.c.host:2,S");
	size_t n = scan_keep(md, &d, &v1);
	CHECK_INT(n, 3);
	CHECK_STR(d[0].name, "0.c.host:2,S");
	CHECK(!d[0].recent);
	CHECK_STR(d[1].name, "1.a.host");
	CHECK(d[1].recent && d[2].recent);
	CHECK_INT(d[2].uid, 3);
	disk_msgs_free(d, n);
	CHECK(exists(md, "new/1.a.host") && exists(md, "new/2.b.host"));
	ino_t ino = list_ino(md);
	n = scan_keep(md, &d, &v2); /* nothing changed: the list is not rewritten */
	CHECK_INT(v1, v2);
	CHECK_INT(n, 3);
	CHECK_INT(d[1].uid, 2);
	CHECK(list_ino(md) == ino);
	disk_msgs_free(d, n);
	n = scan(md, &d, &v2, &next);
	CHECK_INT(v1, v2);
	CHECK_INT(next, 4);
	CHECK_INT(n, 3);
	CHECK_STR(d[1].name, "1.a.host:2,");
	CHECK_INT(d[1].uid, 2);
	CHECK_STR(d[2].name, "2.b.host:2,");
	CHECK_INT(d[2].uid, 3);
	CHECK(d[1].recent && d[2].recent && !d[0].recent);
	disk_msgs_free(d, n);
	CHECK(!exists(md, "new/1.a.host") && exists(md, "cur/1.a.host:2,"));
	n = scan(md, &d, &v2, &next);
	CHECK(!d[1].recent && !d[2].recent);
	disk_msgs_free(d, n);
}

/* A message in both new/ and cur/ (moved while listing) is one message, and
 * the name in cur/ wins; hostile names in new/ are skipped. */
TEST(uidlist_keep_new_duplicates_and_bad_names)
{
	const char *md = mkmaildir();
	struct disk_msg *d;
	uint32_t v;
	put(md, "new", "1.a.host");
	put(md, "cur", "1.a.host:2,S");
	put(md, "new", ".dot");
	put(md, "new", "2.b.host:2,\x01");
	put(md, "new", "3.c.host");
	size_t n = scan_keep(md, &d, &v);
	CHECK_INT(n, 2);
	CHECK_STR(d[0].name, "1.a.host:2,S");
	CHECK(!d[0].recent);
	CHECK_STR(d[1].name, "3.c.host");
	CHECK(d[1].recent);
	disk_msgs_free(d, n);
}

/* An empty folder, and one with no new/: no error, no messages. */
TEST(uidlist_keep_new_empty)
{
	const char *md = mkmaildir();
	struct disk_msg *d;
	uint32_t v;
	CHECK_INT(scan_keep(md, &d, &v), 0);
	disk_msgs_free(d, 0);
	struct buf p = BUF_INIT;
	buf_printf(&p, "%s/new", md);
	rmdir(buf_cstr(&p));
	buf_free(&p);
	put(md, "cur", "1.a.host:2,");
	CHECK_INT(scan_keep(md, &d, &v), 1);
	disk_msgs_free(d, 1);
}

static size_t scan_info(const char *md, struct disk_msg **d, struct folder_info *fi)
{
	size_t n;
	int fd = folder_lock(md);
	CHECK(fd >= 0);
	CHECK_INT(folder_scan_info(md, 0, fi, d, &n), 0);
	folder_unlock(fd);
	return n;
}

static void rename_in(const char *md, const char *from, const char *to)
{
	struct buf a = BUF_INIT, b = BUF_INIT;
	buf_printf(&a, "%s/cur/%s", md, from);
	buf_printf(&b, "%s/cur/%s", md, to);
	CHECK_INT(rename(buf_cstr(&a), buf_cstr(&b)), 0);
	buf_free(&a);
	buf_free(&b);
}

TEST(uidlist_modseq_flag_changes_and_expunges)
{
	const char *md = mkmaildir();
	struct disk_msg *d;
	struct folder_info fi;
	put(md, "cur", "1.a.host:2,");
	put(md, "cur", "2.b.host:2,");
	put(md, "cur", "3.c.host:2,");
	size_t n = scan_info(md, &d, &fi);
	CHECK_INT(n, 3);
	uint64_t h = fi.highestmodseq;
	CHECK(d[0].modseq > 0 && d[2].modseq <= h);
	disk_msgs_free(d, n);
	folder_info_free(&fi);
	/* nothing changed: same modseqs, nothing written */
	n = scan_info(md, &d, &fi);
	CHECK(fi.highestmodseq == h);
	disk_msgs_free(d, n);
	folder_info_free(&fi);
	/* another writer renames (a flag change) and removes a message */
	rename_in(md, "2.b.host:2,", "2.b.host:2,FS");
	struct buf p = BUF_INIT;
	buf_printf(&p, "%s/cur/3.c.host:2,", md);
	CHECK_INT(unlink(buf_cstr(&p)), 0);
	buf_free(&p);
	n = scan_info(md, &d, &fi);
	CHECK_INT(n, 2);
	CHECK(d[1].modseq == h + 1 && d[0].modseq <= h);
	CHECK(fi.highestmodseq == h + 2);
	CHECK_INT(fi.nvanished, 1);
	CHECK_INT(fi.vanished[0].uid, 3);
	CHECK(fi.vanished[0].modseq == h + 2);
	disk_msgs_free(d, n);
	folder_info_free(&fi);
	/* kept across scans (read back from the file) */
	n = scan_info(md, &d, &fi);
	CHECK_INT(fi.nvanished, 1);
	CHECK(fi.highestmodseq == h + 2 && fi.vanished_floor == 0);
	disk_msgs_free(d, n);
	folder_info_free(&fi);
}

TEST(uidlist_e1_upgraded_and_bad_e2)
{
	const char *md = mkmaildir();
	struct disk_msg *d;
	struct folder_info fi;
	struct buf p = BUF_INIT, text = BUF_INIT;
	put(md, "cur", "1.a.host:2,S");
	buf_printf(&p, "%s/estafette-uidlist", md);
	CHECK_INT(file_replace(buf_cstr(&p), "E1 42 9\n5 1.a.host\n", 19, 0600), 0);
	size_t n = scan_info(md, &d, &fi);
	CHECK_INT(n, 1);
	CHECK_INT(d[0].uid, 5);
	CHECK(d[0].modseq == 1 && fi.uidvalidity == 42 && fi.uidnext == 9);
	disk_msgs_free(d, n);
	folder_info_free(&fi);
	CHECK_INT(file_read(buf_cstr(&p), &text, 4096), 0);
	CHECK_BUF(text, "E2 42 9 1 0 9\n5 1 1.a.host:2,S\n");
	/* damaged E2 lists are rebuilt with a new UIDVALIDITY */
	const char *bad[] = { "E2 42 9 0 0\n", "E2 42 9 5 7\n", "E2 42 9 5 0\n5 1.a.host:2,S\n",
			      "E2 42 9 5 0\nX 12 3\n", "E2 42 9 5 0\nX 3 9\n", "E2 42 9 5\n",
			      "E2 42 9 5 0\n5 0 1.a.host:2,S\n", "E2 42 9 5 0\n5 3 \n" };
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		CHECK_INT(file_replace(buf_cstr(&p), bad[i], strlen(bad[i]), 0600), 0);
		n = scan_info(md, &d, &fi);
		CHECK(fi.uidvalidity != 42);
		CHECK_INT(n, 1);
		disk_msgs_free(d, n);
		folder_info_free(&fi);
	}
	buf_free(&p);
	buf_free(&text);
}

TEST(uidlist_vanished_bounded)
{
	const char *md = mkmaildir();
	struct disk_msg *d;
	struct folder_info fi;
	struct buf text = BUF_INIT, p = BUF_INIT;
	/* a list with FOLDER_MAX_VANISHED expunges and two messages that are gone */
	buf_printf(&text, "E2 42 %d 20000 0\n", FOLDER_MAX_VANISHED + 10);
	buf_printf(&text, "%d 3 7.g.host:2,\n%d 4 8.h.host:2,\n", FOLDER_MAX_VANISHED + 1,
		   FOLDER_MAX_VANISHED + 2);
	for (int i = 1; i <= FOLDER_MAX_VANISHED; i++)
		buf_printf(&text, "X %d %d\n", i, i);
	buf_printf(&p, "%s/estafette-uidlist", md);
	CHECK_INT(file_replace(buf_cstr(&p), text.data, text.len, 0600), 0);
	size_t n = scan_info(md, &d, &fi);
	CHECK_INT(n, 0);
	CHECK_INT(fi.nvanished, FOLDER_MAX_VANISHED);
	CHECK(fi.vanished_floor == 2); /* the two oldest were forgotten */
	CHECK_INT(fi.vanished[0].uid, 3);
	CHECK_INT(fi.vanished[FOLDER_MAX_VANISHED - 1].uid, FOLDER_MAX_VANISHED + 2);
	CHECK(fi.highestmodseq == 20001);
	disk_msgs_free(d, n);
	folder_info_free(&fi);
	buf_free(&text);
	buf_free(&p);
}

/* UIDs run out: a new UIDVALIDITY and every message numbered from 1, none
 * left out (fuzz finding). */
TEST(uidlist_uids_exhausted_renumbers)
{
	const char *md = mkmaildir();
	struct disk_msg *d;
	struct folder_info fi;
	struct buf p = BUF_INIT;
	put(md, "cur", "1.a.host:2,");
	put(md, "cur", "2.b.host:2,");
	put(md, "new", "3.c.host");
	buf_printf(&p, "%s/estafette-uidlist", md);
	CHECK_INT(file_replace(buf_cstr(&p), "E1 700 4294967294\n", 18, 0600), 0);
	size_t n = scan_info(md, &d, &fi);
	CHECK_INT(n, 3);
	CHECK(fi.uidvalidity != 700);
	CHECK_INT(d[0].uid, 1);
	CHECK_INT(d[2].uid, 3);
	CHECK_INT(fi.uidnext, 4);
	disk_msgs_free(d, n);
	folder_info_free(&fi);
	buf_free(&p);
}
