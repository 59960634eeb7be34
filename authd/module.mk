# authd: authentication service and its tools.
PROGRAMS += userdbpw
userdbpw_SRCS := authd/userdbpw.c
