/* submit_fuzz: submit's whole pipe protocol (submit(8)): the envelope, then
 * the data phase (D<length> chunks and "."), filtered into a queue
 * transaction in a private queue directory, as submit reads it from an
 * unprivileged caller. submit_fail() jumps back instead of exiting and
 * aborts the transaction; leak checking is paused while the protocol runs
 * (the real program exits there). Invariants for an accepted message: the
 * queue file is our Received: line followed by the chunks' bytes with each
 * CRLF made LF (a bare CR stays; a CR at the very end becomes LF) and a
 * final LF added if missing; no NUL unless BINARYMIME; and the envelope,
 * with the client description submit_received() made, is a control file
 * courierd can read back. */
#define _GNU_SOURCE
#include "fuzz.h"
#include "../submit/submit.h"
#include "file.h"

#include <setjmp.h>
#include <stdarg.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

void __lsan_disable(void) __attribute__((weak));
void __lsan_enable(void) __attribute__((weak));

static jmp_buf fail_jump;
static int fail_code;
static char qdir[128], qtmp[160];

_Noreturn void submit_fail(struct submit *s, int code, const char *fmt, ...)
{
	(void)fmt;
	if (s->tx_open)
		queue_tx_abort(&s->tx);
	s->tx_open = 0;
	fail_code = code;
	longjmp(fail_jump, 1);
}

static void queue_cleanup(void)
{
	rmdir(qtmp);
	rmdir(qdir);
}

static void queue_dir(void)
{
	if (qdir[0])
		return;
	snprintf(qdir, sizeof qdir, "%s", fuzz_tmpfile(0, "queue"));
	snprintf(qtmp, sizeof qtmp, "%s/tmp", qdir);
	if (mkdir(qdir, 0700) < 0 || mkdir(qtmp, 0700) < 0)
		abort();
	atexit(queue_cleanup); /* runs before fuzz.h's cleanup of the directory */
}

/* The message as the filter should write it, from the accepted input: the
 * chunks after the envelope's blank line, CRLF -> LF, final LF. */
static void expected_body(const uint8_t *in, size_t len, struct buf *out)
{
	const uint8_t *p = memmem(in, len, "\n\n", 2);
	struct buf raw = BUF_INIT;
	FUZZ_CHECK(p != NULL);
	size_t pos = (size_t)(p - in) + 2;
	while (pos < len && in[pos] == 'D') {
		size_t n = 0;
		for (pos++; in[pos] != '\n'; pos++)
			n = n * 10 + (size_t)(in[pos] - '0');
		buf_append(&raw, in + pos + 1, n);
		pos += 1 + n;
	}
	for (size_t i = 0; i < raw.len; i++) {
		if (raw.data[i] == '\r' && i + 1 < raw.len && raw.data[i + 1] == '\n')
			continue; /* the LF follows */
		if (raw.data[i] == '\r' && i + 1 == raw.len)
			buf_append_char(out, '\n');
		else
			buf_append_char(out, raw.data[i]);
	}
	if (out->len > 0 && out->data[out->len - 1] != '\n')
		buf_append_char(out, '\n');
	buf_free(&raw);
}

static void check_message(struct submit *s, const uint8_t *in, size_t len)
{
	struct buf path = BUF_INIT, data = BUF_INIT, want = BUF_INIT;
	queue_path(&path, qdir, QUEUE_TMP_MSG, s->tx.id);
	FUZZ_CHECK(file_read(buf_cstr(&path), &data, 1u << 24) == 0);
	FUZZ_CHECK(data.len > 10 && memcmp(data.data, "Received: ", 10) == 0);
	FUZZ_CHECK(data.data[data.len - 1] == '\n');
	expected_body(in, len, &want);
	FUZZ_CHECK(data.len > want.len);
	FUZZ_CHECK(fuzz_eq(data.data + data.len - want.len, want.len, want.data, want.len));
	if (strcmp(s->env.body, "BINARYMIME") != 0)
		FUZZ_CHECK(!buf_has_nul(&data));
	buf_free(&path);
	buf_free(&data);
	buf_free(&want);
}

static void check_control(struct submit *s)
{
	struct buf text = BUF_INIT, err = BUF_INIT;
	struct queue_env back;
	memcpy(s->env.id, s->tx.id, QUEUE_ID_LEN + 1);
	s->env.arrival = 1700000000;
	if (queue_ctl_format(&s->env, &text, &err) < 0) {
		fprintf(stderr, "accepted message does not format: %s\n", buf_cstr(&err));
		FUZZ_CHECK(0);
	}
	FUZZ_CHECK(queue_ctl_parse(text.data, text.len, s->env.id, &back, &err) == 0);
	queue_env_free(&back);
	buf_free(&text);
	buf_free(&err);
}

static void run(struct submit *s, const uint8_t *in, size_t len)
{
	struct buf err = BUF_INIT;
	submit_read_envelope(s);
	FUZZ_CHECK(queue_tx_begin(&s->tx, qdir, &err) == 0);
	s->tx_open = 1;
	submit_read_data(s);
	check_message(s, in, len);
	check_control(s);
	buf_free(&err);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct submit s; /* static: longjmp must not lose its contents */
	queue_dir();
	int fd = memfd_create("submit", 0);
	FUZZ_CHECK(fd >= 0);
	FUZZ_CHECK(size == 0 || write(fd, data, size) == (ssize_t)size);
	FUZZ_CHECK(lseek(fd, 0, SEEK_SET) == 0);
	memset(&s, 0, sizeof s);
	queue_env_init(&s.env);
	s.in.fd = fd;
	s.tx.fd = -1;
	s.lim.max_recipients = 20;
	s.lim.max_message_size = 1 << 16;
	s.lim.max_header_size = 1 << 12;
	s.lim.max_line_length = 200;
	buf_set_str(&s.me, "mx.example");
	fail_code = 0;
	if (__lsan_disable)
		__lsan_disable();
	if (setjmp(fail_jump) == 0)
		run(&s, data, size);
	if (__lsan_enable)
		__lsan_enable();
	if (s.tx_open)
		queue_tx_abort(&s.tx);
	queue_env_free(&s.env);
	for (int k = 0; k < H_COUNT; k++)
		free(s.h[k]);
	buf_free(&s.in.b);
	buf_free(&s.me);
	close(fd);
	return 0;
}
