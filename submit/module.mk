# submit: the only writer of the mail queue (setgid queue).
PROGRAMS += submit
submit_SRCS := submit/submit.c submit/envelope.c submit/data.c submit/received.c

# sendmail(8): the sendmail-compatible front end over submit; installed also as
# mailq and newaliases (the same program, chosen by argv[0]).
PROGRAMS += sendmail
sendmail_SRCS := submit/sendmail.c submit/sendmail_env.c submit/sendmail_msg.c \
	submit/sendmail_hdr.c submit/sendmail_smtp.c submit/mailq.c submit/sendmail_aliases.c
