"""imap-login, auth-exec and imapd: an installed instance with authd and listeners on
loopback (plain and implicit TLS), an account made with userdb(8), spoken to with
imaplib and raw sockets (imapd(8), auth-exec(8))."""

import base64
import imaplib
import os
import pwd
import shutil
import socket
import ssl
import subprocess
import time
import unittest

from harness import TOP, BUILD_DIR, TempDirTestCase, sasl_plain
from test_listener import free_port

AS_ROOT = os.geteuid() == 0
PASSWORD = "s3cret pass"
HAVE_OPENSSL = shutil.which("openssl") is not None
MESSAGE = b"From: a@b.c\nSubject: hi\n\nbody\n"


def built(name):
    return os.path.exists(os.path.join(BUILD_DIR, "bin", name))


@unittest.skipUnless(built("imap-login") and built("auth-exec"),
                     "imap-login or auth-exec not built")
class ImapLoginTest(TempDirTestCase):
    def setUp(self):
        super().setUp()
        self.root = os.path.join(self.tmp, "inst")
        r = subprocess.run([os.path.join(TOP, "scripts", "install-tree"), "--prefix", self.root,
                            "--build", BUILD_DIR] + (["--create-users"] if AS_ROOT else []),
                           capture_output=True, text=True)
        self.assertEqual(r.returncode, 0, r.stderr)
        if not os.path.exists(os.path.join(self.root, "libexec", "estafette", "imap-login")):
            shutil.rmtree(self.tmp, ignore_errors=True)  # no tearDown after a skip in setUp
            self.skipTest("imap-login is not in scripts/manifest")
        self.env = dict(os.environ, ESTAFETTE_ROOT=self.root, ESTAFETTE_LOG="stderr")
        self.etc = os.path.join(self.root, "etc", "estafette")
        self.libexec = os.path.join(self.root, "libexec", "estafette")
        if AS_ROOT:
            pw = pwd.getpwnam("estafette-mail")
            self.uid, self.gid = pw.pw_uid, pw.pw_gid
        else:
            self.uid, self.gid = os.getuid(), os.getgid()
        with open(os.path.join(self.etc, "authd.conf"), "w") as f:
            f.write("fail_delay_ms = 200\nmax_user_failures = 50\n")
        self.home = os.path.join(self.tmp, "home", "joe")
        self.maildir = os.path.join(self.home, "Maildir")
        for d in ("tmp", "new", "cur"):
            os.makedirs(os.path.join(self.maildir, d))
        with open(os.path.join(self.maildir, "new", "1.M1P1.test"), "wb") as f:
            f.write(MESSAGE)
        if AS_ROOT:
            for dirpath, _, files in os.walk(self.home):
                os.chown(dirpath, self.uid, self.gid)
                for n in files:
                    os.chown(os.path.join(dirpath, n), self.uid, self.gid)
        self.userdb("joe@example.test", "set", f"uid={self.uid}", f"gid={self.gid}",
                    f"home={self.home}", f"mail={self.maildir}")
        self.userdb("joe@example.test", "passwd", stdin=PASSWORD + "\n")
        self.userdb("compile")
        self.procs = []
        self.logpath = os.path.join(self.tmp, "log")
        self.log = open(self.logpath, "ab")
        self.start_authd()
        if HAVE_OPENSSL:
            self.make_cert()
        self.port = self.start_listener([])
        self.tls_port = self.start_listener(["--implicit-tls"])

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

    def userdb(self, *args, stdin=None):
        r = subprocess.run([os.path.join(self.root, "sbin", "userdb")] + list(args), input=stdin,
                           capture_output=True, text=True, env=self.env, timeout=30)
        self.assertEqual(r.returncode, 0, r.stderr)

    def make_cert(self):
        cert = os.path.join(self.etc, "imapd.pem")
        r = subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes",
                            "-subj", "/CN=localhost", "-days", "2", "-keyout", cert,
                            "-out", cert + ".crt"], capture_output=True, timeout=60)
        self.assertEqual(r.returncode, 0, r.stderr)
        with open(cert, "ab") as f, open(cert + ".crt", "rb") as c:
            f.write(c.read())
        if AS_ROOT:
            os.chown(cert, 0, pwd.getpwnam("estafette-net").pw_gid)
        os.chmod(cert, 0o640)

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

    def start_listener(self, args):
        port = free_port()
        p = subprocess.Popen([os.path.join(self.libexec, "listener"), "-a", "127.0.0.1", "-p",
                              str(port), "--", os.path.join(self.libexec, "imap-login")] + args,
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

    def check_mail_session(self, c):
        typ, data = c.select("INBOX")
        self.assertEqual((typ, data), ("OK", [b"1"]), self.logtext())
        typ, data = c.fetch("1", "(BODY.PEEK[])")
        self.assertEqual(data[0][1], MESSAGE.replace(b"\n", b"\r\n"))
        self.assertEqual(c.logout()[0], "BYE")

    def test_login_then_mail_stage(self):
        c = imaplib.IMAP4("127.0.0.1", self.port, timeout=10)
        self.assertEqual(c.state, "NONAUTH")
        self.assertIn("AUTH=PLAIN", c.capabilities)
        self.assertIn("SASL-IR", c.capabilities)
        typ, data = c.login("joe@example.test", PASSWORD)
        self.assertEqual(typ, "OK", self.logtext())
        self.assertIn(b"[CAPABILITY IMAP4rev1", data[0])
        self.check_mail_session(c)

    def run_login_stage(self, program, remote_ip, script):
        """A login stage on pipes, as if its client were remote_ip (TCPREMOTEIP)."""
        env = dict(self.env, TCPREMOTEIP=remote_ip)
        kw = {"user": "estafette-net"} if AS_ROOT else {}
        r = subprocess.run([os.path.join(self.libexec, program)], input=script, env=env,
                           capture_output=True, timeout=30, **kw)
        return r.stdout.decode(errors="replace")

    def test_plaintext_only_from_loopback_by_default(self):
        login = b"a CAPABILITY\r\nb LOGIN joe@example.test \"" + PASSWORD.encode() + b"\"\r\n"
        out = self.run_login_stage("imap-login", "192.0.2.7", login + b"c LOGOUT\r\n")
        self.assertIn("LOGINDISABLED", out)
        self.assertNotIn("AUTH=PLAIN", out)
        self.assertIn("b NO [PRIVACYREQUIRED]", out)
        out = self.run_login_stage("pop3-login", "2001:db8::7",
                                   b"USER joe@example.test\r\nQUIT\r\n")
        self.assertIn("-ERR [AUTH]", out)
        # a loopback client may, and so may anyone with plaintext_auth = yes
        out = self.run_login_stage("imap-login", "::ffff:127.0.0.1", b"a CAPABILITY\r\nz LOGOUT\r\n")
        self.assertIn("AUTH=PLAIN", out)
        with open(os.path.join(self.etc, "imapd.conf"), "a") as f:
            f.write("plaintext_auth = yes\n")
        out = self.run_login_stage("imap-login", "192.0.2.7", b"a CAPABILITY\r\nz LOGOUT\r\n")
        self.assertIn("AUTH=PLAIN", out)
        with open(os.path.join(self.etc, "imapd.conf"), "a") as f:
            f.write("plaintext_auth = sometimes\n")
        r = subprocess.run([os.path.join(self.libexec, "imap-login")], input=b"",
                           env=self.env, capture_output=True, timeout=30,
                           **({"user": "estafette-net"} if AS_ROOT else {}))
        self.assertEqual(r.returncode, 78, r.stderr)  # EX_CONFIG
        self.assertIn(b"plaintext_auth", r.stderr)

    def test_max_user_sessions(self):
        with open(os.path.join(self.etc, "imapd.conf"), "a") as f:
            f.write("max_user_sessions = 2\n")
        held = []
        for _ in range(2):
            c = imaplib.IMAP4("127.0.0.1", self.port, timeout=10)
            self.assertEqual(c.login("joe@example.test", PASSWORD)[0], "OK", self.logtext())
            held.append(c)
        third = imaplib.IMAP4("127.0.0.1", self.port, timeout=10)
        with self.assertRaises(imaplib.IMAP4.error) as cm:
            third.login("joe@example.test", PASSWORD)
        self.assertIn("[LIMIT]", str(cm.exception))
        held.pop().logout()  # a slot comes free when its session ends
        deadline = time.time() + 5
        while True:
            c = imaplib.IMAP4("127.0.0.1", self.port, timeout=10)
            try:
                self.assertEqual(c.login("joe@example.test", PASSWORD)[0], "OK")
                break
            except imaplib.IMAP4.error:
                self.assertLess(time.time(), deadline, "slot not freed")
                time.sleep(0.1)
        self.check_mail_session(c)
        held[0].logout()

    def test_cram_md5_and_scram_when_authd_offers_them(self):
        from test_authd_sasl import ScramClient
        authd = self.procs[0]
        authd.terminate()
        authd.wait(timeout=10)
        sock = os.path.join(self.root, "var", "run", "estafette", "authd", "socket")
        if os.path.exists(sock):
            os.unlink(sock)
        with open(os.path.join(self.etc, "authd.conf"), "a") as f:
            f.write("mechanisms = PLAIN LOGIN CRAM-MD5 SCRAM-SHA-256\n")
        self.userdb("joe@example.test", "passwd", "-s", "-c", stdin=PASSWORD + "\n")
        self.userdb("compile")
        self.start_authd()
        c = imaplib.IMAP4("127.0.0.1", self.port, timeout=10)
        for m in ("AUTH=PLAIN", "AUTH=LOGIN", "AUTH=CRAM-MD5", "AUTH=SCRAM-SHA-256"):
            self.assertIn(m, c.capabilities)
        typ, _ = c.login_cram_md5("joe@example.test", PASSWORD)
        self.assertEqual(typ, "OK", self.logtext())
        c.logout()
        cl = ScramClient("joe@example.test", PASSWORD)
        s = socket.create_connection(("127.0.0.1", self.port), timeout=10)
        f = s.makefile("rb")
        f.readline()
        s.sendall(b"a AUTHENTICATE SCRAM-SHA-256 " + base64.b64encode(cl.first()) + b"\r\n")
        line = f.readline()
        self.assertTrue(line.startswith(b"+ "), line)
        s.sendall(base64.b64encode(cl.final(base64.b64decode(line[2:].strip()))) + b"\r\n")
        line = f.readline()
        self.assertEqual(base64.b64decode(line[2:].strip()), cl.expect)  # server's proof
        s.sendall(b"\r\n")
        self.assertTrue(f.readline().startswith(b"a OK"), self.logtext())
        s.close()

    def test_authenticate_plain_with_and_without_initial_response(self):
        tok = sasl_plain("joe@example.test", PASSWORD).encode()
        s = socket.create_connection(("127.0.0.1", self.port), timeout=10)
        f = s.makefile("rb")
        self.assertTrue(f.readline().startswith(b"* OK [CAPABILITY"))
        s.sendall(b"a AUTHENTICATE PLAIN\r\n")
        self.assertEqual(f.readline(), b"+ \r\n")
        s.sendall(b"*\r\n")
        self.assertEqual(f.readline(), b"a BAD Authentication cancelled\r\n")
        s.sendall(b"b AUTHENTICATE PLAIN " + sasl_plain("joe@example.test", "wrong").encode() +
                  b"\r\n")
        self.assertTrue(f.readline().startswith(b"b NO [AUTHENTICATIONFAILED]"))
        s.sendall(b"c AUTHENTICATE PLAIN " + tok + b"\r\n")
        self.assertTrue(f.readline().startswith(b"c OK [CAPABILITY"), self.logtext())
        s.sendall(b"d NOOP\r\n")
        self.assertEqual(f.readline(), b"d OK NOOP completed\r\n")
        s.close()

    def test_authenticate_login_with_and_without_initial_response(self):
        b64 = lambda t: base64.b64encode(t.encode())
        s = socket.create_connection(("127.0.0.1", self.port), timeout=10)
        f = s.makefile("rb")
        self.assertIn(b"AUTH=LOGIN", f.readline())
        s.sendall(b"a AUTHENTICATE LOGIN\r\n")
        self.assertEqual(f.readline(), b"+ VXNlcm5hbWU6\r\n")
        s.sendall(b"*\r\n")
        self.assertEqual(f.readline(), b"a BAD Authentication cancelled\r\n")
        s.sendall(b"b AUTHENTICATE LOGIN\r\n")
        self.assertEqual(f.readline(), b"+ VXNlcm5hbWU6\r\n")
        s.sendall(b"not base64!\r\n")
        self.assertEqual(f.readline(), b"b BAD Invalid authentication data\r\n")
        s.sendall(b"c AUTHENTICATE LOGIN " + b64("joe@example.test") + b"\r\n")
        self.assertEqual(f.readline(), b"+ UGFzc3dvcmQ6\r\n")
        s.sendall(b64("wrong") + b"\r\n")
        self.assertTrue(f.readline().startswith(b"c NO [AUTHENTICATIONFAILED]"))
        s.sendall(b"d AUTHENTICATE LOGIN\r\n")
        self.assertEqual(f.readline(), b"+ VXNlcm5hbWU6\r\n")
        s.sendall(b64("joe@example.test") + b"\r\n")
        self.assertEqual(f.readline(), b"+ UGFzc3dvcmQ6\r\n")
        s.sendall(b64(PASSWORD) + b"\r\n")
        self.assertTrue(f.readline().startswith(b"d OK [CAPABILITY"), self.logtext())
        s.sendall(b"e NOOP\r\n")
        self.assertEqual(f.readline(), b"e OK NOOP completed\r\n")
        s.close()

    def test_literals_and_hostile_input_before_login(self):
        s = socket.create_connection(("127.0.0.1", self.port), timeout=10)
        f = s.makefile("rb")
        f.readline()
        s.sendall(b"a LOGIN {999999}\r\n")
        self.assertTrue(f.readline().startswith(b"a NO [TOOBIG]"))
        s.sendall(b"b SELECT INBOX\r\n")
        self.assertTrue(f.readline().startswith(b"b BAD"))
        s.sendall(b"c LOGIN \"joe@example.test\" {%d}\r\n" % len(PASSWORD))
        self.assertTrue(f.readline().startswith(b"+ "))
        s.sendall(PASSWORD.encode() + b"\r\n")
        self.assertTrue(f.readline().startswith(b"c OK"), self.logtext())
        s.close()

    def test_starttls_and_implicit_tls(self):
        if not HAVE_OPENSSL:
            self.skipTest("no openssl to make a certificate")
        ctx = ssl.create_default_context()
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        c = imaplib.IMAP4("127.0.0.1", self.port, timeout=10)
        self.assertIn("STARTTLS", c.capabilities)
        self.assertEqual(c.starttls(ssl_context=ctx)[0], "OK")
        self.assertEqual(c.login("joe@example.test", PASSWORD)[0], "OK", self.logtext())
        self.check_mail_session(c)
        c = imaplib.IMAP4_SSL("127.0.0.1", self.tls_port, ssl_context=ctx, timeout=10)
        self.assertNotIn("STARTTLS", c.capabilities)
        self.assertEqual(c.login("joe@example.test", PASSWORD)[0], "OK", self.logtext())
        self.check_mail_session(c)
