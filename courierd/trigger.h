/* courierd trigger: parsing the ids submit writes into the trigger FIFO. */
#ifndef ESTAFETTE_COURIERD_TRIGGER_H
#define ESTAFETTE_COURIERD_TRIGGER_H

#include "queue.h"

#include <stddef.h>

struct trigger {
	char part[QUEUE_ID_LEN + 1]; /* the line so far */
	size_t len;
	int junk;   /* this line is not an id: skip to its LF */
	int rescan; /* set when anything but ids arrived; the caller clears it */
};
#define TRIGGER_INIT { { 0 }, 0, 0, 0 }

typedef void (*trigger_add_fn)(const char *id, void *arg);

/* Feed bytes read from the FIFO: add() for every complete valid id line. */
void trigger_feed(struct trigger *t, const char *p, size_t n, trigger_add_fn add, void *arg);

#endif
