/* backend_system: the host's own accounts, getpwnam(3) for lookups and PAM
 * (service system.pam_service, default "estafette") for passwords.
 *
 * Only names of the portable shape ([a-z0-9._-], 1-32 bytes, optionally
 * followed by "@" and system.domain) and uids from system.min_uid up are
 * considered, so that root and daemon accounts never log in. PAM's answers
 * are trusted as they are; reading /etc/shadow needs the auth user in group
 * shadow (authd-ldap(5), SYSTEM ACCOUNTS). */
#include "backend.h"
#include "alloc.h"
#include "config.h"

#include <errno.h>
#include <pwd.h>
#include <security/pam_appl.h>
#include <stdlib.h>
#include <string.h>

struct backend {
	char *service, *domain;
	uint64_t min_uid;
};

static struct backend *sys_open(const struct config_env *conf, struct buf *err)
{
	struct backend *be = xcalloc(1, sizeof *be);
	const char *v;
	config_env_string(conf, "system.pam_service", "estafette", &v);
	be->service = xstrdup(v);
	config_env_string(conf, "system.domain", "", &v);
	be->domain = xstrdup(v);
	if (config_env_u64(conf, "system.min_uid", 1000, 0, 0xfffffffeu, CONFIG_UNIT_NONE,
			   &be->min_uid, err) < 0) {
		free(be->service);
		free(be->domain);
		free(be);
		return NULL;
	}
	return be;
}

static void sys_close(struct backend *be)
{
	free(be->service);
	free(be->domain);
	free(be);
}

/* The login name in user, or 0 if user cannot be a system account. */
static size_t login_name(const struct backend *be, const char *user, char name[33])
{
	size_t n = strcspn(user, "@");
	if (n == 0 || n > 32)
		return 0;
	if (user[n] == '@' && (*be->domain == '\0' || strcasecmp(user + n + 1, be->domain) != 0))
		return 0;
	for (size_t i = 0; i < n; i++) {
		char c = user[i];
		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '_' ||
		      (c == '-' && i > 0)))
			return 0;
	}
	memcpy(name, user, n);
	name[n] = '\0';
	return n;
}

static int sys_lookup(struct backend *be, const char *service, const char *user,
		      struct backend_account *out, struct buf *err)
{
	char name[33], sbuf[4096];
	struct passwd pw, *res = NULL;
	(void)service;
	if (login_name(be, user, name) == 0)
		return BACKEND_NOTFOUND;
	int r = getpwnam_r(name, &pw, sbuf, sizeof sbuf, &res);
	if (r != 0 && r != ENOENT && r != ESRCH) {
		buf_printf(err, "getpwnam %s: %s", name, strerror(r));
		return BACKEND_ERROR;
	}
	if (res == NULL || (uint64_t)pw.pw_uid < be->min_uid)
		return BACKEND_NOTFOUND;
	backend_account_reset(out);
	buf_set_str(&out->address, name);
	out->uid = pw.pw_uid;
	out->gid = pw.pw_gid;
	buf_set_str(&out->home, pw.pw_dir);
	buf_printf(&out->maildir, "%s/Maildir", pw.pw_dir);
	return BACKEND_FOUND;
}

struct conv_data {
	const char *pass;
	size_t len;
};

/* Answer PAM's password prompt; anything else gets no answer. */
static int sys_conv(int n, const struct pam_message **msg, struct pam_response **resp, void *p)
{
	const struct conv_data *cd = p;
	if (n <= 0 || n > 16)
		return PAM_CONV_ERR;
	struct pam_response *r = calloc((size_t)n, sizeof *r);
	if (r == NULL)
		return PAM_BUF_ERR;
	for (int i = 0; i < n; i++) {
		if (msg[i]->msg_style != PAM_PROMPT_ECHO_OFF)
			continue;
		if ((r[i].resp = malloc(cd->len + 1)) == NULL) {
			for (int j = 0; j < i; j++)
				free(r[j].resp);
			free(r);
			return PAM_BUF_ERR;
		}
		memcpy(r[i].resp, cd->pass, cd->len);
		r[i].resp[cd->len] = '\0';
	}
	*resp = r;
	return PAM_SUCCESS;
}

static int sys_verify(struct backend *be, const char *service, const struct backend_account *acct,
		      const char *pass, size_t len, struct buf *err)
{
	struct conv_data cd = { pass, len };
	struct pam_conv conv = { sys_conv, &cd };
	pam_handle_t *ph = NULL;
	(void)service;
	if (len == 0 || len > 511 || memchr(pass, '\0', len))
		return 0;
	int rc = pam_start(be->service, buf_cstr((struct buf *)&acct->address), &conv, &ph);
	if (rc == PAM_SUCCESS)
		rc = pam_authenticate(ph, PAM_SILENT | PAM_DISALLOW_NULL_AUTHTOK);
	if (rc == PAM_SUCCESS)
		rc = pam_acct_mgmt(ph, PAM_SILENT | PAM_DISALLOW_NULL_AUTHTOK);
	int r = rc == PAM_SUCCESS ? 1 : 0;
	if (rc == PAM_AUTHINFO_UNAVAIL || rc == PAM_SYSTEM_ERR || rc == PAM_BUF_ERR ||
	    rc == PAM_ABORT || rc == PAM_CONV_ERR) {
		buf_printf(err, "pam service %s: %s", be->service,
			   ph ? pam_strerror(ph, rc) : "pam_start failed");
		r = -1;
	}
	if (ph)
		pam_end(ph, rc);
	return r;
}

const struct backend_ops backend_system = {
	.name = "system",
	.open = sys_open,
	.lookup = sys_lookup,
	.verify = sys_verify,
	.enumerate = NULL,
	.close = sys_close,
};
