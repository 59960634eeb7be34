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
