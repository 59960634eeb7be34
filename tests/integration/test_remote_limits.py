"""remote(8)'s per-destination limits: destination_concurrency (batch connections to
one domain at once) and destination_rate_delay (time between their starts), from
remote.conf and per domain from remote.routes options (also on a route without a host,
which keeps the MX lookup). The peer is smtppeer.py, slowed down so that sessions
overlap, recording when each session starts and how many run at once."""

import shutil
import tempfile
import threading
import time
import unittest

import dnsserver
from harness import TempDirTestCase
from smtppeer import SmtpPeer
from test_remote import ZONES, Remote, free_port

MESSAGE = b"Subject: limits\n\nbody\n"


class SlowPeer(SmtpPeer):
    """Holds every session for `hold` seconds before its greeting."""

    def __init__(self, *args, hold=0.6, **kw):
        super().__init__(*args, **kw)
        self.hold = hold
        self.active = self.peak = 0
        self.starts = []
        self.gauge = threading.Lock()

    def _serve(self, conn, n):
        with self.gauge:
            self.active += 1
            self.peak = max(self.peak, self.active)
            self.starts.append(time.monotonic())
        try:
            time.sleep(self.hold)
            super()._serve(conn, n)
        finally:
            with self.gauge:
                self.active -= 1


@unittest.skipUnless(dnsserver.available(), "unbound is not installed")
class RemoteLimitsTest(TempDirTestCase):
    @classmethod
    def setUpClass(cls):
        cls.dnsdir = tempfile.mkdtemp(prefix="estafette-dns.")
        cls.dns = dnsserver.DnsServer(cls.dnsdir, ZONES).start()

    @classmethod
    def tearDownClass(cls):
        cls.dns.stop()
        shutil.rmtree(cls.dnsdir, ignore_errors=True)

    def setUp(self):
        super().setUp()
        self.port = free_port()
        self.peer = SlowPeer("127.0.0.1", self.port, name="mx.plain.test").start()
        self.remote = None

    def tearDown(self):
        if self.remote:
            self.remote.stop()
        self.peer.stop()
        super().tearDown()

    def batches(self, n, conf="", routes="", domain="plain.test", gap=0.1):
        """n jobs to domain, gap seconds apart: each its own batch (the window is 30
        ms) unless the module was too busy to read them in time (slow builds)."""
        self.remote = Remote(self.tmp, self.dns.port, self.port, conf, routes)
        ids = []
        for i in range(n):
            ids.append(self.remote.job(f"u{i}@{domain}", qid="0123456789abcdef%04d" % i,
                                       message=MESSAGE))
            time.sleep(gap)
        answers = self.remote.answers(n, timeout=60)
        self.assertEqual(sorted(answers), sorted(ids), self.remote.log())
        for a in answers.values():
            self.assertTrue(a.startswith("250 "), a)
        self.assertEqual(sum(len(m["rcpts"]) for m in self.peer.messages), n)

    def test_unlimited_batches_overlap(self):
        self.batches(4)
        self.assertGreaterEqual(self.peer.peak, 2)

    def test_destination_concurrency_one(self):
        self.batches(4, conf="destination_concurrency = 1\n")
        self.assertEqual(self.peer.peak, 1)
        # the jobs that waited joined one batch: fewer connections than jobs
        self.assertLess(self.peer.connections, 4)
        self.assertGreaterEqual(self.peer.connections, 2)

    def test_route_concurrency_without_host_keeps_mx(self):
        self.batches(4, routes="plain.test concurrency=1\n")
        self.assertEqual(self.peer.peak, 1)
        self.assertIn("mx.plain.test[127.0.0.1]", self.remote.log())

    def test_route_limit_applies_to_its_domain_only(self):
        self.batches(4, routes="other.test concurrency=1\n")
        self.assertGreaterEqual(self.peer.peak, 2)

    def test_rate_delay(self):
        self.peer.hold = 0
        self.batches(3, conf="destination_rate_delay = 1\n")
        starts = self.peer.starts
        self.assertGreaterEqual(len(starts), 2)
        for a, b in zip(starts, starts[1:]):
            self.assertGreaterEqual(b - a, 0.9, starts)

    def test_route_rate_delay_overrides_conf(self):
        self.peer.hold = 0
        t0 = time.monotonic()
        self.batches(3, conf="destination_rate_delay = 30\n",
                     routes="plain.test rate_delay=0\n", gap=0.5)
        self.assertGreaterEqual(self.peer.connections, 2)  # 30 s apart without the route
        self.assertLess(time.monotonic() - t0, 10)


if __name__ == "__main__":
    unittest.main()
