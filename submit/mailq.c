/* sendmail -bp (mailq) and -q: the queue seen from the command line.
 *
 * -bp reads the control files with lib/queue's strict reader and prints one
 * entry per message; it needs read access to the queue (root or the queue
 * group), and reports what it cannot read instead of guessing. -q writes one
 * byte into courierd's trigger FIFO without blocking; courierd then runs its
 * queue. Nothing here writes the queue. */
#include "sendmail.h"
#include "alloc.h"
#include "paths.h"
#include "queue.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

struct ids {
	char **v;
	size_t n, cap;
	size_t unreadable; /* bucket directories we could not list */
};

static void ids_add(struct ids *ids, const char *id)
{
	if (ids->n == ids->cap) {
		ids->cap = ids->cap ? ids->cap * 2 : 64;
		ids->v = xreallocarray(ids->v, ids->cap, sizeof *ids->v);
	}
	ids->v[ids->n++] = xstrdup(id);
}

static int id_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void list_bucket(const char *ctl, char b, struct ids *ids)
{
	struct buf dir = BUF_INIT;
	char name[2] = { b, 0 };
	paths_join(&dir, ctl, name);
	DIR *d = opendir(buf_cstr(&dir));
	if (d == NULL) {
		if (errno != ENOENT)
			ids->unreadable++;
		buf_free(&dir);
		return;
	}
	struct dirent *de;
	while ((de = readdir(d)) != NULL)
		if (queue_id_valid(de->d_name, strlen(de->d_name)) &&
		    queue_bucket(de->d_name) == b)
			ids_add(ids, de->d_name);
	closedir(d);
	buf_free(&dir);
}

static void collect(const char *qdir, struct ids *ids)
{
	static const char buckets[] = "0123456789abcdef";
	struct buf ctl = BUF_INIT;
	paths_join(&ctl, qdir, "ctl");
	DIR *d = opendir(buf_cstr(&ctl));
	if (d == NULL)
		sm_die(errno == EACCES ? SM_EX_NOPERM : SM_EX_UNAVAILABLE,
		       "cannot read the queue %s: %s%s", buf_cstr(&ctl), strerror(errno),
		       errno == EACCES ? " (mailq needs root or the queue group)" : "");
	closedir(d);
	for (const char *b = buckets; *b; b++)
		list_bucket(buf_cstr(&ctl), *b, ids);
	if (ids->n > 1)
		qsort(ids->v, ids->n, sizeof *ids->v, id_cmp);
	buf_free(&ctl);
}

static void print_entry(const char *qdir, const char *id, uint64_t *total)
{
	struct queue_env e;
	struct buf err = BUF_INIT, path = BUF_INIT;
	struct stat st;
	if (queue_ctl_read(qdir, id, &e, &err) < 0) {
		queue_path(&path, qdir, QUEUE_CTL, id);
		if (stat(buf_cstr(&path), &st) == 0 || errno != ENOENT) /* else just done */
			printf("%-20s (unreadable: %s)\n", id, buf_cstr(&err));
		goto out;
	}
	queue_path(&path, qdir, QUEUE_MSG, id);
	char size[24] = "?", when[40] = "?";
	if (stat(buf_cstr(&path), &st) == 0) {
		snprintf(size, sizeof size, "%lld", (long long)st.st_size);
		*total += (uint64_t)st.st_size;
	}
	time_t t = (time_t)e.arrival;
	struct tm tm;
	if (localtime_r(&t, &tm))
		strftime(when, sizeof when, "%a %b %e %H:%M:%S", &tm);
	printf("%-20s %8s %-20s %s\n", id, size, when, e.sender[0] ? e.sender : "<>");
	size_t pending = 0;
	for (size_t i = 0; i < e.nrcpt; i++) {
		const struct queue_rcpt *r = &e.rcpts[i];
		if (r->state != QUEUE_R_PENDING)
			continue;
		pending++;
		if (r->attempts)
			printf("%51s%s (deferred, %u attempts)\n", "", r->addr, r->attempts);
		else
			printf("%51s%s\n", "", r->addr);
	}
	if (pending == 0)
		printf("%51s(every recipient done)\n", "");
out:
	queue_env_free(&e);
	buf_free(&err);
	buf_free(&path);
}

int sm_mailq(void)
{
	const char *qdir = paths_queue();
	struct ids ids = { NULL, 0, 0, 0 };
	uint64_t total = 0;
	collect(qdir, &ids);
	if (ids.n == 0 && ids.unreadable == 0) {
		printf("Mail queue is empty\n");
	} else {
		printf("%-20s %8s %-20s %s\n", "-Queue ID-", "--Size--", "----Arrival Time----",
		       "-Sender/Recipient-------");
		for (size_t i = 0; i < ids.n; i++)
			print_entry(qdir, ids.v[i], &total);
		printf("\n-- %llu Kbytes in %zu Request%s.\n",
		       (unsigned long long)((total + 1023) / 1024), ids.n, ids.n == 1 ? "" : "s");
	}
	for (size_t i = 0; i < ids.n; i++)
		free(ids.v[i]);
	free(ids.v);
	if (fflush(stdout) != 0)
		sm_die(SM_EX_TEMPFAIL, "writing the listing: %s", strerror(errno));
	if (ids.unreadable) {
		sm_warn("%zu queue directories could not be read", ids.unreadable);
		return SM_EX_NOPERM;
	}
	return SM_EX_OK;
}

/* "q" into the trigger FIFO: courierd takes any byte as "look now" (a 'q'
 * tells it that an administrator asked, should it ever treat that apart).
 * Never blocks. */
int sm_queue_run(const char *arg)
{
	struct buf path = BUF_INIT;
	struct stat st;
	if (arg && (arg[0] == 'R' || arg[0] == 'S' || arg[0] == 'I' || arg[0] == '!'))
		sm_die(SM_EX_USAGE, "-q%c (a partial queue run) is not supported; -q runs it all",
		       arg[0]);
	paths_join(&path, paths_run(), "trigger");
	int fd = open(buf_cstr(&path), O_WRONLY | O_NONBLOCK | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0 && (errno == ENXIO || errno == ENOENT))
		sm_die(SM_EX_UNAVAILABLE, "cannot run the queue: courierd is not running (%s: %s)",
		       buf_cstr(&path), strerror(errno));
	if (fd < 0)
		sm_die(errno == EACCES ? SM_EX_NOPERM : SM_EX_UNAVAILABLE, "%s: %s",
		       buf_cstr(&path), strerror(errno));
	if (fstat(fd, &st) < 0 || !S_ISFIFO(st.st_mode))
		sm_die(SM_EX_CONFIG, "%s is not a FIFO", buf_cstr(&path));
	if (write(fd, "q", 1) < 0 && errno != EAGAIN) /* EAGAIN: a run is pending already */
		sm_die(SM_EX_UNAVAILABLE, "%s: %s", buf_cstr(&path), strerror(errno));
	close(fd);
	buf_free(&path);
	return SM_EX_OK;
}
