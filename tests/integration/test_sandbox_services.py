"""The whole suite as `make run` starts it: a message sent over SMTPS (465, implicit TLS,
AUTH) to an account is read back over IMAP with STARTTLS (143), IMAPS (993) and POP3S
(995), each client logging in with the account's full address and verifying the
sandbox's certificate for localhost."""

import imaplib
import os
import poplib
import smtplib
import ssl
import time

from harness import Sandbox, TempDirTestCase, program

USER, PASSWORD = "kim@example.org", "kim pass 7"
NEEDED = ("listener", "smtpd", "submit", "authd", "courierd", "deliver", "deliver-spawn",
          "imap-login", "imapd", "pop3-login", "pop3d", "auth-exec")


class SandboxServicesTest(TempDirTestCase):
    def setUp(self):
        super().setUp()
        for prog in NEEDED:
            if not os.access(program(prog), os.X_OK):
                self.skipTest(prog + " is not built")

    def tls_context(self, root):
        ctx = ssl.create_default_context(cafile=os.path.join(root, "etc/estafette/smtpd.pem"))
        return ctx

    def test_mail_round_trip_over_every_tls_service(self):
        root = os.path.join(self.tmp, "inst")
        with Sandbox(root, users=[USER + ":" + PASSWORD]) as sb:
            ctx = self.tls_context(root)
            body = b"Subject: round trip\r\n\r\nfrom smtps to imap and pop3\r\n"
            with smtplib.SMTP_SSL("localhost", sb.port(465), context=ctx, timeout=20) as s:
                s.login(USER, PASSWORD)
                s.sendmail(USER, [USER], body)
            maildir_new = os.path.join(root, "mail/example.org/kim/Maildir/new")
            deadline = time.time() + 30
            while not os.listdir(maildir_new) and time.time() < deadline:
                time.sleep(0.2)
            self.assertEqual(len(os.listdir(maildir_new)), 1)

            imap = imaplib.IMAP4("localhost", sb.port(143), timeout=20)
            imap.starttls(ssl_context=ctx)
            imap.login(USER, PASSWORD)
            typ, data = imap.select("INBOX", readonly=True)
            self.assertEqual((typ, data[0]), ("OK", b"1"))
            typ, data = imap.fetch("1", "(BODY.PEEK[TEXT])")
            self.assertEqual(data[0][1], b"from smtps to imap and pop3\r\n")
            imap.logout()

            imaps = imaplib.IMAP4_SSL("localhost", sb.port(993), ssl_context=ctx, timeout=20)
            imaps.login(USER, PASSWORD)
            self.assertEqual(imaps.select("INBOX")[1][0], b"1")
            imaps.logout()

            pop = poplib.POP3_SSL("localhost", sb.port(995), context=ctx, timeout=20)
            pop.user(USER)
            pop.pass_(PASSWORD)
            self.assertEqual(pop.stat()[0], 1)
            lines = pop.retr(1)[1]
            self.assertIn(b"from smtps to imap and pop3", lines)
            self.assertIn(b"Subject: round trip", lines)
            pop.quit()

            bad = imaplib.IMAP4("localhost", sb.port(143), timeout=20)
            bad.starttls(ssl_context=ctx)
            with self.assertRaises(imaplib.IMAP4.error):
                bad.login(USER, "wrong")
            bad.logout()
