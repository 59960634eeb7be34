/* deliver: the instructions of a .courier file (deliver(8) DOT FILES).
 *
 *   # comment
 *   ./Maildir/   or /abs/Maildir/   a Maildir (a trailing '/' says so)
 *   ./mbox       or /abs/mbox       an mbox file
 *   |command                        a program, /bin/sh -c, message on stdin
 *   &address    or address          forward
 * An empty file (or one with only comments) means the default Maildir.
 * Every instruction runs; the worst result wins, so a temporary failure
 * repeats them all later (duplicates rather than loss, as in Courier). */
#include "deliver.h"
#include "alloc.h"
#include "config.h"

#include <stdlib.h>
#include <string.h>

#define MAX_INSTRUCTIONS 64

static int one(struct delivery *d, const char *line, size_t len)
{
	char *s = xmemdup(line, len);
	int r;
	if (s[0] == '|') {
		r = deliver_program(d, s + 1);
	} else if (s[0] == '/' || (s[0] == '.' && s[1] == '/')) {
		if (s[len - 1] == '/')
			r = deliver_maildir(d, s);
		else
			r = deliver_mbox(d, s);
	} else {
		const char *a = s[0] == '&' ? s + 1 : s;
		if (strchr(a, '@') == NULL || strpbrk(a, " \t<>")) {
			buf_reset(&d->answer);
			buf_printf(&d->answer, "4.3.5 .courier: bad instruction");
			r = DELIVER_TEMP;
		} else {
			r = deliver_forward(d, a);
		}
	}
	free(s);
	return r;
}

int deliver_dotfile(struct delivery *d, const char *text, size_t len)
{
	struct config_lines sc;
	struct buf err = BUF_INIT, worst = BUF_INIT;
	const char *line;
	size_t n, count = 0;
	int r, result = DELIVER_OK;
	config_lines_init(&sc, ".courier", text, len, 4096);
	while ((r = config_lines_next(&sc, &line, &n, &err)) > 0) {
		if (++count > MAX_INSTRUCTIONS) {
			r = -1;
			buf_set_str(&err, "too many instructions");
			break;
		}
		int one_r = one(d, line, n);
		if (one_r != DELIVER_OK && (result == DELIVER_OK || one_r == DELIVER_TEMP)) {
			result = one_r;
			buf_set(&worst, d->answer.data, d->answer.len);
		}
	}
	if (r < 0) {
		buf_reset(&d->answer);
		buf_printf(&d->answer, "4.3.5 .courier: %s", buf_cstr(&err));
		result = DELIVER_TEMP;
	} else if (count == 0) {
		result = deliver_maildir(d, d->maildir);
	} else if (result != DELIVER_OK) {
		buf_set(&d->answer, worst.data, worst.len);
	}
	buf_free(&err);
	buf_free(&worst);
	return result;
}
