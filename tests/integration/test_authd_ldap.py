"""authd's ldap backend against a real OpenLDAP slapd on 127.0.0.1 in a temporary
directory (mdb, suffix dc=example,dc=test): lookup, AUTH by bind and by compare,
wrong and unknown users, a stopped server (TEMPFAIL), filter injection, ENUM, and
PASSWD (bound as the entry, or refused by the directory's ACL) with SCRAM-SHA-256
and CRAM-MD5 secrets in configured attributes."""

import base64
import hashlib
import os
import shutil
import socket
import subprocess
import time
import unittest

from harness import TOP, BUILD_DIR, TempDirTestCase, authd_request, port_free, sasl_plain
from test_authd_sasl import Conn, ScramClient, b64, unb64, cram_response

SLAPD = shutil.which("slapd") or "/usr/sbin/slapd"
SLAPADD = shutil.which("slapadd") or "/usr/sbin/slapadd"
HAVE_SLAPD = os.path.exists(SLAPD) and os.path.exists("/usr/lib/ldap/back_mdb.so")
AS_ROOT = os.geteuid() == 0
BASE = "dc=example,dc=test"
ROOTPW = "root-secret"
BINDPW = "search-secret"


def ssha(pw):
    salt = os.urandom(8)
    return "{SSHA}" + base64.b64encode(hashlib.sha1(pw.encode() + salt).digest() + salt).decode()


def crypt6(pw):
    r = subprocess.run(["openssl", "passwd", "-6", "-stdin"], input=pw, capture_output=True,
                       text=True, check=True, timeout=30)
    return "{CRYPT}" + r.stdout.strip()


def entry(uid, mail, number, pw):
    return (f"dn: uid={uid},ou=people,{BASE}\nobjectClass: inetOrgPerson\n"
            f"objectClass: posixAccount\nuid: {uid}\ncn: {uid}\nsn: {uid}\nmail: {mail}\n"
            f"uidNumber: {number}\ngidNumber: {number}\nhomeDirectory: /home/{uid}\n"
            f"description: /home/{uid}/Maildir\nuserPassword: {pw}\n\n")


@unittest.skipUnless(HAVE_SLAPD, "slapd not installed (scripts/install-deps)")
class AuthdLdapTest(TempDirTestCase):
    def setUp(self):
        super().setUp()
        self.slapd = None
        self.proc = None
        self.start_slapd()
        self.root = os.path.join(self.tmp, "inst")
        argv = [os.path.join(TOP, "scripts", "install-tree"), "--prefix", self.root,
                "--build", BUILD_DIR]
        if AS_ROOT:
            argv.append("--create-users")
        r = subprocess.run(argv, capture_output=True, text=True, timeout=120)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.env = dict(os.environ, ESTAFETTE_ROOT=self.root, ESTAFETTE_LOG="stderr")
        self.etc = os.path.join(self.root, "etc", "estafette")
        self.sock = os.path.join(self.root, "var", "run", "estafette", "authd", "socket")
        with open(os.path.join(self.etc, "ldap.secret"), "w") as f:
            f.write(BINDPW + "\n")
        os.chmod(os.path.join(self.etc, "ldap.secret"), 0o644)

    def tearDown(self):
        self.stop_authd()
        self.stop_slapd()
        super().tearDown()

    # -- slapd ------------------------------------------------------------------

    def start_slapd(self):
        d = os.path.join(self.tmp, "ldap")
        os.makedirs(os.path.join(d, "db"))
        for _ in range(100):
            port = 20000 + int.from_bytes(os.urandom(2), "big") % 30000
            if port_free(port):
                break
        self.ldap_port = port
        conf = os.path.join(d, "slapd.conf")
        with open(conf, "w") as f:
            f.write("".join(f"include /etc/ldap/schema/{s}.schema\n"
                            for s in ("core", "cosine", "nis", "inetorgperson")))
            f.write(f"modulepath /usr/lib/ldap\nmoduleload back_mdb\npidfile {d}/slapd.pid\n"
                    f"database mdb\nsuffix \"{BASE}\"\nrootdn \"cn=admin,{BASE}\"\n"
                    f"rootpw {ROOTPW}\ndirectory {d}/db\nmaxsize 10485760\n"
                    "access to attrs=userPassword,carLicense,employeeType by self write "
                    f"by anonymous auth by dn.exact=\"cn=search,{BASE}\" read by * none\n"
                    "access to * by * read\n")
        ldif = (f"dn: {BASE}\nobjectClass: dcObject\nobjectClass: organization\n"
                "dc: example\no: example\n\n"
                f"dn: ou=people,{BASE}\nobjectClass: organizationalUnit\nou: people\n\n"
                f"dn: cn=search,{BASE}\nobjectClass: organizationalRole\n"
                "objectClass: simpleSecurityObject\ncn: search\n"
                f"userPassword: {ssha(BINDPW)}\n\n"
                + entry("joe", "joe@example.test", 2001, ssha("joe-pw 1"))
                + entry("ann", "ann@example.test", 2002, crypt6("ann-pw-2")))
        path = os.path.join(d, "data.ldif")
        with open(path, "w") as f:
            f.write(ldif)
        r = subprocess.run([SLAPADD, "-f", conf, "-l", path], capture_output=True, text=True,
                           timeout=60)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.slapd_log = open(os.path.join(d, "slapd.log"), "ab")
        self.slapd = subprocess.Popen([SLAPD, "-d", "0", "-f", conf, "-h",
                                       f"ldap://127.0.0.1:{port}/"],
                                      stdout=self.slapd_log, stderr=self.slapd_log,
                                      stdin=subprocess.DEVNULL)
        deadline = time.time() + 20
        while time.time() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=1):
                    return
            except OSError:
                if self.slapd.poll() is not None:
                    break
                time.sleep(0.1)
        self.fail("slapd did not come up")

    def stop_slapd(self):
        if self.slapd and self.slapd.poll() is None:
            self.slapd.terminate()
            try:
                self.slapd.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.slapd.kill()
                self.slapd.wait()
        if self.slapd:
            self.slapd_log.close()
            self.slapd = None

    # -- authd ------------------------------------------------------------------

    def start_authd(self, auth="bind", extra=""):
        with open(os.path.join(self.etc, "authd.conf"), "w") as f:
            f.write("backends = ldap\nfail_delay_ms = 10\n"
                    f"ldap.uri = ldap://127.0.0.1:{self.ldap_port}/\n"
                    f"ldap.base = ou=people,{BASE}\nldap.filter = (&(objectClass=posixAccount)(mail=%u))\n"
                    f"ldap.binddn = cn=search,{BASE}\nldap.bindpw_file = ldap.secret\n"
                    f"ldap.auth = {auth}\nldap.maildir_attr = description\nldap.timeout = 3\n"
                    + extra)
        self.logpath = os.path.join(self.tmp, "authd.log")
        self.log = open(self.logpath, "ab")
        self.proc = subprocess.Popen([os.path.join(self.root, "libexec", "estafette", "authd")],
                                     env=self.env, stdout=self.log, stderr=self.log,
                                     stdin=subprocess.DEVNULL)
        deadline = time.time() + 10
        while time.time() < deadline:
            if os.path.exists(self.sock):
                try:
                    with socket.socket(socket.AF_UNIX) as s:
                        s.connect(self.sock)
                    time.sleep(0.2)  # the privilege drop follows the socket's creation
                    return
                except OSError:
                    pass
            if self.proc.poll() is not None:
                break
            time.sleep(0.05)
        self.fail("authd did not come up:\n" + self.logtext())

    def stop_authd(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.proc:
            self.log.close()
            self.proc = None

    def logtext(self):
        with open(self.logpath, "rb") as f:
            return f.read().decode(errors="replace")

    def request(self, line):
        return authd_request(self.sock, line, timeout=20)

    def auth(self, user, pw):
        return self.request("AUTH imap PLAIN 192.0.2.7 " + sasl_plain(user, pw))

    def fields(self, reply):
        self.assertTrue(reply.startswith("OK "), reply + self.logtext())
        return dict(item.split("=", 1) for item in reply.split()[1:])

    # -- tests ------------------------------------------------------------------

    def test_lookup(self):
        self.start_authd()
        f = self.fields(self.request("LOOKUP smtp joe@example.test"))
        self.assertEqual((f["uid"], f["gid"], f["home"], f["maildir"]),
                         ("2001", "2001", "/home/joe", "/home/joe/Maildir"))
        self.assertNotIn("SSHA", self.request("LOOKUP smtp joe@example.test"))
        self.assertTrue(self.request("LOOKUP smtp nobody@example.test").startswith("NO "))

    def check_auth(self):
        self.assertEqual(self.fields(self.auth("joe@example.test", "joe-pw 1"))["uid"], "2001")
        self.assertEqual(self.fields(self.auth("ann@example.test", "ann-pw-2"))["uid"], "2002")
        self.assertTrue(self.auth("joe@example.test", "joe-pw 2").startswith("NO "))
        self.assertTrue(self.auth("joe@example.test", "ann-pw-2").startswith("NO "))
        self.assertTrue(self.auth("nobody@example.test", "joe-pw 1").startswith("NO "))
        self.assertNotIn("joe-pw", self.logtext())

    def test_auth_bind(self):
        self.start_authd("bind")
        self.check_auth()

    def test_auth_compare(self):
        self.start_authd("compare")
        self.check_auth()

    def test_filter_injection(self):
        self.start_authd()
        for user in ("*", "*)(uid=*", "joe@example.test)(uid=*", "*)(|(mail=*",
                     "j*@example.test", "joe@example.test\\2a", "x" * 500):
            with self.subTest(user=user):
                self.assertTrue(self.request("LOOKUP smtp " + user.replace("%", "%25")
                                             .replace(" ", "%20")).startswith("NO "))
                self.assertTrue(self.auth(user, "joe-pw 1").startswith("NO "))

    def test_server_down_tempfail(self):
        self.start_authd()
        self.stop_slapd()
        self.assertTrue(self.request("LOOKUP smtp joe@example.test").startswith("TEMPFAIL"))
        self.assertTrue(self.auth("joe@example.test", "joe-pw 1").startswith("TEMPFAIL"))

    def test_wrong_bind_password_tempfail(self):
        with open(os.path.join(self.etc, "ldap.secret"), "w") as f:
            f.write("wrong\n")
        self.start_authd()
        self.assertTrue(self.request("LOOKUP smtp joe@example.test").startswith("TEMPFAIL"))

    # -- ENUM and PASSWD ----------------------------------------------------------

    SECRETS = ("ldap.scram_attr = carLicense\nldap.cram_attr = employeeType\n"
               "mechanisms = PLAIN LOGIN CRAM-MD5 SCRAM-SHA-256\n")

    def passwd(self, user, old, new):
        return self.request(f"PASSWD imap {user} {b64(old.encode())} {b64(new.encode())}")

    def scram_ok(self, user, password):
        c = Conn(self.sock)
        c.s.settimeout(20)
        cl = ScramClient(user, password)
        r = c.ask(f"SASL imap SCRAM-SHA-256 - {b64(cl.first())}")
        if r.startswith("CONT "):
            r = c.ask("STEP " + b64(cl.final(unb64(r[5:]))))
        if r.startswith("CONT ") and unb64(r[5:]) == cl.expect:
            r = c.ask("STEP =")
        c.close()
        return r.startswith("OK ")

    def cram_ok(self, user, password):
        c = Conn(self.sock)
        c.s.settimeout(20)
        r = c.ask("SASL smtp CRAM-MD5 -")
        r = c.ask("STEP " + b64(cram_response(user, password, unb64(r[5:]))))
        c.close()
        return r.startswith("OK ")

    def test_enum(self):
        self.start_authd()
        c = Conn(self.sock)
        c.s.settimeout(20)
        lines = [c.ask("ENUM")]
        while lines[-1].startswith("ACCOUNT "):
            lines.append(c.read())
        c.close()
        self.assertEqual(lines[-1], "OK count=2")  # cn=search has no mail: not an account
        found = {dict(i.split("=", 1) for i in l.split()[1:])["address"]: l for l in lines[:-1]}
        self.assertEqual(sorted(found), ["ann@example.test", "joe@example.test"])
        self.assertIn("uid=2001", found["joe@example.test"])
        self.assertNotIn("SSHA", " ".join(lines))
        self.stop_slapd()
        self.assertTrue(self.request("ENUM").startswith("TEMPFAIL"))

    def test_passwd_as_the_entry(self):
        self.start_authd("bind", "ldap.passwd = self\n" + self.SECRETS)
        self.assertFalse(self.scram_ok("joe@example.test", "joe-pw 1"))  # nothing stored yet
        self.assertTrue(self.passwd("joe@example.test", "joe-pw 2", "new").startswith("NO "))
        self.assertTrue(self.passwd("*", "joe-pw 1", "new pw 3").startswith("NO "))
        r = self.passwd("joe@example.test", "joe-pw 1", "new pw 3")
        self.assertEqual(self.fields(r)["uid"], "2001")
        self.assertTrue(self.auth("joe@example.test", "new pw 3").startswith("OK "))
        self.assertTrue(self.auth("joe@example.test", "joe-pw 1").startswith("NO "))
        self.assertTrue(self.scram_ok("joe@example.test", "new pw 3"))
        self.assertTrue(self.cram_ok("joe@example.test", "new pw 3"))
        self.assertFalse(self.cram_ok("joe@example.test", "joe-pw 1"))
        self.assertTrue(self.auth("ann@example.test", "ann-pw-2").startswith("OK "))
        self.assertIn("passwd ok service=imap user=joe@example.test", self.logtext())
        self.assertNotIn("new pw 3", self.logtext())
        # compare mode reads the new {CRYPT} hash back
        self.stop_authd()
        self.start_authd("compare")
        self.assertTrue(self.auth("joe@example.test", "new pw 3").startswith("OK "))

    def test_passwd_refused_or_off(self):
        self.start_authd("bind")  # ldap.passwd defaults to no
        r = self.passwd("joe@example.test", "joe-pw 1", "new pw 3")
        self.assertTrue(r.startswith("NO "), r)
        self.stop_authd()
        self.start_authd("bind", "ldap.passwd = admin\n")  # cn=search may only read
        r = self.passwd("joe@example.test", "joe-pw 1", "new pw 3")
        self.assertTrue(r.startswith("TEMPFAIL"), r)
        self.assertIn("Insufficient access", self.logtext())
        self.assertTrue(self.auth("joe@example.test", "joe-pw 1").startswith("OK "))


if __name__ == "__main__":
    unittest.main()
