/* submit: put one message into the queue; the only program that writes it.
 *
 * Reads the submit(8) protocol on stdin (envelope, then data in counted
 * chunks, then "."), writes tmp/ files, fsyncs, renames them into the queue
 * and only then replies "250" on stdout. Installed setgid to the queue group,
 * so it trusts nothing from its caller: not the environment (the instance root
 * comes from its own location, see paths_root_from_exe), not the input (every
 * line, count and size is bounded), not the umask or the open descriptors. It
 * never executes anything. Standards: RFC 5321 4.4 (Received:), RFC 3461
 * (DSN parameters), RFC 6531 (SMTPUTF8). */
#include "submit.h"
#include "alloc.h"
#include "config.h"
#include "file.h"
#include "log.h"
#include "paths.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/stat.h>
#include <unistd.h>

static void reply_line(const char *line, size_t len, int *ok)
{
	*ok = file_write_all(1, line, len) == 0;
}

_Noreturn void submit_fail(struct submit *s, int code, const char *fmt, ...)
{
	struct buf line = BUF_INIT;
	va_list ap;
	va_start(ap, fmt);
	buf_vprintf(&line, fmt, ap);
	va_end(ap);
	if (s->tx_open)
		queue_tx_abort(&s->tx);
	if (code != SUBMIT_EX_TEMPFAIL || line.len > 0)
		log_warn("rejected: %s", buf_cstr(&line));
	if (line.len > 0) {
		int ok;
		buf_append_char(&line, '\n');
		reply_line(line.data, line.len, &ok);
	}
	exit(code);
}

/* Descriptors 0-2 must be open, or a queue file could become our stderr. */
static void sane_fds(void)
{
	for (int fd = 0; fd < 3; fd++)
		if (fcntl(fd, F_GETFD) < 0) {
			int n = open("/dev/null", O_RDWR);
			if (n != fd)
				_exit(SUBMIT_EX_TEMPFAIL);
		}
}

static void read_limits(struct submit *s)
{
	static const char *const known[] = { "max_message_size", "max_recipients",
					     "max_header_size", "max_line_length", NULL };
	struct config_env cf = CONFIG_ENV_INIT;
	struct buf err = BUF_INIT;
	const uint64_t big = (uint64_t)1 << 40;
	struct submit_limits *l = &s->lim;
	if (config_read_env("submit.conf", &cf, &err) < 0 ||
	    config_env_check(&cf, known, &err) < 0 ||
	    config_env_u64(&cf, "max_message_size", 64u << 20, 1024, big, CONFIG_UNIT_SIZE,
			   &l->max_message_size, &err) < 0 ||
	    config_env_u64(&cf, "max_recipients", 1000, 1, QUEUE_MAX_RCPTS, CONFIG_UNIT_NONE,
			   &l->max_recipients, &err) < 0 ||
	    config_env_u64(&cf, "max_header_size", 1u << 20, 1024, big, CONFIG_UNIT_SIZE,
			   &l->max_header_size, &err) < 0 ||
	    config_env_u64(&cf, "max_line_length", 1u << 20, 78, big, CONFIG_UNIT_SIZE,
			   &l->max_line_length, &err) < 0) {
		log_error("%s", buf_cstr(&err));
		submit_fail(s, SUBMIT_EX_TEMPFAIL, "451 4.3.5 Configuration error");
	}
	config_env_free(&cf);
	buf_free(&err);
	if (config_me(&s->me, &err) < 0) {
		log_error("%s", buf_cstr(&err));
		submit_fail(s, SUBMIT_EX_TEMPFAIL, "451 4.3.5 Configuration error");
	}
	buf_free(&err);
}

/* Tell courierd the new id: "<id>\n" into its FIFO in one write (atomic:
 * shorter than PIPE_BUF), never waiting. No reader (ENXIO), no FIFO (ENOENT)
 * or a full one (EAGAIN) are fine: courierd rescans the queue anyway. */
static void poke_trigger(const char *id)
{
	struct buf path = BUF_INIT, line = BUF_INIT;
	struct stat st;
	paths_join(&path, paths_run(), "trigger");
	buf_printf(&line, "%s\n", id);
	int fd = open(buf_cstr(&path), O_WRONLY | O_NONBLOCK | O_NOFOLLOW | O_CLOEXEC);
	if (fd >= 0) {
		if (fstat(fd, &st) == 0 && S_ISFIFO(st.st_mode) &&
		    write(fd, line.data, line.len) < 0 && errno != EAGAIN)
			log_warn("trigger %s: %s", buf_cstr(&path), strerror(errno));
		close(fd);
	} else if (errno != ENXIO && errno != ENOENT) {
		log_warn("trigger %s: %s", buf_cstr(&path), strerror(errno));
	}
	buf_free(&path);
	buf_free(&line);
}

static void setup(struct submit *s)
{
	sane_fds();
	signal(SIGPIPE, SIG_IGN);  /* a vanished caller is a write error */
	signal(SIGXFSZ, SIG_IGN);  /* a file size limit is a write error (EFBIG) */
	umask(007);
	log_init("submit");
	/* set-id: the root comes only from where we are installed */
	if (getauxval(AT_SECURE) && paths_root_from_exe() < 0)
		log_debug("not in ROOT/libexec/estafette: using the compiled-in root");
	(void)paths_root();
	clearenv();
	memset(s, 0, sizeof *s);
	queue_env_init(&s->env);
	s->in.fd = 0;
	s->tx.fd = -1;
	read_limits(s);
}

/* Forget one message's envelope: the next one starts clean. */
static void message_reset(struct submit *s)
{
	queue_env_free(&s->env);
	queue_env_init(&s->env);
	for (int k = 0; k < H_COUNT; k++) {
		free(s->h[k]);
		s->h[k] = NULL;
	}
	s->have_h = 0;
	memset(&s->tx, 0, sizeof s->tx);
	s->tx.fd = -1;
	s->tx_open = 0;
}

static void cleanup(struct submit *s)
{
	message_reset(s);
	queue_env_free(&s->env);
	buf_free(&s->me);
	buf_free(&s->in.b);
}

/* One message: envelope, data, commit, "250". Any refusal exits. */
static void submit_one(struct submit *s)
{
	struct buf err = BUF_INIT, line = BUF_INIT;
	submit_read_envelope(s);
	if (queue_tx_begin(&s->tx, paths_queue(), &err) < 0) {
		log_error("%s", buf_cstr(&err));
		submit_fail(s, SUBMIT_EX_TEMPFAIL, "451 4.3.0 Queue not writable");
	}
	s->tx_open = 1;
	submit_read_data(s);
	s->env.arrival = (int64_t)time(NULL);
	if (queue_tx_commit(&s->tx, &s->env, &err) < 0) {
		s->tx_open = 0;
		log_error("%s", buf_cstr(&err));
		submit_fail(s, SUBMIT_EX_TEMPFAIL, "451 4.3.0 Queue write failed");
	}
	s->tx_open = 0;
	poke_trigger(s->env.id);
	log_info("id=%s from=<%s> nrcpt=%zu size=%llu source=%s", s->env.id, s->env.sender,
		 s->env.nrcpt, (unsigned long long)s->tx.size, s->env.source);
	int ok;
	buf_printf(&line, "250 2.0.0 Ok: queued as %s\n", s->env.id);
	reply_line(line.data, line.len, &ok);
	buf_free(&line);
	buf_free(&err);
	if (!ok)
		exit(SUBMIT_EX_TEMPFAIL);
}

int main(int argc, char **argv)
{
	static struct submit s;
	(void)argv;
	setup(&s);
	if (argc > 1)
		submit_fail(&s, SUBMIT_EX_USAGE, "554 5.5.4 submit takes no arguments");
	/* after a 250 the caller may send the next message (submit(8)) */
	do {
		submit_one(&s);
		message_reset(&s);
	} while (!submit_input_done(&s.in));
	cleanup(&s);
	return SUBMIT_EX_OK;
}
