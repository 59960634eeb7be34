"""smtpd(8) DNSBL checks (dnsbl_zones) against a real unbound serving a test zone
(dnsserver.py): listed clients get 554 5.7.1, others and whitelisted ones are greeted,
and DNS failures never refuse a client."""

import os
import unittest

import dnsserver
from smtpd_util import SmtpdCase

V6 = ".".join(reversed("20010db8000000000000000000000001")) + ".bl.test."
ZONES = ['local-zone: "bl.test." static',
         'local-data: "7.2.0.192.bl.test. A 127.0.0.2"',
         'local-data: "8.2.0.192.bl.test. A 10.0.0.1"',
         'local-data: "%s A 127.0.0.4"' % V6]


@unittest.skipUnless(dnsserver.available(), "unbound is not installed")
class SmtpdDnsblTest(SmtpdCase):
    def setUp(self):
        super().setUp()
        self.dns = dnsserver.DnsServer(self.tmp, ZONES).start()
        self.addCleanup(self.dns.stop)
        self.config("dns.conf", "forwarders = 127.0.0.1:%d\ntimeout = 5\n" % self.dns.port)
        self.config("smtpd.conf", "dnsbl_zones = down.test, bl.test\n")

    def test_listed_refused(self):
        for ip in ("192.0.2.7", "2001:db8::1"):
            c = self.connect(ip=ip, greet=None)
            code, lines = c.reply()
            self.assertEqual(code, 554)
            self.assertIn("blocked using bl.test", lines[0])
            self.assertTrue(lines[0].startswith("5.7.1 "))
            c.close()
        self.assertIn('smtp reject ip=192.0.2.7 reply="554 5.7.1 blocked using bl.test"', self.log())

    def test_not_listed_greeted(self):
        for ip in ("192.0.2.8", "192.0.2.9", "2001:db8::2"):
            c = self.connect(ip=ip)  # 10.0.0.1 is no listing; NXDOMAIN; SERVFAIL for down.test
            self.assertEqual(c.cmd("QUIT")[0], 221)
            c.close()

    def test_access_allow_skips_dnsbl(self):
        src = os.path.join(self.etc, "smtpaccess")
        with open(src, "w") as f:
            f.write("192.0.2.7 allow\n")
        import subprocess
        subprocess.run([os.path.join(self.root, "sbin", "makemap"), "-l", src,
                        os.path.join(self.etc, "smtpaccess.cdb")], check=True, env=self.env,
                       capture_output=True, timeout=30)
        os.chmod(os.path.join(self.etc, "smtpaccess.cdb"), 0o644)
        c = self.connect(ip="192.0.2.7")
        c.close()
