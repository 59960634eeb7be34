"""sendmail(8), mailq, newaliases: the command line over submit, checked through the
queue files it leaves (ctl read with a small parser of docs/QUEUE.md's format; no
courierd needed). As root also the installed tree run by `nobody` (setgid submit)."""

import os
import pwd
import re
import select
import stat
import subprocess
import time

from harness import TOP, BUILD_DIR, SANITIZED, TempDirTestCase

QUEUED = re.compile(rb"250 2\.0\.0 Ok: queued as ([0-9a-f]{20})")


def parse_ctl(data):
    """docs/QUEUE.md control file -> dict of single records and a list of R tuples."""
    assert data.endswith(b"\n"), data
    out = {"R": []}
    for line in data.decode().split("\n")[:-1]:
        t, v = line[0], line[1:]
        if t == "R":
            f = v.split("\t")
            out["R"].append((f + ["", ""])[:3])
        else:
            assert t not in out, line
            out[t] = v
    assert out.pop("V") == "1"
    return out


class SendmailTest(TempDirTestCase):
    def setUp(self):
        super().setUp()
        self.root = os.path.join(self.tmp, "inst")
        self.install(self.root, "--no-owners")
        self.queue = os.path.join(self.root, "var/spool/estafette")
        self.config("me", "mx.test.example\n")
        self.login = pwd.getpwuid(os.getuid()).pw_name

    def install(self, prefix, *flags):
        r = subprocess.run([os.path.join(TOP, "scripts/install-tree"), "--prefix", prefix,
                            "--build", BUILD_DIR, *flags], capture_output=True, text=True)
        self.assertEqual(r.returncode, 0, r.stderr)

    def config(self, name, text, root=None):
        with open(os.path.join(root or self.root, "etc/estafette", name), "w") as f:
            f.write(text)

    def env(self):
        return {"ESTAFETTE_ROOT": self.root, "ESTAFETTE_LOG": "stderr", "PATH": "/usr/bin:/bin"}

    def run_prog(self, args, stdin=b"", prog="sbin/sendmail", timeout=60, **kw):
        return subprocess.run([os.path.join(self.root, prog)] + list(args), input=stdin,
                              capture_output=True, env=kw.pop("env", None) or self.env(),
                              timeout=timeout, **kw)

    def entries(self):
        found = []
        for b in sorted(os.listdir(os.path.join(self.queue, "ctl"))):
            found += sorted(os.listdir(os.path.join(self.queue, "ctl", b)))
        return sorted(found)

    def entry(self, qid):
        with open(os.path.join(self.queue, "ctl", qid[-1], qid), "rb") as f:
            ctl = parse_ctl(f.read())
        with open(os.path.join(self.queue, "msg", qid[-1], qid), "rb") as f:
            msg = f.read()
        self.assertEqual(ctl["I"], qid)
        return ctl, msg

    def send(self, args, stdin, **kw):
        """Run sendmail, expect success, return (ctl, msg without Received:)."""
        before = set(self.entries())
        r = self.run_prog(list(args), stdin, **kw)
        self.assertEqual(r.returncode, 0, r.stderr)
        new = set(self.entries()) - before
        self.assertEqual(len(new), 1, r.stderr)
        ctl, msg = self.entry(new.pop())
        self.assertTrue(msg.startswith(b"Received: (from uid %d)\n" % os.getuid()), msg)
        body = msg.split(b"\n", 1)[1]
        while body.startswith(b"\t"):
            body = body.split(b"\n", 1)[1]
        return ctl, body

    def refuse(self, args, stdin, rc, text):
        before = self.entries()
        r = self.run_prog(args, stdin)
        self.assertEqual(r.returncode, rc, r.stderr)
        self.assertIn(text.encode(), r.stderr)
        self.assertEqual(self.entries(), before)
        return r

    def rcpts(self, ctl):
        return [r[0] for r in ctl["R"]]

    # ---- -bm -----------------------------------------------------------------

    def test_recipients_sender_and_added_headers(self):
        ctl, msg = self.send(["bob@example.org", "carol"], b"Subject: s\n\nhello\n")
        self.assertEqual(ctl["S"], self.login + "@mx.test.example")
        self.assertEqual(ctl["F"], "local")
        self.assertEqual(self.rcpts(ctl), ["bob@example.org", "carol@mx.test.example"])
        head, body = msg.split(b"\n\n", 1)
        self.assertEqual(body, b"hello\n")
        lines = head.split(b"\n")
        self.assertEqual(lines[0], b"Subject: s")
        self.assertRegex(lines[1], rb"^From: (.* <)?%s@mx\.test\.example>?$" % self.login.encode())
        self.assertRegex(lines[2], rb"^Date: \w{3}, \d\d? \w{3} \d{4} \d\d:\d\d:\d\d [+-]\d{4}$")
        self.assertRegex(lines[3], rb"^Message-ID: <[0-9]+\.[0-9a-f]{16}@mx\.test\.example>$")
        # present headers are kept and not added twice; defaultdomain qualifies
        self.config("defaultdomain", "Example.NET\n")
        have = b"From: x@y.z\r\nDate: Mon, 1 Jan 2024 00:00:00 +0000\r\nMessage-Id: <a@b>\r\n\r\nb\r\n"
        ctl, msg = self.send(["dave"], have)
        self.assertEqual(msg, have.replace(b"\r\n", b"\n"))
        self.assertEqual(self.rcpts(ctl), ["dave@example.net"])
        self.assertEqual(ctl["S"], self.login + "@example.net")

    def test_extract_recipients_bcc_removed(self):
        msg = (b"To: a@example.org, \"Bee\" <b@example.org>\nCc: c, undisclosed:;\n"
               b"Bcc: d@example.net,\n  e@example.net\nSubject: t\nBCC: a@example.org\n\nbody\n")
        ctl, out = self.send(["-t", "x@example.com"], msg)
        # command-line recipients are added to the header ones (Postfix); duplicates once
        self.assertEqual(self.rcpts(ctl), ["x@example.com", "a@example.org", "b@example.org",
                                           "c@mx.test.example", "d@example.net",
                                           "e@example.net"])
        self.assertNotIn(b"Bcc", out)
        self.assertNotIn(b"BCC", out)
        self.assertNotIn(b"e@example.net", out)
        self.assertTrue(out.startswith(b"To: a@example.org, \"Bee\" <b@example.org>\n"
                                       b"Cc: c, undisclosed:;\nSubject: t\nFrom: "), out)
        # Resent- fields, when present, are the ones -t reads
        ctl, out = self.send(["-t"], b"To: old@example.org\nResent-To: new@example.org\n"
                                     b"Resent-Bcc: hidden@example.org\n\nx\n")
        self.assertEqual(self.rcpts(ctl), ["new@example.org", "hidden@example.org"])
        self.assertNotIn(b"hidden", out)
        # -t without any recipient, and an unparsable To:
        self.refuse(["-t"], b"Subject: none\n\nx\n", 65, "no recipients")
        self.refuse(["-t"], b"To: a@@b\n\nx\n", 65, "To: header")

    def test_sender_options(self):
        ctl, msg = self.send(["-f", "owner@lists.example", "-F", "List Owner", "r@example.org"],
                             b"Subject: x\n\nb\n")
        self.assertEqual(ctl["S"], "owner@lists.example")
        self.assertIn(b"\nFrom: List Owner <owner@lists.example>\n", msg)
        ctl, msg = self.send(["-fbounce", "r@example.org"], b"\n")
        self.assertEqual(ctl["S"], "bounce@mx.test.example")
        ctl, msg = self.send(["-r", "<>", "-F", 'Odd "Name"', "r@example.org"], b"x\n")
        self.assertEqual(ctl["S"], "")
        self.assertIn(b'From: "Odd \\"Name\\"" <%s@mx.test.example>\n' % self.login.encode(), msg)
        self.assertTrue(msg.endswith(b"\n\nx\n"), msg)  # blank line inserted before the body
        ctl, msg = self.send(["-f", "", "-F", "J\xf6rg", "r@example.org"], b"Subject: u\n")
        self.assertIn(b"From: =?UTF-8?B?", msg)
        self.refuse(["-f", "a@@b", "r@example.org"], b"x\n", 65, "bad sender")

    def test_dots_and_from_line(self):
        text = b"From me@x Mon Jan  1 00:00:00 2024\nSubject: d\n\none\n..two\n.\nthree\n"
        _, msg = self.send(["r@example.org"], text)
        self.assertTrue(msg.startswith(b"Subject: d\n"), msg)
        self.assertTrue(msg.endswith(b"\n\none\n..two\n"), msg)
        for flag in (["-i"], ["-oi"], ["-ti"]):
            _, msg = self.send(flag + ["r@example.org"], b"To: t@example.org\n\none\n.\nthree\n")
            self.assertTrue(msg.endswith(b"\n\none\n.\nthree\n"), (flag, msg))
        _, msg = self.send(["r@example.org"], b"Subject: c\r\n\r\none\r\n.\r\nthree\r\n")
        self.assertTrue(msg.endswith(b"\n\none\n"), msg)
        _, msg = self.send(["r@example.org"], b"Subject: e\n\nnot.\n.x\n. \n.")
        self.assertTrue(msg.endswith(b"\n\nnot.\n.x\n. \n.\n"), msg)
        # a From_ line only at the very start
        _, msg = self.send(["r@example.org"], b"Subject: f\n\nFrom here\n")
        self.assertTrue(msg.endswith(b"\n\nFrom here\n"), msg)

    def test_option_forms(self):
        # recipients before options (as GNU getopt permutes for Postfix), "--", ignored options
        ctl, _ = self.send(["r1@example.org", "-oi", "-odb", "-oem", "-om", "-G", "-v", "-Am",
                            "-h", "5", "-L", "mytag", "-U", "--", "-dash@example.org"], b"x\n")
        self.assertEqual(self.rcpts(ctl), ["r1@example.org", "-dash@example.org"])
        ctl, _ = self.send(["-N", "success, delay", "-R", "hdrs", "-V", "id+1 x", "-B",
                            "8bitmime", "r@example.org"], b"x\n")
        self.assertEqual(ctl["R"], [["r@example.org", "SUCCESS,DELAY", ""]])
        self.assertEqual((ctl["N"], ctl["E"], ctl["B"]), ("HDRS", "id+2B1+20x", "8BITMIME"))
        ctl, _ = self.send(["-Nnever", "-t"], b"To: a@example.org\n\nx\n")
        self.assertEqual(ctl["R"], [["a@example.org", "NEVER", ""]])
        self.assertNotIn("N", ctl)
        self.assertNotIn("E", ctl)

    def test_bad_usage(self):
        for args, text in ((["-z", "r@example.org"], "invalid option -z"),
                           (["-X", "/tmp/log", "r@example.org"], "-X"),
                           (["-C", "/etc/x.cf", "r@example.org"], "-C"),
                           (["-N", "sometimes", "r@example.org"], "-N"),
                           (["-N", "never,success", "r@example.org"], "-N"),
                           (["-R", "most", "r@example.org"], "-R"),
                           (["-B", "BINARYMIME", "r@example.org"], "-B"),
                           (["-bd"], "-bd is not supported"),
                           (["-bp", "r@example.org"], "recipients"),
                           (["-f"], "requires an argument"),
                           ([], "no recipients")):
            r = self.refuse(args, b"x\n", 64, text)
            self.assertIn(b"usage:", r.stderr)
        self.refuse(["a@@example.org"], b"x\n", 67, "a@@example.org")
        self.refuse(["r@example.org"], b"Subject: x\n" + b"X-Long: " + b"y" * (5 << 20) + b"\n",
                    65, "header section too large")

    def test_submit_refusals_map_to_exit_codes(self):
        self.config("submit.conf", "max_message_size = 4k\nmax_recipients = 2\n")
        self.refuse(["r@example.org"], b"x" * 5000 + b"\n", 65, "552 5.3.4")
        self.refuse(["a@example.org", "b@example.org", "c@example.org"], b"x\n", 65, "554 5.5.3")
        os.chmod(os.path.join(self.root, "libexec/estafette/submit"), 0o644)
        self.refuse(["r@example.org"], b"x\n", 69, "cannot run")

    def test_ten_megabytes(self):
        self.config("submit.conf", "max_message_size = 64M\n")
        body = (b"0123456789" * 7 + b"\n") * (10 * 1024 * 1024 // 71)
        _, msg = self.send(["r@example.org"], b"Subject: big\n\n" + body, timeout=120)
        self.assertTrue(msg.endswith(b"\n\n" + body))
        self.assertGreater(len(msg), 10 * 1024 * 1024 - 100)

    # ---- -bs -----------------------------------------------------------------

    def smtp(self, script, timeout=30):
        r = self.run_prog(["-bs"], script, timeout=timeout)
        self.assertEqual(r.returncode, 0, r.stderr)
        return r.stdout.decode().split("\r\n")

    def test_bs_pipelined_session(self):
        script = (b"EHLO client\r\nMAIL FROM:<s@example.com> BODY=8BITMIME RET=HDRS "
                  b"ENVID=abc+2B\r\nRCPT TO:<a@example.org> NOTIFY=success,failure "
                  b"ORCPT=rfc822;a@example.org\r\nRCPT TO:<bob>\r\nRCPT TO:<x@@y>\r\n"
                  b"DATA\r\nSubject: s\r\n\r\n..dot\r\n...\r\n.x\r\nend\r\n.\r\n"
                  b"MAIL FROM:<>\r\nRCPT TO:<postmaster>\r\nDATA\r\nline\r\n.\r\nQUIT\r\n")
        lines = self.smtp(script)
        self.assertTrue(lines[0].startswith("220 mx.test.example ESMTP"), lines)
        self.assertIn("250-PIPELINING", lines)
        self.assertIn("250-DSN", lines)
        codes = [l[:3] for l in lines[lines.index("250 HELP") + 1:] if l]
        self.assertEqual(codes, ["250", "250", "250", "501", "354", "250", "250", "250", "354",
                                 "250", "221"], lines)
        ids = [m.group(1).decode() for m in QUEUED.finditer("\n".join(lines).encode())]
        self.assertEqual(len(ids), 2)
        ctl, msg = self.entry(ids[0])
        self.assertEqual(ctl["S"], "s@example.com")
        self.assertEqual(ctl["R"], [["a@example.org", "SUCCESS,FAILURE", "rfc822;a@example.org"],
                                    ["bob@mx.test.example", "", ""]])
        self.assertEqual((ctl["B"], ctl["N"], ctl["E"]), ("8BITMIME", "HDRS", "abc+2B"))
        self.assertTrue(msg.endswith(b"\n\n.dot\n..\nx\nend\n"), msg)
        self.assertIn(b"\nMessage-ID: <", msg)
        ctl, msg = self.entry(ids[1])
        self.assertEqual((ctl["S"], self.rcpts(ctl)), ("", ["postmaster@mx.test.example"]))

    def test_bs_errors(self):
        lines = self.smtp(b"RCPT TO:<a@example.org>\r\nDATA\r\nMAIL FROM:<a@b.c> FOO=1\r\n"
                          b"MAIL FROM:<a@b.c>\r\nMAIL FROM:<a@b.c>\r\nDATA\r\nRSET\r\n"
                          b"NOOP\r\nHELP\r\nVRFY x\r\nBDAT 1\r\nWHAT\r\n" + b"X" * 3000 +
                          b"\r\nHELO\r\nHELO x\r\nQUIT\r\n")
        codes = [l[:3] for l in lines[1:] if l]
        self.assertEqual(codes, ["503", "503", "555", "250", "503", "554", "250", "250", "214",
                                 "252", "502", "500", "500", "501", "250", "221"], lines)
        # EOF in DATA queues nothing; too many errors close the session
        r = self.run_prog(["-bs"], b"MAIL FROM:<a@b.c>\r\nRCPT TO:<r@example.org>\r\nDATA\r\n"
                          b"Subject: cut\r\n")
        self.assertEqual(self.entries(), [])
        lines = self.smtp(b"BAD\r\n" * 30)
        self.assertIn("421 4.7.0 Too many errors, closing", lines)
        self.assertEqual(len([l for l in lines if l.startswith("500")]), 20)

    def test_bs_interactive(self):
        """One command at a time over pipes: each reply arrives before the next command."""
        p = subprocess.Popen([os.path.join(self.root, "sbin/sendmail"), "-bs"],
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                             stderr=subprocess.DEVNULL, env=self.env())
        try:
            def expect(prefix):
                ready, _, _ = select.select([p.stdout], [], [], 10)
                self.assertTrue(ready, "no reply")
                line = p.stdout.readline()
                self.assertTrue(line.startswith(prefix), line)
                return line
            expect(b"220 ")
            for cmd, want in ((b"HELO x", b"250 "), (b"MAIL FROM:<a@b.c>", b"250 "),
                              (b"RCPT TO:<r@example.org>", b"250 "), (b"DATA", b"354 ")):
                p.stdin.write(cmd + b"\r\n")
                p.stdin.flush()
                expect(want)
            p.stdin.write(b"Subject: i\r\n\r\nbody\r\n.\r\n")
            p.stdin.flush()
            expect(b"250 2.0.0 Ok: queued as ")
            p.stdin.write(b"QUIT\r\n")
            p.stdin.flush()
            expect(b"221 ")
            self.assertEqual(p.wait(timeout=10), 0)
        finally:
            p.kill()
            p.wait()

    # ---- -bp, -q -------------------------------------------------------------

    def test_mailq(self):
        r = self.run_prog([], prog="bin/mailq")
        self.assertEqual((r.returncode, r.stdout), (0, b"Mail queue is empty\n"))
        self.send(["-f", "s@example.com", "a@example.org", "b@example.org"], b"x\n")
        self.send(["c@example.org"], b"y\n")
        for prog, args in (("bin/mailq", []), ("sbin/sendmail", ["-bp"])):
            r = self.run_prog(args, prog=prog)
            self.assertEqual(r.returncode, 0, r.stderr)
            out = r.stdout.decode()
            ids = self.entries()
            self.assertEqual(re.findall(r"^([0-9a-f]{20}) ", out, re.M), ids)
            self.assertIn("s@example.com\n" + " " * 51 + "a@example.org\n" + " " * 51 +
                          "b@example.org\n", out)
            self.assertTrue(out.endswith(" in 2 Requests.\n"), out)

    def test_queue_run_trigger(self):
        t0 = time.time()
        r = self.run_prog(["-q"], timeout=10)
        self.assertEqual(r.returncode, 69, r.stderr)
        self.assertIn(b"courierd is not running", r.stderr)
        fifo = os.path.join(self.root, "var/run/estafette/trigger")
        os.mkfifo(fifo)
        r = self.run_prog(["-q"], timeout=10)  # a FIFO without reader: no blocking
        self.assertEqual(r.returncode, 69, r.stderr)
        fd = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)
        try:
            r = self.run_prog(["-q"], timeout=10)
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertEqual(os.read(fd, 10), b"q")
            r = self.run_prog(["-q30m"], timeout=10)
            self.assertEqual(r.returncode, 0, r.stderr)
            self.refuse(["-qRexample.org"], b"", 64, "not supported")
        finally:
            os.close(fd)
        self.assertLess(time.time() - t0, 20)

    # ---- -bi, newaliases -----------------------------------------------------

    def test_newaliases(self):
        r = self.run_prog([], prog="sbin/newaliases")
        self.assertEqual(r.returncode, 78, r.stderr)  # no aliases file
        self.config("aliases", "# the list\npostmaster: root\nList: a@example.org, b,\n"
                               "  \"|/bin/cat -n\", /tmp/file\n")
        cdb = os.path.join(self.root, "etc/estafette/aliases.cdb")
        for prog, args in (("sbin/newaliases", []), ("sbin/sendmail", ["-bi"]),
                           ("sbin/sendmail", ["-I"])):
            os.unlink(cdb) if os.path.exists(cdb) else None
            r = self.run_prog(args, prog=prog)
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertIn(b"2 aliases", r.stdout)
            q = subprocess.run([os.path.join(BUILD_DIR, "bin/makemap"), "-q", "list", cdb],
                               capture_output=True, timeout=30)
            self.assertEqual(q.stdout, b"a@example.org\tb\t|/bin/cat -n\t/tmp/file\n")
        # an error names the line and keeps the old map
        self.config("aliases", "postmaster: root\nno colon here\n")
        r = self.run_prog([], prog="sbin/newaliases")
        self.assertEqual(r.returncode, 65, r.stderr)
        self.assertIn(b"aliases:2:", r.stderr)
        self.assertTrue(os.path.exists(cdb))

    # ---- as root: the installed tree with a setgid submit, run by nobody -------

    def test_installed_setgid_as_nobody(self):
        if os.geteuid() != 0:
            self.skipTest("needs root")
        if SANITIZED:
            self.skipTest("a set-id program does not run under the sanitizers")
        prefix = os.path.join(self.tmp, "sys")
        self.install(prefix, "--create-users")
        for path, mode in (("sbin/sendmail", 0o755), ("bin/mailq", 0o755),
                           ("sbin/newaliases", 0o755), ("libexec/estafette/submit", 0o2755)):
            self.assertEqual(stat.S_IMODE(os.stat(os.path.join(prefix, path)).st_mode), mode)
        self.config("me", "sys.test.example\n", root=prefix)
        nobody = pwd.getpwnam("nobody")

        def as_nobody():
            os.setgroups([])
            os.setgid(nobody.pw_gid)
            os.setuid(nobody.pw_uid)

        env = {"ESTAFETTE_ROOT": prefix, "ESTAFETTE_LOG": "stderr", "PATH": "/usr/bin:/bin"}
        r = subprocess.run([os.path.join(prefix, "sbin/sendmail"), "-f", "boss@example.com",
                            "-t"], input=b"To: r@example.org\n\nhi\n", env=env,
                           capture_output=True, preexec_fn=as_nobody, timeout=30)
        self.assertEqual(r.returncode, 0, r.stderr)
        q = os.path.join(prefix, "var/spool/estafette")
        ids = [f for b in os.listdir(os.path.join(q, "ctl"))
               for f in os.listdir(os.path.join(q, "ctl", b))]
        self.assertEqual(len(ids), 1)
        qid = ids[0]
        st = os.stat(os.path.join(q, "ctl", qid[-1], qid))
        self.assertEqual(st.st_uid, nobody.pw_uid)
        with open(os.path.join(q, "ctl", qid[-1], qid), "rb") as f:
            self.assertEqual(parse_ctl(f.read())["S"], "boss@example.com")
        with open(os.path.join(q, "msg", qid[-1], qid), "rb") as f:
            msg = f.read()
        # -f by an ordinary user is allowed, and the real uid is on record
        self.assertTrue(msg.startswith(b"Received: (from uid %d)" % nobody.pw_uid), msg)
        self.assertIn(b"\nFrom: ", msg)
        # mailq as nobody cannot read the queue and says so; as root it lists the entry
        r = subprocess.run([os.path.join(prefix, "bin/mailq")], env=env, capture_output=True,
                           preexec_fn=as_nobody, timeout=30)
        self.assertEqual(r.returncode, 77, r.stderr)
        self.assertIn(b"Permission denied", r.stderr)
        r = subprocess.run([os.path.join(prefix, "bin/mailq")], env=env, capture_output=True,
                           timeout=30)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn(qid.encode(), r.stdout)
        # -q: the trigger FIFO is courierd's (0620, queue user and group)
        import grp
        fifo = os.path.join(prefix, "var/run/estafette/trigger")
        os.mkfifo(fifo, 0o620)
        os.chown(fifo, pwd.getpwnam("estafette").pw_uid, grp.getgrnam("estafette").gr_gid)
        fd = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)
        try:
            r = subprocess.run([os.path.join(prefix, "sbin/sendmail"), "-q"], env=env,
                               capture_output=True, preexec_fn=as_nobody, timeout=10)
            self.assertEqual(r.returncode, 77, r.stderr)
            r = subprocess.run([os.path.join(prefix, "sbin/sendmail"), "-q"], env=env,
                               capture_output=True, timeout=10)
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertEqual(os.read(fd, 10), b"q")
        finally:
            os.close(fd)
