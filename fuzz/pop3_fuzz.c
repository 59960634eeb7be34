/* pop3_fuzz: pop3d/pop3.c, what pop3-login and pop3d apply to client input
 * (command lines, message numbers) and to stored messages (the RETR/TOP
 * transformation). Byte 0 bit 0: a command line, or a stored message with
 * bit 1 for TOP and byte 1 as its line count. Invariants: a parsed verb is
 * 1-8 upper-case letters or digits and its argument lies in the line; a
 * number is all digits and saturates; feeding a message in random pieces
 * gives the same wire form as one piece; RETR's form is exactly the DATA
 * form lib/smtpdata makes (CRLF, dot-stuffing, ".\r\n"); TOP's is a prefix
 * of RETR's, cut at a line end, followed by ".\r\n". */
#include "fuzz.h"
#include "buf.h"
#include "smtpdata.h"
#include "../pop3d/pop3.h"

#include <ctype.h>

static void fuzz_line(const char *s, size_t len)
{
	struct pop3_cmd c;
	if (pop3_parse(s, len, &c) < 0)
		return;
	size_t v = strlen(c.verb);
	FUZZ_CHECK(v >= 1 && v <= 8);
	for (size_t i = 0; i < v; i++)
		FUZZ_CHECK(isupper((unsigned char)c.verb[i]) || isdigit((unsigned char)c.verb[i]));
	FUZZ_CHECK(c.arglen == 0 || (c.arg > s && c.arg + c.arglen == s + len));
	(void)pop3_is(&c, "RETR");
	uint64_t a = 0, b = 0;
	int n = pop3_numbers(c.arg, c.arglen, &a, &b);
	FUZZ_CHECK(n == -1 || n == 1 || n == 2);
	if (n == 1) {
		FUZZ_CHECK(c.arglen <= POP3_MAX_DIGITS);
		for (size_t i = 0; i < c.arglen; i++)
			FUZZ_CHECK(isdigit((unsigned char)c.arg[i]));
		if (c.arglen <= 19) {
			uint64_t want = 0;
			for (size_t i = 0; i < c.arglen; i++)
				want = want * 10 + (uint64_t)(c.arg[i] - '0');
			FUZZ_CHECK(a == want);
		} else {
			size_t z = 0;
			while (z < c.arglen && c.arg[z] == '0')
				z++;
			if (c.arglen - z > 20)
				FUZZ_CHECK(a == UINT64_MAX);
		}
	}
}

static void stuff(struct fuzz_in *in, int limited, uint64_t lines, int pieces, struct buf *out)
{
	struct pop3_stuff st;
	pop3_stuff_init(&st, limited, lines);
	size_t pos = 0;
	while (pos < in->len) {
		size_t n = pieces ? fuzz_piece(in, in->len - pos) : in->len - pos;
		pop3_stuff_feed(&st, (const char *)in->p + pos, n, out);
		pos += n;
	}
	pop3_stuff_end(&st, out);
}

static int bare_cr(const struct fuzz_in *in)
{
	for (size_t i = 0; i < in->len; i++)
		if (in->p[i] == '\r' && (i + 1 == in->len || in->p[i + 1] != '\n'))
			return 1;
	return 0;
}

static void fuzz_message(struct fuzz_in *in, unsigned opt)
{
	struct buf one = BUF_INIT, pieces = BUF_INIT, data = BUF_INIT;
	int limited = (opt >> 1) & 1;
	uint64_t lines = fuzz_take_byte(in);
	stuff(in, limited, lines, 0, &one);
	stuff(in, limited, lines, 1, &pieces);
	FUZZ_CHECK(fuzz_eq(one.data, one.len, pieces.data, pieces.len));
	/* POP3 passes a bare CR as it is, SMTP's encoder ends a line there:
	 * the two agree on everything else */
	if (bare_cr(in)) {
		buf_free(&one);
		buf_free(&pieces);
		return;
	}
	struct smtpdata_enc e;
	smtpdata_init(&e, 1);
	smtpdata_encode(&e, in->p, in->len, &data);
	smtpdata_finish(&e, &data);
	if (!limited) {
		FUZZ_CHECK(fuzz_eq(one.data, one.len, data.data, data.len));
	} else {
		size_t body = one.len - 3;
		FUZZ_CHECK(one.len >= 3 && memcmp(one.data + body, ".\r\n", 3) == 0);
		FUZZ_CHECK(body <= data.len - 3 && fuzz_eq(one.data, body, data.data, body));
		FUZZ_CHECK(body == 0 || one.data[body - 1] == '\n');
	}
	buf_free(&one);
	buf_free(&pieces);
	buf_free(&data);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_in in;
	fuzz_in_init(&in, data, size);
	unsigned opt = fuzz_take_byte(&in);
	if ((opt & 1) == 0)
		fuzz_line((const char *)in.p, in.len);
	else
		fuzz_message(&in, opt);
	return 0;
}
