"""smtpd(8) MX policy: local domains with recipients checked by authd (550 5.1.1 for
unknown users, 451 4.3.0 when authd is down), rcpthosts, the access map (allow, deny,
relay by IP, network and host name), and an open-relay battery in which nothing relays."""

import os
import subprocess

from smtpd_util import SmtpdCase


class SmtpdPolicyTest(SmtpdCase):
    def setUp(self):
        super().setUp()
        self.config("smtpd.conf", "tarpit_delay = 0\nmax_bad_commands = 1000\n")

    def session(self, **kw):
        c = self.connect(**kw)
        self.ehlo(c)
        self.assertEqual(c.cmd("MAIL FROM:<a@remote.example>")[0], 250)
        return c

    def access(self, text):
        src = os.path.join(self.etc, "smtpaccess")
        with open(src, "w") as f:
            f.write(text)
        r = subprocess.run([os.path.join(self.root, "sbin", "makemap"), "-l", src,
                            os.path.join(self.etc, "smtpaccess.cdb")],
                           capture_output=True, text=True, env=self.env, timeout=30)
        self.assertEqual(r.returncode, 0, r.stderr)
        os.chmod(os.path.join(self.etc, "smtpaccess.cdb"), 0o644)

    def test_local_recipients(self):
        c = self.session()
        self.assertEqual(c.cmd("RCPT TO:<joe@example.test>")[0], 250)
        self.assertEqual(c.cmd("RCPT TO:<JOE@EXAMPLE.TEST>")[0], 250)
        self.assertEqual(c.cmd("RCPT TO:<joe@local.example>")[0], 550)  # no such account
        self.assertEqual(c.cmd("RCPT TO:<nobody@example.test>"),
                         (550, ["5.1.1 No such user here"]))
        self.assertEqual(c.cmd("RCPT TO:<postmaster@local.example>")[0], 250)
        c.close()
        self.assertIn('smtp reject ip=192.0.2.7 from=<a@remote.example> '
                      'rcpt=<nobody@example.test> reply="550 5.1.1 No such user here"', self.log())

    def test_authd_down_is_temporary(self):
        self.stop_authd()
        c = self.session()
        code, lines = c.cmd("RCPT TO:<nobody@example.test>")
        self.assertEqual((code, lines[0][:5]), (451, "4.3.0"))
        self.assertEqual(c.cmd("RCPT TO:<joe@example.test>")[0], 451)
        c.close()

    def test_relay_denied_by_default_even_from_loopback(self):
        c = self.session(ip="127.0.0.1")
        self.assertEqual(c.cmd("RCPT TO:<someone@elsewhere.example>"),
                         (554, ["5.7.1 Relaying denied"]))
        c.close()

    def test_rcpthosts(self):
        self.config("rcpthosts", "relayed.example\n")
        c = self.session()
        self.assertEqual(c.cmd("RCPT TO:<anyone@relayed.example>")[0], 250)
        self.assertEqual(c.cmd("RCPT TO:<anyone@Relayed.Example>")[0], 250)
        self.assertEqual(c.cmd("RCPT TO:<anyone@sub.relayed.example>")[0], 554)
        c.close()

    def test_open_relay_battery(self):
        probes = [
            "<user%other.example@example.test>",
            "<user%other.example@[192.0.2.7]>",
            "<\"user@other.example\"@example.test>",
            "<@example.test:user@other.example>",
            "<@example.test,@x.example:user@other.example>",
            "<user@other.example@example.test>",
            "<other.example!user@example.test>",
            "<other.example!user>",
            "<user%other.example>",
            "<user>",
            "<user@other.example>",
            "<user@OTHER.example>",
            "<user@[127.0.0.1]>",
            "<user@[IPv6:::1]>",
            "<user@example.test.>",
            "<user@example.test.other.example>",
            "<user@other.example\\@example.test>",
            "<\"user%other.example\"@example.test>",
            "<\"other.example!user\"@Example.Test>",
            "user@other.example",
            "<user@other.example> NOTIFY=NEVER",
        ]
        c = self.session(ip="127.0.0.1")
        for p in probes:
            code, lines = c.cmd("RCPT TO:" + p)
            self.assertGreaterEqual(code, 500, "%s -> %d %s" % (p, code, lines))
        self.assertEqual(c.cmd("DATA")[0], 554)
        c.close()
        self.assertEqual(self.queued(), [])

    def test_access_deny(self):
        self.access("192.0.2 deny Go away please\n")
        c = self.connect(greet=None)
        self.assertEqual(c.reply(), (554, ["5.7.1 Go away please"]))
        self.assertTrue(c.closed())
        c.close()
        c = self.connect(ip="198.51.100.1")  # not listed
        c.close()

    def test_access_by_hostname(self):
        self.access(".bad.example deny\n")
        c = self.connect(greet=None, ip="198.51.100.1",
                         extra_env={"TCPREMOTEHOST": "mail.bad.example"})
        self.assertEqual(c.reply(), (554, ["5.7.1 Access denied"]))
        c.close()

    def test_access_relay(self):
        self.access("192.0.2.7 relay\n2001:0db8 relay\n")
        for ip in ("192.0.2.7", "2001:db8::5"):
            c = self.session(ip=ip)
            self.assertEqual(c.cmd("RCPT TO:<someone@elsewhere.example>")[0], 250)
            self.assertEqual(c.cmd("RCPT TO:<nobody@example.test>")[0], 550)  # still checked
            c.close()
        c = self.session(ip="192.0.2.8")
        self.assertEqual(c.cmd("RCPT TO:<someone@elsewhere.example>")[0], 554)
        c.close()

    def test_bad_access_value_and_unreadable_map(self):
        with open(os.path.join(self.etc, "smtpaccess.cdb"), "w") as f:
            f.write("not a cdb")
        c = self.connect(greet=None)
        code, _ = c.reply()
        self.assertEqual(code, 421)
        c.close()

    def test_bad_config_is_temporary(self):
        self.config("smtpd.conf", "no_such_setting = 1\n")
        c = self.connect(greet=None)
        self.assertEqual(c.reply()[0], 421)
        c.close()

    def test_recipient_limit(self):
        self.config("smtpd.conf", "max_recipients = 2\ntarpit_delay = 0\n")
        c = self.session()
        self.assertEqual(c.cmd("RCPT TO:<joe@example.test>")[0], 250)
        self.assertEqual(c.cmd("RCPT TO:<postmaster@example.test>")[0], 250)
        self.assertEqual(c.cmd("RCPT TO:<postmaster>"), (452, ["4.5.3 Too many recipients"]))
        c.close()

    def test_vrfy(self):
        c = self.connect()
        self.assertEqual(c.cmd("VRFY joe@example.test")[0], 252)  # off by default
        c.close()
        self.config("smtpd.conf", "vrfy = yes\ntarpit_delay = 0\n")
        c = self.connect()
        self.assertEqual(c.cmd("VRFY joe@example.test"), (250, ["2.1.5 <joe@example.test>"]))
        self.assertEqual(c.cmd("VRFY <Joe@Example.Test>")[0], 250)
        self.assertEqual(c.cmd("VRFY nobody@example.test")[0], 550)
        self.assertEqual(c.cmd("VRFY user%x@example.test")[0], 252)
        self.assertEqual(c.cmd("VRFY someone@elsewhere.example")[0], 252)
        self.assertEqual(c.cmd("VRFY Joe Smith")[0], 252)
        c.close()
