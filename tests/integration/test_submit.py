"""submit(8): the pipe protocol, the queue files it writes, its limits and its
refusals; as root also the installed setgid copy run by an unprivileged user."""

import os
import re
import shutil
import stat
import subprocess

from harness import TOP, BUILD_DIR, SANITIZED, TempDirTestCase, program

ID = re.compile(rb"^250 2\.0\.0 Ok: queued as ([0-9a-f]{20})\n$")


def envelope(sender="a@example.com", rcpts=("b@example.org",), extra=b""):
    out = b"S" + sender.encode() + b"\nFsmtp\n" + extra
    for r in rcpts:
        out += b"R" + (r.encode() if isinstance(r, str) else r) + b"\n"
    return out + b"\n"


def data(msg, chunk=None):
    chunk = chunk or max(len(msg), 1)
    out = b""
    for i in range(0, len(msg), chunk):
        piece = msg[i:i + chunk]
        out += b"D%d\n" % len(piece) + piece
    return out + b".\n"


class SubmitTest(TempDirTestCase):
    def setUp(self):
        super().setUp()
        self.root = os.path.join(self.tmp, "inst")
        self.queue = os.path.join(self.root, "var/spool/estafette")
        for d in ("tmp", "msg", "ctl"):
            os.makedirs(os.path.join(self.queue, d))
        os.makedirs(os.path.join(self.root, "etc/estafette"))
        os.makedirs(os.path.join(self.root, "var/run/estafette"))
        self.config("me", "mx.test.example\n")

    def config(self, name, text):
        with open(os.path.join(self.root, "etc/estafette", name), "w") as f:
            f.write(text)

    def run_submit(self, stdin, exe=None, timeout=60, **kw):
        env = {"ESTAFETTE_ROOT": self.root, "ESTAFETTE_LOG": "stderr", "PATH": "/usr/bin:/bin"}
        return subprocess.run([exe or program("submit")], input=stdin, capture_output=True,
                              env=env, timeout=timeout, **kw)

    def queued(self):
        found = []
        for area in ("msg", "ctl"):
            for dirpath, _, files in os.walk(os.path.join(self.queue, area)):
                found += [(area, f) for f in files]
        return found

    def clear_queue(self):
        for area in ("msg", "ctl"):
            shutil.rmtree(os.path.join(self.queue, area))
            os.mkdir(os.path.join(self.queue, area))

    def assert_nothing_queued(self):
        self.assertEqual(self.queued(), [])
        self.assertEqual(os.listdir(os.path.join(self.queue, "tmp")), [])

    def read_entry(self, qid):
        b = qid[-1]
        with open(os.path.join(self.queue, "msg", b, qid), "rb") as f:
            msg = f.read()
        with open(os.path.join(self.queue, "ctl", b, qid), "rb") as f:
            ctl = f.read()
        return msg, ctl

    def accept(self, stdin, **kw):
        r = self.run_submit(stdin, **kw)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        m = ID.match(r.stdout)
        self.assertTrue(m, r.stdout)
        return m.group(1).decode(), r

    def refuse(self, stdin, code, rc):
        r = self.run_submit(stdin)
        self.assertEqual(r.returncode, rc, r.stdout + r.stderr)
        self.assertTrue(r.stdout.startswith(code.encode()), r.stdout)
        self.assert_nothing_queued()
        return r

    def test_normal_message(self):
        msg = b"Subject: hi\r\nFrom: a@example.com\r\n\r\nline 1\r\nbare\rcr\r\n"
        extra = (b"Hhelo=client.example\nHip=192.0.2.1\nHhost=client.example\n"
                 b"Hproto=ESMTPS\nHtls=TLS1.3 cipher TLS_AES_256_GCM_SHA384 (256/256 bits)\n"
                 b"EENV+2B1\nNhdrs\nB8bitmime\nAalice\n")
        stdin = envelope(rcpts=("b@EXAMPLE.org\tsuccess,failure\trfc822;b@example.org",),
                         extra=extra) + data(msg)
        qid, r = self.accept(stdin)
        self.assertIn(b"id=%s from=<a@example.com> nrcpt=1" % qid.encode(), r.stderr)
        m, c = self.read_entry(qid)
        self.assertNotIn(b"\r\n", m)
        head, rest = m.split(b"Subject: hi\n", 1)
        self.assertTrue(head.startswith(b"Received: from client.example (client.example "
                                        b"[192.0.2.1])\n\t(using TLS1.3 cipher "
                                        b"TLS_AES_256_GCM_SHA384 ?256/256 bits?)\n"
                                        b"\tby mx.test.example (estafette) with ESMTPS id "
                                        + qid.encode() + b"\n\tfor <b@example.org>; "), head)
        self.assertEqual(rest, b"From: a@example.com\n\nline 1\nbare\rcr\n")
        lines = c.split(b"\n")
        self.assertEqual(lines[0:2], [b"V1", b"I" + qid.encode()])
        self.assertRegex(lines[2], rb"^T\d+$")
        self.assertEqual(lines[3:], [b"Sa@example.com", b"Fsmtp", b"EENV+2B1", b"NHDRS",
                                     b"B8BITMIME", b"Aalice",
                                     b"Hclient.example (client.example [192.0.2.1])",
                                     b"Rb@example.org\tSUCCESS,FAILURE\trfc822;b@example.org",
                                     b""])
        self.assertEqual(os.listdir(os.path.join(self.queue, "tmp")), [])

    def test_local_null_sender_many_rcpts(self):
        stdin = envelope(sender="", rcpts=("x@example.org", "postmaster"), extra=b"U\n")
        qid, _ = self.accept(stdin + data(b"no newline at end"))
        m, c = self.read_entry(qid)
        self.assertTrue(m.startswith(b"Received: (from uid %d)\n\tby mx.test.example "
                                     b"(estafette) id %s; " % (os.getuid(), qid.encode())))
        self.assertTrue(m.endswith(b"\nno newline at end\n"))
        self.assertIn(b"\nS\n", c)
        self.assertIn(b"\nU\n", c)
        self.assertIn(b"\nRx@example.org\t\t\nRpostmaster\t\t\n", c)

    def test_abort_by_eof(self):
        full = envelope() + data(b"Subject: x\n\nbody\n", chunk=5)
        for cut in (0, 5, len(envelope()) - 1, len(envelope()), len(envelope()) + 3,
                    len(full) - 2, len(full) - 1):
            r = self.run_submit(full[:cut])
            self.assertEqual(r.returncode, 75, (cut, r.stdout, r.stderr))
            self.assertEqual(r.stdout, b"")
            self.assert_nothing_queued()

    def test_too_big(self):
        self.config("submit.conf", "max_message_size = 2k\n")
        self.refuse(envelope() + data(b"x" * 3000), "552 5.3.4", 65)
        self.refuse(envelope() + data(b"x" * 3000, chunk=1000), "552 5.3.4", 65)
        self.accept(envelope() + data(b"x" * 2048))

    def test_limits(self):
        self.config("submit.conf", "max_recipients = 3\nmax_line_length = 100\n"
                                   "max_header_size = 1k\n")
        rc = ["r%d@example.org" % i for i in range(4)]
        self.refuse(envelope(rcpts=rc) + data(b"x\n"), "554 5.5.3", 65)
        self.accept(envelope(rcpts=rc[:3]) + data(b"x\n"))
        self.clear_queue()
        self.refuse(envelope() + data(b"x" * 101 + b"\n"), "554 5.6.0", 65)
        self.refuse(envelope() + data(b"X-A: " + b"y" * 90 + b"\n" * 0 + b"\n" +
                                      b"X-B: z\n" * 200), "552 5.3.4", 65)
        self.refuse(envelope(rcpts=()) + data(b"x\n"), "554 5.5.1", 65)

    def test_bad_config_is_temporary(self):
        self.config("submit.conf", "max_message_sise = 1M\n")
        r = self.run_submit(envelope() + data(b"x\n"))
        self.assertEqual(r.returncode, 75)
        self.assertTrue(r.stdout.startswith(b"451 4.3.5"))

    def test_bad_addresses_and_envelope(self):
        self.refuse(envelope(sender="no domain@") + data(b"x\n"), "553 5.1.7", 65)
        self.refuse(envelope(rcpts=("b@@example.org",)) + data(b"x\n"), "553 5.1.3", 65)
        self.refuse(envelope(rcpts=("j\xc3\xb6rg@example.org",)) + data(b"x\n"), "553", 65)
        self.refuse(envelope(rcpts=("b@example.org\tNEVER,DELAY",)) + data(b"x\n"), "501", 65)
        self.refuse(envelope(rcpts=(b"b@exa\rmple.org",)) + data(b"x\n"), "554 5.5.2", 64)
        self.refuse(envelope(rcpts=(b"b@exa\0mple.org",)) + data(b"x\n"), "554 5.5.2", 64)
        self.refuse(b"Sa@b.c\nFsmtp\nQfoo\nRb@c.d\n\n" + data(b"x\n"), "554 5.5.2", 64)
        self.refuse(b"Sa@b.c\nFsmtp\nXfoo\nRb@c.d\n\n" + data(b"x\n"), "501 5.5.4", 65)  # VERP
        self.refuse(b"Sa@b.c\nFsmtp\nX-=\nX-=\nRb@c.d\n\n" + data(b"x\n"), "554 5.5.2", 64)
        self.refuse(b"Sa@b.c\nSa@b.c\nFsmtp\nRb@c.d\n\n" + data(b"x\n"), "554 5.5.2", 64)
        self.refuse(b"Sa@b.c\nFnowhere\nRb@c.d\n\n" + data(b"x\n"), "554 5.5.2", 64)
        self.refuse(b"S" + b"a" * 70000 + b"\n", "554 5.5.2", 64)
        self.refuse(envelope() + b"D1x\nx.\n", "554 5.5.2", 64)
        self.refuse(envelope() + b"D01\nx.\n", "554 5.5.2", 64)
        self.refuse(envelope() + b"D99999999999999999999999\n", "554 5.5.2", 64)
        # the UTF-8 address is fine with SMTPUTF8
        self.accept(envelope(rcpts=("j\xc3\xb6rg@example.org",), extra=b"U\n") + data(b"x\n"))

    def test_nul_bytes(self):
        self.refuse(envelope() + data(b"Subject: x\n\na\0b\n"), "554 5.6.0", 65)
        qid, _ = self.accept(envelope(extra=b"Bbinarymime\n") + data(b"Subject: x\n\na\0b\n"))
        self.assertTrue(self.read_entry(qid)[0].endswith(b"\na\0b\n"))

    def test_big_message_in_chunks(self):
        self.config("submit.conf", "max_header_size = 1k\n")
        body = (b"0123456789" * 7 + b"\r\n") * (20 * 1024 * 1024 // 72)
        msg = b"Subject: big\r\n\r\n" + body
        qid, _ = self.accept(envelope() + data(msg, chunk=65536 + 17), timeout=120)
        m, _ = self.read_entry(qid)
        self.assertEqual(m.split(b"Subject: big\n", 1)[1], msg[16:].replace(b"\r\n", b"\n") and
                         b"\n" + body.replace(b"\r\n", b"\n"))

    def test_one_byte_chunks(self):
        msg = b"Subject: tiny\r\n\r\nab\r\n\r\ncd\r"
        qid, _ = self.accept(envelope() + data(msg, chunk=1))
        m, _ = self.read_entry(qid)
        self.assertTrue(m.endswith(b"\nSubject: tiny\n\nab\n\ncd\n"), m)
        # also the whole input written one byte at a time through a pipe
        p = subprocess.Popen([program("submit")], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                             stderr=subprocess.DEVNULL,
                             env={"ESTAFETTE_ROOT": self.root, "ESTAFETTE_LOG": "stderr"})
        for b in envelope() + data(msg, chunk=3):
            p.stdin.write(bytes([b]))
            p.stdin.flush()
        p.stdin.close()
        self.assertTrue(ID.match(p.stdout.read()))
        self.assertEqual(p.wait(timeout=30), 0)

    def test_sequence_of_messages_in_one_process(self):
        one = envelope() + data(b"Subject: 1\n\none\n")
        two = envelope(rcpts=("c@example.org",)) + data(b"Subject: 2\n\ntwo\n", chunk=4)
        r = self.run_submit(one + two + one)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        lines = r.stdout.splitlines(keepends=True)
        self.assertEqual(len(lines), 3, r.stdout)
        ids = [ID.match(x).group(1).decode() for x in lines]
        self.assertEqual(len(set(ids)), 3)
        msg, ctl = self.read_entry(ids[1])
        self.assertTrue(msg.endswith(b"Subject: 2\n\ntwo\n"), msg)
        self.assertIn(b"\nRc@example.org\t\t\n", ctl)
        self.assertNotIn(b"b@example.org", ctl)  # nothing of the first envelope remains
        self.assertEqual(len(self.queued()), 6)

    def test_sequence_ends_at_the_first_refusal(self):
        good = envelope() + data(b"x\n")
        bad = envelope() + data(b"x" * 200 + b"\n")
        self.config("submit.conf", "max_line_length = 100\n")
        r = self.run_submit(good + bad + good)
        self.assertEqual(r.returncode, 65, r.stdout + r.stderr)
        lines = r.stdout.splitlines()
        self.assertEqual(len(lines), 2, r.stdout)
        self.assertTrue(lines[1].startswith(b"554 5.6.0"), lines)
        self.assertEqual(len(self.queued()), 2)  # the first message only
        self.assertEqual(os.listdir(os.path.join(self.queue, "tmp")), [])

    def test_sequence_cut_inside_the_second_message(self):
        good = envelope() + data(b"x\n")
        r = self.run_submit(good + envelope())
        self.assertEqual(r.returncode, 75, r.stdout + r.stderr)
        self.assertEqual(len(r.stdout.splitlines()), 1)
        self.assertEqual(len(self.queued()), 2)
        self.assertEqual(os.listdir(os.path.join(self.queue, "tmp")), [])

    def test_trigger_fifo_without_reader(self):
        fifo = os.path.join(self.root, "var/run/estafette/trigger")
        os.mkfifo(fifo)
        self.accept(envelope() + data(b"x\n"), timeout=20)
        # and with a reader, it gets the new queue id and LF
        fd = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)
        try:
            qid, _ = self.accept(envelope() + data(b"x\n"), timeout=20)
            self.assertEqual(os.read(fd, 100), qid.encode() + b"\n")
        finally:
            os.close(fd)

    def test_setgid_install(self):
        if os.geteuid() != 0:
            self.skipTest("needs root")
        if SANITIZED:
            self.skipTest("a set-id program does not run under the sanitizers")
        import grp
        import pwd
        prefix = os.path.join(self.tmp, "sys")
        r = subprocess.run([os.path.join(TOP, "scripts/install-tree"), "--prefix", prefix,
                            "--build", BUILD_DIR, "--create-users"], capture_output=True,
                           text=True)
        self.assertEqual(r.returncode, 0, r.stderr)
        exe = os.path.join(prefix, "libexec/estafette/submit")
        st = os.stat(exe)
        self.assertEqual(stat.S_IMODE(st.st_mode), 0o2755)
        qgid = grp.getgrnam("estafette").gr_gid
        self.assertEqual(st.st_gid, qgid)
        with open(os.path.join(prefix, "etc/estafette/me"), "w") as f:
            f.write("mx.test.example\n")
        nobody = pwd.getpwnam("nobody")

        def as_nobody():
            os.setgroups([])
            os.setgid(nobody.pw_gid)
            os.setuid(nobody.pw_uid)

        # ESTAFETTE_ROOT points elsewhere: the setgid copy ignores it and uses its own root
        env = {"ESTAFETTE_ROOT": self.root, "ESTAFETTE_LOG": "stderr"}
        r = subprocess.run([exe], input=envelope() + data(b"Subject: x\n\nhi\n"), env=env,
                           capture_output=True, preexec_fn=as_nobody, timeout=30)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        qid = ID.match(r.stdout).group(1).decode()
        ctl = os.path.join(prefix, "var/spool/estafette/ctl", qid[-1], qid)
        cst = os.stat(ctl)
        self.assertEqual((cst.st_uid, cst.st_gid), (nobody.pw_uid, qgid))
        self.assert_nothing_queued()  # nothing went to ESTAFETTE_ROOT's queue
        with open(os.path.join(prefix, "var/spool/estafette/msg", qid[-1], qid), "rb") as f:
            self.assertIn(b"(from uid %d)" % nobody.pw_uid, f.read())
        # nobody cannot write the queue directly
        r = subprocess.run(["sh", "-c", "echo x > %s/var/spool/estafette/tmp/x" % prefix],
                           preexec_fn=as_nobody, capture_output=True)
        self.assertNotEqual(r.returncode, 0)
        self.assertFalse(os.path.exists(os.path.join(prefix, "var/spool/estafette/tmp/x")))
