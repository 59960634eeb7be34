"""listener(8): accept, ucspi environment, limits, privileges, stop; on loopback only."""

import os
import pwd
import random
import re
import signal
import socket
import subprocess
import sys
import time

from harness import BUILD, TOP, TempDirTestCase, process_alive, program

NET_ROLE_USER = "estafette-net"
BUSY = "421 4.7.0 Too many connections, try later\r\n"

# A Python the net user may run (not one under /root).
PYTHON = next((p for p in ("/usr/bin/python3", "/usr/local/bin/python3") if os.path.exists(p)),
              sys.executable)

# The service run per connection: its environment and open descriptors, then an echo.
SERVICE = """#!%s -S
import os, sys
names = ["PROTO", "TCPLOCALIP", "TCPLOCALPORT", "TCPREMOTEIP", "TCPREMOTEPORT",
         "TCPREMOTEHOST", "TCPREMOTEINFO", "LISTEN_PID", "LISTEN_FDS"]
out = ["%%s=%%s" %% (n, os.environ.get(n, "unset")) for n in names]
out.append("uid=%%d" %% os.getuid())
out.append("fds=" + ",".join(sorted(os.listdir("/proc/self/fd"), key=int)))
out.append("args=" + ",".join(sys.argv[1:]))
sys.stdout.write("\\n".join(out) + "\\nEND\\n")
sys.stdout.flush()
line = sys.stdin.readline()
sys.stdout.write("echo:" + line)
sys.stdout.flush()
""" % PYTHON


def ipv6_available():
    try:
        with socket.socket(socket.AF_INET6, socket.SOCK_STREAM) as s:
            s.bind(("::1", 0))
        return True
    except OSError:
        return False


HAVE_V6 = ipv6_available()


def free_port():
    for _ in range(200):
        port = random.randrange(20000, 60000)
        ok = True
        for fam, addr in [(socket.AF_INET, "127.0.0.1")] + ([(socket.AF_INET6, "::1")] if HAVE_V6 else []):
            with socket.socket(fam, socket.SOCK_STREAM) as s:
                try:
                    s.bind((addr, port))
                except OSError:
                    ok = False
        if ok:
            return port
    raise RuntimeError("no free port")


class Client:
    """A connection to the service: its environment as a dict, then echo."""

    def __init__(self, addr, port, timeout=10):
        self.sock = socket.create_connection((addr, port), timeout=timeout)
        self.file = self.sock.makefile("rwb")

    def env(self):
        env = {}
        for _ in range(100):
            line = self.file.readline().decode().rstrip("\n")
            if line in ("END", ""):
                break
            k, _, v = line.partition("=")
            env[k] = v
        return env

    def echo(self, text):
        self.file.write(text.encode() + b"\n")
        self.file.flush()
        return self.file.readline().decode().rstrip("\n")

    def read_all(self):
        data = b""
        while len(data) < 4096:
            chunk = self.sock.recv(4096)
            if not chunk:
                break
            data += chunk
        return data

    def close(self):
        self.file.close()
        self.sock.close()


class ListenerTest(TempDirTestCase):
    @classmethod
    def setUpClass(cls):
        cls.net_uid = None
        if os.geteuid() != 0:
            return
        try:
            cls.net_uid = pwd.getpwnam(NET_ROLE_USER).pw_uid
        except KeyError:
            import tempfile
            prefix = tempfile.mkdtemp(prefix="estafette-it.")
            subprocess.run([os.path.join(TOP, "scripts", "install-tree"), "--create-users",
                            "--prefix", prefix, "--build", BUILD], capture_output=True, timeout=300)
            subprocess.run(["rm", "-rf", prefix])
            try:
                cls.net_uid = pwd.getpwnam(NET_ROLE_USER).pw_uid
            except KeyError:
                pass

    def setUp(self):
        super().setUp()
        if os.geteuid() == 0 and self.net_uid is None:
            self.skipTest(f"running as root without a {NET_ROLE_USER} user")
        self.service = os.path.join(self.tmp, "service")
        with open(self.service, "w") as f:
            f.write(SERVICE)
        os.chmod(self.service, 0o755)
        self.logpath = os.path.join(self.tmp, "log")
        self.procs = []

    def tearDown(self):
        for p in self.procs:
            if p.poll() is None:
                p.kill()
                p.wait(timeout=10)
        super().tearDown()

    def start(self, *args, addrs=None, env_extra=None, wait=True, **kw):
        self.port = free_port()
        if addrs is None:
            addrs = ["127.0.0.1"] + (["::1"] if HAVE_V6 else [])
        argv = [program("listener")]
        for a in addrs:
            argv += ["-a", a]
        argv += ["-p", str(self.port), *args, "--", self.service]
        env = dict(os.environ, ESTAFETTE_LOG="stderr", TCPREMOTEINFO="forged",
                   TCPREMOTEHOST="forged.example", LISTEN_FDS="1")
        env.update(env_extra or {})
        self.log = open(self.logpath, "ab")
        p = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                             stderr=self.log, env=env, **kw)
        self.log.close()
        self.procs.append(p)
        if wait:
            self.wait_log(r"info: listen ip=", proc=p)
        return p

    def logtext(self):
        with open(self.logpath, "rb") as f:
            return f.read().decode(errors="replace")

    def wait_log(self, pattern, count=1, timeout=10, proc=None):
        deadline = time.time() + timeout
        while time.time() < deadline:
            found = re.findall(pattern, self.logtext())
            if len(found) >= count:
                return found
            if proc is not None and proc.poll() is not None:
                break
            time.sleep(0.02)
        self.fail(f"no {count} x {pattern!r} in the log:\n{self.logtext()}")

    def stop(self, p):
        p.send_signal(signal.SIGTERM)
        return p.wait(timeout=15)

    # -- the environment ----------------------------------------------------

    def check_env(self, addr):
        p = self.start()
        c = Client(addr, self.port)
        env = c.env()
        self.assertEqual(env["PROTO"], "TCP")
        self.assertEqual(env["TCPLOCALIP"], addr)
        self.assertEqual(env["TCPLOCALPORT"], str(self.port))
        self.assertEqual(env["TCPREMOTEIP"], addr)
        self.assertEqual(env["TCPREMOTEPORT"], str(c.sock.getsockname()[1]))
        # inherited ucspi and socket-activation variables do not reach the child
        for name in ("TCPREMOTEHOST", "TCPREMOTEINFO", "LISTEN_PID", "LISTEN_FDS"):
            self.assertEqual(env[name], "unset", name)
        # only the connection and stderr: the listener's own descriptors are closed
        fds = env["fds"].split(",")
        self.assertEqual(fds[:3], ["0", "1", "2"])
        self.assertLessEqual(len(fds), 4, env["fds"])  # + the one listdir() used
        self.assertEqual(c.echo("hello there"), "echo:hello there")
        client_port = c.sock.getsockname()[1]
        c.close()
        self.wait_log(r"exit pid=\d+ ip=%s status=0 duration=\d+\.\d{3}s" % re.escape(addr))
        self.assertRegex(self.logtext(), r"connect ip=%s port=%d pid=\d+"
                         % (re.escape(addr), client_port))
        self.assertEqual(self.stop(p), 0)

    def test_env_ipv4(self):
        self.check_env("127.0.0.1")

    def test_env_ipv6(self):
        if not HAVE_V6:
            self.skipTest("no IPv6 loopback")
        self.check_env("::1")

    def test_inherited_descriptor_closed(self):
        r, w = os.pipe()
        try:
            p = self.start(pass_fds=(w,))
            c = Client("127.0.0.1", self.port)
            env = c.env()
            self.assertNotIn(str(w), env["fds"].split(",")[3:], env["fds"])
            c.close()
            self.stop(p)
        finally:
            os.close(r)
            os.close(w)

    def test_arguments_passed_without_shell(self):
        port = free_port()
        argv = [program("listener"), "-a", "127.0.0.1", "-p", str(port), "--", self.service,
                "a b", "$(id)", ";x"]
        with open(self.logpath, "ab") as log:
            proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stderr=log,
                                    env=dict(os.environ, ESTAFETTE_LOG="stderr"))
        self.procs.append(proc)
        self.wait_log(r"info: listen ip=", proc=proc)
        c = Client("127.0.0.1", port)
        self.assertEqual(c.env()["args"], "a b,$(id),;x")
        c.close()
        self.stop(proc)

    # -- limits ---------------------------------------------------------------

    def test_per_ip_limit_with_busy_message(self):
        p = self.start("-i", "2", "-c", "10", "-m", BUSY.replace("\r", "\\r").replace("\n", "\\n"))
        a, b = Client("127.0.0.1", self.port), Client("127.0.0.1", self.port)
        a.env()
        b.env()
        c = Client("127.0.0.1", self.port)
        self.assertEqual(c.read_all(), BUSY.encode())
        c.close()
        self.wait_log(r"refuse ip=127\.0\.0\.1 port=\d+ reason=maxperip")
        # another address is counted on its own
        if HAVE_V6:
            d = Client("::1", self.port)
            self.assertEqual(d.env()["TCPREMOTEIP"], "::1")
            d.close()
        # a finished session frees its slot
        self.assertEqual(a.echo("x"), "echo:x")
        a.close()
        self.wait_log(r"exit pid=\d+ ip=127\.0\.0\.1 ")
        e = Client("127.0.0.1", self.port)
        self.assertEqual(e.env()["PROTO"], "TCP")
        e.close()
        b.close()
        self.stop(p)

    def test_total_limit(self):
        p = self.start("-c", "2", "-i", "5", "-m", "* BYE Too many connections\\r\\n")
        a, b = Client("127.0.0.1", self.port), Client("127.0.0.1", self.port)
        a.env()
        b.env()
        c = Client("127.0.0.1", self.port)
        self.assertEqual(c.read_all(), b"* BYE Too many connections\r\n")
        c.close()
        self.wait_log(r"refuse ip=127\.0\.0\.1 port=\d+ reason=maxconn")
        a.close()
        b.close()
        self.stop(p)

    def test_no_busy_message_by_default(self):
        p = self.start("-i", "1")
        a = Client("127.0.0.1", self.port)
        a.env()
        b = Client("127.0.0.1", self.port)
        self.assertEqual(b.read_all(), b"")
        b.close()
        a.close()
        self.stop(p)

    def test_slow_child_does_not_block_others(self):
        p = self.start()
        idle = [Client("127.0.0.1", self.port) for _ in range(5)]
        for c in idle:
            c.env()  # these children now wait for a line that does not come
        t0 = time.time()
        fast = Client("127.0.0.1", self.port, timeout=5)
        self.assertEqual(fast.env()["PROTO"], "TCP")
        self.assertEqual(fast.echo("quick"), "echo:quick")
        self.assertLess(time.time() - t0, 5)
        fast.close()
        for c in idle:
            c.close()
        self.stop(p)

    def test_session_timeout(self):
        p = self.start("-t", "1")
        c = Client("127.0.0.1", self.port)
        c.env()
        self.wait_log(r"timeout pid=\d+ ip=127\.0\.0\.1", timeout=10)
        self.wait_log(r"exit pid=\d+ ip=127\.0\.0\.1 status=sig15")
        self.assertEqual(c.read_all(), b"")
        c.close()
        self.stop(p)

    def set_nofile(self, pid, n, as_user):
        """The soft RLIMIT_NOFILE of pid, set, from a process of the same user (root here
        may lack CAP_SYS_RESOURCE, which prlimit on another user's process needs)."""
        code = ("import resource as r; hard = r.prlimit(%d, r.RLIMIT_NOFILE)[1]; "
                "r.prlimit(%d, r.RLIMIT_NOFILE, (%d, hard))" % (pid, pid, n))
        r = subprocess.run([PYTHON, "-c", code], preexec_fn=as_user, capture_output=True,
                           text=True, timeout=30)
        self.assertEqual(r.returncode, 0, r.stderr)

    def test_out_of_descriptors_pauses_then_recovers(self):
        as_user = None
        if os.geteuid() == 0:  # run the listener unprivileged, as a user we can prlimit
            net = pwd.getpwnam(NET_ROLE_USER)

            def as_user():
                os.setgroups([])
                os.setgid(net.pw_gid)
                os.setuid(net.pw_uid)
        p = self.start(addrs=["127.0.0.1"], preexec_fn=as_user)
        # room for 0-2, the signalfd and the socket: none for accept()
        self.set_nofile(p.pid, 5, as_user)
        c = Client("127.0.0.1", self.port)  # completes in the kernel's backlog
        self.wait_log(r"warning: accept: Too many open files; pausing 100 ms")
        time.sleep(0.5)
        self.assertEqual(len(re.findall("pausing", self.logtext())), 1, "log flooded")
        self.assertIsNone(p.poll())
        self.set_nofile(p.pid, 64, as_user)
        self.assertEqual(c.env()["PROTO"], "TCP")
        c.close()
        self.assertEqual(self.stop(p), 0)

    def test_remote_host_only_with_h(self):
        try:
            name = socket.gethostbyaddr("127.0.0.1")[0]
            confirmed = "127.0.0.1" in socket.gethostbyname_ex(name)[2]
        except OSError:
            self.skipTest("127.0.0.1 has no name here")
        if not confirmed:
            self.skipTest("the name of 127.0.0.1 does not resolve back to it")
        p = self.start("-h")
        c = Client("127.0.0.1", self.port)
        self.assertEqual(c.env()["TCPREMOTEHOST"], name)
        c.close()
        self.stop(p)

    # -- stopping and errors -----------------------------------------------------

    def test_sigterm_stops_listener_and_children(self):
        p = self.start()
        clients = [Client("127.0.0.1", self.port) for _ in range(3)]
        for c in clients:
            c.env()
        pids = [int(x) for x in self.wait_log(r"connect ip=\S+ port=\d+ pid=(\d+)", count=3)]
        self.assertEqual(self.stop(p), 0)
        for pid in pids:
            self.assertFalse(process_alive(pid), pid)
        for c in clients:
            self.assertEqual(c.read_all(), b"")
            c.close()
        self.assertIn("stopped children=0", self.logtext())
        with self.assertRaises(OSError):
            socket.create_connection(("127.0.0.1", self.port), timeout=2)

    def test_port_in_use(self):
        holder = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        holder.bind(("127.0.0.1", 0))
        holder.listen(1)
        port = holder.getsockname()[1]
        try:
            r = subprocess.run([program("listener"), "-a", "127.0.0.1", "-p", str(port), "--",
                                self.service], capture_output=True, text=True, timeout=30,
                               env=dict(os.environ, ESTAFETTE_LOG="stderr"))
        finally:
            holder.close()
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("Address already in use", r.stderr)
        self.assertIn(f"127.0.0.1 port {port}", r.stderr)

    def test_usage_errors(self):
        for args in ([], ["-p", "25"], ["-p", "0", "--", "/bin/true"], ["-p", "99999", "--", "/bin/true"],
                     ["-a", "not-an-ip", "-p", "2525", "--", "/bin/true"],
                     ["-m", "bad \\q escape", "-p", "2525", "--", "/bin/true"],
                     ["-c", "-1", "-p", "2525", "--", "/bin/true"]):
            r = subprocess.run([program("listener"), *args], capture_output=True, text=True,
                               timeout=30)
            self.assertEqual(r.returncode, 64, (args, r.stderr))
            self.assertIn("usage: listener", r.stderr)

    def test_missing_program(self):
        r = subprocess.run([program("listener"), "-a", "127.0.0.1", "-p", str(free_port()), "--",
                            os.path.join(self.tmp, "nonexistent")], capture_output=True, text=True,
                           timeout=30, env=dict(os.environ, ESTAFETTE_LOG="stderr"))
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("cannot execute", r.stderr)

    def test_socket_activation(self):
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.bind(("127.0.0.1", 0))
        s.listen(16)
        port = s.getsockname()[1]
        fd = s.fileno()
        # as systemd does: the socket on fd 3, LISTEN_PID naming the process itself
        wrapper = ("import os, sys; os.dup2(int(sys.argv[1]), 3); "
                   "os.environ.update(LISTEN_PID=str(os.getpid()), LISTEN_FDS='1', "
                   "LISTEN_FDNAMES='smtp'); os.execv(sys.argv[2], sys.argv[2:])")
        argv = [sys.executable, "-c", wrapper, str(fd), program("listener"), "--", self.service]
        with open(self.logpath, "ab") as log:
            proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stderr=log, pass_fds=(fd,),
                                    env=dict(os.environ, ESTAFETTE_LOG="stderr"))
        self.procs.append(proc)
        s.close()
        self.wait_log(r"info: listen ip=127\.0\.0\.1 port=%d" % port, proc=proc)
        c = Client("127.0.0.1", port)
        env = c.env()
        self.assertEqual(env["TCPLOCALPORT"], str(port))
        self.assertEqual(env["LISTEN_PID"], "unset")
        self.assertEqual(env["LISTEN_FDS"], "unset")
        c.close()
        self.assertEqual(self.stop(proc), 0)

    # -- privileges ----------------------------------------------------------------

    def test_root_drops_to_net_user(self):
        if os.geteuid() != 0:
            self.skipTest("needs root")
        p = self.start()
        with open(f"/proc/{p.pid}/status") as f:
            uids = [line.split()[1:] for line in f if line.startswith(("Uid:", "Gid:"))]
        net = pwd.getpwnam(NET_ROLE_USER)
        self.assertEqual(uids[0], [str(net.pw_uid)] * 4)
        self.assertEqual(uids[1], [str(net.pw_gid)] * 4)
        c = Client("127.0.0.1", self.port)
        self.assertEqual(c.env()["uid"], str(net.pw_uid))
        c.close()
        self.stop(p)

    def test_root_unknown_user(self):
        if os.geteuid() != 0:
            self.skipTest("needs root")
        r = subprocess.run([program("listener"), "-a", "127.0.0.1", "-p", str(free_port()),
                            "-u", "estafette-no-such-user", "--", self.service],
                           capture_output=True, text=True, timeout=30,
                           env=dict(os.environ, ESTAFETTE_LOG="stderr"))
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("estafette-no-such-user", r.stderr)

    def test_privileged_port_bound_before_drop(self):
        if os.geteuid() != 0:
            self.skipTest("needs root")
        for port in range(600, 1000):  # a free port below 1024 on loopback
            with socket.socket() as s:
                try:
                    s.bind(("127.0.0.1", port))
                except OSError:
                    continue
            break
        else:
            self.skipTest("no free privileged port")
        argv = [program("listener"), "-a", "127.0.0.1", "-p", str(port), "--", self.service]
        with open(self.logpath, "ab") as log:
            proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stderr=log,
                                    env=dict(os.environ, ESTAFETTE_LOG="stderr"))
        self.procs.append(proc)
        self.wait_log(r"info: listen ip=127\.0\.0\.1 port=%d" % port, proc=proc)
        c = Client("127.0.0.1", port)
        self.assertEqual(c.env()["uid"], str(self.net_uid))
        c.close()
        self.stop(proc)
