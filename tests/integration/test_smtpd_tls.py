"""smtpd(8) with TLS and AUTH: STARTTLS and implicit TLS under the listener driven by
smtplib, AUTH PLAIN and LOGIN checked by authd, where AUTH is offered, submission mode
(AUTH required, the sender must be the account), and STARTTLS command injection."""

import base64
import smtplib
import socket
import ssl
import subprocess
import os

from harness import sasl_plain
from smtpd_util import SmtpdCase, PASSWORD, body_of

USER = "joe@example.test"


def b64(s):
    return base64.b64encode(s.encode()).decode()


class SmtpdTlsTest(SmtpdCase):
    def setUp(self):
        super().setUp()
        self.config("smtpd.conf", "tarpit_delay = 0\n")
        key = os.path.join(self.tmp, "key.pem")
        cert = os.path.join(self.tmp, "cert.pem")
        r = subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes",
                            "-keyout", key, "-out", cert, "-subj", "/CN=localhost", "-days", "2"],
                           capture_output=True, text=True, timeout=60)
        self.assertEqual(r.returncode, 0, r.stderr)
        with open(cert) as c, open(key) as k:
            self.config("smtpd.pem", c.read() + k.read())
        self.ctx = ssl.create_default_context()
        self.ctx.check_hostname = False
        self.ctx.verify_mode = ssl.CERT_NONE

    def test_starttls_auth_and_send_with_smtplib(self):
        port = self.start_listener()
        with smtplib.SMTP("127.0.0.1", port, timeout=20) as s:
            code, _ = s.ehlo("client.example")
            self.assertEqual(code, 250)
            self.assertTrue(s.has_extn("starttls"))
            s.starttls(context=self.ctx)
            s.ehlo("client.example")
            self.assertFalse(s.has_extn("starttls"))
            self.assertIn("PLAIN", s.esmtp_features["auth"])
            s.login(USER, PASSWORD)
            refused = s.sendmail(USER, ["joe@example.test", "someone@elsewhere.example"],
                                 b"Subject: tls\r\n\r\nover TLS\r\n")
            self.assertEqual(refused, {})
        (_, ctl, msg), = self.queued()
        self.assertIn("A%s\n" % USER, ctl)
        self.assertIn("Rsomeone@elsewhere.example\t", ctl)  # authenticated clients relay
        head = msg[:600].decode()
        self.assertIn("ESMTPSA", head)
        self.assertIn("TLS", head)
        self.assertEqual(body_of(msg), b"Subject: tls\n\nover TLS\n")

    def test_implicit_tls_submission(self):
        port = self.start_listener("--implicit-tls", "--submission")
        with smtplib.SMTP_SSL("127.0.0.1", port, timeout=20, context=self.ctx) as s:
            s.ehlo("client.example")
            self.assertFalse(s.has_extn("starttls"))
            with self.assertRaises(smtplib.SMTPSenderRefused) as cm:
                s.sendmail(USER, ["x@elsewhere.example"], b"\r\n")
            self.assertEqual(cm.exception.smtp_code, 530)
            with self.assertRaises(smtplib.SMTPAuthenticationError) as cm:
                s.login(USER, "wrong")
            self.assertEqual(cm.exception.smtp_code, 535)
            s.login(USER, PASSWORD)
            s.sendmail(USER, ["x@elsewhere.example"], b"Subject: s\r\n\r\nhi\r\n")
        (_, ctl, _), = self.queued()
        self.assertIn("Fsubmission\n", ctl)

    def test_auth_login_and_plain_raw(self):
        c = self.connect(ip="127.0.0.1")
        ext = self.ehlo(c)
        self.assertIn("AUTH PLAIN LOGIN", ext)  # loopback without TLS
        self.assertEqual(c.cmd("AUTH LOGIN")[0], 334)
        self.assertEqual(c.cmd(b64(USER)), (334, ["UGFzc3dvcmQ6"]))
        self.assertEqual(c.cmd(b64("bad")), (535, ["5.7.8 Authentication credentials invalid"]))
        self.assertEqual(c.cmd("AUTH PLAIN"), (334, [""]))
        self.assertEqual(c.cmd("*")[0], 501)
        self.assertEqual(c.cmd("AUTH PLAIN !!!")[0], 501)
        self.assertEqual(c.cmd("AUTH CRAM-MD5")[0], 504)
        # acting for another identity (authzid) is refused like bad credentials
        self.assertEqual(c.cmd("AUTH PLAIN " + b64("other\0" + USER + "\0" + PASSWORD))[0], 535)
        self.assertEqual(c.cmd("AUTH PLAIN " + sasl_plain(USER, PASSWORD))[0], 235)
        self.assertEqual(c.cmd("AUTH PLAIN " + sasl_plain(USER, PASSWORD))[0], 503)
        c.close()
        c = self.connect(ip="127.0.0.1")
        self.ehlo(c)
        self.assertEqual(c.cmd("AUTH LOGIN " + b64(USER)), (334, ["UGFzc3dvcmQ6"]))
        self.assertEqual(c.cmd(b64(PASSWORD))[0], 235)
        c.close()
        self.assertIn("smtp auth ip=127.0.0.1 user=%s" % USER, self.log())
        self.assertNotIn(PASSWORD, self.log())

    def test_cram_md5_and_scram_through_authd(self):
        from test_authd_sasl import ScramClient
        self.stop_authd()
        self.config("authd.conf", "mechanisms = PLAIN LOGIN CRAM-MD5 SCRAM-SHA-256\n")
        self.userdb(USER, "passwd", "-s", "-c", stdin=PASSWORD + "\n")
        self.userdb("compile")
        self.start_authd()
        port = self.start_listener()
        with smtplib.SMTP("127.0.0.1", port, timeout=20) as s:  # loopback: AUTH in clear
            s.ehlo("client.example")
            self.assertEqual(s.esmtp_features["auth"].split(),
                             ["PLAIN", "LOGIN", "CRAM-MD5", "SCRAM-SHA-256"])
            s.user, s.password = USER, PASSWORD
            self.assertEqual(s.auth("CRAM-MD5", s.auth_cram_md5)[0], 235)
        c = self.connect(ip="127.0.0.1")
        self.ehlo(c)
        cl = ScramClient(USER, PASSWORD)
        code, lines = c.cmd("AUTH SCRAM-SHA-256 " + base64.b64encode(cl.first()).decode())
        self.assertEqual(code, 334, lines)
        code, lines = c.cmd(base64.b64encode(cl.final(base64.b64decode(lines[0]))).decode())
        self.assertEqual(code, 334, lines)
        self.assertEqual(base64.b64decode(lines[0]), cl.expect)  # the server knows the keys
        self.assertEqual(c.cmd("")[0], 235)
        c.close()
        c = self.connect(ip="127.0.0.1")
        self.ehlo(c)
        cl = ScramClient(USER, PASSWORD + "x")
        code, lines = c.cmd("AUTH SCRAM-SHA-256 " + base64.b64encode(cl.first()).decode())
        code, lines = c.cmd(base64.b64encode(cl.final(base64.b64decode(lines[0]))).decode())
        self.assertEqual(code, 535, lines)
        self.assertEqual(c.cmd("AUTH SCRAM-SHA-256 !!notbase64")[0], 501)
        self.assertEqual(c.cmd("AUTH X-UNKNOWN")[0], 504)
        c.close()
        self.assertNotIn(PASSWORD, self.log())

    def test_no_auth_in_clear_from_network(self):
        c = self.connect(ip="192.0.2.7")
        self.assertFalse(any(e.startswith("AUTH") for e in self.ehlo(c)))
        self.assertEqual(c.cmd("AUTH PLAIN " + sasl_plain(USER, PASSWORD))[0], 538)
        c.close()
        self.config("smtpd.conf", "auth_loopback = no\n")
        c = self.connect(ip="127.0.0.1")
        self.ehlo(c)
        self.assertEqual(c.cmd("AUTH PLAIN " + sasl_plain(USER, PASSWORD))[0], 538)
        c.close()

    def test_auth_authd_down(self):
        self.stop_authd()
        c = self.connect(ip="127.0.0.1")
        self.ehlo(c)
        self.assertEqual(c.cmd("AUTH PLAIN " + sasl_plain(USER, PASSWORD))[0], 454)
        c.close()

    def test_submission_sender_check(self):
        c = self.connect("--submission", ip="127.0.0.1")
        self.ehlo(c)
        self.assertEqual(c.cmd("MAIL FROM:<%s>" % USER)[0], 530)
        self.assertEqual(c.cmd("AUTH PLAIN " + sasl_plain(USER, PASSWORD))[0], 235)
        self.assertEqual(c.cmd("MAIL FROM:<boss@example.test>")[0], 553)
        self.assertEqual(c.cmd("MAIL FROM:<Joe@Example.Test>")[0], 250)
        self.assertEqual(c.cmd("RCPT TO:<x@elsewhere.example>")[0], 250)
        c.close()

    def test_starttls_injection_refused(self):
        port = self.start_listener()
        with socket.create_connection(("127.0.0.1", port), timeout=20) as s:
            f = s.makefile("rb")
            self.assertTrue(f.readline().startswith(b"220 "))
            s.sendall(b"EHLO x.example\r\n")
            while not f.readline().startswith(b"250 "):
                pass
            s.sendall(b"STARTTLS\r\nMAIL FROM:<evil@b.example>\r\n")
            self.assertTrue(f.readline().startswith(b"554 5.5.1"))
            self.assertEqual(f.readline(), b"")

    def test_starttls_resets_state(self):
        port = self.start_listener()
        with socket.create_connection(("127.0.0.1", port), timeout=20) as raw:
            f = raw.makefile("rb")
            f.readline()
            raw.sendall(b"EHLO x.example\r\nMAIL FROM:<a@b.example>\r\n")
            while not f.readline().startswith(b"250 "):
                pass
            self.assertTrue(f.readline().startswith(b"250 "))
            raw.sendall(b"STARTTLS\r\n")
            self.assertTrue(f.readline().startswith(b"220 "))
            s = self.ctx.wrap_socket(raw, server_hostname="localhost")
            s.sendall(b"RCPT TO:<joe@example.test>\r\n")
            self.assertTrue(s.recv(1000).startswith(b"503 "))  # EHLO again first, MAIL forgotten
            s.sendall(b"STARTTLS\r\n")
            self.assertTrue(s.recv(1000).startswith(b"503 "))
            s.close()
