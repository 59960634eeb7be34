/* deliver: local delivery under the account's ids (deliver(8)). */
#ifndef ESTAFETTE_DELIVER_H
#define ESTAFETTE_DELIVER_H

#include "buf.h"

/* Exit codes: the interface to deliver-spawn (deliver(8)). */
#define DELIVER_OK 0
#define DELIVER_TEMP 75    /* EX_TEMPFAIL */
#define DELIVER_PERM 100

#define DELIVER_MAX_DOTFILE (64u * 1024)
#define DELIVER_MAX_HEADER (1024u * 1024) /* scanned for loops */
#define DELIVER_MAX_HOPS 100              /* Received: fields */
#define DELIVER_MAX_DELIVERED_TO 50

struct delivery {
	const char *home, *maildir, *sender, *rcpt, *ext, *qid;
	const char *quota;  /* the account's Maildir++ quota ("" = none) */
	int msgfd;          /* the message, seekable */
	struct buf prefix;  /* Return-Path: and Delivered-To: lines */
	struct buf answer;  /* text for the status line */
};

#define MAX_SPECIAL 32

/* The program (-P) and file (-F) targets of an alias, from deliver-spawn. */
struct special {
	char kind[MAX_SPECIAL];
	const char *target[MAX_SPECIAL];
	size_t n;
};

/* deliver.c: one delivery, stdin the message; prints the status line and
 * returns the exit status. The arguments' sanity (deliver_args_ok) first. */
int deliver_job(struct delivery *d, int maildrop, const struct special *sp);
int deliver_args_ok(const struct delivery *d);
/* worker.c: serve jobs from deliver-spawn on fd 0 until it closes it. */
int deliver_worker(void);

/* Each returns DELIVER_OK, DELIVER_TEMP or DELIVER_PERM and sets d->answer. */
int deliver_maildir(struct delivery *d, const char *path);
int deliver_mbox(struct delivery *d, const char *path);
int deliver_program(struct delivery *d, const char *cmd);
int deliver_forward(struct delivery *d, const char *addr);
int deliver_maildrop(struct delivery *d);

/* Run argv with the prefixed message on its stdin; returns the exit status
 * mapped as for a .courier program. */
int deliver_pipe_to(struct delivery *d, char *const argv[], int with_return_path);

/* 1 if the header section has a Delivered-To: equal to rcpt or too many
 * Received: fields (why in reason), 0 if not, -1 on a read error. */
int deliver_loop_check(int fd, const char *rcpt, struct buf *reason);

/* Parse a .courier file and run its instructions (deliver(8) DOT FILES). */
int deliver_dotfile(struct delivery *d, const char *text, size_t len);

#endif
