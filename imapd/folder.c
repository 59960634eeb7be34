/* folder: IMAP mailbox names to Maildir++ folders ("INBOX" is the maildir,
 * "Sent" its ".Sent"; Courier's "INBOX.Sent" names the same folder), the
 * subscription file (Courier's "courierimapsubscribed", names in Courier's
 * form) and LIST pattern matching.
 * Names are untrusted: they must be valid modified UTF-7 and pass mdfolder's
 * strict checks (no "/", no "..", no empty level), which is what keeps a name
 * inside the maildir. */
#include "imapd.h"

#include "alloc.h"
#include "mdfolder.h"
#include "mutf7.h"
#include "utf8.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

int folder_path(struct session *s, const char *name, struct buf *path, const char **err)
{
	struct buf dir = BUF_INIT, utf8 = BUF_INIT;
	size_t len = strlen(name);
	int rc = -1;
	buf_reset(path);
	if (mutf7_decode(&utf8, name, len, err) < 0)
		goto done;
	if (mdfolder_from_imap(name, len, '.', &dir, err) < 0)
		goto done;
	buf_append_str(path, s->maildir);
	if (dir.len > 0) {
		buf_append_char(path, '/');
		buf_append_buf(path, &dir);
	}
	rc = 0;
done:
	buf_free(&dir);
	buf_free(&utf8);
	return rc;
}

void folder_canonical(const char *name, struct buf *out)
{
	buf_reset(out);
	if (strncasecmp(name, "INBOX", 5) == 0 && (name[5] == '\0' || name[5] == '.')) {
		buf_append_str(out, "INBOX");
		buf_append_str(out, name + 5);
	} else {
		buf_append_str(out, "INBOX.");
		buf_append_str(out, name);
	}
}

const char *folder_shown(const char *canonical, int courier_view)
{
	if (!courier_view && strncmp(canonical, "INBOX.", 6) == 0)
		return canonical + 6;
	return canonical;
}

int folder_pattern_courier(const char *pattern)
{
	return strncasecmp(pattern, "INBOX.", 6) == 0;
}

/* A name from a UTF-8 client to the modified UTF-7 used inside. */
int folder_name_in(struct session *s, struct parser *ps, struct buf *name)
{
	struct buf enc = BUF_INIT;
	if (!SESSION_UTF8(s))
		return 0;
	if (buf_has_nul(name) || mutf7_encode(&enc, name->data ? name->data : "", name->len,
					      NULL) < 0) {
		buf_free(&enc);
		ps->err = "Mailbox name is not valid UTF-8";
		return -1;
	}
	buf_set(name, enc.data ? enc.data : "", enc.len);
	buf_free(&enc);
	return 0;
}

int p_mailbox(struct session *s, struct parser *ps, struct buf *out)
{
	if (p_astring(ps, out) < 0)
		return -1;
	return folder_name_in(s, ps, out);
}

int folder_exists(const char *path)
{
	struct buf p = BUF_INIT;
	struct stat st;
	buf_printf(&p, "%s/cur", path);
	int ok = stat(buf_cstr(&p), &st) == 0 && S_ISDIR(st.st_mode);
	buf_free(&p);
	return ok;
}

static int fold(int c)
{
	return c >= 'a' && c <= 'z' ? c - 'a' + 'A' : c;
}

/* LIST wildcards: '*' matches anything, '%' anything but the separator.
 * Dynamic programming, linear in name length times pattern length (both
 * bounded by the caller). "INBOX" matches in any case. */
int folder_match(const char *pat, const char *name)
{
	size_t pl = strlen(pat), nl = strlen(name);
	char *row = xcalloc(nl + 1, 1), *next = xcalloc(nl + 1, 1);
	row[0] = 1;
	for (size_t i = 0; i < pl; i++) {
		char c = pat[i];
		memset(next, 0, nl + 1);
		for (size_t j = 0; j <= nl; j++) {
			if (c == '*' || c == '%') {
				next[j] = row[j] || (j > 0 && next[j - 1] &&
						     (c == '*' || name[j - 1] != '.'));
			} else if (j > 0 && row[j - 1]) {
				int inbox = j <= 5 && i < 5;
				next[j] = inbox ? fold(c) == fold(name[j - 1]) : c == name[j - 1];
			}
		}
		char *t = row;
		row = next;
		next = t;
	}
	int m = row[nl];
	free(row);
	free(next);
	return m;
}
