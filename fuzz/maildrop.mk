# maildrop's filter language: lexer, parser and interpreter (without main).
maildrop_FUZZ_SRCS := maildrop/mdlex.c maildrop/mdparse.c maildrop/mdvar.c maildrop/mdmsg.c \
	maildrop/mdeval.c maildrop/mdfunc.c maildrop/mdstmt.c maildrop/mddeliver.c \
	$(wildcard maildrop/mdquota.c)
