"""Privileges of a running sandbox (issue 10), as root only: with an SMTP, an IMAP and a
POP3 session logged in and a message being delivered, every process of the instance is
listed from /proc (uid, gid, groups, CapEff) and none that faces the network or parses
content may run as root or hold a capability. Then the modes of the queue, the
configuration (keys not world-readable), the Maildirs (0700), the sockets and the set-id
programs are checked."""

import base64
import os
import pwd
import grp
import socket
import stat
import time
import unittest

from harness import Sandbox, TempDirTestCase, program, SANITIZED
import faultlib

USER, PASSWORD = "priv@example.test", "priv pass 3"
NEEDED = ("listener", "smtpd", "submit", "authd", "courierd", "deliver", "deliver-spawn",
          "imap-login", "imapd", "pop3-login", "pop3d", "auth-exec")
# Root by design (docs/ARCHITECTURE.md): gets a job and a descriptor from courierd, asks
# authd for the account and forks deliver under it; never reads message content.
ROOT_ALLOWED = {"deliver-spawn"}
MUST_SEE = {"listener", "smtpd", "imap-login", "imapd", "pop3-login", "pop3d", "authd",
            "courierd", "deliver-spawn", "deliver"}


class Line:
    def __init__(self, port):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=20)
        self.buf = b""

    def line(self):
        while b"\r\n" not in self.buf:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise EOFError(self.buf)
            self.buf += chunk
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line.decode("utf-8", "replace")

    def cmd(self, text, done):
        self.sock.sendall(text.encode() + b"\r\n")
        while True:
            line = self.line()
            if done(line):
                return line

    def close(self):
        self.sock.close()


def smtp_done(line):
    return line[3:4] != "-"


@unittest.skipUnless(os.geteuid() == 0, "privileges are checked as root")
@unittest.skipIf(SANITIZED, "set-id programs do not run under the sanitizers")
class PrivilegeTest(TempDirTestCase):
    def setUp(self):
        super().setUp()
        for prog in NEEDED:
            if not os.access(program(prog), os.X_OK):
                self.skipTest(prog + " is not built")
        self.root = os.path.join(self.tmp, "inst")
        self.sb = Sandbox(self.root, users=[USER + ":" + PASSWORD]).start()
        self.conns = []

    def tearDown(self):
        for c in self.conns:
            c.close()
        self.sb.stop()
        super().tearDown()

    def home(self):
        return os.path.join(self.root, "mail", "example.test", "priv")

    def slow_delivery(self):
        """A .courier whose program keeps deliver alive for a few seconds."""
        path = os.path.join(self.home(), ".courier")
        with open(path, "w") as f:
            f.write("./Maildir/\n| sleep 6\n")
        pw = pwd.getpwnam("estafette-mail")
        os.chown(path, pw.pw_uid, pw.pw_gid)
        os.chmod(path, 0o644)

    def pre_login(self):
        """Sessions that stay in the login stages, and a connection to authd."""
        for port in (143, 110):
            c = Line(self.sb.port(port))
            self.conns.append(c)
            c.line()
        a = socket.socket(socket.AF_UNIX)
        a.connect(os.path.join(self.root, "var", "run", "estafette", "authd", "socket"))
        self.conns.append(a)

    def sessions(self):
        imap = Line(self.sb.port(143))
        self.conns.append(imap)
        imap.line()
        reply = imap.cmd(f'a LOGIN {USER} "{PASSWORD}"', lambda l: l.startswith("a "))
        self.assertTrue(reply.startswith("a OK"), reply)
        pop = Line(self.sb.port(110))
        self.conns.append(pop)
        pop.line()
        self.assertTrue(pop.cmd("USER " + USER, lambda l: True).startswith("+OK"))
        reply = pop.cmd("PASS " + PASSWORD, lambda l: True)
        self.assertTrue(reply.startswith("+OK"), reply)
        smtp = Line(self.sb.port(587))
        self.conns.append(smtp)
        smtp.line()
        smtp.cmd("EHLO priv.example", smtp_done)
        plain = base64.b64encode(f"\0{USER}\0{PASSWORD}".encode()).decode()
        self.assertTrue(smtp.cmd("AUTH PLAIN " + plain, smtp_done).startswith("235"))
        for c in (f"MAIL FROM:<{USER}>", f"RCPT TO:<{USER}>"):
            self.assertTrue(smtp.cmd(c, smtp_done).startswith("250"))
        self.assertTrue(smtp.cmd("DATA", smtp_done).startswith("354"))
        smtp.sock.sendall(b"Subject: privileges\r\n\r\n" + b"body line\r\n" * 2000)
        return smtp

    def snapshot(self, seen):
        table = faultlib.proc_table()
        for pid in faultlib.descendants(self.sb.proc.pid, table):
            try:
                name = faultlib.exe_name(pid)
                st = faultlib.proc_status(pid)
            except OSError:
                continue
            seen[(pid, name)] = st

    def test_no_root_or_capability_where_input_is_parsed(self):
        self.slow_delivery()
        self.pre_login()
        smtp = self.sessions()
        seen = {}
        time.sleep(0.5)
        self.snapshot(seen)  # smtpd mid-DATA, with submit reading the message
        smtp.sock.sendall(b".\r\n")
        self.assertTrue(smtp.line().startswith("250"))
        deadline = time.time() + 20
        while time.time() < deadline and "deliver" not in {n for _, n in seen}:
            self.snapshot(seen)
            time.sleep(0.1)
        self.snapshot(seen)
        rows, bad = [], []
        for (pid, name), st in sorted(seen.items()):
            uids, gids = st["Uid"], st["Gid"]
            groups = st.get("Groups", [])
            caps = st["CapEff"][0]
            rows.append(f"{pid:>7} {name:<14} uid={','.join(uids):<24} gid={','.join(gids):<24} "
                        f"groups={','.join(groups) or '-':<12} CapEff={caps}")
            if name in ROOT_ALLOWED:
                continue
            if "0" in uids or "0" in gids or "0" in groups or int(caps, 16) \
                    or int(st["CapPrm"][0], 16):
                bad.append(rows[-1])
        faultlib.report("privileges: every process of the instance\n" + "\n".join(rows))
        self.assertEqual(bad, [], "root or capabilities where input is parsed")
        missing = MUST_SEE - {n for _, n in seen}
        with open(os.path.join(self.root, "var", "log", "estafette.log")) as f:
            log = f.read()
        self.assertEqual(missing, set(), "processes not seen:\n" + log[-2500:])
        for short in ("submit", "remote", "maildrop"):
            if short not in {n for _, n in seen}:
                faultlib.report(f"privileges: {short} was not seen running")
        for c in self.conns:
            c.close()
        self.conns = []
        self.check_modes()

    def mode_of(self, path):
        return stat.S_IMODE(os.lstat(path).st_mode)

    def check_modes(self):
        bad = []
        root = self.root
        queue_user = pwd.getpwnam("estafette")
        queue = os.path.join(root, "var", "spool", "estafette")
        st = os.stat(queue)
        if (st.st_uid, st.st_gid) != (queue_user.pw_uid, queue_user.pw_gid) \
                or self.mode_of(queue) != 0o750:
            bad.append(f"queue {oct(self.mode_of(queue))} {st.st_uid}:{st.st_gid}")
        for d, dirs, files in os.walk(queue):
            for n in dirs + files:
                p = os.path.join(d, n)
                if self.mode_of(p) & 0o007:
                    bad.append(f"queue entry open to others: {p} {oct(self.mode_of(p))}")
        etc = os.path.join(root, "etc", "estafette")
        if self.mode_of(etc) & 0o022:
            bad.append(f"config dir writable by others: {oct(self.mode_of(etc))}")
        for n in os.listdir(etc):
            p = os.path.join(etc, n)
            m = self.mode_of(p)
            if m & 0o002:
                bad.append(f"config file world-writable: {n} {oct(m)}")
            secret = n == "authd.key" or n.endswith(".pem") or n.endswith(".key") \
                or n.startswith("userdb")
            if secret and m & 0o004:
                bad.append(f"secret readable by everyone: {n} {oct(m)}")
            if n == "authd.key" and m & 0o077:
                bad.append(f"authd.key readable beyond its owner: {oct(m)}")
        mail = pwd.getpwnam("estafette-mail")
        for local in ("priv", "demo"):
            md = os.path.join(root, "mail", "example.test", local, "Maildir")
            for d, dirs, files in os.walk(md):
                st = os.stat(d)
                if stat.S_IMODE(st.st_mode) != 0o700 or st.st_uid != mail.pw_uid:
                    bad.append(f"Maildir dir {d} {oct(stat.S_IMODE(st.st_mode))} "
                               f"uid {st.st_uid}")
                for n in files:
                    if self.mode_of(os.path.join(d, n)) & 0o077:
                        bad.append(f"message readable beyond the account: {d}/{n}")
        run = os.path.join(root, "var", "run", "estafette")
        sock_dir = os.path.join(run, "authd")
        auth = pwd.getpwnam("estafette-auth")
        if self.mode_of(sock_dir) & 0o022 or os.stat(sock_dir).st_uid != auth.pw_uid:
            bad.append(f"authd socket directory {oct(self.mode_of(sock_dir))}")
        sock = os.path.join(sock_dir, "socket")
        if not stat.S_ISSOCK(os.lstat(sock).st_mode) or os.lstat(sock).st_uid != auth.pw_uid:
            bad.append("authd socket not a socket of the auth user")
        trigger = os.path.join(run, "trigger")
        if os.path.exists(trigger) and self.mode_of(trigger) & 0o006:
            bad.append(f"trigger fifo open to others: {oct(self.mode_of(trigger))}")
        setid = self.set_id_files()
        expected = {("libexec/estafette/auth-exec", "u", 0, "estafette-net"),
                    ("libexec/estafette/submit", "g", 0, "estafette")}
        for rel, kind, uid, group in setid:
            if (rel, kind, uid, group) not in expected:
                bad.append(f"unexpected set-id file {rel} ({kind}, uid {uid}, group {group})")
        ae = os.path.join(root, "libexec", "estafette", "auth-exec")
        if self.mode_of(ae) & 0o007:
            bad.append(f"auth-exec runnable by everyone: {oct(self.mode_of(ae))}")
        faultlib.report(f"privileges: modes checked (queue, config, Maildirs, sockets, "
                        f"{len(setid)} set-id files); authd socket mode "
                        f"{oct(self.mode_of(sock))} (peers checked by SO_PEERCRED); "
                        f"problems={len(bad)}")
        self.assertEqual(bad, [])

    def set_id_files(self):
        out = []
        for d, dirs, files in os.walk(self.root):
            for n in files:
                p = os.path.join(d, n)
                st = os.lstat(p)
                if not stat.S_ISREG(st.st_mode):
                    continue
                for bit, kind in ((stat.S_ISUID, "u"), (stat.S_ISGID, "g")):
                    if st.st_mode & bit:
                        out.append((os.path.relpath(p, self.root), kind, st.st_uid,
                                    grp.getgrgid(st.st_gid).gr_name))
        return out


if __name__ == "__main__":
    unittest.main()
