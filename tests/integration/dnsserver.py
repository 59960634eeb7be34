"""A real DNS server for tests: Debian's unbound as a pure local authority on a free
loopback port. Test zones are local-zone/local-data lines; the root is forwarded to a
dead loopback port that unbound's default do-not-query-localhost forbids asking, so any
other name is an immediate SERVFAIL and nothing leaves the machine.

    with DnsServer(tmpdir, ['local-zone: "ex.test." static',
                            'local-data: "ex.test. MX 10 mx.ex.test."']) as dns:
        dns.port   # write "forwarders = 127.0.0.1:%d" % dns.port into dns.conf
"""

import os
import socket
import subprocess
import time

UNBOUND = "/usr/sbin/unbound"


def available():
    return os.access(UNBOUND, os.X_OK)


def _free_port():
    for _ in range(50):
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as u, \
                socket.socket(socket.AF_INET, socket.SOCK_STREAM) as t:
            u.bind(("127.0.0.1", 0))
            port = u.getsockname()[1]
            try:
                t.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError("no free port for the DNS server")


class DnsServer:
    def __init__(self, tmp, zone_lines):
        self.dir = os.path.join(tmp, "unbound")
        os.makedirs(self.dir, exist_ok=True)
        self.port = _free_port()
        self.dead = _free_port()
        self.conf = os.path.join(self.dir, "unbound.conf")
        self.log = os.path.join(self.dir, "unbound.log")
        zones = "".join(f" {line}\n" for line in zone_lines)
        with open(self.conf, "w") as f:
            f.write(
                "server:\n"
                f" interface: 127.0.0.1@{self.port}\n port: {self.port}\n do-ip6: no\n"
                f' username: ""\n chroot: ""\n directory: "{self.dir}"\n pidfile: ""\n'
                f' use-syslog: no\n logfile: "{self.log}"\n verbosity: 0\n'
                " do-daemonize: no\n num-threads: 1\n module-config: \"iterator\"\n"
                " outgoing-range: 32\n incoming-num-tcp: 4\n outgoing-num-tcp: 4\n"
                " so-reuseport: no\n" + zones +
                f'forward-zone:\n name: "."\n forward-addr: 127.0.0.1@{self.dead}\n'
                "remote-control:\n control-enable: no\n")
        self.proc = None

    def start(self, timeout=10):
        self.proc = subprocess.Popen([UNBOUND, "-d", "-c", self.conf],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.proc.poll() is not None:
                with open(self.log) as f:
                    raise RuntimeError("unbound exited:\n" + f.read())
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1):
                    return self
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("unbound did not start")

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=10)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()
