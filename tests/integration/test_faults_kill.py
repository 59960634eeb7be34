"""SIGKILL at random points under load (issue 10): while a client sends mail for a local
and a remote recipient over SMTP, a killer thread SIGKILLs smtpd, submit, deliver-spawn's
children and theirs wherever it finds them (the remote module: its own test, below). The client retries whatever got no 250, as any SMTP
client does. Nothing is lost, no Maildir holds a partial message, duplicates are counted
(faultlib.Tally). courierd and deliver-spawn themselves: test_courierd."""

import os
import random
import shutil
import threading
import time
import unittest

from harness import TempDirTestCase, program
import dnsserver
import faultlib
from faultlib import MailPath, Tally, DOMAIN
from smtppeer import SmtpPeer
from test_faults import ZONES, free_port


def children(pid):
    """Child pids of pid (from /proc/PID/task/*/children: cheap enough to poll often)."""
    out = []
    try:
        for t in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{t}/children") as f:
                out += [int(x) for x in f.read().split()]
    except (FileNotFoundError, ProcessLookupError):
        pass
    return out


def module_pid(courierd, name, timeout=10):
    """The pid of courierd's child running `name` (it may still be between fork and
    exec right after courierd says it started)."""
    deadline = time.time() + timeout
    while True:
        for p in children(courierd.pid):
            try:
                if faultlib.exe_name(p) == name:
                    return p
            except OSError:
                pass
        if time.time() > deadline:
            raise AssertionError(f"courierd has no {name} child")
        time.sleep(0.05)


class Killer(threading.Thread):
    """Every few milliseconds, SIGKILLs each process it finds of a kind in `chances`
    with that kind's probability (short-lived kinds get higher odds). `find` returns
    [(pid, kind)] of the candidates."""

    def __init__(self, find, seed, chances, period=0.01):
        super().__init__(daemon=True)
        self.find, self.rnd, self.chances = find, random.Random(seed), chances
        self.period = period
        self.kills = {k: 0 for k in chances}
        self.stopping = False

    def run(self):
        while not self.stopping:
            time.sleep(self.period)
            for pid, kind in self.find():
                if kind in self.chances and self.rnd.random() < self.chances[kind]:
                    faultlib.kill_quietly(pid)
                    self.kills[kind] += 1

    def stop(self):
        self.stopping = True
        self.join(timeout=10)


@unittest.skipUnless(dnsserver.available(), "unbound is not installed")
class KillUnderLoadTest(TempDirTestCase):
    def setUp(self):
        super().setUp()
        self.inst = self.dns = self.peer = self.killer = None

    def tearDown(self):
        if self.killer:
            self.killer.stop()
        log = ""
        if self.inst:
            self.inst.close()
            log = self.inst.logtext()
        if self.peer:
            self.peer.stop()
        if self.dns:
            self.dns.stop()
        super().tearDown()
        self.assertEqual(faultlib.sanitizer_errors(log), [])

    def start(self):
        """An instance with the remote module, a DNS server and a peer for plain.test."""
        self.dns = dnsserver.DnsServer(self.tmp, ZONES).start()
        port = free_port()
        self.peer = SmtpPeer("127.0.0.1", port, name="mx.plain.test").start()
        inst = self.inst = MailPath(self.tmp)
        inst.add("alice")
        inst.write("rcpthosts", "plain.test\n")  # smtpd accepts far@plain.test to relay
        inst.write("dns.conf", f"forwarders = 127.0.0.1:{self.dns.port}\ntimeout = 5s\n")
        inst.write("remote.conf", f"port = {port}\nconnect_timeout = 5s\n"
                                  "command_timeout = 10s\ndata_timeout = 10s\n")
        shutil.copy(program("remote"), os.path.join(inst.libexec, "remote"))
        os.chmod(os.path.join(inst.libexec, "remote"), 0o755)
        inst.start_authd()
        inst.start_courierd()
        return inst

    def test_random_sigkill_of_smtpd_submit_deliver(self):
        inst = self.start()
        spawn = [module_pid(inst.courierd, "deliver-spawn")]

        def find():
            found = []
            for worker in children(spawn[0]):  # deliver-spawn's workers (deliver -W)
                found.append((worker, "deliver-spawn child"))
                for p in children(worker):
                    found.append((p, "deliver"))
            for sp in list(inst.smtpds):
                if sp.poll() is None:
                    found.append((sp.pid, "smtpd"))
                    found += [(p, "submit") for p in children(sp.pid)]
            return found
        # per 10 ms: a session lasts ~100 times that, submit ~10, deliver ~2
        self.killer = Killer(find, seed=23,
                             chances={"smtpd": 0.0015, "submit": 0.02, "deliver": 0.08,
                                      "deliver-spawn child": 0.002})
        self.killer.start()
        n = int(os.environ.get("ESTAFETTE_KILL_MESSAGES", "120"))
        tally = Tally("sigkill-under-load")
        rnd = random.Random(5)
        start = time.time()
        for i in range(n):
            mid = f"kl{i}"
            size = rnd.choice((1000, 20000, 150000))
            for attempt in range(30):
                code = self.send_both(mid, size)
                if code == 250:
                    tally.took(mid)
                    break
                self.assertNotEqual(code // 100, 5, (mid, code))
                tally.refused += 1
            else:
                self.fail(f"{mid}: 30 attempts without 250")
            self.assertIsNone(inst.courierd.poll(), "courierd exited:\n" + inst.logtext()[-3000:])
        self.killer.stop()
        local = inst.wait_delivered("alice", tally.accepted, timeout=120)
        deadline = time.time() + 120
        while time.time() < deadline and len(self.remote_ids()) < len(tally.accepted):
            time.sleep(0.5)
        remote = self.remote_ids()
        faultlib.report(f"faults: sigkill-under-load kills {self.killer.kills} "
                        f"in {time.time() - start:.0f}s")
        tally.name = "sigkill-under-load-local"
        lost_l, _ = tally.result(local)
        tally.name = "sigkill-under-load-remote"
        lost_r, _ = tally.result(remote)
        self.assertEqual((lost_l, lost_r), (0, 0), inst.logtext()[-3000:])
        self.assertGreater(sum(self.killer.kills.values()), 0)
        self.assert_whole_messages(inst)

    def send_both(self, mid, size):
        """One message to alice and far@plain.test; the final reply code (0: cut off)."""
        inst = self.inst
        try:
            c = inst.smtp()
        except (AssertionError, EOFError, OSError):
            return 0
        try:
            for cmd in ("EHLO client.example", "MAIL FROM:<x@example.org>",
                        f"RCPT TO:<alice@{DOMAIN}>", "RCPT TO:<far@plain.test>", "DATA"):
                code, _ = c.cmd(cmd)
                if code >= 400:
                    return code
            c.send(faultlib.message(mid, size, crlf=True) + b".\r\n")
            return c.reply()[0]
        except (EOFError, OSError):
            return 0
        finally:
            c.close()

    def remote_ids(self):
        got = {}
        for m in list(self.peer.messages):
            found = faultlib.FAULT_ID.search(m["data"].replace(b"\r\n", b"\n"))
            if found:
                mid = found.group(1).decode()
                got[mid] = got.get(mid, 0) + 1
        return got

    def assert_whole_messages(self, inst):
        """A killed deliver leaves at most a file in tmp/, never a partial one in new/."""
        md = os.path.join(inst.home("alice"), "Maildir")
        for sub in ("new", "cur"):
            for name in os.listdir(os.path.join(md, sub)):
                with open(os.path.join(md, sub, name), "rb") as f:
                    data = f.read()
                self.assertTrue(data.endswith(b"x" * 76 + b"\n"), f"partial message {name}")
        for m in self.peer.messages:
            self.assertTrue(m["data"].endswith(b"x" * 76 + b"\r\n"), "partial remote message")


    # faults-bugs.md #2 (fixed by 5a9dce8, deliver-spawn's per-account workers): a child of
    # deliver-spawn killed mid-job once left that job unanswered forever.
    def test_sigkill_of_deliver_spawn_children_then_local_mail_still_flows(self):
        inst = self.start()
        spawn = [module_pid(inst.courierd, "deliver-spawn")]
        home = inst.home("alice")
        with open(os.path.join(home, ".courier"), "w") as f:
            f.write("./Maildir/\n| sleep 2\n")  # each job lives for 2 s
        if faultlib.AS_ROOT:
            os.chown(os.path.join(home, ".courier"), inst.uid, inst.gid)
        tally = Tally("sigkill-deliver-spawn-children")
        for i in range(6):
            inst.submit("x@example.org", [f"alice@{DOMAIN}"], faultlib.message(f"jc{i}", 1000))
            tally.took(f"jc{i}")
        deadline = time.time() + 20
        killed = set()
        while time.time() < deadline and len(killed) < 6:
            for job in children(spawn[0]):
                if job not in killed:
                    faultlib.kill_quietly(job)
                    killed.add(job)
            time.sleep(0.05)
        os.unlink(os.path.join(home, ".courier"))
        got = inst.wait_delivered("alice", tally.accepted, timeout=30)
        lost, _ = tally.result(got)
        self.assertEqual(lost, 0, inst.logtext()[-2000:])
        # (a child killed after its deliver started may still deliver, then the retry
        # delivers again: a duplicate; but courierd must learn an outcome for every job)
        inst.wait_queue_empty(timeout=30)

    # faults-bugs.md #1: courierd starts the remote module once, before it drops
    # privileges, and never again: after the module dies every remote recipient is
    # deferred with "no remote delivery module" until courierd itself is restarted.
    def test_sigkill_of_remote_module_then_remote_mail_still_flows(self):
        """courierd exits 75 when a module dies (it started them as root, so it cannot
        start one again); restarted as a service manager or the sandbox would, remote
        mail flows again, including what was queued in between."""
        inst = self.start()
        tally = Tally("sigkill-remote-module")
        for i in range(3):
            inst.submit("x@example.org", ["far@plain.test"], faultlib.message(f"rm{i}", 1000))
            tally.took(f"rm{i}")
        self.wait_remote(tally.accepted, 60)
        faultlib.kill_quietly(module_pid(inst.courierd, "remote"))
        self.assertEqual(inst.courierd.wait(timeout=30), 75)
        for i in range(3, 5):
            inst.submit("x@example.org", ["far@plain.test"], faultlib.message(f"rm{i}", 1000))
            tally.took(f"rm{i}")
        inst.start_courierd()
        for i in range(5, 6):
            inst.submit("x@example.org", ["far@plain.test"], faultlib.message(f"rm{i}", 1000))
            tally.took(f"rm{i}")
        got = self.wait_remote(tally.accepted, 30)
        lost, _ = tally.result(got)
        self.assertEqual(lost, 0, inst.logtext()[-2000:])

    def wait_remote(self, ids, timeout):
        deadline = time.time() + timeout
        while time.time() < deadline and not all(i in self.remote_ids() for i in ids):
            time.sleep(0.3)
        return self.remote_ids()


if __name__ == "__main__":
    unittest.main()
