"""Shared helpers of the integration tests: where the build is, free ports, and a
sandbox instance (scripts/sandbox) started in a temporary directory."""

import base64
import os
import random
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import unittest

TOP = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BUILD = os.environ.get("ESTAFETTE_BUILD", "build")
BUILD_DIR = BUILD if os.path.isabs(BUILD) else os.path.join(TOP, BUILD)
STANDARD_PORTS = (25, 110, 143, 465, 587, 993, 995)
# Set by `make sanitize`: set-id programs do not run under ASan/LSan, so tests skip
# running set-id copies as other users then (see the Makefile).
SANITIZED = bool(os.environ.get("ESTAFETTE_SANITIZE"))


def program(name):
    """Path of a built program."""
    return os.path.join(BUILD_DIR, "bin", name)


def process_alive(pid):
    """True while pid runs; a zombie (exited, not yet reaped) counts as gone."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except (FileNotFoundError, ProcessLookupError):  # gone before or while read
        return False


def authd_request(sock_path, line, timeout=10):
    """One request to authd's socket (authd(8)); returns the reply line."""
    data = line if isinstance(line, bytes) else line.encode()
    with socket.socket(socket.AF_UNIX) as s:
        s.settimeout(timeout)
        s.connect(sock_path)
        s.sendall(data + b"\n")
        reply = b""
        while not reply.endswith(b"\n"):
            chunk = s.recv(65536)
            if not chunk:
                break
            reply += chunk
    return reply.decode()


def sasl_plain(user, password):
    """The base64 SASL PLAIN response for user and password."""
    return base64.b64encode(b"\0" + user.encode() + b"\0" + password.encode()).decode()


def port_free(port):
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("127.0.0.1", port))
            return True
        except OSError:
            return False


def free_base_port():
    """A base port with every base + standard port free on 127.0.0.1."""
    for _ in range(200):
        base = random.randrange(10000, 60000, 100)
        if all(port_free(base + p) for p in STANDARD_PORTS):
            return base
    raise RuntimeError("no free base port found")


class TempDirTestCase(unittest.TestCase):
    """A test case with self.tmp, a directory removed after each test."""

    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="estafette-it.")
        os.chmod(self.tmp, 0o755)  # system users of a root sandbox must reach into it

    def tearDown(self):
        shutil.rmtree(self.tmp, ignore_errors=True)


class Sandbox:
    """scripts/sandbox --foreground in a directory; stop() sends it Ctrl-C."""

    def __init__(self, root, users=(), base_port=None):
        self.root = root
        self.base_port = base_port or free_base_port()
        self.users = list(users)
        self.proc = None
        self.output = []
        self.accounts = {}

    def start(self, timeout=60):
        argv = [os.path.join(TOP, "scripts", "sandbox"), "--root", self.root,
                "--base-port", str(self.base_port), "--foreground", "--no-build",
                "--build-dir", BUILD_DIR]
        for u in self.users:
            argv += ["--user", u]
        self.proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                     text=True, start_new_session=True)
        deadline = time.time() + timeout
        while time.time() < deadline:
            line = self.proc.stdout.readline()
            if not line:
                raise RuntimeError("sandbox exited early:\n" + "".join(self.output))
            self.output.append(line)
            if "  password: " in line and "  maildir: " in line:
                address, rest = line.strip().split("  password: ", 1)
                self.accounts[address] = rest.rsplit("  maildir: ", 1)[0]
            if line.startswith("stop with:"):
                return self
        raise RuntimeError("sandbox did not come up:\n" + "".join(self.output))

    def port(self, standard_port):
        return self.base_port + standard_port

    def stop(self, timeout=20):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
                self.kill_leftovers()
        if self.proc:
            self.proc.stdout.close()
        return self.proc.returncode if self.proc else None

    def kill_leftovers(self):
        """SIGKILL every process still running a program of this instance:
        daemons the sandbox started in their own sessions outlive its group."""
        prefix = os.path.realpath(self.root) + os.sep
        for pid in os.listdir("/proc"):
            if not pid.isdigit():
                continue
            try:
                exe = os.readlink(f"/proc/{pid}/exe")
            except OSError:
                continue
            if exe.startswith(prefix):
                try:
                    os.kill(int(pid), signal.SIGKILL)
                except OSError:
                    pass

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()
