"""authd's SQL backends against real servers: a PostgreSQL cluster made with
initdb and a MariaDB made with mariadb-install-db, each in a temporary
directory and listening only on a UNIX socket there. Fixtures are loaded with
the servers' own clients; lookups, AUTH, ENUM, PASSWD and SASL exchanges
(SCRAM-SHA-256, CRAM-MD5 from the scram and cram columns) go through an
installed authd. Skips when the server binaries are not installed."""

import glob
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import unittest

from harness import TOP, BUILD_DIR, TempDirTestCase, authd_request, sasl_plain
from test_authd_sasl import Conn, ScramClient, b64, unb64, cram_response

AS_ROOT = os.geteuid() == 0
PASSWORDS = {"joe@example.test": "Joe-s3cret pass", "ann@example.test": "ann-PW-42"}
DB_PASSWORD = "db-pw-7 x"


def pg_bindir():
    for d in sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True):
        if os.path.exists(os.path.join(d, "initdb")):
            return d
    return None


def sha512_crypt(password):
    r = subprocess.run(["openssl", "passwd", "-6", "-stdin"], input=password + "\n",
                       capture_output=True, text=True, timeout=30, check=True)
    return r.stdout.strip()


def db_user(first):
    """The unprivileged user that runs the database server (as root)."""
    for name in (first, "nobody"):
        try:
            return pwd.getpwnam(name)
        except KeyError:
            pass
    return None


class SqlAuthdCase(TempDirTestCase):
    """An installed instance with authd; subclasses start a database first."""

    def install(self):
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
        self.proc = None

    def dbdir(self):
        """A directory the database user and authd's user can both reach."""
        d = tempfile.mkdtemp(prefix="estafette-sql-")
        os.chmod(d, 0o755)
        self.addCleanup(shutil.rmtree, d, True)
        if AS_ROOT:
            os.chown(d, self.dbuser.pw_uid, self.dbuser.pw_gid)
        return d

    def as_dbuser(self, argv):
        if AS_ROOT:
            return ["setpriv", "--reuid", str(self.dbuser.pw_uid), "--regid",
                    str(self.dbuser.pw_gid), "--clear-groups", "--"] + argv
        return argv

    def write_conf(self, text):
        pwfile = os.path.join(self.etc, "sql.password")
        with open(pwfile, "w") as f:
            f.write(DB_PASSWORD + "\n")
        if AS_ROOT:
            auth = pwd.getpwnam("estafette-auth")
            os.chown(pwfile, auth.pw_uid, auth.pw_gid)
        os.chmod(pwfile, 0o600)
        with open(os.path.join(self.etc, "authd.conf"), "w") as f:
            f.write("fail_delay_ms = 50\n" + text.replace("PWFILE", pwfile))

    def start_authd(self):
        self.logpath = os.path.join(self.tmp, "authd.log")
        self.log = open(self.logpath, "ab")
        self.proc = subprocess.Popen([os.path.join(self.root, "libexec", "estafette", "authd")],
                                     env=self.env, stdout=self.log, stderr=self.log,
                                     stdin=subprocess.DEVNULL)
        self.addCleanup(self.stop_authd)
        deadline = time.time() + 10
        while time.time() < deadline:
            if os.path.exists(self.sock):
                try:
                    with socket.socket(socket.AF_UNIX) as s:
                        s.connect(self.sock)
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
        self.log.close()

    def logtext(self):
        with open(self.logpath, "rb") as f:
            return f.read().decode(errors="replace")

    def request(self, line, timeout=15):
        return authd_request(self.sock, line, timeout)

    def fields(self, reply):
        self.assertTrue(reply.startswith("OK "), reply + self.logtext())
        return dict(item.split("=", 1) for item in reply.split()[1:])

    def ask(self, conn, line):
        """One request on an open authd connection; the reply line."""
        conn.sendall(line.encode() + b"\n")
        reply = b""
        while not reply.endswith(b"\n"):
            chunk = conn.recv(65536)
            if not chunk:
                break
            reply += chunk
        return reply.decode()

    def check_restart_on_open_connection(self, stop, start):
        """A database restarted under a connection of authd: the next lookup
        reconnects and answers."""
        with socket.socket(socket.AF_UNIX) as conn:
            conn.settimeout(30)
            conn.connect(self.sock)
            self.assertTrue(self.ask(conn, "LOOKUP smtp joe@example.test").startswith("OK "))
            stop()
            start()
            r = self.ask(conn, "LOOKUP smtp joe@example.test")
            self.assertTrue(r.startswith("OK "), r + self.logtext())

    def enum(self):
        """ENUM's ACCOUNT lines (as field dicts) and its final line."""
        c = Conn(self.sock)
        c.s.settimeout(30)
        accounts = []
        line = c.ask("ENUM")
        while line.startswith("ACCOUNT "):
            accounts.append(dict(item.split("=", 1) for item in line.split()[1:]))
            line = c.read()
        c.close()
        return accounts, line

    def passwd(self, user, old, new):
        name = "".join(c if "!" <= c <= "~" and c not in "%=" else f"%{ord(c):02X}"
                       for c in user)
        return self.request(f"PASSWD imap {name} {b64(old.encode())} {b64(new.encode())}")

    def scram_ok(self, user, password):
        c = Conn(self.sock)
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
        r = c.ask("SASL smtp CRAM-MD5 -")
        r = c.ask("STEP " + b64(cram_response(user, password, unb64(r[5:]))))
        c.close()
        return r.startswith("OK ")

    # -- the checks every SQL backend passes ------------------------------------

    def check_enum_passwd(self, stored):
        """ENUM lists both accounts; PASSWD changes joe's password and the SCRAM and
        CRAM-MD5 secrets beside it; stored() gives joe's stored columns."""
        accounts, last = self.enum()
        self.assertEqual(last, "OK count=2", last + self.logtext())
        self.assertEqual([a["address"] for a in accounts], ["ann@example.test",
                                                             "joe@example.test"])
        self.assertEqual(accounts[1]["uid"], "1000")
        old, new = PASSWORDS["joe@example.test"], "N3w joe pass"
        self.assertFalse(self.scram_ok("joe@example.test", old))  # no keys stored yet
        self.assertTrue(self.passwd("joe@example.test", "wrong", new).startswith("NO "))
        for hostile in ("joe@example.test' OR '1'='1", "%@%", "x' OR 1=1 -- "):
            self.assertTrue(self.passwd(hostile, old, new).startswith("NO "), hostile)
        self.assertTrue(self.passwd("joe@example.test", old, "").startswith("BAD "))
        r = self.passwd("joe@example.test", old, new)
        self.assertEqual(self.fields(r)["uid"], "1000")
        password, scram, cram = stored()
        self.assertTrue(password.startswith("$y$"), password)
        self.assertTrue(scram.startswith("{SCRAM-SHA-256}"), scram)
        self.assertTrue(cram.startswith("{CRAM-MD5}"), cram)
        self.assertTrue(self.request("AUTH imap PLAIN - " + sasl_plain(
            "joe@example.test", new)).startswith("OK "))
        self.assertTrue(self.request("AUTH imap PLAIN - " + sasl_plain(
            "joe@example.test", old)).startswith("NO "))
        self.assertTrue(self.scram_ok("joe@example.test", new))
        self.assertFalse(self.scram_ok("joe@example.test", old))
        self.assertTrue(self.cram_ok("joe@example.test", new))
        self.assertFalse(self.cram_ok("joe@example.test", old))
        # ann's row is untouched
        self.assertTrue(self.request("AUTH imap PLAIN - " + sasl_plain(
            "ann@example.test", PASSWORDS["ann@example.test"])).startswith("OK "))
        log = self.logtext()
        self.assertIn("passwd ok service=imap user=joe@example.test", log)
        self.assertNotIn(new, log)


    def check_lookup(self):
        f = self.fields(self.request("LOOKUP smtp joe@example.test"))
        self.assertEqual((f["uid"], f["gid"], f["home"], f["maildir"], f["quota"]),
                         ("1000", "1000", "/home/joe", "/home/joe/Maildir", "1000S"))
        self.assertEqual(f["options"], "disable-pop3")
        self.assertNotIn("password", self.request("LOOKUP smtp joe@example.test"))
        f = self.fields(self.request("LOOKUP imap ann@example.test"))
        self.assertEqual(f["uid"], "1001")
        self.assertTrue(self.request("LOOKUP smtp nobody@example.test").startswith("NO "))
        self.assertTrue(self.request("LOOKUP smtp joe@other.test").startswith("NO "))

    def check_auth(self):
        for user, pw in PASSWORDS.items():
            r = self.request("AUTH imap PLAIN 192.0.2.1 " + sasl_plain(user, pw))
            self.assertTrue(r.startswith("OK "), r + self.logtext())
        r = self.request("AUTH imap PLAIN 192.0.2.2 " + sasl_plain("joe@example.test", "wrong"))
        self.assertTrue(r.startswith("NO "), r)
        r = self.request("AUTH imap PLAIN 192.0.2.3 " + sasl_plain("nobody@example.test", "x"))
        self.assertTrue(r.startswith("NO "), r)
        self.assertNotIn(PASSWORDS["joe@example.test"], self.logtext())

    def check_injection(self):
        hostile = ["' OR '1'='1", "joe@example.test' OR 'x'='x", "x' OR 1=1 -- ",
                   "joe@example.test'; DROP TABLE users; --", "%@%", "joe@example.test\\",
                   "\" OR \"\"=\"", "x' UNION SELECT 0,0,'/','/','','','' -- ", "a" * 5000]
        for name in hostile:
            r = self.request("LOOKUP smtp " + name.replace(" ", "\t"))
            self.assertFalse(r.startswith("OK "), (name, r))
            r = self.request("AUTH imap PLAIN - " + sasl_plain(name, "x"))
            self.assertFalse(r.startswith("OK "), (name, r))
        r = self.request(b"LOOKUP smtp joe@example.test\0x")
        self.assertFalse(r.startswith("OK "), r)
        self.check_lookup()  # the table is still there


@unittest.skipUnless(pg_bindir(), "PostgreSQL server binaries not installed")
@unittest.skipIf(AS_ROOT and db_user("postgres") is None, "no unprivileged user for PostgreSQL")
class PgsqlTest(SqlAuthdCase):
    def setUp(self):
        super().setUp()
        self.dbuser = db_user("postgres") if AS_ROOT else None
        self.bin = pg_bindir()
        self.dir = self.dbdir()
        self.data = os.path.join(self.dir, "data")
        self.pglog = os.path.join(self.dir, "log")
        self.run_db([os.path.join(self.bin, "initdb"), "-D", self.data, "-U", "postgres",
                     "--auth-local=trust", "--auth-host=reject", "-E", "UTF8"])
        self.start_pg()
        self.addCleanup(self.stop_pg)
        self.load_fixtures()
        self.install()
        self.write_conf(f"backends = pgsql\npgsql.socket = {self.dir}\npgsql.user = authd\n"
                        "pgsql.database = mail\npgsql.password_file = PWFILE\n"
                        "pgsql.timeout = 2\n"
                        "pgsql.query = SELECT uid, gid, home, maildir, quota, options, password"
                        " FROM users WHERE local_part = %n AND domain = %d\n")
        self.start_authd()

    def run_db(self, argv, **kw):
        r = subprocess.run(self.as_dbuser(argv), capture_output=True, text=True, timeout=120,
                           cwd=self.dir, **kw)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        return r.stdout

    def start_pg(self):
        self.run_db([os.path.join(self.bin, "pg_ctl"), "-D", self.data, "-l", self.pglog, "-w",
                     "-t", "60", "-o", f"-k {self.dir} -c listen_addresses=''", "start"])

    def stop_pg(self, mode="fast"):
        subprocess.run(self.as_dbuser([os.path.join(self.bin, "pg_ctl"), "-D", self.data,
                                       "-m", mode, "-w", "stop"]),
                       capture_output=True, timeout=60, cwd=self.dir)

    def psql(self, sql, db="postgres"):
        return self.run_db(["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-h", self.dir,
                            "-U", "postgres", "-d", db], input=sql)

    def load_fixtures(self):
        joe = "{SHA512-CRYPT}" + sha512_crypt(PASSWORDS["joe@example.test"])
        ann = sha512_crypt(PASSWORDS["ann@example.test"])
        self.psql(f"CREATE ROLE authd LOGIN PASSWORD '{DB_PASSWORD}';\nCREATE DATABASE mail;\n")
        self.psql(
            "CREATE TABLE users (local_part text NOT NULL, domain text NOT NULL,"
            " uid integer NOT NULL, gid integer NOT NULL, home text NOT NULL,"
            " maildir text, quota text, options text, password text, scram text, cram text,"
            " PRIMARY KEY (local_part, domain));\n"
            "GRANT SELECT, UPDATE ON users TO authd;\n"
            "INSERT INTO users VALUES ('joe', 'example.test', 1000, 1000, '/home/joe',"
            f" '/home/joe/Maildir', '1000S', 'disable-pop3', '{joe}', NULL, NULL),"
            f" ('ann', 'example.test', 1001, 1001, '/home/ann', NULL, NULL, NULL, '{ann}',"
            " NULL, NULL);\n",
            db="mail")
        with open(os.path.join(self.data, "pg_hba.conf"), "w") as f:
            f.write("local all postgres trust\nlocal all all scram-sha-256\n")
        self.run_db([os.path.join(self.bin, "pg_ctl"), "-D", self.data, "reload"])

    def test_lookup_and_auth(self):
        self.check_lookup()
        self.check_auth()

    def test_injection(self):
        self.check_injection()
        self.assertIn("1", self.psql("SELECT count(*) FROM users;", db="mail"))

    def test_enum_passwd_and_sasl(self):
        self.stop_authd()
        self.write_conf(f"backends = pgsql\npgsql.socket = {self.dir}\npgsql.user = authd\n"
                        "pgsql.database = mail\npgsql.password_file = PWFILE\n"
                        "mechanisms = PLAIN LOGIN CRAM-MD5 SCRAM-SHA-256\n"
                        "pgsql.query = SELECT uid, gid, home, password, scram, cram"
                        " FROM users WHERE local_part = %n AND domain = %d\n"
                        "pgsql.enum_query = SELECT local_part || '@' || domain AS address,"
                        " uid, gid, home FROM users ORDER BY 1\n"
                        "pgsql.passwd_query = UPDATE users SET password = %p, scram = %s,"
                        " cram = %c WHERE local_part = %n AND domain = %d\n")
        self.start_authd()

        def stored():
            out = self.psql("\\pset format unaligned\n\\pset tuples_only on\n"
                            "SELECT password, scram, cram FROM users WHERE local_part = 'joe';",
                            db="mail")
            return out.strip().split("|")
        self.check_enum_passwd(stored)

    def test_down_is_tempfail_then_reconnect(self):
        self.check_lookup()
        self.stop_pg("immediate")
        r = self.request("LOOKUP smtp joe@example.test")
        self.assertTrue(r.startswith("TEMPFAIL"), r)
        r = self.request("AUTH imap PLAIN - " + sasl_plain("joe@example.test",
                                                          PASSWORDS["joe@example.test"]))
        self.assertTrue(r.startswith("TEMPFAIL"), r)
        self.start_pg()
        self.check_lookup()
        self.check_restart_on_open_connection(lambda: self.stop_pg("fast"), self.start_pg)

    def test_hung_server_times_out(self):
        pid = int(open(os.path.join(self.data, "postmaster.pid")).readline())
        os.kill(pid, signal.SIGSTOP)
        try:
            t = time.time()
            r = self.request("LOOKUP smtp joe@example.test")
            self.assertTrue(r.startswith("TEMPFAIL"), r)
            self.assertLess(time.time() - t, 8)
        finally:
            os.kill(pid, signal.SIGCONT)
        self.check_lookup()


def mariadb_bin(name):
    return shutil.which(name) or next((p for p in ("/usr/sbin/" + name, "/usr/bin/" + name)
                                       if os.path.exists(p)), None)


@unittest.skipUnless(mariadb_bin("mariadbd") and mariadb_bin("mariadb-install-db")
                     and mariadb_bin("mariadb"), "MariaDB server binaries not installed")
@unittest.skipIf(AS_ROOT and db_user("mysql") is None, "no unprivileged user for MariaDB")
class MysqlTest(SqlAuthdCase):
    def setUp(self):
        super().setUp()
        self.dbuser = db_user("mysql") if AS_ROOT else pwd.getpwuid(os.getuid())
        self.dir = self.dbdir()
        self.data = os.path.join(self.dir, "data")
        self.msock = os.path.join(self.dir, "sock")
        r = subprocess.run(self.as_dbuser([mariadb_bin("mariadb-install-db"), "--no-defaults",
                                           "--datadir=" + self.data,
                                           "--user=" + self.dbuser.pw_name,
                                           "--skip-test-db", "--skip-name-resolve"]),
                           capture_output=True, text=True, timeout=300, cwd=self.dir)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.server = None
        self.start_db()
        self.addCleanup(self.stop_db)
        self.load_fixtures()
        self.install()
        self.write_conf(f"backends = mysql\nmysql.socket = {self.msock}\nmysql.user = authd\n"
                        "mysql.database = mail\nmysql.password_file = PWFILE\n"
                        "mysql.timeout = 2\n"
                        "mysql.query = SELECT uid, gid, home, maildir, quota, options, password"
                        " FROM users WHERE local_part = %n AND domain = %d\n")
        self.start_authd()

    def start_db(self):
        self.dblog = open(os.path.join(self.dir, "server.log"), "ab")
        self.server = subprocess.Popen(
            self.as_dbuser([mariadb_bin("mariadbd"), "--no-defaults", "--datadir=" + self.data,
                            "--socket=" + self.msock, "--skip-networking",
                            "--pid-file=" + os.path.join(self.dir, "pid"),
                            "--innodb-buffer-pool-size=16M", "--skip-log-bin"]),
            stdout=self.dblog, stderr=self.dblog, stdin=subprocess.DEVNULL, cwd=self.dir)
        deadline = time.time() + 60
        while time.time() < deadline:
            if self.server.poll() is not None:
                break
            if os.path.exists(self.msock) and self.sql("SELECT 1;", check=False).returncode == 0:
                return
            time.sleep(0.2)
        self.fail("mariadbd did not come up")

    def stop_db(self):
        if self.server and self.server.poll() is None:
            self.server.terminate()
            try:
                self.server.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.server.kill()
                self.server.wait()
        if self.server:
            self.dblog.close()
        self.server = None

    def sql(self, text, db=None, check=True):
        argv = [mariadb_bin("mariadb"), "--no-defaults", "-S", self.msock,
                "-u", self.dbuser.pw_name, "-N", "-B"] + ([db] if db else [])
        r = subprocess.run(self.as_dbuser(argv), input=text, capture_output=True, text=True,
                           timeout=60, cwd=self.dir)
        if check:
            self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        return r

    def load_fixtures(self):
        joe = "{SHA512-CRYPT}" + sha512_crypt(PASSWORDS["joe@example.test"])
        ann = sha512_crypt(PASSWORDS["ann@example.test"])
        self.sql("CREATE DATABASE mail CHARACTER SET utf8mb4;\n"
                 f"CREATE USER 'authd'@'localhost' IDENTIFIED BY '{DB_PASSWORD}';\n"
                 "CREATE TABLE mail.users (local_part VARCHAR(64) NOT NULL,"
                 " domain VARCHAR(255) NOT NULL, uid INT UNSIGNED NOT NULL,"
                 " gid INT UNSIGNED NOT NULL, home VARCHAR(255) NOT NULL, maildir VARCHAR(255),"
                 " quota VARCHAR(32), options VARCHAR(255), password VARCHAR(255),"
                 " scram VARCHAR(255), cram VARCHAR(255),"
                 " PRIMARY KEY (local_part, domain));\n"
                 "GRANT SELECT, UPDATE ON mail.users TO 'authd'@'localhost';\n"
                 "INSERT INTO mail.users VALUES ('joe', 'example.test', 1000, 1000, '/home/joe',"
                 f" '/home/joe/Maildir', '1000S', 'disable-pop3', '{joe}', NULL, NULL),"
                 f" ('ann', 'example.test', 1001, 1001, '/home/ann', NULL, NULL, NULL, '{ann}',"
                 " NULL, NULL);\n")

    def test_lookup_and_auth(self):
        self.check_lookup()
        self.check_auth()

    def test_injection(self):
        self.check_injection()
        self.assertEqual(self.sql("SELECT count(*) FROM mail.users;").stdout.strip(), "2")

    def test_enum_passwd_and_sasl(self):
        self.stop_authd()
        self.write_conf(f"backends = mysql\nmysql.socket = {self.msock}\nmysql.user = authd\n"
                        "mysql.database = mail\nmysql.password_file = PWFILE\n"
                        "mechanisms = PLAIN LOGIN CRAM-MD5 SCRAM-SHA-256\n"
                        "mysql.query = SELECT uid, gid, home, password, scram, cram"
                        " FROM users WHERE local_part = %n AND domain = %d\n"
                        "mysql.enum_query = SELECT CONCAT(local_part, '@', domain) AS address,"
                        " uid, gid, home FROM users ORDER BY 1\n"
                        "mysql.passwd_query = UPDATE users SET password = %p, scram = %s,"
                        " cram = %c WHERE local_part = %n AND domain = %d\n")
        self.start_authd()

        def stored():
            out = self.sql("SELECT password, scram, cram FROM mail.users"
                           " WHERE local_part = 'joe';").stdout
            return out.strip().split("\t")
        self.check_enum_passwd(stored)

    def test_down_is_tempfail_then_reconnect(self):
        self.check_lookup()
        self.stop_db()
        r = self.request("LOOKUP smtp joe@example.test")
        self.assertTrue(r.startswith("TEMPFAIL"), r)
        r = self.request("AUTH imap PLAIN - " + sasl_plain("joe@example.test",
                                                          PASSWORDS["joe@example.test"]))
        self.assertTrue(r.startswith("TEMPFAIL"), r)
        self.start_db()
        self.check_lookup()
        self.check_restart_on_open_connection(self.stop_db, self.start_db)

    def test_hung_server_times_out(self):
        os.kill(self.server.pid, signal.SIGSTOP)
        try:
            t = time.time()
            r = self.request("LOOKUP smtp joe@example.test", timeout=30)
            self.assertTrue(r.startswith("TEMPFAIL"), r)
            self.assertLess(time.time() - t, 12)
        finally:
            os.kill(self.server.pid, signal.SIGCONT)
        self.check_lookup()


if __name__ == "__main__":
    unittest.main()
