"""scripts/sandbox: an instance comes up with its accounts, config and Maildirs,
and stops cleanly on Ctrl-C and on --stop."""

import os
import pwd
import stat
import subprocess
import warnings

from harness import (TOP, BUILD_DIR, Sandbox, TempDirTestCase, authd_request, free_base_port,
                     process_alive, sasl_plain)

with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)
    try:
        import crypt  # verifies the hashes with the system's crypt(3), independent of ours
    except ImportError:
        crypt = None


def read_userdb(root):
    entries = {}
    with open(os.path.join(root, "etc/estafette/userdb")) as f:
        for line in f:
            if line.startswith("#") or "\t" not in line:
                continue
            address, fields = line.rstrip("\n").split("\t", 1)
            entries[address] = dict(kv.split("=", 1) for kv in fields.split("|"))
    return entries


class SandboxTest(TempDirTestCase):
    def test_demo_and_named_accounts(self):
        root = os.path.join(self.tmp, "inst")
        sb = Sandbox(root, users=["alice@Example.ORG:s3cret pass", "bob:pw:with:colons"])
        with sb:
            self.assertEqual(set(sb.accounts),
                             {"demo@example.test", "alice@example.org", "bob@example.test"})
            self.assertEqual(sb.accounts["alice@example.org"], "s3cret pass")
            with open(os.path.join(root, "etc/estafette/locals")) as f:
                self.assertEqual(f.read().split(), ["example.org", "example.test"])
            db = read_userdb(root)
            self.assertEqual(set(db), set(sb.accounts))
            for address, fields in db.items():
                maildir = fields["mail"]
                local, domain = address.split("@")
                self.assertEqual(maildir, os.path.join(root, "mail", domain, local, "Maildir"))
                for sub in ("tmp", "new", "cur"):
                    self.assertTrue(os.path.isdir(os.path.join(maildir, sub)), maildir)
                self.assertTrue(fields["systempw"].startswith("$"))
            if crypt:
                pw = db["bob@example.test"]["systempw"]
                self.assertEqual(crypt.crypt("pw:with:colons", pw), pw)
                self.assertNotEqual(crypt.crypt("pw", pw), pw)
                demo = db["demo@example.test"]["systempw"]
                self.assertEqual(crypt.crypt(sb.accounts["demo@example.test"], demo), demo)
            st = os.stat(os.path.join(root, "etc/estafette/userdb"))
            self.assertEqual(stat.S_IMODE(st.st_mode), 0o600)
            self.assertTrue(os.path.exists(os.path.join(root, "var/run/estafette/sandbox.pid")))
            # every account logs in with its full address and password, through authd
            sock = os.path.join(root, "var/run/estafette/authd/socket")
            for address, password in sb.accounts.items():
                r = authd_request(sock, f"AUTH imap PLAIN 127.0.0.1 {sasl_plain(address, password)}")
                self.assertTrue(r.startswith("OK "), (address, r))
                self.assertIn("Maildir", r)
            r = authd_request(sock, "AUTH imap PLAIN 127.0.0.1 " +
                              sasl_plain("alice@example.org", "wrong"))
            self.assertTrue(r.startswith("NO"), r)
        self.assertEqual(sb.proc.returncode, 0)
        self.assertFalse(os.path.exists(os.path.join(root, "var/run/estafette/sandbox.pid")))

    def test_restart_keeps_accounts_and_mail(self):
        root = os.path.join(self.tmp, "inst")
        with Sandbox(root, users=["carol@example.net:one"]):
            pass
        marker = os.path.join(root, "mail/example.net/carol/Maildir/new/1.M1P1.test")
        with open(marker, "w") as f:
            f.write("Subject: kept\n\nbody\n")
        with Sandbox(root) as sb:
            self.assertIn("carol@example.net", read_userdb(root))
            self.assertIn("demo@example.test", sb.accounts)
            self.assertTrue(os.path.exists(marker))
            with open(os.path.join(root, "etc/estafette/locals")) as f:
                self.assertIn("example.net", f.read().split())

    def test_background_and_stop(self):
        root = os.path.join(self.tmp, "inst")
        base = str(free_base_port())
        cmd = [os.path.join(TOP, "scripts/sandbox"), "--root", root, "--base-port", base,
               "--no-build", "--build-dir", BUILD_DIR]
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("demo@example.test", r.stdout)
        self.assertIn(f"smtp        {int(base) + 25}", r.stdout)
        pidfile = os.path.join(root, "var/run/estafette/sandbox.pid")
        with open(pidfile) as f:
            pid = int(f.read())
        os.kill(pid, 0)
        again = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
        self.assertNotEqual(again.returncode, 0)
        self.assertIn("already running", again.stderr)
        r = subprocess.run(cmd[:3] + ["--stop"], capture_output=True, text=True, timeout=60)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("stopped", r.stdout)
        self.assertFalse(os.path.exists(pidfile))
        self.assertFalse(process_alive(pid))
        r = subprocess.run(cmd[:3] + ["--stop"], capture_output=True, text=True, timeout=60)
        self.assertIn("nothing running", r.stdout)

    def test_bad_user_arguments(self):
        root = os.path.join(self.tmp, "inst")
        for bad in ["nopassword", "../evil@example.test:pw", "a/b:pw", ":pw", "x@:pw", "x:"]:
            r = subprocess.run([os.path.join(TOP, "scripts/sandbox"), "--root", root,
                                "--no-build", "--build-dir", BUILD_DIR, "--user", bad],
                               capture_output=True, text=True, timeout=60)
            self.assertEqual(r.returncode, 64, bad)
            self.assertIn("--user", r.stderr)
        self.assertFalse(os.path.exists(os.path.join(root, "mail")))

    def test_root_runs_as_system_users(self):
        if os.geteuid() != 0:
            self.skipTest("needs root")
        root = os.path.join(self.tmp, "inst")
        with Sandbox(root, users=["dave:pw"]):
            users = {}
            with open(os.path.join(TOP, "scripts/users")) as f:
                for line in f:
                    if line.strip() and not line.startswith("#"):
                        users[line.split()[0]] = line.split()[1]
            for name in users.values():
                pwd.getpwnam(name)  # created
            mail_uid = pwd.getpwnam(users["mail"]).pw_uid
            maildir = os.path.join(root, "mail/example.test/dave/Maildir")
            self.assertEqual(os.stat(maildir).st_uid, mail_uid)
            self.assertEqual(os.stat(os.path.join(maildir, "new")).st_uid, mail_uid)
            userdb = os.stat(os.path.join(root, "etc/estafette/userdb"))
            self.assertEqual(userdb.st_uid, pwd.getpwnam(users["auth"]).pw_uid)
            queue = os.stat(os.path.join(root, "var/spool/estafette"))
            self.assertEqual(queue.st_uid, pwd.getpwnam(users["queue"]).pw_uid)
            self.assertEqual(stat.S_IMODE(queue.st_mode), 0o750)
