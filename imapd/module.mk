# imapd: the IMAP mail stage, run as the account (imapd(8)).
PROGRAMS += imapd
imapd_SRCS := imapd/main.c imapd/parse.c imapd/seqset.c imapd/output.c \
	imapd/keywords.c imapd/mailbox.c imapd/folder.c imapd/envelope.c imapd/cmd_misc.c \
	imapd/cmd_select.c imapd/cmd_folder.c imapd/cmd_list.c imapd/cmd_fetch.c \
	imapd/cmd_store.c imapd/cmd_search.c imapd/cmd_append.c imapd/cmd_copy.c \
	imapd/cache.c imapd/cmd_status.c imapd/command.c \
	imapd/subject.c imapd/cmd_sort.c imapd/cmd_thread.c imapd/binary.c imapd/cmd_quota.c
$(BUILD)/tests/imapd/parse_test: $(BUILD)/imapd/seqset.o
$(BUILD)/tests/imapd/subject_test: $(BUILD)/imapd/subject.o
# imap-login: the login stage, run as the net user (imapd(8)).
PROGRAMS += imap-login
imap-login_SRCS := imapd/login.c imapd/command.c imapd/parse.c
