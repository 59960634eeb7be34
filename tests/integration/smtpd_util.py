"""Helpers of the smtpd tests: an installed instance with authd and accounts, smtpd run
on a socketpair (stdin/stdout) or under the listener, a small raw SMTP client."""

import os
import shutil
import socket
import subprocess
import time

from harness import TOP, BUILD_DIR, TempDirTestCase, free_base_port

AS_ROOT = os.geteuid() == 0
ME = "mx.test.example"
PASSWORD = "Joe-s3cret pass"


def install_tree(tmp):
    """A copy of scripts/install-tree whose manifest lists only what exists: other
    programs of the tree may be half-built while smtpd is tested."""
    tree = os.path.join(tmp, "tree")
    os.makedirs(os.path.join(tree, "scripts"))
    os.symlink(os.path.join(TOP, "man"), os.path.join(tree, "man"))
    for name in ("install-tree", "users"):
        shutil.copy(os.path.join(TOP, "scripts", name), os.path.join(tree, "scripts", name))
    with open(os.path.join(TOP, "scripts", "manifest")) as f, \
            open(os.path.join(tree, "scripts", "manifest"), "w") as out:
        for line in f:
            fields = line.split()
            if len(fields) == 6 and fields[0] == "f":
                src = fields[5]
                path = (os.path.join(BUILD_DIR, "bin", src[6:]) if src.startswith("build:")
                        else os.path.join(TOP, src))
                if not os.path.exists(path):
                    continue
            out.write(line)
    return os.path.join(tree, "scripts", "install-tree")


class Client:
    """A raw SMTP client on a socket: send bytes, read whole replies."""

    def __init__(self, sock, proc=None):
        self.sock = sock
        self.proc = proc
        self.sock.settimeout(20)
        self.buf = b""

    def send(self, data):
        self.sock.sendall(data if isinstance(data, bytes) else data.encode())

    def line(self):
        while b"\n" not in self.buf:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise EOFError("connection closed; got %r" % self.buf)
            self.buf += chunk
        line, self.buf = self.buf.split(b"\n", 1)
        assert line.endswith(b"\r"), line
        return line[:-1].decode("utf-8", "replace")

    def reply(self):
        """(code, [text lines]) of one possibly multi-line reply."""
        lines = []
        while True:
            line = self.line()
            lines.append(line[4:])
            if line[3:4] != "-":
                return int(line[:3]), lines

    def cmd(self, text):
        self.send(text + "\r\n")
        return self.reply()

    def closed(self, timeout=10):
        """True when the server closes the connection with nothing more to say."""
        self.sock.settimeout(timeout)
        try:
            return self.sock.recv(1) == b"" and not self.buf
        except ConnectionResetError:
            return True

    def close(self):
        self.sock.close()
        if self.proc:
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


class SmtpdCase(TempDirTestCase):
    """An installed instance (me, locals, one account) with authd running."""

    LOCALS = "example.test\nLocal.Example\n"

    def setUp(self):
        super().setUp()
        self.root = os.path.join(self.tmp, "inst")
        argv = [install_tree(self.tmp), "--prefix", self.root, "--build", BUILD_DIR]
        if AS_ROOT:
            argv.append("--create-users")
        r = subprocess.run(argv, capture_output=True, text=True)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.env = dict(os.environ, ESTAFETTE_ROOT=self.root, ESTAFETTE_LOG="stderr")
        self.etc = os.path.join(self.root, "etc", "estafette")
        self.queue = os.path.join(self.root, "var", "spool", "estafette")
        self.smtpd = os.path.join(self.root, "libexec", "estafette", "smtpd")
        self.config("me", ME + "\n")
        self.config("locals", self.LOCALS)
        self.userdb("joe@example.test", "set", "uid=1000", "gid=1000", "home=/home/joe")
        self.userdb("joe@example.test", "passwd", stdin=PASSWORD + "\n")
        self.userdb("compile")
        self.logpath = os.path.join(self.tmp, "smtpd.log")
        self.procs = []
        self.authd = None
        self.start_authd()

    def tearDown(self):
        for p in self.procs:
            if p.poll() is None:
                p.terminate()
                try:
                    p.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    p.kill()
                    p.wait()
        log = self.log() if os.path.exists(self.logpath) else ""
        super().tearDown()
        for bad in ("ERROR: AddressSanitizer", "detected memory leaks", "runtime error:"):
            self.assertNotIn(bad, log, log[-3000:])

    def config(self, name, text):
        path = os.path.join(self.etc, name)
        with open(path, "w") as f:
            f.write(text)
        os.chmod(path, 0o644)

    def userdb(self, *args, stdin=None):
        r = subprocess.run([os.path.join(self.root, "sbin", "userdb")] + list(args),
                           input=stdin, capture_output=True, text=True, env=self.env, timeout=30)
        self.assertEqual(r.returncode, 0, r.stderr)

    def start_authd(self):
        sock = os.path.join(self.root, "var", "run", "estafette", "authd", "socket")
        log = open(os.path.join(self.tmp, "authd.log"), "ab")
        self.authd = subprocess.Popen([os.path.join(self.root, "libexec", "estafette", "authd")],
                                      env=self.env, stdout=log, stderr=log,
                                      stdin=subprocess.DEVNULL)
        log.close()
        self.procs.append(self.authd)
        deadline = time.time() + 10
        while not os.path.exists(sock):
            self.assertLess(time.time(), deadline, "authd did not start")
            time.sleep(0.05)

    def stop_authd(self):
        self.authd.terminate()
        self.authd.wait(timeout=10)

    def connect(self, *args, ip="192.0.2.7", greet=220, extra_env=None):
        """smtpd on a socketpair, as inetd would run it; returns a Client after the greeting."""
        ours, theirs = socket.socketpair()
        env = dict(self.env, TCPREMOTEIP=ip, TCPREMOTEPORT="40000", TCPLOCALIP="127.0.0.1",
                   PROTO="TCP")
        env.update(extra_env or {})
        with open(self.logpath, "ab") as log:
            p = subprocess.Popen([self.smtpd] + list(args), stdin=theirs, stdout=theirs,
                                 stderr=log, env=env)
        theirs.close()
        self.procs.append(p)
        c = Client(ours, p)
        if greet:
            code, lines = c.reply()
            self.assertEqual(code, greet, lines)
        return c

    def ehlo(self, c, name="client.example"):
        code, lines = c.cmd("EHLO " + name)
        self.assertEqual(code, 250, lines)
        return lines[1:]

    def log(self):
        with open(self.logpath, errors="replace") as f:
            return f.read()

    def queued(self):
        """[(id, ctl text, msg bytes)] of the queue's entries."""
        out = []
        for dirpath, _, files in os.walk(os.path.join(self.queue, "ctl")):
            for f in files:
                with open(os.path.join(dirpath, f)) as fh:
                    ctl = fh.read()
                with open(os.path.join(self.queue, "msg", f[-1], f), "rb") as fh:
                    msg = fh.read()
                out.append((f, ctl, msg))
        return out

    def start_listener(self, *args):
        """The listener running smtpd on a free loopback port; returns the port."""
        port = free_base_port() + 25
        with open(self.logpath, "ab") as log:
            p = subprocess.Popen([os.path.join(self.root, "libexec", "estafette", "listener"),
                                  "-a", "127.0.0.1", "-p", str(port), "--root", self.root,
                                  "--", self.smtpd] + list(args),
                                 env=self.env, stdout=log, stderr=log, stdin=subprocess.DEVNULL)
        self.procs.append(p)
        deadline = time.time() + 10
        while True:
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", port)) == 0:
                    break
            self.assertIsNone(p.poll(), "listener exited")
            self.assertLess(time.time(), deadline, "listener did not start")
            time.sleep(0.05)
        return port


def body_of(msg):
    """The message without submit's Received: header (the first field)."""
    assert msg.startswith(b"Received: "), msg[:80]
    i = 0
    while True:
        i = msg.index(b"\n", i) + 1
        if msg[i:i + 1] not in (b" ", b"\t"):
            return msg[i:]
