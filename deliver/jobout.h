/* jobout: the answer of one delivery run, shared by deliver-spawn and the
 * deliver worker: its output (the status line last) and its exit status. */
#ifndef ESTAFETTE_DELIVER_JOBOUT_H
#define ESTAFETTE_DELIVER_JOBOUT_H

#include "buf.h"

#define JOBOUT_MAX 900 /* bytes of output kept for courierd */
/* How long one delivery may take, programs included: deliver.conf's
 * "timeout" (default 1000 s, Postfix's command_time_limit). Past it the
 * delivery's process group is killed and the job answered 451. */
int jobout_timeout(void);

/* Read fd to its end within timeout_s, keeping the first JOBOUT_MAX bytes,
 * as one line. 0, or -1 when the time ran out. */
int jobout_read(int fd, struct buf *out, int timeout_s);
/* The reply code for a wait status: exit 0 is 250, 75/111/a signal 451,
 * anything else 550 (deliver(8)). */
const char *jobout_code(int status);

#endif
