# smtpd: the ESMTP server (MX and submission), one process per connection.
PROGRAMS += smtpd
smtpd_SRCS := smtpd/main.c smtpd/config.c smtpd/session.c smtpd/reply.c smtpd/dispatch.c \
	smtpd/params.c smtpd/cmd_ehlo.c smtpd/cmd_mail.c smtpd/cmd_rcpt.c smtpd/cmd_data.c \
	smtpd/cmd_bdat.c smtpd/cmd_starttls.c smtpd/cmd_auth.c smtpd/policy.c \
	smtpd/submit_client.c smtpd/dnsbl.c
