/* jobout: the answer of one delivery run, shared by deliver-spawn and the
 * deliver worker: its output (the status line last) and its exit status. */
#ifndef ESTAFETTE_DELIVER_JOBOUT_H
#define ESTAFETTE_DELIVER_JOBOUT_H

#include "buf.h"

#define JOBOUT_MAX 900 /* bytes of output kept for courierd */

/* Read fd to its end, keeping the first JOBOUT_MAX bytes, as one line. */
void jobout_read(int fd, struct buf *out);
/* The reply code for a wait status: exit 0 is 250, 75/111/a signal 451,
 * anything else 550 (deliver(8)). */
const char *jobout_code(int status);

#endif
