/* sendmail: the sendmail(8)-compatible command line over submit(8).
 *
 * Runs as the invoking user with no privilege of its own: it reads the
 * message, fixes its header (sendmail_msg.c) and executes ROOT/libexec/
 * estafette/submit (setgid queue) with a pipe, never through a shell. The
 * sender it declares is the user's own address unless -f says otherwise; the
 * real uid is recorded by submit in Received: either way. Invoked as mailq it
 * lists the queue (-bp), as newaliases it rebuilds the aliases map (-bi).
 * Options follow Postfix's sendmail(1) where they exist there; sendmail(8)
 * documents each one. Exit statuses are sysexits.h values. */
#include "sendmail.h"
#include "alloc.h"
#include "log.h"
#include "queue.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

struct opts {
	char mode;             /* m (send), s (-bs), p (-bp), i (-bi), q (-q) */
	int extract, ignore_dots, verbose;
	const char *sender, *fullname, *notify, *ret, *envid, *body, *qarg, *tag;
	char **rcpts;
	size_t nrcpt;
};

static _Noreturn void usage(const char *why)
{
	if (why)
		sm_warn("%s", why);
	sm_die(SM_EX_USAGE, "usage: %s [-t] [-i] [-f sender] [-F name] [-N dsn] [-R ret] "
	       "[-V envid] [-B body] [-bm|-bs|-bp|-bi] [-q] [--] [recipient ...]",
	       sm_progname());
}

static void set_mode(struct opts *o, const char *arg)
{
	static const char known[] = "mspi";
	if (arg[0] && !arg[1] && strchr(known, arg[0])) {
		o->mode = arg[0];
		return;
	}
	struct buf m = BUF_INIT;
	buf_printf(&m, "-b%s is not supported", arg);
	if (arg[0] == 'd' || arg[0] == 'D' || arg[0] == 'l')
		buf_append_str(&m, " (the SMTP daemon is smtpd under listener(8))");
	usage(buf_cstr(&m));
}

/* One option letter c with its argument (NULL for a flag). */
static void option(struct opts *o, char c, const char *arg)
{
	switch (c) {
	case 't': o->extract = 1; break;
	case 'i': o->ignore_dots = 1; break;
	case 'v': o->verbose = 1; break;
	case 'G': case 'n': case 'm': case 'U': break;  /* accepted, no effect */
	case 'A': case 'h': case 'O': case 'p': case 'e': break; /* the same, with argument */
	case 'I': o->mode = 'i'; break;
	case 'o': if (arg[0] == 'i') o->ignore_dots = 1; break; /* -oi; other -o ignored */
	case 'b': set_mode(o, arg); break;
	case 'q': o->mode = 'q'; o->qarg = arg; break;
	case 'f': case 'r': o->sender = arg; break;
	case 'F': o->fullname = arg; break;
	case 'N': o->notify = arg; break;
	case 'R': o->ret = arg; break;
	case 'V': o->envid = arg; break;
	case 'B': o->body = arg; break;
	case 'L': o->tag = arg; break;
	case 'C': usage("-C is not supported: the instance root is ESTAFETTE_ROOT");
	case 'X': usage("-X (traffic log) is not supported");
	default: {
		struct buf m = BUF_INIT;
		buf_printf(&m, "invalid option -%c", c);
		usage(buf_cstr(&m));
	}
	}
}

/* getopt-like: letters may be grouped ("-ti"); an option's argument is the rest
 * of its word or the next word; -q takes only an attached argument. Non-option
 * words anywhere are recipients (as GNU getopt permutes for Postfix); "--"
 * ends the options. */
static void parse_args(struct opts *o, int argc, char **argv)
{
	static const char with_arg[] = "ABCFLNORVXbefhopr";
	o->rcpts = xcalloc((size_t)argc + 1, sizeof *o->rcpts);
	int i = 1, only_rcpts = 0;
	for (; i < argc; i++) {
		const char *a = argv[i];
		if (only_rcpts || a[0] != '-' || a[1] == '\0') {
			o->rcpts[o->nrcpt++] = argv[i];
			continue;
		}
		if (strcmp(a, "--") == 0) {
			only_rcpts = 1;
			continue;
		}
		for (size_t j = 1; a[j]; j++) {
			char c = a[j];
			if (c == 'q') {
				option(o, c, a + j + 1);
				break;
			}
			if (!strchr(with_arg, c)) {
				option(o, c, NULL);
				continue;
			}
			const char *arg = a + j + 1;
			if (*arg == '\0') {
				if (i + 1 >= argc)
					usage("option requires an argument");
				arg = argv[++i];
			}
			option(o, c, arg);
			break;
		}
	}
}

/* -N never | success,failure,delay (any case, blanks allowed) -> "SUCCESS,..." */
static char *parse_notify(const char *s)
{
	static const char *const words[] = { "NEVER", "SUCCESS", "FAILURE", "DELAY", NULL };
	struct buf out = BUF_INIT;
	const char *p = s;
	while (*p) {
		size_t n = strcspn(p, ", \t");
		size_t k = 0;
		for (; n > 0 && words[k]; k++)
			if (strlen(words[k]) == n && strncasecmp(p, words[k], n) == 0)
				break;
		if (n > 0 && words[k] == NULL)
			usage("-N takes never or a list of success, failure, delay");
		if (n > 0) {
			if (out.len)
				buf_append_char(&out, ',');
			buf_append_str(&out, words[k]);
		}
		p += n;
		p += strspn(p, ", \t");
	}
	if (!queue_notify_valid(buf_cstr(&out), out.len))
		usage("-N: never cannot be combined, and each word may appear once");
	return buf_detach(&out);
}

/* -V: the ENVID as xtext (RFC 3461 4): '+', '=' and non-printables as +XX. */
static char *parse_envid(const char *s)
{
	struct buf out = BUF_INIT;
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if (*p < 0x20 || *p >= 0x7f)
			usage("-V: the envelope id must be printable ASCII");
		if (*p == '+' || *p == '=' || *p == ' ')
			buf_printf(&out, "+%02X", *p);
		else
			buf_append_char(&out, (char)*p);
	}
	if (out.len == 0 || out.len > SM_MAX_ENVID)
		usage("-V: the envelope id must be 1 to 100 bytes (as xtext)");
	return buf_detach(&out);
}

static const char *pick(const char *s, const char *a, const char *b, const char *what)
{
	if (strcasecmp(s, a) == 0)
		return a;
	if (strcasecmp(s, b) == 0)
		return b;
	usage(what);
}

static void build_env(const struct opts *o, const struct sm_site *site, struct sm_env *e)
{
	struct buf err = BUF_INIT;
	sm_env_init(e);
	if (o->notify)
		e->notify = parse_notify(o->notify);
	if (o->ret)
		e->ret = pick(o->ret, "FULL", "HDRS", "-R takes full or hdrs");
	if (o->body)
		e->body = pick(o->body, "8BITMIME", "7BIT", "-B takes 8BITMIME or 7BIT");
	if (o->envid)
		e->envid = parse_envid(o->envid);
	if (o->sender) {
		if (sm_parse_sender(site, o->sender, e, &err) < 0)
			sm_die(SM_EX_DATAERR, "%s", buf_cstr(&err));
		if (site->uid != 0)
			log_info("uid=%lu user=%s set the sender to <%s> with -f",
				 (unsigned long)site->uid, site->login.data,
				 e->sender);
	} else {
		struct buf s = BUF_INIT;
		addr_quote_local(&s, site->login.data, site->login.len);
		buf_printf(&s, "@%s", site->domain.data);
		e->sender = buf_detach(&s);
	}
	for (size_t i = 0; i < o->nrcpt; i++)
		if (sm_add_list(site, e, o->rcpts[i], strlen(o->rcpts[i]), e->notify, &err) < 0)
			sm_die(SM_EX_NOUSER, "%s: %s", o->rcpts[i], buf_cstr(&err));
	buf_free(&err);
}

/* Feed stdin to m. Without -i a line holding only "." (LF or CRLF) ends the
 * message; nothing is unstuffed (as sendmail and Postfix do outside SMTP).
 * pend: 1 = "." held at a line start, 2 = ".\r" held. */
static void read_message(struct sm_msg *m, int ignore_dots)
{
	struct buf in = BUF_INIT, out = BUF_INIT;
	int bol = 1, pend = 0, done = 0;
	while (!done) {
		buf_reset(&in);
		char *p = buf_space(&in, 65536);
		ssize_t n = read(0, p, 65536);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			sm_die(SM_EX_TEMPFAIL, "reading the message: %s", strerror(errno));
		if (n == 0)
			break;
		if (ignore_dots) {
			sm_msg_feed(m, p, (size_t)n);
			continue;
		}
		buf_reset(&out);
		for (ssize_t k = 0; k < n && !done; k++) {
			char c = p[k];
			if (pend == 1 && (c == '\n' || c == '\r')) {
				done = c == '\n';
				pend = 2;
				continue;
			}
			if (pend == 2 && c == '\n') {
				done = 1;
				continue;
			}
			if (pend)
				buf_append(&out, ".\r", (size_t)pend);
			pend = 0;
			if (bol && c == '.') {
				pend = 1;
				bol = 0;
				continue;
			}
			buf_append_char(&out, c);
			bol = c == '\n';
		}
		sm_msg_feed(m, out.data, out.len);
	}
	if (pend && !done)
		sm_msg_feed(m, ".\r", (size_t)pend);
	buf_free(&in);
	buf_free(&out);
}

static int send_mode(const struct opts *o, const struct sm_site *site)
{
	struct sm_env e;
	struct sm_msg m;
	struct buf reply = BUF_INIT;
	if (o->nrcpt == 0 && !o->extract)
		usage("no recipients: give them as arguments or use -t");
	build_env(o, site, &e);
	unsigned flags = SM_MSG_FROM_LINE | (o->extract ? SM_MSG_EXTRACT : 0);
	sm_msg_begin(&m, site, &e, flags, o->fullname);
	read_message(&m, o->ignore_dots);
	int rc = sm_msg_end(&m, &reply);
	if (rc != SM_EX_OK)
		sm_warn("%s", buf_cstr(&reply));
	else if (o->verbose)
		sm_warn("%s", buf_cstr(&reply));
	sm_env_free(&e);
	buf_free(&reply);
	return rc;
}

static const char *base_name(const char *p)
{
	const char *s = strrchr(p, '/');
	return s ? s + 1 : p;
}

static void sane_fds(void)
{
	for (int fd = 0; fd < 3; fd++)
		if (fcntl(fd, F_GETFD) < 0 && open("/dev/null", O_RDWR) != fd)
			_exit(SM_EX_TEMPFAIL);
}

int main(int argc, char **argv)
{
	struct opts o;
	struct sm_site site;
	memset(&o, 0, sizeof o);
	sane_fds();
	signal(SIGPIPE, SIG_IGN); /* submit may stop reading early; its reply says why */
	const char *name = argc > 0 ? base_name(argv[0]) : "sendmail";
	o.mode = strcmp(name, "mailq") == 0 ? 'p' : strcmp(name, "newaliases") == 0 ? 'i' : 'm';
	sm_set_progname(o.mode == 'p' ? "mailq" : o.mode == 'i' ? "newaliases" : "sendmail");
	parse_args(&o, argc, argv);
	log_init(o.tag ? o.tag : sm_progname());
	if (o.mode != 'm' && o.nrcpt > 0)
		usage("recipients are only for sending (-bm)");
	int rc;
	switch (o.mode) {
	case 'p': rc = sm_mailq(); break;
	case 'q': rc = sm_queue_run(o.qarg); break;
	case 'i': rc = sm_newaliases(); break;
	default:
		sm_site_load(&site);
		rc = o.mode == 's' ? sm_smtp_run(&site) : send_mode(&o, &site);
		sm_site_free(&site);
	}
	free(o.rcpts);
	return rc;
}
