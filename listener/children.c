/* children: the listener's running children, found by pid when they exit. */
#include "listener.h"

#include <string.h>

static void pid_key(pid_t pid, unsigned char key[16])
{
	memset(key, 0, 16);
	memcpy(key, &pid, sizeof pid);
}

void children_init(struct table *t, size_t max_entries)
{
	table_init(t, max_entries, sizeof(struct child));
}

struct child *children_add(struct table *t, pid_t pid)
{
	unsigned char key[16];
	pid_key(pid, key);
	struct child *c = table_insert(t, key);
	if (c != NULL)
		c->pid = pid;
	return c;
}

struct child *children_find(const struct table *t, pid_t pid)
{
	unsigned char key[16];
	pid_key(pid, key);
	return table_find(t, key);
}

void children_remove(struct table *t, struct child *c)
{
	table_delete(t, c);
}
