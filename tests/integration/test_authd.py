"""authd and userdb: an installed instance in a temporary directory, accounts written
with the built userdb command, authd started on its UNIX socket and spoken to from
Python (authd(8) describes the protocol)."""

import base64
import os
import pwd
import signal
import socket
import subprocess
import threading
import time

from harness import TOP, BUILD_DIR, TempDirTestCase, authd_request, process_alive, sasl_plain

AS_ROOT = os.geteuid() == 0
PASSWORDS = {"joe@example.test": "Joe-s3cret pass", "Ann@example.test": "ann-PW-42",
             "limited@example.test": "limited-pw-9"}
FAIL_DELAY = 0.2


def b64(data):
    return base64.b64encode(data).decode()


plain = sasl_plain


class AuthdTest(TempDirTestCase):
    def setUp(self):
        super().setUp()
        self.root = os.path.join(self.tmp, "inst")
        argv = [os.path.join(TOP, "scripts", "install-tree"), "--prefix", self.root,
                "--build", BUILD_DIR]
        if AS_ROOT:
            argv.append("--create-users")
        r = subprocess.run(argv, capture_output=True, text=True)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.env = dict(os.environ, ESTAFETTE_ROOT=self.root, ESTAFETTE_LOG="stderr")
        self.etc = os.path.join(self.root, "etc", "estafette")
        self.sock = os.path.join(self.root, "var", "run", "estafette", "authd", "socket")
        self.write_conf(f"fail_delay_ms = {int(FAIL_DELAY * 1000)}\nmax_user_failures = 3\n")
        self.add("joe@example.test", "uid=1000", "gid=1000", "home=/home/joe",
                 "mail=/home/joe/Maildir", "quota=1000S", "options=disable-pop3")
        self.add("Ann@example.test", "uid=1001", "gid=1001", "home=/home/a n n")
        self.add("limited@example.test", "uid=1002", "gid=1002", "home=/home/l")
        self.userdb("compile")
        self.proc = None
        self.start()

    def tearDown(self):
        self.stop()
        super().tearDown()

    # -- helpers --------------------------------------------------------------

    def write_conf(self, text):
        with open(os.path.join(self.etc, "authd.conf"), "w") as f:
            f.write(text)

    def userdb(self, *args, stdin=None, check=True):
        r = subprocess.run([os.path.join(self.root, "sbin", "userdb")] + list(args),
                           input=stdin, capture_output=True, text=True, env=self.env,
                           timeout=30)
        if check:
            self.assertEqual(r.returncode, 0, r.stderr)
        return r

    def add(self, address, *fields):
        self.userdb(address, "set", *fields)
        if address in PASSWORDS:
            self.userdb(address, "passwd", stdin=PASSWORDS[address] + "\n")

    def start(self):
        self.logpath = os.path.join(self.tmp, "authd.log")
        self.log = open(self.logpath, "ab")
        self.proc = subprocess.Popen([os.path.join(self.root, "libexec", "estafette", "authd")],
                                     env=self.env, stdout=self.log, stderr=self.log,
                                     stdin=subprocess.DEVNULL)
        deadline = time.time() + 10
        while time.time() < deadline:
            if os.path.exists(self.sock) and self.try_connect():
                return
            if self.proc.poll() is not None:
                break
            time.sleep(0.05)
        self.fail("authd did not come up:\n" + self.logtext())

    def try_connect(self):
        try:
            with socket.socket(socket.AF_UNIX) as s:
                s.connect(self.sock)
            return True
        except OSError:
            return False

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.proc:
            self.log.close()

    def logtext(self):
        with open(self.logpath, "rb") as f:
            return f.read().decode(errors="replace")

    def request(self, line, timeout=10):
        return authd_request(self.sock, line, timeout)

    def fields(self, reply):
        self.assertTrue(reply.startswith("OK "), reply)
        return dict(item.split("=", 1) for item in reply.split()[1:])

    # -- lookups ----------------------------------------------------------------

    def test_lookup(self):
        f = self.fields(self.request("LOOKUP smtp joe@example.test"))
        self.assertEqual((f["uid"], f["gid"], f["home"], f["maildir"], f["quota"]),
                         ("1000", "1000", "/home/joe", "/home/joe/Maildir", "1000S"))
        self.assertEqual(f["options"], "disable-pop3")
        self.assertNotIn("systempw", self.request("LOOKUP smtp joe@example.test"))
        # the domain in any case, the local part as stored; values percent-encoded
        f = self.fields(self.request("LOOKUP smtp Ann@EXAMPLE.Test"))
        self.assertEqual((f["address"], f["home"]), ("Ann@example.test", "/home/a%20n%20n"))
        self.assertTrue(self.request("LOOKUP smtp ann@example.test").startswith("NO "))
        self.assertTrue(self.request("LOOKUP smtp nobody@example.test").startswith("NO "))

    # -- authentication -----------------------------------------------------------

    def test_auth_plain_and_login(self):
        good = PASSWORDS["joe@example.test"]
        r = self.request("AUTH imap PLAIN 192.0.2.1 " + plain("joe@example.test", good))
        self.assertEqual(self.fields(r)["uid"], "1000")
        r = self.request("AUTH imap LOGIN 192.0.2.1 " + b64(b"joe@example.test") + " " +
                         b64(good.encode()))
        self.assertEqual(self.fields(r)["home"], "/home/joe")
        # authzid equal to the user is fine, another one is not
        raw = b"joe@example.test\0joe@example.test\0" + good.encode()
        self.assertTrue(self.request("AUTH imap PLAIN - " + b64(raw)).startswith("OK "))
        raw = b"ann@example.test\0joe@example.test\0" + good.encode()
        self.assertTrue(self.request("AUTH imap PLAIN - " + b64(raw)).startswith("BAD "))
        # the account disables pop3
        r = self.request("AUTH pop3 PLAIN - " + plain("joe@example.test", good))
        self.assertTrue(r.startswith("NO "), r)

    def test_bad_password_is_delayed(self):
        t = time.time()
        r = self.request("AUTH imap PLAIN 192.0.2.7 " + plain("joe@example.test", "wrong"))
        self.assertGreaterEqual(time.time() - t, FAIL_DELAY)
        self.assertTrue(r.startswith("NO "), r)
        t = time.time()
        r = self.request("AUTH imap PLAIN 192.0.2.7 " + plain("nobody@example.test", "x"))
        self.assertGreaterEqual(time.time() - t, FAIL_DELAY)
        self.assertTrue(r.startswith("NO "), r)
        self.assertIn("reason=badpass", self.logtext())
        self.assertIn("reason=nouser", self.logtext())

    def test_failure_limit_per_user(self):
        user, good = "limited@example.test", PASSWORDS["limited@example.test"]
        for _ in range(3):
            self.assertTrue(self.request("AUTH imap PLAIN - " + plain(user, "bad")).startswith("NO"))
        r = self.request("AUTH imap PLAIN - " + plain(user, good))
        self.assertTrue(r.startswith("NO "), r)
        self.assertIn("reason=ratelimit", self.logtext())
        # other users are not affected
        r = self.request("AUTH imap PLAIN - " + plain("joe@example.test", PASSWORDS["joe@example.test"]))
        self.assertTrue(r.startswith("OK "), r)

    def test_concurrent_clients(self):
        results = []

        def one(i):
            user = "joe@example.test" if i % 2 else "Ann@example.test"
            results.append(self.request("AUTH imap PLAIN 192.0.2.9 " + plain(user, PASSWORDS[user]),
                                        timeout=30))

        threads = [threading.Thread(target=one, args=(i,)) for i in range(40)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        self.assertEqual(len(results), 40)
        self.assertTrue(all(r.startswith("OK ") for r in results), results)

    def test_slow_failure_does_not_block_others(self):
        done = []
        t = threading.Thread(target=lambda: done.append(
            self.request("AUTH imap PLAIN - " + plain("joe@example.test", "wrong"))))
        t.start()
        time.sleep(0.02)
        start = time.time()
        self.assertTrue(self.request("LOOKUP smtp joe@example.test").startswith("OK "))
        self.assertLess(time.time() - start, FAIL_DELAY)
        t.join()

    # -- broken backend --------------------------------------------------------------

    def replace_cdb(self, data, mode=0o600):
        path = os.path.join(self.etc, "userdb.cdb")
        tmp = path + ".new"
        with open(tmp, "wb") as f:
            f.write(data)
        os.chmod(tmp, mode)
        os.rename(tmp, path)

    def assert_tempfail(self):
        r = self.request("LOOKUP smtp joe@example.test")
        self.assertTrue(r.startswith("TEMPFAIL "), r)
        r = self.request("AUTH imap PLAIN - " + plain("joe@example.test", PASSWORDS["joe@example.test"]))
        self.assertTrue(r.startswith("TEMPFAIL "), r)
        r = self.request("LOOKUP smtp nobody@example.test")
        self.assertTrue(r.startswith("TEMPFAIL "), r)

    def test_corrupt_database_is_tempfail(self):
        self.replace_cdb(os.urandom(100))
        self.assert_tempfail()
        self.replace_cdb(os.urandom(5000))  # large enough to look like a cdb
        self.assert_tempfail()
        # repaired: works again without a restart
        self.userdb("compile")
        self.assertTrue(self.request("LOOKUP smtp joe@example.test").startswith("OK "))

    def test_unreadable_or_missing_database_is_tempfail(self):
        path = os.path.join(self.etc, "userdb.cdb")
        with open(path, "rb") as f:
            data = f.read()
        self.replace_cdb(data, 0)  # authd runs as the auth user (or us): cannot read it
        self.assert_tempfail()
        os.unlink(path)
        self.assert_tempfail()
        self.userdb("compile")
        self.assertTrue(self.request("LOOKUP smtp joe@example.test").startswith("OK "))

    # -- hostile clients ---------------------------------------------------------------

    def test_garbage_and_oversized_requests(self):
        r = self.request(b"A" * 20000)
        self.assertTrue(r.startswith("BAD "), r)
        for bad in [b"\x00\xff\xfe", b"LOOKUP", b"LOOKUP smtp", b"LOOKUP  smtp joe",
                    b"LOOKUP smtp joe extra", b"LOOKUP SMTP! joe", b"LOOKUP smtp a%zzb",
                    b"AUTH imap PLAIN - not-base64!", b"AUTH imap CRAM-MD5 - AAAA",
                    b"AUTH imap PLAIN - " + b"QUFB" * 3000, b"LOOKUP smtp " + b"x" * 600,
                    b"AUTH imap PLAIN 1.2.3.4;rm - AAAA", b"LOOKUP smtp a%0Ab"]:
            r = self.request(bad)
            self.assertTrue(r.startswith("BAD "), (bad[:40], r))
        # a client that connects and says nothing, and one that leaves mid-line
        s = socket.socket(socket.AF_UNIX)
        s.connect(self.sock)
        with socket.socket(socket.AF_UNIX) as s2:
            s2.connect(self.sock)
            s2.sendall(b"LOOKUP sm")
        self.assertTrue(self.request("LOOKUP smtp joe@example.test").startswith("OK "))
        s.close()
        self.assertIsNone(self.proc.poll())

    def test_timeout_and_connection_limit(self):
        self.stop()
        self.write_conf("timeout = 1s\nmax_connections = 2\n")
        self.start()
        idle = []
        for _ in range(2):
            s = socket.socket(socket.AF_UNIX)
            s.connect(self.sock)
            idle.append(s)
        time.sleep(0.2)
        start = time.time()
        # served only once an idle connection has timed out and freed its place
        self.assertTrue(self.request("LOOKUP smtp joe@example.test").startswith("OK "))
        self.assertGreaterEqual(time.time() - start, 0.5)
        for s in idle:
            s.settimeout(5)
            self.assertEqual(s.recv(100), b"")  # closed by authd
            s.close()

    def children(self):
        kids = []
        for d in os.listdir("/proc"):
            if d.isdigit():
                try:
                    with open("/proc/%s/stat" % d) as f:
                        stat = f.read()
                except OSError:
                    continue
                if int(stat.rsplit(")", 1)[1].split()[1]) == self.proc.pid:
                    kids.append(int(d))
        return kids

    def test_pool_reuses_processes_and_dies_with_parent(self):
        self.stop()
        self.write_conf("min_spare = 2\nmax_spare = 3\nmax_connections = 10\n")
        self.start()
        for _ in range(200):  # one connection each, like smtpd's recipient checks
            self.assertTrue(self.request("LOOKUP smtp joe@example.test").startswith("OK "))
        time.sleep(0.3)
        kids = self.children()
        self.assertGreaterEqual(len(kids), 2)
        self.assertLessEqual(len(kids), 4)  # max_spare, plus one being retired
        # ten slow connections at once: the pool grows to max_connections and no further
        held = []
        for _ in range(10):
            s = socket.socket(socket.AF_UNIX)
            s.connect(self.sock)
            s.sendall(b"LOOKUP sm")
            held.append(s)
        deadline = time.time() + 5
        while time.time() < deadline and len(self.children()) < 10:
            time.sleep(0.05)
        self.assertEqual(len(self.children()), 10)
        for s in held:
            s.sendall(b"tp joe@example.test\n")
            s.settimeout(5)
            self.assertTrue(s.recv(100).startswith(b"OK "))
            s.close()
        # a parent killed outright takes its workers along: no orphan keeps accepting
        kids = self.children()
        self.proc.kill()
        self.proc.wait()
        deadline = time.time() + 5
        while time.time() < deadline and any(process_alive(k) for k in kids):
            time.sleep(0.05)
        self.assertFalse([k for k in kids if process_alive(k)])

    def test_enum_and_passwd(self):
        r = self.request("ENUM")
        lines = r.splitlines()
        # ENUM has several lines: read until the final OK
        with socket.socket(socket.AF_UNIX) as s:
            s.connect(self.sock)
            s.sendall(b"ENUM\n")
            data = b""
            while not data.endswith(b"OK count=3\n"):
                chunk = s.recv(65536)
                self.assertTrue(chunk, data)
                data += chunk
        lines = data.decode().splitlines()
        self.assertEqual(len([x for x in lines if x.startswith("ACCOUNT ")]), 3)
        r = self.request("PASSWD imap joe@example.test " + b64(b"a") + " " + b64(b"b"))
        self.assertTrue(r.startswith("NO "), r)

    def test_refuses_other_users(self):
        if not AS_ROOT:
            self.skipTest("needs root to connect as another user")
        nobody = pwd.getpwnam("nobody")
        rfd, wfd = os.pipe()
        pid = os.fork()
        if pid == 0:
            try:
                os.close(rfd)
                os.setgroups([])
                os.setgid(nobody.pw_gid)
                os.setuid(nobody.pw_uid)
                try:
                    os.write(wfd, self.request("LOOKUP smtp joe@example.test").encode())
                except OSError as e:
                    os.write(wfd, f"ERROR {e}".encode())
            finally:
                os._exit(0)
        os.close(wfd)
        os.waitpid(pid, 0)
        with os.fdopen(rfd) as f:
            reply = f.read()
        self.assertTrue(reply.startswith("NO ") or reply.startswith("ERROR"), reply)
        self.assertNotIn("uid=1000", reply)
        self.assertIn(f"refused connection from uid {nobody.pw_uid}", self.logtext())

    def test_privileges_dropped(self):
        if not AS_ROOT:
            self.skipTest("needs root")
        # the socket appears just before the drop: give the drop a moment
        auth = pwd.getpwnam("estafette-auth").pw_uid
        deadline = time.time() + 5
        while True:
            with open(f"/proc/{self.proc.pid}/status") as f:
                uids = [l for l in f if l.startswith("Uid:")][0].split()[1:]
            if uids == [str(auth)] * 4 or time.time() > deadline:
                break
            time.sleep(0.05)
        self.assertEqual(uids, [str(auth)] * 4)

    def test_no_password_in_log_and_clean_stop(self):
        for user, pw in PASSWORDS.items():
            self.request("AUTH imap PLAIN 192.0.2.3 " + plain(user, pw))
            self.request("AUTH imap PLAIN 192.0.2.3 " + plain(user, pw + "x"))
            self.request("AUTH imap LOGIN 192.0.2.3 " + b64(user.encode()) + " " + b64(pw.encode()))
        self.request(b"AUTH imap PLAIN 192.0.2.3 " + b"%" * 10)
        pid = self.proc.pid
        self.proc.send_signal(signal.SIGTERM)
        self.assertEqual(self.proc.wait(timeout=10), 0)
        self.assertFalse(process_alive(pid))
        self.assertFalse(os.path.exists(self.sock))
        log = self.logtext()
        self.assertIn("auth ok service=imap user=joe@example.test ip=192.0.2.3", log)
        for pw in PASSWORDS.values():
            self.assertNotIn(pw, log)
            self.assertNotIn(b64(pw.encode()), log)


class UserdbTest(TempDirTestCase):
    def run_userdb(self, *args, stdin=None):
        prog = os.path.join(BUILD_DIR, "bin", "userdb")
        return subprocess.run([prog, "-f", self.src] + list(args), input=stdin,
                              capture_output=True, text=True, timeout=30)

    def setUp(self):
        super().setUp()
        self.src = os.path.join(self.tmp, "userdb")

    def test_edit_list_delete(self):
        r = self.run_userdb("b@EXAMPLE.org", "set", "uid=5", "gid=6", "home=/h/b")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.run_userdb("a@example.org", "set", "uid=5", "gid=6", "home=/h/a", "quota=10S")
        self.assertEqual(os.stat(self.src).st_mode & 0o777, 0o600)
        r = self.run_userdb("list")
        self.assertEqual(r.stdout.split(), ["b@example.org", "a@example.org"])
        r = self.run_userdb("a@example.org", "unset", "quota")
        self.assertEqual(r.returncode, 0, r.stderr)
        with open(self.src) as f:
            self.assertNotIn("quota", f.read())
        self.assertEqual(self.run_userdb("b@example.org", "del").returncode, 0)
        self.assertEqual(self.run_userdb("list").stdout.split(), ["a@example.org"])
        self.assertEqual(self.run_userdb("b@example.org", "del").returncode, 1)

    def test_refuses_bad_input(self):
        for args in [("x@y", "set", "uid=5"),                      # no gid, home
                     ("x@y", "set", "uid=a", "gid=1", "home=/h"),
                     ("x@y", "set", "uid=1", "gid=1", "home=rel"),
                     ("x@y", "set", "uid=1", "gid=1", "home=/h|systempw=x"),
                     ("x@y", "set", "uid=1", "gid=1", "home=/h", "Bad=1"),
                     ("x y", "set", "uid=1", "gid=1", "home=/h"),
                     ("x@y", "passwd")]:
            r = self.run_userdb(*args, stdin="pw\n")
            self.assertNotEqual(r.returncode, 0, args)
            self.assertTrue(r.stderr.strip(), args)
        self.assertFalse(os.path.exists(self.src))

    def test_compile_is_atomic_and_checked(self):
        self.run_userdb("a@example.org", "set", "uid=5", "gid=6", "home=/h/a")
        r = self.run_userdb("compile")
        self.assertEqual(r.returncode, 0, r.stderr)
        with open(self.src + ".cdb", "rb") as f:
            good = f.read()
        for text in ["a@example.org\tuid=1|gid=1|home=/h\na@EXAMPLE.ORG\tuid=1|gid=1|home=/h\n",
                     "no-tab-here uid=1\n", "a@b\tuid=1|gid=1\n", "a@b\tuid=1|gid=1|home=/h\x01\n",
                     "a@b\tuid=1|gid=1|home=/h|uid=2\n"]:
            with open(self.src, "w") as f:
                f.write(text)
            r = self.run_userdb("compile")
            self.assertEqual(r.returncode, 1, text)
            self.assertIn(":2:" if "address given twice" in r.stderr else ":1:", r.stderr)
            with open(self.src + ".cdb", "rb") as f:
                self.assertEqual(f.read(), good)
        self.assertEqual([n for n in os.listdir(self.tmp) if ".tmp." in n], [])
