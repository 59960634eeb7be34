"""pop3d's UIDLs: by default (pop3d.conf "uidl = imap") the same message has UIDL
"UIDVALIDITY.UID" over POP3 and that UIDVALIDITY and UID over IMAP (imapd's
estafette-uidlist), stable across sessions, with nothing renamed at login;
"uidl = maildir" keeps the file name's unique part (Courier-compatible)."""
import os
import re
import subprocess
import unittest

from harness import TempDirTestCase, program

NOBODY = 65534


class Pop3dUidlTest(TempDirTestCase):
    def setUp(self):
        super().setUp()
        self.root = os.path.join(self.tmp, "root")
        os.makedirs(os.path.join(self.root, "etc/estafette"))
        self.md = os.path.join(self.tmp, "Maildir")
        for sub in ("cur", "new", "tmp"):
            os.makedirs(os.path.join(self.md, sub))
        for i in range(3):
            name = "17000000%02d.M%dP1.host" % (i, i)
            with open(os.path.join(self.md, "new", name), "w") as f:
                f.write("Subject: %d\n\nbody %d\n" % (i, i))
        os.chmod(self.tmp, 0o755)

    def conf(self, text):
        with open(os.path.join(self.root, "etc/estafette/pop3d.conf"), "w") as f:
            f.write(text)

    def run_as_account(self, prog, data):
        env = dict(os.environ, MAILDIR=self.md, ESTAFETTE_ROOT=self.root,
                   ESTAFETTE_LOG="stderr")
        pre = None
        if os.getuid() == 0:
            for d, _, files in os.walk(self.md):
                os.chown(d, NOBODY, NOBODY)
                for f in files:
                    os.chown(os.path.join(d, f), NOBODY, NOBODY)

            def pre():
                os.setgroups([])
                os.setgid(NOBODY)
                os.setuid(NOBODY)
        r = subprocess.run([program(prog)], input=data, env=env, preexec_fn=pre,
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=30)
        return r.stdout.decode("latin-1")

    def uidls(self):
        out = self.run_as_account("pop3d", b"UIDL\r\nQUIT\r\n")
        return re.findall(r"^\d+ (\S+)\r$", out, re.M)

    def test_imap_mode_matches_imapd(self):
        self.conf("uidl = imap\n")
        first = self.uidls()
        self.assertEqual(len(first), 3)
        self.assertEqual(self.uidls(), first)
        out = self.run_as_account(
            "imapd", b"a SELECT INBOX\r\nb UID FETCH 1:* (FLAGS)\r\nc LOGOUT\r\n")
        validity = re.search(r"UIDVALIDITY (\d+)", out).group(1)
        uids = re.findall(r"^\* \d+ FETCH \(.*?UID (\d+)", out, re.M)
        self.assertEqual(sorted(first), sorted("%s.%s" % (validity, u) for u in uids))
        # a message delivered later gets the next UID, whoever sees it first
        with open(os.path.join(self.md, "new", "1700000099.M9P1.host"), "w") as f:
            f.write("Subject: late\n\nlate\n")
        if os.getuid() == 0:
            os.chown(os.path.join(self.md, "new", "1700000099.M9P1.host"), NOBODY, NOBODY)
        later = self.uidls()
        self.assertEqual(later[:3], first)
        self.assertEqual(later[3], "%s.%d" % (validity, max(int(u) for u in uids) + 1))

    def test_maildir_mode_is_the_file_name(self):
        self.conf("uidl = maildir\n")
        self.assertEqual(self.uidls(), ["17000000%02d.M%dP1.host" % (i, i) for i in range(3)])
        self.assertFalse(os.path.exists(os.path.join(self.md, "estafette-uidlist")))

    def test_default_is_imap_and_renames_nothing(self):
        self.conf("")
        first = self.uidls()
        self.assertEqual(len(first), 3)
        validity = first[0].split(".")[0]
        self.assertEqual(first, ["%s.%d" % (validity, i + 1) for i in range(3)])
        self.assertEqual(len(os.listdir(os.path.join(self.md, "new"))), 3)
        self.assertEqual(os.listdir(os.path.join(self.md, "cur")), [])
        out = self.run_as_account("imapd", b"a SELECT INBOX\r\nb LOGOUT\r\n")
        self.assertIn("* 3 RECENT", out)
        self.assertIn("[UIDVALIDITY %s]" % validity, out)
        self.assertEqual(os.listdir(os.path.join(self.md, "new")), [])
        self.assertEqual(self.uidls(), first)

    def test_bad_setting_refused_by_login_stage(self):
        self.conf("uidl = courier\n")
        env = dict(os.environ, ESTAFETTE_ROOT=self.root, ESTAFETTE_LOG="stderr")
        pre = None
        if os.getuid() == 0:
            def pre():
                os.setgroups([])
                os.setgid(NOBODY)
                os.setuid(NOBODY)
        r = subprocess.run([program("pop3-login")], input=b"QUIT\r\n", env=env,
                           preexec_fn=pre, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           timeout=30)
        self.assertEqual(r.returncode, 78, r.stderr)
        self.assertIn(b"uidl must be maildir or imap", r.stderr)


if __name__ == "__main__":
    unittest.main()
