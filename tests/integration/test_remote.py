"""remote(8): the remote delivery module against a real unbound (dnsserver.py) serving
test zones on loopback and scripted SMTP peers (smtppeer.py) on loopback addresses. The
module is driven as courierd drives it: job packets with the message's descriptor on a
SOCK_SEQPACKET socket, one answer packet per job."""

import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
import unittest

from harness import TempDirTestCase, program
import dnsserver
from smtppeer import SmtpPeer

AS_ROOT = os.geteuid() == 0

ZONES = [
    'local-zone: "order.test." static',
    'local-data: "order.test. MX 10 mx1.order.test."',
    'local-data: "order.test. MX 20 mx2.order.test."',
    'local-data: "mx1.order.test. A 127.0.0.2"',
    'local-data: "mx2.order.test. A 127.0.0.1"',
    'local-zone: "null.test." static',
    'local-data: "null.test. MX 0 ."',
    'local-zone: "refused.test." refuse',
    'local-zone: "implicit.test." static',
    'local-data: "implicit.test. A 127.0.0.1"',
    'local-zone: "v6.test." static',
    'local-data: "v6.test. MX 10 mx.v6.test."',
    'local-data: "mx.v6.test. AAAA ::1"',
    'local-zone: "plain.test." static',
    'local-data: "plain.test. MX 10 mx.plain.test."',
    'local-data: "mx.plain.test. A 127.0.0.1"',
    'local-zone: "tls.test." static',
    'local-data: "tls.test. MX 10 mx.tls.test."',
    'local-data: "mx.tls.test. A 127.0.0.1"',
    'local-zone: "down.test." static',
    'local-data: "down.test. MX 10 mx.down.test."',
    'local-data: "mx.down.test. A 127.0.0.3"',
]

MESSAGE = b"Subject: test\n\n.leading dot\nbody\n"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def ipv6_loopback():
    try:
        with socket.socket(socket.AF_INET6) as s:
            s.bind(("::1", 0))
        return True
    except OSError:
        return False


def openssl(*args, cwd):
    subprocess.run(["openssl"] + list(args), cwd=cwd, check=True, capture_output=True)


def make_ca(d, name):
    """A CA (name.ca.crt) and a certificate for mx.tls.test signed by it."""
    openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
            "-days", "1", "-subj", f"/CN={name} CA", "-addext",
            "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=keyCertSign",
            "-keyout", f"{name}.ca.key", "-out", f"{name}.ca.crt", cwd=d)
    openssl("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
            "-subj", "/CN=mx.tls.test", "-keyout", f"{name}.key", "-out", f"{name}.csr", cwd=d)
    with open(os.path.join(d, "ext"), "w") as f:
        f.write("subjectAltName=DNS:mx.tls.test\n")
    openssl("x509", "-req", "-in", f"{name}.csr", "-CA", f"{name}.ca.crt", "-CAkey",
            f"{name}.ca.key", "-CAcreateserial", "-days", "1", "-extfile", "ext",
            "-out", f"{name}.crt", cwd=d)
    return tuple(os.path.join(d, f"{name}{s}") for s in (".crt", ".key", ".ca.crt"))


class Remote:
    """The module with its own instance root; jobs in, answers out."""

    def __init__(self, tmp, dns_port, smtp_port, conf="", routes=""):
        self.root = os.path.join(tmp, "root")
        etc = os.path.join(self.root, "etc", "estafette")
        os.makedirs(etc, exist_ok=True)
        files = {"me": "client.test\n",
                 "dns.conf": f"forwarders = 127.0.0.1:{dns_port}\ntimeout = 5\n",
                 "remote.conf": f"port = {smtp_port}\nconnect_timeout = 5\n"
                                f"command_timeout = 10\n{conf}",
                 "remote.routes": routes}
        for name, text in files.items():
            with open(os.path.join(etc, name), "w") as f:
                f.write(text)
        self.msgdir = os.path.join(tmp, "msgs")
        os.makedirs(self.msgdir, exist_ok=True)
        self.logpath = os.path.join(tmp, "remote.log")
        self.sock, child = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        kw = {}
        if AS_ROOT:
            kw = {"user": "nobody", "group": pwd.getpwnam("nobody").pw_gid, "extra_groups": []}
        env = dict(os.environ, ESTAFETTE_ROOT=self.root, ESTAFETTE_LOG="stderr")
        with open(self.logpath, "ab") as log:
            self.proc = subprocess.Popen([program("remote")], stdin=child, stdout=log,
                                         stderr=log, env=env, **kw)
        child.close()
        self.next_id = 1

    def job(self, rcpt, qid="0123456789abcdef0000", sender="from@client.test",
            message=MESSAGE):
        jid = str(self.next_id)
        self.next_id += 1
        path = os.path.join(self.msgdir, qid)
        with open(path, "wb") as f:
            f.write(message)
        fd = os.open(path, os.O_RDONLY)
        try:
            pkt = f"R\t{jid}\t{qid}\t{sender}\t{rcpt}\taccount\t".encode()
            socket.send_fds(self.sock, [pkt], [fd])
        finally:
            os.close(fd)
        return jid

    def answers(self, n, timeout=30):
        got = {}
        self.sock.settimeout(timeout)
        deadline = time.time() + timeout
        while len(got) < n and time.time() < deadline:
            pkt = self.sock.recv(8192).decode()
            jid, rest = pkt.split("\t", 1)
            got[jid] = rest
        return got

    def log(self):
        with open(self.logpath) as f:
            return f.read()

    def stop(self):
        self.sock.close()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


@unittest.skipUnless(dnsserver.available(), "unbound is not installed")
class RemoteTest(TempDirTestCase):
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
        self.remote = None
        self.peers = []

    def tearDown(self):
        if self.remote:
            self.remote.stop()
        for p in self.peers:
            p.stop()
        super().tearDown()

    def peer(self, host="127.0.0.1", **kw):
        p = SmtpPeer(host, self.port, **kw).start()
        self.peers.append(p)
        return p

    def start(self, conf="", routes=""):
        self.remote = Remote(self.tmp, self.dns.port, self.port, conf, routes)
        return self.remote

    def one(self, rcpt, **kw):
        jid = self.remote.job(rcpt, **kw)
        answers = self.remote.answers(1)
        self.assertIn(jid, answers, self.remote.log())
        return answers[jid]

    def test_mx_order_and_fallback_when_first_refuses(self):
        peer = self.peer(name="mx2.order.test")
        self.start()
        answer = self.one("a@order.test")
        self.assertTrue(answer.startswith("250 2.0.0 "), answer)
        self.assertIn("mx2.order.test[127.0.0.1]", answer)
        self.assertEqual(len(peer.messages), 1)
        m = peer.messages[0]
        self.assertEqual(m["from"], "from@client.test")
        self.assertEqual(m["rcpts"], ["a@order.test"])
        self.assertEqual(m["data"], MESSAGE.replace(b"\n", b"\r\n"))
        self.assertIn("mx1.order.test[127.0.0.2]", self.remote.log())  # tried first

    def test_null_mx_bounces(self):
        self.start()
        answer = self.one("a@null.test")
        self.assertTrue(answer.startswith("556 5.1.10 "), answer)
        self.assertIn("null MX", answer)

    def test_nxdomain_bounces(self):
        self.start()
        answer = self.one("a@nosuch.order.test")
        self.assertTrue(answer.startswith("550 5.1.2 "), answer)

    def test_servfail_is_temporary(self):
        self.start()
        answer = self.one("a@refused.test")
        self.assertTrue(answer.startswith("451 4.4.3 "), answer)

    def test_all_hosts_down_is_temporary(self):
        self.start()
        answer = self.one("a@down.test")
        self.assertTrue(answer.startswith("451 4.4.1 "), answer)
        self.assertIn("mx.down.test[127.0.0.3]", answer)

    def test_implicit_mx(self):
        peer = self.peer(name="implicit.test")
        self.start()
        self.assertTrue(self.one("a@implicit.test").startswith("250 "))
        self.assertEqual(len(peer.messages), 1)

    @unittest.skipUnless(ipv6_loopback(), "no IPv6 loopback")
    def test_ipv6_mx(self):
        peer = self.peer(host="::1", name="mx.v6.test")
        self.start()
        answer = self.one("a@v6.test")
        self.assertTrue(answer.startswith("250 "), answer)
        self.assertIn("mx.v6.test[::1]", answer)
        self.assertEqual(len(peer.messages), 1)

    def test_per_recipient_replies_in_one_transaction(self):
        peer = self.peer(rcpt_reply={"temp@plain.test": "450 4.2.1 try later",
                                     "bad@plain.test": "550 5.1.1 no such user"})
        r = self.start()
        ids = [r.job(a) for a in ("ok@plain.test", "temp@plain.test", "bad@plain.test",
                                  "ok2@plain.test")]
        answers = r.answers(4)
        self.assertTrue(answers[ids[0]].startswith("250 2.0.0 "), answers)
        self.assertTrue(answers[ids[1]].startswith("450 4.2.1 "), answers)
        self.assertTrue(answers[ids[2]].startswith("550 5.1.1 "), answers)
        self.assertIn("mx.plain.test[127.0.0.1] said: 550 5.1.1 no such user "
                      "(in reply to RCPT TO)", answers[ids[2]])
        self.assertEqual(len(peer.messages), 1)
        self.assertEqual(peer.messages[0]["rcpts"], ["ok@plain.test", "ok2@plain.test"])

    def test_connection_reuse_for_following_messages(self):
        peer = self.peer()
        r = self.start()
        a = r.job("a@plain.test", qid="0123456789abcdef0001")
        b = r.job("b@plain.test", qid="0123456789abcdef0002")
        answers = r.answers(2)
        self.assertTrue(answers[a].startswith("250") and answers[b].startswith("250"))
        self.assertEqual(len(peer.messages), 2)
        self.assertEqual(peer.connections, 1)

    def test_without_pipelining_and_with_chunking(self):
        for kw in ({"pipelining": False}, {"chunking": True}):
            with self.subTest(**kw):
                peer = self.peer(**kw)
                r = self.start()
                self.assertTrue(self.one("a@plain.test").startswith("250"), r.log())
                self.assertEqual(peer.messages[0]["data"], MESSAGE.replace(b"\n", b"\r\n"))
                r.stop()
                peer.stop()
                self.peers.remove(peer)

    def test_8bit_without_8bitmime_bounces(self):
        peer = self.peer(eightbit=False)
        self.start()
        answer = self.one("a@plain.test", message="Subject: caf\u00e9\n\nx\n".encode())
        self.assertTrue(answer.startswith("554 5.6.3 "), answer)
        self.assertEqual(peer.messages, [])

    def test_8bit_with_8bitmime(self):
        peer = self.peer()
        self.start()
        self.assertTrue(self.one("a@plain.test", message=b"x: \xc3\xa9\n\n\xc3\xa9\n")
                        .startswith("250"))
        self.assertIn("BODY=8BITMIME", peer.messages[0]["params"])

    def test_starttls_verify_ok_and_fail(self):
        crt, key, ca = make_ca(self.tmp, "good")
        _, _, other_ca = make_ca(self.tmp, "other")
        peer = self.peer(name="mx.tls.test", tls_cert=crt, tls_key=key)
        r = self.start(conf=f"tls = verify\ntls_ca_file = {ca}\n")
        self.assertTrue(self.one("a@tls.test").startswith("250"), r.log())
        self.assertTrue(peer.messages[0]["tls"])
        r.stop()
        r = self.remote = Remote(self.tmp, self.dns.port, self.port,
                                 f"tls = verify\ntls_ca_file = {other_ca}\n")
        answer = self.one("b@tls.test")
        self.assertTrue(answer.startswith("451 4.4.1 "), answer)
        self.assertIn("TLS handshake with mx.tls.test[127.0.0.1] failed", answer)
        self.assertEqual(len(peer.messages), 1)

    def test_starttls_opportunistic(self):
        crt, key, _ = make_ca(self.tmp, "good")
        peer = self.peer(name="mx.tls.test", tls_cert=crt, tls_key=key)
        self.start()  # tls = may: unverified TLS is still TLS
        self.assertTrue(self.one("a@tls.test").startswith("250"))
        self.assertTrue(peer.messages[0]["tls"])

    def test_starttls_may_falls_back_to_plaintext(self):
        crt, key, _ = make_ca(self.tmp, "good")
        peer = self.peer(name="mx.tls.test", tls_cert=crt, tls_key=key, tls_broken=True)
        r = self.start()
        self.assertTrue(self.one("a@tls.test").startswith("250"), r.log())
        self.assertFalse(peer.messages[0]["tls"])
        self.assertEqual(peer.connections, 2)
        self.assertIn("trying again without TLS", r.log())

    def test_smarthost_with_auth(self):
        peer = self.peer(name="relay.test", auth=("joe", "s3cret"))
        routes = f"* [127.0.0.1]:{self.port} tls=none auth=joe:s3cret\n"
        r = self.start(conf="auth_plaintext = yes\n", routes=routes)
        answer = self.one("a@elsewhere.example")
        self.assertTrue(answer.startswith("250"), answer + r.log())
        self.assertEqual(peer.messages[0]["rcpts"], ["a@elsewhere.example"])
        r.stop()
        routes = f"* [127.0.0.1]:{self.port} tls=none auth=joe:wrong\n"
        self.remote = Remote(self.tmp, self.dns.port, self.port, "auth_plaintext = yes\n",
                             routes)
        answer = self.one("b@elsewhere.example")
        self.assertTrue(answer.startswith("535 5.7.8 ") or answer.startswith("451"), answer)
        self.assertIn("535 5.7.8 bad credentials", answer)
        self.assertEqual(len(peer.messages), 1)


    def test_end_to_end_through_courierd(self):
        """submit -> queue -> courierd -> remote -> the peer; a 5xx recipient bounces."""
        from test_courierd import Instance
        peer = self.peer(rcpt_reply={"bad@plain.test": "550 5.1.1 no such user"})
        inst = Instance(self.tmp)
        try:
            inst.write("dns.conf", f"forwarders = 127.0.0.1:{self.dns.port}\ntimeout = 5\n")
            inst.write("remote.conf", f"port = {self.port}\nconnect_timeout = 5\n")
            # test_courierd's instances leave the module out; this one needs it
            shutil.copy(program("remote"), os.path.join(inst.libexec, "remote"))
            os.chmod(os.path.join(inst.libexec, "remote"), 0o755)
            inst.start_courierd()
            inst.submit("sender@client.test", ["a@plain.test", "b@plain.test",
                                               "bad@plain.test"], b"Subject: e2e\n\nhello\n")
            inst.wait_log(r"rcpt=<bad@plain\.test> route=remote .*status=bounced")
            inst.wait_log(r"rcpt=<b@plain\.test> route=remote .*status=sent")
            self.assertEqual(len(peer.messages), 1)
            m = peer.messages[0]
            self.assertEqual(sorted(m["rcpts"]), ["a@plain.test", "b@plain.test"])
            self.assertTrue(m["data"].endswith(b"Subject: e2e\r\n\r\nhello\r\n"), m["data"])
            self.assertIn("mx.plain.test[127.0.0.1] said: 550 5.1.1 no such user",
                          inst.logtext())
        finally:
            inst.close()

    def dsn_instance(self, peer_dsn):
        from test_courierd import Instance
        peer = self.peer(dsn=peer_dsn)
        inst = Instance(self.tmp)
        inst.write("dns.conf", f"forwarders = 127.0.0.1:{self.dns.port}\ntimeout = 5\n")
        inst.write("remote.conf", f"port = {self.port}\nconnect_timeout = 5\n")
        shutil.copy(program("remote"), os.path.join(inst.libexec, "remote"))
        os.chmod(os.path.join(inst.libexec, "remote"), 0o755)
        inst.start_courierd()
        inst.submit("sender@plain.test", ["a@plain.test\tSUCCESS,FAILURE\trfc822;A@plain.test",
                                          "b@plain.test"],
                    b"Subject: dsn\n\nhello\n", extra=b"Eenv+2B1\nNHDRS\n")
        return peer, inst

    def test_dsn_parameters_passed_to_the_next_hop(self):
        """RFC 3461 5.2: NOTIFY, ORCPT, RET and ENVID go on; the next hop speaks DSN,
        so the success notice is its to send: courierd sends none."""
        peer, inst = self.dsn_instance(True)
        try:
            inst.wait_log(r"rcpt=<a@plain\.test> route=remote .*status=sent")
            inst.wait_queue_empty()
            mail = [l for t in peer.transcripts for l in t if l.upper().startswith("MAIL")]
            rcpts = [l for t in peer.transcripts for l in t if l.upper().startswith("RCPT")]
            self.assertIn("RET=HDRS", mail[0])
            self.assertIn("ENVID=env+2B1", mail[0])
            self.assertIn("RCPT TO:<a@plain.test> NOTIFY=SUCCESS,FAILURE "
                          "ORCPT=rfc822;A@plain.test", rcpts)
            self.assertIn("RCPT TO:<b@plain.test>", rcpts)
            self.assertEqual(len(peer.messages), 1)  # the message, and no DSN of ours
        finally:
            inst.close()

    def test_dsn_relayed_to_a_server_without_dsn(self):
        """The next hop lacks DSN: NOTIFY=SUCCESS gets a "relayed" notice from us."""
        peer, inst = self.dsn_instance(False)
        try:
            deadline = time.time() + 30
            while len(peer.messages) < 2 and time.time() < deadline:
                time.sleep(0.1)
            self.assertEqual(len(peer.messages), 2, inst.logtext()[-2000:])
            dsn = peer.messages[1]
            self.assertEqual(dsn["from"], "")
            self.assertEqual(dsn["rcpts"], ["sender@plain.test"])
            self.assertIn(b"Action: relayed", dsn["data"])
            self.assertIn(b"Original-Recipient: rfc822;A@plain.test", dsn["data"])
            self.assertIn(b"Remote-MTA: dns; mx.plain.test\r\n", dsn["data"])
            self.assertNotIn(b"Final-Recipient: rfc822; b@plain.test", dsn["data"])
            mail = [l for t in peer.transcripts for l in t if l.upper().startswith("MAIL")]
            self.assertNotIn("ENVID", mail[0])  # not to a server without DSN
        finally:
            inst.close()


if __name__ == "__main__":
    unittest.main()
