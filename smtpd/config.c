/* smtpd config: smtpd.conf (smtpd.conf(5)) with safe defaults. Trusts the
 * configuration directory; unknown settings are an error so a misspelling is seen. */
#include "smtpd.h"

#include "alloc.h"
#include "config.h"
#include "paths.h"

#include <stddef.h>
#include <stdlib.h>
#include <string.h>

static const char *const known[] = {
	"max_message_size", "max_recipients", "max_line_length", "max_data_line_length",
	"max_bad_commands", "max_errors", "tarpit_delay", "command_timeout",
	"session_timeout", "submit_timeout", "vrfy", "recipient_check", "auth_loopback",
	"sender_check", "tls_cert", "tls_key", "dnsbl_zones", NULL,
};

struct num_setting {
	const char *name;
	uint64_t def, min, max;
	enum config_unit unit;
	size_t off;
};

#define OFF(f) offsetof(struct smtpd_conf, f)
static const struct num_setting nums[] = {
	{ "max_message_size", 64u << 20, 1024, 1ull << 40, CONFIG_UNIT_SIZE, OFF(max_message_size) },
	{ "max_recipients", 100, 1, 100000, CONFIG_UNIT_NONE, OFF(max_recipients) },
	{ "max_line_length", 2048, 512, 65536, CONFIG_UNIT_SIZE, OFF(max_line) },
	{ "max_data_line_length", 8192, 998, 1u << 20, CONFIG_UNIT_SIZE, OFF(max_data_line) },
	{ "max_bad_commands", 10, 1, 10000, CONFIG_UNIT_NONE, OFF(max_bad_commands) },
	{ "max_errors", 3, 0, 10000, CONFIG_UNIT_NONE, OFF(max_errors) },
	{ "tarpit_delay", 1, 0, 60, CONFIG_UNIT_DURATION, OFF(tarpit_delay) },
	{ "command_timeout", 300, 1, 86400, CONFIG_UNIT_DURATION, OFF(command_timeout) },
	{ "session_timeout", 3600, 1, 7 * 86400, CONFIG_UNIT_DURATION, OFF(session_timeout) },
	{ "submit_timeout", 600, 1, 86400, CONFIG_UNIT_DURATION, OFF(submit_timeout) },
};

struct bool_setting {
	const char *name;
	int def;
	size_t off;
};

static const struct bool_setting bools[] = {
	{ "vrfy", 0, OFF(vrfy) },
	{ "recipient_check", 1, OFF(recipient_check) },
	{ "auth_loopback", 1, OFF(auth_loopback) },
	{ "sender_check", 1, OFF(sender_check) },
};

static char *conf_path(const struct config_env *env, const char *name, const char *def)
{
	const char *v = def;
	struct buf p = BUF_INIT;
	config_env_string(env, name, def, &v);
	config_path(&p, v);
	return buf_detach(&p);
}

int smtpd_conf_read(struct smtpd_conf *c, struct buf *err)
{
	struct config_env env = CONFIG_ENV_INIT;
	int rc = -1;
	memset(c, 0, sizeof *c);
	if (config_read_env("smtpd.conf", &env, err) < 0 || config_env_check(&env, known, err) < 0)
		goto out;
	for (size_t i = 0; i < sizeof nums / sizeof nums[0]; i++) {
		const struct num_setting *n = &nums[i];
		if (config_env_u64(&env, n->name, n->def, n->min, n->max, n->unit,
				   (uint64_t *)((char *)c + n->off), err) < 0)
			goto out;
	}
	for (size_t i = 0; i < sizeof bools / sizeof bools[0]; i++) {
		if (config_env_bool(&env, bools[i].name, bools[i].def,
				    (int *)((char *)c + bools[i].off), err) < 0)
			goto out;
	}
	c->tls_cert = conf_path(&env, "tls_cert", "smtpd.pem");
	const struct config_setting *k = config_env_find(&env, "tls_key");
	c->tls_key = k ? conf_path(&env, "tls_key", "") : xstrdup(c->tls_cert);
	const char *z = "";
	config_env_string(&env, "dnsbl_zones", "", &z);
	c->dnsbl_zones = xstrdup(z);
	rc = 0;
out:
	config_env_free(&env);
	return rc;
}

void smtpd_conf_free(struct smtpd_conf *c)
{
	free(c->tls_cert);
	free(c->tls_key);
	free(c->dnsbl_zones);
	c->tls_cert = c->tls_key = c->dnsbl_zones = NULL;
}
