/* smtpd submit_client: hands each message to submit(8), the only writer of the
 * queue: the envelope records, the data in chunks of up to 64 KiB, then "."
 * and submit's one reply line. smtpd says 250 only when submit did. After a
 * 250 the submit process stays for the session's next message (submit(8)), so
 * only the first message pays for fork and exec; any other outcome ends it.
 * Trusts submit's reply only as far as it is a well-formed reply line. */
#define _GNU_SOURCE /* pipe2 */
#include "smtpd.h"

#include "file.h"
#include "log.h"
#include "paths.h"
#include "tls.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define CHUNK (64u * 1024)
#define MAX_REPLY 1024

struct submit_client {
	pid_t pid;
	int wfd, rfd;
	int broken;       /* a write failed: submit has replied or died */
	struct buf out;   /* bytes to write */
	struct buf pend;  /* data not yet framed as a D chunk */
};

static void sc_flush(struct submit_client *c)
{
	if (!c->broken && c->out.len && file_write_all(c->wfd, c->out.data, c->out.len) < 0)
		c->broken = 1;
	buf_reset(&c->out);
}

static void sc_record(struct submit_client *c, char type, const char *v)
{
	buf_append_char(&c->out, type);
	buf_append_str(&c->out, v);
	buf_append_char(&c->out, '\n');
}

static void sc_h(struct submit_client *c, const char *key, const char *v)
{
	if (v && *v)
		buf_printf(&c->out, "H%s=%s\n", key, v);
}

static void sc_envelope(struct submit_client *c, struct session *s)
{
	const struct txn *t = &s->txn;
	sc_record(c, 'S', buf_cstr(&s->txn.sender));
	sc_record(c, 'F', s->submission ? "submission" : "smtp");
	if (t->envid.len)
		sc_record(c, 'E', t->envid.data);
	if (t->ret.len)
		sc_record(c, 'N', t->ret.data);
	sc_record(c, 'B', t->body == BODY_8BITMIME ? "8BITMIME" : "7BIT");
	if (t->verp[0])
		sc_record(c, 'X', t->verp);
	if (t->smtputf8)
		sc_record(c, 'U', "");
	if (s->authed)
		sc_record(c, 'A', buf_cstr(&s->auth_user));
	sc_h(c, "helo", buf_cstr(&s->helo));
	sc_h(c, "ip", s->ip);
	sc_h(c, "host", s->host);
	sc_h(c, "port", s->port);
	sc_h(c, "proto", session_proto(s));
	sc_h(c, "by", buf_cstr(&s->me));
	struct tls_info ti;
	if (s->tls && tls_io_info(s->io, &ti) == 0)
		buf_printf(&c->out, "Htls=%s cipher %s %d bits\n", ti.version, ti.cipher, ti.bits);
	for (size_t i = 0; i < t->nrcpt; i++)
		buf_printf(&c->out, "R%s\t%s\t%s\n", t->rcpts[i].addr, t->rcpts[i].notify,
			   t->rcpts[i].orcpt);
	buf_append_char(&c->out, '\n');
}

static void sc_child(int in, int out)
{
	struct buf exe = BUF_INIT;
	if (dup2(in, 0) < 0 || dup2(out, 1) < 0)
		_exit(75);
	paths_join(&exe, paths_libexec(), "submit");
	char *argv[] = { (char *)"submit", NULL };
	execv(buf_cstr(&exe), argv);
	log_error("cannot run %s: %s", buf_cstr(&exe), strerror(errno));
	_exit(75);
}

/* The submit process kept after a 250, or none. */
static struct submit_client *idle;

static struct submit_client *sc_spawn(struct buf *err)
{
	int to[2], from[2];
	if (pipe2(to, O_CLOEXEC) < 0)
		goto fail;
	if (pipe2(from, O_CLOEXEC) < 0) {
		close(to[0]);
		close(to[1]);
		goto fail;
	}
	pid_t pid = fork();
	if (pid == 0)
		sc_child(to[0], from[1]);
	close(to[0]);
	close(from[1]);
	if (pid < 0) {
		close(to[1]);
		close(from[0]);
		goto fail;
	}
	struct submit_client *c = calloc(1, sizeof *c);
	if (!c)
		log_fatal(75, "out of memory");
	c->pid = pid;
	c->wfd = to[1];
	c->rfd = from[0];
	return c;
fail:
	buf_error(err, "cannot start submit: %s", strerror(errno));
	return NULL;
}

static void sc_free(struct submit_client *c);

struct submit_client *submit_client_start(struct session *s, struct buf *err)
{
	struct submit_client *c = idle;
	idle = NULL;
	int st;
	if (c && waitpid(c->pid, &st, WNOHANG) != 0) { /* it went away meanwhile */
		c->pid = -1;
		sc_free(c);
		c = NULL;
	}
	if (!c && (c = sc_spawn(err)) == NULL)
		return NULL;
	sc_envelope(c, s);
	return c;
}

static void sc_chunk(struct submit_client *c)
{
	buf_printf(&c->out, "D%zu\n", c->pend.len);
	buf_append_buf(&c->out, &c->pend);
	buf_reset(&c->pend);
	sc_flush(c);
}

void submit_client_data(struct submit_client *c, const void *p, size_t n)
{
	buf_append(&c->pend, p, n);
	if (c->pend.len >= CHUNK)
		sc_chunk(c);
}

static void sc_free(struct submit_client *c)
{
	if (c->wfd >= 0)
		close(c->wfd);
	close(c->rfd);
	int st;
	while (c->pid > 0 && waitpid(c->pid, &st, 0) < 0 && errno == EINTR)
		;
	buf_free(&c->out);
	buf_free(&c->pend);
	free(c);
}

/* Read one reply line within timeout_s; 0 when it is well-formed. */
static int sc_read_reply(struct submit_client *c, int timeout_s, struct buf *r)
{
	char tmp[256];
	while (r->len < MAX_REPLY && !memchr(r->data ? r->data : "", '\n', r->len)) {
		struct pollfd pfd = { c->rfd, POLLIN, 0 };
		int pr = poll(&pfd, 1, timeout_s * 1000);
		if (pr < 0 && errno == EINTR)
			continue;
		if (pr <= 0) {
			log_error("submit did not answer within %d s", timeout_s);
			kill(c->pid, SIGTERM);
			return -1;
		}
		ssize_t n = read(c->rfd, tmp, sizeof tmp);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		buf_append(r, tmp, (size_t)n);
	}
	char *lf = memchr(r->data ? r->data : "", '\n', r->len);
	if (!lf)
		return -1;
	buf_truncate(r, (size_t)(lf - r->data));
	if (r->len < 5 || r->data[0] < '2' || r->data[0] > '5' || r->data[3] != ' ')
		return -1;
	for (size_t i = 0; i < r->len; i++)
		if ((unsigned char)r->data[i] < 0x20 || (unsigned char)r->data[i] > 0x7e ||
		    (i < 3 && (r->data[i] < '0' || r->data[i] > '9')))
			return -1;
	return 0;
}

void submit_client_finish(struct submit_client *c, int timeout_s, struct buf *reply)
{
	if (c->pend.len)
		sc_chunk(c);
	buf_append_str(&c->out, ".\n");
	sc_flush(c);
	buf_reset(reply);
	if (sc_read_reply(c, timeout_s, reply) < 0) {
		if (reply->len)
			log_error("bad reply from submit: %.*s", (int)(reply->len > 200 ? 200 : reply->len),
				  reply->data);
		buf_set_str(reply, "451 4.3.0 Queueing failed, try again later");
		sc_free(c);
		return;
	}
	if (reply->data[0] != '2' || c->broken) {
		sc_free(c); /* submit ends after any refusal */
		return;
	}
	idle = c; /* start took the previous one, so there is none */
}

/* Closing its input mid-message makes submit abort it and exit. */
void submit_client_abort(struct submit_client *c)
{
	sc_free(c);
}

/* End of the session: submit sees the end of its input and exits. */
void submit_client_close(void)
{
	if (idle)
		sc_free(idle);
	idle = NULL;
}
