/* dotfile_fuzz: deliver's .courier file parser (deliver(8) DOT FILES), over
 * text a user writes in the home directory. The delivery targets are stubs
 * that record each instruction (nothing is delivered). Byte 0: the result
 * the stubs give (OK, TEMP, PERM per kind). Invariants: at most 64
 * instructions run; each is a non-empty NUL- and LF-free string; a
 * Maildir ends in '/', an mbox does not, both start with '/' or "./"; a
 * forward holds '@' and no blank or angle bracket; the result is OK, TEMP or
 * PERM with an answer unless OK; an empty (or comment-only) file delivers to
 * the default Maildir. */
#include "fuzz.h"
#include "../deliver/deliver.h"

static unsigned stub_opt;
static size_t calls;
static int default_used;

static int result(struct delivery *d, unsigned shift)
{
	int codes[4] = { DELIVER_OK, DELIVER_TEMP, DELIVER_PERM, DELIVER_OK };
	int r = codes[(stub_opt >> shift) & 3];
	buf_set_str(&d->answer, r == DELIVER_OK ? "2.0.0 ok" : "5.0.0 stub failure");
	return r;
}

static void check_text(const char *s)
{
	size_t n = strlen(s);
	FUZZ_CHECK(n > 0);
	FUZZ_CHECK(memchr(s, '\n', n) == NULL); /* a CR is just a byte of a name */
	calls++;
	FUZZ_CHECK(calls <= 64);
}

int deliver_maildir(struct delivery *d, const char *path)
{
	if (path == d->maildir) {
		default_used++;
		return result(d, 0);
	}
	check_text(path);
	FUZZ_CHECK(path[strlen(path) - 1] == '/');
	FUZZ_CHECK(path[0] == '/' || (path[0] == '.' && path[1] == '/'));
	return result(d, 0);
}

int deliver_mbox(struct delivery *d, const char *path)
{
	check_text(path);
	FUZZ_CHECK(path[strlen(path) - 1] != '/');
	FUZZ_CHECK(path[0] == '/' || (path[0] == '.' && path[1] == '/'));
	return result(d, 2);
}

int deliver_program(struct delivery *d, const char *cmd)
{
	(void)strlen(cmd); /* may be empty: "|" alone */
	FUZZ_CHECK(strchr(cmd, '\n') == NULL);
	calls++;
	return result(d, 4);
}

int deliver_forward(struct delivery *d, const char *addr)
{
	check_text(addr);
	FUZZ_CHECK(strchr(addr, '@') != NULL && strpbrk(addr, " \t<>") == NULL);
	return result(d, 6);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_in in;
	fuzz_in_init(&in, data, size);
	stub_opt = fuzz_take_byte(&in);
	calls = 0;
	default_used = 0;
	struct delivery d = { 0 };
	d.home = "/home/u";
	d.maildir = "/home/u/Maildir/";
	d.sender = "s@example.org";
	d.rcpt = "u@example.com";
	d.msgfd = -1;
	int r = deliver_dotfile(&d, (const char *)in.p, in.len);
	FUZZ_CHECK(r == DELIVER_OK || r == DELIVER_TEMP || r == DELIVER_PERM);
	FUZZ_CHECK(r == DELIVER_OK || d.answer.len > 0);
	FUZZ_CHECK(default_used <= 1);
	FUZZ_CHECK(!default_used || calls == 0);
	buf_free(&d.answer);
	buf_free(&d.prefix);
	return 0;
}
