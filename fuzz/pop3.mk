# pop3d's command splitting, numbers and message stuffing (pop3d/pop3.c).
pop3_FUZZ_SRCS := pop3d/pop3.c
