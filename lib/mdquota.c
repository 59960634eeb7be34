/* mdquota: Maildir++ quota; see mdquota.h. */
#include "mdquota.h"

#include "file.h"
#include "maildir.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* The maildir root of dir: its parent when dir is a Maildir++ folder. */
static void quota_root(const char *dir, struct buf *root)
{
	struct buf p = BUF_INIT;
	buf_printf(&p, "%s/maildirfolder", dir);
	buf_set_str(root, dir);
	if (access(buf_cstr(&p), F_OK) == 0)
		buf_append_str(root, "/..");
	buf_free(&p);
}

int md_quota_read(const char *root, struct buf *spec, struct md_usage *u, size_t *filesize)
{
	struct buf path = BUF_INIT, text = BUF_INIT;
	buf_printf(&path, "%s/maildirsize", root);
	int rc = file_read(buf_cstr(&path), &text, 1024 * 1024);
	buf_free(&path);
	u->bytes = u->count = 0;
	if (rc < 0 || buf_has_nul(&text)) {
		buf_free(&text);
		return -1;
	}
	*filesize = text.len;
	const char *p = buf_cstr(&text), *nl = strchr(p, '\n');
	buf_set(spec, p, nl ? (size_t)(nl - p) : strlen(p));
	while (nl && *++nl) {
		char *end;
		long long b = strtoll(nl, &end, 10), c = strtoll(end, &end, 10);
		u->bytes += b;
		u->count += c;
		nl = strchr(end, '\n');
	}
	buf_free(&text);
	return 0;
}

/* Sum the messages in one directory (new/ or cur/). */
static void scan_dir(const char *dir, struct md_usage *u)
{
	DIR *d = opendir(dir);
	if (!d)
		return;
	for (struct dirent *e; (e = readdir(d));) {
		if (e->d_name[0] == '.')
			continue;
		const char *s = strstr(e->d_name, ",S=");
		if (s) {
			u->bytes += strtoll(s + 3, NULL, 10);
		} else {
			struct stat st;
			if (fstatat(dirfd(d), e->d_name, &st, 0) < 0 || !S_ISREG(st.st_mode))
				continue;
			u->bytes += st.st_size;
		}
		u->count++;
	}
	closedir(d);
}

static void scan_maildir(const char *dir, struct md_usage *u)
{
	struct buf p = BUF_INIT;
	buf_printf(&p, "%s/new", dir);
	scan_dir(buf_cstr(&p), u);
	buf_reset(&p);
	buf_printf(&p, "%s/cur", dir);
	scan_dir(buf_cstr(&p), u);
	buf_free(&p);
}

int md_quota_recalc(const char *root, const char *spec, struct md_usage *u)
{
	u->bytes = u->count = 0;
	scan_maildir(root, u);
	DIR *d = opendir(root);
	if (d) {
		for (struct dirent *e; (e = readdir(d));) {
			/* Folders are ".Name"; Courier leaves Trash out of the count. */
			if (e->d_name[0] != '.' || !strcmp(e->d_name, ".") || !strcmp(e->d_name, "..") ||
			    !strcmp(e->d_name, ".Trash"))
				continue;
			struct buf p = BUF_INIT;
			buf_printf(&p, "%s/%s", root, e->d_name);
			scan_maildir(buf_cstr(&p), u);
			buf_free(&p);
		}
		closedir(d);
	}
	struct buf text = BUF_INIT, path = BUF_INIT;
	buf_printf(&text, "%s\n%12" PRId64 " %12" PRId64 "\n", spec, u->bytes, u->count);
	buf_printf(&path, "%s/maildirsize", root);
	int rc = file_replace(buf_cstr(&path), text.data, text.len, 0600);
	buf_free(&text);
	buf_free(&path);
	return rc;
}

static int over(const struct maildir_quota *q, const struct md_usage *u, uint64_t size)
{
	if (q->has_bytes && (uint64_t)(u->bytes < 0 ? 0 : u->bytes) + size > q->bytes)
		return 1;
	if (q->has_count && (uint64_t)(u->count < 0 ? 0 : u->count) + 1 > q->count)
		return 1;
	return 0;
}

int md_quota_check(const char *dir, const char *spec, uint64_t size, struct buf *err)
{
	struct buf root = BUF_INIT, have = BUF_INIT;
	struct md_usage u;
	struct maildir_quota q;
	size_t fsz = 0;
	int rc = 0;
	quota_root(dir, &root);
	const char *r = buf_cstr(&root);
	if (md_quota_read(r, &have, &u, &fsz) < 0) {
		if (!*spec)
			goto out;
		buf_set_str(&have, spec);
		md_quota_recalc(r, spec, &u);
	}
	if (maildir_quota_parse(buf_cstr(&have), &q, NULL) < 0)
		goto out; /* no usable quota: deliver */
	/* Over quota by the file's count: count again before refusing, as
	 * Courier does, since deletions are not always recorded. */
	if (fsz > MD_QUOTA_FILE_MAX || over(&q, &u, size))
		md_quota_recalc(r, buf_cstr(&have), &u);
	if (over(&q, &u, size)) {
		buf_error(err, "mail quota exceeded");
		rc = -1;
	}
out:
	buf_free(&root);
	buf_free(&have);
	if (rc < 0)
		errno = EDQUOT;
	return rc;
}

void md_quota_add(const char *dir, const char *spec, int64_t bytes, int64_t count)
{
	struct buf root = BUF_INIT, p = BUF_INIT, line = BUF_INIT;
	quota_root(dir, &root);
	buf_printf(&p, "%s/maildirsize", buf_cstr(&root));
	int fd = open(buf_cstr(&p), O_WRONLY | O_APPEND | O_NOFOLLOW | O_CLOEXEC);
	if (fd >= 0) {
		buf_printf(&line, "%12" PRId64 " %12" PRId64 "\n", bytes, count);
		if (file_write_all(fd, line.data, line.len) < 0) {
			/* the next recalculation corrects it */
		}
		close(fd);
	}
	(void)spec;
	buf_free(&root);
	buf_free(&p);
	buf_free(&line);
}
