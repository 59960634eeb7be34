/* authd_protocol_fuzz: authd's request parser (authd/protocol.c), which
 * reads whatever a local client writes to authd's socket. The input is one
 * request line. Invariants: a parsed request has a valid service; AUTH and
 * LOOKUP name a user; passwords hold no NUL; a refusal always says why. */
#include "fuzz.h"
#include "../authd/protocol.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct request r;
	const char *why = NULL;
	memset(&r, 0, sizeof r);
	if (protocol_parse((const char *)data, size, &r, &why) == 0) {
		if (r.type == REQ_LOOKUP || r.type == REQ_AUTH) {
			FUZZ_CHECK(r.service.len >= 1 && r.service.len <= PROTO_MAX_SERVICE);
			FUZZ_CHECK(r.user.len > 0 && r.user.len <= PROTO_MAX_USER);
		}
		if (r.type == REQ_AUTH)
			FUZZ_CHECK(r.pass.len > 0 && !buf_has_nul(&r.pass));
	} else {
		FUZZ_CHECK(why != NULL);
	}
	struct buf out = BUF_INIT;
	protocol_format_status(&out, "NO", (const char *)buf_cstr(&r.user));
	FUZZ_CHECK(out.len > 0 && out.data[out.len - 1] == '\n');
	FUZZ_CHECK(memchr(out.data, '\n', out.len) == out.data + out.len - 1);
	buf_free(&out);
	request_free(&r);
	return 0;
}
