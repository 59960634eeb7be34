"""courierd(8), deliver(8), aliases(5): a message queued by submit ends in a Maildir,
a retry or a bounce; crashes lose nothing; as root every stage runs as its own user."""

import os
import pwd
import random
import re
import signal
import socket
import subprocess
import time

from harness import TOP, BUILD_DIR, TempDirTestCase, process_alive

AS_ROOT = os.geteuid() == 0
DOMAIN = "example.test"
ID = re.compile(r"^250 2\.0\.0 Ok: queued as ([0-9a-f]{20})$")


class Instance:
    def __init__(self, tmp, conf="retry_schedule = 1s\nscan_interval = 1s\n"):
        self.root = os.path.join(tmp, "inst")
        argv = [os.path.join(TOP, "scripts", "install-tree"), "--prefix", self.root,
                "--build", BUILD_DIR]
        if AS_ROOT:
            argv.append("--create-users")
        subprocess.run(argv, check=True, capture_output=True)
        self.env = dict(os.environ, ESTAFETTE_ROOT=self.root, ESTAFETTE_LOG="stderr")
        self.etc = os.path.join(self.root, "etc", "estafette")
        self.queue = os.path.join(self.root, "var", "spool", "estafette")
        self.libexec = os.path.join(self.root, "libexec", "estafette")
        self.logpath = os.path.join(tmp, "log")
        self.log = open(self.logpath, "ab", buffering=0)
        self.authd = self.courierd = None
        self.write("me", "mail.example.test\n")
        self.write("locals", DOMAIN + "\n")
        self.write("courierd.conf", conf)
        if AS_ROOT:
            pw = pwd.getpwnam("estafette-mail")
            self.uid, self.gid = pw.pw_uid, pw.pw_gid
        else:
            self.uid, self.gid = os.getuid(), os.getgid()

    def write(self, name, text):
        with open(os.path.join(self.etc, name), "w") as f:
            f.write(text)

    def userdb(self, *args, stdin=None):
        r = subprocess.run([os.path.join(self.root, "sbin", "userdb")] + list(args),
                           input=stdin, capture_output=True, text=True, env=self.env, timeout=30)
        assert r.returncode == 0, r.stderr
        return r.stdout

    def home(self, local):
        return os.path.join(self.root, "mail", local)

    def add(self, *locals_):
        for local in locals_:
            home = self.home(local)
            os.makedirs(home)
            subprocess.run([os.path.join(self.root, "bin", "maildirmake"),
                            os.path.join(home, "Maildir")], check=True, env=self.env)
            for dirpath, dirs, files in os.walk(home):
                os.chown(dirpath, self.uid, self.gid) if AS_ROOT else None
            self.userdb(f"{local}@{DOMAIN}", "set", f"uid={self.uid}", f"gid={self.gid}",
                        f"home={home}")
        self.userdb("compile")

    def start_authd(self):
        sock = os.path.join(self.root, "var", "run", "estafette", "authd", "socket")
        self.authd = subprocess.Popen([os.path.join(self.libexec, "authd")], env=self.env,
                                      stdout=self.log, stderr=self.log, stdin=subprocess.DEVNULL)
        deadline = time.time() + 10
        while time.time() < deadline:
            try:
                with socket.socket(socket.AF_UNIX) as s:
                    s.connect(sock)
                return
            except OSError:
                time.sleep(0.05)
        raise AssertionError("authd did not start:\n" + self.logtext())

    def start_courierd(self):
        self.courierd = subprocess.Popen([os.path.join(self.libexec, "courierd")], env=self.env,
                                         stdout=self.log, stderr=self.log,
                                         stdin=subprocess.DEVNULL)
        fifo = os.path.join(self.root, "var", "run", "estafette", "trigger")
        deadline = time.time() + 10
        while time.time() < deadline and "courierd" not in self.logtext().split("started:")[-1:][0][:0] + "x":
            break
        while time.time() < deadline and not os.path.exists(fifo):
            time.sleep(0.05)
        return self.courierd

    def stop(self, p, sig=signal.SIGTERM):
        if p and p.poll() is None:
            p.send_signal(sig)
            try:
                p.wait(timeout=40)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()

    def close(self):
        self.stop(self.courierd)
        self.stop(self.authd)
        self.log.close()

    def logtext(self):
        with open(self.logpath, "rb") as f:
            return f.read().decode(errors="replace")

    def submit(self, sender, rcpts, body, extra=b""):
        env = sender.encode()
        data = b"S" + env + b"\nFlocal\n" + extra
        for r in rcpts:
            data += b"R" + r.encode() + b"\n"
        data += b"\n" + b"D%d\n" % len(body) + body + b".\n"
        r = subprocess.run([os.path.join(self.libexec, "submit")], input=data,
                           capture_output=True, env=self.env, timeout=30)
        m = ID.match(r.stdout.decode().strip())
        assert m, r.stdout + r.stderr
        return m.group(1)

    def maildir(self, local):
        new = os.path.join(self.home(local), "Maildir", "new")
        return [os.path.join(new, n) for n in sorted(os.listdir(new))]

    def wait_mail(self, local, count=1, timeout=20):
        deadline = time.time() + timeout
        while time.time() < deadline:
            got = self.maildir(local)
            if len(got) >= count:
                return got
            time.sleep(0.05)
        raise AssertionError(f"{count} message(s) for {local} not delivered:\n" + self.logtext())

    def queue_empty(self):
        for area in ("ctl", "msg"):
            for _, _, files in os.walk(os.path.join(self.queue, area)):
                if files:
                    return False
        return True

    def wait_queue_empty(self, timeout=20):
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.queue_empty():
                return
            time.sleep(0.05)
        raise AssertionError("queue not empty:\n" + self.logtext())

    def wait_log(self, pattern, timeout=20):
        deadline = time.time() + timeout
        while time.time() < deadline:
            m = re.search(pattern, self.logtext())
            if m:
                return m
            time.sleep(0.05)
        raise AssertionError(f"no log line {pattern!r}:\n" + self.logtext())


def read(path):
    with open(path, "rb") as f:
        return f.read()


class CourierdTest(TempDirTestCase):
    def setUp(self):
        super().setUp()
        self.inst = None

    def tearDown(self):
        if self.inst:
            self.inst.close()
        super().tearDown()

    def instance(self, **kw):
        self.inst = Instance(self.tmp, **kw)
        return self.inst

    def test_local_delivery_byte_exact(self):
        inst = self.instance()
        inst.add("alice", "bob")
        inst.start_authd()
        inst.start_courierd()
        body = b"Subject: hi\nX-Bin: \x01\xff\n\nline one\r\nline two\n"
        qid = inst.submit("bob@example.test", ["alice@example.test"], body)
        path = inst.wait_mail("alice")[0]
        got = read(path)
        self.assertTrue(got.startswith(b"Return-Path: <bob@example.test>\n"
                                       b"Delivered-To: alice@example.test\nReceived: "), got)
        self.assertTrue(got.endswith(b"\n" + body.replace(b"\r\n", b"\n")), got)
        inst.wait_queue_empty()
        log = inst.logtext()
        self.assertRegex(log, rf"delivery id={qid} rcpt=<alice@example.test> route=local "
                              r"delay=\d+s status=sent response=\"250 2\.0\.0 delivered")
        if AS_ROOT:
            st = os.stat(path)
            self.assertEqual((st.st_uid, st.st_gid), (inst.uid, inst.gid))
            with open(f"/proc/{inst.courierd.pid}/status") as f:
                uids = [l for l in f if l.startswith("Uid:")][0].split()[1:]
            self.assertEqual(uids, [str(pwd.getpwnam("estafette").pw_uid)] * 4)
