# pop3d: the POP3 login stage and mail stage (pop3d(8)).
PROGRAMS += pop3-login
pop3-login_SRCS := pop3d/login.c pop3d/pop3.c
PROGRAMS += pop3d
pop3d_SRCS := pop3d/pop3d.c pop3d/pop3.c pop3d/maildrop.c
