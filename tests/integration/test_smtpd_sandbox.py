"""smtpd(8) end to end in a sandbox: the listener runs smtpd on the smtp and
submission ports, and a message sent with smtplib lands in the account's Maildir
(submit, courierd and deliver doing the rest)."""

import os
import smtplib
import time

from harness import Sandbox, TempDirTestCase, program

USER, PASSWORD = "joe@example.test", "pw-joe-1"


class SmtpdSandboxTest(TempDirTestCase):
    def setUp(self):
        super().setUp()
        for prog in ("smtpd", "listener", "submit", "authd", "courierd", "deliver"):
            if not os.access(program(prog), os.X_OK):
                self.skipTest(prog + " is not built")

    def maildir_new(self, root):
        d = os.path.join(root, "mail", "example.test", "joe", "Maildir", "new")
        return [os.path.join(d, f) for f in os.listdir(d)] if os.path.isdir(d) else []

    def test_smtp_and_submission_to_maildir(self):
        root = os.path.join(self.tmp, "inst")
        with Sandbox(root, users=[USER + ":" + PASSWORD]) as sb:
            with smtplib.SMTP("127.0.0.1", sb.port(25), timeout=20) as s:
                self.assertEqual(s.ehlo("client.example")[0], 250)
                with self.assertRaises(smtplib.SMTPRecipientsRefused):
                    s.sendmail("a@remote.example", ["nobody@example.test"], b"\r\n")
                s.sendmail("a@remote.example", [USER], b"Subject: one\r\n\r\nvia smtp\r\n")
            with smtplib.SMTP("127.0.0.1", sb.port(587), timeout=20) as s:
                s.ehlo("client.example")
                s.login(USER, PASSWORD)
                s.sendmail(USER, [USER], b"Subject: two\r\n\r\nvia submission\r\n")
            deadline = time.time() + 30
            while len(self.maildir_new(root)) < 2 and time.time() < deadline:
                time.sleep(0.2)
            files = self.maildir_new(root)
            self.assertEqual(len(files), 2)
            bodies = b"".join(open(f, "rb").read() for f in files)
            self.assertIn(b"via smtp\n", bodies)
            self.assertIn(b"via submission\n", bodies)
            self.assertIn(b"with ESMTPA", bodies)
