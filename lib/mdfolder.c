/* mdfolder: check and map Maildir++ folder names; create folders.
 * Trusts nothing in a name; trusts the maildir path it is given. */
#include "mdfolder.h"
#include "buf.h"
#include "maildir.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

static int fail(const char **err, int e, const char *why)
{
	if (err)
		*err = why;
	errno = e;
	return -1;
}

static int level_is(const char *s, size_t len, const char *word)
{
	return len == strlen(word) && memcmp(s, word, len) == 0;
}

/* One level of a path: the rules of mdfolder.h. */
static int check_level(const char *s, size_t len, char sep, int top, const char **err)
{
	if (len == 0)
		return fail(err, EINVAL, "empty folder level (leading, trailing or double separator)");
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c < 0x20 || c == 0x7f)
			return fail(err, EINVAL, "control character in folder name");
		if (c == '/')
			return fail(err, EINVAL, "'/' in folder name");
		if (c == '.' && sep != '.')
			return fail(err, EINVAL, "'.' in a folder level");
	}
	if (level_is(s, len, "tmp") || level_is(s, len, "new") || level_is(s, len, "cur"))
		return fail(err, EINVAL, "folder level named tmp, new or cur");
	if (top && len == 5 && strncasecmp(s, "INBOX", 5) == 0)
		return fail(err, EINVAL, "INBOX is not a folder below INBOX");
	return 0;
}

int mdfolder_check_path(const char *path, size_t len, char sep, const char **err)
{
	if (sep != '.' && sep != '/')
		return fail(err, EINVAL, "bad hierarchy separator");
	/* on disk: '.' + path, one directory entry */
	if (len >= MDFOLDER_DIR_MAX)
		return fail(err, ENAMETOOLONG, "folder name too long");
	const char *end = path + len;
	const char *p = path;
	for (;;) {
		const char *s = memchr(p, sep, (size_t)(end - p));
		const char *stop = s ? s : end;
		if (check_level(p, (size_t)(stop - p), sep, p == path, err) < 0)
			return -1;
		if (s == NULL)
			return 0;
		p = s + 1;
	}
}

int mdfolder_check_dir(const char *dir, size_t len, const char **err)
{
	if (len == 0 || dir[0] != '.')
		return fail(err, EINVAL, "folder directory must start with '.'");
	return mdfolder_check_path(dir + 1, len - 1, '.', err);
}

int mdfolder_path_to_dir(const char *path, size_t len, char sep, struct buf *out,
			 const char **err)
{
	buf_reset(out);
	if (mdfolder_check_path(path, len, sep, err) < 0)
		return -1;
	buf_append_char(out, '.');
	for (size_t i = 0; i < len; i++)
		buf_append_char(out, path[i] == sep ? '.' : path[i]);
	return 0;
}

static int is_inbox(const char *s, size_t len)
{
	return len == 5 && strncasecmp(s, "INBOX", 5) == 0;
}

int mdfolder_from_imap(const char *name, size_t len, char sep, struct buf *dir,
		       const char **err)
{
	buf_reset(dir);
	if (sep != '.' && sep != '/')
		return fail(err, EINVAL, "bad hierarchy separator");
	if (is_inbox(name, len))
		return 0;
	if (sep == '/')
		return mdfolder_path_to_dir(name, len, sep, dir, err);
	if (len >= 6 && is_inbox(name, 5) && name[5] == '.')
		return mdfolder_path_to_dir(name + 6, len - 6, sep, dir, err);
	return mdfolder_path_to_dir(name, len, sep, dir, err);
}

int mdfolder_to_imap(const char *dir, size_t len, char sep, struct buf *name,
		     const char **err)
{
	buf_reset(name);
	if (sep != '.' && sep != '/')
		return fail(err, EINVAL, "bad hierarchy separator");
	if (len == 0) {
		buf_append_str(name, "INBOX");
		return 0;
	}
	if (mdfolder_check_dir(dir, len, err) < 0)
		return -1;
	if (sep == '.') {
		buf_append_str(name, "INBOX");
		buf_append(name, dir, len);
		return 0;
	}
	for (size_t i = 1; i < len; i++)
		buf_append_char(name, dir[i] == '.' ? '/' : dir[i]);
	return 0;
}

int mdfolder_create(const char *maildir, const char *dir, mode_t mode)
{
	if (mdfolder_check_dir(dir, strlen(dir), NULL) < 0)
		return -1;
	int fd = open(maildir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	int r = maildir_create_at(fd, dir, mode, MAILDIR_CREATE_EXCL | MAILDIR_CREATE_FOLDER);
	int saved = errno;
	close(fd);
	errno = saved;
	return r;
}
