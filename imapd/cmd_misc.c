/* cmd_misc: CAPABILITY, NOOP, CHECK, LOGOUT, ID, ENABLE, NAMESPACE, IDLE.
 * IDLE waits for "DONE" and rescans the mailbox whenever inotify reports a
 * change in new/ or cur/ (every second where inotify is not available). */
#include "imapd.h"

#include "io.h"

#include <malloc.h>
#include <poll.h>
#include <string.h>
#include <strings.h>
#include <sys/inotify.h>
#include <time.h>
#include <unistd.h>

#define IDLE_POLL_MS 1000        /* without inotify: rescan every second */
#define IDLE_CHECK_MS 60000      /* with inotify: rescan anyway once a minute */
#define IDLE_SETTLE_US 20000
#define IDLE_MAX_SECONDS (30 * 60)

void cmd_capability_list(struct session *s)
{
	out_str(s, "IMAP4rev1 IMAP4rev2 LITERAL+ IDLE UIDPLUS MOVE NAMESPACE ID ENABLE UNSELECT "
		   "CHILDREN SPECIAL-USE ESEARCH SEARCHRES LIST-EXTENDED LIST-STATUS "
		   "CONDSTORE QRESYNC STATUS=SIZE UTF8=ACCEPT QUOTA QUOTA=RES-STORAGE QUOTA=RES-MESSAGE APPENDLIMIT=67108864 MULTIAPPEND SORT SORT=DISPLAY ESORT THREAD=ORDEREDSUBJECT THREAD=REFERENCES");
}

void cmd_capability(struct session *s, struct parser *ps)
{
	if (p_eol(ps) < 0)
		return out_bad(s, ps);
	out_str(s, "* CAPABILITY ");
	cmd_capability_list(s);
	out_str(s, "\r\n");
	out_done(s, "OK", "CAPABILITY completed");
}

void cmd_noop(struct session *s, struct parser *ps)
{
	if (p_eol(ps) < 0)
		return out_bad(s, ps);
	out_done(s, "OK", "NOOP completed");
}

void cmd_check(struct session *s, struct parser *ps)
{
	if (p_eol(ps) < 0)
		return out_bad(s, ps);
	out_done(s, "OK", "CHECK completed");
}

void cmd_logout(struct session *s, struct parser *ps)
{
	if (p_eol(ps) < 0)
		return out_bad(s, ps);
	out_str(s, "* BYE estafette IMAP logging out\r\n");
	out_tagged(s, "OK", "LOGOUT completed");
	s->logout = 1;
}

/* ID ( "key" "value" ... ) or ID NIL: the client's list is checked and ignored. */
void cmd_id(struct session *s, struct parser *ps)
{
	struct buf b = BUF_INIT;
	int ok = p_sp(ps) == 0;
	if (ok && p_peek(ps, '(')) {
		ps->p++;
		for (int i = 0; ok && !p_peek(ps, ')') && i < 60; i++) {
			if (i > 0)
				ok = p_sp(ps) == 0;
			if (ok && (ps->end - ps->p >= 3 && strncasecmp(ps->p, "NIL", 3) == 0))
				ps->p += 3;
			else if (ok)
				ok = p_string(ps, &b) == 0;
		}
		ok = ok && p_char(ps, ')') == 0;
	} else if (ok) {
		ok = p_atom(ps, &b) == 0 && strcasecmp(buf_cstr(&b), "NIL") == 0;
	}
	buf_free(&b);
	if (!ok || p_eol(ps) < 0)
		return out_bad(s, ps);
	out_str(s, "* ID (\"name\" \"estafette\")\r\n");
	out_done(s, "OK", "ID completed");
}

/* RFC 5161: the extensions named that we have and that were not enabled
 * yet are enabled and listed in "* ENABLED"; others are ignored. */
static const char *const enable_names[] = { "IMAP4rev2", "UTF8=ACCEPT", "CONDSTORE",
					     "QRESYNC" };

static int *enable_flag(struct session *s, int i)
{
	int *const flags[] = { &s->rev2, &s->utf8, &s->condstore, &s->qresync };
	return flags[i];
}

void cmd_enable(struct session *s, struct parser *ps)
{
	struct buf b = BUF_INIT, done = BUF_INIT;
	int n = 0;
	while (p_peek(ps, ' ') && n < 64) {
		ps->p++;
		if (p_atom(ps, &b) < 0)
			break;
		for (size_t i = 0; i < sizeof enable_names / sizeof enable_names[0]; i++) {
			int *f = enable_flag(s, (int)i);
			if (strcasecmp(buf_cstr(&b), enable_names[i]) == 0 && !*f) {
				if (f == &s->condstore || f == &s->qresync)
					condstore_enable(s); /* QRESYNC implies CONDSTORE */
				*f = 1;
				buf_printf(&done, " %s", enable_names[i]);
			}
		}
		n++;
	}
	buf_free(&b);
	if (n == 0 || p_eol(ps) < 0) {
		buf_free(&done);
		return out_bad(s, ps);
	}
	out_fmt(s, "* ENABLED%s\r\n", buf_cstr(&done));
	buf_free(&done);
	out_done(s, "OK", "ENABLE completed");
}

void cmd_namespace(struct session *s, struct parser *ps)
{
	if (p_eol(ps) < 0)
		return out_bad(s, ps);
	out_str(s, "* NAMESPACE ((\"\" \".\")) NIL NIL\r\n");
	out_done(s, "OK", "NAMESPACE completed");
}

/* inotify watches on the selected folder's new/ and cur/; -1 without. */
static int idle_watch(struct session *s)
{
	struct buf p = BUF_INIT;
	if (s->sel == NULL)
		return -1;
	int fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	const char *sub[] = { "new", "cur" };
	for (int i = 0; fd >= 0 && i < 2; i++) {
		buf_reset(&p);
		buf_printf(&p, "%s/%s", s->sel->path, sub[i]);
		if (inotify_add_watch(fd, buf_cstr(&p), IN_CREATE | IN_MOVED_TO | IN_MOVED_FROM |
								IN_DELETE | IN_ONLYDIR) < 0) {
			close(fd);
			fd = -1;
		}
	}
	buf_free(&p);
	return fd;
}

static void idle_drain(int fd)
{
	char ev[4096];
	while (read(fd, ev, sizeof ev) > 0)
		;
}

/* Wait for client input or a change: 1 input, 0 change or poll interval. */
static int idle_wait(struct session *s, int ifd)
{
	struct pollfd pfd[2] = { { io_rfd(s->io), POLLIN, 0 }, { ifd, POLLIN, 0 } };
	if (io_has_buffered_input(s->io) > 0)
		return 1;
	int n = poll(pfd, ifd >= 0 ? 2 : 1, ifd >= 0 ? IDLE_CHECK_MS : IDLE_POLL_MS);
	if (n > 0 && (pfd[0].revents & (POLLIN | POLLHUP | POLLERR)))
		return 1;
	if (n > 0 && ifd >= 0 && (pfd[1].revents & POLLIN)) {
		usleep(IDLE_SETTLE_US); /* a delivery is a link and an unlink: see both */
		idle_drain(ifd);
	}
	return 0;
}

void cmd_idle(struct session *s, struct parser *ps)
{
	struct buf line = BUF_INIT;
	if (p_eol(ps) < 0)
		return out_bad(s, ps);
	out_str(s, "+ idling\r\n");
	malloc_trim(0); /* an idle session keeps only what it needs */
	int ifd = idle_watch(s);
	time_t start = time(NULL);
	enum io_status st = IO_TIMEOUT;
	while (io_flush(s->io) == IO_OK) {
		if (time(NULL) - start > IDLE_MAX_SECONDS)
			break;
		if (idle_wait(s, ifd)) {
			st = io_read_line(s->io, &line);
			break;
		}
		if (s->sel != NULL)
			mailbox_sync(s, 1);
	}
	if (ifd >= 0)
		close(ifd);
	if (st == IO_OK && strcasecmp(buf_cstr(&line), "DONE") == 0)
		out_done(s, "OK", "IDLE terminated");
	else if (st == IO_OK)
		out_tagged(s, "BAD", "Expected DONE");
	else
		s->logout = 1;
	buf_free(&line);
}
