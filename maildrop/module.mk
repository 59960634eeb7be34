# maildrop: local delivery agent and its tools.
PROGRAMS += maildirmake
maildirmake_SRCS := maildrop/maildirmake.c
