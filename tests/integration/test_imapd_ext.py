"""imapd(8) extensions: SEARCHRES (RFC 5182), IMAP4rev2 (RFC 9051),
UTF8=ACCEPT (RFC 6855), QUOTA (RFC 9208), driven through pipes
(preauthenticated) with imaplib and raw bytes."""

import os
import re
import shlex
import imaplib

from harness import TempDirTestCase, program
from test_imapd import Raw, SIMPLE

IMAPD = program("imapd")


def msg(subject, body=b"body\n"):
    return (b"From: a@example.org\nTo: b@example.net\nSubject: " + subject +
            b"\nDate: Sun, 22 Nov 2026 02:41:16 +0000\n\n" + body)


class ExtTest(TempDirTestCase):
    def setUp(self):
        super().setUp()
        self.maildir = os.path.join(self.tmp, "Maildir")
        for d in ("cur", "new", "tmp"):
            os.makedirs(os.path.join(self.maildir, d))
        self.n = 0

    def deliver(self, data, folder=""):
        self.n += 1
        base = os.path.join(self.maildir, folder) if folder else self.maildir
        name = "%d.M%dP%d.test" % (1700000000 + self.n, self.n, os.getpid())
        with open(os.path.join(base, "tmp", name), "wb") as f:
            f.write(data)
        os.rename(os.path.join(base, "tmp", name), os.path.join(base, "new", name))
        return name

    def raw(self):
        r = Raw(self.maildir)
        self.assertTrue(r.greeting.startswith(b"* PREAUTH"), r.greeting)
        self.addCleanup(r.close)
        return r

    def client(self):
        c = imaplib.IMAP4_stream("MAILDIR=%s ESTAFETTE_LOG=stderr exec %s 2>/dev/null" %
                                 (shlex.quote(self.maildir), shlex.quote(IMAPD)))
        self.assertEqual(c.state, "AUTH")
        return c

    # --- SEARCHRES ---------------------------------------------------------------

    def test_searchres_save_and_dollar(self):
        for i in range(6):
            self.deliver(msg(b"odd" if i % 2 == 0 else b"even"))
        r = self.raw()
        self.assertIn(b"SEARCHRES", r.cmd(b"a", b"CAPABILITY"))
        r.cmd(b"b", b"SELECT INBOX")
        out = r.cmd(b"c", b"SEARCH RETURN (SAVE) SUBJECT odd")
        self.assertNotIn(b"* SEARCH", out)
        self.assertNotIn(b"* ESEARCH", out)
        self.assertIn(b"c OK", out)
        out = r.cmd(b"d", b"FETCH $ (UID)")
        self.assertEqual(re.findall(rb"\* (\d+) FETCH \(UID (\d+)\)", out),
                         [(b"1", b"1"), (b"3", b"3"), (b"5", b"5")])
        out = r.cmd(b"e", b"STORE $ +FLAGS.SILENT (\\Flagged)")
        self.assertIn(b"e OK", out)
        out = r.cmd(b"f", b"SEARCH FLAGGED")
        self.assertIn(b"* SEARCH 1 3 5\r\n", out)
        out = r.cmd(b"g", b"UID SEARCH RETURN (SAVE MIN MAX) ALL")
        self.assertIn(b"* ESEARCH (TAG \"g\") UID MIN 1 MAX 6", out)
        out = r.cmd(b"h", b"UID FETCH $ (FLAGS)")
        self.assertEqual(len(re.findall(rb"FETCH \(", out)), 2)
        out = r.cmd(b"i", b"SEARCH $ NOT 1")  # $ as a search key
        self.assertIn(b"* SEARCH 6\r\n", out)
        # expunged messages leave $, and $ works with COPY and UID EXPUNGE
        r.cmd(b"j", b"SEARCH RETURN (SAVE) SUBJECT even")
        self.assertIn(b"k OK", r.cmd(b"k", b"STORE $ +FLAGS.SILENT (\\Deleted)"))
        out = r.cmd(b"l", b"UID EXPUNGE $")
        self.assertEqual(len(re.findall(rb"EXPUNGE\r\n", out)), 3)
        out = r.cmd(b"m", b"FETCH $ (UID)")
        self.assertNotIn(b"FETCH (", out)
        self.assertIn(b"m OK", out)
        # a failed SEARCH ... SAVE empties $; a bad $ use is BAD
        self.assertIn(b"n BAD", r.cmd(b"n", b"SEARCH RETURN (SAVE) NOSUCHKEY"))
        out = r.cmd(b"o", b"FETCH $ (UID)")
        self.assertNotIn(b"FETCH (", out)
        self.assertIn(b"p BAD", r.cmd(b"p", b"FETCH 1,$ (UID)"))
        self.assertIn(b"q BAD", r.cmd(b"q", b"FETCH $$ (UID)"))
        self.assertIn(b"r BAD", r.cmd(b"r", b"SEARCH RETURN (SAVE"))
        # a new SELECT forgets it
        r.cmd(b"s", b"SEARCH RETURN (SAVE) ALL")
        r.cmd(b"t", b"SELECT INBOX")
        self.assertNotIn(b"FETCH (", r.cmd(b"u", b"FETCH $ (UID)"))

    # --- IMAP4rev2 ---------------------------------------------------------------

    def test_rev2_enable_and_differences(self):
        self.deliver(msg(b"one"))
        self.deliver(msg(b"two"))
        r = self.raw()
        caps = r.cmd(b"a", b"CAPABILITY")
        self.assertIn(b" IMAP4rev1 IMAP4rev2 ", caps)
        self.assertIn(b" STATUS=SIZE ", caps)
        # rev1 first: RECENT and UNSEEN and \Recent
        out = r.cmd(b"b", b"EXAMINE INBOX")
        self.assertIn(b"* 2 RECENT", out)
        self.assertIn(b"[UNSEEN 1]", out)
        r.cmd(b"c", b"UNSELECT")
        out = r.cmd(b"d", b"ENABLE IMAP4rev2 NOSUCH")
        self.assertIn(b"* ENABLED IMAP4rev2\r\n", out)
        self.assertIn(b"* ENABLED\r\n", r.cmd(b"e", b"ENABLE imap4rev2"))  # only once
        out = r.cmd(b"f", b"SELECT inbox")
        self.assertNotIn(b"RECENT", out)
        self.assertNotIn(b"UNSEEN", out)
        self.assertRegex(out, rb'\* LIST \(\) "\." "?INBOX"?\r\n')
        self.assertIn(b"* OK [UIDVALIDITY ", out)
        self.assertIn(b"* OK [UIDNEXT 3]", out)
        out = r.cmd(b"g", b"FETCH 1:* FLAGS")
        self.assertNotIn(b"\\Recent", out)
        out = r.cmd(b"h", b"SEARCH ALL")
        self.assertIn(b'* ESEARCH (TAG "h") ALL 1:2\r\n', out)
        self.assertNotIn(b"* SEARCH", out)
        out = r.cmd(b"i", b"UID SEARCH SUBJECT nothing")
        self.assertIn(b'* ESEARCH (TAG "i") UID\r\n', out)
        # a delivery is reported without RECENT
        self.deliver(msg(b"three"))
        out = r.cmd(b"j", b"NOOP")
        self.assertIn(b"* 3 EXISTS", out)
        self.assertNotIn(b"RECENT", out)

    def test_status_size_and_deleted(self):
        self.deliver(msg(b"one", b"x\n" * 10))
        self.deliver(msg(b"two"))
        r = self.raw()
        r.cmd(b"a", b"SELECT INBOX")
        r.cmd(b"b", b"STORE 2 +FLAGS (\\Deleted)")
        fetched = r.cmd(b"c", b"FETCH 1:* RFC822.SIZE")
        total = sum(int(x) for x in re.findall(rb"RFC822.SIZE (\d+)", fetched))
        out = r.cmd(b"d", b"STATUS INBOX (MESSAGES SIZE DELETED UNSEEN)")
        m = re.search(rb"\* STATUS INBOX \(MESSAGES 2 SIZE (\d+) DELETED 1 UNSEEN 2\)", out)
        self.assertTrue(m, out)
        self.assertEqual(int(m.group(1)), total)
        self.assertIn(b"e BAD", r.cmd(b"e", b"STATUS INBOX (SIZE BOGUS)"))
        out = r.cmd(b"f", b'LIST "" "*" RETURN (STATUS (SIZE DELETED))')
        self.assertIn(b"* STATUS INBOX (SIZE %d DELETED 1)" % total, out)

    def test_fetch_binary(self):
        data = (b"From: a@b.c\nSubject: bin\nMIME-Version: 1.0\n"
                b"Content-Type: multipart/mixed; boundary=b\n\n"
                b"--b\nContent-Type: text/plain\nContent-Transfer-Encoding: quoted-printable\n\n"
                b"caf=C3=A9 soft=\nbreak\n"
                b"--b\nContent-Type: application/octet-stream\nContent-Transfer-Encoding: base64\n\n"
                b"AAECAwRoZWxsbw==\n"
                b"--b\nContent-Type: text/plain\nContent-Transfer-Encoding: x-unknown\n\nzzz\n"
                b"--b--\n")
        self.deliver(data)
        r = self.raw()
        r.cmd(b"a", b"EXAMINE INBOX")
        out = r.cmd(b"b", b"FETCH 1 (BINARY.PEEK[1] BINARY.SIZE[2])")
        self.assertIn("BINARY[1] {15}\r\ncafé softbreak BINARY.SIZE".encode(), out)
        self.assertIn(b"BINARY.SIZE[2] 10", out)
        out = r.cmd(b"c", b"FETCH 1 BINARY.PEEK[2]")
        self.assertIn(b"BINARY[2] ~{10}\r\n\x00\x01\x02\x03\x04hello", out)
        out = r.cmd(b"d", b"FETCH 1 BINARY.PEEK[2]<5.3>")
        self.assertIn(b"BINARY[2]<5> {3}\r\nhel", out)
        out = r.cmd(b"e", b"FETCH 1 BINARY.PEEK[3]")
        self.assertIn(b"e NO [UNKNOWN-CTE]", out)
        self.assertIn(b"BINARY[9] NIL", r.cmd(b"f", b"FETCH 1 BINARY.PEEK[9]"))
        for bad in (b"BINARY.PEEK[1.TEXT]", b"BINARY.SIZE[1]<0.5>", b"BINARY.FOO[1]",
                    b"BINARY[1", b"BINARY.PEEK[HEADER]"):
            self.assertIn(b"g BAD", r.cmd(b"g", b"FETCH 1 " + bad), bad)
        # BINARY (not PEEK) sets \Seen, except in EXAMINE
        r.cmd(b"h", b"SELECT INBOX")
        out = r.cmd(b"i", b"FETCH 1 BINARY[1]")
        self.assertIn(b"\\Seen", out)

    # --- UTF8=ACCEPT and UTF-8 names ---------------------------------------------

    def test_utf8_names_after_enable(self):
        r = self.raw()
        self.assertIn(b"UTF8=ACCEPT", r.cmd(b"a", b"CAPABILITY"))
        self.assertIn(b"b OK", r.cmd(b"b", b'CREATE "INBOX.Caf&AOk-"'))
        self.assertTrue(os.path.isdir(os.path.join(self.maildir, ".Caf&AOk-")))
        out = r.cmd(b"c", b'LIST "" "*"')
        self.assertIn(b'"." Caf&AOk-\r\n', out)
        self.assertIn(b"* ENABLED UTF8=ACCEPT", r.cmd(b"d", b"ENABLE UTF8=ACCEPT"))
        out = r.cmd(b"e", b'LIST "" "*"')
        self.assertIn('"Café"'.encode(), out)
        self.assertNotIn(b"&AOk-", out)
        self.assertIn(b"f OK", r.cmd(b"f", 'CREATE "INBOX.Ünïcode & more"'.encode()))
        self.assertTrue(os.path.isdir(os.path.join(self.maildir, ".&ANw-n&AO8-code &- more")))
        out = r.cmd(b"g", 'SELECT "INBOX.Café"'.encode())
        self.assertIn(b"g OK", out)
        out = r.cmd(b"h", 'STATUS "INBOX.Ünïcode & more" (MESSAGES)'.encode())
        self.assertIn('* STATUS "INBOX.Ünïcode & more" (MESSAGES 0)'.encode(), out)
        # APPEND with a UTF8 literal (RFC 6855 4)
        body = "Subject: héllo\r\nFrom: ü@example.org\r\n\r\nbody\r\n".encode()
        r.send(b"i APPEND INBOX UTF8 (~{%d+}\r\n" % len(body) + body + b")\r\n")
        out = r.until_tag(b"i")
        self.assertIn(b"i OK [APPENDUID", out)
        out = r.cmd(b"j", 'LIST "" "INBOX.Caf*"'.encode())
        self.assertIn('"INBOX.Café"'.encode(), out)
        # hostile: invalid UTF-8 names
        self.assertIn(b"k BAD", r.cmd(b"k", b'CREATE "INBOX.\xc3\x28"'))
        self.assertIn(b"l BAD", r.cmd(b"l", b'SELECT "\xff"'))
        self.assertIn(b"m BAD", r.cmd(b"m", b'APPEND INBOX UTF8 ({3+}\r\nabc)'))
        self.assertIn(b"n BAD", r.cmd(b"n", b'APPEND INBOX UTF8 (~{3+}\r\nabc'))
        self.assertIn(b"o OK", r.cmd(b"o", b"NOOP"))

    def test_utf8_append_refused_without_enable(self):
        r = self.raw()
        r.send(b"a APPEND INBOX UTF8 (~{4+}\r\nabcd)\r\n")
        self.assertIn(b"a BAD", r.until_tag(b"a"))
        self.assertIn(b"b OK", r.cmd(b"b", b"NOOP"))

    # --- QUOTA -------------------------------------------------------------------

    def write_maildirsize(self, text):
        with open(os.path.join(self.maildir, "maildirsize"), "w") as f:
            f.write(text)

    def read_usage(self):
        with open(os.path.join(self.maildir, "maildirsize")) as f:
            lines = f.read().splitlines()
        b = c = 0
        for l in lines[1:]:
            x, y = l.split()
            b += int(x)
            c += int(y)
        return lines[0], b, c

    def test_quota_from_maildirsize(self):
        self.deliver(msg(b"one", b"x" * 3000 + b"\n"))
        self.deliver(msg(b"two"))
        os.makedirs(os.path.join(self.maildir, ".Other", "cur"))
        for d in ("new", "tmp"):
            os.makedirs(os.path.join(self.maildir, ".Other", d))
        open(os.path.join(self.maildir, ".Other", "maildirfolder"), "w").close()
        self.write_maildirsize("10240S,3C\n")  # usage recounted: no usage lines
        r = self.raw()
        caps = r.cmd(b"a", b"CAPABILITY")
        self.assertIn(b" QUOTA QUOTA=RES-STORAGE QUOTA=RES-MESSAGE ", caps)
        out = r.cmd(b"b", b"GETQUOTAROOT INBOX")
        self.assertIn(b'* QUOTAROOT INBOX ""\r\n', out)
        # usage 0 before the recount (maildirsize has no usage lines)
        self.assertRegex(out, rb'\* QUOTA "" \(STORAGE \d+ 10 MESSAGE \d+ 3\)\r\n')
        out = r.cmd(b"c", b'GETQUOTA ""')
        self.assertIn(b"c OK", out)
        self.assertIn(b"d NO [NONEXISTENT]", r.cmd(b"d", b'GETQUOTA "other"'))
        self.assertIn(b"e NO [NOPERM]", r.cmd(b"e", b'SETQUOTA "" (STORAGE 100)'))
        self.assertIn(b"f BAD", r.cmd(b"f", b'SETQUOTA "" (STORAGE 100'))
        self.assertIn(b"g BAD", r.cmd(b"g", b"GETQUOTAROOT"))
        self.assertIn(b"h NO [NONEXISTENT]", r.cmd(b"h", b"GETQUOTAROOT INBOX.nosuch"))
        # a big APPEND is refused (the recount finds 2 messages, ~3 KB)
        big = b"Subject: big\r\n\r\n" + b"y" * 11000 + b"\r\n"
        r.send(b"i APPEND INBOX {%d+}\r\n" % len(big) + big + b"\r\n")
        self.assertIn(b"i NO [OVERQUOTA]", r.until_tag(b"i"))
        small = b"Subject: small\r\n\r\nz\r\n"
        r.send(b"j APPEND INBOX.Other {%d+}\r\n" % len(small) + small + b"\r\n")
        self.assertIn(b"j OK [APPENDUID", r.until_tag(b"j"))
        spec, b, c = self.read_usage()
        self.assertEqual((spec, c), ("10240S,3C", 3))
        # the message count is full now: COPY is refused, after an EXPUNGE it fits
        r.cmd(b"k", b"SELECT INBOX")
        self.assertIn(b"l NO [OVERQUOTA]", r.cmd(b"l", b"COPY 2 INBOX.Other"))
        r.cmd(b"m", b"STORE 1 +FLAGS.SILENT (\\Deleted)")
        self.assertIn(b"* 1 EXPUNGE", r.cmd(b"n", b"EXPUNGE"))
        spec, b, c = self.read_usage()
        self.assertEqual(c, 2)
        self.assertIn(b"o OK [COPYUID", r.cmd(b"o", b"COPY 1 INBOX.Other"))
        spec, b, c = self.read_usage()
        self.assertEqual(c, 3)
        out = r.cmd(b"p", b'GETQUOTA ""')
        self.assertIn(b"MESSAGE 3 3)", out)

    def test_quota_from_account_and_none(self):
        self.deliver(msg(b"one"))
        r = self.raw()
        out = r.cmd(b"a", b"GETQUOTAROOT INBOX")
        self.assertIn(b"* QUOTAROOT INBOX\r\n", out)
        self.assertNotIn(b"* QUOTA ", out)
        self.assertIn(b"b NO [NONEXISTENT]", r.cmd(b"b", b'GETQUOTA ""'))
        r.close()
        old = os.environ.get("QUOTA")
        os.environ["QUOTA"] = "5000000S"
        try:
            r = self.raw()
        finally:
            if old is None:
                del os.environ["QUOTA"]
            else:
                os.environ["QUOTA"] = old
        out = r.cmd(b"c", b"GETQUOTAROOT INBOX")
        self.assertRegex(out, rb'\* QUOTA "" \(STORAGE 1 4882\)\r\n')
        spec, b, c = self.read_usage()  # the file was created from QUOTA
        self.assertEqual((spec, c), ("5000000S", 1))

    # --- CONDSTORE and QRESYNC ---------------------------------------------------

    def modseqs(self, out):
        """UID -> MODSEQ of the FETCH responses in out (any order of items)."""
        res = {}
        for line in out.split(b"\r\n"):
            u = re.search(rb"FETCH \(.*\bUID (\d+)", line)
            m = re.search(rb"MODSEQ \((\d+)\)", line)
            if u and m:
                res[int(u.group(1))] = int(m.group(1))
        return res

    def test_condstore_two_sessions(self):
        for i in range(4):
            self.deliver(msg(b"m%d" % i))
        a, b = self.raw(), self.raw()
        self.assertIn(b" CONDSTORE QRESYNC ", a.cmd(b"x", b"CAPABILITY"))
        out = a.cmd(b"a1", b"SELECT INBOX (CONDSTORE)")
        h0 = int(re.search(rb"\[HIGHESTMODSEQ (\d+)\]", out).group(1))
        out = a.cmd(b"a2", b"UID FETCH 1:* (FLAGS MODSEQ)")
        ms = self.modseqs(out)
        self.assertEqual(sorted(ms), [1, 2, 3, 4])
        self.assertTrue(all(m <= h0 for m in ms.values()))
        # b (without CONDSTORE) changes a flag; a sees it with a new MODSEQ
        b.cmd(b"b1", b"SELECT INBOX")
        self.assertNotIn(b"MODSEQ", b.cmd(b"b2", b"STORE 2 +FLAGS (\\Flagged)"))
        out = a.cmd(b"a3", b"NOOP")
        f = re.search(rb"\* 2 FETCH \(FLAGS \(\\Flagged[^)]*\) MODSEQ \((\d+)\)\)", out)
        self.assertTrue(f, out)
        m2 = {2: int(f.group(1))}
        self.assertGreater(m2[2], h0)
        # FETCH CHANGEDSINCE: only message 2
        out = a.cmd(b"a4", b"UID FETCH 1:* (FLAGS) (CHANGEDSINCE %d)" % h0)
        self.assertEqual(sorted(self.modseqs(out)), [2])
        # STORE UNCHANGEDSINCE: 2 changed after h0, so it is MODIFIED
        out = a.cmd(b"a5", b"UID STORE 1:2 (UNCHANGEDSINCE %d) +FLAGS (\\Seen)" % h0)
        self.assertIn(b"a5 OK [MODIFIED 2]", out)
        m1 = self.modseqs(out)
        self.assertIn(1, m1, out)
        self.assertGreater(m1[1], m2[2])
        out = a.cmd(b"a6", b"FETCH 1:2 (UID FLAGS)")
        self.assertRegex(out, rb"\* 1 FETCH \(UID 1 FLAGS \(\\Seen \\Recent\)\)")
        self.assertRegex(out, rb"\* 2 FETCH \(UID 2 FLAGS \(\\Flagged \\Recent\)\)")
        # SEARCH MODSEQ
        out = a.cmd(b"a7", b"SEARCH MODSEQ %d" % (h0 + 1))
        self.assertIn(b"* SEARCH 1 2 (MODSEQ %d)\r\n" % m1[1], out)
        out = a.cmd(b"a8", b'UID SEARCH RETURN (ALL) MODSEQ "/flags/\\\\seen" all %d' % m1[1])
        self.assertIn(b"ALL 1 MODSEQ %d" % m1[1], out)
        self.assertIn(b"a9 BAD", a.cmd(b"a9", b"SEARCH MODSEQ"))
        # with MIN or MAX alone, MODSEQ is that of the messages returned
        out = a.cmd(b"a9b", b"SEARCH RETURN (MIN) MODSEQ 1")
        self.assertIn(b"MIN 1 MODSEQ %d\r\n" % m1[1], out)
        out = a.cmd(b"a9c", b"SEARCH RETURN (MAX) MODSEQ 1")
        self.assertIn(b"MAX 4 MODSEQ %d\r\n" % ms[4], out)
        # STATUS HIGHESTMODSEQ
        out = b.cmd(b"b3", b"STATUS INBOX (HIGHESTMODSEQ MESSAGES)")
        self.assertRegex(out, rb"\(HIGHESTMODSEQ %d MESSAGES 4\)" % m1[1])
        # an unchanged store still answers with FETCH and MODSEQ
        out = a.cmd(b"a10", b"STORE 1 +FLAGS (\\Seen)")
        self.assertIn(b"* 1 FETCH (FLAGS (\\Seen \\Recent) MODSEQ (%d))" % m1[1], out)
        # hostile modifiers
        for bad in (b"FETCH 1 (FLAGS) (CHANGEDSINCE)", b"FETCH 1 (FLAGS) (CHANGEDSINCE 0)",
                    b"FETCH 1 FLAGS (CHANGEDSINCE 1 VANISHED)", b"FETCH 1 FLAGS (BOGUS 1)",
                    b"STORE 1 (UNCHANGEDSINCE x) +FLAGS (\\Seen)",
                    b"STORE 1 (UNCHANGEDSINCE 5 +FLAGS (\\Seen)", b"SELECT INBOX (QRESYNC (1 1))",
                    b"SELECT INBOX (BOGUS)"):
            self.assertIn(b"z BAD", a.cmd(b"z", bad), bad)

    def test_qresync_vanished(self):
        for i in range(6):
            self.deliver(msg(b"m%d" % i))
        a, b = self.raw(), self.raw()
        out = a.cmd(b"a1", b"ENABLE QRESYNC")
        self.assertIn(b"* ENABLED QRESYNC", out)
        out = a.cmd(b"a2", b"SELECT INBOX")
        validity = int(re.search(rb"\[UIDVALIDITY (\d+)\]", out).group(1))
        h0 = int(re.search(rb"\[HIGHESTMODSEQ (\d+)\]", out).group(1))
        a.cmd(b"a3", b"UNSELECT")
        # meanwhile b expunges 2 and 3 and flags 5
        b.cmd(b"b1", b"SELECT INBOX")
        b.cmd(b"b2", b"STORE 2:3 +FLAGS (\\Deleted)")
        b.cmd(b"b3", b"EXPUNGE")
        b.cmd(b"b4", b"STORE 3 +FLAGS (\\Answered)")  # UID 5 is now 3rd
        out = a.cmd(b"a4", b"SELECT INBOX (QRESYNC (%d %d 1:6))" % (validity, h0))
        self.assertIn(b"* VANISHED (EARLIER) 2:3\r\n", out)
        self.assertRegex(out, rb"\* 3 FETCH \(UID 5 FLAGS \(\\Answered\) MODSEQ \(\d+\)\)")
        self.assertEqual(len(re.findall(rb"FETCH", out)), 1)
        # wrong UIDVALIDITY: nothing to resync
        a.cmd(b"a5", b"UNSELECT")
        out = a.cmd(b"a6", b"SELECT INBOX (QRESYNC (%d %d))" % (validity + 1, h0))
        self.assertNotIn(b"VANISHED", out)
        # expunges now come as VANISHED
        b.cmd(b"b5", b"STORE 1 +FLAGS (\\Deleted)")
        b.cmd(b"b6", b"EXPUNGE")
        out = a.cmd(b"a7", b"NOOP")
        self.assertIn(b"* VANISHED 1\r\n", out)
        self.assertNotIn(b"EXPUNGE", out)
        # UID FETCH ... (CHANGEDSINCE n VANISHED)
        out = a.cmd(b"a8", b"UID FETCH 1:* (FLAGS) (CHANGEDSINCE %d VANISHED)" % h0)
        self.assertIn(b"* VANISHED (EARLIER) 1:3\r\n", out)
        self.assertIn(b"a9 BAD", a.cmd(b"a9", b"FETCH 1:* (FLAGS) (CHANGEDSINCE 1 VANISHED)"))
        # the uidlist upgrade: an old E1 list keeps its UIDs
        a.close()
        b.close()

    def test_uidlist_e1_upgraded(self):
        n1 = self.deliver(msg(b"a"))
        n2 = self.deliver(msg(b"b"))
        for n in (n1, n2):
            os.rename(os.path.join(self.maildir, "new", n),
                      os.path.join(self.maildir, "cur", n + ":2,S"))
        with open(os.path.join(self.maildir, "estafette-uidlist"), "w") as f:
            f.write("E1 777 10\n4 %s\n7 %s\n" % (n1, n2))
        r = self.raw()
        out = r.cmd(b"a", b"SELECT INBOX (CONDSTORE)")
        self.assertIn(b"[UIDVALIDITY 777]", out)
        self.assertIn(b"[UIDNEXT 10]", out)
        out = r.cmd(b"b", b"UID FETCH 1:* (MODSEQ)")
        self.assertEqual(self.modseqs(out), {4: 1, 7: 1})
        with open(os.path.join(self.maildir, "estafette-uidlist")) as f:
            text = f.read()
        self.assertTrue(text.startswith("E2 777 10 1 0 10\n"), text)
        self.assertIn("7 1 %s:2,S\n" % n2, text)

    # --- fixes from imaptest's scripted tests ------------------------------------

    def test_imaptest_fixes(self):
        self.deliver(b"From: a@b.c\nContent-Type: message/rfc822\n\n"
                     b"Subject: inner\nFrom: x@y.z\n\nHello world\n")
        self.deliver(b"From: a@b.c\nX-Extra: one\nX-Extra: another\n"
                     b"Date: Mon, 26 Mar 2007 01:00:00 +0300\n\nbody\n")
        r = self.raw()
        r.cmd(b"a", b"SELECT INBOX")
        out = r.cmd(b"b", b"FETCH 1 (BODY.PEEK[1.1] BODY.PEEK[1.HEADER])")
        self.assertIn(b"BODY[1.1] {13}\r\nHello world\r\n", out)
        self.assertIn(b"Subject: inner", out)
        self.assertIn(b"* SEARCH 2\r\n", r.cmd(b"c", b'SEARCH HEADER X-Extra "another"'))
        self.assertIn(b"* SEARCH 2\r\n", r.cmd(b"d", b"SEARCH SENTON 26-Mar-2007"))
        self.assertIn(b"* SEARCH\r\n", r.cmd(b"e", b"SEARCH SENTON 25-Mar-2007"))
        self.assertIn(b"* SEARCH 1 2\r\n", r.cmd(b"f", b"UID SEARCH UID 1:4294967295"))
        self.assertIn(b"g BAD", r.cmd(b"g", b"UID SEARCH UID 1:4294967296"))
        self.assertIn(b"* SEARCH\r\n", r.cmd(b"g2", b"UID SEARCH UID 3:4294967295"))
        self.assertIn(b"* SEARCH 2\r\n", r.cmd(b"g3", b"UID SEARCH UID 3:*"))
        self.assertIn(b"g4 BAD", r.cmd(b"g4", b"FETCH 4294967295 FLAGS"))
        out = r.cmd(b"h", b"STORE 1 +FLAGS ($kw1)")
        self.assertRegex(out, rb"\* FLAGS \([^)]*\$kw1\)\r\n\* OK \[PERMANENTFLAGS [^\r]*\r\n"
                              rb"\* 1 FETCH \(FLAGS \(\$kw1")
        self.assertNotIn(b"* FLAGS", r.cmd(b"i", b"STORE 2 +FLAGS ($kw1)"))
        # a message file removed under the session: FETCH answers OK without it
        os.unlink(os.path.join(self.maildir, "cur", os.listdir(os.path.join(self.maildir, "cur"))[0]))
        out = r.cmd(b"j", b"FETCH 1:2 BODY.PEEK[]")
        self.assertIn(b"j NO [EXPUNGEISSUED]", out)
        self.assertEqual(out.count(b"FETCH (BODY[]"), 1, out)
        # an over-long line after a literal: the command gets its tagged BAD
        r.send(b"k APPEND INBOX {3}\r\n")
        self.assertTrue(r.line().startswith(b"+ "))
        r.send(b"abc" + b"x" * 70000 + b"\r\n")
        self.assertIn(b"k BAD Line too long", r.until_tag(b"k"))
        self.assertIn(b"l OK", r.cmd(b"l", b"NOOP"))
        # FROM also matches the canonical address of an obsolete form
        self.deliver(b"From: <user-from (comment)@ (comment) domain.org>\n\nx\n")
        r.cmd(b"m", b"NOOP")
        self.assertIn(b"* SEARCH 3\r\n", r.cmd(b"n", b"UID SEARCH FROM user-from@domain.org"))

    def test_recent_claimed_by_one_selecting_session(self):
        r = self.raw()
        r.cmd(b"a", b"CREATE INBOX.box2")
        for t in (b"b", b"c"):
            r.send(t + b" APPEND INBOX {6+}\r\nx: y\r\n\r\n")
            self.assertIn(t + b" OK", r.until_tag(t))
        self.assertIn(b"* 2 RECENT", r.cmd(b"d", b"EXAMINE INBOX"))
        self.assertIn(b"RECENT 2)", r.cmd(b"e", b"STATUS INBOX (RECENT)"))
        out = r.cmd(b"f", b"SELECT INBOX")
        self.assertIn(b"* 2 RECENT", out)
        self.assertIn(b"* 2 SEARCH 1 2\r\n".replace(b"* 2 ", b"* "), r.cmd(b"g", b"SEARCH RECENT"))
        r2 = self.raw()
        self.assertIn(b"* 0 RECENT", r2.cmd(b"h", b"SELECT INBOX"))
        self.assertIn(b"* 0 RECENT", r2.cmd(b"i", b"SELECT INBOX.box2"))
        r.cmd(b"j", b"COPY 1:2 INBOX.box2")
        out = r2.cmd(b"k", b"NOOP")
        self.assertIn(b"* 2 EXISTS", out)
        self.assertIn(b"* 2 RECENT", out)
        self.assertIn(b"\\Recent", r2.cmd(b"l", b"FETCH 1 FLAGS"))

    def test_lsub_percent_gives_noselect_parents(self):
        r = self.raw()
        for n in (b"INBOX.a", b"INBOX.a.b", b"INBOX.a.b.c", b"INBOX.x"):
            r.cmd(b"c", b"CREATE " + n)
        r.cmd(b"d", b"SUBSCRIBE INBOX.a.b.c")
        r.cmd(b"e", b"SUBSCRIBE INBOX.x")
        out = r.cmd(b"f", b'LSUB "" "INBOX.%"')
        self.assertIn(b'* LSUB (\\Noselect) "." INBOX.a\r\n', out)
        self.assertIn(b'* LSUB () "." INBOX.x\r\n', out)
        self.assertNotIn(b"INBOX.a.b", out)
        out = r.cmd(b"g", b'LSUB "" "INBOX.*"')
        self.assertIn(b'* LSUB () "." INBOX.a.b.c\r\n', out)
        self.assertNotIn(b"Noselect", out)

    def test_childinfo_only_for_unlisted_children(self):
        r = self.raw()
        for n in (b"INBOX.t2", b"INBOX.t2.t1"):
            r.cmd(b"c", b"CREATE " + n)
        r.cmd(b"d", b"SUBSCRIBE INBOX.t2.t1")
        out = r.cmd(b"e", b'LIST (SUBSCRIBED RECURSIVEMATCH) "" (INBOX.t2 INBOX.t2.t1)')
        self.assertNotIn(b"CHILDINFO", out)
        self.assertIn(b'INBOX.t2.t1\r\n', out)
        out = r.cmd(b"f", b'LIST (SUBSCRIBED RECURSIVEMATCH) "" INBOX.t2')
        self.assertIn(b'INBOX.t2 ("CHILDINFO" ("SUBSCRIBED"))', out)

    def test_thread_references_breaks_old_parent(self):
        self.deliver(b"Message-ID: <a@b>\nSubject: first\nDate: Sun, 22 Nov 2026 01:00:00 +0000\n\nx\n")
        self.deliver(b"Message-ID: <b@b>\nReferences: <a@b> <c@b>\nSubject: second\n"
                     b"Date: Sun, 22 Nov 2026 02:00:00 +0000\n\nx\n")
        self.deliver(b"Message-ID: <c@b>\nReferences: <b@b>\nSubject: third\n"
                     b"Date: Sun, 22 Nov 2026 03:00:00 +0000\n\nx\n")
        r = self.raw()
        r.cmd(b"a", b"SELECT INBOX")
        out = r.cmd(b"b", b"THREAD REFERENCES US-ASCII ALL")
        self.assertIn(b"* THREAD (3 2)(1)\r\n", out.replace(b"(1)(3 2)", b"(3 2)(1)"))

    def test_binary_append_literal8(self):
        r = self.raw()
        # not advertised: a binary body with bare LFs does not come back byte-exact
        self.assertNotIn(b" BINARY ", r.cmd(b"a", b"CAPABILITY"))
        data = b"Subject: bin\r\nContent-Transfer-Encoding: binary\r\n\r\n\x00\x01\xff\r\n"
        r.send(b"b APPEND INBOX ~{%d+}\r\n" % len(data) + data + b"\r\n")
        self.assertIn(b"b OK [APPENDUID", r.until_tag(b"b"))
        r.cmd(b"c", b"SELECT INBOX")
        out = r.cmd(b"d", b"FETCH 1 (BINARY.PEEK[1] BINARY.SIZE[1])")
        self.assertIn(b"BINARY[1] ~{5}\r\n\x00\x01\xff\r\n", out)
        self.assertIn(b"BINARY.SIZE[1] 5", out)
        out = r.cmd(b"d2", b"FETCH 1 BODY.PEEK[1]")
        self.assertIn(b"BODY[1] {5}\r\n\x80\x01\xff\r\n", out)  # no NUL in a literal
        self.assertIn(b"e BAD", r.cmd(b"e", b"APPEND INBOX ~x"))

    def test_empty_subtype_bodystructure(self):
        # fuzz finding: an empty string went out through NULL + 0 (UBSan)
        self.deliver(b"From: a@b.c\nContent-Type: multipart/; boundary=XX\n\n"
                     b"--XX\nContent-Type: text/;\n\nbody\n--XX--\n")
        self.deliver(b"From: a@b.c\nContent-Type: /\n\nbody\n")
        r = self.raw()
        r.cmd(b"a", b"EXAMINE INBOX")
        out = r.cmd(b"b", b"FETCH 1:2 (BODYSTRUCTURE BODY)")
        self.assertEqual(out.count(b"BODYSTRUCTURE ("), 2, out)
        self.assertIn(b"b OK", out)

    # --- names outside INBOX., address groups, MULTIAPPEND ----------------------

    def test_top_level_names_and_courier_names(self):
        r = self.raw()
        self.assertIn(b'* NAMESPACE (("" ".")) NIL NIL', r.cmd(b"n", b"NAMESPACE"))
        self.assertIn(b"c OK", r.cmd(b"c", b"CREATE Projects"))
        self.assertIn(b"d OK", r.cmd(b"d", b"CREATE INBOX.Projects.2026"))
        self.assertTrue(os.path.isdir(os.path.join(self.maildir, ".Projects", "cur")))
        self.assertTrue(os.path.isdir(os.path.join(self.maildir, ".Projects.2026", "cur")))
        # one folder, two spellings: the second CREATE finds it there
        self.assertIn(b"e NO", r.cmd(b"e", b"CREATE INBOX.Projects"))
        out = r.cmd(b"f", b'LIST "" "*"')
        self.assertIn(b'* LIST (\\HasNoChildren) "." INBOX\r\n', out)
        self.assertIn(b'* LIST (\\HasChildren) "." Projects\r\n', out)
        self.assertIn(b'* LIST (\\HasNoChildren) "." Projects.2026\r\n', out)
        self.assertNotIn(b"INBOX.Projects", out)
        # a client set up for Courier's namespace lists and gets its own form
        out = r.cmd(b"g", b'LIST "" "INBOX.%"')
        self.assertIn(b'* LIST (\\HasChildren) "." INBOX.Projects\r\n', out)
        self.assertNotIn(b" Projects\r\n", out)
        self.assertIn(b'"." INBOX\r\n', r.cmd(b"h", b'LIST "" "%"'))
        self.assertNotIn(b"Projects.2026", r.cmd(b"i", b'LIST "" "%"'))
        # either spelling selects, appends, renames and deletes the same folder
        r.cmd(b"j", b"APPEND INBOX.Projects {4}\r\nhi\r\n")
        self.assertIn(b"* 1 EXISTS", r.cmd(b"k", b"SELECT Projects"))
        self.assertIn(b"STATUS INBOX.Projects (MESSAGES 1)",
                      r.cmd(b"l", b"STATUS INBOX.Projects (MESSAGES)"))
        self.assertIn(b"STATUS Projects (MESSAGES 1)", r.cmd(b"m", b"STATUS Projects (MESSAGES)"))
        r.cmd(b"o", b"UNSELECT")
        self.assertIn(b"p OK", r.cmd(b"p", b"RENAME Projects.2026 INBOX.Archive"))
        self.assertTrue(os.path.isdir(os.path.join(self.maildir, ".Archive")))
        self.assertIn(b"q OK", r.cmd(b"q", b"DELETE Archive"))
        # subscriptions keep Courier's form on disk and show as the pattern asks
        r.cmd(b"s", b"SUBSCRIBE Projects")
        with open(os.path.join(self.maildir, "courierimapsubscribed")) as f:
            self.assertEqual(f.read(), "INBOX.Projects\n")
        self.assertIn(b'* LSUB () "." Projects\r\n', r.cmd(b"t", b'LSUB "" "*"'))
        self.assertIn(b'* LSUB () "." INBOX.Projects\r\n', r.cmd(b"u", b'LSUB "" "INBOX.*"'))
        # what stays refused in either form
        for bad in (b"..", b"a..b", b".hidden", b"x/y", b"tmp", b"INBOX.INBOX", b"Inbox.",
                    b"&Jjo", b"new.x"):
            self.assertIn(b"v NO", r.cmd(b"v", b'CREATE "' + bad + b'"'), bad)
        names = sorted(os.listdir(self.maildir))
        self.assertEqual([n for n in names if n.startswith(".")], [".Projects"])

    def test_envelope_groups_and_routes(self):
        self.deliver(b"From: <@route.example:user@domain.example>\nSender: \nReply-To: \n"
                     b"To: group: g1@d1.org, g2@d2.org;, group2: g3@d3.org;\n"
                     b"Cc: undisclosed-recipients:;\nSubject: g\n\nbody\n")
        r = self.raw()
        r.cmd(b"s", b"SELECT INBOX")
        out = r.cmd(b"f", b"FETCH 1 ENVELOPE")
        frm = b'((NIL "@route.example" "user" "domain.example"))'
        self.assertIn(b'NIL "g" ' + frm + b" " + frm + b" " + frm + b" "
                      b'((NIL NIL "group" NIL)(NIL NIL "g1" "d1.org")(NIL NIL "g2" "d2.org")'
                      b'(NIL NIL NIL NIL)(NIL NIL "group2" NIL)(NIL NIL "g3" "d3.org")'
                      b'(NIL NIL NIL NIL)) '
                      b'((NIL NIL "undisclosed-recipients" NIL)(NIL NIL NIL NIL)) NIL', out)

    def test_multiappend(self):
        r = self.raw()
        self.assertIn(b"MULTIAPPEND", r.cmd(b"a", b"CAPABILITY"))
        out = r.cmd(b"b", b'APPEND INBOX (\\Seen) {8}\r\nSubject:'
                    b' "01-Jan-2020 10:00:00 +0000" {7}\r\nabcdefg {3}\r\nz\r\n')
        self.assertRegex(out, rb"b OK \[APPENDUID \d+ 1:3\]")
        self.assertEqual(len(os.listdir(os.path.join(self.maildir, "cur"))), 3)
        # a bad second message: nothing of the command is stored
        out = r.cmd(b"c", b'APPEND INBOX {3}\r\nabc "31-Feb-2020 10:00:00 +0000" {3}\r\ndef')
        self.assertIn(b"c BAD", out)
        out = r.cmd(b"d", b"APPEND INBOX {3}\r\nabc {3}\r\ndef garbage")
        self.assertIn(b"d BAD", out)
        self.assertEqual(len(os.listdir(os.path.join(self.maildir, "cur"))), 3)
        r.cmd(b"e", b"SELECT INBOX")
        out = r.cmd(b"f", b"FETCH 1:3 (FLAGS INTERNALDATE)")
        self.assertIn(b"1 FETCH (FLAGS (\\Seen \\Recent)", out)
        self.assertIn(b'2 FETCH (FLAGS (\\Recent) INTERNALDATE " 1-Jan-2020 10:00:00 +0000"', out)

    def test_own_flag_changes_need_no_rescan(self):
        self.deliver(msg(b"one"))
        self.deliver(msg(b"two"))
        a, b = self.raw(), self.raw()
        a.cmd(b"a1", b"SELECT INBOX")
        b.cmd(b"b1", b"SELECT INBOX")
        a.cmd(b"a0", b"NOOP")  # both have seen the folder as it is now
        b.cmd(b"b0", b"NOOP")
        uidlist = os.path.join(self.maildir, "estafette-uidlist")
        with open(uidlist, "rb") as f:
            before = f.read()
        self.assertIn(b"* 1 FETCH (FLAGS (\\Flagged", a.cmd(b"a2", b"STORE 1 +FLAGS (\\Flagged)"))
        # the session that renamed does not scan the folder again for it ...
        a.cmd(b"a3", b"NOOP")
        with open(uidlist, "rb") as f:
            self.assertEqual(f.read(), before)
        # ... every other session does, and so the uid list learns the new name
        self.assertIn(b"* 1 FETCH (FLAGS (\\Flagged", b.cmd(b"b2", b"NOOP"))
        with open(uidlist, "rb") as f:
            self.assertIn(b":2,F", f.read())
        # a change by the other session still reaches the first one
        b.cmd(b"b3", b"STORE 2 +FLAGS (\\Seen)")
        self.assertIn(b"* 2 FETCH (FLAGS (\\Seen", a.cmd(b"a4", b"NOOP"))
        # with CONDSTORE the modseq is owed at once: the folder is scanned
        a.cmd(b"a5", b"ENABLE CONDSTORE")
        out = a.cmd(b"a6", b"STORE 1 -FLAGS (\\Flagged)")
        self.assertRegex(out, rb"\* 1 FETCH \(FLAGS \([^)F]*\) MODSEQ \(\d+\)\)")
