"""authd's system backend: a host account made with useradd and chpasswd (as root,
removed afterwards), found by getpwnam and authenticated through PAM."""

import os
import shutil
import socket
import subprocess
import time
import unittest

from harness import TOP, BUILD_DIR, TempDirTestCase, authd_request, sasl_plain

AS_ROOT = os.geteuid() == 0
USER = "estafette-tsys"
PASSWORD = "Sys-pw 42x"


@unittest.skipUnless(AS_ROOT and shutil.which("useradd"), "needs root and useradd")
class AuthdSystemTest(TempDirTestCase):
    def setUp(self):
        super().setUp()
        self.proc = None
        subprocess.run(["userdel", "-r", USER], capture_output=True, timeout=30)
        self.home = os.path.join(self.tmp, "home")
        r = subprocess.run(["useradd", "-M", "-d", self.home, "-K", "UID_MIN=1000", USER],
                           capture_output=True, text=True, timeout=30)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.addCleanup(subprocess.run, ["userdel", USER], capture_output=True, timeout=30)
        r = subprocess.run(["chpasswd"], input=f"{USER}:{PASSWORD}\n", capture_output=True,
                           text=True, timeout=30)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.root = os.path.join(self.tmp, "inst")
        r = subprocess.run([os.path.join(TOP, "scripts", "install-tree"), "--prefix", self.root,
                            "--build", BUILD_DIR, "--create-users"],
                           capture_output=True, text=True, timeout=120)
        self.assertEqual(r.returncode, 0, r.stderr)
        # pam_unix reads /etc/shadow only for a member of group shadow (authd-ldap(5))
        r = subprocess.run(["usermod", "-aG", "shadow", "estafette-auth"], capture_output=True,
                           text=True, timeout=30)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.addCleanup(subprocess.run, ["gpasswd", "-d", "estafette-auth", "shadow"],
                        capture_output=True, timeout=30)
        self.env = dict(os.environ, ESTAFETTE_ROOT=self.root, ESTAFETTE_LOG="stderr")
        self.sock = os.path.join(self.root, "var", "run", "estafette", "authd", "socket")
        with open(os.path.join(self.root, "etc", "estafette", "authd.conf"), "w") as f:
            f.write("backends = system\nfail_delay_ms = 10\nsystem.domain = example.test\n")
        self.logpath = os.path.join(self.tmp, "authd.log")
        self.log = open(self.logpath, "ab")
        self.proc = subprocess.Popen([os.path.join(self.root, "libexec", "estafette", "authd")],
                                     env=self.env, stdout=self.log, stderr=self.log,
                                     stdin=subprocess.DEVNULL)
        deadline = time.time() + 10
        while time.time() < deadline and not os.path.exists(self.sock):
            if self.proc.poll() is not None:
                break
            time.sleep(0.05)
        time.sleep(0.3)  # the privilege drop follows the socket's creation
        self.assertTrue(os.path.exists(self.sock), self.logtext())

    def tearDown(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.proc:
            self.log.close()
        super().tearDown()

    def logtext(self):
        with open(self.logpath, "rb") as f:
            return f.read().decode(errors="replace")

    def request(self, line):
        return authd_request(self.sock, line, timeout=20)

    def test_lookup(self):
        r = self.request("LOOKUP smtp " + USER)
        self.assertTrue(r.startswith("OK "), r + self.logtext())
        f = dict(item.split("=", 1) for item in r.split()[1:])
        self.assertEqual((f["home"], f["maildir"]), (self.home, self.home + "/Maildir"))
        self.assertTrue(self.request(f"LOOKUP smtp {USER}@example.test").startswith("OK "))
        for user in ("root", "daemon", f"{USER}@other.test", "nobody-here-xyz", "a*", "x" * 40):
            with self.subTest(user=user):
                self.assertTrue(self.request("LOOKUP smtp " + user).startswith("NO "))

    def authd_groups(self):
        """Supplementary group ids of the listening authd (after its privilege drop)."""
        with open(f"/proc/{self.proc.pid}/status") as f:
            for line in f:
                if line.startswith("Groups:"):
                    return [int(g) for g in line.split()[1:]]
        return []

    def test_pam_auth(self):
        import grp
        if grp.getgrnam("shadow").gr_gid not in self.authd_groups():
            self.skipTest("authd drops its supplementary groups: pam_unix cannot read "
                          "/etc/shadow (authd/main.c needs PRIV_INITGROUPS)")
        r = self.request("AUTH imap PLAIN 192.0.2.9 " + sasl_plain(USER, PASSWORD))
        self.assertTrue(r.startswith("OK "), r + self.logtext())
        r = self.request("AUTH imap PLAIN 192.0.2.9 " + sasl_plain(USER, "wrong"))
        self.assertTrue(r.startswith("NO "), r)
        r = self.request("AUTH imap PLAIN 192.0.2.9 " + sasl_plain("root", PASSWORD))
        self.assertTrue(r.startswith("NO "), r)


if __name__ == "__main__":
    unittest.main()
