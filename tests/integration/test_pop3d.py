"""pop3-login, auth-exec and pop3d: an installed instance with authd and a listener on
loopback, accounts made with userdb(8), mail written into the Maildir tmp -> new, spoken
to with poplib and raw sockets (pop3d(8), auth-exec(8))."""

import base64
import hashlib
import hmac
import imaplib
import os
import poplib
import re
import pwd
import shutil
import signal
import socket
import ssl
import subprocess
import time

from harness import TOP, BUILD_DIR, TempDirTestCase, process_alive, sasl_plain
from test_listener import free_port

AS_ROOT = os.geteuid() == 0
PASSWORD = "s3cret pass"
FAIL_DELAY = 0.3
HAVE_OPENSSL = shutil.which("openssl") is not None


def encode(value):
    """authd's percent-encoding (authd(8))."""
    out = []
    for b in value.encode():
        out.append(f"%{b:02X}" if b < 0x21 or b > 0x7e or b in (0x25, 0x3d) else chr(b))
    return "".join(out)


def wire(data):
    """What RETR sends for stored bytes: LF -> CRLF, leading dots doubled, final CRLF."""
    lines = data.split(b"\n")
    tail = lines.pop()
    out = b""
    for line in lines:
        line = line[:-1] if line.endswith(b"\r") else line
        out += (b"." if line.startswith(b".") else b"") + line + b"\r\n"
    if tail:
        out += (b"." if tail.startswith(b".") else b"") + tail + b"\r\n"
    return out


class Pop3Instance(TempDirTestCase):
    """One instance per test: install, accounts, authd, listeners for 110 and 995."""

    def setUp(self):
        super().setUp()
        self.root = os.path.join(self.tmp, "inst")
        argv = [os.path.join(TOP, "scripts", "install-tree"), "--prefix", self.root,
                "--build", BUILD_DIR] + (["--create-users"] if AS_ROOT else [])
        r = subprocess.run(argv, capture_output=True, text=True)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.env = dict(os.environ, ESTAFETTE_ROOT=self.root, ESTAFETTE_LOG="stderr")
        self.etc = os.path.join(self.root, "etc", "estafette")
        self.libexec = os.path.join(self.root, "libexec", "estafette")
        if AS_ROOT:
            pw = pwd.getpwnam("estafette-mail")
            self.uid, self.gid = pw.pw_uid, pw.pw_gid
            self.net_uid = pwd.getpwnam("estafette-net").pw_uid
        else:
            self.uid, self.gid = os.getuid(), os.getgid()
        with open(os.path.join(self.etc, "authd.conf"), "w") as f:
            f.write(f"fail_delay_ms = {int(FAIL_DELAY * 1000)}\nmax_user_failures = 50\n")
        self.home = os.path.join(self.tmp, "home", "joe")
        self.maildir = os.path.join(self.home, "Maildir")
        self.make_account("joe@example.test", self.home, self.uid, self.gid)
        self.make_account("rooty@example.test", os.path.join(self.tmp, "home", "rooty"), 0, 0)
        self.userdb("compile")
        self.procs = []
        self.logpath = os.path.join(self.tmp, "log")
        self.log = open(self.logpath, "ab")
        self.start_authd()
        self.cert = None
        if HAVE_OPENSSL:
            self.make_cert()
        self.port = self.start_listener([])
        self.tls_port = self.start_listener(["--implicit-tls"])
        self.counter = 0

    def tearDown(self):
        for p in reversed(self.procs):
            if p.poll() is None:
                p.terminate()
                try:
                    p.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    p.kill()
                    p.wait()
        self.log.close()
        super().tearDown()

    # -- setup helpers --------------------------------------------------------

    def userdb(self, *args, stdin=None):
        r = subprocess.run([os.path.join(self.root, "sbin", "userdb")] + list(args), input=stdin,
                           capture_output=True, text=True, env=self.env, timeout=30)
        self.assertEqual(r.returncode, 0, r.stderr)

    def make_account(self, address, home, uid, gid):
        maildir = os.path.join(home, "Maildir")
        for d in ("tmp", "new", "cur"):
            os.makedirs(os.path.join(maildir, d), exist_ok=True)
        if AS_ROOT:
            for dirpath, _, _ in os.walk(home):
                os.chown(dirpath, uid, gid)
        self.userdb(address, "set", f"uid={uid}", f"gid={gid}", f"home={home}",
                    f"mail={maildir}")
        self.userdb(address, "passwd", stdin=PASSWORD + "\n")

    def make_cert(self):
        self.cert = os.path.join(self.etc, "pop3d.pem")
        r = subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes",
                            "-subj", "/CN=localhost", "-days", "2", "-keyout", self.cert,
                            "-out", self.cert + ".crt"], capture_output=True, timeout=60)
        self.assertEqual(r.returncode, 0, r.stderr)
        with open(self.cert, "ab") as f, open(self.cert + ".crt", "rb") as c:
            f.write(c.read())
        if AS_ROOT:
            os.chown(self.cert, 0, pwd.getpwnam("estafette-net").pw_gid)
        os.chmod(self.cert, 0o640)

    def start_authd(self):
        p = subprocess.Popen([os.path.join(self.libexec, "authd")], env=self.env,
                             stdout=self.log, stderr=self.log, stdin=subprocess.DEVNULL)
        self.procs.append(p)
        sock = os.path.join(self.root, "var", "run", "estafette", "authd", "socket")
        deadline = time.time() + 10
        while not os.path.exists(sock):
            self.assertIsNone(p.poll(), self.logtext())
            self.assertLess(time.time(), deadline, "authd did not come up")
            time.sleep(0.05)

    def start_listener(self, args, login="pop3-login"):
        port = free_port()
        p = subprocess.Popen([os.path.join(self.libexec, "listener"), "-a", "127.0.0.1", "-p",
                              str(port), "--", os.path.join(self.libexec, login)] + args,
                             env=self.env, stdout=self.log, stderr=self.log,
                             stdin=subprocess.DEVNULL)
        self.procs.append(p)
        deadline = time.time() + 10
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                self.assertIsNone(p.poll(), self.logtext())
                self.assertLess(time.time(), deadline, "listener did not come up")
                time.sleep(0.05)
        return port

    def logtext(self):
        with open(self.logpath, "rb") as f:
            return f.read().decode(errors="replace")

    def deliver(self, data, name=None, sizes=True):
        """Write a message tmp -> new, as a delivery agent does; returns its base name."""
        self.counter += 1
        base = name or f"{1700000000 + self.counter}.M{self.counter}P99.test"
        full = base
        if sizes:
            w = len(data) + data.count(b"\n") - data.count(b"\r\n")
            full += f",S={len(data)},W={w}"
        tmp = os.path.join(self.maildir, "tmp", base)
        with open(tmp, "wb") as f:
            f.write(data)
        if AS_ROOT:
            os.chown(tmp, self.uid, self.gid)
        os.rename(tmp, os.path.join(self.maildir, "new", full))
        return base

    def files(self):
        return sorted(os.listdir(os.path.join(self.maildir, "new")) +
                      os.listdir(os.path.join(self.maildir, "cur")))

    # -- clients ----------------------------------------------------------------

    def pop(self, login=True):
        p = poplib.POP3("127.0.0.1", self.port, timeout=10)
        if login:
            p.user("joe@example.test")
            p.pass_(PASSWORD)
        return p

    def raw(self, port=None):
        s = socket.create_connection(("127.0.0.1", port or self.port), timeout=10)
        f = s.makefile("rb")
        self.assertTrue(f.readline().startswith(b"+OK"))
        return s, f

    def raw_login(self):
        s, f = self.raw()
        s.sendall(b"USER joe@example.test\r\nPASS " + PASSWORD.encode() + b"\r\n")
        self.assertEqual(f.readline(), b"+OK send PASS\r\n")
        self.assertTrue(f.readline().startswith(b"+OK"), self.logtext())
        return s, f

    @staticmethod
    def read_multi(f):
        lines = []
        while True:
            line = f.readline()
            if not line or line == b".\r\n":
                return lines
            lines.append(line)


class Pop3Test(Pop3Instance):
    def test_capa_before_and_after_login(self):
        p = self.pop(login=False)
        self.assertIn(b"estafette", p.getwelcome())
        caps = p.capa()
        for c in ("TOP", "UIDL", "USER", "SASL", "RESP-CODES", "AUTH-RESP-CODE", "PIPELINING",
                  "UTF8", "IMPLEMENTATION", "EXPIRE", "LOGIN-DELAY"):
            self.assertIn(c, caps)
        self.assertEqual(caps["SASL"], ["PLAIN", "LOGIN"])  # authd's default mechanisms
        self.assertEqual(caps["EXPIRE"], ["NEVER"])
        self.assertEqual(caps["LOGIN-DELAY"], ["0"])
        self.assertEqual(caps["UTF8"], ["USER"])
        self.assertEqual(caps["IMPLEMENTATION"], ["estafette"])
        self.assertEqual("STLS" in caps, HAVE_OPENSSL)
        p.user("joe@example.test")
        p.pass_(PASSWORD)
        caps = p.capa()
        self.assertNotIn("USER", caps)
        self.assertNotIn("STLS", caps)
        self.assertIn("TOP", caps)
        p.quit()

    def test_every_command(self):
        msgs = [b"Subject: one\n\nline\n.dot line\n..two dots\n",
                b"Subject: two\r\nX: y\r\n\r\nbody 1\r\nbody 2\r\nbody 3\r\n",
                b"Subject: three\n\nno final newline"]
        self.deliver(msgs[0])
        self.deliver(msgs[1], sizes=False)  # no W=: counted from the file
        self.deliver(msgs[2])
        p = self.pop()
        count, total = p.stat()
        self.assertEqual(count, 3)
        sizes = [len(m) + m.count(b"\n") - m.count(b"\r\n") for m in msgs]
        self.assertEqual(total, sum(sizes))
        resp, listing, _ = p.list()
        self.assertEqual(listing, [f"{i + 1} {s}".encode() for i, s in enumerate(sizes)])
        self.assertEqual(p.list(2), f"+OK 2 {sizes[1]}".encode())
        for i, m in enumerate(msgs):
            resp, lines, octets = p.retr(i + 1)
            self.assertEqual(resp, f"+OK {sizes[i]} octets".encode())
            expect = [line.rstrip(b"\r") for line in m.split(b"\n")]
            if expect[-1] == b"":
                expect.pop()
            self.assertEqual(lines, expect)
        resp, lines, _ = p.top(2, 1)
        self.assertEqual(resp, b"+OK top of message follows")
        self.assertEqual(lines, [b"Subject: two", b"X: y", b"", b"body 1"])
        resp, lines, _ = p.top(2, 0)
        self.assertEqual(lines, [b"Subject: two", b"X: y", b""])
        resp, uidls, _ = p.uidl()
        self.assertEqual(len(uidls), 3)
        for i, u in enumerate(uidls):  # the default: imapd's UIDVALIDITY.UID
            self.assertRegex(u, rb"^%d [1-9][0-9]*\.%d$" % (i + 1, i + 1))
        self.assertEqual(p.uidl(3), b"+OK " + uidls[2])
        self.assertEqual(p.noop(), b"+OK")
        self.assertTrue(p.dele(2).startswith(b"+OK"))
        self.assertEqual(p.stat(), (2, sizes[0] + sizes[2]))
        with self.assertRaises(poplib.error_proto):
            p.retr(2)
        with self.assertRaises(poplib.error_proto):
            p.dele(2)
        self.assertEqual(len(p.list()[1]), 2)
        p.rset()
        self.assertEqual(p.stat()[0], 3)
        p.dele(1)
        self.assertTrue(p.quit().startswith(b"+OK"))
        names = self.files()
        self.assertEqual(len(names), 2)
        # retrieved, not deleted: moved to cur with the S flag
        self.assertTrue(any(n.endswith(":2,S") for n in
                            os.listdir(os.path.join(self.maildir, "cur"))), names)

    def test_retr_byte_exact(self):
        data = (b"From: a@b\nSubject: dots\n\n.\n..\n.x\nmid . dot\r\nbare\rcr\n\n"
                + b"z" * 100000 + b"\n.end")
        self.deliver(data)
        s, f = self.raw_login()
        s.sendall(b"RETR 1\r\n")
        head = f.readline()
        w = wire(data)
        self.assertEqual(head, b"+OK %d octets\r\n" % (len(data) + data.count(b"\n")
                                                       - data.count(b"\r\n")))
        body = f.read(len(w) + 3)
        self.assertEqual(body, w + b".\r\n")
        s.close()

    def test_pipelining(self):
        for i in range(20):
            self.deliver(b"Subject: %d\n\nbody %d\n" % (i, i))
        s, f = self.raw()
        cmds = b"CAPA\r\nUSER joe@example.test\r\nPASS " + PASSWORD.encode() + b"\r\n"
        cmds += b"".join(b"RETR %d\r\n" % (i + 1) for i in range(20)) + b"STAT\r\nQUIT\r\n"
        s.sendall(cmds)
        self.assertTrue(f.readline().startswith(b"+OK"))
        self.read_multi(f)
        self.assertEqual(f.readline(), b"+OK send PASS\r\n")
        self.assertTrue(f.readline().startswith(b"+OK maildrop has 20"), self.logtext())
        for i in range(20):
            line = f.readline()
            self.assertTrue(line.startswith(b"+OK"), (i, line))
            self.assertEqual(self.read_multi(f), [b"Subject: %d\r\n" % i, b"\r\n",
                                                   b"body %d\r\n" % i])
        self.assertEqual(f.readline(), b"+OK 20 %d\r\n" % (10 * 22 + 10 * 24))
        self.assertEqual(f.readline(), b"+OK bye\r\n")
        s.close()

    def test_lock_and_dropped_connection(self):
        self.deliver(b"Subject: keep\n\nx\n")
        a = self.pop()
        a.dele(1)
        b = self.pop(login=False)
        b.user("joe@example.test")
        with self.assertRaises(poplib.error_proto) as cm:
            b.pass_(PASSWORD)
        self.assertIn(b"[IN-USE]", cm.exception.args[0])
        # a drops its connection without QUIT: nothing is deleted, the lock goes
        a.sock.close()
        a.file.close()
        deadline = time.time() + 10
        while True:
            try:
                c = self.pop()
                break
            except poplib.error_proto:
                self.assertLess(time.time(), deadline)
                time.sleep(0.1)
        self.assertEqual(c.stat()[0], 1)
        c.quit()
        self.assertEqual(len(self.files()), 1)

    def test_lock_released_when_pop3d_is_killed(self):
        self.deliver(b"Subject: keep\n\nx\n")
        a = self.pop()
        a.dele(1)
        exe = os.path.join(self.libexec, "pop3d")
        pids = []
        for pid in filter(str.isdigit, os.listdir("/proc")):
            try:
                if os.readlink(f"/proc/{pid}/exe") == exe:
                    pids.append(int(pid))
            except OSError:
                continue
        self.assertEqual(len(pids), 1)
        os.kill(pids[0], signal.SIGKILL)
        deadline = time.time() + 10
        while process_alive(pids[0]):
            self.assertLess(time.time(), deadline)
            time.sleep(0.05)
        c = self.pop()  # the kernel dropped the flock with the process
        self.assertEqual(c.stat()[0], 1)
        c.quit()
        self.assertEqual(len(self.files()), 1)

    def test_uidl_stable_across_sessions(self):
        for i in range(5):
            self.deliver(b"Subject: %d\n\n" % i)
        p = self.pop()
        first = p.uidl()[1]
        p.retr(2)
        p.dele(3)
        p.quit()
        p = self.pop()
        second = p.uidl()[1]
        p.quit()
        uid = lambda lines: [x.split()[1] for x in lines]
        self.assertEqual(uid(second), [u for i, u in enumerate(uid(first)) if i != 2])

    def test_uidl_equals_imap_uid_fetch(self):
        """Default UIDLs are what imaplib's UID FETCH sees; a POP3 login renames
        nothing, and IMAP still sees the messages POP3 numbered as \\Recent."""
        for i in range(4):
            self.deliver(b"Subject: %d\n\nx\n" % i)
        new = os.path.join(self.maildir, "new")
        p = self.pop()
        uidls = [x.split()[1].decode() for x in p.uidl()[1]]
        self.assertEqual(len(os.listdir(new)), 4)  # nothing renamed at login
        p.retr(1)
        p.quit()  # the retrieved message goes to cur/ with S, the others stay in new/
        self.assertEqual(len(os.listdir(new)), 3)
        imap_port = self.start_listener([], "imap-login")

        def imap_view():
            c = imaplib.IMAP4("127.0.0.1", imap_port, timeout=10)
            c.login("joe@example.test", PASSWORD)
            self.assertEqual(c.select("INBOX")[0], "OK")
            recent = int(c.response("RECENT")[1][0])
            validity = c.response("UIDVALIDITY")[1][0].decode()
            typ, data = c.uid("FETCH", "1:*", "(FLAGS)")
            self.assertEqual(typ, "OK")
            got = [(re.search(rb"UID (\d+)", d).group(1).decode(), b"\\Seen" in d)
                   for d in data if d]
            c.logout()
            return recent, [f"{validity}.{u}" for u, _ in got], [seen for _, seen in got]

        recent, imap_uidls, seen = imap_view()
        self.assertEqual(imap_uidls, uidls)
        self.assertEqual(recent, 3)
        self.assertEqual(seen, [True, False, False, False])
        self.assertEqual(os.listdir(new), [])  # imapd moved them, keeping their UIDs
        recent, imap_uidls, _ = imap_view()
        self.assertEqual((recent, imap_uidls), (0, uidls))
        self.deliver(b"Subject: late\n\nx\n")  # seen first by IMAP this time
        recent, imap_uidls, _ = imap_view()
        self.assertEqual(recent, 1)
        p = self.pop()
        self.assertEqual([x.split()[1].decode() for x in p.uidl()[1]], imap_uidls)
        p.quit()

    def test_fresh_10k_login_is_fast(self):
        for i in range(10000):
            name = f"{1700000000 + i}.M{i}P7.big"
            path = os.path.join(self.maildir, "new", name + ",S=20,W=21")
            with open(path, "wb") as f:
                f.write(b"Subject: %05d\n\nbody\n" % i)
            if AS_ROOT:
                os.chown(path, self.uid, self.gid)
        s, f = self.raw()
        s.sendall(b"USER joe@example.test\r\n")
        f.readline()
        t = time.time()
        s.sendall(b"PASS " + PASSWORD.encode() + b"\r\n")
        self.assertEqual(f.readline(), b"+OK maildrop has 10000 messages\r\n")
        elapsed = time.time() - t  # mostly authd's password hash
        t = time.time()
        s.sendall(b"STAT\r\nRETR 10000\r\nQUIT\r\n")
        self.assertEqual(f.readline(), b"+OK 10000 210000\r\n")
        self.assertEqual(f.readline(), b"+OK 21 octets\r\n")
        self.assertEqual(self.read_multi(f), [b"Subject: 09999\r\n", b"\r\n", b"body\r\n"])
        self.assertEqual(f.readline(), b"+OK bye\r\n")
        self.assertLess(elapsed, 2.0)
        self.assertLess(time.time() - t, 1.0)
        self.assertEqual(len(os.listdir(os.path.join(self.maildir, "new"))), 9999)

    def test_hostile_input(self):
        s, f = self.raw()
        s.sendall(b"X" * 5000 + b"\r\n")
        self.assertTrue(f.readline().startswith(b"-ERR"))
        s.sendall(b"US\0ER joe\r\nSTAT\r\nRETR 1\r\nDELE 1\r\nNOOP\r\nPASS x\r\nAUTH FOO\r\n"
                  b"USER\r\nQUIT now\r\nAUTH PLAIN !!!\r\n")
        for _ in range(10):
            self.assertTrue(f.readline().startswith(b"-ERR"))
        s.close()
        self.deliver(b"Subject: x\n\ny\n")
        s, f = self.raw_login()
        for cmd in (b"RETR", b"RETR 0", b"RETR 2", b"RETR -1", b"RETR 1 2", b"RETR +1",
                    b"RETR 99999999999999999999999", b"RETR 18446744073709551615",
                    b"TOP 1", b"TOP 1 x", b"LIST 0", b"DELE", b"STAT 1", b"USER joe",
                    b"STLS", b"AUTH PLAIN", b"R\0ETR 1", b"\xff\xfe", b"", b"LIST  1"):
            s.sendall(cmd + b"\r\n")
            line = f.readline()
            self.assertTrue(line.startswith(b"-ERR"), (cmd, line))
        s.close()
        s, f = self.raw_login()
        s.sendall(b"A" * 3000 + b"\r\nTOP 1 18446744073709551615\r\n")
        self.assertTrue(f.readline().startswith(b"-ERR"))
        line = f.readline()
        self.assertTrue(line.startswith(b"+OK"), line)
        self.assertEqual(self.read_multi(f), [b"Subject: x\r\n", b"\r\n", b"y\r\n"])
        # too many bad commands end the session; nothing is deleted
        s.sendall(b"DELE 1\r\n" + b"BAD\r\n" * 30)
        data = f.read()
        self.assertIn(b"too many bad commands", data)
        s.close()
        self.assertEqual(len(self.files()), 1)

    def test_commands_in_pieces(self):
        """Commands arriving one byte per segment, and bare-LF line ends, are answered
        like whole ones."""
        self.deliver(b"Subject: x\n\ny\n")
        s, f = self.raw()
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        for b in b"USER joe@example.test\r\nPASS " + PASSWORD.encode() + b"\r\nRETR 1\r\n":
            s.sendall(bytes([b]))
            time.sleep(0.002)
        self.assertEqual(f.readline(), b"+OK send PASS\r\n")
        self.assertTrue(f.readline().startswith(b"+OK maildrop has 1"), self.logtext())
        self.assertTrue(f.readline().startswith(b"+OK"))
        self.assertEqual(self.read_multi(f), [b"Subject: x\r\n", b"\r\n", b"y\r\n"])
        s.sendall(b"STAT\nQUIT\n")
        self.assertEqual(f.readline(), b"+OK 1 17\r\n")
        self.assertEqual(f.readline(), b"+OK bye\r\n")
        s.close()

    def test_auth_plain(self):
        self.deliver(b"Subject: x\n\ny\n")
        s, f = self.raw()
        s.sendall(b"AUTH\r\n")
        self.assertEqual(f.readline(), b"+OK\r\n")
        self.assertEqual(self.read_multi(f), [b"PLAIN\r\n", b"LOGIN\r\n"])
        s.sendall(b"AUTH CRAM-MD5\r\n")  # not enabled in authd
        self.assertTrue(f.readline().startswith(b"-ERR"))
        s.sendall(b"AUTH PLAIN\r\n")
        self.assertEqual(f.readline(), b"+ \r\n")
        s.sendall(b"*\r\n")
        self.assertTrue(f.readline().startswith(b"-ERR"))
        s.sendall(b"AUTH PLAIN " + sasl_plain("joe@example.test", "wrong").encode() + b"\r\n")
        self.assertTrue(f.readline().startswith(b"-ERR [AUTH]"))
        s.sendall(b"AUTH PLAIN\r\n")
        self.assertEqual(f.readline(), b"+ \r\n")
        s.sendall(sasl_plain("joe@example.test", PASSWORD).encode() + b"\r\n")
        self.assertTrue(f.readline().startswith(b"+OK maildrop has 1"), self.logtext())
        s.sendall(b"STAT\r\n")
        self.assertTrue(f.readline().startswith(b"+OK 1 "))
        s.close()

    def test_auth_login(self):
        self.deliver(b"Subject: x\n\ny\n")
        s, f = self.raw()
        b64 = lambda t: base64.b64encode(t.encode())  # noqa: E731
        s.sendall(b"AUTH LOGIN\r\n")
        self.assertEqual(f.readline(), b"+ VXNlcm5hbWU6\r\n")
        s.sendall(b64("joe@example.test") + b"\r\n")
        self.assertEqual(f.readline(), b"+ UGFzc3dvcmQ6\r\n")
        s.sendall(b64("wrong") + b"\r\n")
        self.assertTrue(f.readline().startswith(b"-ERR [AUTH]"))
        s.sendall(b"AUTH LOGIN " + b64("joe@example.test") + b"\r\n")
        self.assertEqual(f.readline(), b"+ UGFzc3dvcmQ6\r\n")
        s.sendall(b"!not base64\r\n")
        self.assertTrue(f.readline().startswith(b"-ERR"))
        s.sendall(b"AUTH LOGIN " + b64("joe@example.test") + b"\r\n")
        self.assertEqual(f.readline(), b"+ UGFzc3dvcmQ6\r\n")
        s.sendall(b64(PASSWORD) + b"\r\n")
        self.assertTrue(f.readline().startswith(b"+OK maildrop has 1"), self.logtext())
        s.close()
        self.assertNotIn(PASSWORD, self.logtext())

    def test_utf8(self):
        """RFC 6856: UTF8 before login, UTF-8 user names; invalid UTF-8 refused;
        UTF8 after login is an error (the messages go out as they are stored)."""
        self.deliver("Subject: caf\u00e9\n\nna\u00efve\n".encode())
        s, f = self.raw()
        s.sendall(b"UTF8\r\n")
        self.assertTrue(f.readline().startswith(b"+OK"))
        s.sendall("USER j\u00f6e@example.test\r\n".encode())
        self.assertEqual(f.readline(), b"+OK send PASS\r\n")
        s.sendall(b"PASS " + PASSWORD.encode() + b"\r\n")
        self.assertTrue(f.readline().startswith(b"-ERR [AUTH]"))
        for bad in (b"USER j\xc3e@example.test", b"USER \xed\xa0\x80x", b"USER \xc0\xaf"):
            s.sendall(bad + b"\r\n")
            self.assertEqual(f.readline(), b"-ERR bad user name\r\n", bad)
        s.sendall(b"USER joe@example.test\r\nPASS " + PASSWORD.encode() + b"\r\n")
        self.assertEqual(f.readline(), b"+OK send PASS\r\n")
        self.assertTrue(f.readline().startswith(b"+OK maildrop has 1"), self.logtext())
        s.sendall(b"UTF8\r\nRETR 1\r\nQUIT\r\n")
        self.assertTrue(f.readline().startswith(b"-ERR"))
        self.assertTrue(f.readline().startswith(b"+OK"))
        self.assertEqual(self.read_multi(f), ["Subject: caf\u00e9\r\n".encode(), b"\r\n",
                                              "na\u00efve\r\n".encode()])
        self.assertEqual(f.readline(), b"+OK bye\r\n")
        s.close()

    def test_failed_login_is_delayed_and_limited(self):
        p = self.pop(login=False)
        p.user("joe@example.test")
        t = time.time()
        with self.assertRaises(poplib.error_proto) as cm:
            p.pass_("wrong")
        self.assertGreaterEqual(time.time() - t, FAIL_DELAY * 0.9)
        self.assertIn(b"[AUTH]", cm.exception.args[0])
        p.user("nobody@example.test")
        with self.assertRaises(poplib.error_proto):
            p.pass_("wrong")
        p.user("joe@example.test")
        with self.assertRaises(poplib.error_proto):
            p.pass_("wrong")
        self.assertEqual(p.file.read(), b"-ERR too many failures\r\n")

    def test_uid0_account_refused(self):
        s, f = self.raw()
        s.sendall(b"USER rooty@example.test\r\nPASS " + PASSWORD.encode() + b"\r\n")
        self.assertEqual(f.readline(), b"+OK send PASS\r\n")
        self.assertTrue(f.readline().startswith(b"-ERR [SYS/TEMP]"))
        self.assertEqual(f.read(), b"")
        self.assertIn("uid or gid 0", self.logtext())

    def test_stls_and_implicit_tls(self):
        if not HAVE_OPENSSL:
            self.skipTest("no openssl command")
        self.deliver(b"Subject: tls\n\nsecret\n")
        ctx = ssl.create_default_context(cafile=self.cert + ".crt")
        ctx.check_hostname = False  # CN=localhost, reached as 127.0.0.1; the chain is verified
        p = self.pop(login=False)
        p.stls(ctx)
        self.assertNotIn("STLS", p.capa())
        p.user("joe@example.test")
        p.pass_(PASSWORD)
        self.assertEqual(p.retr(1)[1], [b"Subject: tls", b"", b"secret"])
        p.quit()
        p = poplib.POP3_SSL("127.0.0.1", self.tls_port, context=ctx, timeout=10)
        p.user("joe@example.test")
        p.pass_(PASSWORD)
        self.assertEqual(p.stat()[0], 1)
        p.dele(1)
        p.quit()
        self.assertEqual(self.files(), [])
        # plaintext pipelined after STLS is refused
        s, f = self.raw()
        s.sendall(b"STLS\r\nCAPA\r\n")
        self.assertTrue(f.readline().startswith(b"-ERR"))
        s.close()

    def test_processes_run_as_net_and_account(self):
        if not AS_ROOT:
            self.skipTest("needs root")
        self.deliver(b"Subject: x\n\ny\n")
        s, f = self.raw()
        login = self.procs_named("pop3-login")
        self.assertTrue(login)
        self.assertEqual({u for u, _ in login}, {self.net_uid})
        s.sendall(b"USER joe@example.test\r\nPASS " + PASSWORD.encode() + b"\r\n")
        f.readline()
        self.assertTrue(f.readline().startswith(b"+OK"))
        mail = self.procs_named("pop3d")
        self.assertEqual(len(mail), 1)
        uid, groups = mail[0]
        self.assertEqual(uid, self.uid)
        self.assertEqual(groups, [str(self.gid)])
        self.assertEqual(self.procs_named("pop3-login"), [])
        s.close()

    def procs_named(self, name):
        """(uid, supplementary groups) of this instance's processes running name."""
        exe = os.path.join(self.libexec, name)
        found = []
        deadline = time.time() + 5
        for pid in filter(str.isdigit, os.listdir("/proc")):
            try:
                if os.readlink(f"/proc/{pid}/exe") != exe:
                    continue
                with open(f"/proc/{pid}/status") as st:
                    fields = dict(line.split(":", 1) for line in st if ":" in line)
            except OSError:
                continue
            uids = fields["Uid"].split()
            self.assertEqual(len(set(uids)), 1, uids)
            found.append((int(uids[0]), fields["Groups"].split()))
        return found


class FetchmailTest(Pop3Instance):
    """Debian's fetchmail downloads a maildrop of 1,000 messages byte-exactly."""

    def test_fetchmail_byte_exact(self):
        if shutil.which("fetchmail") is None:
            self.skipTest("fetchmail is not installed")
        originals = {}
        for i in range(1000):
            body = b"".join(b"%s line %d of %d\n" % (b"." * (j % 3), j, i) for j in range(i % 40))
            data = (b"From: a%d@example.test\nTo: joe@example.test\nSubject: m %d\n\n" % (i, i)
                    + body + (b"\xc3\xa9 8bit\n" if i % 7 == 0 else b""))
            originals[b"Subject: m %d" % i] = data
            self.deliver(data)
        out = os.path.join(self.tmp, "fetched")
        os.mkdir(out)
        mda = f"cat > $(mktemp -p {out})"  # fetchmail runs its MDA through /bin/sh
        rc = os.path.join(self.tmp, "fetchmailrc")
        with open(rc, "w") as f:
            f.write(f'poll 127.0.0.1 port {self.port} protocol pop3 auth password\n'
                    f'  user "joe@example.test" password "{PASSWORD}"\n'
                    f'  sslproto "" fetchall nokeep norewrite mda "{mda}"\n')
        os.chmod(rc, 0o600)
        r = subprocess.run(["fetchmail", "-f", rc, "--invisible", "--nosyslog", "-v"],
                           capture_output=True, timeout=300,
                           env=dict(os.environ, HOME=self.tmp, FETCHMAILHOME=self.tmp))
        self.assertIn(r.returncode, (0,), r.stdout[-3000:] + r.stderr[-3000:])
        got = {}
        for name in os.listdir(out):
            with open(os.path.join(out, name), "rb") as f:
                data = f.read()
            subject = [ln for ln in data.split(b"\n") if ln.startswith(b"Subject: m ")][0]
            got[subject] = data
        self.assertEqual(len(got), 1000)
        for subject, data in originals.items():
            self.assertEqual(got[subject], data, subject)
        self.assertEqual(self.files(), [])  # fetched and deleted at QUIT


class AuthExecTest(Pop3Instance):
    """auth-exec run directly with tickets made here from the instance's key."""

    def key(self):
        with open(os.path.join(self.etc, "authd.key")) as f:
            return bytes.fromhex(f.read().strip())

    def ticket(self, service="pop3", uid=None, gid=None, expires=None, home=None, key=None):
        uid = self.uid if uid is None else uid
        gid = self.gid if gid is None else gid
        expires = int(time.time()) + 30 if expires is None else expires
        line = (f"service={service} address=joe@example.test uid={uid} gid={gid} "
                f"home={encode(home or self.home)} maildir={encode(self.maildir)} quota= "
                f"options= expires={expires}")
        mac = hmac.new(key or self.key(), line.encode(), hashlib.sha256).hexdigest()
        return f"{line} mac={mac}"

    def run_auth_exec(self, ticket, service="pop3"):
        env = {"ESTAFETTE_TICKET": ticket, "ESTAFETTE_LOG": "stderr",
               "ESTAFETTE_LOGIN_FAIL": "-ERR [SYS/TEMP] refused", "LD_PRELOAD": "/nonexistent",
               "ESTAFETTE_ROOT": "/nonexistent" if AS_ROOT else self.root}
        kw = {}
        if AS_ROOT:
            kw = dict(user="estafette-net", group="estafette-net", extra_groups=[])
        return subprocess.run([os.path.join(self.libexec, "auth-exec"), service], env=env,
                              input=b"QUIT\r\n", capture_output=True, timeout=20, **kw)

    def test_valid_ticket_runs_pop3d(self):
        r = self.run_auth_exec(self.ticket())
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stdout, b"+OK maildrop has 0 messages\r\n+OK bye\r\n")

    def test_forged_and_expired_tickets_refused(self):
        good = self.ticket()
        cases = [good[:-1] + ("0" if good[-1] != "0" else "1"),      # wrong MAC
                 self.ticket(key=b"x" * 32),                          # wrong key
                 good.replace(f"uid={self.uid}", "uid=0"),          # altered field
                 self.ticket(expires=int(time.time()) - 1),           # expired
                 self.ticket(expires=int(time.time()) + 3600),        # too far ahead
                 self.ticket(service="imap"),                         # other service
                 self.ticket(uid=0, gid=0),                           # root
                 self.ticket(uid=self.uid, gid=0),
                 "", "garbage", good + " extra"]
        for t in cases:
            r = self.run_auth_exec(t)
            self.assertEqual(r.returncode, 77, (t, r.stderr))
            self.assertEqual(r.stdout, b"-ERR [SYS/TEMP] refused\r\n")
        r = self.run_auth_exec(good, service="/bin/sh")
        self.assertEqual(r.returncode, 64)
        r = self.run_auth_exec(self.ticket(service="smtp"), service="smtp")
        self.assertEqual(r.returncode, 64)

    def test_not_setid_only_runs_as_itself(self):
        if AS_ROOT:
            mode = os.stat(os.path.join(self.libexec, "auth-exec")).st_mode
            self.assertEqual(mode & 0o7777, 0o4750)
            self.skipTest("checked as an ordinary user")
        r = self.run_auth_exec(self.ticket(uid=os.getuid() + 1))
        self.assertEqual(r.returncode, 77, r.stderr)
