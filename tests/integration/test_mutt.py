"""mutt (Debian's) against imapd of a sandbox, in a scripted session on a pseudo-terminal,
in plain text and over STARTTLS (verifying the sandbox's certificate): it reads one
message, moves one to another folder (save + delete + expunge, or MOVE), deletes one and
leaves one alone; afterwards the Maildir is checked byte by byte.
Skips when mutt is not installed. mutt's keys come from `-e 'push ...'`; searches by
subject (`~s`) pick the messages, so the order the server lists them in does not matter."""

import os
import pty
import select
import shutil
import signal
import subprocess
import time

from harness import Sandbox, TempDirTestCase, program

USER, PASSWORD = "mutt@example.test", "mutt pass 3"
NEEDED = ("listener", "imap-login", "imapd", "authd", "auth-exec")


def message(subject, n):
    """A message as stored in a Maildir (LF line ends); n makes each one distinct."""
    return (f"From: Sender {n} <sender{n}@example.org>\nTo: {USER}\n"
            f"Subject: {subject}\nDate: Sun, 22 Nov 2026 06:0{n}:00 +0000\n"
            f"Message-ID: <{n}.mutt@example.org>\nMIME-Version: 1.0\n"
            f"Content-Type: text/plain; charset=utf-8\n\n"
            f"Body of {subject}.\nSecond line, n={n}, \u00e4\u00f6\u00fc.\n").encode()


MESSAGES = {name: message(name, i) for i, name in
            enumerate(("read-me", "move-me", "delete-me", "keep-me"), 1)}


def folder_files(path):
    """{file name: bytes} of cur/ and new/ of one Maildir folder."""
    got = {}
    for sub in ("cur", "new"):
        d = os.path.join(path, sub)
        for name in sorted(os.listdir(d)):
            with open(os.path.join(d, name), "rb") as f:
                got[sub + "/" + name] = f.read()
    return got


def flags_of(name):
    return name.rsplit(":2,", 1)[1] if ":2," in name else ""


class MuttTest(TempDirTestCase):
    def setUp(self):
        super().setUp()
        if shutil.which("mutt") is None:
            self.skipTest("mutt is not installed (apt-get install mutt)")
        for prog in NEEDED:
            if not os.access(program(prog), os.X_OK):
                self.skipTest(prog + " is not built")

    def fill(self, maildir):
        """The four messages in INBOX's cur/ and an empty .Archive, owned like the Maildir."""
        st = os.stat(maildir)
        archive = os.path.join(maildir, ".Archive")
        for sub in ("cur", "new", "tmp"):
            os.makedirs(os.path.join(archive, sub))
        open(os.path.join(archive, "maildirfolder"), "wb").close()
        for i, (name, data) in enumerate(MESSAGES.items(), 1):
            path = os.path.join(maildir, "cur", f"1795000000.M{i}P1.mutt,S={len(data)}:2,")
            with open(path, "wb") as f:
                f.write(data)
        for top, dirs, files in os.walk(maildir):
            for entry in [top] + [os.path.join(top, x) for x in files]:
                os.chown(entry, st.st_uid, st.st_gid)
        return archive

    def muttrc(self, url, tls_cert):
        path = os.path.join(self.tmp, "muttrc")
        tls = "yes" if tls_cert else "no"
        with open(path, "w") as f:
            f.write(f'set imap_user="{USER}"\nset imap_pass="{PASSWORD}"\n'
                    f'set folder="{url}/"\nset spoolfile="+INBOX"\n'
                    f"set ssl_starttls={tls}\nset ssl_force_tls={tls}\nset record=\"\"\n"
                    "set postponed=\"\"\nset mbox=\"\"\nset move=no\nset confirmappend=no\n"
                    "set confirmcreate=no\nset delete=yes\nset quit=yes\nset wait_key=no\n"
                    "set sort=mailbox-order\nset imap_keepalive=0\nset timeout=5\n"
                    "set header_cache=\"\"\nset message_cachedir=\"\"\nset pager_stop=yes\n"
                    "set mark_old=no\n")  # else unread mail gets the keyword Old
            if tls_cert:  # trust the sandbox's self-signed certificate, nothing else
                f.write(f'set certificate_file="{tls_cert}"\n')
        return path

    def run_mutt(self, url, keys, tls_cert=None, timeout=60):
        """mutt on a pseudo-terminal until it exits; returns (exit status, screen bytes)."""
        master, slave = pty.openpty()
        env = dict(os.environ, HOME=self.tmp, TERM="vt100", LINES="30", COLUMNS="100")
        proc = subprocess.Popen(
            ["mutt", "-n", "-F", self.muttrc(url, tls_cert), "-f", f"{url}/INBOX",
             "-e", f'push "{keys}"'], stdin=slave, stdout=slave, stderr=slave, env=env,
            start_new_session=True)
        os.close(slave)
        screen = b""
        deadline = time.time() + timeout
        try:
            while time.time() < deadline:
                ready, _, _ = select.select([master], [], [], 0.5)
                if ready:
                    try:
                        chunk = os.read(master, 65536)
                    except OSError:  # EIO: the terminal's last writer is gone
                        break
                    if not chunk:
                        break
                    screen += chunk
                elif proc.poll() is not None:
                    break
            try:
                return proc.wait(timeout=max(1.0, deadline - time.time())), screen
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
                self.fail("mutt did not finish within %d s; screen: %r" % (timeout, screen[-2000:]))
        finally:
            os.close(master)

    def test_read_move_delete(self):
        self.session(tls=False)

    def test_read_move_delete_over_starttls(self):
        self.session(tls=True)

    def session(self, tls):
        """Read one message, move one, delete one; then check the Maildir."""
        root = os.path.join(self.tmp, "inst")
        with Sandbox(root, users=[USER + ":" + PASSWORD]) as sb:
            maildir = os.path.join(root, "mail/example.test/mutt/Maildir")
            archive = self.fill(maildir)
            keys = ("<search>~s read-me<enter><display-message><exit>"
                    "<search>~s move-me<enter><save-message>=INBOX.Archive<enter>"
                    "<search>~s delete-me<enter><delete-message>"
                    "<sync-mailbox><quit>")
            # STARTTLS verified against the sandbox's certificate (issued for localhost)
            cert = os.path.join(root, "etc/estafette/imapd.pem") if tls else None
            host = "localhost" if tls else "127.0.0.1"
            status, screen = self.run_mutt(f"imap://{host}:{sb.port(143)}", keys, cert)
            self.assertEqual(status, 0, screen[-2000:])
            if tls:
                self.assertIn(b"SSL/TLS connection using TLS", screen)
            inbox = folder_files(maildir)
            moved = folder_files(archive)
        # INBOX: read-me (now \Seen) and keep-me (untouched), byte for byte
        by_body = {data: name for name, data in inbox.items()}
        self.assertEqual(sorted(inbox.values()),
                         sorted([MESSAGES["read-me"], MESSAGES["keep-me"]]), screen[-2000:])
        self.assertEqual(flags_of(by_body[MESSAGES["read-me"]]), "S")
        self.assertEqual(flags_of(by_body[MESSAGES["keep-me"]]), "")
        self.assertTrue(by_body[MESSAGES["keep-me"]].startswith("cur/1795000000.M4P1.mutt"))
        # .Archive: exactly the moved message, identical bytes, not marked deleted
        self.assertEqual(list(moved.values()), [MESSAGES["move-me"]])
        self.assertNotIn("T", flags_of(next(iter(moved))))
        # the deleted one is gone from every folder, nothing is left in tmp/
        for folder in (maildir, archive):
            self.assertEqual(os.listdir(os.path.join(folder, "tmp")), [])
        every = list(inbox.values()) + list(moved.values())
        self.assertNotIn(MESSAGES["delete-me"], every)
        self.assertEqual(len(every), 3)
