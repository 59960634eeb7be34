/* courierd trigger: what submit writes into the trigger FIFO.
 * Each new queue entry arrives as "<id>\n" (one atomic write); a read may
 * still end inside a line, so a partial id is carried to the next read.
 * Anything else (the old single-byte poke, garbage from whoever can write the
 * FIFO, an overlong line) only asks for a full rescan: the FIFO is a hint,
 * the queue directory stays the truth. */
#include "trigger.h"

static int is_id_char(char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
}

void trigger_feed(struct trigger *t, const char *p, size_t n, trigger_add_fn add, void *arg)
{
	for (size_t i = 0; i < n; i++) {
		char c = p[i];
		if (c == '\n') {
			if (!t->junk && t->len == QUEUE_ID_LEN && queue_id_valid(t->part, t->len)) {
				t->part[t->len] = '\0';
				add(t->part, arg);
			} else if (!t->junk) {
				t->rescan = 1;
			}
			t->len = 0;
			t->junk = 0;
		} else if (t->junk) {
			continue;
		} else if (t->len < QUEUE_ID_LEN && is_id_char(c)) {
			t->part[t->len++] = c;
		} else {
			t->junk = 1;
			t->rescan = 1;
		}
	}
}
