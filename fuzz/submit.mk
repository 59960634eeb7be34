# submit's whole pipe protocol; fuzz/submit_fuzz.c supplies submit_fail().
submit_FUZZ_SRCS := submit/envelope.c submit/data.c submit/received.c
