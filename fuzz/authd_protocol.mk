# authd's request parser, linked from authd/ (fuzz/README).
authd_protocol_FUZZ_SRCS := authd/protocol.c
