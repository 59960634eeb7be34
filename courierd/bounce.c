/* courierd: DSNs for finished messages, and running submit(8).
 *
 * A DSN is a new message from the null sender, queued through submit like
 * any other. A failure of a message from the null sender is a double
 * bounce: logged, and sent to double_bounce_to (if set) with NOTIFY=NEVER so
 * that its own failure can never produce another one. A message deferred for
 * delay_warning gets one "delayed" DSN, remembered by the W record. */
#define _GNU_SOURCE
#include "courierd.h"
#include "alloc.h"
#include "dsn.h"
#include "file.h"
#include "log.h"
#include "paths.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define REPLY_MAX 4096
#define HDR_READ_MAX (1024u * 1024)

static int write_chunk(int fd, const char *p, size_t n)
{
	struct buf h = BUF_INIT;
	buf_printf(&h, "D%zu\n", n);
	int rc = file_write_all(fd, h.data, h.len) == 0 && file_write_all(fd, p, n) == 0 ? 0 : -1;
	buf_free(&h);
	return rc;
}

static int copy_fd(int out, int in)
{
	char tmp[65536];
	ssize_t n;
	if (lseek(in, 0, SEEK_SET) < 0)
		return -1;
	while ((n = read(in, tmp, sizeof tmp)) != 0) {
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 || write_chunk(out, tmp, (size_t)n) < 0)
			return -1;
	}
	return 0;
}

int bounce_submit(const char *envelope, size_t elen, const char *prefix, size_t plen, int msgfd,
		  const char *data, size_t dlen, struct buf *reply)
{
	struct buf prog = BUF_INIT;
	int in[2], out[2];
	paths_join(&prog, paths_libexec(), "submit");
	if (pipe2(in, O_CLOEXEC) < 0)
		return '4';
	if (pipe2(out, O_CLOEXEC) < 0) {
		close(in[0]);
		close(in[1]);
		return '4';
	}
	pid_t pid = fork();
	if (pid == 0) {
		dup2(in[0], 0);
		dup2(out[1], 1);
		char *argv[] = { "submit", NULL };
		execv(buf_cstr(&prog), argv);
		_exit(127);
	}
	close(in[0]);
	close(out[1]);
	buf_free(&prog);
	if (pid > 0) {
		/* a write error still reads the reply: submit may refuse early */
		(void)(file_write_all(in[1], envelope, elen) == 0 &&
		       (plen == 0 || write_chunk(in[1], prefix, plen) == 0) &&
		       (msgfd < 0 || copy_fd(in[1], msgfd) == 0) &&
		       (dlen == 0 || write_chunk(in[1], data, dlen) == 0) &&
		       file_write_all(in[1], ".\n", 2) == 0);
	}
	close(in[1]);
	buf_reset(reply);
	file_read_fd(out[0], reply, REPLY_MAX);
	close(out[0]);
	int st;
	while (pid > 0 && waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
	while (reply->len && reply->data[reply->len - 1] == '\n')
		buf_truncate(reply, reply->len - 1);
	if (reply->len && (reply->data[0] == '2' || reply->data[0] == '5'))
		return reply->data[0];
	return '4';
}

struct dstat {
	char code[4];
	const char *text; /* into the control file's copy */
	int64_t time;
};

/* The last D record of each recipient. */
static void read_status(char *ctl, size_t len, struct dstat *st, size_t n)
{
	char *p = ctl, *end = ctl + len;
	while (p < end) {
		char *nl = memchr(p, '\n', (size_t)(end - p));
		if (nl == NULL)
			break;
		*nl = '\0';
		if (p[0] == 'D') {
			char *q;
			unsigned long idx = strtoul(p + 1, &q, 10);
			long long t = strtoll(q, &q, 10);
			if (idx < n && q[0] == ' ' && strlen(q) >= 4) {
				memcpy(st[idx].code, q + 1, 3);
				st[idx].code[3] = '\0';
				st[idx].text = q[4] == ' ' ? q + 5 : "";
				st[idx].time = t;
			}
		}
		p = nl + 1;
	}
}

static size_t collect(const struct queue_env *env, const struct dstat *st, int null_sender,
		      struct dsn_rcpt *out)
{
	size_t k = 0;
	for (size_t i = 0; i < env->nrcpt; i++) {
		const struct queue_rcpt *r = &env->rcpts[i];
		enum dsn_action a = r->state == QUEUE_R_FAILED ? DSN_FAILED : DSN_DELIVERED;
		const char *text = st[i].text ? st[i].text : "";
		const char *after = strlen(text) > 6 ? text + 6 : ""; /* past "2.x.y " */
		if (a == DSN_DELIVERED && strncmp(text, "2.1.5", 5) == 0)
			a = DSN_EXPANDED;
		if (a == DSN_DELIVERED && strncmp(after, DSN_MARK_PASSED, strlen(DSN_MARK_PASSED)) == 0)
			continue; /* the next server reports success itself */
		if (a == DSN_DELIVERED && strncmp(after, DSN_MARK_RELAYED, strlen(DSN_MARK_RELAYED)) == 0)
			a = DSN_RELAYED;
		if (!dsn_wanted(r->notify, a) || (null_sender && a != DSN_FAILED))
			continue;
		out[k].addr = r->addr;
		out[k].orcpt = r->orcpt;
		out[k].action = a;
		out[k].code = st[i].code[0] ? st[i].code : "550";
		out[k].text = st[i].text ? st[i].text : "";
		out[k].last_attempt = st[i].time;
		k++;
	}
	return k;
}

static int send_dsn(const struct queue_env *env, const struct dsn_rcpt *rc, size_t k,
		    const char *to, int64_t now)
{
	struct buf msg = BUF_INIT, orig = BUF_INIT, out = BUF_INIT, err = BUF_INIT, envl = BUF_INIT;
	struct buf path = BUF_INIT, reply = BUF_INIT;
	queue_path(&path, paths_queue(), QUEUE_MSG, env->id);
	size_t max = cd_conf.dsn_max_full > HDR_READ_MAX ? cd_conf.dsn_max_full : HDR_READ_MAX;
	int fd = open(buf_cstr(&path), O_RDONLY | O_CLOEXEC);
	if (fd >= 0) {
		char *p = buf_space(&orig, max + 1);
		ssize_t n = read(fd, p, max + 1); /* a short read only shortens the copy */
		buf_commit(&orig, n > 0 ? (size_t)n : 0);
		close(fd);
	}
	struct dsn_report r = { buf_cstr(&cd_conf.me), to, env->id, env->envid, env->arrival, now,
				env->ret && strcmp(env->ret, "HDRS") == 0, orig.data ? orig.data : "",
				orig.len, (size_t)cd_conf.dsn_max_full };
	int ret = 0;
	if (dsn_format(&r, rc, k, &out, &err) < 0) {
		log_error("id=%s: cannot build the DSN: %s", env->id, buf_cstr(&err));
	} else {
		buf_printf(&envl, "S\nFdsn\nR%s%s\n\n", to, env->sender[0] ? "" : "\tNEVER");
		int c = bounce_submit(envl.data, envl.len, NULL, 0, -1, out.data, out.len, &reply);
		log_info("id=%s: DSN to <%s>: %s", env->id, to, buf_cstr(&reply));
		ret = c == '4' ? -1 : 0;
	}
	buf_free(&msg), buf_free(&orig), buf_free(&out), buf_free(&err), buf_free(&envl);
	buf_free(&path), buf_free(&reply);
	return ret;
}

int bounce_finish(struct queue_env *env, const char *ctl, size_t ctl_len, int64_t now)
{
	struct dstat *st = xcalloc(env->nrcpt, sizeof *st);
	struct dsn_rcpt *rc = xcalloc(env->nrcpt, sizeof *rc);
	char *copy = xmemdup(ctl, ctl_len);
	read_status(copy, ctl_len, st, env->nrcpt);
	int null_sender = env->sender[0] == '\0';
	size_t k = collect(env, st, null_sender, rc);
	int r = 0;
	if (k > 0 && null_sender) {
		log_warn("id=%s: double bounce: %zu recipient(s) of a message from <> failed%s", env->id,
			 k, cd_conf.double_bounce ? "" : "; dropped");
		if (cd_conf.double_bounce)
			r = send_dsn(env, rc, k, cd_conf.double_bounce, now);
	} else if (k > 0) {
		r = send_dsn(env, rc, k, env->sender, now);
	}
	free(st);
	free(rc);
	free(copy);
	return r;
}

/* Pending recipients that want the delay warning. RFC 3461 lets an absent
 * NOTIFY mean FAILURE or FAILURE,DELAY: like Postfix and sendmail we warn. */
static size_t collect_delayed(const struct queue_env *env, const struct dstat *st,
			      struct dsn_rcpt *out)
{
	size_t k = 0;
	for (size_t i = 0; i < env->nrcpt; i++) {
		const struct queue_rcpt *r = &env->rcpts[i];
		if (r->state != QUEUE_R_PENDING ||
		    (r->notify[0] != '\0' && !dsn_wanted(r->notify, DSN_DELAYED)))
			continue;
		out[k].addr = r->addr;
		out[k].orcpt = r->orcpt;
		out[k].action = DSN_DELAYED;
		out[k].code = st[i].code[0] ? st[i].code : "451";
		out[k].text = st[i].text ? st[i].text : "";
		out[k].last_attempt = st[i].time;
		k++;
	}
	return k;
}

static int append_w(const char *id, int64_t now)
{
	struct buf path = BUF_INIT, line = BUF_INIT;
	queue_path(&path, paths_queue(), QUEUE_CTL, id);
	queue_ctl_w_record(&line, now);
	int fd = open(buf_cstr(&path), O_WRONLY | O_APPEND | O_CLOEXEC | O_NOFOLLOW);
	int rc = fd >= 0 && file_write_all(fd, line.data, line.len) == 0 && fsync(fd) == 0 ? 0 : -1;
	if (rc < 0)
		log_error("id=%s: cannot append to %s: %s", id, buf_cstr(&path), strerror(errno));
	if (fd >= 0)
		close(fd);
	buf_free(&path);
	buf_free(&line);
	return rc;
}

int bounce_delay(struct queue_env *env, const char *ctl, size_t ctl_len, int64_t now)
{
	if (env->sender[0] == '\0') /* nothing ever goes back to <> */
		return append_w(env->id, now);
	struct dstat *st = xcalloc(env->nrcpt, sizeof *st);
	struct dsn_rcpt *rc = xcalloc(env->nrcpt, sizeof *rc);
	char *copy = xmemdup(ctl, ctl_len);
	read_status(copy, ctl_len, st, env->nrcpt);
	size_t k = collect_delayed(env, st, rc);
	int r = k > 0 ? send_dsn(env, rc, k, env->sender, now) : 0;
	free(st);
	free(rc);
	free(copy);
	return r < 0 ? -1 : append_w(env->id, now);
}
