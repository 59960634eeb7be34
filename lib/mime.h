/* mime: the structure of an RFC 5322 message with RFC 2045/2046 MIME parts.
 *
 * mime_parse() walks a message held in memory once, front to back, and records
 * every part as offsets into it: its header, its body, the body's line count,
 * its content type and subtype, and the tree (children of multiparts, the
 * encapsulated message of message/rfc822). Nothing is copied but the lowercase
 * type names. IMAP's BODYSTRUCTURE, BODY[section] and partial fetches are
 * answered from these offsets.
 * Trusts nothing: the message comes from a mail store other programs fill.
 * Depth (MIME_MAX_DEPTH), the number of parts (MIME_MAX_PARTS) and header
 * lines per part (MIME_MAX_HEADER_LINES) are bounded; past a bound a part is
 * treated as an opaque leaf, never an error, so a broken message can still be
 * fetched whole. Malformed headers, missing boundaries and NUL bytes are
 * accepted the way mail readers accept them. Line ends may be LF or CRLF. */
#ifndef ESTAFETTE_MIME_H
#define ESTAFETTE_MIME_H

#include <stddef.h>

struct buf;

#define MIME_MAX_DEPTH 32
#define MIME_MAX_PARTS 1000
#define MIME_MAX_HEADER_LINES 2000
#define MIME_TYPE_MAX 64     /* longer type or subtype names are cut (and kept lowercase) */
#define MIME_BOUNDARY_MAX 70 /* RFC 2046; a longer boundary makes the part a leaf */

struct mime_part {
	size_t hdr_off, hdr_len;   /* the header, with the empty line ending it */
	size_t body_off, body_len;
	size_t body_lines;         /* lines in the body (a last unterminated one counts) */
	char type[MIME_TYPE_MAX];  /* lowercase: "text" by default */
	char subtype[MIME_TYPE_MAX];
	int parent;                /* index in mime_msg.parts; -1 for the root */
	int first_child;           /* -1 for none */
	int next;                  /* next sibling; -1 for none */
	int nchildren;
	int depth;
	int is_multipart;          /* type "multipart" with children parsed */
	int is_message;            /* message/rfc822 (or global) with its message parsed */
};

struct mime_msg {
	const char *data;
	size_t len;
	struct mime_part *parts; /* parts[0] is the whole message */
	int count;
	int cap;
	int truncated;           /* some bound was reached */
};

/* Parse data (which must outlive m). Always succeeds; free with mime_free. */
void mime_parse(struct mime_msg *m, const char *data, size_t len);
void mime_free(struct mime_msg *m);

/* The unfolded value of the first header field called name (any case) in the
 * header hdr/len, leading and trailing white space removed, into out.
 * 1 if found, 0 if not (out then empty). */
int mime_header_get(const char *hdr, size_t len, const char *name, struct buf *out);

/* Call fn for every field of a header: name and the raw value (folded, with
 * its line ends, without the trailing one). Stops when fn returns nonzero and
 * returns that value; at most MIME_MAX_HEADER_LINES fields. */
typedef int (*mime_field_fn)(const char *name, size_t name_len, const char *value,
			     size_t value_len, size_t field_off, size_t field_len, void *ctx);
int mime_header_each(const char *hdr, size_t len, mime_field_fn fn, void *ctx);

/* A structured header value: "token/token; a=b; c="d"" (Content-Type,
 * Content-Disposition). The value before the first ';' (without comments)
 * goes to main; each parameter to names/values, names lowercased, quotes and
 * backslashes removed. RFC 2231 continuations are joined (name*0, name*1) and
 * their charset prefixes kept. At most MIME_MAX_PARAMS parameters. */
#define MIME_MAX_PARAMS 32
struct mime_params {
	struct buf *names;
	struct buf *values;
	int count;
};
void mime_params_parse(const char *s, size_t len, struct buf *main_value,
		       struct mime_params *p);
void mime_params_free(struct mime_params *p);
/* The value of parameter name, or NULL. */
const struct buf *mime_params_get(const struct mime_params *p, const char *name);

/* Append data to out with every bare LF turned into CRLF (a CR not followed
 * by LF is kept as it is). */
void mime_crlf(struct buf *out, const char *data, size_t len);

#endif
