/* uidlist_fuzz: lib/uidlist's reader of "estafette-uidlist", a file in the
 * user's Maildir (writable by the user, so untrusted by imapd and pop3d), and
 * the scan that merges it with cur/ and new/. The input is the list file;
 * byte 0 gives the number of messages in cur/ (0-7) and new/ (0-3) and the
 * scan flags. Invariants: every message gets a UID, UIDs ascend strictly and
 * stay below UIDNEXT, UIDVALIDITY is not 0; a second scan gives the same
 * UIDVALIDITY, UIDNEXT, UIDs and names, none of them recent (the first scan
 * wrote a list that reads back exactly). */
#include "fuzz.h"
#include "uidlist.h"

#include <dirent.h>
#include <sys/stat.h>

static char root[160];

static void path_of(char *out, size_t n, const char *sub, const char *name)
{
	snprintf(out, n, "%s/%s%s%s", root, sub, name[0] ? "/" : "", name);
}

static void empty_dir(const char *sub)
{
	char p[256];
	path_of(p, sizeof p, sub, "");
	DIR *d = opendir(p);
	FUZZ_CHECK(d != NULL);
	struct dirent *e;
	while ((e = readdir(d)) != NULL) {
		if (e->d_name[0] == '.')
			continue;
		char f[512];
		snprintf(f, sizeof f, "%s/%s", p, e->d_name);
		unlink(f);
	}
	closedir(d);
}

static void setup(void)
{
	if (root[0] == '\0') {
		snprintf(root, sizeof root, "%s", fuzz_tmpfile(0, "Maildir"));
		FUZZ_CHECK(mkdir(root, 0700) == 0);
		const char *subs[] = { "cur", "new", "tmp" };
		for (int i = 0; i < 3; i++) {
			char p[256];
			path_of(p, sizeof p, subs[i], "");
			FUZZ_CHECK(mkdir(p, 0700) == 0);
		}
	}
	empty_dir("cur");
	empty_dir("new");
	empty_dir(""); /* the list, its lock and temporary files (not the subdirs) */
}

static void touch(const char *sub, const char *name)
{
	char p[512];
	path_of(p, sizeof p, sub, name);
	fuzz_write_file(p, "x\n", 2);
}

static void check_scan(const struct disk_msg *d, size_t n, uint32_t validity, uint32_t next,
		       size_t want)
{
	FUZZ_CHECK(n == want);
	FUZZ_CHECK(validity != 0);
	for (size_t i = 0; i < n; i++) {
		FUZZ_CHECK(d[i].uid > 0 && d[i].uid < next);
		FUZZ_CHECK(i == 0 || d[i].uid > d[i - 1].uid);
		FUZZ_CHECK(d[i].name != NULL && d[i].name[0] != '\0');
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_in in;
	fuzz_in_init(&in, data, size);
	unsigned opt = fuzz_take_byte(&in);
	unsigned ncur = opt & 7, nnew = (opt >> 3) & 3, flags = (opt >> 5) & 1 ? FOLDER_SCAN_KEEP_NEW : 0;
	setup();
	for (unsigned i = 0; i < ncur; i++) {
		char name[64];
		snprintf(name, sizeof name, "17000000%02u.M%uP1.host:2,%s", i, i, i & 1 ? "S" : "");
		touch("cur", name);
	}
	for (unsigned i = 0; i < nnew; i++) {
		char name[64];
		snprintf(name, sizeof name, "17000001%02u.M%uP2.host", i, i);
		touch("new", name);
	}
	char list[256];
	path_of(list, sizeof list, "estafette-uidlist", "");
	fuzz_write_file(list, in.p, in.len);
	uint32_t v1 = 0, n1 = 0, v2 = 0, n2 = 0;
	struct disk_msg *d1 = NULL, *d2 = NULL;
	size_t c1 = 0, c2 = 0;
	if (folder_scan_flags(root, flags, &v1, &n1, &d1, &c1) < 0)
		return 0; /* only on a system error */
	check_scan(d1, c1, v1, n1, ncur + nnew);
	FUZZ_CHECK(folder_scan_flags(root, flags, &v2, &n2, &d2, &c2) == 0);
	check_scan(d2, c2, v2, n2, ncur + nnew);
	FUZZ_CHECK(v1 == v2 && n1 == n2);
	for (size_t i = 0; i < c1; i++) {
		FUZZ_CHECK(d1[i].uid == d2[i].uid && strcmp(d1[i].name, d2[i].name) == 0);
		FUZZ_CHECK(flags || !d2[i].recent);
	}
	disk_msgs_free(d1, c1);
	disk_msgs_free(d2, c2);
	return 0;
}
