/* base64_fuzz: lib/base64 (strict decoder, MIME decoder, the incremental MIME
 * decoder fed in pieces whose sizes the input chooses, the encoder).
 * Invariants: the stream gives what the one-shot MIME decoder gives however
 * the input is cut; strict success implies MIME success with the same bytes
 * and re-encoding gives the input back; encode -> strict decode is identity;
 * a strict failure leaves out untouched. */
#include "fuzz.h"
#include "base64.h"
#include "buf.h"

static void check_stream(struct fuzz_in *in, const char *s, size_t len,
			 const struct buf *whole, int whole_rc)
{
	struct base64_dec d;
	struct buf out = BUF_INIT;
	base64_dec_init(&d);
	for (size_t off = 0; off < len;) {
		size_t n = fuzz_piece(in, len - off);
		base64_dec_feed(&d, &out, s + off, n);
		off += n;
	}
	const char *err = NULL;
	int rc = base64_dec_finish(&d, &out, &err);
	FUZZ_CHECK(rc == whole_rc);
	FUZZ_CHECK(fuzz_eq(out.data, out.len, whole->data, whole->len));
	buf_free(&out);
}

static void check_strict(const char *s, size_t len, const struct buf *mime, int mime_rc)
{
	struct buf out = BUF_INIT;
	buf_append_str(&out, "x"); /* must survive a failure untouched */
	const char *err = NULL;
	if (base64_decode_strict(&out, s, len, &err) == 0) {
		FUZZ_CHECK(mime_rc == 0);
		FUZZ_CHECK(fuzz_eq(out.data + 1, out.len - 1, mime->data, mime->len));
		struct buf enc = BUF_INIT;
		base64_encode(&enc, out.data + 1, out.len - 1, BASE64_NOWRAP);
		FUZZ_CHECK(fuzz_eq(enc.data, enc.len, s, len));
		buf_free(&enc);
	} else {
		FUZZ_CHECK(err != NULL);
		FUZZ_CHECK(out.len == 1 && out.data[0] == 'x');
	}
	buf_free(&out);
}

static void check_encode(const char *s, size_t len, enum base64_wrap wrap)
{
	struct buf enc = BUF_INIT, dec = BUF_INIT;
	base64_encode(&enc, s, len, wrap);
	if (wrap == BASE64_NOWRAP)
		FUZZ_CHECK(base64_decode_strict(&dec, enc.data, enc.len, NULL) == 0);
	else
		FUZZ_CHECK(base64_decode_mime(&dec, enc.data, enc.len, NULL) == 0);
	FUZZ_CHECK(fuzz_eq(dec.data, dec.len, s, len));
	buf_free(&enc);
	buf_free(&dec);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_in in;
	fuzz_in_init(&in, data, size);
	unsigned opt = fuzz_take_byte(&in);
	const char *s = (const char *)in.p;
	size_t len = in.len;
	struct buf mime = BUF_INIT;
	const char *err = NULL;
	int mime_rc = base64_decode_mime(&mime, s, len, &err);
	FUZZ_CHECK(mime_rc == 0 || err != NULL);
	check_stream(&in, s, len, &mime, mime_rc);
	check_strict(s, len, &mime, mime_rc);
	check_encode(s, len, (enum base64_wrap)(opt % 3));
	buf_free(&mime);
	return 0;
}
