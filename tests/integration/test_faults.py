"""Fault injection on the mail path (issue 10): a full queue disk, a full Maildir disk, a
read-only queue, a dead authd, a DNS server that never answers, a peer that stalls
mid-DATA and SIGKILL of smtpd mid-DATA. Each ends in delivery, retry or bounce, never
silence, and prints its tally (faultlib.Tally): lost must be 0."""

import os
import random
import select
import shutil
import signal
import socket
import time
import unittest

from harness import TempDirTestCase, program, sasl_plain
import dnsserver
import faultlib
from faultlib import MailPath, Mounts, Tally, AS_ROOT, DOMAIN
from smtppeer import SmtpPeer


class FaultCase(TempDirTestCase):
    def setUp(self):
        super().setUp()
        self.inst = None
        self.mounts = Mounts(self)

    def tearDown(self):
        log = ""
        if self.inst:
            self.inst.close()
            log = self.inst.logtext()
        self.mounts.umount_all()
        super().tearDown()
        self.assertEqual(faultlib.sanitizer_errors(log), [])

    def instance(self, conf="retry_schedule = 1s\nscan_interval = 1s\n"):
        self.inst = MailPath(self.tmp, conf=conf)
        return self.inst

    def no_bounces(self, inst):
        log = inst.logtext()
        self.assertNotIn("status=bounced", log, log[-3000:])

    def assert_queue_whole(self, inst):
        """Every ctl has its msg, and tmp/ holds nothing (no half entries)."""
        ctl = {os.path.basename(p) for p in inst.queue_files("ctl")}
        msg = {os.path.basename(p) for p in inst.queue_files("msg")}
        self.assertLessEqual(ctl, msg, "a control file without its message")
        self.assertEqual(inst.queue_files("tmp"), [])


class DiskFaultTest(FaultCase):
    def test_full_queue_disk_answers_4xx_then_delivers(self):
        inst = self.instance()
        inst.add("alice")
        self.mounts.tmpfs(inst.queue, 2 << 20)
        inst.start_authd()
        faultlib.fill(os.path.join(inst.queue, "filler"), 200 << 10)
        tally = Tally("full-queue-disk")
        codes, refused = {}, []
        for i in range(10):
            mid = f"fq{i}"
            codes[mid] = inst.send(mid, f"alice@{DOMAIN}", size=40 << 10)
            self.assertNotEqual(codes[mid] // 100, 5, (mid, codes[mid], inst.logtext()[-2000:]))
            self.assertNotEqual(codes[mid], 0, inst.logtext()[-2000:])
            if codes[mid] == 250:
                tally.took(mid)
            else:
                refused.append(mid)
        tally.refused = len(refused)
        self.assertTrue(refused, f"the disk never filled: {codes}")
        self.assertTrue(tally.accepted, f"nothing fitted: {codes}")
        self.assert_queue_whole(inst)
        # courierd works on a queue disk that is still full
        inst.start_courierd()
        inst.wait_delivered("alice", tally.accepted)
        os.unlink(os.path.join(inst.queue, "filler"))
        for mid in refused:  # the client's retry
            self.assertEqual(inst.send(mid, f"alice@{DOMAIN}", size=40 << 10), 250)
            tally.took(mid)
        got = inst.wait_delivered("alice", tally.accepted)
        lost, _ = tally.result(got)
        self.assertEqual(lost, 0, inst.logtext()[-3000:])
        inst.wait_queue_empty(timeout=30)
        self.no_bounces(inst)

    def test_queue_disk_full_to_the_last_byte_while_courierd_delivers(self):
        """courierd starts on a queue disk without one free block: it delivers (status
        records fit in the control files' blocks), and a bounce it cannot queue (submit
        gets ENOSPC) must wait for room, not vanish with the failed message."""
        inst = self.instance()
        inst.add("alice", "bob")
        self.mounts.tmpfs(inst.queue, 2 << 20)
        inst.start_authd()
        tally = Tally("queue-disk-full-during-delivery")
        ids = [f"fz{i}" for i in range(5)]
        for mid in ids:
            inst.submit("x@example.org", [f"alice@{DOMAIN}"], faultlib.message(mid, 2000))
            tally.took(mid)
        inst.submit(f"bob@{DOMAIN}", [f"nobody@{DOMAIN}"], faultlib.message("fz-bounce", 2000))
        tally.took("fz-bounce")
        filler = os.path.join(inst.queue, "filler")
        faultlib.fill(filler, 0)
        inst.start_courierd()
        time.sleep(6)
        while_full = inst.delivered("alice")
        os.unlink(filler)
        inst.wait_delivered("alice", ids)
        inst.wait_delivered("bob", ["fz-bounce"])
        inst.wait_queue_empty(timeout=30)
        time.sleep(2)
        got = inst.delivered("alice")
        got.update(inst.delivered("bob"))  # the bounce carries the message
        lost, dups = tally.result(got)
        faultlib.report(f"faults: queue-disk-full-during-delivery delivered while full: "
                        f"{sum(while_full.values())} copies of {len(while_full)}")
        self.assertEqual(lost, 0, inst.logtext()[-3000:])
        self.assertLessEqual(dups, len(ids), "repeated deliveries beyond one per message")

    def test_full_maildir_disk_defers_then_delivers(self):
        inst = self.instance()
        inst.add("alice", "bob")
        maildir = os.path.join(inst.home("alice"), "Maildir")
        self.mounts.tmpfs(maildir, 1 << 20)
        inst.start_authd()
        inst.start_courierd()
        filler = os.path.join(maildir, "filler")
        faultlib.fill(filler, 24 << 10)
        tally = Tally("full-maildir-disk")
        ids = [f"fm{i}" for i in range(4)]
        for mid in ids:
            inst.submit(f"bob@{DOMAIN}", [f"alice@{DOMAIN}"], faultlib.message(mid, 100 << 10))
            tally.took(mid)
        inst.wait_log(r"rcpt=<alice@example\.test> route=local .*status=deferred")
        time.sleep(2)  # a few retries on the full disk
        self.assertEqual(inst.delivered("alice"), {})
        self.assertEqual(inst.delivered("bob"), {}, "a full disk must not bounce")
        self.assertEqual(os.listdir(os.path.join(maildir, "tmp")), [],
                         "a failed delivery left its tmp file")
        os.unlink(filler)
        got = inst.wait_delivered("alice", ids)
        lost, _ = tally.result(got)
        self.assertEqual(lost, 0, inst.logtext()[-3000:])
        inst.wait_queue_empty(timeout=30)
        self.no_bounces(inst)

    def test_read_only_queue_answers_4xx_never_250(self):
        inst = self.instance()
        inst.add("alice")
        inst.start_authd()
        inst.start_courierd()
        if AS_ROOT:
            self.mounts.read_only(inst.queue)
        else:
            for d, dirs, _ in os.walk(inst.queue):
                os.chmod(d, 0o555)
        tally = Tally("read-only-queue")
        ids = [f"ro{i}" for i in range(5)]
        for mid in ids:
            code = inst.send(mid, f"alice@{DOMAIN}")
            self.assertEqual(code // 100, 4, (mid, code, inst.logtext()[-2000:]))
            tally.refused += 1
        # submit run directly (sendmail's path) refuses too, with a temporary exit code
        r = inst.submit_raw(b"Sx@example.org\nFlocal\nRalice@example.test\n\nD2\nx\n.\n")
        self.assertEqual(r.returncode, 75, r)
        self.assertFalse(r.stdout.startswith(b"250"), r.stdout)
        self.assertEqual(inst.queue_files("ctl"), [])
        if AS_ROOT:
            self.mounts.umount(inst.queue)
        else:
            for d, dirs, _ in os.walk(inst.queue):
                os.chmod(d, 0o770 if d != inst.queue else 0o750)
        for mid in ids:
            self.assertEqual(inst.send(mid, f"alice@{DOMAIN}"), 250)
            tally.took(mid)
        lost, _ = tally.result(inst.wait_delivered("alice", ids))
        self.assertEqual(lost, 0, inst.logtext()[-3000:])


class DeadAuthdTest(FaultCase):
    def test_dead_authd_4xx_and_retries_never_bounces(self):
        inst = self.instance()
        inst.add("alice", "bob")
        inst.passwd("alice", "alice pw 1")
        inst.start_authd()
        inst.start_courierd()
        inst.authd.kill()
        inst.authd.wait()
        tally = Tally("dead-authd")
        c = inst.smtp()
        self.assertEqual(c.cmd("EHLO client.example")[0], 250)
        code, lines = c.cmd("AUTH PLAIN " + sasl_plain(f"alice@{DOMAIN}", "alice pw 1"))
        self.assertEqual(code // 100, 4, lines)
        self.assertEqual(c.cmd("MAIL FROM:<x@example.org>")[0], 250)
        code, lines = c.cmd(f"RCPT TO:<alice@{DOMAIN}>")
        self.assertEqual(code // 100, 4, lines)
        tally.refused += 1
        c.close()
        # mail already queued: courierd defers local delivery
        ids = [f"da{i}" for i in range(5)]
        for mid in ids:
            inst.submit(f"bob@{DOMAIN}", [f"alice@{DOMAIN}"], faultlib.message(mid, 1000))
            tally.took(mid)
        inst.wait_log(r"rcpt=<alice@example\.test> route=local .*status=deferred "
                      r"response=\"451 4\.3\.0")
        time.sleep(2)
        self.assertEqual(inst.delivered("alice"), {})
        self.assertEqual(inst.delivered("bob"), {})
        self.no_bounces(inst)
        inst.start_authd()
        self.assertEqual(inst.send("da-smtp", f"alice@{DOMAIN}"), 250)  # the retry
        tally.took("da-smtp")
        got = inst.wait_delivered("alice", ids + ["da-smtp"])
        lost, _ = tally.result(got)
        self.assertEqual(lost, 0, inst.logtext()[-3000:])
        inst.wait_queue_empty(timeout=30)
        self.no_bounces(inst)


class SmtpdKillTest(FaultCase):
    def test_sigkill_smtpd_mid_data_queues_nothing(self):
        inst = self.instance()
        inst.add("alice")
        inst.start_authd()
        inst.start_courierd()
        rnd = random.Random(10)
        tally = Tally("sigkill-smtpd-mid-data")
        ids = [f"sk{i}" for i in range(20)]
        for mid in ids:
            c = inst.smtp()
            for cmd in ("EHLO client.example", "MAIL FROM:<x@example.org>",
                        f"RCPT TO:<alice@{DOMAIN}>", "DATA"):
                self.assertLess(c.cmd(cmd)[0], 400)
            data = faultlib.message(mid, 200 << 10, crlf=True)
            cut = rnd.randrange(1, len(data))
            for i in range(0, cut, 8192):
                c.send(data[i:min(cut, i + 8192)])
            time.sleep(rnd.random() * 0.05)
            c.proc.send_signal(signal.SIGKILL)
            c.proc.wait()
            try:
                c.send(data[cut:] + b".\r\n")
                got = c.sock.recv(4096)
            except OSError:
                got = b""
            self.assertNotIn(b"250", got)
            tally.refused += 1
            c.close()
        # submit, left without its smtpd, must give up and clean its tmp files
        deadline = time.time() + 20
        while time.time() < deadline and inst.queue_files("tmp"):
            time.sleep(0.2)
        self.assert_queue_whole(inst)
        self.assertEqual(inst.queue_files("ctl"), [])
        time.sleep(1)
        self.assertEqual(inst.delivered("alice"), {}, "a message without 250 was delivered")
        for mid in ids:  # the client retries each
            self.assertEqual(inst.send(mid, f"alice@{DOMAIN}", size=200 << 10), 250)
            tally.took(mid)
        lost, dups = tally.result(inst.wait_delivered("alice", ids))
        self.assertEqual((lost, dups), (0, 0), inst.logtext()[-3000:])


class StallPeer(SmtpPeer):
    """An SMTP peer whose first `stalls` connections answer DATA with 354 and then read
    nothing more, until the client gives up and closes; later ones take the message
    (collected in a list: SmtpPeer's byte concatenation is too slow for megabytes)."""

    def __init__(self, *args, stalls=1, **kw):
        super().__init__(*args, **kw)
        self.stalls = stalls
        self.stalled = 0

    def _serve(self, conn, n):
        conn.settimeout(60)
        f = conn.makefile("rb")
        try:
            conn.sendall(b"220 stall.test ESMTP\r\n")
            while True:
                line = f.readline(10000)
                verb = line[:4].upper()
                if not line or verb == b"QUIT":
                    return
                if verb == b"EHLO":
                    conn.sendall(b"250-stall.test\r\n250 8BITMIME\r\n")
                elif verb == b"DATA":
                    conn.sendall(b"354 go ahead\r\n")
                    if n <= self.stalls:
                        return self._stall(conn)
                    self._take(f, n)
                    conn.sendall(b"250 2.0.0 queued\r\n")
                else:
                    conn.sendall(b"250 ok\r\n")
        except OSError:
            pass
        finally:
            conn.close()

    def _take(self, f, n):
        parts = []
        while True:
            d = f.readline(100000)
            if not d:
                raise EOFError
            if d == b".\r\n":
                break
            parts.append(d[1:] if d.startswith(b"..") else d)
        with self.lock:
            self.messages.append({"data": b"".join(parts), "conn": n})

    def _stall(self, conn):
        with self.lock:
            self.stalled += 1
        # read nothing: the client's writes block, then it times out and closes
        while not self.stopping:
            r, _, _ = select.select([conn], [], [], 0.2)
            if r and not conn.recv(1, socket.MSG_PEEK):
                return
            if r:
                time.sleep(0.2)  # data waits unread in the buffers


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


ZONES = ['local-zone: "plain.test." static',
         'local-data: "plain.test. MX 10 mx.plain.test."',
         'local-data: "mx.plain.test. A 127.0.0.1"']


@unittest.skipUnless(dnsserver.available(), "unbound is not installed")
class RemoteFaultTest(FaultCase):
    def remote_instance(self, dns_port, smtp_port, remote_conf=""):
        inst = self.instance()
        inst.add("bob")
        inst.write("dns.conf", f"forwarders = 127.0.0.1:{dns_port}\ntimeout = 2s\n")
        inst.write("remote.conf", f"port = {smtp_port}\nconnect_timeout = 5s\n" + remote_conf)
        shutil.copy(program("remote"), os.path.join(inst.libexec, "remote"))
        os.chmod(os.path.join(inst.libexec, "remote"), 0o755)
        inst.start_authd()
        inst.start_courierd()
        return inst

    def test_dns_timeout_defers_never_bounces(self):
        dns = dnsserver.DnsServer(self.tmp, ZONES)
        hole = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)  # reads nothing, answers nothing
        hole.bind(("127.0.0.1", dns.port))
        port = free_port()
        peer = SmtpPeer("127.0.0.1", port, name="mx.plain.test").start()
        try:
            inst = self.remote_instance(dns.port, port)
            tally = Tally("dns-timeout")
            ids = [f"dt{i}" for i in range(3)]
            for mid in ids:
                inst.submit(f"bob@{DOMAIN}", ["far@plain.test"], faultlib.message(mid, 1000))
                tally.took(mid)
            inst.wait_log(r"rcpt=<far@plain\.test> route=remote .*status=deferred "
                          r"response=\"451 4\.4\.3", timeout=40)
            self.assertEqual(peer.messages, [])
            self.assertEqual(inst.delivered("bob"), {}, "a DNS timeout must not bounce")
            self.no_bounces(inst)
            hole.close()
            dns.start()  # the DNS comes back: the retries deliver
            deadline = time.time() + 90
            while time.time() < deadline and len(peer.messages) < len(ids):
                time.sleep(0.3)
            got = {}
            for m in peer.messages:
                mid = faultlib.FAULT_ID.search(m["data"].replace(b"\r\n", b"\n"))
                if mid:
                    got[mid.group(1).decode()] = got.get(mid.group(1).decode(), 0) + 1
            lost, _ = tally.result(got)
            self.assertEqual(lost, 0, inst.logtext()[-3000:])
            self.no_bounces(inst)
        finally:
            hole.close()
            dns.stop()
            peer.stop()

    def test_peer_stalling_mid_data_times_out_and_retries(self):
        dns = dnsserver.DnsServer(self.tmp, ZONES).start()
        port = free_port()
        peer = StallPeer("127.0.0.1", port, name="mx.plain.test").start()
        try:
            inst = self.remote_instance(dns.port, port,
                                        "command_timeout = 5s\ndata_timeout = 5s\n"
                                        "data_end_timeout = 5s\n")
            tally = Tally("peer-stalls-mid-data")
            inst.submit(f"bob@{DOMAIN}", ["far@plain.test"], faultlib.message("ps0", 8 << 20))
            tally.took("ps0")
            inst.wait_log(r"rcpt=<far@plain\.test> route=remote .*status=deferred", timeout=60)
            self.assertEqual(peer.stalled, 1)
            deadline = time.time() + 60
            while time.time() < deadline and not peer.messages:
                time.sleep(0.3)
            got = {}
            for m in peer.messages:
                mid = faultlib.FAULT_ID.search(m["data"].replace(b"\r\n", b"\n")).group(1)
                got[mid.decode()] = got.get(mid.decode(), 0) + 1
            lost, dups = tally.result(got)
            self.assertEqual((lost, dups), (0, 0), inst.logtext()[-3000:])
            inst.wait_queue_empty(timeout=30)
            self.no_bounces(inst)
        finally:
            dns.stop()
            peer.stop()


if __name__ == "__main__":
    unittest.main()
