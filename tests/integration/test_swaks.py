"""smtpd(8) driven by swaks, a real SMTP client (issue 4): plain SMTP, STARTTLS and
implicit TLS under the listener, AUTH PLAIN and LOGIN, every extension smtpd offers
(PIPELINING, SIZE, 8BITMIME, ENHANCEDSTATUSCODES, DSN, SMTPUTF8, CHUNKING - offered;
swaks 2020 cannot send BDAT -, STARTTLS, AUTH), the policy rules, an open-relay battery
in which nothing relays, and the SMTP smuggling forms of 2023 sent as raw DATA bytes
(swaks --no-data-fixup), none of which may split a message.

swaks appends ">" after the address it is given, so MAIL and RCPT parameters ride in
the address and the last one takes the ">" (an ENVID or ORCPT xtext may hold it).
Sessions with a chosen client address run smtpd under swaks --pipe with the ucspi
environment, as inetd would; the others go through the listener on loopback."""

import os
import re
import shutil
import subprocess
import time
import unittest

import dnsserver
from smtpd_util import SmtpdCase, PASSWORD, body_of

SWAKS = shutil.which("swaks")
USER = "joe@example.test"
ESC = re.compile(r"^[245]\d\d[ -][245]\.\d{1,3}\.\d{1,3}( |$)")


@unittest.skipUnless(SWAKS, "swaks is not installed (apt-get install swaks)")
class SwaksCase(SmtpdCase):
    SMTPD_CONF = "tarpit_delay = 0\nmax_bad_commands = 1000\n"

    def setUp(self):
        super().setUp()
        self.config("smtpd.conf", self.SMTPD_CONF)

    def certificate(self):
        key = os.path.join(self.tmp, "key.pem")
        cert = os.path.join(self.tmp, "cert.pem")
        r = subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                            "ec_paramgen_curve:P-256", "-nodes", "-keyout", key, "-out", cert,
                            "-subj", "/CN=localhost", "-days", "2"],
                           capture_output=True, text=True, timeout=60)
        self.assertEqual(r.returncode, 0, r.stderr)
        with open(cert) as c, open(key) as k:
            self.config("smtpd.pem", c.read() + k.read())

    def swaks(self, *args, port=None, ip="192.0.2.7", data=None, to=None, sender=None,
              smtpd_args=(), extra_env=None):
        """Run swaks; (exit code, transcript). Without port, smtpd runs under --pipe
        with ip as the client's address."""
        argv = [SWAKS, "--helo", "client.example", "--timeout", "20"]
        env = dict(self.env)
        if port:
            argv += ["--server", "127.0.0.1", "--port", str(port)]
        else:
            argv += ["--pipe", " ".join([self.smtpd] + list(smtpd_args))]
            env.update(TCPREMOTEIP=ip, TCPREMOTEPORT="40000", TCPLOCALIP="127.0.0.1",
                       PROTO="TCP")
            env.update(extra_env or {})
        if sender is not None:
            argv += ["--from", sender]
        if to is not None:
            argv += ["--to", to]
        if data is not None:
            path = os.path.join(self.tmp, "data.eml")
            with open(path, "wb") as f:
                f.write(data[:-2] if data.endswith(b"\r\n") else data)  # swaks adds CRLF
            argv += ["--data", path, "--no-data-fixup"]
        argv += list(args)
        with open(self.logpath, "ab") as log:
            r = subprocess.run(argv, stdout=subprocess.PIPE, stderr=log, env=env, timeout=120)
        return r.returncode, r.stdout.decode("utf-8", "replace")

    def server_lines(self, out):
        return [l[4:] for l in out.splitlines() if l[:3] in ("<- ", "<**", "<~ ", "<~*")]

    def ok(self, r):
        code, out = r
        self.assertEqual(code, 0, out)
        return out


class SwaksExtensionsTest(SwaksCase):
    def test_plain_delivery_byte_exact(self):
        data = b"From: <a@remote.example>\r\nSubject: swaks\r\n\r\nline 1\r\n..dot\r\n.\r\n"
        out = self.ok(self.swaks(sender="a@remote.example", to=USER, data=data))
        self.assertIn("250 2.0.0 Ok: queued as", out)
        (_, ctl, msg), = self.queued()
        self.assertIn("Sa@remote.example\n", ctl)
        self.assertIn("Rjoe@example.test\t\t\n", ctl)
        self.assertEqual(body_of(msg), b"From: <a@remote.example>\nSubject: swaks\n\nline 1\n"
                         b".dot\n")

    def test_ehlo_offers_every_extension(self):
        out = self.ok(self.swaks("--quit-after", "EHLO", ip="127.0.0.1"))
        ext = [l[4:] for l in self.server_lines(out) if l.startswith("250")]
        for e in ("PIPELINING", "SIZE 67108864", "8BITMIME", "ENHANCEDSTATUSCODES", "DSN",
                  "SMTPUTF8", "CHUNKING", "AUTH PLAIN LOGIN"):
            self.assertIn(e, ext, out)

    def test_enhanced_status_codes_in_every_reply(self):
        self.swaks(sender="a@remote.example", to="joe@example.test,nobody@example.test",
                   data=b"Subject: x\r\n\r\nx\r\n.\r\n")
        code, out = self.swaks(sender="a@remote.example", to="x@elsewhere.example")
        self.assertEqual(code, 24, out)
        lines = self.server_lines(out)
        self.assertGreater(len(lines), 4)
        for l in lines:
            if not l.startswith("220 ") and not l.startswith("250-") and \
                    not re.match(r"^250 [A-Z]", l):
                self.assertRegex(l, ESC, out)

    def test_pipelining(self):
        out = self.ok(self.swaks("--pipeline", sender="a@remote.example",
                                 to="joe@example.test,postmaster@example.test",
                                 data=b"Subject: p\r\n\r\npipelined\r\n.\r\n"))
        # MAIL, both RCPTs and DATA went in one write before any reply was read
        client = [l for l in out.splitlines() if l[:3] in (" ->", "<- ")]
        i = next(k for k, l in enumerate(client) if l.startswith(" -> MAIL FROM"))
        self.assertEqual([l[4:8] for l in client[i:i + 4]], ["MAIL", "RCPT", "RCPT", "DATA"],
                         out)
        (_, ctl, msg), = self.queued()
        self.assertIn("Rpostmaster@example.test", ctl)
        self.assertTrue(body_of(msg).endswith(b"pipelined\n"))

    def test_size(self):
        self.config("smtpd.conf", self.SMTPD_CONF + "max_message_size = 2k\n")
        code, out = self.swaks(sender="a@remote.example> SIZE=4096 ENVID=x", to=USER)
        self.assertEqual(code, 23, out)
        self.assertIn("552 5.3.4", out)
        big = b"Subject: big\r\n\r\n" + (b"y" * 100 + b"\r\n") * 30 + b".\r\n"
        code, out = self.swaks(sender="a@remote.example> SIZE=100 ENVID=x", to=USER, data=big)
        self.assertEqual(code, 26, out)
        self.assertIn("552 5.3.4", out)
        self.ok(self.swaks(sender="a@remote.example> SIZE=30 ENVID=x", to=USER,
                           data=b"Subject: small\r\n\r\nsmall\r\n.\r\n"))
        self.assertEqual(len(self.queued()), 1)

    def test_8bitmime(self):
        data = b"Subject: 8\r\nContent-Type: text/plain; charset=utf-8\r\n\r\ncaf\xc3\xa9\r\n.\r\n"
        self.ok(self.swaks(sender="a@remote.example> BODY=8BITMIME ENVID=e", to=USER,
                           data=data))
        (_, ctl, msg), = self.queued()
        self.assertIn("B8BITMIME\n", ctl)
        self.assertEqual(body_of(msg), data[:-3].replace(b"\r\n", b"\n"))
        code, out = self.swaks(sender="a@remote.example> BODY=BINARYMIME ENVID=e", to=USER)
        self.assertEqual(code, 23, out)

    def test_dsn_parameters(self):
        self.ok(self.swaks(sender="a@remote.example> RET=HDRS ENVID=QQ+2B1",
                           to="joe@example.test> NOTIFY=SUCCESS ORCPT=rfc822;joe@example.test",
                           data=b"Subject: dsn\r\n\r\nx\r\n.\r\n"))
        (_, ctl, _), = self.queued()
        self.assertIn("NHDRS\n", ctl)
        self.assertIn("EQQ+2B1>\n", ctl)
        self.assertIn("Rjoe@example.test\tSUCCESS\trfc822;joe@example.test>\n", ctl)
        code, out = self.swaks(sender="a@remote.example> RET=ALL ENVID=x", to=USER)
        self.assertEqual(code, 23, out)
        self.assertIn("501 5.5.4", out)

    def test_smtputf8(self):
        sender = "jos\u00e9@remote.example> SMTPUTF8 ENVID=u"
        data = "Subject: \u00e9t\u00e9\r\n\r\nUTF-8 everywhere\r\n.\r\n".encode()
        self.ok(self.swaks(sender=sender, to=USER, data=data))
        (_, ctl, msg), = self.queued()
        self.assertIn("Sjos\u00e9@remote.example\n", ctl)
        self.assertIn("Subject: \u00e9t\u00e9\n".encode(), msg)
        code, out = self.swaks(sender="jos\u00e9@remote.example", to=USER)  # no SMTPUTF8
        self.assertIn(code, (23, 24), out)
        self.assertIn("553 5.6.7 Non-ASCII address needs SMTPUTF8", out)

    def test_starttls_and_auth_plain(self):
        self.certificate()
        port = self.start_listener()
        out = self.ok(self.swaks("--tls", "--auth", "PLAIN", "--auth-user", USER,
                                 "--auth-password", PASSWORD, port=port, sender=USER,
                                 to="someone@elsewhere.example",
                                 data=b"Subject: tls\r\n\r\nover TLS\r\n.\r\n"))
        self.assertIn("TLS started", out)
        self.assertIn("235 2.7.0", out)
        (_, ctl, msg), = self.queued()
        self.assertIn("A%s\n" % USER, ctl)
        self.assertIn("Rsomeone@elsewhere.example\t", ctl)  # authenticated: relays
        head = msg[:800].decode()
        self.assertIn("ESMTPSA", head)
        self.assertIn("TLS", head)

    def test_implicit_tls_submission_auth_login(self):
        self.certificate()
        port = self.start_listener("--implicit-tls", "--submission")
        code, out = self.swaks("--tls-on-connect", port=port, sender=USER,
                               to="x@elsewhere.example")
        self.assertEqual(code, 23, out)  # submission: AUTH first
        self.assertIn("530 5.7.0", out)
        code, out = self.swaks("--tls-on-connect", "--auth", "LOGIN", "--auth-user", USER,
                               "--auth-password", "wrong", port=port, sender=USER,
                               to="x@elsewhere.example")
        self.assertEqual(code, 28, out)
        self.assertIn("535 5.7.8", out)
        code, out = self.swaks("--tls-on-connect", "--auth", "LOGIN", "--auth-user", USER,
                               "--auth-password", PASSWORD, port=port,
                               sender="other@example.test", to="x@elsewhere.example")
        self.assertEqual(code, 23, out)  # not the account's address
        self.assertIn("<~* 553 5.7.1 Sender address not owned by user", out)
        self.ok(self.swaks("--tls-on-connect", "--auth", "LOGIN", "--auth-user", USER,
                           "--auth-password", PASSWORD, port=port, sender=USER,
                           to="x@elsewhere.example",
                           data=b"Subject: s\r\n\r\nsubmitted\r\n.\r\n"))
        (_, ctl, _), = self.queued()
        self.assertIn("Fsubmission\n", ctl)

    def test_no_auth_in_clear_from_the_network(self):
        code, out = self.swaks("--auth", "PLAIN", "--auth-user", USER, "--auth-password",
                               PASSWORD, ip="192.0.2.7", sender=USER, to=USER)
        self.assertEqual(code, 28, out)
        self.assertNotIn("235 ", out)


class SwaksPolicyTest(SwaksCase):
    def test_recipient_validation(self):
        code, out = self.swaks(sender="a@remote.example", to="nobody@example.test")
        self.assertEqual(code, 24, out)
        self.assertIn("550 5.1.1 No such user here", out)
        self.ok(self.swaks(sender="a@remote.example", to="nobody@example.test,JOE@EXAMPLE.TEST",
                           data=b"Subject: v\r\n\r\nx\r\n.\r\n"))
        (_, ctl, _), = self.queued()
        self.assertNotIn("nobody", ctl)

    def test_relay_denied_and_rcpthosts(self):
        self.config("rcpthosts", "relayed.example\n")
        code, out = self.swaks(ip="127.0.0.1", sender="a@remote.example",
                               to="someone@elsewhere.example")
        self.assertEqual(code, 24, out)
        self.assertIn("554 5.7.1 Relaying denied", out)
        self.ok(self.swaks(sender="a@remote.example", to="any@relayed.example",
                           data=b"Subject: r\r\n\r\nx\r\n.\r\n"))

    def test_access_map_deny_and_relay(self):
        src = os.path.join(self.etc, "smtpaccess")
        with open(src, "w") as f:
            f.write("192.0.2.66 deny Go away please\n198.51.100 relay\n.bad.example deny\n")
        r = subprocess.run([os.path.join(self.root, "sbin", "makemap"), "-l", src,
                            os.path.join(self.etc, "smtpaccess.cdb")],
                           capture_output=True, text=True, env=self.env, timeout=30)
        self.assertEqual(r.returncode, 0, r.stderr)
        os.chmod(os.path.join(self.etc, "smtpaccess.cdb"), 0o644)
        code, out = self.swaks(ip="192.0.2.66", sender="a@remote.example", to=USER)
        self.assertEqual(code, 21, out)
        self.assertIn("554 5.7.1 Go away please", out)
        code, out = self.swaks(ip="203.0.113.5", sender="a@remote.example", to=USER,
                               extra_env={"TCPREMOTEHOST": "mail.bad.example"})
        self.assertEqual(code, 21, out)
        self.assertIn("554 5.7.1 Access denied", out)
        self.ok(self.swaks(ip="198.51.100.9", sender="a@remote.example",
                           to="someone@elsewhere.example",
                           data=b"Subject: relay\r\n\r\nx\r\n.\r\n"))
        (_, ctl, _), = self.queued()
        self.assertIn("Rsomeone@elsewhere.example\t", ctl)

    def test_recipient_limit(self):
        self.config("smtpd.conf", self.SMTPD_CONF + "max_recipients = 2\n")
        out = self.ok(self.swaks(sender="a@remote.example",
                                 to="joe@example.test,postmaster@example.test,postmaster",
                                 data=b"Subject: l\r\n\r\nx\r\n.\r\n"))
        self.assertIn("452 4.5.3 Too many recipients", out)
        (_, ctl, _), = self.queued()
        self.assertEqual(ctl.count("\nR"), 2, ctl)

    def test_line_length_limit(self):
        self.config("smtpd.conf", self.SMTPD_CONF + "max_data_line_length = 1000\n")
        code, out = self.swaks(sender="a@remote.example", to=USER,
                               data=b"Subject: long\r\n\r\n" + b"z" * 1001 + b"\r\n.\r\n")
        self.assertEqual(code, 26, out)
        self.assertIn("554 ", out)
        self.assertEqual(self.queued(), [])

    def test_nul_in_data_refused(self):
        code, out = self.swaks(sender="a@remote.example", to=USER,
                               data=b"Subject: nul\r\n\r\nx\x00y\r\n.\r\n")
        self.assertEqual(code, 26, out)
        self.assertIn("554 5.6.0", out)
        self.assertEqual(self.queued(), [])

    def test_tarpit_after_errors(self):
        self.config("smtpd.conf", "max_bad_commands = 1000\nmax_errors = 1\n"
                    "tarpit_delay = 1\n")
        t0 = time.monotonic()
        out = self.ok(self.swaks(sender="a@remote.example",
                                 to="x@elsewhere.example,y@elsewhere.example,joe@example.test",
                                 data=b"Subject: t\r\n\r\nx\r\n.\r\n"))
        self.assertGreater(time.monotonic() - t0, 0.9, out)  # the second error waited
        self.assertEqual(out.count("554 5.7.1 Relaying denied"), 2)
        self.assertEqual(len(self.queued()), 1)

    @unittest.skipUnless(dnsserver.available(), "unbound is not installed")
    def test_dnsbl(self):
        dns = dnsserver.DnsServer(self.tmp,
                                  ['local-zone: "bl.test." static',
                                   'local-data: "66.2.0.192.bl.test. A 127.0.0.2"']).start()
        self.addCleanup(dns.stop)
        self.config("dns.conf", "forwarders = 127.0.0.1:%d\ntimeout = 5\n" % dns.port)
        self.config("smtpd.conf", self.SMTPD_CONF + "dnsbl_zones = bl.test\n")
        code, out = self.swaks(ip="192.0.2.66", sender="a@remote.example", to=USER)
        self.assertEqual(code, 21, out)
        self.assertIn("554 5.7.1 Service unavailable; client [192.0.2.66] blocked using bl.test", out)
        self.ok(self.swaks(ip="192.0.2.67", sender="a@remote.example", to=USER,
                           data=b"Subject: ok\r\n\r\nnot listed\r\n.\r\n"))
        self.assertEqual(len(self.queued()), 1)

    def test_open_relay_battery(self):
        # swaks wraps each in <...>; commas separate recipients, so the
        # "@a,@b:user@c" source route form is in test_smtpd_policy instead
        probes = [
            "user%other.example@example.test",
            "user%other.example@[192.0.2.7]",
            "\"user@other.example\"@example.test",
            "@example.test:user@other.example",
            "user@other.example@example.test",
            "other.example!user@example.test",
            "other.example!user",
            "user%other.example",
            "user",
            "user@other.example",
            "user@OTHER.EXAMPLE",
            "User@Other.Example",
            "user@[127.0.0.1]",
            "user@[IPv6:::1]",
            "user@[192.0.2.7]",
            "user@example.test.",
            "user@example.test.other.example",
            "user@other.example\\@example.test",
            "\"user%other.example\"@example.test",
            "\"other.example!user\"@Example.Test",
            "user@other.example> NOTIFY=NEVER ORCPT=rfc822;x",
            "user@other.example>",
            "<user@other.example",
            "user@localhost",
            "user@other.example%example.test",
        ]
        for ip in ("127.0.0.1", "192.0.2.7"):
            for p in probes:
                with self.subTest(ip=ip, probe=p):
                    code, out = self.swaks(ip=ip, sender="a@remote.example", to=p,
                                           data=b"Subject: relay?\r\n\r\nx\r\n.\r\n")
                    self.assertEqual(code, 24, out)
                    rcpt = [l for l in self.server_lines(out) if l[:1] in "2345"][-2:]
                    self.assertTrue(any(l[:1] == "5" for l in rcpt), out)
        self.assertEqual(self.queued(), [])


SMUGGLING = [
    b"\n.\n", b"\r\n.\n", b"\n.\r\n", b"\r.\r\n", b"\r\n.\r", b"\r.\r", b"\n.\r",
    b"\r\n\x00.\r\n", b"\r\n.\x00\r\n",
]


class SwaksSmugglingTest(SwaksCase):
    def test_no_form_splits_a_message(self):
        """Each 2023 end-of-data variant, then a second transaction in the same DATA:
        nothing may be queued but, at most, one message holding all of it."""
        for form in SMUGGLING:
            with self.subTest(form=form):
                data = (b"Subject: first\r\n\r\nfirst" + form +
                        b"MAIL FROM:<evil@attacker.example>\r\nRCPT TO:<joe@example.test>\r\n"
                        b"DATA\r\nSubject: smuggled\r\n\r\nsmuggled\r\n.\r\n")
                code, out = self.swaks(ip="127.0.0.1", sender="a@remote.example", to=USER,
                                       data=data)
                # smtpd refuses the whole message at the real end of data (550 5.5.2
                # for bare CR/LF, 554 5.6.0 for NUL): neither part is queued, and the
                # smuggled commands were data, never commands
                self.assertEqual(code, 26, out)
                last = self.server_lines(out)[-2:]
                self.assertRegex(last[0], r"^55[04] 5\.[56]\.[02] ", out)
                self.assertTrue(last[1].startswith("221 "), out)  # QUIT: in step again
                self.assertEqual(self.queued(), [])
                self.assertNotIn("evil@attacker.example", self.log())

    def test_pipelined_after_bare_lf_dot(self):
        data = (b"Subject: a\r\n\r\nbody\n.\nRSET\r\nMAIL FROM:<evil@attacker.example>\r\n"
                b"RCPT TO:<joe@example.test>\r\nDATA\r\nsmuggled\r\n.\r\n")
        code, out = self.swaks("--pipeline", sender="a@remote.example", to=USER, data=data)
        self.assertEqual(code, 26, out)
        self.assertIn("550 5.5.2", out)
        self.assertEqual(self.queued(), [])

    def test_lone_dot_variants_inside_accepted_message_stay_data(self):
        """A client that only means data: the dots after bare LF/CR are refused, but
        a dot-stuffed line and a dot inside a line pass through as one message."""
        data = b"Subject: dots\r\n\r\n..\r\nx.y\r\n .\r\n.\r\n"
        self.ok(self.swaks(sender="a@remote.example", to=USER, data=data))
        (_, _, msg), = self.queued()
        self.assertEqual(body_of(msg), b"Subject: dots\n\n.\nx.y\n .\n")


if __name__ == "__main__":
    unittest.main()
