/* auth-exec: switch to an authenticated account and exec its mail stage.
 *
 *   auth-exec SERVICE        (auth-exec(8); run by pop3-login / imap-login)
 *
 * Installed set-user-id root, mode 4750, group estafette-net. What it trusts:
 * its own location (the instance root comes from /proc/self/exe, checked by
 * paths_root_from_exe; ESTAFETTE_ROOT is ignored when set-id), the key file
 * etc/estafette/authd.key, and a ticket (ESTAFETTE_TICKET) whose HMAC verifies
 * under that key (lib/ticket). Nothing else from its caller: the program comes
 * from the fixed table below, the environment is rebuilt from nothing with
 * checked values, uid 0 and gid 0 are refused. It parses no network input.
 * Not set-id (a sandbox run by an ordinary user), priv_drop_to_ids succeeds
 * only for the caller's own ids, so it can never become anybody else. */
#include "buf.h"
#include "log.h"
#include "paths.h"
#include "priv.h"
#include "ticket.h"

#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

static const struct {
	const char *service, *program;
} stages[] = {
	{ "pop3", "pop3d" },
	{ "imap", "imapd" },
};

/* Variables copied as they are when printable ASCII within max bytes. */
static const struct {
	const char *name;
	size_t max;
	int spaces;
} copied[] = {
	{ "TCPREMOTEIP", 255, 0 }, { "TCPREMOTEPORT", 255, 0 }, { "TCPLOCALIP", 255, 0 },
	{ "TCPLOCALPORT", 255, 0 }, { "TCPREMOTEHOST", 255, 0 }, { "PROTO", 255, 0 },
	{ "ESTAFETTE_LOGIN_STATE", 1024, 1 },
};

#define MAX_ENV 24

static const char *fail_reply; /* ESTAFETTE_LOGIN_FAIL, checked */

static int printable(const char *s, size_t max, int spaces)
{
	size_t n = strlen(s);
	for (size_t i = 0; i < n; i++)
		if (s[i] < (spaces ? 0x20 : 0x21) || s[i] > 0x7e)
			return 0;
	return n <= max;
}

static _Noreturn void refuse(int code, const char *why, const char *detail)
{
	log_error("refused: %s%s%s", why, detail ? ": " : "", detail ? detail : "");
	if (fail_reply) {
		struct buf r = BUF_INIT;
		buf_printf(&r, "%s\r\n", fail_reply);
		(void)!write(1, r.data, r.len);
		buf_free(&r);
	}
	exit(code);
}

static void env_add(char **envp, size_t *n, const char *name, const char *value)
{
	struct buf b = BUF_INIT;
	buf_printf(&b, "%s=%s", name, value);
	if (*n + 1 < MAX_ENV)
		envp[(*n)++] = buf_detach(&b);
	buf_free(&b);
}

/* The account's maildir, absolute: authd's, or relative to home, or home/Maildir. */
static void maildir_of(const struct account *a, struct buf *out)
{
	if (a->maildir[0] == '/') {
		buf_set_str(out, a->maildir);
		return;
	}
	paths_join(out, a->home, a->maildir[0] ? a->maildir : "Maildir");
}

static void build_env(char **envp, const struct account *a)
{
	size_t n = 0;
	struct buf md = BUF_INIT;
	maildir_of(a, &md);
	env_add(envp, &n, "HOME", a->home);
	env_add(envp, &n, "USER", a->address);
	env_add(envp, &n, "AUTHENTICATED", a->address);
	env_add(envp, &n, "MAILDIR", buf_cstr(&md));
	env_add(envp, &n, "QUOTA", a->quota);
	env_add(envp, &n, "OPTIONS", a->options);
	env_add(envp, &n, "ESTAFETTE_ROOT", paths_root());
	env_add(envp, &n, "PATH", "/usr/bin:/bin");
	for (size_t i = 0; i < sizeof copied / sizeof copied[0]; i++) {
		const char *v = getenv(copied[i].name);
		if (v && printable(v, copied[i].max, copied[i].spaces))
			env_add(envp, &n, copied[i].name, v);
	}
	const char *lg = getenv("ESTAFETTE_LOG");
	if (lg && (strcmp(lg, "stderr") == 0 || strcmp(lg, "syslog") == 0))
		env_add(envp, &n, "ESTAFETTE_LOG", lg);
	envp[n] = NULL;
	buf_free(&md);
}

static const char *program_of(const char *service)
{
	for (size_t i = 0; i < sizeof stages / sizeof stages[0]; i++)
		if (strcmp(stages[i].service, service) == 0)
			return stages[i].program;
	return NULL;
}

int main(int argc, char **argv)
{
	log_init("auth-exec");
	const char *fr = getenv("ESTAFETTE_LOGIN_FAIL");
	if (fr && printable(fr, 512, 1))
		fail_reply = fr;
	const char *program = argc == 2 ? program_of(argv[1]) : NULL;
	if (program == NULL)
		refuse(EX_USAGE, "usage: auth-exec pop3|imap", NULL);
	int setid = getauxval(AT_SECURE) != 0;
	if (setid && paths_root_from_exe() < 0)
		refuse(EX_TEMPFAIL, "cannot establish the instance root from /proc/self/exe", NULL);
	struct buf key = BUF_INIT, err = BUF_INIT, path = BUF_INIT;
	struct account a = ACCOUNT_INIT;
	const char *t = getenv("ESTAFETTE_TICKET");
	if (t == NULL)
		refuse(EX_NOPERM, "no ESTAFETTE_TICKET", NULL);
	if (ticket_key_load(NULL, &key, &err) < 0)
		refuse(EX_TEMPFAIL, "key", buf_cstr(&err));
	if (ticket_verify(t, strlen(t), &key, argv[1], time(NULL), &a, &err) < 0)
		refuse(EX_NOPERM, "ticket", buf_cstr(&err));
	explicit_bzero(key.data, key.cap);
	if (a.uid == 0 || a.gid == 0)
		refuse(EX_NOPERM, "account has uid or gid 0", a.address);
	if (!priv_is_root() && (a.uid != getuid() || a.uid != geteuid()))
		refuse(EX_NOPERM, "not set-id and the account is another user", a.address);
	if (priv_drop_to_ids(a.uid, a.gid, 0, &err) < 0)
		refuse(priv_is_root() ? EX_TEMPFAIL : EX_NOPERM, "drop", buf_cstr(&err));
	if (chdir(a.home) < 0)
		refuse(EX_TEMPFAIL, "cannot enter the home directory", a.home);
	char *envp[MAX_ENV];
	build_env(envp, &a);
	paths_join(&path, paths_libexec(), program);
	char *args[] = { (char *)program, NULL };
	log_debug("%s: uid=%lu exec %s", a.address, (unsigned long)a.uid, buf_cstr(&path));
	execve(buf_cstr(&path), args, envp);
	refuse(EX_TEMPFAIL, "cannot execute the mail stage", buf_cstr(&path));
}
