"""remote(8) against estafette's own smtpd (issue 5's "estafette's own smtpd instances"
as peers): a sandbox instance takes mail from the remote module over STARTTLS verified
against its certificate (smtpd offers CHUNKING, so the module sends BDAT), with 8BITMIME
and SMTPUTF8, rejects an unknown user at RCPT time (the 5xx reaches the answer for the
DSN), and the messages land in the account's Maildir byte for byte but for trace
fields."""

import glob
import os
import shutil
import tempfile
import time
import unittest

import dnsserver
from harness import Sandbox, TempDirTestCase, program
from test_remote import Remote, free_port

USER, PASSWORD = "joe@example.test", "pw-joe-1"
ZONES = ['local-zone: "peer.test." static',
         'local-data: "localhost.peer.test. A 127.0.0.1"']


def strip_trace(msg):
    lines = msg.split(b"\n")
    i = 0
    while i < len(lines) and lines[i].lower().startswith((b"received:", b"return-path:",
                                                          b"delivered-to:")):
        i += 1
        while i < len(lines) and lines[i][:1] in (b" ", b"\t"):
            i += 1
    return b"\n".join(lines[i:])


@unittest.skipUnless(dnsserver.available(), "unbound is not installed")
class RemoteToSmtpdTest(TempDirTestCase):
    @classmethod
    def setUpClass(cls):
        cls.dnsdir = tempfile.mkdtemp(prefix="estafette-dns.")
        cls.dns = dnsserver.DnsServer(cls.dnsdir, ZONES).start()

    @classmethod
    def tearDownClass(cls):
        cls.dns.stop()
        shutil.rmtree(cls.dnsdir, ignore_errors=True)

    def setUp(self):
        super().setUp()
        for prog in ("smtpd", "listener", "submit", "authd", "courierd", "deliver", "remote"):
            if not os.access(program(prog), os.X_OK):
                self.skipTest(prog + " is not built")
        self.root = os.path.join(self.tmp, "inst")
        self.sb = Sandbox(self.root, users=[USER + ":" + PASSWORD]).start()
        self.remote = None

    def tearDown(self):
        if self.remote:
            self.remote.stop()
        self.sb.stop()
        super().tearDown()

    def maildir(self):
        d = os.path.join(self.root, "mail", "example.test", "joe", "Maildir", "new")
        return sorted(glob.glob(os.path.join(d, "*")))

    def start(self, tls):
        """The module, routing example.test to the sandbox's port 25. The sandbox's
        certificate names localhost; the CA file is the certificate itself."""
        pem = os.path.join(self.root, "etc", "estafette", "smtpd.pem")
        ca = os.path.join(self.tmp, "sandbox-ca.pem")
        with open(pem) as f:
            text = f.read()
        with open(ca, "w") as f:
            f.write(text[:text.index("-----END CERTIFICATE-----") + 26])
        os.chmod(ca, 0o644)
        os.chmod(self.tmp, 0o755)
        routes = f"example.test localhost:{self.sb.port(25)} tls={tls}\n"
        self.remote = Remote(os.path.join(self.tmp, "remote"), self.dns.port, free_port(),
                             f"tls_ca_file = {ca}\n", routes)
        return self.remote

    def send(self, rcpt, message, qid, sender="from@client.test"):
        jid = self.remote.job(rcpt, qid=qid, message=message, sender=sender)
        answers = self.remote.answers(1, timeout=60)
        self.assertIn(jid, answers, self.remote.log())
        return answers[jid]

    def test_verified_starttls_bdat_8bit_and_utf8(self):
        r = self.start("verify")
        msg = b"Subject: to estafette\n\ncaf\xc3\xa9\n.dot\n" + b"y" * 70000 + b"\nend\n"
        answer = self.send(USER, msg, "0123456789abcdef0000")
        self.assertTrue(answer.startswith("250 "), answer + r.log())
        self.assertIn("localhost[127.0.0.1]", answer)
        utf = "Subject: utf8\n\nfrom a UTF-8 sender\n".encode()
        answer = self.send(USER, utf, "0123456789abcdef0001", sender="j\u00f6@client.test")
        self.assertTrue(answer.startswith("250 "), answer + r.log())
        deadline = time.time() + 60
        while len(self.maildir()) < 2 and time.time() < deadline:
            time.sleep(0.2)
        files = self.maildir()
        self.assertEqual(len(files), 2)
        got = [open(f, "rb").read() for f in files]
        bodies = sorted(strip_trace(g) for g in got)
        self.assertTrue(bodies == sorted([msg, utf]), [b[:200] for b in bodies])
        heads = [g[:g.index(b"\n\n")].decode("utf-8", "replace") for g in got]
        self.assertTrue(all("(using TLSv1." in h for h in heads), heads)
        self.assertTrue(any(" with ESMTPS id " in h for h in heads), heads)
        self.assertTrue(any(" with UTF8SMTPS id " in h and  # RFC 6531's keyword
                            "Return-Path: <j\u00f6@client.test>" in h for h in heads), heads)

    def test_unknown_user_refused_at_rcpt(self):
        self.start("encrypt")
        answer = self.send("nobody@example.test", b"Subject: x\n\nx\n", "0123456789abcdef0002")
        self.assertTrue(answer.startswith("550 5.1.1 "), answer)
        self.assertIn("localhost[127.0.0.1] said: 550 5.1.1", answer)
        self.assertIn("(in reply to RCPT TO)", answer)

    def test_verify_fails_for_a_name_the_certificate_lacks(self):
        r = self.start("verify")
        r.stop()
        routes = f"example.test localhost.peer.test:{self.sb.port(25)} tls=verify\n"
        with open(os.path.join(r.root, "etc", "estafette", "remote.routes"), "w") as f:
            f.write(routes)
        self.remote = Remote(os.path.join(self.tmp, "remote"), self.dns.port, free_port(),
                             f"tls_ca_file = {os.path.join(self.tmp, 'sandbox-ca.pem')}\n",
                             routes)
        answer = self.send(USER, b"Subject: x\n\nx\n", "0123456789abcdef0003")
        self.assertTrue(answer.startswith("451 4.4.1 "), answer)
        self.assertIn("TLS handshake with localhost.peer.test[127.0.0.1] failed", answer)
        self.assertEqual(self.maildir(), [])


if __name__ == "__main__":
    unittest.main()
