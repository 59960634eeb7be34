# maildrop: local delivery agent and its tools.
PROGRAMS += maildirmake
maildirmake_SRCS := maildrop/maildirmake.c
PROGRAMS += maildrop
maildrop_SRCS := maildrop/maildrop.c maildrop/mdlex.c maildrop/mdparse.c maildrop/mdvar.c \
	maildrop/mdmsg.c maildrop/mdeval.c maildrop/mdfunc.c maildrop/mdstmt.c \
	maildrop/mddeliver.c
$(BUILD)/tests/maildrop/mdparse_test: $(BUILD)/maildrop/mdlex.o
PROGRAMS += deliverquota
deliverquota_SRCS := maildrop/deliverquota.c maildrop/mddeliver.c
PROGRAMS += reformail
reformail_SRCS := maildrop/reformail.c
PROGRAMS += mailbot
mailbot_SRCS := maildrop/mailbot.c maildrop/mddeliver.c
