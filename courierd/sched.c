/* courierd: the queue entries, their passes, the jobs and their results.
 *
 * An entry is a queued message (ctl/<b>/<id>). When it is due, a pass reads
 * its control file afresh, routes every pending recipient and either records
 * a result at once (no such user, deferral, alias expansion) or makes a job
 * for a delivery module. Jobs wait until the global and per-destination
 * limits allow them. Each result becomes a D record, appended with one
 * write before anything else happens, so a crash at any point repeats an
 * attempt (a possible duplicate) but never skips one.
 * When every recipient is final the DSN (if any) is submitted, then the
 * control file and the message are removed, in that order. */
#define _GNU_SOURCE
#include "courierd.h"
#include "alloc.h"
#include "fdpass.h"
#include "file.h"
#include "log.h"
#include "paths.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define TMP_MAX_AGE (36 * 3600)
#define MAX_WAITING_FACTOR 4 /* passes stop while this many jobs per slot wait */

static struct cd_entry **ents;
static size_t nents, capents;
static struct cd_job **waitq, **flight;
static size_t nwait, capwait, nflight, capflight;
static uint64_t next_job = 1;

size_t sched_in_flight(void)
{
	return nflight;
}

static int cmp_ent(const void *a, const void *b)
{
	return strcmp((*(struct cd_entry *const *)a)->id, (*(struct cd_entry *const *)b)->id);
}

static struct cd_entry *ent_find(const char *id)
{
	struct cd_entry key, *kp = &key;
	memcpy(key.id, id, QUEUE_ID_LEN + 1);
	struct cd_entry **p = nents ? bsearch(&kp, ents, nents, sizeof *ents, cmp_ent) : NULL;
	return p ? *p : NULL;
}

static void ent_drop(struct cd_entry *e)
{
	for (size_t i = 0; i < nents; i++)
		if (ents[i] == e) {
			memmove(&ents[i], &ents[i + 1], (nents - i - 1) * sizeof *ents);
			nents--;
			break;
		}
	queue_env_free(&e->env);
	free(e);
}

static const char *route_name(enum cd_route r)
{
	return r == CD_LOCAL ? "local" : r == CD_ALIAS ? "alias" : "remote";
}

/* Append D<idx> <time> <code> <text> with one write. No fsync: the journal
 * orders it after the delivery it records (docs/QUEUE.md); a power loss can
 * only lose it and repeat the attempt. */
static int ctl_append(const char *id, size_t idx, int64_t now, const char *code, const char *text)
{
	struct buf path = BUF_INIT, line = BUF_INIT;
	queue_path(&path, paths_queue(), QUEUE_CTL, id);
	buf_printf(&line, "D%zu %lld %s ", idx, (long long)now, code);
	for (size_t i = 0; text[i] && i < CD_MAX_TEXT; i++)
		buf_append_char(&line, (unsigned char)text[i] >= 0x20 && (unsigned char)text[i] < 0x7f
					       ? text[i] : '?');
	while (line.len && line.data[line.len - 1] == ' ')
		buf_truncate(&line, line.len - 1);
	buf_append_char(&line, '\n');
	int fd = open(buf_cstr(&path), O_WRONLY | O_APPEND | O_CLOEXEC | O_NOFOLLOW);
	int rc = fd >= 0 && file_write_all(fd, line.data, line.len) == 0 ? 0 : -1;
	if (rc < 0)
		log_error("id=%s: cannot append to %s: %s", id, buf_cstr(&path), strerror(errno));
	if (fd >= 0)
		close(fd);
	buf_free(&path);
	buf_free(&line);
	return rc;
}

/* Record one attempt's result; a deferral past the lifetime becomes final. */
static void record(struct cd_entry *e, size_t idx, enum cd_route route, const char *code,
		   const char *text, int64_t now)
{
	struct buf t = BUF_INIT;
	char c[4];
	memcpy(c, code, 4);
	if (c[0] == '4' && now - e->env.arrival >= (int64_t)cd_conf.lifetime) {
		memcpy(c, "550", 4);
		buf_printf(&t, "5.4.7 delivery time expired; last error: %s", text);
	} else {
		buf_set_str(&t, text);
	}
	for (size_t i = 0; i < t.len; i++)
		if (t.data[i] == '"')
			t.data[i] = '\'';
	ctl_append(e->id, idx, now, c, buf_cstr(&t));
	log_info("delivery id=%s rcpt=<%s> route=%s delay=%llds status=%s response=\"%s %s\"", e->id,
		 e->env.rcpts[idx].addr, route_name(route), (long long)(now - e->env.arrival),
		 c[0] == '2' ? "sent" : c[0] == '5' ? "bounced" : "deferred", c, buf_cstr(&t));
	buf_free(&t);
}

static void move_aside(const char *id)
{
	struct buf dir = BUF_INIT, from = BUF_INIT, to = BUF_INIT;
	paths_join(&dir, paths_queue(), "corrupt");
	if (mkdir(buf_cstr(&dir), 0750) < 0 && errno != EEXIST)
		log_error("mkdir %s: %s", buf_cstr(&dir), strerror(errno));
	enum queue_area areas[2] = { QUEUE_CTL, QUEUE_MSG };
	for (int i = 0; i < 2; i++) {
		buf_reset(&from);
		buf_reset(&to);
		queue_path(&from, paths_queue(), areas[i], id);
		buf_printf(&to, "%s/%s.%s", buf_cstr(&dir), id, i == 0 ? "ctl" : "msg");
		if (rename(buf_cstr(&from), buf_cstr(&to)) < 0 && errno != ENOENT)
			log_error("id=%s: cannot move %s aside: %s", id, buf_cstr(&from), strerror(errno));
	}
	file_fsync_dir(buf_cstr(&dir));
	buf_free(&dir);
	buf_free(&from);
	buf_free(&to);
}

/* A crash in the middle of an append leaves a last line without LF:
 * cut it off (the attempt is then simply repeated). */
static void ctl_repair(const char *path, struct buf *data, const char *id)
{
	if (data->len == 0 || data->data[data->len - 1] == '\n')
		return;
	size_t keep = data->len;
	while (keep && data->data[keep - 1] != '\n')
		keep--;
	int fd = open(path, O_WRONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd >= 0 && ftruncate(fd, (off_t)keep) == 0 && fsync(fd) == 0) {
		log_warn("id=%s: cut an unfinished status record (%zu bytes)", id, data->len - keep);
		buf_truncate(data, keep);
	}
	if (fd >= 0)
		close(fd);
}

/* Read and parse the control file into e->env (ctl gets the text if
 * not NULL). 0, or -1 after moving a corrupt entry aside (1 if it vanished). */
static int ctl_load(struct cd_entry *e, struct buf *ctl)
{
	struct buf path = BUF_INIT, data = BUF_INIT, err = BUF_INIT;
	queue_path(&path, paths_queue(), QUEUE_CTL, e->id);
	queue_env_free(&e->env);
	int rc = 0;
	if (file_read(buf_cstr(&path), &data, QUEUE_MAX_CTL) < 0) {
		rc = errno == ENOENT ? 1 : -1;
		if (rc < 0)
			log_error("id=%s: %s: %s", e->id, buf_cstr(&path), strerror(errno));
	} else {
		ctl_repair(buf_cstr(&path), &data, e->id);
		if (queue_ctl_parse(data.data ? data.data : "", data.len, e->id, &e->env, &err) < 0) {
			log_error("id=%s: corrupt control file (%s): moved aside", e->id, buf_cstr(&err));
			move_aside(e->id);
			rc = -1;
		} else if (queue_entry_state(paths_queue(), e->id) != QUEUE_ENTRY_COMPLETE) {
			log_error("id=%s: control file without message: moved aside", e->id);
			move_aside(e->id);
			rc = -1;
		}
	}
	if (ctl && rc == 0)
		buf_append_buf(ctl, &data);
	buf_free(&path);
	buf_free(&data);
	buf_free(&err);
	return rc;
}

static int all_final(const struct queue_env *env)
{
	for (size_t i = 0; i < env->nrcpt; i++)
		if (env->rcpts[i].state == QUEUE_R_PENDING)
			return 0;
	return 1;
}

static void entry_remove_files(const char *id)
{
	struct buf p = BUF_INIT;
	queue_path(&p, paths_queue(), QUEUE_CTL, id);
	if (unlink(buf_cstr(&p)) < 0 && errno != ENOENT)
		log_error("id=%s: unlink %s: %s", id, buf_cstr(&p), strerror(errno));
	buf_reset(&p);
	queue_path(&p, paths_queue(), QUEUE_MSG, id);
	if (unlink(buf_cstr(&p)) < 0 && errno != ENOENT)
		log_error("id=%s: unlink %s: %s", id, buf_cstr(&p), strerror(errno));
	buf_free(&p);
}

/* Every recipient final: notify, then remove. 1 if the entry is gone. */
static int entry_finish(struct cd_entry *e, int64_t now)
{
	struct buf ctl = BUF_INIT;
	int r = ctl_load(e, &ctl);
	if (r == 0 && bounce_finish(&e->env, ctl.data ? ctl.data : "", ctl.len, now) < 0) {
		e->next_try = now + (int64_t)cd_conf.retry[0];
		e->active = 0;
		buf_free(&ctl);
		return 0;
	}
	buf_free(&ctl);
	if (r == 0) {
		entry_remove_files(e->id);
		log_info("id=%s: done", e->id);
	}
	ent_drop(e);
	return 1;
}

/* Past delay_warning and not warned yet: the one "delayed" DSN. */
static void entry_warn(struct cd_entry *e, int64_t now)
{
	struct buf ctl = BUF_INIT;
	if (ctl_load(e, &ctl) == 0)
		(void)bounce_delay(&e->env, ctl.data ? ctl.data : "", ctl.len, now);
	buf_free(&ctl);
}

/* The pass is over: finish, or schedule the next one by the backoff. */
static void entry_done(struct cd_entry *e, int64_t now)
{
	int r = ctl_load(e, NULL);
	if (r != 0) {
		ent_drop(e);
		return;
	}
	if (all_final(&e->env)) {
		entry_finish(e, now);
		return;
	}
	if (cd_conf.delay_warning && e->env.warned == 0 &&
	    now - e->env.arrival >= (int64_t)cd_conf.delay_warning)
		entry_warn(e, now);
	unsigned att = ~0u;
	for (size_t i = 0; i < e->env.nrcpt; i++)
		if (e->env.rcpts[i].state == QUEUE_R_PENDING && e->env.rcpts[i].attempts < att)
			att = e->env.rcpts[i].attempts;
	size_t step = att == 0 ? 0 : att - 1;
	if (step >= cd_conf.nretry)
		step = cd_conf.nretry - 1;
	e->next_try = now + (int64_t)cd_conf.retry[step];
	int64_t expiry = e->env.arrival + (int64_t)cd_conf.lifetime;
	if (e->next_try > expiry && expiry > now)
		e->next_try = expiry;
	else if (expiry <= now && e->next_try > now + 1)
		e->next_try = now + 1; /* one last attempt, then it bounces */
	e->active = 0;
	queue_env_free(&e->env);
}

static void push(struct cd_job ***arr, size_t *n, size_t *cap, struct cd_job *j)
{
	if (*n == *cap) {
		*cap = *cap ? *cap * 2 : 16;
		*arr = xreallocarray(*arr, *cap, sizeof **arr);
	}
	(*arr)[(*n)++] = j;
}

static void job_free(struct cd_job *j)
{
	free(j->dest);
	free(j->account);
	free(j->ext);
	free(j);
}

static void route_one(struct cd_entry *e, size_t i, int64_t now)
{
	struct cd_route_result rr;
	route_init(&rr);
	route_rcpt(e->env.rcpts[i].addr, &rr);
	if (rr.code[0] == '\0' && rr.route == CD_ALIAS)
		route_alias_expand(&e->env, i, &rr);
	if (rr.code[0] == '\0' && rr.route == CD_REMOTE && cd_modules[1].fd < 0)
		memcpy(rr.code, "451", 4), buf_set_str(&rr.text, "4.4.0 deferred: no remote delivery module");
	if (rr.code[0]) {
		record(e, i, rr.route, rr.code, buf_cstr(&rr.text), now);
	} else {
		struct cd_job *j = xcalloc(1, sizeof *j);
		j->id = next_job++;
		j->e = e;
		j->idx = i;
		j->route = rr.route;
		j->dest = xstrdup(buf_cstr(&rr.dest));
		j->account = xstrdup(buf_cstr(&rr.account));
		j->ext = xstrdup(buf_cstr(&rr.ext));
		push(&waitq, &nwait, &capwait, j);
		e->running++;
	}
	route_free(&rr);
}

static void entry_pass(struct cd_entry *e, int64_t now)
{
	e->active = 1;
	int r = ctl_load(e, NULL);
	if (r != 0) {
		ent_drop(e);
		return;
	}
	if (all_final(&e->env)) {
		entry_finish(e, now);
		return;
	}
	if (cd_conf.delay_warning && e->env.warned == 0 &&
	    now - e->env.arrival >= (int64_t)cd_conf.delay_warning)
		entry_warn(e, now);
	for (size_t i = 0; i < e->env.nrcpt; i++)
		if (e->env.rcpts[i].state == QUEUE_R_PENDING)
			route_one(e, i, now);
	if (e->running == 0)
		entry_done(e, now);
}

static size_t dest_count(const char *dest)
{
	size_t n = 0;
	for (size_t i = 0; i < nflight; i++)
		n += strcmp(flight[i]->dest, dest) == 0;
	return n;
}

/* Hand a job to its module with the message's descriptor. */
static int job_send(struct cd_job *j)
{
	struct cd_module *m = &cd_modules[j->route == CD_REMOTE ? 1 : 0];
	struct buf path = BUF_INIT, pkt = BUF_INIT;
	const struct queue_env *env = &j->e->env;
	queue_path(&path, paths_queue(), QUEUE_MSG, j->e->id);
	int fd = open(buf_cstr(&path), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	struct buf sender = BUF_INIT; /* per recipient when the sender asked for VERP */
	queue_verp_sender(&sender, env->sender, env->verp, env->rcpts[j->idx].addr);
	buf_printf(&pkt, "%c\t%llu\t%s\t%s\t%s\t%s\t%s",
		   j->route == CD_REMOTE ? 'R' : j->route == CD_ALIAS ? 'A' : 'L',
		   (unsigned long long)j->id, j->e->id, buf_cstr(&sender), env->rcpts[j->idx].addr,
		   j->account, j->ext);
	if (j->route == CD_REMOTE) /* DSN parameters for the next hop (RFC 3461 5.2) */
		buf_printf(&pkt, "\t%s\t%s\t%s\t%s", env->rcpts[j->idx].notify,
			   env->rcpts[j->idx].orcpt, env->ret ? env->ret : "",
			   env->envid ? env->envid : "");
	buf_free(&sender);
	int rc = fd >= 0 && m->fd >= 0 ? fdpass_send(m->fd, pkt.data, pkt.len, fd) : -1;
	if (fd >= 0)
		close(fd);
	buf_free(&path);
	buf_free(&pkt);
	return rc;
}

static void job_finished(struct cd_job *j, const char *code, const char *text, int64_t now)
{
	struct cd_entry *e = j->e;
	if (code)
		record(e, j->idx, j->route, code, text, now);
	job_free(j);
	if (--e->running == 0)
		entry_done(e, now);
}

static void dispatch(int64_t now)
{
	size_t keep = 0;
	for (size_t i = 0; i < nwait; i++) {
		struct cd_job *j = waitq[i];
		if (nflight >= cd_conf.max_deliveries || cd_stopping ||
		    dest_count(j->dest) >= cd_conf.max_per_dest) {
			waitq[keep++] = j;
			continue;
		}
		if (job_send(j) < 0) {
			job_finished(j, "451", "4.3.0 cannot hand the job to its delivery module", now);
			continue;
		}
		j->started = now;
		j->running = 1;
		push(&flight, &nflight, &capflight, j);
	}
	nwait = keep;
}

void sched_run(int64_t now)
{
	size_t limit = (size_t)cd_conf.max_deliveries * MAX_WAITING_FACTOR;
	for (size_t i = 0; i < nents && !cd_stopping && nwait < limit; i++) {
		struct cd_entry *e = ents[i];
		if (!e->active && e->next_try <= now) {
			size_t before = nents;
			entry_pass(e, now);
			if (nents < before)
				i--; /* it was dropped: the next one moved here */
		}
	}
	dispatch(now);
}

int64_t sched_next_wakeup(int64_t now)
{
	int64_t t = now + (int64_t)cd_conf.scan_interval;
	for (size_t i = 0; i < nents; i++)
		if (!ents[i]->active && ents[i]->next_try < t)
			t = ents[i]->next_try;
	return t;
}

void sched_result(struct cd_module *m, const char *pkt, size_t len)
{
	char *s = xmemdup(pkt, len), *end;
	unsigned long long id = strtoull(s, &end, 10);
	if (*end != '\t' || len < (size_t)(end - s) + 4 || memchr(s, 0, len) ||
	    (end[1] != '2' && end[1] != '4' && end[1] != '5')) {
		log_error("%s module: malformed answer", m->name);
		free(s);
		return;
	}
	char code[4] = { end[1], end[2], end[3], 0 };
	const char *text = end[4] == ' ' ? end + 5 : "";
	for (size_t i = 0; i < nflight; i++) {
		if (flight[i]->id != id)
			continue;
		struct cd_job *j = flight[i];
		flight[i] = flight[--nflight];
		job_finished(j, code, text, (int64_t)time(NULL));
		free(s);
		return;
	}
	log_warn("%s module: answer for unknown job %llu", m->name, id);
	free(s);
}

void sched_module_lost(struct cd_module *m)
{
	size_t keep = 0;
	for (size_t i = 0; i < nflight; i++) {
		struct cd_job *j = flight[i];
		if (&cd_modules[j->route == CD_REMOTE ? 1 : 0] == m)
			job_finished(j, NULL, NULL, (int64_t)time(NULL)); /* unknown: retried */
		else
			flight[keep++] = j;
	}
	nflight = keep;
}

static void ent_append(const char *id, int64_t now)
{
	struct cd_entry *e = xcalloc(1, sizeof *e);
	memcpy(e->id, id, QUEUE_ID_LEN + 1);
	queue_env_init(&e->env);
	e->next_try = now;
	if (nents == capents) {
		capents = capents ? capents * 2 : 64;
		ents = xreallocarray(ents, capents, sizeof *ents);
	}
	ents[nents++] = e;
}

static void scan_bucket(const char *dir, char ***ids, size_t *n, size_t *cap)
{
	DIR *d = opendir(dir);
	if (d == NULL) {
		if (errno != ENOENT)
			log_error("%s: %s", dir, strerror(errno));
		return;
	}
	struct dirent *de;
	while ((de = readdir(d)) != NULL) {
		if (!queue_id_valid(de->d_name, strlen(de->d_name)))
			continue;
		if (*n == *cap) {
			*cap = *cap ? *cap * 2 : 64;
			*ids = xreallocarray(*ids, *cap, sizeof **ids);
		}
		(*ids)[(*n)++] = xstrdup(de->d_name);
	}
	closedir(d);
}

void sched_scan(int64_t now)
{
	char **ids = NULL;
	size_t n = 0, cap = 0;
	struct buf dir = BUF_INIT;
	for (int b = 0; b < 16; b++) {
		buf_reset(&dir);
		buf_printf(&dir, "%s/ctl/%x", paths_queue(), b);
		scan_bucket(buf_cstr(&dir), &ids, &n, &cap);
	}
	buf_free(&dir);
	size_t added = 0;
	for (size_t i = 0; i < n; i++) {
		if (ent_find(ids[i]) == NULL) {
			ent_append(ids[i], now);
			added++;
		}
		free(ids[i]);
	}
	free(ids);
	if (added)
		qsort(ents, nents, sizeof *ents, cmp_ent);
}

/* An id submit announced: into its sorted place (new ids sort last, so the
 * move is short), due now. Its first pass finds out whether it exists. */
void sched_add(const char *id, int64_t now)
{
	if (ent_find(id) != NULL)
		return;
	ent_append(id, now);
	size_t i = nents - 1;
	struct cd_entry *e = ents[i];
	while (i > 0 && strcmp(ents[i - 1]->id, e->id) > 0) {
		ents[i] = ents[i - 1];
		i--;
	}
	ents[i] = e;
}

/* At start: tmp/ leftovers, messages without control files, control files
 * without messages (docs/QUEUE.md, crash states). */
void sched_recover(void)
{
	struct buf err = BUF_INIT, dir = BUF_INIT, p = BUF_INIT;
	long n = queue_clean_tmp(paths_queue(), TMP_MAX_AGE, &err);
	if (n < 0)
		log_error("queue tmp cleanup: %s", buf_cstr(&err));
	else if (n > 0)
		log_info("removed %ld stale files from the queue's tmp/", n);
	char **ids = NULL;
	size_t cnt = 0, cap = 0;
	for (int b = 0; b < 16; b++) {
		buf_reset(&dir);
		buf_printf(&dir, "%s/msg/%x", paths_queue(), b);
		scan_bucket(buf_cstr(&dir), &ids, &cnt, &cap);
	}
	time_t now = time(NULL);
	for (size_t i = 0; i < cnt; i++) {
		struct stat st;
		buf_reset(&p);
		queue_path(&p, paths_queue(), QUEUE_MSG, ids[i]);
		if (queue_entry_state(paths_queue(), ids[i]) == QUEUE_ENTRY_MSG_ONLY &&
		    stat(buf_cstr(&p), &st) == 0 && now - st.st_mtime > TMP_MAX_AGE) {
			log_info("id=%s: removing a message that was never queued", ids[i]);
			unlink(buf_cstr(&p));
		}
		free(ids[i]);
	}
	free(ids);
	buf_free(&err);
	buf_free(&dir);
	buf_free(&p);
}
