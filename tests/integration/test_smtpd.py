"""smtpd(8), core RFC 5321: greeting, every command and its reply codes, enhanced
status codes, pipelining, SIZE, 8BITMIME, DSN parameters reaching the control file,
BDAT, limits, timeouts, and SMTP smuggling (no bare-LF or bare-CR ending ends DATA).
smtpd runs on a socketpair as inetd would run it."""

import os
import re
import time

from smtpd_util import SmtpdCase, body_of, ME, AS_ROOT

ESC = re.compile(r"^[245]\.\d{1,3}\.\d{1,3}( |$)")


class SmtpdCoreTest(SmtpdCase):
    def mail(self, c, sender="<a@remote.example>", rcpts=("<joe@example.test>",)):
        self.assertEqual(c.cmd("MAIL FROM:" + sender)[0], 250)
        for r in rcpts:
            code, lines = c.cmd("RCPT TO:" + r)
            self.assertEqual(code, 250, lines)

    def test_greeting_ehlo_and_extensions(self):
        c = self.connect()
        ext = self.ehlo(c)
        for e in ("PIPELINING", "SIZE 67108864", "8BITMIME", "ENHANCEDSTATUSCODES", "DSN",
                  "SMTPUTF8", "CHUNKING", "XVERP", "HELP"):
            self.assertIn(e, ext)
        self.assertNotIn("STARTTLS", ext)  # no certificate installed
        self.assertFalse(any(e.startswith("AUTH") for e in ext))  # not loopback, no TLS
        self.assertEqual(c.cmd("HELO x.example")[0], 250)
        self.assertEqual(c.cmd("QUIT"), (221, ["2.0.0 %s closing connection" % ME]))
        self.assertTrue(c.closed())
        c.close()
        self.assertIn("smtp connect ip=192.0.2.7", self.log())
        self.assertIn("smtp disconnect ip=192.0.2.7", self.log())

    def test_enhanced_codes_on_every_reply(self):
        self.config("smtpd.conf", "tarpit_delay = 0\n")
        c = self.connect()
        cmds = ["MAIL FROM:<a@b.example>", "EHLO", "EHLO c.example", "RCPT TO:<joe@example.test>",
                "DATA", "MAIL FROM:<a@b.example>", "MAIL FROM:<x@y.example>",
                "RCPT TO:<nobody@example.test>", "RCPT TO:<joe@example.test>",
                "RCPT TO:<u@elsewhere.example>", "RCPT TO:<bad address>", "RSET", "NOOP", "HELP",
                "VRFY joe", "EXPN list", "FOO", "MAIL FROM:<a@b.example> FOO=bar", "RSET",
                "STARTTLS", "AUTH PLAIN", "QUIT"]
        for cmd in cmds:
            code, lines = c.cmd(cmd)
            for l in lines:
                if not cmd.startswith("EHLO c"):
                    self.assertRegex(l, ESC, "%s -> %d %s" % (cmd, code, l))
        c.close()

    def test_command_replies(self):
        c = self.connect()
        self.assertEqual(c.cmd("MAIL FROM:<a@b.example>")[0], 503)  # EHLO first
        self.ehlo(c)
        self.assertEqual(c.cmd("RCPT TO:<joe@example.test>")[0], 503)
        self.assertEqual(c.cmd("DATA")[0], 503)
        self.assertEqual(c.cmd("MAIL TO:<a@b.example>")[0], 501)
        self.assertEqual(c.cmd("MAIL FROM:<a@b.example")[0], 501)
        self.assertEqual(c.cmd("MAIL FROM:<a@b.example>")[0], 250)
        self.assertEqual(c.cmd("MAIL FROM:<a@b.example>")[0], 503)
        self.assertEqual(c.cmd("DATA")[0], 554)  # no recipients
        self.assertEqual(c.cmd("RCPT TO:<joe>")[0], 501)  # unqualified
        self.assertEqual(c.cmd("RCPT TO:<postmaster>")[0], 250)
        self.assertEqual(c.cmd("RCPT TO:<Postmaster@Example.TEST>")[0], 250)
        self.assertEqual(c.cmd("RSET")[0], 250)
        self.assertEqual(c.cmd("RSET x")[0], 501)
        self.assertEqual(c.cmd("NOOP anything")[0], 250)
        self.assertEqual(c.cmd("VRFY joe@example.test")[0], 252)
        self.assertEqual(c.cmd("EXPN staff")[0], 502)
        self.assertEqual(c.cmd("HELP")[0], 214)
        self.assertEqual(c.cmd("nonsense")[0], 500)
        self.assertEqual(c.cmd("MAIL FROM:<> SIZE=10 BODY=8BITMIME RET=HDRS ENVID=x+2Dy")[0], 250)
        c.close()

    def test_null_sender_and_message_queued_byte_exact(self):
        c = self.connect()
        self.ehlo(c)
        self.mail(c, "<>")
        self.assertEqual(c.cmd("DATA")[0], 354)
        c.send(b"Subject: hi\r\n\r\n..dot line\r\nline with \x80 8bit\r\n.\r\n")
        code, lines = c.reply()
        self.assertEqual(code, 250, lines)
        self.assertRegex(lines[0], r"^2\.0\.0 Ok: queued as [0-9a-f]{20}$")
        q = self.queued()
        self.assertEqual(len(q), 1)
        qid, ctl, msg = q[0]
        self.assertIn(qid, lines[0])
        self.assertEqual(body_of(msg), b"Subject: hi\n\n.dot line\nline with \x80 8bit\n")
        self.assertIn("S\n", ctl)
        self.assertIn("Fsmtp\n", ctl)
        self.assertIn("Rjoe@example.test\t\t\n", ctl)
        self.assertIn(b"from client.example ", msg.split(b"\n")[0])
        self.assertIn(b"192.0.2.7", msg[:300])
        self.assertIn(b"with ESMTP", msg[:400])
        self.assertIn("smtp accept id=%s" % qid, self.log())
        c.close()

    def test_one_submit_process_per_session(self):
        c = self.connect()
        self.ehlo(c)
        ids = []
        # the second is refused (a bare LF): its submit is aborted, the next starts anew
        for i, body in enumerate((b"one", b"bare\nlf", b"three")):
            self.mail(c, "<a@b.example>")
            self.assertEqual(c.cmd("DATA")[0], 354)
            c.send(b"Subject: %d\r\n\r\n" % i + body + b"\r\n.\r\n")
            code, lines = c.reply()
            self.assertIn(code, (550, 554) if i == 1 else (250,), lines)
            ids += re.findall(r"queued as ([0-9a-f]{20})", lines[0])
        for body in (b"four", b"five"):
            self.mail(c, "<a@b.example>")
            self.assertEqual(c.cmd("DATA")[0], 354)
            c.send(b"Subject: n\r\n\r\n" + body + b"\r\n.\r\n")
            code, lines = c.reply()
            self.assertEqual(code, 250, lines)
            ids += re.findall(r"queued as ([0-9a-f]{20})", lines[0])
        c.cmd("QUIT")
        c.closed()
        self.assertEqual(len(ids), 4)
        self.assertEqual(sorted(q[0] for q in self.queued()), sorted(ids))
        bodies = sorted(body_of(q[2]).split(b"\n")[2] for q in self.queued())
        self.assertEqual(bodies, [b"five", b"four", b"one", b"three"])
        # submit processes that accepted: one before the refusal, one after it
        pids = set(re.findall(r"submit\[(\d+)\]: info: id=", self.log()))
        self.assertEqual(len(pids), 2, self.log())

    def test_dsn_params_in_control_file(self):
        c = self.connect()
        self.ehlo(c)
        self.mail(c, "<a@remote.example> RET=hdrs ENVID=QQ+2B1 BODY=8BITMIME SIZE=100",
                  ["<joe@example.test> NOTIFY=success,failure ORCPT=rfc822;joe+40example.test",
                   "<postmaster@example.test> NOTIFY=NEVER"])
        self.assertEqual(c.cmd("RCPT TO:<joe@example.test> NOTIFY=NEVER,SUCCESS")[0], 501)
        self.assertEqual(c.cmd("RCPT TO:<joe@example.test> ORCPT=bad")[0], 501)
        self.assertEqual(c.cmd("RCPT TO:<joe@example.test> NOTIFY=NEVER NOTIFY=NEVER")[0], 501)
        self.assertEqual(c.cmd("DATA")[0], 354)
        c.send(b"\r\n.\r\n")
        self.assertEqual(c.reply()[0], 250)
        (_, ctl, _), = self.queued()
        self.assertIn("EQQ+2B1\n", ctl)
        self.assertIn("NHDRS\n", ctl)
        self.assertIn("B8BITMIME\n", ctl)
        self.assertIn("Rjoe@example.test\tSUCCESS,FAILURE\trfc822;joe+40example.test\n", ctl)
        self.assertIn("Rpostmaster@example.test\tNEVER\t\n", ctl)
        c.close()

    def test_verp_params_reach_the_control_file(self):
        c = self.connect()
        self.ehlo(c)
        # (an "=" inside a value is outside RFC 5321's esmtp-value: 555)
        for param in ("XVERP=@-", "VERP=x", "XVERP=+-+", "XVERP=+=", "XVERP="):
            self.assertIn(c.cmd("MAIL FROM:<list@remote.example> " + param)[0], (501, 555), param)
        for param, delims in (("VERP", "-="), ("XVERP", "+="), ("XVERP=.-", ".-")):
            self.mail(c, "<list@remote.example> " + param)
            self.assertEqual(c.cmd("DATA")[0], 354)
            c.send(b"Subject: v\r\n\r\nx\r\n.\r\n")
            self.assertEqual(c.reply()[0], 250)
            ctl = [q[1] for q in self.queued() if "\nX" + delims + "\n" in q[1]]
            self.assertEqual(len(ctl), 1, (param, self.queued()))
        c.close()

    def test_bad_mail_params(self):
        c = self.connect()
        self.ehlo(c)
        for arg, code in ((" BODY=BINARYMIME", 501), (" RET=ALL", 501), (" ENVID=a b", 555),
                          (" ENVID=" + "x" * 101, 501), (" SIZE=abc", 501), (" SIZE=1 SIZE=1", 501),
                          (" SMTPUTF8=yes", 501), (" XFOO", 555)):
            self.assertEqual(c.cmd("MAIL FROM:<a@b.example>" + arg)[0], code, arg)
        c.cmd("HELO old.example")
        self.assertEqual(c.cmd("MAIL FROM:<a@b.example> SIZE=10")[0], 555)  # HELO: no params
        c.close()

    def test_size_limit(self):
        self.config("smtpd.conf", "max_message_size = 2k\n")
        c = self.connect()
        self.assertIn("SIZE 2048", self.ehlo(c))
        code, lines = c.cmd("MAIL FROM:<a@b.example> SIZE=2049")
        self.assertEqual((code, lines[0][:5]), (552, "5.3.4"))
        self.mail(c)
        c.cmd("DATA")
        c.send(b"x" * 100 + b"\r\n")
        c.send((b"y" * 100 + b"\r\n") * 30 + b".\r\n")
        code, lines = c.reply()
        self.assertEqual((code, lines[0][:5]), (552, "5.3.4"))
        self.assertEqual(self.queued(), [])
        self.assertEqual(c.cmd("NOOP")[0], 250)  # the session goes on
        c.close()

    def test_pipelining_one_write(self):
        c = self.connect()
        self.ehlo(c)
        c.send("MAIL FROM:<a@b.example>\r\nRCPT TO:<joe@example.test>\r\n"
               "RCPT TO:<nobody@example.test>\r\nRCPT TO:<x@other.example>\r\nDATA\r\n")
        time.sleep(0.5)
        data = c.sock.recv(65536)  # everything in one segment, the 354 included
        replies = [l[:3] for l in data.split(b"\r\n") if l]
        self.assertEqual(replies, [b"250", b"250", b"550", b"554", b"354"])
        c.send(b"Subject: p\r\n\r\nbody\r\n.\r\nMAIL FROM:<c@d.example>\r\nRCPT TO:<joe@example.test>\r\n"
               b"DATA\r\n")
        self.assertEqual(c.reply()[0], 250)
        self.assertEqual(c.reply()[0], 250)
        self.assertEqual(c.reply()[0], 250)
        self.assertEqual(c.reply()[0], 354)
        c.send(b"second\r\n.\r\nQUIT\r\n")
        self.assertEqual(c.reply()[0], 250)
        self.assertEqual(c.reply()[0], 221)
        self.assertEqual(len(self.queued()), 2)
        c.close()

    def smuggle(self, payload):
        """Send payload after DATA, then the real end; nothing may be taken as a command."""
        c = self.connect()
        self.ehlo(c)
        self.mail(c)
        self.assertEqual(c.cmd("DATA")[0], 354)
        c.send(b"Subject: s\r\n\r\nhello" + payload +
               b"MAIL FROM:<evil@b.example>\r\nRCPT TO:<joe@example.test>\r\nDATA\r\n"
               b"Subject: smuggled\r\n\r\nevil\r\n")
        time.sleep(0.3)
        c.sock.setblocking(False)
        try:
            early = c.sock.recv(65536)
        except BlockingIOError:
            early = b""
        c.sock.setblocking(True)
        c.sock.settimeout(20)
        self.assertEqual(early, b"", "the server answered inside the data: %r" % payload)
        c.send(b"\r\n.\r\n")
        code, lines = c.reply()
        self.assertEqual(c.cmd("NOOP")[0], 250)
        c.close()
        return code, lines

    def test_smuggling_forms_never_end_data(self):
        for payload in (b"\n.\n", b"\r\n.\n", b"\n.\r\n", b"\r.\r\n", b"\r\n.\r", b"\r.\r",
                        b"\r\n\x00.\r\n", b"\r\n.\x00\r\n"):
            code, lines = self.smuggle(payload)
            self.assertIn(code, (550, 554), payload)
            self.assertEqual(self.queued(), [], payload)
        self.assertIn('smtp reject ip=192.0.2.7 from=<a@remote.example>', self.log())

    def test_bare_lf_line_refused(self):
        c = self.connect()
        self.ehlo(c)
        self.mail(c)
        c.cmd("DATA")
        c.send(b"a: b\nc: d\r\n\r\nx\r\n.\r\n")
        code, lines = c.reply()
        self.assertEqual((code, lines[0][:5]), (550, "5.5.2"))
        self.assertEqual(self.queued(), [])
        c.close()

    def test_nul_in_data_and_command(self):
        c = self.connect()
        self.ehlo(c)
        self.assertEqual(c.cmd("NOOP \x00x")[0], 500)
        self.mail(c)
        c.cmd("DATA")
        c.send(b"x\x00y\r\n.\r\n")
        self.assertEqual(c.reply(), (554, ["5.6.0 Message refused: NUL byte in data"]))
        c.close()

    def test_long_lines(self):
        self.config("smtpd.conf", "max_data_line_length = 1000\n")
        c = self.connect()
        self.ehlo(c)
        self.assertEqual(c.cmd("NOOP " + "x" * 3000), (500, ["5.5.2 Line too long"]))
        self.mail(c)
        c.cmd("DATA")
        c.send(b"ok\r\n" + b"z" * 1001 + b"\r\n.\r\n")
        self.assertEqual(c.reply()[0], 554)
        self.mail(c)
        c.cmd("DATA")
        c.send(b"a" * 1000 + b"\r\n.\r\n")
        self.assertEqual(c.reply()[0], 250)
        c.close()

    def test_too_many_bad_commands(self):
        self.config("smtpd.conf", "max_bad_commands = 3\ntarpit_delay = 0\n")
        c = self.connect()
        for _ in range(3):
            self.assertEqual(c.cmd("BOGUS")[0], 500)
        self.assertEqual(c.cmd("BOGUS")[0], 421)
        self.assertTrue(c.closed())
        c.close()

    def test_tarpit(self):
        self.config("smtpd.conf", "max_errors = 1\ntarpit_delay = 1\n")
        c = self.connect()
        t0 = time.time()
        c.cmd("RCPT TO:<a@b.example>")
        self.assertLess(time.time() - t0, 0.9)
        c.cmd("RCPT TO:<a@b.example>")
        self.assertGreater(time.time() - t0, 0.9)
        c.close()

    def test_command_timeout(self):
        self.config("smtpd.conf", "command_timeout = 1\n")
        c = self.connect()
        t0 = time.time()
        self.assertEqual(c.reply(), (421, ["4.4.2 %s Timeout, closing connection" % ME]))
        self.assertLess(time.time() - t0, 5)
        self.assertTrue(c.closed())
        c.close()

    def test_session_timeout(self):
        self.config("smtpd.conf", "session_timeout = 2\n")
        c = self.connect()
        t0 = time.time()
        for _ in range(10):
            try:
                code, _ = c.cmd("NOOP")
            except (EOFError, BrokenPipeError, ConnectionResetError):
                code = 421
                break
            if code == 421:
                break
            time.sleep(0.4)
        self.assertLess(time.time() - t0, 4)
        self.assertEqual(code, 421)
        c.close()

    def test_bdat(self):
        c = self.connect()
        self.ehlo(c)
        c.send(b"BDAT 5\r\nabcde")
        self.assertEqual(c.reply()[0], 503)  # consumed, refused
        self.mail(c)
        c.send(b"BDAT 13\r\nSubject: b\r\n\r")
        self.assertEqual(c.reply()[0], 250)
        c.send(b"BDAT 0\r\n")
        self.assertEqual(c.reply()[0], 250)
        self.assertEqual(c.cmd("DATA")[0], 503)
        c.send(b"BDAT 13 LAST\r\n\nbody\r\n.\r\nX\r\n")
        code, lines = c.reply()
        self.assertEqual(code, 250, lines)
        (_, ctl, msg), = self.queued()
        self.assertEqual(body_of(msg), b"Subject: b\n\nbody\n.\nX\n")
        self.assertEqual(c.cmd("BDAT x")[0], 501)
        c.close()

    def test_bdat_pipelined_and_size(self):
        self.config("smtpd.conf", "max_message_size = 1k\n")
        c = self.connect()
        self.ehlo(c)
        c.send(b"MAIL FROM:<a@b.example>\r\nRCPT TO:<joe@example.test>\r\nBDAT 600\r\n" + b"x" * 600 +
               b"BDAT 600 LAST\r\n" + b"y" * 600 + b"NOOP\r\n")
        self.assertEqual([c.reply()[0] for _ in range(5)], [250, 250, 250, 552, 250])
        self.assertEqual(self.queued(), [])
        c.close()

    def test_smtputf8(self):
        c = self.connect()
        self.ehlo(c)
        self.assertEqual(c.cmd("MAIL FROM:<pelé@b.example>")[0], 553)
        self.assertEqual(c.cmd("MAIL FROM:<pelé@b.example> SMTPUTF8")[0], 250)
        self.assertEqual(c.cmd("RCPT TO:<joe@example.test>")[0], 250)
        c.cmd("DATA")
        c.send(b"\r\n.\r\n")
        self.assertEqual(c.reply()[0], 250)
        (_, ctl, msg), = self.queued()
        self.assertIn("U\n", ctl)
        self.assertIn("Spel\u00e9@b.example\n", ctl)
        self.assertIn(b"UTF8SMTP", msg[:400])
        c.close()

    def test_eof_in_data_queues_nothing(self):
        c = self.connect()
        self.ehlo(c)
        self.mail(c)
        c.cmd("DATA")
        c.send(b"Subject: cut\r\n\r\npartial")
        c.sock.shutdown(1)
        self.assertTrue(c.closed())
        c.close()
        self.assertEqual(self.queued(), [])

    def test_runs_as_net_user(self):
        if not AS_ROOT:
            self.skipTest("needs root")
        import pwd
        c = self.connect()
        with open("/proc/%d/status" % c.proc.pid) as f:
            uids = [l for l in f if l.startswith("Uid:")][0].split()[1:]
        net = pwd.getpwnam("estafette-net").pw_uid
        self.assertEqual(set(int(u) for u in uids), {net})
        self.ehlo(c)
        self.mail(c)
        c.cmd("DATA")
        c.send(b"x\r\n.\r\n")
        self.assertEqual(c.reply()[0], 250)
        c.close()

    def test_submit_failure_is_temporary(self):
        os.rename(os.path.join(self.root, "libexec", "estafette", "submit"),
                  os.path.join(self.root, "libexec", "estafette", "submit.off"))
        c = self.connect()
        self.ehlo(c)
        self.mail(c)
        self.assertEqual(c.cmd("DATA")[0], 354)
        c.send(b"Subject: x\r\n\r\n" + b"y" * 100 + b"\r\n" * 2000 + b".\r\n")
        code, lines = c.reply()
        self.assertEqual((code, lines[0][:5]), (451, "4.3.0"))
        self.assertEqual(c.cmd("NOOP")[0], 250)
        c.close()

    def test_bdat_nul_refused_by_submit(self):
        c = self.connect()
        self.ehlo(c)
        self.mail(c)
        c.send(b"BDAT 5 LAST\r\na\x00b\r\n")
        code, lines = c.reply()
        self.assertEqual((code, lines[0][:5]), (554, "5.6.0"), self.log())
        self.assertEqual(self.queued(), [])
        c.close()

    def test_big_message_in_pieces(self):
        c = self.connect()
        self.ehlo(c)
        self.mail(c)
        c.cmd("DATA")
        body = b"".join(b"line %06d %s\r\n" % (i, b"x" * (i % 200)) for i in range(20000))
        for i in range(0, len(body), 777):
            c.send(body[i:i + 777])
        c.send(b".\r\n")
        self.assertEqual(c.reply()[0], 250)
        (_, _, msg), = self.queued()
        self.assertEqual(body_of(msg), body.replace(b"\r\n", b"\n"))
        c.close()

    def test_http_request_closes(self):
        c = self.connect()
        self.assertEqual(c.cmd("GE x")[0], 500)
        self.assertEqual(c.cmd("POST / HTTP/1.1")[0], 421)
        self.assertTrue(c.closed())
        c.close()
