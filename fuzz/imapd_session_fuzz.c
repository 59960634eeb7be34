/* imapd_session_fuzz: imapd's argument parsers and commands on a selected
 * mailbox: SEARCH (criteria, charsets, ESEARCH RETURN), FETCH (attributes,
 * sections, partials, CHANGEDSINCE), STORE (flag lists, UNCHANGEDSINCE),
 * SORT, THREAD, STATUS, LIST, ENABLE, ID, APPEND (MULTIAPPEND, literals),
 * COPY, MOVE, EXPUNGE, CREATE, DELETE, RENAME, SUBSCRIBE, quotas, with and
 * without UID. A private Maildir with three messages is made afresh for each
 * input and selected; the input is the client's commands after that (read
 * with command_read, literals included). IDLE, which waits for the client,
 * is not dispatched.
 * Invariants: no crash, leak or sanitizer report; every response ends with
 * CRLF; each command ends with a tagged response carrying its tag. */
#define _GNU_SOURCE
#include "fuzz.h"
#include "../imapd/imapd.h"
#include "io.h"

#include <dirent.h>
#include <fcntl.h>
#include <strings.h>
#include <sys/mman.h>
#include <sys/stat.h>

static char root[160];

static const char *const messages[] = {
	"Date: Sat, 21 Nov 2026 10:00:00 +0000\nFrom: Al <a@example.org>\nTo: b@example.net\n"
	"Subject: hello world\nMessage-ID: <1@x>\n\nfirst body\n",
	"Date: Sun, 22 Nov 2026 10:00:00 +0100\nFrom: =?utf-8?Q?J=C3=B6rg?= <j@x>\n"
	"Subject: Re: hello world\nIn-Reply-To: <1@x>\nReferences: <1@x>\nMessage-ID: <2@x>\n"
	"Content-Type: multipart/mixed; boundary=b\n\n--b\nContent-Type: text/plain; charset=iso-8859-1\n"
	"Content-Transfer-Encoding: quoted-printable\n\ncaf=E9\n--b\nContent-Type: application/octet-stream\n"
	"Content-Transfer-Encoding: base64\n\naGVsbG8=\n--b--\n",
	"From: c@example.com\nSubject: =?iso-8859-1?B?Y2Fm6Q==?=\n\nthird \xe9 body\n.\n",
};

static void rm_tree(const char *path)
{
	DIR *d = opendir(path);
	if (d == NULL) {
		unlink(path);
		return;
	}
	struct dirent *e;
	while ((e = readdir(d)) != NULL) {
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		char p[512];
		snprintf(p, sizeof p, "%s/%s", path, e->d_name);
		rm_tree(p);
	}
	closedir(d);
	rmdir(path);
}

static void make_maildir(void)
{
	if (root[0] == '\0')
		snprintf(root, sizeof root, "%s", fuzz_tmpfile(0, "Maildir"));
	rm_tree(root);
	FUZZ_CHECK(mkdir(root, 0700) == 0);
	const char *subs[] = { "cur", "new", "tmp" };
	for (int i = 0; i < 3; i++) {
		char p[256];
		snprintf(p, sizeof p, "%s/%s", root, subs[i]);
		FUZZ_CHECK(mkdir(p, 0700) == 0);
	}
	for (size_t i = 0; i < sizeof messages / sizeof messages[0]; i++) {
		char p[256];
		snprintf(p, sizeof p, "%s/cur/17000000%02zu.M%zuP1.host,S=%zu:2,%s", root, i, i,
			 strlen(messages[i]), i == 1 ? "FS" : "");
		fuzz_write_file(p, messages[i], strlen(messages[i]));
	}
}

struct command {
	const char *name;
	cmd_fn fn;
	int selected; /* needs a selected mailbox */
};

static const struct command commands[] = {
	{ "SEARCH", cmd_search, 1 }, { "FETCH", cmd_fetch, 1 }, { "STORE", cmd_store, 1 },
	{ "SORT", cmd_sort, 1 }, { "THREAD", cmd_thread, 1 }, { "COPY", cmd_copy, 1 },
	{ "MOVE", cmd_move, 1 }, { "EXPUNGE", cmd_expunge, 1 }, { "CLOSE", cmd_close, 1 },
	{ "UNSELECT", cmd_unselect, 1 }, { "STATUS", cmd_status, 0 }, { "LIST", cmd_list, 0 },
	{ "LSUB", cmd_lsub, 0 }, { "ENABLE", cmd_enable, 0 }, { "ID", cmd_id, 0 },
	{ "NOOP", cmd_noop, 0 }, { "CHECK", cmd_check, 0 }, { "NAMESPACE", cmd_namespace, 0 },
	{ "CAPABILITY", cmd_capability, 0 }, { "EXAMINE", cmd_examine, 0 },
	{ "SELECT", cmd_select, 0 }, { "APPEND", cmd_append, 0 }, { "CREATE", cmd_create, 0 },
	{ "DELETE", cmd_delete, 0 }, { "RENAME", cmd_rename, 0 },
	{ "SUBSCRIBE", cmd_subscribe, 0 }, { "UNSUBSCRIBE", cmd_unsubscribe, 0 },
	{ "GETQUOTA", cmd_getquota, 0 }, { "GETQUOTAROOT", cmd_getquotaroot, 0 },
	{ "SETQUOTA", cmd_setquota, 0 },
};

static void run_command(struct session *s, const struct buf *cmd)
{
	struct parser ps = { cmd->data, cmd->data + cmd->len, 0, NULL, NULL };
	ps.saved = s->sel ? &s->sel->saved : NULL;
	struct buf tag = BUF_INIT, name = BUF_INIT;
	s->tag = "*";
	s->uid = 0;
	if (p_atom(&ps, &tag) < 0 || !command_tag_valid(&tag) || p_sp(&ps) < 0 ||
	    p_atom(&ps, &name) < 0)
		goto done;
	s->tag = buf_cstr(&tag);
	if (strcasecmp(buf_cstr(&name), "UID") == 0) {
		s->uid = 1;
		if (p_sp(&ps) < 0 || p_atom(&ps, &name) < 0)
			goto done;
	}
	for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++) {
		if (strcasecmp(buf_cstr(&name), commands[i].name) != 0)
			continue;
		if (s->sel == NULL && commands[i].selected)
			break;
		s->expunge_ok = s->uid;
		commands[i].fn(s, &ps);
		break;
	}
done:
	s->tag = "*";
	buf_free(&tag);
	buf_free(&name);
}

static void check_output(int fd)
{
	off_t end = lseek(fd, 0, SEEK_END);
	FUZZ_CHECK(end >= 0);
	if (end == 0)
		return;
	char tail[2];
	FUZZ_CHECK(pread(fd, tail, 2, end - 2) == 2);
	FUZZ_CHECK(tail[0] == '\r' && tail[1] == '\n');
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	make_maildir();
	int rfd = memfd_create("imap-in", 0), wfd = memfd_create("imap-out", 0);
	FUZZ_CHECK(rfd >= 0 && wfd >= 0);
	static const char select_cmd[] = "s0 SELECT INBOX\r\n";
	FUZZ_CHECK(write(rfd, select_cmd, sizeof select_cmd - 1) == sizeof select_cmd - 1);
	FUZZ_CHECK(size == 0 || write(rfd, data, size) == (ssize_t)size);
	FUZZ_CHECK(lseek(rfd, 0, SEEK_SET) == 0);
	struct session s;
	memset(&s, 0, sizeof s);
	s.maildir = root;
	s.io = io_new(rfd, wfd);
	io_set_max_line(s.io, IMAPD_MAX_LINE);
	s.tag = "*";
	struct buf cmd = BUF_INIT;
	for (int k = 0; k < 40 && !s.logout; k++) {
		enum read_result r = command_read(s.io, &cmd, 1 << 16, 1 << 16);
		if (r == READ_END)
			break;
		if (r == READ_OK)
			run_command(&s, &cmd);
		FUZZ_CHECK(io_flush(s.io) == IO_OK);
	}
	buf_free(&cmd);
	mailbox_close(s.sel);
	io_free(s.io);
	check_output(wfd);
	close(rfd);
	close(wfd);
	return 0;
}
