/* cmd_quota: QUOTA (RFC 9208, with the RFC 2087 forms): GETQUOTA,
 * GETQUOTAROOT, SETQUOTA (refused) and the OVERQUOTA checks of APPEND and
 * COPY. One quota root, "", covers the whole maildir: Maildir++ quota
 * (lib/mdquota) from the maildirsize file, or from the account's QUOTA
 * (authd through auth-exec(8)) when that file is missing. Trusts its
 * environment; the maildirsize file is read bounded by lib/mdquota. */
#include "imapd.h"

#include "maildir.h"
#include "mdquota.h"

#include <stdlib.h>
#include <string.h>

static const char *quota_spec(void)
{
	const char *q = getenv("QUOTA");
	return q != NULL ? q : "";
}

/* The quota and the usage; 0 if there is a quota, -1 if none. */
static int quota_get(struct session *s, struct maildir_quota *q, struct md_usage *u)
{
	struct buf spec = BUF_INIT;
	size_t fsz = 0;
	int rc = -1;
	if (md_quota_read(s->maildir, &spec, u, &fsz) < 0) {
		if (*quota_spec() == '\0')
			goto done;
		buf_set_str(&spec, quota_spec());
		md_quota_recalc(s->maildir, quota_spec(), u);
	} else if (fsz > MD_QUOTA_FILE_MAX) {
		md_quota_recalc(s->maildir, buf_cstr(&spec), u);
	}
	if (maildir_quota_parse(buf_cstr(&spec), q, NULL) == 0 && (q->has_bytes || q->has_count))
		rc = 0;
done:
	buf_free(&spec);
	return rc;
}

static void out_quota(struct session *s, const struct maildir_quota *q, const struct md_usage *u)
{
	const char *sep = "";
	uint64_t bytes = u->bytes < 0 ? 0 : (uint64_t)u->bytes;
	uint64_t count = u->count < 0 ? 0 : (uint64_t)u->count;
	out_str(s, "* QUOTA \"\" (");
	if (q->has_bytes) {
		out_fmt(s, "STORAGE %llu %llu", (unsigned long long)((bytes + 1023) / 1024),
			(unsigned long long)(q->bytes / 1024));
		sep = " ";
	}
	if (q->has_count)
		out_fmt(s, "%sMESSAGE %llu %llu", sep, (unsigned long long)count,
			(unsigned long long)q->count);
	out_str(s, ")\r\n");
}

void cmd_getquota(struct session *s, struct parser *ps)
{
	struct buf root = BUF_INIT;
	struct maildir_quota q;
	struct md_usage u;
	if (p_sp(ps) < 0 || p_astring(ps, &root) < 0 || p_eol(ps) < 0)
		out_bad(s, ps);
	else if (root.len != 0 || quota_get(s, &q, &u) < 0)
		out_tagged(s, "NO", "[NONEXISTENT] No such quota root");
	else {
		out_quota(s, &q, &u);
		out_done(s, "OK", "GETQUOTA completed");
	}
	buf_free(&root);
}

void cmd_getquotaroot(struct session *s, struct parser *ps)
{
	struct buf name = BUF_INIT, path = BUF_INIT;
	struct maildir_quota q;
	struct md_usage u;
	const char *err = NULL;
	if (p_sp(ps) < 0 || p_mailbox(s, ps, &name) < 0 || p_eol(ps) < 0) {
		out_bad(s, ps);
	} else if (buf_has_nul(&name) || folder_path(s, buf_cstr(&name), &path, &err) < 0 ||
		   !folder_exists(buf_cstr(&path))) {
		out_tagged(s, "NO", "[NONEXISTENT] %s", err ? err : "No such mailbox");
	} else {
		int have = quota_get(s, &q, &u) == 0;
		out_str(s, "* QUOTAROOT ");
		out_mailbox(s, buf_cstr(&name));
		out_str(s, have ? " \"\"\r\n" : "\r\n");
		if (have)
			out_quota(s, &q, &u);
		out_done(s, "OK", "GETQUOTAROOT completed");
	}
	buf_free(&name);
	buf_free(&path);
}

/* SETQUOTA root (resource limit ...): the administrator sets quotas. */
void cmd_setquota(struct session *s, struct parser *ps)
{
	struct buf root = BUF_INIT;
	int ok = p_sp(ps) == 0 && p_astring(ps, &root) == 0 && p_sp(ps) == 0 &&
		 p_char(ps, '(') == 0;
	while (ok && ps->p < ps->end && *ps->p != ')')
		ps->p++;
	ok = ok && p_char(ps, ')') == 0 && p_eol(ps) == 0;
	buf_free(&root);
	if (!ok)
		return out_bad(s, ps);
	out_tagged(s, "NO", "[NOPERM] Quotas are set by the administrator");
}

int quota_check(const char *path, uint64_t bytes)
{
	struct buf err = BUF_INIT;
	int rc = md_quota_check(path, quota_spec(), bytes, &err);
	buf_free(&err);
	return rc;
}

void quota_add(const char *path, int64_t bytes, int64_t count)
{
	md_quota_add(path, quota_spec(), bytes, count);
}
