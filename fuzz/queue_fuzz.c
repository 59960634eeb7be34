/* queue_fuzz: lib/queue's control-file reader (queue_ctl_parse), as
 * courierd reads what is on disk. The first byte chooses whether the id is
 * checked against a fixed one. Invariant: a control file that parses
 * formats to one that parses, and formatting that again gives the same
 * bytes; recipient and field bounds hold. */
#include "fuzz.h"
#include "buf.h"
#include "queue.h"

static void check_env(const struct queue_env *e)
{
	FUZZ_CHECK(queue_id_valid(e->id, strlen(e->id)));
	FUZZ_CHECK(e->sender != NULL && strlen(e->sender) <= QUEUE_MAX_ADDR);
	FUZZ_CHECK(e->nrcpt > 0 && e->nrcpt <= QUEUE_MAX_RCPTS);
	for (size_t i = 0; i < e->nrcpt; i++) {
		const struct queue_rcpt *r = &e->rcpts[i];
		FUZZ_CHECK(r->addr[0] != '\0' && strlen(r->addr) <= QUEUE_MAX_ADDR);
		FUZZ_CHECK(r->state == QUEUE_R_PENDING || r->state == QUEUE_R_DELIVERED ||
			   r->state == QUEUE_R_FAILED);
	}
}

static void round_trip(const struct queue_env *e)
{
	struct buf text = BUF_INIT, text2 = BUF_INIT, err = BUF_INIT;
	struct queue_env e2;
	if (queue_ctl_format(e, &text, &err) < 0) {
		fprintf(stderr, "parsed but does not format: %s\n", buf_cstr(&err));
		FUZZ_CHECK(0);
	}
	int r = queue_ctl_parse(text.data, text.len, e->id, &e2, &err);
	if (r < 0)
		fprintf(stderr, "formatted but does not parse: %s\n", buf_cstr(&err));
	FUZZ_CHECK(r == 0);
	FUZZ_CHECK(e2.nrcpt == e->nrcpt && e2.arrival == e->arrival);
	FUZZ_CHECK(queue_ctl_format(&e2, &text2, &err) == 0);
	FUZZ_CHECK(fuzz_eq(text2.data, text2.len, text.data, text.len));
	queue_env_free(&e2);
	buf_free(&text);
	buf_free(&text2);
	buf_free(&err);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_in in;
	fuzz_in_init(&in, data, size);
	unsigned opt = fuzz_take_byte(&in);
	struct queue_env e;
	struct buf err = BUF_INIT;
	const char *expect = (opt & 1) ? "0123456789abcdef0123" : NULL;
	if (queue_ctl_parse((const char *)in.p, in.len, expect, &e, &err) == 0) {
		check_env(&e);
		round_trip(&e);
	} else {
		FUZZ_CHECK(err.len > 0);
	}
	queue_env_free(&e);
	buf_free(&err);
	return 0;
}
