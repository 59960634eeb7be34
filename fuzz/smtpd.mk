# smtpd's command loop without session.c, main.c, config.c and submit_client.c:
# fuzz/smtpd_fuzz.c supplies the session plumbing and a submit stub.
smtpd_FUZZ_SRCS := smtpd/dispatch.c smtpd/reply.c smtpd/params.c smtpd/cmd_ehlo.c \
	smtpd/cmd_mail.c smtpd/cmd_rcpt.c smtpd/cmd_data.c smtpd/cmd_bdat.c \
	smtpd/cmd_starttls.c smtpd/cmd_auth.c smtpd/policy.c smtpd/dnsbl.c
