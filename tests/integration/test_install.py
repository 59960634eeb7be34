"""make install: the tree matches scripts/manifest, file by file, with its modes
(and owners, when installed as root without DESTDIR)."""

import grp
import os
import pwd
import stat
import subprocess

from harness import TOP, BUILD, TempDirTestCase


def manifest():
    with open(os.path.join(TOP, "scripts/manifest")) as f:
        for line in f:
            fields = line.split()
            if fields and not fields[0].startswith("#"):
                yield fields


def role_users():
    roles = {"root": "root"}
    with open(os.path.join(TOP, "scripts/users")) as f:
        for line in f:
            if line.strip() and not line.startswith("#"):
                roles[line.split()[0]] = line.split()[1]
    return roles


class InstallTest(TempDirTestCase):
    def install(self, *extra):
        r = subprocess.run(["make", "-s", "-C", TOP, f"BUILD={BUILD}", "install", *extra],
                           capture_output=True, text=True, timeout=600)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)

    def test_staged_install_matches_manifest(self):
        self.install(f"DESTDIR={self.tmp}", "PREFIX=/opt/estafette")
        top = os.path.join(self.tmp, "opt/estafette")
        for kind, path, mode, *_ in manifest():
            full = os.path.join(top, path)
            st = os.lstat(full)
            self.assertEqual(stat.S_ISDIR(st.st_mode), kind == "d", path)
            self.assertEqual(stat.S_IMODE(st.st_mode), int(mode, 8), path)
        # every built program is in the manifest, so nothing built is left out
        listed = {os.path.basename(f[1]) for f in manifest() if f[0] == "f"}
        built = set(os.listdir(os.path.join(TOP, BUILD, "bin")))
        self.assertLessEqual(built, listed)
        # and every man page
        sources = {f[5] for f in manifest() if f[0] == "f" and len(f) > 5}
        pages = {"man/" + n for n in os.listdir(os.path.join(TOP, "man")) if n[-1].isdigit()}
        self.assertLessEqual(pages, sources)

    def test_root_install_sets_owners(self):
        if os.geteuid() != 0:
            self.skipTest("needs root")
        prefix = os.path.join(self.tmp, "inst")
        r = subprocess.run([os.path.join(TOP, "scripts/install-tree"), "--prefix", prefix,
                            "--build", BUILD, "--create-users"], capture_output=True, text=True)
        self.assertEqual(r.returncode, 0, r.stderr)
        roles = role_users()
        for kind, path, mode, owner, group, *_ in manifest():
            st = os.lstat(os.path.join(prefix, path))
            self.assertEqual(pwd.getpwuid(st.st_uid).pw_name, roles[owner], path)
            self.assertEqual(grp.getgrgid(st.st_gid).gr_name, roles[group], path)
            self.assertEqual(stat.S_IMODE(st.st_mode), int(mode, 8), path)
