/* submit_envelope_fuzz: submit's envelope reader (submit/envelope.c: the
 * line reader and the S F E N B A U H R records up to the blank line), as
 * submit(8) reads it from an unprivileged caller. submit_fail() normally
 * replies and exits; here it jumps back, so one process runs many inputs.
 * What the reader allocated before a refusal is left to the exit in the real
 * program, so leak checking is paused while it runs. Invariant: an envelope
 * submit accepts makes a control file that queue_ctl_format() writes and
 * queue_ctl_parse() reads back. */
#define _GNU_SOURCE
#include "fuzz.h"
#include "../submit/submit.h"

#include <setjmp.h>
#include <stdarg.h>
#include <sys/mman.h>
#include <unistd.h>

void __lsan_disable(void) __attribute__((weak));
void __lsan_enable(void) __attribute__((weak));

static jmp_buf fail_jump;
static int fail_code;

_Noreturn void submit_fail(struct submit *s, int code, const char *fmt, ...)
{
	struct buf line = BUF_INIT;
	va_list ap;
	(void)s;
	va_start(ap, fmt);
	buf_vprintf(&line, fmt, ap);
	va_end(ap);
	/* a refusal with a reply line starts with its SMTP code */
	FUZZ_CHECK(line.len == 0 || (line.len > 4 && line.data[0] >= '4' && line.data[0] <= '5'));
	buf_free(&line);
	fail_code = code;
	longjmp(fail_jump, 1);
}

static void check_accepted(struct submit *s)
{
	struct buf text = BUF_INIT, err = BUF_INIT;
	struct queue_env back;
	memcpy(s->env.id, "0123456789abcdef0123", QUEUE_ID_LEN + 1);
	s->env.arrival = 1700000000;
	if (queue_ctl_format(&s->env, &text, &err) < 0) {
		fprintf(stderr, "accepted envelope does not format: %s\n", buf_cstr(&err));
		FUZZ_CHECK(0);
	}
	FUZZ_CHECK(queue_ctl_parse(text.data, text.len, s->env.id, &back, &err) == 0);
	FUZZ_CHECK(back.nrcpt == s->env.nrcpt);
	queue_env_free(&back);
	buf_free(&text);
	buf_free(&err);
}

static void cleanup(struct submit *s)
{
	queue_env_free(&s->env);
	for (int k = 0; k < H_COUNT; k++)
		free(s->h[k]);
	buf_free(&s->in.b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct submit s; /* static: longjmp must not lose its contents */
	int fd = memfd_create("envelope", 0);
	FUZZ_CHECK(fd >= 0);
	FUZZ_CHECK(size == 0 || write(fd, data, size) == (ssize_t)size);
	FUZZ_CHECK(lseek(fd, 0, SEEK_SET) == 0);
	memset(&s, 0, sizeof s);
	queue_env_init(&s.env);
	s.in.fd = fd;
	s.tx.fd = -1;
	s.lim.max_recipients = 20;
	s.lim.max_message_size = 1 << 20;
	s.lim.max_header_size = 1 << 16;
	s.lim.max_line_length = 1000;
	fail_code = 0;
	if (__lsan_disable)
		__lsan_disable();
	if (setjmp(fail_jump) == 0)
		submit_read_envelope(&s);
	if (__lsan_enable)
		__lsan_enable();
	if (fail_code == 0)
		check_accepted(&s);
	cleanup(&s);
	close(fd);
	return 0;
}
