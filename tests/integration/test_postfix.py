"""estafette with Postfix from Debian as the peer, both ways, on loopback.

Issue 4: a Postfix instance (bench/lib/bench.py's helper: its own config_directory and
queue in TMP) relays with relayhost = [127.0.0.1]:port to estafette's smtpd in a
sandbox; the message ends in the account's Maildir byte for byte, apart from the
trace fields (Received:, and deliver's Return-Path: and Delivered-To:; Postfix's
virtual(8) adds X-Original-To:).
Issue 5: estafette's remote module delivers to Postfix's smtp-sink (also one without
8BITMIME: the 7-bit downgrade, and one refusing recipients) and to a Postfix instance
that stores the message in its own Maildir.
Postfix's master runs as root, so these tests need root."""

import glob
import os
import shutil
import smtplib
import subprocess
import sys
import time
import unittest

from harness import TOP, Sandbox, TempDirTestCase, free_base_port, program

sys.path.insert(0, os.path.join(TOP, "bench", "lib"))
import bench  # noqa: E402  (the Postfix instance helper)
import dnsserver  # noqa: E402

USER, PASSWORD = "joe@example.test", "pw-joe-1"
HAVE_POSTFIX = shutil.which("postfix") or os.path.exists("/usr/sbin/postfix")
SMTP_SINK = "/usr/sbin/smtp-sink"

MESSAGE = (b"From: Alice <alice@client.example>\r\nTo: <joe@example.test>\r\n"
           b"Subject: through Postfix\r\nDate: Sun, 22 Nov 2026 06:00:00 +0000\r\n"
           b"Message-ID: <pf-1@client.example>\r\nMIME-Version: 1.0\r\n"
           b"Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n"
           b"X-Folded: one\r\n\ttwo\r\n\r\n"
           b"caf\xc3\xa9 cr\xc3\xa8me\r\n.leading dot\r\n..two dots\r\n.\tdot tab\r\n"
           b"trailing space \r\n\r\n" + b"x" * 900 + b"\r\nFrom the start of a line\r\nend\r\n")

TRACE = (b"received:", b"return-path:", b"delivered-to:", b"x-original-to:")


def strip_trace(msg):
    """msg (LF lines) without its leading trace fields and their continuations."""
    lines = msg.split(b"\n")
    i = 0
    while i < len(lines) and lines[i].lower().startswith(TRACE):
        i += 1
        while i < len(lines) and lines[i][:1] in (b" ", b"\t"):
            i += 1
    return b"\n".join(lines[i:])


def wait_for(fn, timeout=60, what="condition"):
    deadline = time.time() + timeout
    while time.time() < deadline:
        v = fn()
        if v:
            return v
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


@unittest.skipUnless(os.geteuid() == 0, "Postfix instances need root")
@unittest.skipUnless(HAVE_POSTFIX, "postfix is not installed")
class PostfixRelayToEstafetteTest(TempDirTestCase):
    def setUp(self):
        super().setUp()
        for prog in ("smtpd", "listener", "submit", "authd", "courierd", "deliver"):
            if not os.access(program(prog), os.X_OK):
                self.skipTest(prog + " is not built")

    def maildir_new(self, root):
        d = os.path.join(root, "mail", "example.test", "joe", "Maildir", "new")
        return sorted(glob.glob(os.path.join(d, "*")))

    def test_postfix_relays_into_estafette_maildir_byte_for_byte(self):
        root = os.path.join(self.tmp, "inst")
        with Sandbox(root, users=[USER + ":" + PASSWORD]) as sb:
            extra = (f"virtual_mailbox_domains =\nrelayhost = [127.0.0.1]:{sb.port(25)}\n"
                     "smtp_tls_security_level = none\nsmtp_address_preference = ipv4\n")
            pf = bench.Postfix(self.tmp, free_base_port(), extra=extra, tag="postfix-relay")
            try:
                with smtplib.SMTP("127.0.0.1", pf.smtp, timeout=30) as s:
                    s.ehlo("client.example")
                    s.sendmail("alice@client.example", [USER], MESSAGE,
                               mail_options=["BODY=8BITMIME"])
                files = wait_for(lambda: self.maildir_new(root), 90, "the Maildir delivery")
            finally:
                pf.stop()
            with open(os.path.join(pf.dir, "maillog"), errors="replace") as f:
                maillog = f.read()
        self.assertEqual(len(files), 1)
        with open(files[0], "rb") as f:
            got = f.read()
        self.assertIn(b"Delivered-To: joe@example.test\n", got)
        received = [l for l in got.split(b"\n") if l.startswith(b"Received:")]
        self.assertEqual(len(received), 2, got[:1000])  # Postfix's, then estafette's
        self.assertIn("relay=127.0.0.1[127.0.0.1]:%d" % sb.port(25), maillog)
        self.assertIn("status=sent", maillog)
        self.assertEqual(strip_trace(got), MESSAGE.replace(b"\r\n", b"\n"))


    def test_postfix_relays_over_verified_starttls(self):
        """Postfix's smtp client requires TLS and pins the sandbox certificate's
        fingerprint; estafette records the TLS session in its Received: field."""
        root = os.path.join(self.tmp, "inst")
        with Sandbox(root, users=[USER + ":" + PASSWORD]) as sb:
            pem = os.path.join(root, "etc", "estafette", "smtpd.pem")
            r = subprocess.run(["openssl", "x509", "-in", pem, "-noout", "-fingerprint",
                                "-sha256"], capture_output=True, text=True, check=True)
            fp = r.stdout.strip().split("=", 1)[1]
            extra = (f"virtual_mailbox_domains =\nrelayhost = [127.0.0.1]:{sb.port(25)}\n"
                     "smtp_tls_security_level = fingerprint\n"
                     "smtp_tls_fingerprint_digest = sha256\n"
                     f"smtp_tls_fingerprint_cert_match = {fp}\n"
                     "smtp_tls_loglevel = 1\n")
            pf = bench.Postfix(self.tmp, free_base_port(), extra=extra, tag="postfix-tls")
            try:
                with smtplib.SMTP("127.0.0.1", pf.smtp, timeout=30) as s:
                    s.sendmail("alice@client.example", [USER], MESSAGE,
                               mail_options=["BODY=8BITMIME"])
                files = wait_for(lambda: self.maildir_new(root), 90, "the Maildir delivery")
            finally:
                pf.stop()
            with open(os.path.join(pf.dir, "maillog"), errors="replace") as f:
                maillog = f.read()
        self.assertIn("Verified TLS connection established to 127.0.0.1", maillog)
        with open(files[0], "rb") as f:
            got = f.read()
        ours = got[got.index(b"Received: from "):]
        ours = ours[:ours.index(b"\nReceived: ")]  # estafette's, before Postfix's
        self.assertIn(b"TLS", ours)
        self.assertEqual(strip_trace(got), MESSAGE.replace(b"\r\n", b"\n"))


class SmtpSink:
    """Postfix's smtp-sink on a loopback port, each transaction dumped to a file."""

    def __init__(self, tmp, port, *flags):
        self.dir = os.path.join(tmp, "sink")
        os.makedirs(self.dir, exist_ok=True)
        argv = [SMTP_SINK, "-d", os.path.join(self.dir, "%H%M%S."), *flags]
        if os.geteuid() == 0:
            shutil.chown(self.dir, "nobody")
            argv += ["-u", "nobody"]
        self.log = open(os.path.join(tmp, "sink.log"), "wb")
        self.proc = subprocess.Popen(argv + [f"127.0.0.1:{port}", "16"], stdout=self.log,
                                     stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        bench.wait_port(port, "smtp-sink")

    def dumps(self):
        out = []
        for path in sorted(glob.glob(os.path.join(self.dir, "*"))):
            with open(path, "rb") as f:
                out.append(f.read())
        return out

    def stop(self):
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.log.close()


@unittest.skipUnless(os.path.exists(SMTP_SINK), "Postfix's smtp-sink is not installed")
class RemoteToPostfixTest(TempDirTestCase):
    """remote(8) (as in test_remote: job packets in, answers out) routed to Postfix."""

    def setUp(self):
        super().setUp()
        if not os.access(program("remote"), os.X_OK):
            self.skipTest("remote is not built")
        from test_remote import Remote
        self.Remote = Remote
        self.port = free_base_port() + 25
        self.remote = self.sink = None

    def tearDown(self):
        if self.remote:
            self.remote.stop()
        if self.sink:
            self.sink.stop()
        super().tearDown()

    def start(self, port=None):
        routes = f"* [127.0.0.1]:{port or self.port} tls=none\n"
        self.remote = self.Remote(self.tmp, 9, self.port, "", routes)  # DNS unused
        return self.remote

    def send(self, rcpts, message, qid="0123456789abcdef0000"):
        ids = [self.remote.job(r, qid=qid, message=message) for r in rcpts]
        answers = self.remote.answers(len(ids))
        self.assertEqual(sorted(answers), sorted(ids), self.remote.log())
        return [answers[i] for i in ids]

    def test_smtp_sink_gets_the_message_in_one_transaction(self):
        self.sink = SmtpSink(self.tmp, self.port)
        self.start()
        msg = MESSAGE.replace(b"\r\n", b"\n")
        for a in self.send(["a@far.example", "b@far.example"], msg):
            self.assertTrue(a.startswith("250 "), a)
        dump = wait_for(self.sink.dumps, 20, "the smtp-sink dump")
        self.assertEqual(len(dump), 1)
        self.assertIn(b"X-Rcpt-Args: <a@far.example>", dump[0])
        self.assertIn(b"X-Rcpt-Args: <b@far.example>", dump[0])
        self.assertIn(b"X-Mail-Args: <from@client.test> BODY=8BITMIME", dump[0])
        # smtp-sink dumps with LF line ends and one more LF at the end
        self.assertTrue(dump[0].endswith(msg + b"\n"), dump[0][-300:])

    def test_smtp_sink_without_8bitmime_gets_7bit(self):
        self.sink = SmtpSink(self.tmp, self.port, "-8")
        self.start()
        answer = self.send(["a@far.example"], MESSAGE.replace(b"\r\n", b"\n"))[0]
        self.assertTrue(answer.startswith("250 "), answer)
        dump, = wait_for(self.sink.dumps, 20, "the smtp-sink dump")
        self.assertNotIn(b"8BITMIME", dump)
        self.assertTrue(all(b < 0x80 for b in dump), dump)
        self.assertIn(b"X-Folded: one\n\ttwo\nContent-Transfer-Encoding: quoted-printable\n\n"
                      b"caf=C3=A9 cr=C3=A8me\n.leading dot\n..two dots\n", dump)
        self.assertNotIn(b"8bit", dump)
        answer = self.send(["a@far.example"], "Subject: caf\u00e9\n\nx\xc3\n".encode(),
                           qid="0123456789abcdef0001")[0]
        self.assertTrue(answer.startswith("554 5.6.3 "), answer)

    def test_smtp_sink_refusals(self):
        self.sink = SmtpSink(self.tmp, self.port, "-f", "RCPT")
        self.start()
        answer = self.send(["a@far.example"], b"Subject: x\n\nx\n")[0]
        self.assertRegex(answer, r"^5\d\d ")
        self.assertIn("127.0.0.1", answer)  # the remote host, for the DSN
        self.assertIn("in reply to RCPT TO", answer)

    def postfix_tls(self):
        """A Postfix instance offering STARTTLS with a certificate for mx.tls.test
        signed by a test CA; returns (postfix, the CA, another CA)."""
        from test_remote import make_ca
        crt, key, ca = make_ca(self.tmp, "good")
        _, _, other = make_ca(self.tmp, "other")
        for path in (crt, key):
            os.chmod(path, 0o644)
        extra = (f"smtpd_tls_security_level = may\nsmtpd_tls_cert_file = {crt}\n"
                 f"smtpd_tls_key_file = {key}\nsmtpd_tls_received_header = yes\n")
        return bench.Postfix(self.tmp, free_base_port(), extra=extra, tag="postfix-mx"), ca, other

    @unittest.skipUnless(os.geteuid() == 0, "Postfix instances need root")
    @unittest.skipUnless(HAVE_POSTFIX, "postfix is not installed")
    @unittest.skipUnless(dnsserver.available(), "unbound is not installed")
    def test_postfix_starttls_verify_ok_and_fail(self):
        from test_remote import ZONES
        dns = dnsserver.DnsServer(self.tmp, ZONES).start()
        self.addCleanup(dns.stop)
        pf, ca, other = self.postfix_tls()
        try:
            routes = f"example.test mx.tls.test:{pf.smtp} tls=verify\n"
            self.remote = self.Remote(self.tmp, dns.port, self.port,
                                      f"tls_ca_file = {ca}\n", routes)
            answer = self.send([bench.USER], b"Subject: verified\n\nx\n")[0]
            self.assertTrue(answer.startswith("250 "), answer + self.remote.log())
            files = wait_for(lambda: glob.glob(os.path.join(pf.maildir, "new", "*")), 60,
                             "Postfix's Maildir delivery")
            with open(files[0], "rb") as f:
                self.assertRegex(f.read(), rb"\(using TLSv1\.[23] ")
            self.remote.stop()
            self.remote = self.Remote(self.tmp, dns.port, self.port,
                                      f"tls_ca_file = {other}\n", routes)
            answer = self.send([bench.USER], b"Subject: refused\n\nx\n",
                               qid="0123456789abcdef0001")[0]
            self.assertTrue(answer.startswith("451 4.4.1 "), answer)
            self.assertIn("TLS handshake with mx.tls.test[127.0.0.1] failed", answer)
            self.assertEqual(len(glob.glob(os.path.join(pf.maildir, "new", "*"))), 1)
        finally:
            pf.stop()

    @unittest.skipUnless(os.geteuid() == 0, "Postfix instances need root")
    @unittest.skipUnless(HAVE_POSTFIX, "postfix is not installed")
    def test_postfix_connection_reuse(self):
        pf = bench.Postfix(self.tmp, free_base_port(), tag="postfix-reuse")
        try:
            self.start(pf.smtp)
            ids = [self.remote.job(bench.USER, qid="0123456789abcdef%04d" % i,
                                   message=b"Subject: %d\n\nmessage %d\n" % (i, i))
                   for i in range(3)]
            answers = self.remote.answers(3)
            for i in ids:
                self.assertTrue(answers[i].startswith("250 "), answers)
            wait_for(lambda: len(glob.glob(os.path.join(pf.maildir, "new", "*"))) == 3, 60,
                     "three deliveries")
        finally:
            pf.stop()
        with open(os.path.join(pf.dir, "maillog"), errors="replace") as f:
            maillog = f.read()
        # one session carried the three messages (wait_port's probe is another one)
        self.assertRegex(maillog, r"disconnect from localhost\[127\.0\.0\.1\] ehlo=1 mail=3 "
                         r"rcpt=3 (bdat|data)=3 quit=1", maillog[-2000:])

    @unittest.skipUnless(os.geteuid() == 0, "Postfix instances need root")
    @unittest.skipUnless(HAVE_POSTFIX, "postfix is not installed")
    def test_postfix_instance_stores_the_message(self):
        pf = bench.Postfix(self.tmp, free_base_port(), tag="postfix-mx")
        try:
            self.start(pf.smtp)
            msg = MESSAGE.replace(b"\r\n", b"\n")
            answer = self.send([bench.USER], msg)[0]
            self.assertTrue(answer.startswith("250 "), answer)
            self.assertIn("[127.0.0.1]", answer)
            files = wait_for(lambda: glob.glob(os.path.join(pf.maildir, "new", "*")), 60,
                             "Postfix's Maildir delivery")
            with open(files[0], "rb") as f:
                got = f.read()
            self.assertEqual(strip_trace(got), msg)
            answer = self.send(["nobody@example.test"], msg, qid="0123456789abcdef0001")[0]
            self.assertTrue(answer.startswith("550 5.1.1 "), answer)
        finally:
            pf.stop()


if __name__ == "__main__":
    unittest.main()
