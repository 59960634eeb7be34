"""imapd(8): SORT and THREAD (RFC 5256, DISPLAYFROM/DISPLAYTO of RFC 5957),
driven with imaplib and raw bytes, hostile headers included."""

import imaplib
import os
import shlex
import time

from harness import TempDirTestCase
from test_imapd import IMAPD, Raw

MSGS = [
    (b"From: Zed <zed@x.org>\nTo: mo@x.org\nSubject: Re: Hello\n"
     b"Date: Sat, 3 Jan 2026 10:00:00 +0000\nMessage-ID: <b@x>\nReferences: <a@x>\n\nbody 1\n"),
    (b"From: \"Amy\" <amy@x.org>\nTo: al@x.org\nSubject: hello\n"
     b"Date: Thu, 1 Jan 2026 10:00:00 +0000\nMessage-ID: <a@x>\n\nbody 2 is longer\n"),
    (b"From: \"Yves\" <bob@x.org>\nTo: zo@x.org\nCc: c@x.org\n"
     b"Subject: [list] Fwd: other (fwd)\n"
     b"Date: Fri, 2 Jan 2026 10:00:00 +0000\nMessage-ID: <c@x>\n\nb3\n"),
    (b"From: carl@x.org\nTo: bo@x.org\nSubject: =?utf-8?q?Re=3A_=5Bfwd=3A_Hello=5D?=\n"
     b"Date: Sun, 4 Jan 2026 10:00:00 +0000\nMessage-ID: <d@x>\nIn-Reply-To: <b@x>\n\n"
     b"body four, the longest of them all\n"),
    (b"From: Dan <dan@x.org>\nTo: ab@x.org\nSubject: other\n"
     b"Date: Mon, 5 Jan 2026 10:00:00 +0000\nMessage-ID: <e@x>\n\nb5\n"),
]


class ImapdSortTest(TempDirTestCase):
    def setUp(self):
        super().setUp()
        self.maildir = os.path.join(self.tmp, "Maildir")
        for d in ("cur", "new", "tmp"):
            os.makedirs(os.path.join(self.maildir, d))
        self.n = 0

    def deliver(self, data, mtime=None):
        self.n += 1
        name = "%d.M%dP%d.test" % (1700000000 + self.n, self.n, os.getpid())
        path = os.path.join(self.maildir, "new", name)
        with open(path, "wb") as f:
            f.write(data)
        if mtime is not None:
            os.utime(path, (mtime, mtime))

    def client(self):
        c = imaplib.IMAP4_stream("MAILDIR=%s ESTAFETTE_LOG=stderr exec %s 2>/dev/null" %
                                 (shlex.quote(self.maildir), shlex.quote(IMAPD)))
        return c

    def five(self):
        now = time.time()
        for i, m in enumerate(MSGS):
            self.deliver(m, now - 100 * i)  # arrival: the last one first
        c = self.client()
        c.select("INBOX")
        return c

    def sort(self, c, crit, search="ALL"):
        typ, data = c.sort(crit, "UTF-8", search)
        self.assertEqual(typ, "OK")
        return data[0].decode()

    def test_capability(self):
        c = self.client()
        caps = c.capabilities
        for cap in ("SORT", "SORT=DISPLAY", "THREAD=ORDEREDSUBJECT", "THREAD=REFERENCES"):
            self.assertIn(cap, caps)
        c.logout()

    def test_sort_keys(self):
        c = self.five()
        self.assertEqual(self.sort(c, "(SUBJECT)"), "1 2 4 3 5")
        self.assertEqual(self.sort(c, "(SUBJECT DATE)"), "2 1 4 3 5")
        self.assertEqual(self.sort(c, "(DATE)"), "2 3 1 4 5")
        self.assertEqual(self.sort(c, "(REVERSE DATE)"), "5 4 1 3 2")
        self.assertEqual(self.sort(c, "(ARRIVAL)"), "5 4 3 2 1")
        self.assertEqual(self.sort(c, "(FROM)"), "2 3 4 5 1")
        self.assertEqual(self.sort(c, "(DISPLAYFROM)"), "2 4 5 3 1")
        self.assertEqual(self.sort(c, "(TO)"), "5 2 4 1 3")
        self.assertEqual(self.sort(c, "(DISPLAYTO)"), "5 2 4 1 3")
        self.assertEqual(self.sort(c, "(CC DATE)"), "2 1 4 5 3")
        sizes = [len(m.replace(b"\n", b"\r\n")) for m in MSGS]
        want = sorted(range(1, 6), key=lambda i: (sizes[i - 1], i))
        self.assertEqual(self.sort(c, "(SIZE)"), " ".join(map(str, want)))
        self.assertEqual(self.sort(c, "(REVERSE SIZE)"), " ".join(map(str, reversed(want))))
        self.assertEqual(self.sort(c, "(DATE)", "SUBJECT hello"), "2 1 4")
        self.assertEqual(self.sort(c, "(DATE)", "SUBJECT nothing"), "")
        typ, data = c.uid("SORT", "(REVERSE ARRIVAL)", "UTF-8", "ALL")
        uids = {}
        typ, fetched = c.fetch("1:5", "(UID)")
        for line in fetched:
            seq, _, rest = line.decode().partition(" ")
            uids[seq] = rest.split()[-1].rstrip(")")
        self.assertEqual(data[0].decode(), " ".join(uids[str(i)] for i in range(1, 6)))
        c.logout()

    def test_esort(self):
        now = time.time()
        for i, m in enumerate(MSGS):
            self.deliver(m, now - 100 * i)
        r = Raw(self.maildir)
        self.addCleanup(r.close)
        self.assertIn(b" ESORT", r.cmd(b"a", b"CAPABILITY"))
        r.cmd(b"b", b"SELECT INBOX")
        # (DATE) sorts 2 3 1 4 5: ALL keeps that order, MIN and MAX are numbers
        out = r.cmd(b"c", b"SORT RETURN (MIN MAX COUNT ALL) (DATE) UTF-8 ALL")
        self.assertIn(b'* ESEARCH (TAG "c") MIN 1 MAX 5 COUNT 5 ALL 2:3,1,4:5\r\n', out)
        out = r.cmd(b"d", b"SORT RETURN () (REVERSE DATE) UTF-8 SUBJECT hello")
        self.assertIn(b'* ESEARCH (TAG "d") ALL 4,1:2\r\n', out)
        out = r.cmd(b"e", b"SORT RETURN (COUNT) (DATE) UTF-8 SUBJECT nothing")
        self.assertIn(b'* ESEARCH (TAG "e") COUNT 0\r\n', out)
        self.assertNotIn(b"* SORT", out)
        self.assertIn(b'* ESEARCH (TAG "f") UID COUNT 5',
                      r.cmd(b"f", b"UID SORT RETURN (COUNT) (ARRIVAL) UTF-8 ALL"))
        self.assertIn(b"g BAD", r.cmd(b"g", b"SORT RETURN (SAVE) (DATE) UTF-8 ALL"))
        self.assertIn(b"h BAD", r.cmd(b"h", b"SORT RETURN (BOGUS) (DATE) UTF-8 ALL"))
        self.assertIn(b"i BAD", r.cmd(b"i", b"SORT RETURN (DATE) UTF-8 ALL"))

    def test_thread(self):
        c = self.five()
        typ, data = c.thread("ORDEREDSUBJECT", "UTF-8", "ALL")
        self.assertEqual((typ, data[0]), ("OK", b"(2 (1)(4))(3 5)"))
        typ, data = c.thread("REFERENCES", "UTF-8", "ALL")
        self.assertEqual((typ, data[0]), ("OK", b"(2 1 4)(5 3)"))
        typ, data = c.thread("REFERENCES", "US-ASCII", "NOT SUBJECT other")
        self.assertEqual((typ, data[0]), ("OK", b"(2 1 4)"))
        typ, data = c.uid("THREAD", "REFERENCES", "UTF-8", "SUBJECT nothing")
        self.assertEqual(typ, "OK")
        self.assertIn(data[0], (None, b""))
        c.logout()

    def test_references_branches_and_missing_parents(self):
        # 1 and 2 answer a message that is not there: a dummy with two children
        self.deliver(b"Subject: a\nDate: Thu, 1 Jan 2026 10:00:00 +0000\n"
                     b"Message-ID: <1@x>\nReferences: <gone@x>\n\n.\n")
        self.deliver(b"Subject: b\nDate: Fri, 2 Jan 2026 10:00:00 +0000\n"
                     b"Message-ID: <2@x>\nReferences: <gone@x>\n\n.\n")
        self.deliver(b"Subject: c\nDate: Sat, 3 Jan 2026 10:00:00 +0000\n"
                     b"Message-ID: <3@x>\nReferences: <gone2@x> <1@x>\n\n.\n")
        self.deliver(b"Subject: d\nDate: Sun, 4 Jan 2026 10:00:00 +0000\n"
                     b"Message-ID: <4@x>\nReferences: <1@x>\n\n.\n")
        c = self.client()
        c.select("INBOX")
        typ, data = c.thread("REFERENCES", "UTF-8", "ALL")
        self.assertEqual((typ, data[0]), ("OK", b"((1 (3)(4))(2))"))
        c.logout()

    def test_bad_syntax(self):
        for m in MSGS:
            self.deliver(m)
        r = Raw(self.maildir)
        r.cmd(b"s", b"SELECT INBOX")
        for cmd in (b"SORT DATE UTF-8 ALL", b"SORT () UTF-8 ALL", b"SORT (FOO) UTF-8 ALL",
                    b"SORT (DATE REVERSE) UTF-8 ALL", b"SORT (DATE) UTF-8", b"SORT (DATE)",
                    b"SORT (DATE) UTF-8 FOO", b"THREAD FOO UTF-8 ALL", b"THREAD REFERENCES",
                    b"SORT (" + b"DATE " * 100 + b"DATE) UTF-8 ALL",
                    b"SORT (REVERSE REVERSE DATE) UTF-8 ALL"):
            self.assertTrue(r.cmd(b"t", cmd).startswith(b"t BAD"), cmd)
        out = r.cmd(b"t", b"SORT (DATE) KOI8-R ALL")
        self.assertIn(b"t NO [BADCHARSET", out)
        out = r.cmd(b"t", b"THREAD REFERENCES KOI8-R ALL")
        self.assertIn(b"t NO [BADCHARSET", out)
        self.assertEqual(r.cmd(b"u", b"LOGOUT").splitlines()[-1], b"u OK LOGOUT completed")
        self.assertEqual(r.close(), 0)
        r = Raw(self.maildir)
        self.assertTrue(r.cmd(b"t", b"SORT (DATE) UTF-8 ALL").startswith(b"t BAD"))
        r.close()

    def test_hostile_headers(self):
        # reference loops, a long chain, a huge References field, Re: piles
        self.deliver(b"Message-ID: <x@x>\nReferences: <y@x> <x@x>\nSubject: loop\n\n.\n")
        self.deliver(b"Message-ID: <y@x>\nReferences: <x@x> <y@x>\nSubject: loop\n\n.\n")
        self.deliver(b"Message-ID: <x@x>\nSubject: duplicate id\n\n.\n")
        refs = b" ".join(b"<r%d@x>" % i for i in range(3000))
        self.deliver(b"Message-ID: <big@x>\nReferences: " + refs + b"\nSubject: big\n\n.\n")
        self.deliver(b"Subject: " + b"Re: [a] Fwd: " * 2000 + b"(fwd)" * 2000 + b"\n\n.\n")
        self.deliver(b"Subject: [\n\n.\n")
        self.deliver(b"Subject: [fwd: [fwd: ]]\nFrom: <<<@>\nDate: garbage\n\n.\n")
        for i in range(300):
            self.deliver(b"Message-ID: <c%d@x>\nIn-Reply-To: <c%d@x>\nSubject: c\n\n.\n"
                         % (i, i - 1))
        c = self.client()
        c.select("INBOX")
        for alg in ("REFERENCES", "ORDEREDSUBJECT"):
            typ, data = c.thread(alg, "UTF-8", "ALL")
            self.assertEqual(typ, "OK")
            nums = data[0].replace(b"(", b" ").replace(b")", b" ").split()
            self.assertEqual(sorted(map(int, nums)), list(range(1, self.n + 1)))
            self.assertEqual(data[0].count(b"("), data[0].count(b")"))
        typ, data = c.thread("REFERENCES", "UTF-8", "HEADER In-Reply-To c")
        self.assertEqual(data[0], b"(" + b" ".join(b"%d" % i for i in range(8, 308)) + b")")
        for crit in ("(SUBJECT)", "(DATE)", "(FROM)", "(DISPLAYFROM CC REVERSE SIZE)"):
            typ, data = c.sort(crit, "UTF-8", "ALL")
            self.assertEqual(typ, "OK")
            self.assertEqual(len(data[0].split()), self.n)
        c.logout()
