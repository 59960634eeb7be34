/* keywords: IMAP keywords of a folder in Dovecot's "dovecot-keywords" file
 * ("<n> <name>" per line; keyword n is the Maildir flag letter 'a' + n), so a
 * maildir moves between Dovecot and estafette with its keywords. At most 26.
 * Trusts nothing in the file: bad lines and invalid names are skipped. */
#include "imapd.h"

#include "alloc.h"
#include "file.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define KEYWORDS_FILE "dovecot-keywords"
#define KEYWORDS_MAX_FILE (64 * 1024)

static int keyword_valid(const char *k)
{
	size_t n = strlen(k);
	if (n == 0 || n > 100 || k[0] == '\\')
		return 0;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)k[i];
		if (c <= 0x20 || c >= 0x7f || strchr("(){%*\"\\]", c))
			return 0;
	}
	return 1;
}

void keywords_load(struct mailbox *mb)
{
	struct buf p = BUF_INIT, text = BUF_INIT;
	for (int i = 0; i < IMAPD_KEYWORDS; i++) {
		free(mb->keywords[i]);
		mb->keywords[i] = NULL;
	}
	mb->nkeywords = 0;
	buf_printf(&p, "%s/%s", mb->path, KEYWORDS_FILE);
	if (file_read(buf_cstr(&p), &text, KEYWORDS_MAX_FILE) == 0 && !buf_has_nul(&text)) {
		char *save = NULL;
		for (char *line = strtok_r(text.data, "\n", &save); line != NULL;
		     line = strtok_r(NULL, "\n", &save)) {
			char *end;
			long n = strtol(line, &end, 10);
			if (end == line || *end != ' ' || n < 0 || n >= IMAPD_KEYWORDS ||
			    !keyword_valid(end + 1) || mb->keywords[n] != NULL)
				continue;
			mb->keywords[n] = xstrdup(end + 1);
			if (n + 1 > mb->nkeywords)
				mb->nkeywords = (int)n + 1;
		}
	}
	buf_free(&p);
	buf_free(&text);
}

static void keywords_save(struct mailbox *mb)
{
	struct buf p = BUF_INIT, text = BUF_INIT;
	for (int i = 0; i < mb->nkeywords; i++)
		if (mb->keywords[i] != NULL)
			buf_printf(&text, "%d %s\n", i, mb->keywords[i]);
	buf_printf(&p, "%s/%s", mb->path, KEYWORDS_FILE);
	(void)file_replace(buf_cstr(&p), text.data ? text.data : "", text.len, 0600);
	buf_free(&p);
	buf_free(&text);
}

/* The flag letter of keyword name: 'a'..'z', or -1 (unknown and not created,
 * invalid, or no letter left). */
int keywords_letter(struct mailbox *mb, const char *name, int create)
{
	if (!keyword_valid(name))
		return -1;
	for (int i = 0; i < mb->nkeywords; i++)
		if (mb->keywords[i] != NULL && strcasecmp(mb->keywords[i], name) == 0)
			return 'a' + i;
	if (!create)
		return -1;
	int fd = folder_lock(mb->path);
	keywords_load(mb); /* another session may have added some */
	int letter = -1;
	for (int i = 0; i < IMAPD_KEYWORDS && letter < 0; i++) {
		if (mb->keywords[i] != NULL && strcasecmp(mb->keywords[i], name) == 0)
			letter = 'a' + i;
		else if (mb->keywords[i] == NULL) {
			mb->keywords[i] = xstrdup(name);
			if (i + 1 > mb->nkeywords)
				mb->nkeywords = i + 1;
			keywords_save(mb);
			letter = 'a' + i;
		}
	}
	folder_unlock(fd);
	return letter;
}
