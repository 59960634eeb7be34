"""Shared pieces of the fault, load and privilege tests (issue 10): an instance with
authd, courierd and smtpd (smtpd on a socketpair, as inetd runs it), a small tmpfs or a
read-only bind mount for the queue and Maildirs (root only), processes of an instance
read from /proc, and the tally every fault test prints on stderr:

    faults: NAME in=N out=N lost=N duplicated=N refused=N

in = messages the system answered 2xx for (it took responsibility); out = those found
delivered (or bounced to their sender); lost = in - out; duplicated = deliveries beyond
the first; refused = 4xx answers (the client keeps the message and retries). With
ESTAFETTE_FAULTS_REPORT=FILE each line is appended to FILE as well."""

import os
import re
import signal
import socket
import subprocess
import sys
import time

from test_courierd import Instance, AS_ROOT, DOMAIN
from smtpd_util import Client

FAULT_ID = re.compile(rb"^X-Fault-Id: (\S+)$", re.M)


def report(line):
    """One result line on stderr (and in $ESTAFETTE_FAULTS_REPORT)."""
    print("\n" + line, file=sys.stderr, flush=True)
    path = os.environ.get("ESTAFETTE_FAULTS_REPORT")
    if path:
        with open(path, "a") as f:
            f.write(line + "\n")


class Tally:
    """Messages handed to the system, and what came out of it."""

    def __init__(self, name):
        self.name = name
        self.accepted = set()
        self.refused = 0

    def took(self, mid):
        self.accepted.add(mid)

    def result(self, delivered):
        """delivered: fault id -> copies found. Returns (lost, duplicated)."""
        out = {m for m in self.accepted if delivered.get(m, 0) > 0}
        dups = sum(max(0, delivered.get(m, 0) - 1) for m in self.accepted)
        lost = len(self.accepted) - len(out)
        report(f"faults: {self.name} in={len(self.accepted)} out={len(out)} lost={lost} "
               f"duplicated={dups} refused={self.refused}")
        return lost, dups


def sanitizer_errors(text):
    """Lines of an ASan/UBSan/LSan finding in a log (LeakSanitizer's refusal to run in a
    set-id program, submit, is no finding)."""
    marks = ("ERROR: AddressSanitizer", "runtime error:", "detected memory leaks")
    return [l for l in text.splitlines() if any(m in l for m in marks)]


def message(mid, size=0, crlf=False):
    """A message carrying its fault id, padded to about size bytes."""
    nl = b"\r\n" if crlf else b"\n"
    head = b"X-Fault-Id: " + mid.encode() + nl + b"Subject: fault " + mid.encode() + nl + nl
    line = b"x" * 76 + nl
    return head + line * max(1, (size - len(head)) // len(line))


class MailPath(Instance):
    """test_courierd's instance plus smtpd on socketpairs and account passwords."""

    def __init__(self, tmp, conf="retry_schedule = 1s\nscan_interval = 1s\n"):
        super().__init__(tmp, conf=conf)
        self.write("smtpd.conf", "tarpit_delay = 0\n")
        self.smtpds = []

    def passwd(self, local, password):
        self.userdb(f"{local}@{DOMAIN}", "passwd", stdin=password + "\n")
        self.userdb("compile")

    def smtp(self, ip="127.0.0.1"):
        """smtpd on a socketpair; returns the Client after the greeting was read."""
        ours, theirs = socket.socketpair()
        env = dict(self.env, TCPREMOTEIP=ip, TCPREMOTEPORT="40000", TCPLOCALIP="127.0.0.1",
                   TCPLOCALPORT="25", PROTO="TCP")
        p = subprocess.Popen([os.path.join(self.libexec, "smtpd")], stdin=theirs, stdout=theirs,
                             stderr=self.log, env=env)
        theirs.close()
        self.smtpds.append(p)
        c = Client(ours, p)
        code, lines = c.reply()
        assert code == 220, lines
        return c

    def send(self, mid, rcpt, size=2000, sender="x@example.org", c=None):
        """One message over SMTP; returns the final reply code (0: connection lost)."""
        own = c is None
        c = c or self.smtp()
        try:
            for cmd in ("EHLO client.example", f"MAIL FROM:<{sender}>", f"RCPT TO:<{rcpt}>",
                        "DATA"):
                code, _ = c.cmd(cmd)
                if code >= 400:
                    c.cmd("RSET")
                    return code
            c.send(message(mid, size, crlf=True) + b".\r\n")
            return c.reply()[0]
        except (EOFError, OSError):
            return 0
        finally:
            if own:
                c.close()

    def submit_raw(self, data):
        """submit(8) run directly with data on its standard input."""
        return subprocess.run([os.path.join(self.libexec, "submit")], input=data,
                              capture_output=True, env=self.env, timeout=30)

    def delivered(self, local):
        """fault id -> number of copies in local's Maildir (new and cur)."""
        return maildir_ids(os.path.join(self.home(local), "Maildir"))

    def wait_delivered(self, local, ids, timeout=60):
        deadline = time.time() + timeout
        while time.time() < deadline:
            got = self.delivered(local)
            if all(got.get(i) for i in ids):
                return got
            time.sleep(0.2)
        return self.delivered(local)

    def queue_files(self, area):
        return [os.path.join(d, f) for d, _, fs in os.walk(os.path.join(self.queue, area))
                for f in fs]

    def close(self):
        keep = os.environ.get("ESTAFETTE_FAULTS_KEEP")  # a directory for the logs
        if keep:
            os.makedirs(keep, exist_ok=True)
            with open(os.path.join(keep, f"log.{os.getpid()}.{time.time():.0f}"), "w") as f:
                f.write(self.logtext())
        for p in self.smtpds:
            if p.poll() is None:
                p.kill()
                p.wait()
        super().close()


def maildir_ids(maildir):
    """fault id -> copies in a Maildir's new/ and cur/. A message that a reader (imapd)
    moves from new/ to cur/ meanwhile is counted once: by its unique name."""
    files = {}
    for sub in ("cur", "new"):  # cur first: a move goes new -> cur
        d = os.path.join(maildir, sub)
        for name in os.listdir(d) if os.path.isdir(d) else ():
            files.setdefault(name.split(":", 1)[0], name)
    got = {}
    for uniq, name in files.items():
        m = FAULT_ID.search(_read_moving(maildir, uniq, name))
        if m:
            mid = m.group(1).decode()
            got[mid] = got.get(mid, 0) + 1
    return got


def _read_moving(maildir, uniq, name):
    """The head of a message that may move from new/ to cur/ (and change flags)."""
    for _ in range(3):
        for sub in ("new", "cur"):
            try:
                with open(os.path.join(maildir, sub, name), "rb") as f:
                    return f.read(65536)
            except FileNotFoundError:
                pass
        names = [n for n in _listdir(maildir, "cur") if n.split(":", 1)[0] == uniq]
        if not names:
            return b""
        name = names[0]
    return b""


def _listdir(maildir, sub):
    try:
        return os.listdir(os.path.join(maildir, sub))
    except FileNotFoundError:
        return []


class Mounts:
    """tmpfs and read-only bind mounts a test makes; undone by umount_all()."""

    def __init__(self, testcase):
        self.tc = testcase
        self.points = []

    def _mount(self, argv, path):
        if not AS_ROOT:
            self.tc.skipTest("mounting needs root")
        r = subprocess.run(argv, capture_output=True, text=True)
        if r.returncode != 0:
            self.tc.skipTest("mount not permitted here: " + r.stderr.strip())
        self.points.append(path)

    def tmpfs(self, path, size):
        """A tmpfs of size bytes over path, keeping path's contents, owner and mode."""
        st = os.stat(path)
        aside = path + ".aside"
        subprocess.run(["cp", "-a", path, aside], check=True)
        self._mount(["mount", "-t", "tmpfs", "-o", f"size={size},mode=0700", "tmpfs", path],
                    path)
        subprocess.run(["cp", "-a", aside + "/.", path + "/"], check=True)
        os.chown(path, st.st_uid, st.st_gid)
        os.chmod(path, st.st_mode & 0o7777)
        subprocess.run(["rm", "-rf", aside], check=True)

    def read_only(self, path):
        """path bind-mounted over itself, read-only (as root, the only way to refuse
        writes to a root process)."""
        self._mount(["mount", "--bind", path, path], path)
        r = subprocess.run(["mount", "-o", "remount,bind,ro", path], capture_output=True,
                           text=True)
        if r.returncode != 0:
            self.tc.skipTest("read-only remount not permitted: " + r.stderr.strip())

    def umount(self, path):
        if path in self.points:
            subprocess.run(["umount", path], capture_output=True)
            if os.path.ismount(path):
                subprocess.run(["umount", "-l", path], capture_output=True)
            self.points.remove(path)

    def umount_all(self):
        for path in reversed(list(self.points)):
            self.umount(path)


def fill(path, leave):
    """A file at path taking all but about `leave` bytes of its filesystem (leave=0:
    every last block)."""
    st = os.statvfs(os.path.dirname(path))
    size = max(0, st.f_bavail * st.f_frsize - leave)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    try:
        chunk = 65536
        while size > 0 or leave == 0:
            try:
                size -= os.write(fd, b"\0" * (min(size, chunk) if size > 0 else chunk))
            except OSError:
                if leave or chunk == 512:
                    break
                chunk = 512
    finally:
        os.close(fd)


# -- processes --------------------------------------------------------------------

def proc_table():
    """pid -> (ppid, comm) of every process."""
    out = {}
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat") as f:
                stat = f.read()
        except OSError:
            continue
        comm = stat[stat.index("(") + 1:stat.rindex(")")]
        fields = stat[stat.rindex(")") + 2:].split()
        if fields[0] == "Z":
            continue
        out[int(name)] = (int(fields[1]), comm)
    return out


def descendants(pid, table=None):
    """Every live process below pid (not pid itself)."""
    table = table or proc_table()
    kids = {}
    for p, (ppid, _) in table.items():
        kids.setdefault(ppid, []).append(p)
    out, todo = [], list(kids.get(pid, []))
    while todo:
        p = todo.pop()
        out.append(p)
        todo += kids.get(p, [])
    return sorted(out)


def proc_status(pid):
    """The Uid, Gid, Groups and CapEff/CapPrm lines of /proc/pid/status as a dict."""
    want = ("Name", "Uid", "Gid", "Groups", "CapEff", "CapPrm")
    out = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            k, _, v = line.partition(":")
            if k in want:
                out[k] = v.split()
    return out


def exe_name(pid):
    """The program's file name (argv[0]'s base name when the exe link is unreadable)."""
    try:
        return os.path.basename(os.readlink(f"/proc/{pid}/exe")).replace(" (deleted)", "")
    except OSError:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return os.path.basename(f.read().split(b"\0", 1)[0].decode(errors="replace"))


def kill_quietly(pid, sig=signal.SIGKILL):
    try:
        os.kill(pid, sig)
    except ProcessLookupError:
        pass
