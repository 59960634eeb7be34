/* deliver: local delivery of one message to one account (deliver(8)).
 *
 *   deliver [-M] -h HOME -m MAILDIR -s SENDER -r RECIPIENT [-e EXT] [-q QID] [-Q QUOTA]
 *   deliver -h / -m /nonexistent [-P COMMAND | -F FILE]... -s SENDER -r ALIAS ...
 *   deliver -W      (a worker for many jobs of one uid: worker.c)
 *
 * Run by deliver-spawn under the account's uid and gid, in HOME, with the
 * message (as queued: LF line ends) on stdin. Adds Return-Path: and
 * Delivered-To:, refuses loops, follows HOME/.courier (or .courier-EXT for an
 * address extension) or delivers to MAILDIR. Prints one status line
 * ("2.0.0 ..." / "4.x.x ..." / "5.x.x ...") and exits 0, 75 or 100.
 *
 * Trusts: nothing from the message; the arguments come from deliver-spawn
 * (home and maildir from authd, sender and recipient from the queue). */
#include "deliver.h"
#include "alloc.h"
#include "file.h"
#include "log.h"
#include "paths.h"
#include "priv.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

static int usage(void)
{
	printf("4.3.0 deliver: bad arguments\n");
	return DELIVER_TEMP;
}

static int text_ok(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return 0;
	return 1;
}

/* HOME/.courier-EXT (lowercased, '.' as ':' as in Courier), then
 * .courier-default for an extension; HOME/.courier without one.
 * 1 with text, 0 if none, -1 on a read error (answer set). */
static int dotfile_read(struct delivery *d, struct buf *text)
{
	struct buf name = BUF_INIT;
	int r = 0;
	const char *tries[2] = { NULL, NULL };
	buf_set_str(&name, ".courier");
	if (d->ext[0]) {
		buf_append_char(&name, '-');
		for (const char *p = d->ext; *p; p++)
			buf_append_char(&name, *p == '.' ? ':' : (char)tolower((unsigned char)*p));
		tries[0] = buf_cstr(&name);
		tries[1] = ".courier-default";
	} else {
		tries[0] = ".courier";
	}
	for (int i = 0; i < 2 && tries[i]; i++) {
		if (file_read(tries[i], text, DELIVER_MAX_DOTFILE) == 0) {
			r = 1;
			break;
		}
		if (errno != ENOENT) {
			buf_printf(&d->answer, "4.2.0 %s: %s", tries[i], strerror(errno));
			r = -1;
			break;
		}
	}
	buf_free(&name);
	return r;
}


static int run_special(struct delivery *d, const struct special *sp)
{
	int result = DELIVER_OK;
	struct buf worst = BUF_INIT;
	for (size_t i = 0; i < sp->n; i++) {
		int r = sp->kind[i] == 'P' ? deliver_program(d, sp->target[i])
					   : deliver_mbox(d, sp->target[i]);
		if (r != DELIVER_OK && (result == DELIVER_OK || r == DELIVER_TEMP)) {
			result = r;
			buf_set(&worst, d->answer.data, d->answer.len);
		}
	}
	if (result != DELIVER_OK) {
		buf_set(&d->answer, worst.data, worst.len);
	} else {
		buf_reset(&d->answer);
		buf_printf(&d->answer, "2.0.0 delivered to %zu program and file target(s)", sp->n);
	}
	buf_free(&worst);
	return result;
}

static int run(struct delivery *d, int maildrop, const struct special *sp)
{
	struct buf reason = BUF_INIT, text = BUF_INIT;
	int r = deliver_loop_check(d->msgfd, d->rcpt, &reason);
	if (r != 0) {
		if (r > 0)
			buf_printf(&d->answer, "5.4.6 mail loop: %s", buf_cstr(&reason));
		else
			buf_printf(&d->answer, "4.3.0 reading the message: %s", strerror(errno));
		buf_free(&reason);
		return r > 0 ? DELIVER_PERM : DELIVER_TEMP;
	}
	buf_free(&reason);
	if (sp->n)
		return run_special(d, sp);
	if (maildrop)
		return deliver_maildrop(d);
	r = dotfile_read(d, &text);
	if (r < 0)
		r = DELIVER_TEMP;
	else if (r > 0)
		r = deliver_dotfile(d, text.data ? text.data : "", text.len);
	else
		r = deliver_maildir(d, d->maildir); /* also user-ext without .courier-ext */
	buf_free(&text);
	return r;
}

/* One delivery with stdin as the message: the status line on stdout, the
 * exit status (0, 75, 100) returned. */
int deliver_job(struct delivery *d, int maildrop, const struct special *sp)
{
	struct stat st;
	if (fstat(0, &st) < 0 || !S_ISREG(st.st_mode)) {
		printf("4.3.0 deliver: stdin is not the queued message\n");
		return DELIVER_TEMP;
	}
	d->msgfd = 0;
	buf_printf(&d->prefix, "Return-Path: <%s>\nDelivered-To: %s\n", d->sender, d->rcpt);
	int r = run(d, maildrop, sp);
	printf("%s\n", d->answer.len ? buf_cstr(&d->answer) : "4.3.0 no answer");
	fflush(stdout);
	buf_free(&d->prefix);
	buf_free(&d->answer);
	return r;
}

int deliver_args_ok(const struct delivery *d)
{
	return d->home && d->maildir && d->sender && d->rcpt && d->rcpt[0] && text_ok(d->sender) &&
	       text_ok(d->rcpt) && text_ok(d->ext) && text_ok(d->qid) && text_ok(d->quota) &&
	       d->home[0] == '/';
}

int main(int argc, char **argv)
{
	struct delivery d = { 0 };
	int maildrop = 0, c;
	struct special sp = { .n = 0 };
	d.ext = "";
	d.qid = "";
	d.quota = "";
	log_init("deliver");
	priv_refuse_root("deliver");
	signal(SIGPIPE, SIG_IGN);
	signal(SIGXFSZ, SIG_IGN);
	umask(077);
	if (argc == 2 && strcmp(argv[1], "-W") == 0)
		return deliver_worker();
	while ((c = getopt(argc, argv, "Mh:m:s:r:e:q:Q:P:F:")) != -1) {
		switch (c) {
		case 'P': case 'F':
			if (sp.n == MAX_SPECIAL)
				return usage();
			sp.kind[sp.n] = (char)c;
			sp.target[sp.n++] = optarg;
			break;
		case 'M': maildrop = 1; break;
		case 'h': d.home = optarg; break;
		case 'm': d.maildir = optarg; break;
		case 's': d.sender = optarg; break;
		case 'r': d.rcpt = optarg; break;
		case 'e': d.ext = optarg; break;
		case 'q': d.qid = optarg; break;
		case 'Q': d.quota = optarg; break;
		default: return usage();
		}
	}
	if (optind != argc || !deliver_args_ok(&d))
		return usage();
	return deliver_job(&d, maildrop, &sp);
}
