/* queue: the on-disk mail queue (docs/QUEUE.md is the full description).
 *
 * Layout under a queue directory (paths_queue()):
 *   tmp/<id>.msg, tmp/<id>.ctl   being written; courierd empties tmp/ at start
 *   msg/<b>/<id>                 message data, LF line ends
 *   ctl/<b>/<id>                 control file; its presence means "queued"
 * <b> is the bucket: the id's last hex digit (16 buckets, made on demand).
 *
 * Writing (submit only): queue_tx_begin() makes a fresh id and tmp/<id>.msg,
 * queue_tx_write() appends data, queue_tx_commit() fsyncs the data, writes and
 * fsyncs the control file, renames msg then ctl into their buckets and fsyncs
 * both bucket directories. Only after it returns 0 is the message queued.
 *
 * Reading (courierd): queue_ctl_parse() is strict and fails closed: a version
 * other than 1, an unknown record type, a duplicate or missing mandatory
 * record, a line over QUEUE_MAX_LINE, NUL or CR anywhere, or a last line
 * without LF is an error. Nothing here logs; errors come back in err. */
#ifndef ESTAFETTE_QUEUE_H
#define ESTAFETTE_QUEUE_H

#include <stddef.h>
#include <stdint.h>

struct buf;

#define QUEUE_ID_LEN 20                  /* 12 hex of time in us + 8 hex random */
#define QUEUE_MAX_LINE (64u * 1024)      /* one control-file record, LF excluded */
#define QUEUE_MAX_CTL (64u * 1024 * 1024) /* a whole control file */
#define QUEUE_MAX_RCPTS 100000           /* recipients in one control file */
#define QUEUE_MAX_ADDR 512               /* bytes of one address value */
#define QUEUE_MAX_FIELD 1024             /* other values (envid, orcpt, auth, ...) */
#define QUEUE_VERSION 1

/* A recipient's state as the D records of courierd leave it. */
enum queue_rstate { QUEUE_R_PENDING = 0, QUEUE_R_DELIVERED, QUEUE_R_FAILED };

struct queue_rcpt {
	char *addr;    /* canonical mailbox, never empty */
	char *notify;  /* "" or a comma list of NEVER,SUCCESS,FAILURE,DELAY */
	char *orcpt;   /* "" or "type;xtext" */
	enum queue_rstate state;
	unsigned attempts; /* D records seen for it */
};

/* The envelope. Optional strings are NULL when absent. */
struct queue_env {
	char id[QUEUE_ID_LEN + 1];
	int64_t arrival;   /* unix time */
	char *sender;      /* "" = the null sender <> */
	char *source;      /* smtp | submission | local | dsn */
	char *envid;       /* DSN ENVID, xtext */
	char *ret;         /* FULL | HDRS */
	char *body;        /* 7BIT | 8BITMIME | BINARYMIME */
	int smtputf8;
	char *verp;        /* VERP delimiters, two characters (X record); NULL = none */
	char *auth;        /* authenticated user */
	char *client;      /* client description for logs and DSNs */
	int64_t warned;    /* W record: when the delay DSN was sent; 0 = not yet */
	struct queue_rcpt *rcpts;
	size_t nrcpt, cap;
};

/* VERP delimiters: exactly two characters, each one of "+-=._". */
int queue_verp_valid(const char *v, size_t len);
/* The VERP form of sender for rcpt (replaces out): local part, delim[0],
 * rcpt's local part, delim[1], rcpt's domain, "@", sender's domain. The
 * plain sender when it is <> or either address has no plain form (a quoted
 * local part, no '@'). */
void queue_verp_sender(struct buf *out, const char *sender, const char *delims,
		       const char *rcpt);

void queue_env_init(struct queue_env *e);
void queue_env_free(struct queue_env *e);
void queue_env_add_rcpt(struct queue_env *e, const char *addr, const char *notify,
			const char *orcpt);

/* Value checkers shared by submit and the reader: 1 if valid. */
int queue_id_valid(const char *s, size_t len);
int queue_source_valid(const char *s);
int queue_ret_valid(const char *s);
int queue_body_valid(const char *s);
int queue_xtext_valid(const char *s, size_t len);
/* notify: "" or NEVER alone or a list of SUCCESS,FAILURE,DELAY (uppercase). */
int queue_notify_valid(const char *s, size_t len);
/* orcpt: "" or addr-type ";" xtext (RFC 3461 4.2). */
int queue_orcpt_valid(const char *s, size_t len);
/* No byte below 0x20 (TAB included) and no DEL: safe in a record field. */
int queue_text_valid(const char *s, size_t len);

/* A new id from the clock and getrandom(); -1 with errno if no randomness. */
int queue_id_new(char id[QUEUE_ID_LEN + 1]);
/* The bucket directory name of an id: its last character. */
char queue_bucket(const char *id);

enum queue_area { QUEUE_TMP_MSG, QUEUE_TMP_CTL, QUEUE_MSG, QUEUE_CTL };
/* out = qdir/tmp/<id>.msg, qdir/tmp/<id>.ctl, qdir/msg/<b>/<id>, qdir/ctl/<b>/<id>. */
void queue_path(struct buf *out, const char *qdir, enum queue_area area, const char *id);

/* The control file of e (e->id must be set). -1 with err if a value is
 * invalid (it would not read back). */
int queue_ctl_format(const struct queue_env *e, struct buf *out, struct buf *err);
/* Append the W record (the delay warning went out at when > 0) to out:
 * courierd appends it to the control file like a D record. */
void queue_ctl_w_record(struct buf *out, int64_t when);
/* Parse a control file; expect_id (may be NULL) must match its I record.
 * out is initialised here and must be freed after any return. */
int queue_ctl_parse(const char *data, size_t len, const char *expect_id,
		    struct queue_env *out, struct buf *err);
/* Read and parse qdir/ctl/<b>/<id>. */
int queue_ctl_read(const char *qdir, const char *id, struct queue_env *out, struct buf *err);

/* Writing a new entry. */
struct queue_tx {
	char id[QUEUE_ID_LEN + 1];
	char *qdir;
	int fd;          /* tmp/<id>.msg; -1 when closed */
	uint64_t size;   /* bytes written */
};
int queue_tx_begin(struct queue_tx *tx, const char *qdir, struct buf *err);
int queue_tx_write(struct queue_tx *tx, const void *data, size_t len, struct buf *err);
/* Copies tx->id into env->id, then the commit sequence above. On failure the
 * temporary files are removed (a renamed msg without ctl is left to courierd). */
int queue_tx_commit(struct queue_tx *tx, struct queue_env *env, struct buf *err);
/* Remove what begin made; safe after a failed commit and twice. */
void queue_tx_abort(struct queue_tx *tx);

/* Tests only: _exit(99) at a step of the commit: 1 after the data fsync,
 * 2 after the control file is in tmp/, 3 after msg is renamed, 4 after ctl
 * is renamed (before the last directory fsync). 0 = never. */
void queue_tx_set_crash_point(int step);

/* For courierd's recovery: what exists of an entry. */
enum queue_entry { QUEUE_ENTRY_NONE, QUEUE_ENTRY_MSG_ONLY, QUEUE_ENTRY_CTL_ONLY,
		   QUEUE_ENTRY_COMPLETE };
enum queue_entry queue_entry_state(const char *qdir, const char *id);
/* Remove every file in qdir/tmp (courierd at start, when no submit can be
 * mid-way... see docs/QUEUE.md for the age rule). Files younger than
 * min_age seconds are kept. Returns the number removed, or -1 with err. */
long queue_clean_tmp(const char *qdir, int64_t min_age, struct buf *err);

#endif
