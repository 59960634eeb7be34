/* courierd: courierd.conf, locals and me (courierd(8) CONFIGURATION). */
#include "courierd.h"
#include "alloc.h"

#include <stdlib.h>
#include <string.h>

static const char *const known[] = {
	"queue_lifetime", "delay_warning", "retry_schedule", "max_deliveries", "max_per_destination",
	"scan_interval", "dsn_max_full", "extension_delimiters", "double_bounce_to", NULL,
};

static int parse_schedule(struct cd_conf *c, const char *s, struct buf *err)
{
	c->nretry = 0;
	while (*s) {
		size_t len = strcspn(s, ", ");
		if (len) {
			if (c->nretry == CD_MAX_RETRY) {
				buf_error(err, "courierd.conf: retry_schedule has too many steps");
				return -1;
			}
			if (config_parse_u64(s, len, CONFIG_UNIT_DURATION, 1, 30 * 86400,
					     &c->retry[c->nretry], err) < 0)
				return -1;
			c->nretry++;
		}
		s += len;
		s += strspn(s, ", ");
	}
	if (c->nretry == 0) {
		buf_error(err, "courierd.conf: empty retry_schedule");
		return -1;
	}
	return 0;
}

static int get_numbers(struct cd_conf *c, const struct config_env *env, struct buf *err)
{
	if (config_env_u64(env, "queue_lifetime", 5 * 86400, 1, 365 * 86400, CONFIG_UNIT_DURATION,
			   &c->lifetime, err) < 0 ||
	    config_env_u64(env, "max_deliveries", 20, 1, 1000, CONFIG_UNIT_NONE, &c->max_deliveries,
			   err) < 0 ||
	    config_env_u64(env, "max_per_destination", 5, 1, 1000, CONFIG_UNIT_NONE,
			   &c->max_per_dest, err) < 0 ||
	    config_env_u64(env, "scan_interval", 60, 1, 3600, CONFIG_UNIT_DURATION,
			   &c->scan_interval, err) < 0 ||
	    config_env_u64(env, "dsn_max_full", 256 * 1024, 0, 64u << 20, CONFIG_UNIT_SIZE,
			   &c->dsn_max_full, err) < 0 ||
	    config_env_u64(env, "delay_warning", 4 * 3600, 0, 365 * 86400, CONFIG_UNIT_DURATION,
			   &c->delay_warning, err) < 0)
		return -1;
	return 0;
}

int cd_conf_load(struct cd_conf *c, struct buf *err)
{
	struct config_env env = CONFIG_ENV_INIT;
	const char *v;
	int rc = -1;
	memset(c, 0, sizeof *c);
	if (config_read_env("courierd.conf", &env, err) < 0 || config_env_check(&env, known, err) < 0 ||
	    get_numbers(c, &env, err) < 0)
		goto out;
	config_env_string(&env, "retry_schedule", "5m,15m,30m,1h,2h,4h", &v);
	if (parse_schedule(c, v, err) < 0)
		goto out;
	config_env_string(&env, "extension_delimiters", "-+", &v);
	if (strlen(v) >= sizeof c->delimiters || strpbrk(v, "@ \t")) {
		buf_error(err, "courierd.conf: bad extension_delimiters");
		goto out;
	}
	memcpy(c->delimiters, v, strlen(v) + 1);
	config_env_string(&env, "double_bounce_to", "", &v);
	c->double_bounce = v[0] ? xstrdup(v) : NULL;
	if (config_me(&c->me, err) < 0 || config_read_list("locals", &c->locals, err) < 0)
		goto out;
	rc = 0;
out:
	config_env_free(&env);
	return rc;
}

void cd_conf_free(struct cd_conf *c)
{
	free(c->double_bounce);
	config_list_free(&c->locals);
	buf_free(&c->me);
	memset(c, 0, sizeof *c);
}
