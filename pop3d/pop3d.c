/* pop3d: the POP3 mail stage, TRANSACTION and UPDATE states (pop3d(8)).
 *
 * Runs as the account (auth-exec(8) execs it after pop3-login authenticated
 * the client), with the client on fds 0/1 and the account in the environment
 * (MAILDIR). It first answers the PASS/AUTH that logged in: +OK once the
 * maildrop is locked, -ERR [IN-USE] when another session holds it. Run by hand
 * with MAILDIR set it is a pre-authenticated POP3 session on stdin/stdout.
 * RFC 1939, RFC 2449 (CAPA, response codes), RFC 6856 (UTF8).
 * Trusts: its environment (from auth-exec); nothing the client sends. */
#include "io.h"
#include "log.h"
#include "config.h"
#include "maildrop.h"
#include "pop3.h"
#include "priv.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#define IDLE_TIMEOUT_MS (10 * 60 * 1000) /* RFC 1939: at least 10 minutes */

struct session {
	struct io *io;
	struct maildrop md;
	struct buf out; /* one reply, written at once */
	int quit;
	int bad; /* the last command was answered -ERR */
};

static void reply(struct session *s, const char *text)
{
	if (text[0] == '-')
		s->bad = 1;
	buf_append_str(&s->out, text);
	buf_append_str(&s->out, "\r\n");
}

/* Message number arg (1-based) -> index; -1 with a reply if bad or deleted. */
static long long msgno(struct session *s, uint64_t n)
{
	if (n == 0 || n > s->md.n) {
		reply(s, "-ERR no such message");
		return -1;
	}
	if (s->md.m[n - 1].deleted) {
		reply(s, "-ERR message is deleted");
		return -1;
	}
	return (long long)(n - 1);
}

static int one_arg(struct session *s, const struct pop3_cmd *c, uint64_t *n)
{
	if (pop3_number(c->arg, c->arglen, n) < 0) {
		reply(s, "-ERR syntax: a message number");
		return -1;
	}
	return 0;
}

static void cmd_stat(struct session *s, const struct pop3_cmd *c)
{
	uint64_t count = 0, total = 0, size;
	for (size_t i = 0; i < s->md.n; i++) {
		if (s->md.m[i].deleted || maildrop_size(&s->md, i, &size) < 0)
			continue;
		count++;
		total += size;
	}
	buf_printf(&s->out, "+OK %llu %llu\r\n", (unsigned long long)count,
		   (unsigned long long)total);
}

/* LIST and UIDL: one message, or all that are not deleted. */
static void list_one(struct session *s, size_t i, int uidl, int multi)
{
	uint64_t size = 0;
	if (multi && s->md.m[i].deleted)
		return;
	buf_append_str(&s->out, multi ? "" : "+OK ");
	if (uidl) {
		struct buf u = BUF_INIT;
		maildrop_uidl(&s->md, i, &u);
		buf_printf(&s->out, "%zu %s\r\n", i + 1, buf_cstr(&u));
		buf_free(&u);
	} else {
		maildrop_size(&s->md, i, &size);
		buf_printf(&s->out, "%zu %llu\r\n", i + 1, (unsigned long long)size);
	}
}

static void cmd_list_uidl(struct session *s, const struct pop3_cmd *c, int uidl)
{
	uint64_t n;
	if (c->arglen) {
		long long i;
		if (one_arg(s, c, &n) == 0 && (i = msgno(s, n)) >= 0)
			list_one(s, (size_t)i, uidl, 0);
		return;
	}
	reply(s, uidl ? "+OK unique-id listing follows" : "+OK scan listing follows");
	for (size_t i = 0; i < s->md.n; i++)
		list_one(s, i, uidl, 1);
	reply(s, ".");
}

/* RETR (limited 0) and TOP (limited 1, lines). */
static void send_message(struct session *s, size_t i, int limited, uint64_t lines)
{
	uint64_t size;
	int fd = maildrop_open_msg(&s->md, i);
	if (fd < 0 || maildrop_size(&s->md, i, &size) < 0) {
		reply(s, "-ERR [SYS/TEMP] message is gone; another session removed it");
		if (fd >= 0)
			close(fd);
		return;
	}
	if (limited) /* the size of the whole message would mislead */
		buf_append_str(&s->out, "+OK top of message follows\r\n");
	else
		buf_printf(&s->out, "+OK %llu octets\r\n", (unsigned long long)size);
	struct pop3_stuff st;
	pop3_stuff_init(&st, limited, lines);
	char b[65536];
	ssize_t r;
	while (!st.done && (r = read(fd, b, sizeof b)) > 0) {
		pop3_stuff_feed(&st, b, (size_t)r, &s->out);
		if (s->out.len >= 256 * 1024) { /* big messages leave in large pieces */
			io_write(s->io, s->out.data, s->out.len);
			buf_reset(&s->out);
		}
	}
	pop3_stuff_end(&st, &s->out);
	close(fd);
	if (!limited)
		s->md.m[i].retrieved = 1;
}

static void cmd_retr(struct session *s, const struct pop3_cmd *c)
{
	uint64_t n;
	long long i;
	if (one_arg(s, c, &n) == 0 && (i = msgno(s, n)) >= 0)
		send_message(s, (size_t)i, 0, 0);
}

static void cmd_top(struct session *s, const struct pop3_cmd *c)
{
	uint64_t n, lines;
	long long i;
	if (pop3_numbers(c->arg, c->arglen, &n, &lines) != 2) {
		reply(s, "-ERR syntax: TOP msg n");
		return;
	}
	if ((i = msgno(s, n)) >= 0)
		send_message(s, (size_t)i, 1, lines);
}

static void cmd_dele(struct session *s, const struct pop3_cmd *c)
{
	uint64_t n;
	long long i;
	if (one_arg(s, c, &n) == 0 && (i = msgno(s, n)) >= 0) {
		s->md.m[i].deleted = 1;
		reply(s, "+OK message deleted");
	}
}

static void cmd_rset(struct session *s, const struct pop3_cmd *c)
{
	for (size_t i = 0; i < s->md.n; i++)
		s->md.m[i].deleted = 0;
	buf_printf(&s->out, "+OK maildrop has %zu messages\r\n", s->md.n);
}

static void cmd_quit(struct session *s, const struct pop3_cmd *c)
{
	struct buf err = BUF_INIT;
	if (maildrop_update(&s->md, &err) < 0) {
		log_error("update: %s", buf_cstr(&err));
		reply(s, "-ERR [SYS/TEMP] some deleted messages not removed");
	} else {
		reply(s, "+OK bye");
	}
	buf_free(&err);
	s->quit = 1;
}

static void cmd_list(struct session *s, const struct pop3_cmd *c) { cmd_list_uidl(s, c, 0); }
static void cmd_uidl(struct session *s, const struct pop3_cmd *c) { cmd_list_uidl(s, c, 1); }
static void cmd_noop(struct session *s, const struct pop3_cmd *c) { reply(s, "+OK"); }
static void cmd_capa(struct session *s, const struct pop3_cmd *c) { pop3_capa(&s->out, 0, NULL); }
static void cmd_utf8(struct session *s, const struct pop3_cmd *c)
{
	reply(s, "-ERR UTF8 is only valid before login; messages are sent as they are");
}

static const struct {
	const char *verb;
	void (*fn)(struct session *, const struct pop3_cmd *);
	int args; /* 0 none, 1 optional, 2 required */
} commands[] = {
	{ "STAT", cmd_stat, 0 }, { "LIST", cmd_list, 1 },
	{ "RETR", cmd_retr, 2 }, { "DELE", cmd_dele, 2 }, { "NOOP", cmd_noop, 0 },
	{ "RSET", cmd_rset, 0 }, { "QUIT", cmd_quit, 0 }, { "TOP", cmd_top, 2 },
	{ "UIDL", cmd_uidl, 1 },
	{ "CAPA", cmd_capa, 0 }, { "UTF8", cmd_utf8, 0 },
};

/* One command line; returns 1 when it was a bad command. */
static int dispatch(struct session *s, const struct buf *line)
{
	struct pop3_cmd c;
	if (pop3_parse(line->data ? line->data : "", line->len, &c) < 0) {
		reply(s, "-ERR unknown command");
		return 1;
	}
	for (size_t k = 0; k < sizeof commands / sizeof commands[0]; k++) {
		if (!pop3_is(&c, commands[k].verb))
			continue;
		if ((commands[k].args == 0 && c.arglen) || (commands[k].args == 2 && !c.arglen)) {
			reply(s, "-ERR wrong number of arguments");
			return 1;
		}
		s->bad = 0;
		commands[k].fn(s, &c);
		return s->bad;
	}
	if (pop3_is(&c, "USER") || pop3_is(&c, "PASS") || pop3_is(&c, "AUTH") ||
	    pop3_is(&c, "STLS") || pop3_is(&c, "APOP"))
		reply(s, "-ERR already logged in");
	else
		reply(s, "-ERR unknown command");
	return 1;
}

static int serve(struct session *s)
{
	struct buf line = BUF_INIT;
	unsigned errors = 0;
	while (!s->quit) {
		enum io_status st = io_read_line(s->io, &line);
		if (st == IO_TOOLONG) {
			reply(s, "-ERR line too long");
			errors++;
		} else if (st != IO_OK) {
			if (st == IO_TIMEOUT)
				reply(s, "-ERR autologout: idle for too long");
			break;
		} else {
			errors += (unsigned)dispatch(s, &line);
		}
		if (errors >= POP3_MAX_ERRORS) {
			reply(s, "-ERR too many bad commands");
			s->quit = 1;
		}
		io_write(s->io, s->out.data, s->out.len);
		buf_reset(&s->out);
		/* pipelined commands waiting: answer them first, then write once */
		if ((s->quit || io_has_buffered_input(s->io) == 0 ||
		     io_pending_output(s->io) >= 64 * 1024) && io_flush(s->io) != IO_OK)
			break;
	}
	if (s->out.len) {
		io_write(s->io, s->out.data, s->out.len);
		io_flush(s->io);
	}
	buf_free(&line);
	return s->quit ? 0 : 1;
}

/* pop3d.conf "uidl": "imap" (the default: imapd's UIDVALIDITY.UID) or
 * "maildir" (the file name's unique part, as Courier's pop3d, for migrated
 * maildrops). An unreadable file means the default: the login stage has
 * already checked it. */
static int uidl_imap(void)
{
	struct config_env env = CONFIG_ENV_INIT;
	struct buf err = BUF_INIT;
	const char *v = "imap";
	int imap = 1;
	if (config_read_env("pop3d.conf", &env, &err) >= 0) {
		config_env_string(&env, "uidl", "imap", &v);
		imap = strcmp(v, "maildir") != 0;
	}
	config_env_free(&env);
	buf_free(&err);
	return imap;
}

int main(int argc, char **argv)
{
	log_init("pop3d");
	priv_refuse_root("pop3d");
	signal(SIGPIPE, SIG_IGN);
	const char *maildir = getenv("MAILDIR");
	const char *user = getenv("AUTHENTICATED");
	struct session s;
	struct buf err = BUF_INIT;
	memset(&s, 0, sizeof s);
	s.md.dirfd = s.md.lockfd = -1;
	if (argc != 1 || maildir == NULL || maildir[0] != '/') {
		fputs("usage: MAILDIR=/path/to/Maildir pop3d\n", stderr);
		return EX_USAGE;
	}
	s.io = io_new(0, 1);
	if (s.io == NULL)
		log_fatal(EX_TEMPFAIL, "stdin/stdout: %m");
	io_set_nodelay(1);
	io_set_timeout(s.io, IDLE_TIMEOUT_MS);
	io_set_max_line(s.io, POP3_MAX_LINE);
	int rc = maildrop_open(&s.md, maildir, &err);
	if (rc == MAILDROP_OK && uidl_imap() && maildrop_use_imap_uids(&s.md, maildir, &err) < 0)
		rc = MAILDROP_ERROR;
	if (rc == MAILDROP_INUSE) {
		log_info("user=%s maildrop in use", user ? user : "-");
		io_write_str(s.io, "-ERR [IN-USE] maildrop is locked by another POP3 session\r\n");
	} else if (rc < 0) {
		log_error("user=%s %s", user ? user : "-", buf_cstr(&err));
		io_write_str(s.io, "-ERR [SYS/TEMP] cannot open the maildrop\r\n");
	} else {
		log_info("login user=%s messages=%zu", user ? user : "-", s.md.n);
		io_printf(s.io, "+OK maildrop has %zu messages\r\n", s.md.n);
		if (io_flush(s.io) == IO_OK)
			rc = serve(&s);
	}
	io_flush(s.io);
	io_free(s.io);
	maildrop_close(&s.md);
	buf_free(&s.out);
	buf_free(&err);
	return rc < 0 ? EX_TEMPFAIL : 0;
}
