# submit's envelope reader; fuzz/submit_envelope_fuzz.c supplies submit_fail().
submit_envelope_FUZZ_SRCS := submit/envelope.c
