/* imapd: the mail stage's shared declarations (session, parser, mailbox).
 *
 * imapd runs as the account, in its Maildir (MAILDIR), and speaks IMAP4rev1
 * on stdin/stdout. Everything from the client is untrusted and bounded:
 * lines (IMAPD_MAX_LINE), literals (IMAPD_MAX_LITERAL, IMAPD_MAX_APPEND),
 * list nesting (IMAPD_MAX_DEPTH). Replies are built in the io's output buffer
 * and flushed once per command. */
#ifndef ESTAFETTE_IMAPD_H
#define ESTAFETTE_IMAPD_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "buf.h"
#include "mdflags.h"
#include "uidlist.h"

#define IMAPD_MAX_LINE (64 * 1024)
#define IMAPD_MAX_LITERAL (64 * 1024)         /* any literal but APPEND's */
#define IMAPD_MAX_APPEND (64 * 1024 * 1024)   /* APPENDLIMIT */
#define IMAPD_MAX_DEPTH 16                    /* parentheses in FETCH/SEARCH */
#define IMAPD_MAX_MESSAGE (256 * 1024 * 1024) /* a message file read whole */
#define IMAPD_KEYWORDS 26                     /* Maildir letters a-z */

struct io;

/* seqset.c: a sequence set of numbers, '*' as SEQ_STAR. "$" (RFC 5182)
 * parses as a copy of the saved search result: UIDs, whatever the command. */
#define SEQ_STAR 0u        /* "*": never a valid number */
struct seqset {
	uint32_t (*r)[2];     /* ranges as written (ends in either order) */
	size_t count;
	int uids;          /* the ranges are UIDs even in a non-UID command ("$") */
};

/* One message of the selected mailbox. */
struct msg {
	uint32_t uid;
	char *name;          /* file name in cur/ */
	struct mdflags flags;
	uint64_t size;       /* RFC822.SIZE (CRLF); valid if have_size */
	uint64_t modseq;     /* CONDSTORE: its last change (lib/uidlist) */
	time_t mtime;        /* INTERNALDATE; valid if have_mtime */
	unsigned have_size : 1, have_mtime : 1, recent : 1, gone : 1;
	unsigned env_owned : 1, bs_owned : 1;
	const char *env, *bs; /* cached ENVELOPE and BODYSTRUCTURE responses, or NULL */
	uint32_t env_len, bs_len;
};

struct mailbox {
	char *path;        /* the folder's maildir */
	char *name;        /* its IMAP name */
	int readonly;
	uint32_t uidvalidity, uidnext;
	uint64_t highestmodseq, vanished_floor;
	struct uid_modseq *vanished; /* expunges the list remembers (QRESYNC) */
	size_t nvanished;
	struct msg *msgs;
	size_t count, cap;
	char *keywords[IMAPD_KEYWORDS];
	int nkeywords;
	void *cache_map;     /* the cache file, mapped read-only */
	size_t cache_size;
	int cache_dirty;     /* entries were computed: write the cache at close */
	struct timespec new_mtime, cur_mtime; /* of new/ and cur/ at the last scan */
	int rescan;          /* scan at the next sync even if they look unchanged */
	struct seqset saved; /* SEARCH RETURN (SAVE) result, by UID (RFC 5182) */
};

struct session {
	struct io *io;
	struct buf *capture; /* when set, responses are built here, not sent */
	const char *maildir;
	struct mailbox *sel;
	int logout;
	int idle_seconds;
	const char *tag;   /* of the command being run */
	int uid;           /* the command came as UID ... */
	int expunge_ok;    /* EXPUNGE responses may end this command */
	int rev2;          /* ENABLE IMAP4rev2 (RFC 9051) */
	int utf8;          /* ENABLE UTF8=ACCEPT (RFC 6855) */
	int condstore;     /* CONDSTORE enabled (RFC 7162) */
	int qresync;       /* ENABLE QRESYNC */
};

/* A cursor over one complete command (literals included in wire form). */
struct parser {
	const char *p, *end;
	int depth;
	const char *err;   /* why parsing failed (static text) */
	const struct seqset *saved; /* what "$" stands for (RFC 5182), or NULL */
};

/* parse.c */
int p_eol(struct parser *ps);
int p_sp(struct parser *ps);
int p_peek(struct parser *ps, char c);
int p_char(struct parser *ps, char c);
int p_atom(struct parser *ps, struct buf *out);
int p_string(struct parser *ps, struct buf *out);
int p_astring(struct parser *ps, struct buf *out);
int p_list_mailbox(struct parser *ps, struct buf *out);
int p_number(struct parser *ps, uint64_t *n);
int p_flag(struct parser *ps, struct buf *out);
int p_literal_size(const char *line, size_t len, uint64_t *n, int *nonsync);

/* command.c: one whole command (wire form, literals included) into cmd. */
enum read_result { READ_OK, READ_SKIP, READ_END };
enum read_result command_read(struct io *io, struct buf *cmd, uint64_t max_literal,
			      uint64_t max_append);
int command_tag_valid(const struct buf *tag);

/* Replace set by the UIDs v[0..n) (ascending), as ranges. */
void seqset_from_uids(struct seqset *set, const uint32_t *v, size_t n);
int seqset_parse(struct parser *ps, struct seqset *set);
void seqset_free(struct seqset *set);
int seqset_has(const struct seqset *set, uint32_t n, uint32_t star);
/* Mark the selected messages matched by set (by sequence, or by UID) in sel
 * (count bytes); returns how many. */
/* Append v (in its order) with runs of consecutive numbers as "a:b". */
void seqset_format(struct buf *out, const uint32_t *v, size_t n);
/* Whether every number in set is a valid sequence number (1..count). */
int seqset_valid_seq(const struct seqset *set, size_t count);
size_t seqset_select(const struct seqset *set, const struct mailbox *mb, int by_uid, char *sel);

/* output.c */
void out_str(struct session *s, const char *str);
void out_fmt(struct session *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void out_data(struct session *s, const void *p, size_t n);
void out_string(struct session *s, const char *p, size_t n); /* quoted or literal */
void out_nstring(struct session *s, const char *p, size_t n); /* NULL: NIL */
void out_astring(struct session *s, const char *p, size_t n);
void out_flags(struct session *s, const struct mailbox *mb, const struct mdflags *f, int recent);
void out_tagged(struct session *s, const char *status, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
void out_untagged(struct session *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* The tagged reply, after reporting changes of the selected mailbox. */
void out_done(struct session *s, const char *status, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* A tagged BAD for a parse error. */
void out_bad(struct session *s, const struct parser *ps);
void string_to_buf(struct buf *b, const char *p, size_t n);

/* keywords.c: dovecot-keywords (the letter a+N is keyword N). */
void keywords_load(struct mailbox *mb);
int keywords_letter(struct mailbox *mb, const char *name, int create);

/* mailbox.c */
struct mailbox *mailbox_open(struct session *s, const char *path, const char *name,
			     int readonly);
void mailbox_close(struct mailbox *mb);
/* Rescan and report EXISTS/RECENT/FETCH FLAGS (and EXPUNGE when allowed). */
int mailbox_sync(struct session *s, int allow_expunge);
/* Own flag changes without a rescan: with mailbox_cur_unchanged true before
 * them (nothing in cur/ changed since the last scan), mailbox_own_renames
 * after them takes cur/'s new time as seen, so the next command does not
 * scan the whole folder again for renames it made itself (the uid list
 * learns the new names at the next scan that something else causes). */
int mailbox_cur_unchanged(const struct mailbox *mb);
void mailbox_own_renames(struct mailbox *mb);
int mailbox_open_msg(struct mailbox *mb, struct msg *m);
/* Rename the message to flags f: 0 done, 1 another session changed its flags
 * meanwhile (m->flags are the new ones: recompute and retry), -1 failed. */
int mailbox_set_flags(struct mailbox *mb, struct msg *m, const struct mdflags *f);
int mailbox_read_msg(struct mailbox *mb, struct msg *m, struct buf *crlf);
uint64_t mailbox_msg_size(struct mailbox *mb, struct msg *m);
time_t mailbox_msg_mtime(struct mailbox *mb, struct msg *m);
/* The file's size as Maildir++ quota counts it (its S=, else stat). */
uint64_t mailbox_msg_file_size(struct mailbox *mb, struct msg *m);
int mailbox_expunge(struct session *s, const struct seqset *uids);
/* CONDSTORE: the session uses modseqs from now on (RFC 7162 3.1). */
void condstore_enable(struct session *s);
/* Append to out the UIDs of set (by UID) that were expunged after modseq:
 * exact while the list remembers them, else every UID of set below UIDNEXT
 * that is not in the mailbox (RFC 7162 3.2.5.1 allows more). */
void mailbox_vanished_since(const struct mailbox *mb, const struct seqset *set,
			    uint64_t modseq, struct buf *out);

/* cache.c: "estafette-cache" per folder: sizes, dates, ENVELOPE and
 * BODYSTRUCTURE by UID, so that reopening a large mailbox reads no message. */
void cache_load(struct mailbox *mb);
void cache_save(struct mailbox *mb);
void cache_unmap(struct mailbox *mb);
void cache_free_msg(struct msg *m);

/* folder.c: IMAP names to maildirs. Internally (and on disk) names are
 * modified UTF-7; once the client enabled UTF8=ACCEPT or IMAP4rev2 it sends
 * and receives UTF-8, converted at the edges (p_mailbox, out_mailbox). */
#define SESSION_UTF8(s) ((s)->rev2 || (s)->utf8)
int p_mailbox(struct session *s, struct parser *ps, struct buf *out);
int folder_name_in(struct session *s, struct parser *ps, struct buf *name);
void out_mailbox(struct session *s, const char *name);
int folder_path(struct session *s, const char *name, struct buf *path, const char **err);
int folder_exists(const char *path);
int folder_match(const char *pat, const char *name);
/* Names: folders are known inside by Courier's form ("INBOX.Sent"), which the
 * subscription file keeps too; clients see them without the prefix ("Sent"),
 * unless a LIST pattern starts with "INBOX." (a client set up for Courier's
 * namespace), and may use either form anywhere. */
void folder_canonical(const char *name, struct buf *out);
const char *folder_shown(const char *canonical, int courier_view);
int folder_pattern_courier(const char *pattern);
/* The UID a scan of the folder gives to file name (cmd_append.c), or 0. */

/* envelope.c, bodystructure.c */
struct mime_msg;
void out_envelope(struct session *s, const char *data, size_t hdr_off, size_t hdr_len);
void out_bodystructure(struct session *s, const struct mime_msg *m, int part, int extended);

/* cmd_quota.c: 0 when bytes more fit in the folder at path (-1 errno
 * EDQUOT over quota); record an addition (negative: removal). */
int quota_check(const char *path, uint64_t bytes);
void quota_add(const char *path, int64_t bytes, int64_t count);

/* binary.c: part (an index in m->parts) decoded from its transfer encoding
 * into out; -1 for an encoding we do not know. */
int binary_decode(const struct mime_msg *m, int part, struct buf *out);

/* cmd_select.c: "* FLAGS" and "* OK [PERMANENTFLAGS]" of the selected
 * mailbox (again when a new keyword appears, RFC 3501 7.2.6). */
void out_mailbox_flags(struct session *s);

/* cmd_store.c: a flag list (parenthesized or not) to Maildir letters. */
int store_parse_flags(struct session *s, struct parser *ps, struct mailbox *mb, struct mdflags *f);

/* cmd_search.c: the search keys up to the end of the command; hit[i] set
 * for each matching message i (count bytes). -1: syntax (ps->err). */
int search_matches(struct session *s, struct parser *ps, char *hit);
/* ESEARCH (RFC 4731) result options, also ESORT's (RFC 5267). */
enum { SEARCH_RET_MIN = 1, SEARCH_RET_MAX = 2, SEARCH_RET_ALL = 4, SEARCH_RET_COUNT = 8,
       SEARCH_RET_SAVE = 16 };
/* After "RETURN": " (MIN MAX ALL COUNT SAVE) " (SAVE: RFC 5182); the
 * SEARCH_RET_ bits (SEARCH_RET_ALL for "()"), or -1 (ps->err). */
int search_parse_return(struct parser *ps, struct buf *w);

/* subject.c: RFC 5256 base subject (casemapped), sent date, address keys. */
/* 1 when a Re:, Fwd: or [fwd: ...] was removed. */
int subject_base(struct buf *out, const char *v, size_t len);
time_t subject_sent_date(const char *hdr, size_t len, time_t internal);
void subject_addr_key(struct buf *out, const char *hdr, size_t len, const char *field,
		      int display);

/* cmd_sort.c: the keys of one message for SORT and THREAD. */
#define SORT_NSTR 9
#define SORT_MAX_HEADER (64 * 1024)
struct sort_item {
	uint32_t seq;
	time_t arrival, date;
	uint64_t size;
	int reply;                 /* the subject was a reply or forward */
	struct buf str[SORT_NSTR]; /* by sort key: subject, addresses */
};
#define SORT_NEED_SUBJECT (1u << 5)
/* After the criteria: the charset and search keys; -1 after a reply. */
int sort_charset_and_search(struct session *s, struct parser *ps, char *hit);
void sort_read_header(struct mailbox *mb, struct msg *m, struct buf *hdr);
void sort_item_load(struct mailbox *mb, struct sort_item *it, unsigned need);
struct sort_item *sort_collect(struct mailbox *mb, const char *hit, unsigned need, size_t *n);
void sort_items_free(struct sort_item *v, size_t n);
void sort_by_subject_date(struct sort_item *v, size_t n);
void sort_by_date(struct sort_item *v, size_t n);

/* cmd_status.c: STATUS items by name (-1 unknown), and one STATUS reply. */
int status_item(const char *name);
uint64_t status_msg_size(const char *path, const char *name);
void status_reply(struct session *s, const char *name, const char *path, const int *want,
		  int nwant);

/* Commands: each parses its arguments after the command name. */
typedef void (*cmd_fn)(struct session *s, struct parser *ps);
void cmd_capability_list(struct session *s);
void cmd_capability(struct session *s, struct parser *ps);
void cmd_noop(struct session *s, struct parser *ps);
void cmd_logout(struct session *s, struct parser *ps);
void cmd_id(struct session *s, struct parser *ps);
void cmd_enable(struct session *s, struct parser *ps);
void cmd_namespace(struct session *s, struct parser *ps);
void cmd_select(struct session *s, struct parser *ps);
void cmd_examine(struct session *s, struct parser *ps);
void cmd_close(struct session *s, struct parser *ps);
void cmd_unselect(struct session *s, struct parser *ps);
void cmd_create(struct session *s, struct parser *ps);
void cmd_delete(struct session *s, struct parser *ps);
void cmd_rename(struct session *s, struct parser *ps);
void cmd_subscribe(struct session *s, struct parser *ps);
void cmd_unsubscribe(struct session *s, struct parser *ps);
void cmd_list(struct session *s, struct parser *ps);
void cmd_lsub(struct session *s, struct parser *ps);
void cmd_status(struct session *s, struct parser *ps);
void cmd_append(struct session *s, struct parser *ps);
void cmd_check(struct session *s, struct parser *ps);
void cmd_expunge(struct session *s, struct parser *ps);
void cmd_search(struct session *s, struct parser *ps);
void cmd_fetch(struct session *s, struct parser *ps);
void cmd_store(struct session *s, struct parser *ps);
void cmd_copy(struct session *s, struct parser *ps);
void cmd_move(struct session *s, struct parser *ps);
void cmd_idle(struct session *s, struct parser *ps);
void cmd_sort(struct session *s, struct parser *ps);
void cmd_getquota(struct session *s, struct parser *ps);
void cmd_getquotaroot(struct session *s, struct parser *ps);
void cmd_setquota(struct session *s, struct parser *ps);
void cmd_thread(struct session *s, struct parser *ps);

#endif
