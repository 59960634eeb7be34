/* authd: the suite's one reader of credentials (authd(8)).
 *
 *   authd [--root DIR] [--debug]
 *
 * Listens on paths_run()/authd/socket. Started as root it creates the socket,
 * gives it and its directory to the auth user (estafette-auth), and drops to
 * that user with lib/priv before it accepts anything; root never reads a
 * request. Connections are served by pre-forked processes, one at a time each
 * (pool.c), after an SO_PEERCRED check against the suite's users, so a slow
 * password hash or a failure delay holds up only that client. Runs in the
 * foreground; SIGTERM or SIGINT closes the socket, removes it and exits 0.
 *
 * Trusts: its configuration (authd.conf) and the account databases; nothing
 * that comes over the socket. */
#define _GNU_SOURCE /* SO_PEERCRED */
#include "authd.h"
#include "alloc.h"
#include "authclient.h"
#include "backend.h"
#include "buf.h"
#include "config.h"
#include "failures.h"
#include "file.h"
#include "log.h"
#include "passwd.h"
#include "paths.h"
#include "pool.h"
#include "priv.h"
#include "protocol.h"
#include "ticket.h"

#include <errno.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sysexits.h>
#include <unistd.h>

#define AUTH_USER "estafette-auth"
#define MAX_ALLOWED 32

/* The suite's users (scripts/users) allowed to connect, besides root and authd's own uid. */
static const char *const default_allowed =
	"estafette estafette-net estafette-auth estafette-remote estafette-mail";

static const char *const known_settings[] = {
	"backends", "fail_delay_ms", "timeout", "max_connections", "max_user_failures",
	"max_ip_failures", "failure_window", "user", "allow_users", "mechanisms",
	"min_spare", "max_spare",
};

static uid_t allowed[MAX_ALLOWED];
static size_t nallowed;

static void allow_uid(uid_t uid)
{
	for (size_t i = 0; i < nallowed; i++)
		if (allowed[i] == uid)
			return;
	if (nallowed < MAX_ALLOWED)
		allowed[nallowed++] = uid;
}

static void allow_users(const char *list)
{
	allow_uid(0);
	allow_uid(geteuid());
	char *copy = xstrdup(list), *save = NULL;
	for (char *n = strtok_r(copy, " ,", &save); n; n = strtok_r(NULL, " ,", &save)) {
		struct passwd *pw = getpwnam(n);
		if (pw)
			allow_uid(pw->pw_uid);
		else
			log_debug("allow_users: no user %s", n);
	}
	free(copy);
}

static int peer_allowed(int fd, uid_t *uid)
{
	struct ucred cred;
	socklen_t len = sizeof cred;
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0)
		return 0;
	*uid = cred.uid;
	for (size_t i = 0; i < nallowed; i++)
		if (allowed[i] == cred.uid)
			return 1;
	return 0;
}

static void get_u64(const struct config_env *env, const char *name, uint64_t def, uint64_t min,
		    uint64_t max, enum config_unit unit, uint64_t *out)
{
	struct buf err = BUF_INIT;
	if (config_env_u64(env, name, def, min, max, unit, out, &err) < 0)
		log_fatal(EX_CONFIG, "%s", buf_cstr(&err));
	buf_free(&err);
}

static void open_backends(struct authd *d, const struct config_env *env)
{
	const char *list;
	struct buf err = BUF_INIT;
	config_env_string(env, "backends", "userdb", &list);
	char *copy = xstrdup(list), *save = NULL;
	for (char *n = strtok_r(copy, " ,", &save); n; n = strtok_r(NULL, " ,", &save)) {
		const struct backend_ops *ops = backend_find(n);
		if (ops == NULL)
			log_fatal(EX_CONFIG, "authd.conf: unknown backend %s", n);
		if (d->nbackends == AUTHD_MAX_BACKENDS)
			log_fatal(EX_CONFIG, "authd.conf: too many backends");
		d->ops[d->nbackends] = ops;
		if ((d->be[d->nbackends] = ops->open(env, &err)) == NULL)
			log_fatal(EX_CONFIG, "backend %s: %s", n, buf_cstr(&err));
		d->nbackends++;
	}
	if (d->nbackends == 0)
		log_fatal(EX_CONFIG, "authd.conf: no backends");
	free(copy);
	buf_free(&err);
}

/* "mechanisms": the SASL mechanisms MECHS offers and SASL accepts. */
static void read_mechanisms(struct authd *d, const struct config_env *env)
{
	const char *list;
	config_env_string(env, "mechanisms", "PLAIN LOGIN", &list);
	char *copy = xstrdup(list), *save = NULL;
	for (char *n = strtok_r(copy, " ,", &save); n; n = strtok_r(NULL, " ,", &save)) {
		int m = protocol_mech_find(n, strlen(n));
		if (m < 0)
			log_fatal(EX_CONFIG, "authd.conf: mechanisms: unknown mechanism %s", n);
		d->mechs |= 1u << m;
	}
	free(copy);
}

static void read_config(struct authd *d, struct config_env *env)
{
	struct buf err = BUF_INIT;
	size_t nk = sizeof known_settings / sizeof known_settings[0];
	size_t nb = 0;
	while (backend_settings[nb])
		nb++;
	const char **known = xcalloc(nk + nb + 1, sizeof *known);
	memcpy(known, known_settings, nk * sizeof *known);
	memcpy(known + nk, backend_settings, nb * sizeof *known);
	if (config_read_env("authd.conf", env, &err) < 0 ||
	    config_env_check(env, known, &err) < 0)
		log_fatal(EX_CONFIG, "%s", buf_cstr(&err));
	free(known);
	get_u64(env, "fail_delay_ms", 1000, 0, 60000, CONFIG_UNIT_NONE, &d->fail_delay_ms);
	get_u64(env, "timeout", 30, 1, 3600, CONFIG_UNIT_DURATION, &d->timeout_s);
	get_u64(env, "max_connections", 64, 1, 10000, CONFIG_UNIT_NONE, &d->max_connections);
	get_u64(env, "min_spare", 2, 0, 10000, CONFIG_UNIT_NONE, &d->min_spare);
	get_u64(env, "max_spare", 8, 1, 10000, CONFIG_UNIT_NONE, &d->max_spare);
	if (d->min_spare > d->max_spare)
		log_fatal(EX_CONFIG, "authd.conf: min_spare is above max_spare");
	get_u64(env, "max_user_failures", 10, 0, 1000000, CONFIG_UNIT_NONE, &d->max_user_failures);
	get_u64(env, "max_ip_failures", 30, 0, 1000000, CONFIG_UNIT_NONE, &d->max_ip_failures);
	get_u64(env, "failure_window", 900, 1, 86400, CONFIG_UNIT_DURATION, &d->failure_window_s);
	read_mechanisms(d, env);
	buf_free(&err);
}

/* Create the socket directory and the listening socket; returns the fd. */
static int make_socket(const char *dir, const char *path, uid_t uid, gid_t gid, int as_root)
{
	if (file_mkdirs(dir, 0755) < 0)
		log_fatal(EX_TEMPFAIL, "%s: %s", dir, strerror(errno));
	if (as_root && (chown(dir, uid, gid) < 0 || chmod(dir, 0755) < 0))
		log_fatal(EX_TEMPFAIL, "%s: %s", dir, strerror(errno));
	struct stat st;
	if (lstat(path, &st) == 0 && S_ISSOCK(st.st_mode))
		unlink(path); /* a stale socket of a previous run */
	struct sockaddr_un sun;
	memset(&sun, 0, sizeof sun);
	sun.sun_family = AF_UNIX;
	if (strlen(path) >= sizeof sun.sun_path)
		log_fatal(EX_CONFIG, "%s: socket path too long", path);
	memcpy(sun.sun_path, path, strlen(path) + 1);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sun, sizeof sun) < 0)
		log_fatal(EX_TEMPFAIL, "%s: %s", path, strerror(errno));
	/* Everyone may connect; SO_PEERCRED decides who is served (authd(8)). */
	if (chmod(path, 0666) < 0 || (as_root && chown(path, uid, gid) < 0) || listen(fd, 128) < 0)
		log_fatal(EX_TEMPFAIL, "%s: %s", path, strerror(errno));
	return fd;
}

/* A hash of nothing anyone types: unknown users cost a real verification. */
static void make_dummy_hash(struct authd *d)
{
	struct buf h = BUF_INIT;
	if (passwd_hash("authd: no such account", 22, PASSWD_DEFAULT, &h) < 0)
		log_fatal(EX_TEMPFAIL, "cannot hash: %s", strerror(errno));
	d->dummy_hash = buf_detach(&h);
}

/* The host name in CRAM-MD5 challenges, and the secret behind unknown users'
 * SCRAM salts: from the ticket key when there is one, so that a user's fake
 * salt stays the same across restarts like a real one. */
static void make_sasl_secrets(struct authd *d)
{
	if (gethostname(d->hostname, sizeof d->hostname - 1) < 0 || d->hostname[0] == '\0')
		memcpy(d->hostname, "localhost", 10);
	d->hostname[sizeof d->hostname - 1] = '\0';
	if (d->ticket_key.len == 0 || EVP_Digest(d->ticket_key.data, d->ticket_key.len,
						  d->fake_secret, NULL, EVP_sha256(), NULL) != 1)
		if (RAND_bytes(d->fake_secret, sizeof d->fake_secret) != 1)
			log_fatal(EX_TEMPFAIL, "no random bytes");
}

static _Noreturn void usage(void)
{
	fputs("usage: authd [--root DIR] [--debug]\n", stderr);
	exit(EX_USAGE);
}

int main(int argc, char **argv)
{
	int debug = 0;
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--root") == 0 && i + 1 < argc)
			paths_set_root(argv[++i]);
		else if (strcmp(argv[i], "--debug") == 0)
			debug = 1;
		else
			usage();
	}
	log_init("authd");
	log_set_debug(debug);
	struct authd d;
	struct config_env env = CONFIG_ENV_INIT;
	memset(&d, 0, sizeof d);
	read_config(&d, &env);
	const char *user, *allow;
	config_env_string(&env, "user", AUTH_USER, &user);
	config_env_string(&env, "allow_users", default_allowed, &allow);

	int as_root = priv_is_root();
	uid_t uid = geteuid();
	gid_t gid = getegid();
	struct buf err = BUF_INIT, dir = BUF_INIT, path = BUF_INIT;
	if (as_root && priv_lookup(user, NULL, &uid, &gid, &err) < 0)
		log_fatal(EX_TEMPFAIL, "%s", buf_cstr(&err));
	allow_users(allow);
	paths_join(&dir, paths_run(), "authd");
	authclient_socket_path(&path);
	umask(022);
	pool_signals();
	int lfd = make_socket(buf_cstr(&dir), buf_cstr(&path), uid, gid, as_root);
	/* the ticket key: made once, kept by the auth user; auth-exec(8) reads it as root */
	if (ticket_key_create(NULL, as_root, uid, gid, &err) < 0 ||
	    ticket_key_load(NULL, &d.ticket_key, &err) < 0)
		log_error("no login tickets: %s", buf_cstr(&err));
	buf_reset(&err);
	/* keep the auth user's supplementary groups: the system backend needs group
	 * shadow for pam_unix (see the authd-system man page); by default there are none */
	if (as_root && priv_drop_to(user, NULL, PRIV_INITGROUPS, &err) < 0)
		log_fatal(EX_TEMPFAIL, "%s", buf_cstr(&err));
	d.self_uid = geteuid();
	allow_uid(d.self_uid);
	open_backends(&d, &env);
	make_dummy_hash(&d);
	make_sasl_secrets(&d);
	if (failures_init(&err) < 0)
		log_fatal(EX_TEMPFAIL, "%s", buf_cstr(&err));
	log_info("listening on %s (%zu backends, %llu connections at most)", buf_cstr(&path),
		 d.nbackends, (unsigned long long)d.max_connections);
	pool_serve(&d, lfd, peer_allowed);
	close(lfd);
	if (unlink(buf_cstr(&path)) < 0)
		log_warn("%s: %s", buf_cstr(&path), strerror(errno));
	for (size_t i = 0; i < d.nbackends; i++)
		d.ops[i]->close(d.be[i]);
	config_env_free(&env);
	free(d.dummy_hash);
	if (d.ticket_key.data)
		explicit_bzero(d.ticket_key.data, d.ticket_key.cap);
	buf_free(&d.ticket_key);
	buf_free(&err);
	buf_free(&dir);
	buf_free(&path);
	return 0;
}
