/* qp_fuzz: lib/qp (quoted-printable and RFC 2047 Q; one-shot and incremental
 * decoders, encoders). The first byte picks the encoder flags and seeds the
 * piece sizes. Invariants: the stream decoder equals the one-shot decoder
 * however the input is cut; binary encode -> decode is identity; encoded
 * lines stay within 76 characters; Q encode -> decode is identity and
 * qp_encode_q_size() is exact. */
#include "fuzz.h"
#include "buf.h"
#include "qp.h"

static void check_stream(struct fuzz_in *in, const char *s, size_t len, const struct buf *whole)
{
	struct qp_dec d;
	struct buf out = BUF_INIT;
	qp_dec_init(&d);
	for (size_t off = 0; off < len;) {
		size_t n = fuzz_piece(in, len - off);
		qp_dec_feed(&d, &out, s + off, n);
		off += n;
	}
	qp_dec_finish(&d, &out);
	FUZZ_CHECK(fuzz_eq(out.data, out.len, whole->data, whole->len));
	buf_free(&out);
}

static void check_lines(const struct buf *enc)
{
	size_t col = 0;
	for (size_t i = 0; i < enc->len; i++) {
		if (enc->data[i] == '\n') {
			col = 0;
			continue;
		}
		if (enc->data[i] != '\r')
			col++;
		FUZZ_CHECK(col <= QP_LINE);
	}
}

static void check_encode(const char *s, size_t len, unsigned flags)
{
	struct buf enc = BUF_INIT, dec = BUF_INIT;
	qp_encode(&enc, s, len, flags);
	check_lines(&enc);
	qp_decode(&dec, enc.data, enc.len);
	if (flags & QP_BINARY)
		FUZZ_CHECK(fuzz_eq(dec.data, dec.len, s, len));
	buf_free(&enc);
	buf_free(&dec);
}

static void check_q(const char *s, size_t len)
{
	struct buf enc = BUF_INIT, dec = BUF_INIT;
	qp_encode_q(&enc, s, len);
	FUZZ_CHECK(qp_encode_q_size(s, len) == enc.len);
	qp_decode_q(&dec, enc.data, enc.len);
	FUZZ_CHECK(fuzz_eq(dec.data, dec.len, s, len));
	buf_reset(&dec);
	qp_decode_q(&dec, s, len); /* hostile Q text: must not crash */
	FUZZ_CHECK(dec.len <= len);
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
	struct buf whole = BUF_INIT;
	qp_decode(&whole, s, len);
	FUZZ_CHECK(whole.len <= len);
	check_stream(&in, s, len, &whole);
	check_encode(s, len, opt & (QP_LF | QP_BINARY));
	check_q(s, len);
	buf_free(&whole);
	return 0;
}
