"""Load on one sandbox (issue 10): 500 concurrent IMAP sessions (logged in, idle, then
NOOP each) and 200 concurrent SMTP sessions (each sending a message) held for about a
minute while a separate client keeps getting answers in bounded time; afterwards every
session's processes exit. Then a connection flood against the listener's per-IP and
total limits (listener(8): -i 20, -c 200 as the sandbox runs it). Counts on stderr.

The sandbox's listeners keep the defaults (at most 200 connections each), so the
sessions go to two more listeners on the same instance with room for 800."""

import os
import resource
import socket
import subprocess
import time
from concurrent.futures import ThreadPoolExecutor

from harness import Sandbox, TempDirTestCase, program, free_base_port
import faultlib

USER, PASSWORD = "load@example.test", "load pass 9"
NEEDED = ("listener", "smtpd", "submit", "authd", "courierd", "deliver", "deliver-spawn",
          "imap-login", "imapd", "auth-exec")
IMAP_SESSIONS = int(os.environ.get("ESTAFETTE_LOAD_IMAP", "500"))
SMTP_SESSIONS = int(os.environ.get("ESTAFETTE_LOAD_SMTP", "200"))
HOLD = float(os.environ.get("ESTAFETTE_LOAD_HOLD", "60"))
PROBE_BOUND = 10.0  # seconds a separate client may wait for a whole session
SESSION_PROGRAMS = {"imap-login", "imapd", "auth-exec", "smtpd", "submit", "pop3-login",
                    "pop3d"}


class Conn:
    """A line-oriented client socket with a timeout on every read."""

    def __init__(self, port, src="127.0.0.1", timeout=60):
        self.sock = socket.socket()
        self.sock.settimeout(timeout)
        self.sock.bind((src, 0))
        self.sock.connect(("127.0.0.1", port))
        self.buf = b""

    def line(self):
        while b"\r\n" not in self.buf:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise EOFError(self.buf)
            self.buf += chunk
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line.decode("utf-8", "replace")

    def send(self, text):
        self.sock.sendall(text.encode() if isinstance(text, str) else text)

    def tagged(self, tag):
        """Lines up to IMAP's tagged reply; returns that reply."""
        while True:
            line = self.line()
            if line.startswith(tag + " "):
                return line

    def smtp_reply(self):
        while True:
            line = self.line()
            if line[3:4] != "-":
                return int(line[:3])

    def close(self):
        self.sock.close()


def imap_login(port, src="127.0.0.1"):
    c = Conn(port, src)
    assert c.line().startswith("* OK"), "no IMAP greeting"
    c.send(f'a LOGIN {USER} "{PASSWORD}"\r\n')
    reply = c.tagged("a")
    assert reply.startswith("a OK"), reply
    return c


def smtp_send(port, mid, src="127.0.0.1"):
    c = Conn(port, src)
    assert c.smtp_reply() == 220
    for cmd in ("EHLO load.example", "MAIL FROM:<x@example.org>", f"RCPT TO:<{USER}>", "DATA"):
        c.send(cmd + "\r\n")
        code = c.smtp_reply()
        assert code < 400, (cmd, code)
    c.send(faultlib.message(mid, 3000, crlf=True) + b".\r\n")
    code = c.smtp_reply()
    assert code == 250, code
    return c


def probe(imap_port, smtp_port):
    """A whole IMAP session and an SMTP greeting; returns the seconds they took."""
    t = time.time()
    c = imap_login(imap_port)
    c.send("b NOOP\r\n")
    assert c.tagged("b").startswith("b OK")
    c.send("c LOGOUT\r\n")
    c.tagged("c")
    c.close()
    s = Conn(smtp_port)
    assert s.smtp_reply() == 220
    s.send("QUIT\r\n")
    assert s.smtp_reply() == 221
    s.close()
    return time.time() - t


def raise_nofile(want):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < want:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(want, hard), hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


class LoadCase(TempDirTestCase):
    def setUp(self):
        super().setUp()
        for prog in NEEDED:
            if not os.access(program(prog), os.X_OK):
                self.skipTest(prog + " is not built")
        self.sb = None
        self.listeners = []
        self.conns = []

    def tearDown(self):
        for c in self.conns:
            c.close()
        for p in self.listeners:
            if p.poll() is None:
                p.terminate()
                try:
                    p.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    p.kill()
                    p.wait()
        if self.sb:
            self.sb.stop()
        logs = [os.path.join(self.tmp, n) for n in os.listdir(self.tmp) if n.endswith(".log")]
        if self.sb:
            logs.append(os.path.join(self.root, "var", "log", "estafette.log"))
        found = []
        for path in logs:
            if os.path.exists(path):
                with open(path, errors="replace") as f:
                    found += faultlib.sanitizer_errors(f.read())
        super().tearDown()
        self.assertEqual(found[:20], [])

    def sandbox(self):
        self.root = os.path.join(self.tmp, "inst")
        self.sb = Sandbox(self.root, users=[USER + ":" + PASSWORD]).start()
        return self.sb

    def listener(self, prog, maxconn, busy):
        """One more listener of the sandbox's instance, with room for maxconn sessions."""
        port = free_base_port() + 25
        libexec = os.path.join(self.root, "libexec", "estafette")
        env = dict(os.environ, ESTAFETTE_ROOT=self.root, ESTAFETTE_LOG="stderr")
        log = open(os.path.join(self.tmp, f"listener-{prog}.log"), "ab")
        p = subprocess.Popen([os.path.join(libexec, "listener"), "-a", "127.0.0.1", "-p",
                              str(port), "-c", str(maxconn), "-i", str(maxconn), "-b", "1024",
                              "-m", busy, "--root", self.root, "--",
                              os.path.join(libexec, prog)],
                             env=env, stdout=log, stderr=log, stdin=subprocess.DEVNULL)
        log.close()
        self.listeners.append(p)
        deadline = time.time() + 10
        while True:
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", port)) == 0:
                    break
            self.assertIsNone(p.poll(), "listener exited")
            self.assertLess(time.time(), deadline, "listener did not start")
            time.sleep(0.05)
        return port, p

    def wait_sessions_gone(self, parents, timeout=60):
        """Waits until no session process is left below parents; returns the leftovers."""
        deadline = time.time() + timeout
        while True:
            table = faultlib.proc_table()
            left = []
            for parent in parents:
                for pid in faultlib.descendants(parent, table):
                    try:
                        name = faultlib.exe_name(pid)
                    except OSError:
                        continue
                    if name in SESSION_PROGRAMS:
                        left.append((pid, name))
            if not left or time.time() > deadline:
                return left
            time.sleep(0.5)


class SessionLoadTest(LoadCase):
    def test_imap_and_smtp_sessions_held_with_a_responsive_probe(self):
        raise_nofile(4 * (IMAP_SESSIONS + SMTP_SESSIONS) + 256)
        sb = self.sandbox()
        imap_port, imap_l = self.listener("imap-login", IMAP_SESSIONS + 300,
                                          r"* BYE Too many connections\r\n")
        smtp_port, smtp_l = self.listener("smtpd", SMTP_SESSIONS + 300,
                                          r"421 4.7.0 Too many connections\r\n")
        start = time.time()
        with ThreadPoolExecutor(max_workers=24) as pool:
            imap = list(pool.map(lambda i: imap_login(imap_port), range(IMAP_SESSIONS)))
            self.conns += imap
            t_imap = time.time() - start
            smtp = list(pool.map(lambda i: smtp_send(smtp_port, f"ld{i}"),
                                 range(SMTP_SESSIONS)))
            self.conns += smtp
        t_open = time.time() - start
        latencies = []
        while time.time() - start < t_open + HOLD:
            latencies.append(probe(imap_port, smtp_port))
            self.assertLess(latencies[-1], PROBE_BOUND, latencies)
            time.sleep(4)
        for c in imap:
            c.send("n NOOP\r\n")
        noop_ok = sum(1 for c in imap if c.tagged("n").startswith("n OK"))
        for c in smtp:
            c.send("NOOP\r\n")
        smtp_ok = sum(1 for c in smtp if c.smtp_reply() == 250)
        faultlib.report(
            f"load: imap={IMAP_SESSIONS} logged in {t_imap:.1f}s, smtp={SMTP_SESSIONS} sent "
            f"{t_open - t_imap:.1f}s, held {time.time() - start - t_open:.0f}s; noop ok "
            f"imap={noop_ok} smtp={smtp_ok}; probe n={len(latencies)} "
            f"max={max(latencies):.2f}s median={sorted(latencies)[len(latencies) // 2]:.2f}s")
        self.assertEqual((noop_ok, smtp_ok), (IMAP_SESSIONS, SMTP_SESSIONS))
        for c in self.conns:
            c.close()
        self.conns = []
        t_close = time.time()
        left = self.wait_sessions_gone([imap_l.pid, smtp_l.pid, sb.proc.pid])
        faultlib.report(f"load: session processes gone {time.time() - t_close:.1f}s after "
                        f"the clients closed; left={len(left)}")
        self.assertEqual(left, [])
        # every message the sessions handed over arrived
        maildir = os.path.join(self.root, "mail", "example.test", "load", "Maildir")
        tally = faultlib.Tally("load-smtp")
        for i in range(SMTP_SESSIONS):
            tally.took(f"ld{i}")
        deadline = time.time() + 90
        while True:
            got = delivered(maildir)
            if len(got) >= SMTP_SESSIONS or time.time() > deadline:
                break
            time.sleep(0.5)
        lost, _ = tally.result(got)
        self.assertEqual(lost, 0)


def delivered(maildir):
    return faultlib.maildir_ids(maildir)


def greeted(port, src, timeout=30):
    """Connects from src: (socket, first line) with the socket left open."""
    s = socket.socket()
    s.settimeout(timeout)
    s.bind((src, 0))
    s.connect(("127.0.0.1", port))
    data = b""
    try:
        while b"\n" not in data:
            chunk = s.recv(4096)
            if not chunk:
                break
            data += chunk
    except OSError:
        pass
    return s, data.decode("utf-8", "replace").strip()


class FloodTest(LoadCase):
    def flood(self, port, sources, per_source):
        """Opens per_source connections from each source at once; (served, refused)."""
        jobs = [src for src in sources for _ in range(per_source)]
        with ThreadPoolExecutor(max_workers=32) as pool:
            got = list(pool.map(lambda src: greeted(port, src), jobs))
        self.conns += [_Closer(s) for s, _ in got]
        served = sum(1 for _, line in got if line.startswith("220 "))
        refused = sum(1 for _, line in got if line.startswith("421 4.7.0 Too many"))
        return served, refused, len(got) - served - refused

    def close_all(self):
        for c in self.conns:
            c.close()
        self.conns = []

    def test_connection_flood_against_per_ip_and_total_limits(self):
        raise_nofile(2048)
        sb = self.sandbox()
        port = sb.port(25)
        served, refused, other = self.flood(port, ["127.0.0.1"], 40)
        faultlib.report(f"load: flood one ip offered=40 served={served} refused={refused} "
                        f"other={other}")
        self.assertEqual((served, refused, other), (20, 20, 0))
        # another address is still served while the first is at its limit
        s, line = greeted(port, "127.0.0.2")
        self.conns.append(_Closer(s))
        self.assertTrue(line.startswith("220 "), line)
        self.close_all()
        self.assertEqual(self.wait_sessions_gone([sb.proc.pid]), [])
        sources = [f"127.0.0.{i}" for i in range(2, 14)]  # 12 x 20 = 240 > 200
        served, refused, other = self.flood(port, sources, 20)
        faultlib.report(f"load: flood {len(sources)} ips offered={20 * len(sources)} "
                        f"served={served} refused={refused} other={other}")
        self.assertEqual((served, refused, other), (200, 20 * len(sources) - 200, 0))
        self.close_all()
        t = time.time()
        self.assertEqual(self.wait_sessions_gone([sb.proc.pid]), [])
        faultlib.report(f"load: flood sessions gone {time.time() - t:.1f}s after close")
        s, line = greeted(port, "127.0.0.1")  # served again once the flood is over
        self.conns.append(_Closer(s))
        self.assertTrue(line.startswith("220 "), line)


class _Closer:
    def __init__(self, sock):
        self.sock = sock

    def close(self):
        self.sock.close()


if __name__ == "__main__":
    import unittest
    unittest.main()
