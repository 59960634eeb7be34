/* courierd: the scheduler (courierd(8)). Shared declarations. */
#ifndef ESTAFETTE_COURIERD_H
#define ESTAFETTE_COURIERD_H

#include "buf.h"
#include "config.h"
#include "queue.h"

#include <stdint.h>
#include <sys/types.h>

#define CD_MAX_RETRY 32
#define CD_MAX_TEXT 500

struct cd_conf {
	uint64_t lifetime;            /* seconds in the queue before bouncing */
	uint64_t retry[CD_MAX_RETRY]; /* backoff schedule; the last repeats */
	size_t nretry;
	uint64_t max_deliveries;      /* jobs at once */
	uint64_t max_per_dest;        /* jobs at once per account or domain */
	uint64_t scan_interval;       /* full rescan at least this often */
	uint64_t dsn_max_full;        /* return only headers beyond this size */
	uint64_t delay_warning;       /* seconds before the "delayed" DSN; 0 = never */
	char delimiters[16];          /* address extension delimiters */
	char *double_bounce;          /* NULL or the postmaster address */
	struct config_list locals;
	struct buf me;
};

/* A delivery module: a process speaking the job protocol on a
 * SOCK_SEQPACKET socket (courierd(8) MODULES). */
struct cd_module {
	const char *name;  /* "local", "remote" */
	int fd;            /* -1: none running */
	pid_t pid;
};

enum cd_route { CD_LOCAL, CD_ALIAS, CD_REMOTE };

struct cd_entry;

struct cd_job {
	uint64_t id;
	struct cd_entry *e;
	size_t idx;          /* recipient index */
	enum cd_route route;
	char *dest;          /* concurrency key */
	char *account, *ext; /* local: authd's account name, extension */
	int64_t started;
	int running;
};

struct cd_entry {
	char id[QUEUE_ID_LEN + 1];
	int64_t next_try;
	int active;          /* a pass is under way */
	size_t running;      /* its jobs waiting or in flight */
	int seen;            /* found by the latest scan */
	struct queue_env env;
};

extern struct cd_conf cd_conf;
extern struct cd_module cd_modules[2];
extern int cd_stopping;

/* conf.c */
int cd_conf_load(struct cd_conf *c, struct buf *err);
void cd_conf_free(struct cd_conf *c);

/* sched.c */
void sched_scan(int64_t now);
void sched_add(const char *id, int64_t now);
void sched_run(int64_t now);
int64_t sched_next_wakeup(int64_t now);
void sched_result(struct cd_module *m, const char *pkt, size_t len);
void sched_module_lost(struct cd_module *m);
size_t sched_in_flight(void);
void sched_recover(void);

/* route.c */
struct cd_route_result {
	enum cd_route route;
	struct buf account, ext, dest;
	char code[4];        /* set for an immediate result (bounce, defer) */
	struct buf text;
};
void route_init(struct cd_route_result *r);
void route_free(struct cd_route_result *r);
void route_rcpt(const char *addr, struct cd_route_result *r);
/* Aliases: expand and resubmit; sets code/text of the result. */
void route_alias_expand(const struct queue_env *env, size_t idx, struct cd_route_result *r);
void route_reopen(void);

/* bounce.c */
int bounce_finish(struct queue_env *env, const char *ctl, size_t ctl_len, int64_t now);
/* The one "delayed" DSN of an entry (recipients still pending whose NOTIFY
 * has DELAY or is absent), then the W record. 0, or -1 to try again later. */
int bounce_delay(struct queue_env *env, const char *ctl, size_t ctl_len, int64_t now);
/* Run submit with an envelope and a message; returns the reply's first
 * digit ('2', '4', '5') with the reply in reply. */
int bounce_submit(const char *envelope, size_t elen, const char *prefix, size_t plen,
		  int msgfd, const char *data, size_t dlen, struct buf *reply);

#endif
