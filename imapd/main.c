/* imapd: the IMAP4rev1 mail stage (RFC 3501) over Maildir++.
 *
 * Runs as the account, started with the environment of the login stage (or
 * directly, preauthenticated): MAILDIR names the maildir (default ./Maildir
 * under HOME). Speaks IMAP on stdin/stdout and greets with PREAUTH.
 * Trusts its environment; trusts nothing from the client: each command is
 * read whole with its literals under the limits of imapd.h, then parsed. */
#include "imapd.h"

#include "alloc.h"
#include "io.h"
#include "log.h"
#include "userslots.h"

#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sysexits.h>
#include <unistd.h>

struct command {
	const char *name;
	cmd_fn fn;
	int selected;      /* needs a selected mailbox */
	int expunge_ok;    /* EXPUNGE responses may follow it */
};

static const struct command commands[] = {
	{ "CAPABILITY", cmd_capability, 0, 1 }, { "NOOP", cmd_noop, 0, 1 },
	{ "LOGOUT", cmd_logout, 0, 1 },         { "ID", cmd_id, 0, 1 },
	{ "ENABLE", cmd_enable, 0, 1 },         { "NAMESPACE", cmd_namespace, 0, 1 },
	{ "SELECT", cmd_select, 0, 1 },         { "EXAMINE", cmd_examine, 0, 1 },
	{ "CREATE", cmd_create, 0, 1 },         { "DELETE", cmd_delete, 0, 1 },
	{ "RENAME", cmd_rename, 0, 1 },         { "SUBSCRIBE", cmd_subscribe, 0, 1 },
	{ "UNSUBSCRIBE", cmd_unsubscribe, 0, 1 }, { "LIST", cmd_list, 0, 1 },
	{ "LSUB", cmd_lsub, 0, 1 },             { "STATUS", cmd_status, 0, 1 },
	{ "APPEND", cmd_append, 0, 1 },         { "CHECK", cmd_check, 1, 1 },
	{ "CLOSE", cmd_close, 1, 1 },           { "UNSELECT", cmd_unselect, 1, 1 },
	{ "EXPUNGE", cmd_expunge, 1, 1 },       { "SEARCH", cmd_search, 1, 0 },
	{ "FETCH", cmd_fetch, 1, 0 },           { "STORE", cmd_store, 1, 0 },
	{ "COPY", cmd_copy, 1, 1 },             { "MOVE", cmd_move, 1, 1 },
	{ "IDLE", cmd_idle, 0, 1 },             { "SORT", cmd_sort, 1, 0 },
	{ "THREAD", cmd_thread, 1, 0 },         { "GETQUOTA", cmd_getquota, 0, 1 },
	{ "GETQUOTAROOT", cmd_getquotaroot, 0, 1 }, { "SETQUOTA", cmd_setquota, 0, 1 },
};

static const struct command *find_command(const char *name, int uid)
{
	static const char *const uid_ok[] = { "FETCH", "STORE", "SEARCH", "COPY", "MOVE",
					      "EXPUNGE", "SORT", "THREAD" };
	if (uid) {
		size_t i;
		for (i = 0; i < sizeof uid_ok / sizeof uid_ok[0]; i++)
			if (strcasecmp(name, uid_ok[i]) == 0)
				break;
		if (i == sizeof uid_ok / sizeof uid_ok[0])
			return NULL;
	}
	for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
		if (strcasecmp(name, commands[i].name) == 0)
			return &commands[i];
	return NULL;
}

static void run_command(struct session *s, const struct buf *cmd)
{
	struct parser ps = { cmd->data, cmd->data + cmd->len, 0, NULL, NULL };
	ps.saved = s->sel ? &s->sel->saved : NULL;
	struct buf tag = BUF_INIT, name = BUF_INIT;
	s->tag = "*";
	s->uid = 0;
	if (p_atom(&ps, &tag) < 0 || !command_tag_valid(&tag)) {
		out_str(s, "* BAD Invalid tag\r\n");
		goto done;
	}
	s->tag = buf_cstr(&tag);
	if (p_sp(&ps) < 0 || p_atom(&ps, &name) < 0) {
		out_tagged(s, "BAD", "Missing command");
		goto done;
	}
	if (strcasecmp(buf_cstr(&name), "UID") == 0) {
		s->uid = 1;
		if (p_sp(&ps) < 0 || p_atom(&ps, &name) < 0) {
			out_tagged(s, "BAD", "Missing command after UID");
			goto done;
		}
	}
	const struct command *c = find_command(buf_cstr(&name), s->uid);
	if (c == NULL) {
		out_tagged(s, "BAD", "Unknown command");
	} else if (c->selected && s->sel == NULL) {
		out_tagged(s, "BAD", "No mailbox selected");
	} else {
		s->expunge_ok = s->uid || c->expunge_ok;
		c->fn(s, &ps);
	}
done:
	s->tag = "*";
	buf_free(&tag);
	buf_free(&name);
}

static void session_loop(struct session *s)
{
	struct buf cmd = BUF_INIT;
	while (!s->logout) {
		if (io_flush(s->io) != IO_OK)
			break;
		enum read_result r = command_read(s->io, &cmd, IMAPD_MAX_LITERAL, IMAPD_MAX_APPEND);
		if (r == READ_END)
			break;
		if (r == READ_OK)
			run_command(s, &cmd);
		if (io_flush(s->io) != IO_OK)
			break;
	}
	io_flush(s->io);
	buf_free(&cmd);
}

/* After imap-login, the LOGIN or AUTHENTICATE command's tagged OK is ours
 * (auth-exec(8)): ESTAFETTE_LOGIN_STATE carries "imap-tag=TAG". Without it
 * the session is preauthenticated. */
static void login_state(const char *name, struct buf *out)
{
	const char *state = getenv("ESTAFETTE_LOGIN_STATE");
	size_t nl = strlen(name);
	buf_reset(out);
	for (const char *w = state; w && *w; w += strcspn(w, " "), w += *w == ' ')
		if (strncmp(w, name, nl) == 0 && w[nl] == '=') {
			buf_set(out, w + nl + 1, strcspn(w + nl + 1, " "));
			return;
		}
}

/* imap-login's max_user_sessions (imapd(8)): a slot held for the session's
 * life (its descriptor stays open until the process ends), or the LOGIN
 * answered NO [LIMIT] and the session ended. */
static void take_session_slot(struct session *s, struct buf *tag)
{
	struct buf v = BUF_INIT, err = BUF_INIT;
	login_state("max-sessions", &v);
	unsigned long max = v.len ? strtoul(buf_cstr(&v), NULL, 10) : 0;
	int fd = max ? userslots_take(s->maildir, "imap", (unsigned)max, &err) : -1;
	if (fd == USERSLOTS_FULL) {
		log_info("session refused user=%s: %lu sessions already",
			 getenv("USER") ? getenv("USER") : "-", max);
		if (tag->len)
			out_fmt(s, "%s NO [LIMIT] Too many IMAP sessions of this user\r\n", buf_cstr(tag));
		else
			out_str(s, "* BYE [LIMIT] Too many IMAP sessions of this user\r\n");
		io_flush(s->io);
		exit(0);
	}
	if (max && fd < 0) /* a broken disk must not lock the user out */
		log_warn("session bound not applied: %s", buf_cstr(&err));
	buf_free(&v);
	buf_free(&err);
}

static void greet(struct session *s)
{
	struct buf tag = BUF_INIT;
	login_state("imap-tag", &tag);
	if (tag.len > 0 && !command_tag_valid(&tag))
		buf_reset(&tag);
	take_session_slot(s, &tag);
	if (tag.len > 0) {
		out_fmt(s, "%s OK [CAPABILITY ", buf_cstr(&tag));
		cmd_capability_list(s);
		out_str(s, "] Logged in\r\n");
	} else {
		out_str(s, "* PREAUTH [CAPABILITY ");
		cmd_capability_list(s);
		out_str(s, "] estafette IMAP ready\r\n");
	}
	buf_free(&tag);
}

static const char *maildir_path(void)
{
	const char *m = getenv("MAILDIR");
	if (m != NULL && *m != '\0')
		return m;
	const char *home = getenv("HOME");
	static struct buf p = BUF_INIT;
	buf_printf(&p, "%s/Maildir", home ? home : ".");
	return buf_cstr(&p);
}

int main(int argc, char **argv)
{
	struct session s;
	(void)argc;
	(void)argv;
	log_init("imapd");
	signal(SIGPIPE, SIG_IGN);
	memset(&s, 0, sizeof s);
	s.maildir = maildir_path();
	if (access(s.maildir, X_OK) < 0)
		log_fatal(EX_TEMPFAIL, "maildir %s not accessible", s.maildir);
	s.io = io_new(0, 1);
	if (s.io == NULL)
		log_fatal(EX_OSERR, "cannot set up stdin/stdout");
	io_set_nodelay(1);
	io_set_max_line(s.io, IMAPD_MAX_LINE);
	io_set_timeout(s.io, 30 * 60 * 1000);
	s.tag = "*";
	greet(&s);
	session_loop(&s);
	uint64_t in = 0, out = 0;
	io_counts(s.io, &in, &out);
	log_info("session end user=%s in=%llu out=%llu", getenv("USER") ? getenv("USER") : "-",
		 (unsigned long long)in, (unsigned long long)out);
	mailbox_close(s.sel);
	io_free(s.io);
	return 0;
}
