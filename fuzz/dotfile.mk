# deliver's .courier parser alone: fuzz/dotfile_fuzz.c stubs the delivery targets.
dotfile_FUZZ_SRCS := deliver/dotfile.c
