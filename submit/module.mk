# submit: the only writer of the mail queue (setgid queue).
PROGRAMS += submit
submit_SRCS := submit/submit.c submit/envelope.c submit/data.c submit/received.c
