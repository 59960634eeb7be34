/* courierd: alias expansion (aliases(5)).
 *
 * An alias recipient is expanded into a new message, queued through submit
 * with the same sender and a Delivered-To: line naming the alias (which
 * stops loops), and recorded as 250 2.1.5 once submit has queued it: a
 * crash in between only repeats the expansion. Address targets of
 * :include: files are followed one level deep; program and file targets
 * are honoured only from the aliases map itself, and only if that map is
 * owned by root (or by courierd's own user, the unprivileged sandbox) and
 * writable by nobody else. */
#define _GNU_SOURCE
#include "courierd.h"
#include "aliases.h"
#include "alloc.h"
#include "file.h"
#include "log.h"
#include "paths.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#define INCLUDE_MAX (1024u * 1024)
#define CHUNK_RCPTS 500
#define HEADER_SCAN (256u * 1024)

static void set(struct cd_route_result *r, const char *code, const char *text)
{
	memcpy(r->code, code, 4);
	buf_set_str(&r->text, text);
}

/* 1 if the message already has Delivered-To: addr (a loop). */
static int looped(const char *id, const char *addr)
{
	struct buf path = BUF_INIT, h = BUF_INIT;
	queue_path(&path, paths_queue(), QUEUE_MSG, id);
	int fd = open(buf_cstr(&path), O_RDONLY | O_CLOEXEC);
	int r = 0;
	if (fd >= 0) {
		char *p = buf_space(&h, HEADER_SCAN);
		ssize_t n = read(fd, p, HEADER_SCAN);
		buf_commit(&h, n > 0 ? (size_t)n : 0);
		close(fd);
	}
	size_t alen = strlen(addr);
	for (size_t pos = 0; pos < h.len && h.data[pos] != '\n' && !r;) {
		const char *line = h.data + pos, *nl = memchr(line, '\n', h.len - pos);
		size_t len = nl ? (size_t)(nl - line) : h.len - pos;
		if (len >= 14 + alen && strncasecmp(line, "Delivered-To: ", 14) == 0 &&
		    strncasecmp(line + 14, addr, alen) == 0 && len == 14 + alen)
			r = 1;
		pos += len + 1;
	}
	buf_free(&path);
	buf_free(&h);
	return r;
}

static void add_addr(struct buf *rcpts, size_t *n, const char *a, const char *domain,
		     const struct queue_rcpt *orig)
{
	buf_printf(rcpts, "R%s", a);
	if (strchr(a, '@') == NULL)
		buf_printf(rcpts, "@%s", domain);
	buf_printf(rcpts, "\t%s\t%s\n", orig->notify, orig->orcpt);
	(*n)++;
}

static int include_file(const char *path, struct buf *rcpts, size_t *n, const char *domain,
			const struct queue_rcpt *orig, struct buf *err)
{
	struct buf text = BUF_INIT;
	struct alias_list l = ALIAS_LIST_INIT;
	int rc = -1;
	if (file_read(path, &text, INCLUDE_MAX) < 0)
		buf_error(err, ":include:%s: %s", path, strerror(errno));
	else if (aliases_parse_targets(text.data ? text.data : "", text.len, &l, err) == 0) {
		rc = 0;
		for (size_t i = 0; i < l.count; i++) {
			if (l.items[i].kind == ALIAS_ADDRESS)
				add_addr(rcpts, n, l.items[i].value, domain, orig);
			else
				log_warn(":include:%s: only addresses are allowed: %s skipped", path,
					 l.items[i].value);
		}
	}
	alias_list_free(&l);
	buf_free(&text);
	return rc;
}

static int submit_chunk(const struct queue_env *env, const char *rcpts, size_t len,
			const char *alias, struct buf *reply)
{
	struct buf e = BUF_INIT, path = BUF_INIT, pre = BUF_INIT;
	buf_printf(&e, "S%s\nFlocal\n", env->sender);
	if (env->envid)
		buf_printf(&e, "E%s\n", env->envid);
	if (env->ret)
		buf_printf(&e, "N%s\n", env->ret);
	if (strcmp(env->body, "7BIT") != 0)
		buf_printf(&e, "B%s\n", env->body);
	if (env->smtputf8)
		buf_append_str(&e, "U\n");
	buf_append(&e, rcpts, len);
	buf_append_char(&e, '\n');
	buf_printf(&pre, "Delivered-To: %s\n", alias);
	queue_path(&path, paths_queue(), QUEUE_MSG, env->id);
	int fd = open(buf_cstr(&path), O_RDONLY | O_CLOEXEC);
	int c = '4';
	if (fd >= 0) {
		c = bounce_submit(e.data, e.len, pre.data, pre.len, fd, NULL, 0, reply);
		close(fd);
	}
	buf_free(&e);
	buf_free(&path);
	buf_free(&pre);
	return c;
}

/* Queue the addresses in chunks; the worst reply wins. */
static void resubmit(const struct queue_env *env, size_t idx, struct buf *rcpts, size_t n,
		     struct cd_route_result *r)
{
	struct buf reply = BUF_INIT;
	const char *alias = env->rcpts[idx].addr;
	size_t start = 0, count = 0, pos = 0;
	int worst = '2';
	while (pos < rcpts->len) {
		const char *nl = memchr(rcpts->data + pos, '\n', rcpts->len - pos);
		pos = (size_t)(nl - rcpts->data) + 1;
		if (++count == CHUNK_RCPTS || pos == rcpts->len) {
			int c = submit_chunk(env, rcpts->data + start, pos - start, alias, &reply);
			if (c != '2')
				worst = worst == '4' ? '4' : c;
			start = pos;
			count = 0;
		}
	}
	if (worst == '2') {
		buf_reset(&r->text);
		buf_printf(&r->text, "2.1.5 alias expanded to %zu recipient(s)", n);
		memcpy(r->code, "250", 4);
	} else {
		memcpy(r->code, worst == '5' ? "550" : "451", 4);
		buf_reset(&r->text);
		buf_printf(&r->text, "%s alias expansion refused by submit: %s",
			   worst == '5' ? "5.3.0" : "4.3.0", buf_cstr(&reply));
	}
	buf_free(&reply);
}

void route_alias_expand(const struct queue_env *env, size_t idx, struct cd_route_result *r)
{
	const struct queue_rcpt *orig = &env->rcpts[idx];
	const char *at = strrchr(orig->addr, '@');
	const char *domain = at ? at + 1 : buf_cstr(&cd_conf.me);
	struct alias_list l = ALIAS_LIST_INIT;
	struct buf err = BUF_INIT, rcpts = BUF_INIT;
	size_t n = 0, special = 0;
	if (looped(env->id, orig->addr)) {
		set(r, "550", "5.4.6 alias loop: already expanded here");
	} else if (aliases_decode(r->account.data ? r->account.data : "", r->account.len, &l,
				  &err) < 0) {
		log_error("aliases map: %s", buf_cstr(&err));
		set(r, "451", "4.3.0 aliases map is damaged");
	} else {
		for (size_t i = 0; i < l.count && r->code[0] == '\0'; i++) {
			const struct alias_target *t = &l.items[i];
			if (t->kind == ALIAS_ADDRESS)
				add_addr(&rcpts, &n, t->value, domain, orig);
			else if (t->kind == ALIAS_INCLUDE &&
				 include_file(t->value, &rcpts, &n, domain, orig, &err) < 0)
				log_error("alias %s: %s", orig->addr, buf_cstr(&err)),
					set(r, "451", "4.3.0 alias include file unreadable");
			else if (t->kind == ALIAS_PROGRAM || t->kind == ALIAS_FILE)
				special++;
		}
		if (r->code[0] == '\0' && n == 0 && special == 0)
			set(r, "550", "5.1.1 alias has no addresses");
		else if (r->code[0] == '\0' && n > 0)
			resubmit(env, idx, &rcpts, n, r);
		if (special && (r->code[0] == '\0' || r->code[0] == '2')) {
			/* programs and files: a job for deliver-spawn, which reads the
			 * targets from the map itself (kind A, courierd(8) MODULES) */
			r->code[0] = '\0';
			buf_set(&r->account, r->ext.data, r->ext.len);
			buf_reset(&r->ext);
		}
	}
	alias_list_free(&l);
	buf_free(&err);
	buf_free(&rcpts);
}
