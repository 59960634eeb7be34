/* mdfolder_fuzz: lib/mdfolder (Maildir++ folder names from IMAP clients and
 * directory listings). The first byte picks the separator ('.' or '/');
 * the rest is a name. Invariants: a name that maps to a directory maps back
 * to the same name; every directory produced passes mdfolder_check_dir,
 * starts with '.' (or is "" for INBOX), has no '/' and fits a directory
 * entry. */
#include "fuzz.h"
#include "buf.h"
#include "mdfolder.h"

#include <strings.h>

static void check_dir(const struct buf *dir)
{
	if (dir->len == 0)
		return; /* INBOX */
	FUZZ_CHECK(dir->data[0] == '.' && dir->len <= MDFOLDER_DIR_MAX);
	FUZZ_CHECK(memchr(dir->data, '/', dir->len) == NULL);
	FUZZ_CHECK(memchr(dir->data, '\0', dir->len) == NULL);
	FUZZ_CHECK(mdfolder_check_dir(dir->data, dir->len, NULL) == 0);
	FUZZ_CHECK(!(dir->len == 2 && dir->data[1] == '.'));
}

static void from_imap(const char *s, size_t len, char sep)
{
	struct buf dir = BUF_INIT, name = BUF_INIT;
	const char *err = NULL;
	if (mdfolder_from_imap(s, len, sep, &dir, &err) == 0) {
		check_dir(&dir);
		FUZZ_CHECK(mdfolder_to_imap(dir.data, dir.len, sep, &name, &err) == 0);
		/* INBOX (and Courier's "INBOX." prefix) comes back in its
		 * canonical case; with '.' a name without the prefix comes
		 * back with it; the rest exactly */
		int prefixed = len >= 6 && strncasecmp(s, "INBOX.", 6) == 0;
		size_t k = sep == '.' && prefixed ? 6 : 0;
		if (dir.len > 0 && sep == '.') {
			FUZZ_CHECK(name.len >= 6 && strncmp(name.data, "INBOX.", 6) == 0);
			FUZZ_CHECK(fuzz_eq(name.data + 6, name.len - 6, s + k, len - k));
		} else if (dir.len > 0) {
			FUZZ_CHECK(fuzz_eq(name.data, name.len, s, len));
		}
	} else {
		FUZZ_CHECK(err != NULL);
	}
	buf_free(&dir);
	buf_free(&name);
}

static void to_imap(const char *s, size_t len, char sep)
{
	struct buf dir = BUF_INIT, name = BUF_INIT;
	if (mdfolder_to_imap(s, len, sep, &name, NULL) == 0) {
		FUZZ_CHECK(mdfolder_from_imap(name.data, name.len, sep, &dir, NULL) == 0);
		FUZZ_CHECK(fuzz_eq(dir.data, dir.len, s, len));
	}
	buf_free(&dir);
	buf_free(&name);
}

static void path_to_dir(const char *s, size_t len, char sep)
{
	struct buf dir = BUF_INIT;
	int ok = mdfolder_check_path(s, len, sep, NULL) == 0;
	int r = mdfolder_path_to_dir(s, len, sep, &dir, NULL);
	if (r == 0) {
		FUZZ_CHECK(ok);
		check_dir(&dir);
		FUZZ_CHECK(dir.len > 0);
	}
	buf_free(&dir);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_in in;
	fuzz_in_init(&in, data, size);
	char sep = (fuzz_take_byte(&in) & 1) ? '/' : '.';
	const char *s = (const char *)in.p;
	from_imap(s, in.len, sep);
	to_imap(s, in.len, sep);
	path_to_dir(s, in.len, sep);
	(void)mdfolder_check_dir(s, in.len, NULL);
	return 0;
}
