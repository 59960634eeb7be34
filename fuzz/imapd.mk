# imapd's command reader and parser, sequence sets, responses, ENVELOPE and
# BODYSTRUCTURE (no session loop, no mailbox).
imapd_FUZZ_SRCS := imapd/parse.c imapd/seqset.c imapd/command.c imapd/output.c imapd/envelope.c
