/* cmd_folder: CREATE, DELETE, RENAME, SUBSCRIBE, UNSUBSCRIBE, LIST, LSUB,
 * STATUS over Maildir++ folders (folder.c checks every name). */
#include "imapd.h"

#include "alloc.h"
#include "file.h"
#include "maildir.h"
#include "mdfolder.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#define SUBSCRIBED "courierimapsubscribed"
#define SUBSCRIBED_MAX (1024 * 1024)
#define FOLDERS_MAX 100000

/* One mailbox-name argument and its folder path; a tagged reply on failure. */
static int arg_folder(struct session *s, struct parser *ps, struct buf *name, struct buf *path)
{
	const char *err = NULL;
	if (p_sp(ps) < 0 || p_mailbox(s, ps, name) < 0) {
		out_bad(s, ps);
		return -1;
	}
	if (buf_has_nul(name) || folder_path(s, buf_cstr(name), path, &err) < 0) {
		out_tagged(s, "NO", "[CANNOT] Invalid mailbox name: %s", err ? err : "NUL");
		return -1;
	}
	return 0;
}

void cmd_create(struct session *s, struct parser *ps)
{
	struct buf name = BUF_INIT, path = BUF_INIT;
	int ok = p_sp(ps) == 0 && p_mailbox(s, ps, &name) == 0;
	if (ok && name.len > 1 && name.data[name.len - 1] == '.')
		buf_truncate(&name, name.len - 1); /* "a." only declares a hierarchy */
	const char *err = NULL;
	if (!ok || name.len == 0 || p_eol(ps) < 0) {
		out_bad(s, ps);
	} else if (buf_has_nul(&name) || folder_path(s, buf_cstr(&name), &path, &err) < 0) {
		out_tagged(s, "NO", "[CANNOT] Invalid mailbox name: %s", err ? err : "NUL");
	} else if (strcmp(buf_cstr(&path), s->maildir) == 0 || folder_exists(buf_cstr(&path))) {
		out_tagged(s, "NO", "[ALREADYEXISTS] Mailbox exists");
	} else if (mdfolder_create(s->maildir, strrchr(buf_cstr(&path), '/') + 1, 0700) < 0) {
		out_tagged(s, "NO", "[CANNOT] Cannot create mailbox");
	} else {
		out_done(s, "OK", "CREATE completed");
	}
	buf_free(&name);
	buf_free(&path);
}

static void remove_dir_files(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	struct buf p = BUF_INIT;
	while (d != NULL && (de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		buf_reset(&p);
		buf_printf(&p, "%s/%s", dir, de->d_name);
		if (unlink(buf_cstr(&p)) < 0 && (errno == EISDIR || errno == EPERM) &&
		    de->d_type == DT_DIR) {
			remove_dir_files(buf_cstr(&p));
			rmdir(buf_cstr(&p));
		}
	}
	if (d != NULL)
		closedir(d);
	buf_free(&p);
}

void cmd_delete(struct session *s, struct parser *ps)
{
	struct buf name = BUF_INIT, path = BUF_INIT, trash = BUF_INIT;
	if (arg_folder(s, ps, &name, &path) < 0)
		goto done;
	if (p_eol(ps) < 0) {
		out_bad(s, ps);
	} else if (strcmp(buf_cstr(&path), s->maildir) == 0) {
		out_tagged(s, "NO", "[CANNOT] INBOX cannot be deleted");
	} else if (!folder_exists(buf_cstr(&path))) {
		out_tagged(s, "NO", "[NONEXISTENT] No such mailbox");
	} else {
		if (s->sel != NULL && strcmp(s->sel->path, buf_cstr(&path)) == 0) {
			mailbox_close(s->sel);
			s->sel = NULL;
		}
		/* Renamed first so that no reader sees it half removed; ".." names
		 * are never listed. */
		buf_printf(&trash, "%s/..deleted.", s->maildir);
		maildir_unique(&trash);
		if (rename(buf_cstr(&path), buf_cstr(&trash)) < 0) {
			out_tagged(s, "NO", "[CANNOT] Cannot delete mailbox");
			goto done;
		}
		remove_dir_files(buf_cstr(&trash));
		rmdir(buf_cstr(&trash));
		out_done(s, "OK", "DELETE completed");
	}
done:
	buf_free(&name);
	buf_free(&path);
	buf_free(&trash);
}

/* The folder directories of the maildir (".Name"), sorted. */
static char **folder_dirs(struct session *s, size_t *count)
{
	char **v = NULL;
	size_t n = 0;
	DIR *d = opendir(s->maildir);
	struct dirent *de;
	while (d != NULL && n < FOLDERS_MAX && (de = readdir(d)) != NULL) {
		if (de->d_name[0] != '.' ||
		    mdfolder_check_dir(de->d_name, strlen(de->d_name), NULL) < 0)
			continue;
		v = xreallocarray(v, n + 1, sizeof *v);
		v[n++] = xstrdup(de->d_name);
	}
	if (d != NULL)
		closedir(d);
	*count = n;
	return v;
}

static void free_dirs(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

/* RENAME INBOX (RFC 3501 6.3.5): a new folder gets INBOX's messages, and
 * INBOX stays, empty. -1 if the folder cannot be made. */
static int rename_inbox(struct session *s, const char *target)
{
	struct buf a = BUF_INIT, b = BUF_INIT;
	const char *dir = strrchr(target, '/') + 1;
	if (mdfolder_create(s->maildir, dir, 0700) < 0)
		return -1;
	const char *sub[] = { "cur", "new" };
	for (int i = 0; i < 2; i++) {
		buf_reset(&a);
		buf_printf(&a, "%s/%s", s->maildir, sub[i]);
		DIR *d = opendir(buf_cstr(&a));
		struct dirent *de;
		while (d != NULL && (de = readdir(d)) != NULL) {
			if (de->d_name[0] == '.')
				continue;
			buf_reset(&a);
			buf_reset(&b);
			buf_printf(&a, "%s/%s/%s", s->maildir, sub[i], de->d_name);
			buf_printf(&b, "%s/%s/%s", target, sub[i], de->d_name);
			(void)rename(buf_cstr(&a), buf_cstr(&b));
		}
		if (d != NULL)
			closedir(d);
	}
	buf_free(&a);
	buf_free(&b);
	return 0;
}

void cmd_rename(struct session *s, struct parser *ps)
{
	struct buf from = BUF_INIT, fpath = BUF_INIT, to = BUF_INIT, tpath = BUF_INIT;
	struct buf a = BUF_INIT, b = BUF_INIT;
	if (arg_folder(s, ps, &from, &fpath) < 0 || arg_folder(s, ps, &to, &tpath) < 0)
		goto done;
	if (p_eol(ps) < 0) {
		out_bad(s, ps);
	} else if (strcmp(buf_cstr(&tpath), s->maildir) == 0 || folder_exists(buf_cstr(&tpath))) {
		out_tagged(s, "NO", "[ALREADYEXISTS] Target exists");
	} else if (strcmp(buf_cstr(&fpath), s->maildir) == 0) {
		if (rename_inbox(s, buf_cstr(&tpath)) < 0)
			out_tagged(s, "NO", "[CANNOT] Cannot create the target");
		else
			out_done(s, "OK", "RENAME completed");
	} else if (!folder_exists(buf_cstr(&fpath))) {
		out_tagged(s, "NO", "[NONEXISTENT] No such mailbox");
	} else {
		const char *fd = strrchr(buf_cstr(&fpath), '/') + 1;
		const char *td = strrchr(buf_cstr(&tpath), '/') + 1;
		size_t fl = strlen(fd), n;
		char **dirs = folder_dirs(s, &n);
		for (size_t i = 0; i < n; i++) {
			if (strncmp(dirs[i], fd, fl) != 0 || (dirs[i][fl] != '\0' && dirs[i][fl] != '.'))
				continue;
			buf_reset(&a);
			buf_reset(&b);
			buf_printf(&a, "%s/%s", s->maildir, dirs[i]);
			buf_printf(&b, "%s/%s%s", s->maildir, td, dirs[i] + fl);
			(void)rename(buf_cstr(&a), buf_cstr(&b));
		}
		free_dirs(dirs, n);
		out_done(s, "OK", "RENAME completed");
	}
done:
	buf_free(&from);
	buf_free(&fpath);
	buf_free(&to);
	buf_free(&tpath);
	buf_free(&a);
	buf_free(&b);
}

static void subs_load(struct session *s, struct buf *text)
{
	struct buf p = BUF_INIT;
	buf_printf(&p, "%s/%s", s->maildir, SUBSCRIBED);
	if (file_read(buf_cstr(&p), text, SUBSCRIBED_MAX) < 0 || buf_has_nul(text))
		buf_reset(text);
	buf_free(&p);
}

/* Rewrite the subscriptions without name, and with it when add. */
static int subs_update(struct session *s, const char *name, int add)
{
	struct buf text = BUF_INIT, out = BUF_INIT, p = BUF_INIT;
	subs_load(s, &text);
	char *save = NULL;
	for (char *l = text.len ? strtok_r(text.data, "\n", &save) : NULL; l != NULL;
	     l = strtok_r(NULL, "\n", &save))
		if (strcmp(l, name) != 0)
			buf_printf(&out, "%s\n", l);
	if (add)
		buf_printf(&out, "%s\n", name);
	buf_printf(&p, "%s/%s", s->maildir, SUBSCRIBED);
	int rc = out.len > SUBSCRIBED_MAX ? -1 : file_replace(buf_cstr(&p), out.data ? out.data : "",
							      out.len, 0600);
	buf_free(&text);
	buf_free(&out);
	buf_free(&p);
	return rc;
}

static void subscribe(struct session *s, struct parser *ps, int add)
{
	struct buf name = BUF_INIT, path = BUF_INIT, canon = BUF_INIT;
	if (arg_folder(s, ps, &name, &path) == 0) {
		folder_canonical(buf_cstr(&name), &canon); /* the file keeps Courier's form */
		if (p_eol(ps) < 0)
			out_bad(s, ps);
		else if (subs_update(s, buf_cstr(&canon), add) < 0)
			out_tagged(s, "NO", "[SERVERBUG] Cannot write subscriptions");
		else
			out_done(s, "OK", "%s completed", add ? "SUBSCRIBE" : "UNSUBSCRIBE");
	}
	buf_free(&name);
	buf_free(&path);
	buf_free(&canon);
}

void cmd_subscribe(struct session *s, struct parser *ps)
{
	subscribe(s, ps, 1);
}

void cmd_unsubscribe(struct session *s, struct parser *ps)
{
	subscribe(s, ps, 0);
}
