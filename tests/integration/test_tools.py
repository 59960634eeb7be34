"""The user and admin commands that exist so far, run as a user would."""

import os
import subprocess
import warnings

from harness import TempDirTestCase, program

with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)
    try:
        import crypt
    except ImportError:
        crypt = None


def run(argv, **kw):
    return subprocess.run(argv, capture_output=True, text=True, timeout=60, **kw)


class MaildirmakeTest(TempDirTestCase):
    def test_maildir_and_folder(self):
        md = os.path.join(self.tmp, "Maildir")
        r = run([program("maildirmake"), md])
        self.assertEqual(r.returncode, 0, r.stderr)
        for sub in ("tmp", "new", "cur"):
            self.assertTrue(os.path.isdir(os.path.join(md, sub)))
        r = run([program("maildirmake"), "-f", "Sent", md])
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertTrue(os.path.isdir(os.path.join(md, ".Sent", "cur")))
        self.assertTrue(os.path.isfile(os.path.join(md, ".Sent", "maildirfolder")))

    def test_refuses_bad_folder_names(self):
        md = os.path.join(self.tmp, "Maildir")
        run([program("maildirmake"), md])
        for bad in ["../../etc", "a/b", "a..b", ""]:
            r = run([program("maildirmake"), "-f", bad, md])
            self.assertNotEqual(r.returncode, 0, bad)
            self.assertTrue(r.stderr.strip(), bad)
        self.assertEqual(sorted(os.listdir(md)), ["cur", "new", "tmp"])

    def test_quota(self):
        md = os.path.join(self.tmp, "Maildir")
        r = run([program("maildirmake"), "-q", "10000000S,1000C", md])
        self.assertEqual(r.returncode, 0, r.stderr)
        with open(os.path.join(md, "maildirsize")) as f:
            self.assertEqual(f.readline().strip(), "10000000S,1000C")
        r = run([program("maildirmake"), "-q", "lots", os.path.join(self.tmp, "M2")])
        self.assertNotEqual(r.returncode, 0)


class MakemapTest(TempDirTestCase):
    def test_compile_and_query(self):
        src = os.path.join(self.tmp, "access")
        with open(src, "w") as f:
            f.write("# comment\n127.0.0.1 allow,relay\nspam.example deny\n")
        r = run([program("makemap"), src])
        self.assertEqual(r.returncode, 0, r.stderr)
        r = run([program("makemap"), "-q", "127.0.0.1", src + ".cdb"])
        self.assertEqual((r.returncode, r.stdout.strip()), (0, "allow,relay"))
        r = run([program("makemap"), "-q", "10.0.0.1", src + ".cdb"])
        self.assertEqual(r.returncode, 1)

    def test_malformed_source_names_the_line(self):
        src = os.path.join(self.tmp, "bad")
        with open(src, "wb") as f:
            f.write(b"ok value\nkey\x00 x\n")
        r = run([program("makemap"), src])
        self.assertNotEqual(r.returncode, 0)
        self.assertIn(":2", r.stderr)
        self.assertFalse(os.path.exists(src + ".cdb"))


class UserdbpwTest(TempDirTestCase):
    def test_hash_from_pipe(self):
        for flag, prefix in (([], "$y$"), (["-b"], "$2b$"), (["-6"], "$6$")):
            r = run([program("userdbpw")] + flag, input="secret\n")
            self.assertEqual(r.returncode, 0, r.stderr)
            h = r.stdout.strip()
            self.assertTrue(h.startswith(prefix), h)
            if crypt:
                self.assertEqual(crypt.crypt("secret", h), h)

    def test_empty_password_refused(self):
        r = run([program("userdbpw")], input="")
        self.assertNotEqual(r.returncode, 0)
