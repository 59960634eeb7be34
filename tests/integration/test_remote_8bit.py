"""remote(8) and issue 5's 8BITMIME rule (RFC 6152 3): an 8-bit message for a peer
that does not offer 8BITMIME goes out converted to 7 bit (lib/mime7: text parts as
quoted-printable, other parts as base64), and a message whose 8-bit bytes sit in a
header is bounced with a 5.6.3 reason instead. The peers are smtppeer.py instances
without 8BITMIME, found through a real unbound (dnsserver.py), as in test_remote."""

import email
import email.policy
import os
import shutil
import tempfile
import unittest

import dnsserver
from harness import TempDirTestCase, program
from smtppeer import SmtpPeer
from test_remote import ZONES, Remote, free_port

TEXT = "caf\u00e9 cr\u00e8me br\u00fbl\u00e9e = 100 \u20ac\n.leading dot\n" * 3
BINARY = bytes(range(1, 256)) * 4  # every byte but NUL (an 8bit body has no NULs)


def multipart():
    """A multipart/mixed: 7-bit text, 8-bit UTF-8 text, 8-bit binary ('8bit' CTE)."""
    lines = [b"From: a@client.test", b"To: b@plain.test", b"Subject: parts",
             b"MIME-Version: 1.0",
             b'Content-Type: multipart/mixed; boundary="=-b"', b"",
             b"preamble", b"--=-b", b"Content-Type: text/plain", b"", b"seven bit",
             b"--=-b", b"Content-Type: text/plain; charset=utf-8",
             b"Content-Transfer-Encoding: 8bit", b"", TEXT.encode().rstrip(b"\n"),
             b"--=-b", b"Content-Type: application/octet-stream",
             b"Content-Transfer-Encoding: 8bit", b""]
    # the binary part as 8bit lines: LF bytes become line ends, CRs dropped
    body = BINARY.replace(b"\r", b"").replace(b"\n", b"")
    chunks = [body[i:i + 60] for i in range(0, len(body), 60)]
    lines += chunks + [b"--=-b--", b""]
    return b"\n".join(lines), b"\r\n".join(chunks)


@unittest.skipUnless(dnsserver.available(), "unbound is not installed")
class Remote8bitTest(TempDirTestCase):
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
        self.port = free_port()
        self.peer = SmtpPeer("127.0.0.1", self.port, name="mx.plain.test",
                             eightbit=False).start()
        self.remote = Remote(self.tmp, self.dns.port, self.port)

    def tearDown(self):
        if self.remote:
            self.remote.stop()
        self.peer.stop()
        super().tearDown()

    def send(self, message, rcpts=("a@plain.test",)):
        ids = [self.remote.job(r, message=message) for r in rcpts]
        answers = self.remote.answers(len(ids))
        for i in ids:
            self.assertIn(i, answers, self.remote.log())
        return [answers[i] for i in ids]

    def received(self):
        self.assertEqual(len(self.peer.messages), 1,
                         [(x["rcpts"], x["data"][:300]) for x in self.peer.messages])
        m = self.peer.messages[0]
        self.assertNotIn("8BITMIME", m["params"])
        self.assertTrue(all(b < 0x80 for b in m["data"]), m["data"][:200])
        for line in m["data"].split(b"\r\n"):
            self.assertLessEqual(len(line), 998)
        return m, email.message_from_bytes(m["data"], policy=email.policy.default)

    def test_plain_8bit_text_goes_as_quoted_printable(self):
        msg = ("From: a@client.test\nSubject: dessert\n\n" + TEXT).encode()
        answers = self.send(msg, rcpts=("a@plain.test", "b@plain.test"))
        for a in answers:
            self.assertTrue(a.startswith("250 "), a)
        m, parsed = self.received()
        self.assertEqual(m["rcpts"], ["a@plain.test", "b@plain.test"])  # one transaction
        self.assertEqual(parsed["Subject"], "dessert")
        self.assertEqual(parsed["MIME-Version"], "1.0")
        self.assertEqual(parsed["Content-Transfer-Encoding"], "quoted-printable")
        self.assertEqual(parsed.get_content_charset(), "utf-8")
        self.assertEqual(parsed.get_content().replace("\r\n", "\n"), TEXT)
        self.assertIn(b"caf=C3=A9", m["data"])

    def test_multipart_parts_converted_one_by_one(self):
        msg, binary = multipart()
        self.assertTrue(self.send(msg)[0].startswith("250 "), self.remote.log())
        m, parsed = self.received()
        parts = list(parsed.iter_parts())
        self.assertEqual(len(parts), 3)
        self.assertEqual(parts[0].get_content(), "seven bit")
        self.assertIsNone(parts[0]["Content-Transfer-Encoding"])  # 7-bit: untouched
        self.assertEqual(parts[1]["Content-Transfer-Encoding"], "quoted-printable")
        self.assertEqual(parts[1].get_content().replace("\r\n", "\n"), TEXT.rstrip("\n"))
        self.assertEqual(parts[2]["Content-Transfer-Encoding"], "base64")
        self.assertEqual(parts[2].get_content(), binary)  # the canonical CRLF form
        self.assertIn(b"\r\n\r\npreamble\r\n--=-b\r\n", m["data"])

    def test_7bit_message_is_sent_unchanged(self):
        msg = b"Subject: plain\n\nascii only\n"
        self.assertTrue(self.send(msg)[0].startswith("250 "))
        m, _ = self.received()
        self.assertEqual(m["data"], msg.replace(b"\n", b"\r\n"))

    def test_8bit_header_bounces_with_reason(self):
        msg = "Subject: caf\u00e9\n\ncaf\u00e9\n".encode()
        answer = self.send(msg)[0]
        self.assertTrue(answer.startswith("554 5.6.3 "), answer)
        self.assertIn("8BITMIME", answer)
        self.assertIn("header", answer)
        self.assertEqual(self.peer.messages, [])
        self.assertEqual(self.peer.connections, 1)

    def test_unconvertible_bodies_bounce(self):
        for body in (b"Content-Transfer-Encoding: base64\n\nQUJD\xff\n",
                     b"Content-Type: multipart/mixed\n\n--x\n\n\xc3\xa9\n--x--\n"):
            with self.subTest(body=body):
                answer = self.send(b"Subject: x\n" + body)[0]
                self.assertTrue(answer.startswith("554 5.6.3 "), answer)
        self.assertEqual(self.peer.messages, [])

    def test_utf8_address_without_smtputf8_bounces_before_any_conversion(self):
        jid = self.remote.job("a@plain.test", sender="j\u00f6@client.test",
                              message="Subject: x\n\ncaf\u00e9\n".encode())
        answer = self.remote.answers(1)[jid]
        self.assertTrue(answer.startswith("554 5.6.7 "), answer)
        self.assertIn("SMTPUTF8", answer)
        self.assertEqual(self.peer.messages, [])

    def test_end_to_end_converted_and_bounced_through_courierd(self):
        """submit -> courierd -> remote -> a peer without 8BITMIME: the 8-bit body
        arrives converted; the 8-bit header comes back to the sender as a DSN whose
        Diagnostic-Code gives the reason."""
        from test_courierd import Instance, read
        self.remote.stop()
        self.remote = None
        inst = Instance(self.tmp)
        try:
            inst.write("dns.conf", f"forwarders = 127.0.0.1:{self.dns.port}\ntimeout = 5\n")
            inst.write("remote.conf", f"port = {self.port}\nconnect_timeout = 5\n")
            shutil.copy(program("remote"), os.path.join(inst.libexec, "remote"))
            os.chmod(os.path.join(inst.libexec, "remote"), 0o755)
            inst.add("bob")
            inst.start_authd()
            inst.start_courierd()
            inst.submit("bob@example.test", ["a@plain.test"],
                        ("Subject: fine\n\n" + TEXT).encode())
            inst.submit("bob@example.test", ["b@plain.test"],
                        "Subject: caf\u00e9\n\nbody\n".encode())
            inst.wait_log(r"rcpt=<b@plain\.test> route=remote .*status=bounced")
            inst.wait_log(r"rcpt=<a@plain\.test> route=remote .*status=sent")
            dsn = read(inst.wait_mail("bob")[0])
        finally:
            inst.close()
        self.assertIn(b"Final-Recipient: rfc822; b@plain.test\nAction: failed\n"
                      b"Status: 5.6.3\n", dsn)
        self.assertIn(b"8-bit characters in a header field", dsn)
        m, parsed = self.received()
        self.assertEqual(m["rcpts"], ["a@plain.test"])
        self.assertEqual(parsed.get_content().replace("\r\n", "\n"), TEXT)


if __name__ == "__main__":
    unittest.main()
