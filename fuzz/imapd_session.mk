# imapd's commands on a selected mailbox: every imapd source but main.c
# (fuzz/imapd_session_fuzz.c dispatches the commands itself).
imapd_session_FUZZ_SRCS = $(filter-out imapd/main.c imapd/login.c,$(imapd_SRCS))
