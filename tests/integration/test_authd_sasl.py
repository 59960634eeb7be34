"""authd's SASL exchanges (authd(8): MECHS, SASL, STEP): SCRAM-SHA-256 and CRAM-MD5
against clients written here from RFC 5802 and RFC 2195 (hashlib, hmac), PLAIN and
LOGIN, secrets written by userdb passwd -s -c and userdbpw, Dovecot's stored forms,
and hostile exchanges: bad base64, a wrong nonce, a wrong or replayed proof, over-long
data, steps without an exchange, a cancel, mechanisms that are not enabled."""

import base64
import hashlib
import hmac
import os
import socket
import subprocess

from harness import TOP, BUILD_DIR, TempDirTestCase
import test_authd

A = test_authd.AuthdTest
PW = "Joe-s3cret pass"
# doveadm pw -s SCRAM-SHA-256 -p pencil / -s CRAM-MD5 -p pencil
DOVE_SCRAM = ("{SCRAM-SHA-256}4096,D6mu1hHpc/A/fZzz2VH8iQ==,"
              "Bgx2THz7Yq2FtZAkCDvGmvvDZTmQcIYLmVolBSRh7gc=,"
              "n/viYq410kisuh6Wsnd3G2m0N7JTGSZKu+LFZnbegGg=")
DOVE_CRAM = "{CRAM-MD5}7f47ace0e2af8f6cdeb72c03243a8c87834e19104164d6a42de72d243adb4080"
ALL_MECHS = "PLAIN LOGIN CRAM-MD5 SCRAM-SHA-256"


def b64(data):
    return base64.b64encode(data).decode() if data else "="


def unb64(text):
    return b"" if text == "=" else base64.b64decode(text, validate=True)


class Conn:
    """One connection to authd, several request lines."""

    def __init__(self, path):
        self.s = socket.socket(socket.AF_UNIX)
        self.s.settimeout(10)
        self.s.connect(path)
        self.buf = b""

    def ask(self, line):
        self.s.sendall(line.encode() + b"\n")
        return self.read()

    def read(self):
        while b"\n" not in self.buf:
            chunk = self.s.recv(65536)
            if not chunk:
                return ""
            self.buf += chunk
        line, self.buf = self.buf.split(b"\n", 1)
        return line.decode()

    def close(self):
        self.s.close()


class ScramClient:
    """SCRAM-SHA-256 client side, RFC 5802 section 3."""

    def __init__(self, user, password, nonce=None):
        self.user, self.password = user, password
        self.cnonce = nonce or base64.b64encode(os.urandom(18)).decode()
        name = user.replace("=", "=3D").replace(",", "=2C")
        self.bare = f"n={name},r={self.cnonce}"

    def first(self):
        return ("n,," + self.bare).encode()

    def final(self, server_first, nonce=None):
        attrs = dict(a.split("=", 1) for a in server_first.decode().split(","))
        self.server_first = server_first.decode()
        salt, iters, nonce = base64.b64decode(attrs["s"]), int(attrs["i"]), nonce or attrs["r"]
        salted = hashlib.pbkdf2_hmac("sha256", self.password.encode(), salt, iters)
        ckey = hmac.new(salted, b"Client Key", "sha256").digest()
        stored = hashlib.sha256(ckey).digest()
        without = f"c=biws,r={nonce}"
        am = f"{self.bare},{self.server_first},{without}".encode()
        sig = hmac.new(stored, am, "sha256").digest()
        proof = bytes(a ^ b for a, b in zip(ckey, sig))
        skey = hmac.new(salted, b"Server Key", "sha256").digest()
        self.expect = b"v=" + base64.b64encode(hmac.new(skey, am, "sha256").digest())
        return f"{without},p={base64.b64encode(proof).decode()}".encode()


def cram_response(user, password, challenge):
    return f"{user} {hmac.new(password.encode(), challenge, 'md5').hexdigest()}".encode()


class SaslTest(TempDirTestCase):
    def setUp(self):
        super().setUp()
        self.root = os.path.join(self.tmp, "inst")
        argv = [os.path.join(TOP, "scripts", "install-tree"), "--prefix", self.root,
                "--build", BUILD_DIR]
        if os.geteuid() == 0:
            argv.append("--create-users")
        r = subprocess.run(argv, capture_output=True, text=True)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.env = dict(os.environ, ESTAFETTE_ROOT=self.root, ESTAFETTE_LOG="stderr")
        self.etc = os.path.join(self.root, "etc", "estafette")
        self.sock = os.path.join(self.root, "var", "run", "estafette", "authd", "socket")
        self.write_conf("fail_delay_ms = 100\n")
        self.add("joe@example.test", "uid=1000", "gid=1000", "home=/home/joe",
                 "options=disable-pop3")
        self.add("Ann@example.test", "uid=1001", "gid=1001", "home=/home/ann")
        self.add("limited@example.test", "uid=1002", "gid=1002", "home=/home/l")
        self.userdb("compile")
        self.proc = None
        self.start()

    def tearDown(self):
        self.stop()
        super().tearDown()

    write_conf, userdb, add, start, try_connect, stop, logtext, request, fields = (
        A.write_conf, A.userdb, A.add, A.start, A.try_connect, A.stop, A.logtext, A.request,
        A.fields)

    def restart(self, conf):
        self.stop()
        self.write_conf(conf)
        self.start()

    def enable(self, mechs=ALL_MECHS):
        self.restart(f"fail_delay_ms = 100\nmax_user_failures = 5\nmechanisms = {mechs}\n")

    def scram(self, user, password, conn=None, service="imap"):
        """A whole SCRAM exchange: (final reply, client, conn)."""
        c = conn or Conn(self.sock)
        cl = ScramClient(user, password)
        r = c.ask(f"SASL {service} SCRAM-SHA-256 127.0.0.1 {b64(cl.first())}")
        self.assertTrue(r.startswith("CONT "), r)
        r = c.ask("STEP " + b64(cl.final(unb64(r[5:]))))
        if r.startswith("CONT "):
            self.assertEqual(unb64(r[5:]), cl.expect)  # the server proves it knows the keys
            r = c.ask("STEP =")
        return r, cl, c

    def test_userdb_passwd_needs_the_old_password_then_is_refused(self):
        # authd cannot rewrite the userdb file (userdb(8) does)
        r = self.request(f"PASSWD imap joe@example.test {b64(b'wrong')} {b64(b'new pw')}")
        self.assertEqual(r, "NO authentication%20failed\n")
        r = self.request(f"PASSWD imap joe@example.test {b64(PW.encode())} {b64(b'new pw')}")
        self.assertTrue(r.startswith("NO "), r)
        self.assertIn("cannot%20change%20passwords", r)
        plain = b64(b"\0joe@example.test\0" + PW.encode())
        r = self.request(f"AUTH imap PLAIN - {plain}")
        self.assertTrue(r.startswith("OK "), r)

    # -- the clients themselves ------------------------------------------------

    def test_clients_reproduce_the_rfc_examples(self):
        cl = ScramClient("user", "pencil", nonce="rOprNGfwEbeRWgbNEkqO")
        self.assertEqual(cl.first(), b"n,,n=user,r=rOprNGfwEbeRWgbNEkqO")
        final = cl.final(b"r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,"
                         b"s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096")
        self.assertEqual(final, b"c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,"
                                b"p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=")  # RFC 7677
        self.assertEqual(cram_response("tim", "tanstaaftanstaaf",
                                       b"<1896.697170952@postoffice.reston.mci.net>"),
                         b"tim b913a602c7eda7a495b4e6e7334d3890")  # RFC 2195

    # -- mechanisms -------------------------------------------------------------

    def test_mechs_default_and_configured(self):
        self.assertEqual(self.request("MECHS imap"), "OK mechs=PLAIN,LOGIN\n")
        r = self.request(f"SASL imap SCRAM-SHA-256 - {b64(b'n,,n=joe,r=abc')}")
        self.assertTrue(r.startswith("NO "), r)
        self.enable()
        self.assertEqual(self.request("MECHS smtp"),
                         "OK mechs=PLAIN,LOGIN,CRAM-MD5,SCRAM-SHA-256\n")

    def test_unknown_mechanism_in_config_is_refused(self):
        self.stop()
        self.write_conf("mechanisms = PLAIN NTLM\n")
        r = subprocess.run([os.path.join(self.root, "libexec", "estafette", "authd")],
                           env=self.env, capture_output=True, text=True, timeout=20)
        self.assertEqual(r.returncode, 78, r.stderr)
        self.assertIn("NTLM", r.stderr)
        self.proc = None

    # -- SCRAM-SHA-256 ----------------------------------------------------------

    def test_scram_with_userdb_passwd_keys(self):
        self.userdb("joe@example.test", "passwd", "-s", stdin=PW + "\n")
        self.userdb("compile")
        self.enable()
        r, cl, c = self.scram("joe@example.test", PW)
        f = self.fields(r)
        self.assertEqual(f["address"], "joe@example.test")
        self.assertEqual(f["uid"], "1000")
        self.assertIn("ticket", f)
        c.close()
        r, _, c = self.scram("joe@example.test", PW + "x")
        self.assertTrue(r.startswith("NO "), r)
        c.close()
        log = self.logtext()
        self.assertIn("auth ok service=imap user=joe@example.test", log)
        self.assertIn("reason=badpass", log)
        self.assertNotIn(PW, log)

    def test_userdbpw_secrets_and_stale_secrets_removed(self):
        def userdbpw(opt, pw):
            r = subprocess.run([os.path.join(self.root, "sbin", "userdbpw"), opt], input=pw + "\n",
                               capture_output=True, text=True, timeout=30)
            self.assertEqual(r.returncode, 0, r.stderr)
            return r.stdout.strip()
        scram, cram = userdbpw("-s", "pencil 2"), userdbpw("-c", "pencil 2")
        self.assertRegex(scram, r"^\{SCRAM-SHA-256\}10000:[A-Za-z0-9+/=]{24}\$[A-Za-z0-9+/=]{44}:"
                                r"[A-Za-z0-9+/=]{44}$")
        self.assertRegex(cram, r"^\{CRAM-MD5\}[0-9a-f]{64}$")
        self.userdb("Ann@example.test", "set", "scram-sha-256pw=" + scram, "cram-md5pw=" + cram)
        self.userdb("compile")
        self.enable()
        self.assertTrue(self.scram("Ann@example.test", "pencil 2")[0].startswith("OK "))
        self.assertTrue(self.cram("Ann@example.test", "pencil 2").startswith("OK "))
        # a new password without -s -c drops the old secrets: they would let the old one in
        self.userdb("Ann@example.test", "passwd", stdin="other pw\n")
        self.userdb("compile")
        self.assertTrue(self.scram("Ann@example.test", "pencil 2")[0].startswith("NO "))
        self.assertTrue(self.cram("Ann@example.test", "pencil 2").startswith("NO "))
        with open(os.path.join(self.etc, "userdb")) as f:
            self.assertNotIn("scram-sha-256pw", f.read())

    def test_scram_dovecot_form_and_disabled_service(self):
        self.userdb("joe@example.test", "set", "scram-sha-256pw=" + DOVE_SCRAM)
        self.userdb("compile")
        self.enable()
        r, _, c = self.scram("joe@example.test", "pencil")
        self.assertTrue(r.startswith("OK "), r)
        c.close()
        r, _, c = self.scram("joe@example.test", "pencil", service="pop3")  # disable-pop3
        self.assertTrue(r.startswith("NO "), r)
        self.assertIn("disabled", r)
        c.close()

    def test_scram_unknown_user_looks_like_a_real_one(self):
        self.enable()
        firsts = []
        for _ in range(2):
            c = Conn(self.sock)
            cl = ScramClient("nobody@example.test", "x")
            r = c.ask(f"SASL imap SCRAM-SHA-256 - {b64(cl.first())}")
            self.assertTrue(r.startswith("CONT "), r)
            attrs = dict(a.split("=", 1) for a in unb64(r[5:]).decode().split(","))
            firsts.append((attrs["s"], attrs["i"]))
            self.assertTrue(attrs["r"].startswith(cl.cnonce) and len(attrs["r"]) > len(cl.cnonce))
            r = c.ask("STEP " + b64(cl.final(unb64(r[5:]))))
            self.assertTrue(r.startswith("NO "), r)
            c.close()
        self.assertEqual(firsts[0], firsts[1])  # a stable salt, as a real account has
        self.assertIn("reason=nouser", self.logtext())

    def test_scram_replayed_proof_and_wrong_nonce(self):
        self.userdb("joe@example.test", "passwd", "-s", stdin=PW + "\n")
        self.userdb("compile")
        self.enable()
        c = Conn(self.sock)
        cl = ScramClient("joe@example.test", PW, nonce="fixedclientnonce")
        r = c.ask(f"SASL imap SCRAM-SHA-256 - {b64(cl.first())}")
        final = cl.final(unb64(r[5:]))
        self.assertTrue(c.ask("STEP " + b64(final)).startswith("CONT "))
        self.assertTrue(c.ask("STEP =").startswith("OK "))
        c.close()
        # the same client nonce and the recorded proof, in a new exchange
        c = Conn(self.sock)
        r = c.ask(f"SASL imap SCRAM-SHA-256 - {b64(cl.first())}")
        self.assertTrue(r.startswith("CONT "), r)
        self.assertTrue(c.ask("STEP " + b64(final)).startswith("NO "))
        c.close()
        # a proof over a nonce that is not the server's
        c = Conn(self.sock)
        cl = ScramClient("joe@example.test", PW)
        r = c.ask(f"SASL imap SCRAM-SHA-256 - {b64(cl.first())}")
        bad = cl.final(unb64(r[5:]), nonce=cl.cnonce + "forged")
        self.assertTrue(c.ask("STEP " + b64(bad)).startswith("NO "))
        c.close()

    def test_scram_hostile_messages(self):
        self.enable()
        for first in (b"p=tls-unique,,n=joe,r=abc", b"n,a=root,n=joe,r=abc", b"n,,n=jo=1e,r=x",
                      b"n,,m=x,n=joe,r=abc", b"garbage", b"n,,n=joe\x00,r=abc"):
            c = Conn(self.sock)
            r = c.ask(f"SASL imap SCRAM-SHA-256 - {b64(first)}")
            self.assertTrue(r.startswith("NO "), (first, r))
            c.close()
        c = Conn(self.sock)
        self.assertTrue(c.ask("SASL imap SCRAM-SHA-256 - =").startswith("NO "))
        c.close()
        for bad in ("SASL imap SCRAM-SHA-256 - bm,,bj1q", "SASL imap SCRAM-SHA-256 - !!!!",
                    "SASL imap SCRAM-SHA-256 - " + "A" * 8000, "SASL imap FOO - =",
                    "SASL imap SCRAM-SHA-256 - = extra"):
            c = Conn(self.sock)
            r = c.ask(bad)
            self.assertTrue(r.startswith("BAD "), (bad[:40], r))
            self.assertEqual(c.read(), "")  # and the connection is closed
            c.close()
        r = self.request("SASL imap SCRAM-SHA-256 - " + "A" * 20000)
        self.assertTrue(r.startswith("BAD "), r)

    # -- CRAM-MD5 -----------------------------------------------------------------

    def cram(self, user, password, service="smtp"):
        c = Conn(self.sock)
        r = c.ask(f"SASL {service} CRAM-MD5 192.0.2.7")
        self.assertTrue(r.startswith("CONT "), r)
        chal = unb64(r[5:])
        self.assertRegex(chal.decode(), r"^<[0-9]+\.[0-9]+@[^>]+>$")
        r = c.ask("STEP " + b64(cram_response(user, password, chal)))
        c.close()
        return r

    def test_cram_md5_secret_plain_and_dovecot(self):
        self.userdb("joe@example.test", "passwd", "-c", stdin=PW + "\n")
        self.userdb("Ann@example.test", "set", "systempw={PLAIN}ann-clear")
        self.userdb("limited@example.test", "set", "cram-md5pw=" + DOVE_CRAM)
        self.userdb("compile")
        self.enable()
        self.assertTrue(self.cram("joe@example.test", PW).startswith("OK "))
        self.assertTrue(self.cram("joe@example.test", PW + "!").startswith("NO "))
        self.assertTrue(self.cram("Ann@example.test", "ann-clear").startswith("OK "))
        self.assertTrue(self.cram("limited@example.test", "pencil").startswith("OK "))
        self.assertTrue(self.cram("nobody@example.test", "pencil").startswith("NO "))
        # a crypt hash alone cannot serve CRAM-MD5
        self.userdb("joe@example.test", "passwd", stdin=PW + "\n")
        self.userdb("compile")
        self.assertTrue(self.cram("joe@example.test", PW).startswith("NO "))

    def test_cram_md5_hostile(self):
        self.enable()
        c = Conn(self.sock)
        self.assertTrue(c.ask("SASL smtp CRAM-MD5 - " + b64(b"joe x")).startswith("NO "))
        c.close()
        for resp in (b"joe", b"joe zzzz", b"joe " + b"0" * 31, b"jo\x01e " + b"0" * 32):
            c = Conn(self.sock)
            self.assertTrue(c.ask("SASL smtp CRAM-MD5 -").startswith("CONT "))
            self.assertTrue(c.ask("STEP " + b64(resp)).startswith("NO "), resp)
            c.close()

    # -- PLAIN, LOGIN, steps --------------------------------------------------------

    def test_plain_and_login_exchanges(self):
        c = Conn(self.sock)
        self.assertEqual(c.ask("SASL imap PLAIN 127.0.0.1"), "CONT =")
        plain = b"\0joe@example.test\0" + PW.encode()
        self.assertTrue(c.ask("STEP " + b64(plain)).startswith("OK "))
        self.assertTrue(c.ask("SASL imap PLAIN - " + b64(plain)).startswith("OK "))
        self.assertEqual(c.ask("SASL imap LOGIN -"), "CONT " + b64(b"Username:"))
        self.assertEqual(c.ask("STEP " + b64(b"joe@example.test")),
                         "CONT " + b64(b"Password:"))
        self.assertTrue(c.ask("STEP " + b64(b"wrong")).startswith("NO "))
        self.assertEqual(c.ask("SASL imap LOGIN - " + b64(b"joe@example.test")),
                         "CONT " + b64(b"Password:"))
        self.assertTrue(c.ask("STEP " + b64(PW.encode())).startswith("OK "))
        c.close()

    def test_steps_cancel_and_interleaving(self):
        c = Conn(self.sock)
        self.assertTrue(c.ask("STEP =").startswith("NO "))  # no exchange
        self.assertEqual(c.ask("SASL imap LOGIN -"), "CONT " + b64(b"Username:"))
        self.assertTrue(c.ask("STEP *").startswith("NO "))  # cancelled
        self.assertTrue(c.ask("STEP =").startswith("NO "))
        self.assertEqual(c.ask("SASL imap LOGIN -"), "CONT " + b64(b"Username:"))
        self.assertTrue(c.ask("LOOKUP imap joe@example.test").startswith("OK "))
        self.assertTrue(c.ask("STEP " + b64(b"joe@example.test")).startswith("NO "))
        self.assertTrue(c.ask("STEP").startswith("BAD "))
        c.close()



del A  # not a test case of this module
