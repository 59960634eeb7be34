/* deliver-spawn: shared declarations of spawn.c (the loop, courierd's jobs,
 * alias jobs) and spawn_pool.c (local jobs: authd look-ups and workers). */
#ifndef ESTAFETTE_DELIVER_SPAWN_H
#define ESTAFETTE_DELIVER_SPAWN_H

#include <poll.h>
#include <stddef.h>
#include <stdint.h>

#define JOB_FIELDS 7

/* One job from courierd: its packet (owned) split into fields, and the
 * queue file's descriptor. */
struct job {
	char *pkt;
	char *f[JOB_FIELDS]; /* kind jobid qid sender rcpt account ext */
	int msgfd;
};

void job_free(struct job *j);
/* Answer courierd: "jobid TAB code SP text". */
void spawn_reply(const char *jobid, const char *code, const char *text);

/* spawn_pool.c. A local job: look the account up in authd (asynchronously)
 * and hand the job to a worker of its uid; the pool takes the job. */
void pool_local_job(struct job *j);
/* How many descriptors the pool may want to watch. */
size_t pool_size(void);
/* Descriptors to watch (at most max), and the poll timeout in ms (-1: none). */
size_t pool_pollfds(struct pollfd *p, size_t max, int *timeout_ms);
/* After poll: handle what the pool's descriptors said. */
void pool_handle(const struct pollfd *p, size_t n);
/* Nothing in flight: no look-up, no busy worker. */
int pool_idle(void);
/* Close every worker (they exit at the end of their input). */
void pool_close(void);

#endif
