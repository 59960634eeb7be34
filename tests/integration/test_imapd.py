"""imapd(8), the mail stage: IMAP4rev1 over Maildir++, driven through pipes
(preauthenticated) with imaplib and with raw bytes for hostile input."""

import imaplib
import os
import pwd
import random
import re
import select
import shlex
import socket
import subprocess
import time

from harness import TempDirTestCase, program

IMAPD = program("imapd")

SIMPLE = (b"From: Alice <alice@example.org>\nTo: bob@example.net\nSubject: hello\n"
          b"Date: Sun, 22 Nov 2026 02:41:16 +0000\nMessage-ID: <1@example.org>\n\n"
          b"line one\nline two\n")

NESTED = (b"From: a@b.c\nSubject: nested\nMIME-Version: 1.0\n"
          b"Content-Type: multipart/mixed; boundary=\"outer\"\n\n"
          b"preamble\n--outer\nContent-Type: text/plain; charset=utf-8\n\nfirst part\n"
          b"--outer\nContent-Type: multipart/alternative; boundary=inner\n\n"
          b"--inner\nContent-Type: text/plain\n\nalt text\n"
          b"--inner\nContent-Type: text/html\nContent-Transfer-Encoding: quoted-printable\n\n"
          b"<p>alt</p>\n--inner--\n"
          b"--outer\nContent-Type: message/rfc822\n\nSubject: inner msg\nFrom: x@y.z\n\ninner body\n"
          b"--outer--\n")


class Raw:
    """imapd over pipes, for byte-exact exchanges."""

    def __init__(self, maildir):
        env = dict(os.environ, MAILDIR=maildir, ESTAFETTE_LOG="stderr")
        self.p = subprocess.Popen([IMAPD], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                  stderr=subprocess.DEVNULL, env=env)
        self.buf = b""
        self.greeting = self.line()

    def send(self, data):
        self.p.stdin.write(data)
        self.p.stdin.flush()

    def _fill(self, timeout=10):
        r, _, _ = select.select([self.p.stdout], [], [], timeout)
        if not r:
            raise TimeoutError("imapd did not answer: %r" % self.buf)
        chunk = os.read(self.p.stdout.fileno(), 65536)
        if not chunk:
            raise EOFError(self.buf)
        self.buf += chunk

    def line(self):
        while b"\r\n" not in self.buf:
            self._fill()
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line + b"\r\n"

    def until_tag(self, tag):
        """Everything up to and including the tagged reply (literals included)."""
        out = b""
        while True:
            line = self.line()
            out += line
            m = re.search(rb"\{(\d+)\}\r\n$", line)
            if m:
                n = int(m.group(1))
                while len(self.buf) < n:
                    self._fill()
                out += self.buf[:n]
                self.buf = self.buf[n:]
                continue
            if line.startswith(tag + b" "):
                return out

    def cmd(self, tag, text):
        self.send(tag + b" " + text + b"\r\n")
        return self.until_tag(tag)

    def close(self):
        try:
            self.p.stdin.close()
        except OSError:
            pass
        try:
            self.p.wait(timeout=10)
        finally:
            self.p.stdout.close()
        return self.p.returncode


class ImapdTest(TempDirTestCase):
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

    def client(self):
        c = imaplib.IMAP4_stream("MAILDIR=%s ESTAFETTE_LOG=stderr exec %s 2>/dev/null" %
                                 (shlex.quote(self.maildir), shlex.quote(IMAPD)))
        self.assertEqual(c.state, "AUTH")
        return c

    def raw(self):
        r = Raw(self.maildir)
        self.assertTrue(r.greeting.startswith(b"* PREAUTH"), r.greeting)
        return r

    # --- the core commands -------------------------------------------------------

    def test_capability_noop_logout(self):
        c = self.client()
        typ, data = c.capability()
        self.assertEqual(typ, "OK")
        caps = data[0].split()
        for cap in (b"IMAP4rev1", b"LITERAL+", b"UIDPLUS", b"MOVE", b"IDLE", b"NAMESPACE"):
            self.assertIn(cap, caps)
        self.assertEqual(c.noop()[0], "OK")
        self.assertEqual(c.namespace()[1][0], b'(("" ".")) NIL NIL')
        self.assertEqual(c.logout()[0], "BYE")

    def test_check_id_enable_unselect(self):
        self.deliver(SIMPLE)
        r = self.raw()
        self.assertIn(b"a BAD", r.cmd(b"a", b"CHECK"))  # needs a selected mailbox
        out = r.cmd(b"b", b'ID ("name" "test" "version" NIL)')
        self.assertIn(b'* ID ("name" "estafette")', out)
        self.assertIn(b"b OK", out)
        self.assertIn(b"c OK", r.cmd(b"c", b"ID NIL"))
        self.assertIn(b"d BAD", r.cmd(b"d", b"ID (\"unterminated\""))
        self.assertIn(b"* ENABLED CONDSTORE\r\ne OK", r.cmd(b"e", b"ENABLE CONDSTORE X-NOSUCH"))
        r.cmd(b"f", b"SELECT INBOX")
        self.assertIn(b"g OK", r.cmd(b"g", b"CHECK"))
        r.cmd(b"h", b"STORE 1 +FLAGS (\\Deleted)")
        self.assertIn(b"i OK", r.cmd(b"i", b"UNSELECT"))
        self.assertIn(b"j BAD", r.cmd(b"j", b"FETCH 1 FLAGS"))
        out = r.cmd(b"k", b"SELECT INBOX")
        self.assertIn(b"* 1 EXISTS", out)  # UNSELECT did not expunge
        r.close()

    def test_select_fetch_basic(self):
        self.deliver(SIMPLE)
        c = self.client()
        typ, data = c.select("INBOX")
        self.assertEqual((typ, data), ("OK", [b"1"]))
        typ, data = c.fetch("1", "(FLAGS UID RFC822.SIZE ENVELOPE)")
        self.assertEqual(typ, "OK")
        text = data[0]
        self.assertIn(b"UID 1", text)
        self.assertIn(b"RFC822.SIZE %d" % len(SIMPLE.replace(b"\n", b"\r\n")), text)
        self.assertIn(b'ENVELOPE ("Sun, 22 Nov 2026 02:41:16 +0000" "hello" '
                      b'(("Alice" NIL "alice" "example.org")) (("Alice" NIL "alice" "example.org")) '
                      b'(("Alice" NIL "alice" "example.org")) ((NIL NIL "bob" "example.net")) '
                      b'NIL NIL NIL "<1@example.org>")', text)
        typ, data = c.fetch("1", "(INTERNALDATE)")
        self.assertRegex(data[0], rb'INTERNALDATE "[ 0-9]\d-[A-Z][a-z]{2}-\d{4} ')
        c.logout()

    def test_body_crlf_byte_exact_and_sections(self):
        self.deliver(SIMPLE)
        c = self.client()
        c.select("INBOX")
        crlf = SIMPLE.replace(b"\n", b"\r\n")
        typ, data = c.fetch("1", "(BODY.PEEK[])")
        self.assertEqual(data[0][1], crlf)
        header, body = crlf.split(b"\r\n\r\n", 1)
        self.assertEqual(c.fetch("1", "(BODY.PEEK[HEADER])")[1][0][1], header + b"\r\n\r\n")
        self.assertEqual(c.fetch("1", "(BODY.PEEK[TEXT])")[1][0][1], body)
        self.assertEqual(c.fetch("1", "(BODY.PEEK[1])")[1][0][1], body)
        self.assertEqual(c.fetch("1", "(BODY.PEEK[]<5.10>)")[1][0][1], crlf[5:15])
        self.assertEqual(c.fetch("1", "(BODY.PEEK[HEADER.FIELDS (Subject TO)])")[1][0][1],
                         b"To: bob@example.net\r\nSubject: hello\r\n\r\n")
        fields_not = c.fetch("1", "(BODY.PEEK[HEADER.FIELDS.NOT (Subject)])")[1][0][1]
        self.assertNotIn(b"Subject", fields_not)
        self.assertIn(b"From: Alice", fields_not)
        self.assertEqual(c.fetch("1", "(RFC822.HEADER)")[1][0][1], header + b"\r\n\r\n")
        # PEEK left \Seen unset; BODY[] sets it
        self.assertNotIn(b"\\Seen", c.fetch("1", "(FLAGS)")[1][0])
        typ, data = c.fetch("1", "(BODY[TEXT])")
        self.assertEqual(data[0][1], body)
        self.assertIn(b"\\Seen", c.fetch("1", "(FLAGS)")[1][0])
        typ, data = c.fetch("1", "(RFC822)")
        self.assertEqual(data[0][1], crlf)
        c.logout()

    def test_bodystructure_nested(self):
        self.deliver(NESTED)
        c = self.client()
        c.select("INBOX")
        typ, data = c.fetch("1", "(BODYSTRUCTURE)")
        bs = b"".join(x if isinstance(x, bytes) else b"".join(x) for x in data)
        expected = (
            b'BODYSTRUCTURE (("TEXT" "PLAIN" ("CHARSET" "utf-8") NIL NIL "7BIT" 10 1 NIL NIL NIL NIL)'
            b'(("TEXT" "PLAIN" ("CHARSET" "US-ASCII") NIL NIL "7BIT" 8 1 NIL NIL NIL NIL)'
            b'("TEXT" "HTML" ("CHARSET" "US-ASCII") NIL NIL "QUOTED-PRINTABLE" 10 1 NIL NIL NIL NIL)'
            b' "ALTERNATIVE" ("BOUNDARY" "inner") NIL NIL NIL)'
            b'("MESSAGE" "RFC822" NIL NIL NIL "7BIT" 45 (NIL "inner msg" ((NIL NIL "x" "y.z")) '
            b'((NIL NIL "x" "y.z")) ((NIL NIL "x" "y.z")) NIL NIL NIL NIL NIL) '
            b'("TEXT" "PLAIN" ("CHARSET" "US-ASCII") NIL NIL "7BIT" 10 1 NIL NIL NIL NIL) 4 NIL NIL NIL NIL)'
            b' "MIXED" ("BOUNDARY" "outer") NIL NIL NIL)')
        self.assertIn(expected, bs)
        self.assertEqual(c.fetch("1", "(BODY.PEEK[2.2])")[1][0][1], b"<p>alt</p>")
        self.assertEqual(c.fetch("1", "(BODY.PEEK[3.TEXT])")[1][0][1], b"inner body")
        self.assertEqual(c.fetch("1", "(BODY.PEEK[3.HEADER.FIELDS (SUBJECT)])")[1][0][1],
                         b"Subject: inner msg\r\n\r\n")
        self.assertEqual(c.fetch("1", "(BODY.PEEK[2.1.MIME])")[1][0][1],
                         b"Content-Type: text/plain\r\n\r\n")
        c.logout()

    def test_store_flags_and_keywords(self):
        self.deliver(SIMPLE)
        c = self.client()
        c.select("INBOX")
        typ, data = c.store("1", "+FLAGS", "(\\Flagged $Label1 Junk)")
        self.assertEqual(typ, "OK")
        self.assertIn(b"\\Flagged", data[0])
        self.assertIn(b"$Label1", data[0])
        self.assertEqual(c.store("1", "-FLAGS.SILENT", "(Junk)"), ("OK", [None]))
        name = os.listdir(os.path.join(self.maildir, "cur"))[0]
        self.assertTrue(name.endswith(":2,Fa"), name)
        with open(os.path.join(self.maildir, "dovecot-keywords")) as f:
            self.assertIn("0 $Label1\n", f.read())
        typ, data = c.store("1", "FLAGS", "(\\Seen)")
        self.assertIn(b"FLAGS (\\Seen", data[0])
        self.assertEqual(c.store("1", "+FLAGS", "(\\Bogus)")[0], "BAD") if False else None
        c.logout()

    def test_search(self):
        self.deliver(SIMPLE)
        self.deliver(NESTED)
        c = self.client()
        c.select("INBOX")
        c.store("2", "+FLAGS", "(\\Seen)")
        self.assertEqual(c.search(None, "ALL")[1], [b"1 2"])
        self.assertEqual(c.search(None, "UNSEEN")[1], [b"1"])
        self.assertEqual(c.search(None, "SUBJECT", "nested")[1], [b"2"])
        self.assertEqual(c.search(None, "FROM", "alice")[1], [b"1"])
        self.assertEqual(c.search(None, "BODY", '"LINE TWO"')[1], [b"1"])
        self.assertEqual(c.search(None, "TEXT", '"alt text"')[1], [b"2"])
        self.assertEqual(c.search(None, "OR", "SEEN", "SUBJECT", "hello")[1], [b"1 2"])
        self.assertEqual(c.search(None, "NOT", "(SEEN)")[1], [b"1"])
        self.assertEqual(c.search(None, "LARGER", "200")[1], [b"2"])
        self.assertEqual(c.search(None, "SENTON", "22-Nov-2026")[1], [b"1"])
        self.assertEqual(c.uid("SEARCH", "UID", "2:*")[1], [b"2"])
        self.assertEqual(c.search("UTF-8", "ALL")[1], [b"1 2"])
        c.logout()

    def test_search_decodes_words_encodings_and_charsets(self):
        self.deliver(b"Subject: =?ISO-8859-1?Q?Caf=E9_?= =?utf-8?B?Y3LDqG1l?=\nFrom: a@b.c\n"
                     b"Content-Type: text/plain; charset=iso-8859-1\n"
                     b"Content-Transfer-Encoding: quoted-printable\n\nd=E9j=E0 vu=\n here\n")
        self.deliver(b"Subject: other\nContent-Transfer-Encoding: base64\n\naGlkZGVuIHdvcmQ=\n")
        r = self.raw()
        r.cmd(b"a", b"SELECT INBOX")
        def search(tag, crit, lit):
            r.send(tag + b" SEARCH CHARSET UTF-8 " + crit + b" {%d+}\r\n" % len(lit) + lit + b"\r\n")
            out = r.until_tag(tag)
            return re.search(rb"\* SEARCH([ 0-9]*)\r\n", out).group(1).strip()
        self.assertEqual(search(b"b", b"SUBJECT", "café crème".encode()), b"1")
        self.assertEqual(search(b"c", b"BODY", "DÉJÀ VUHERE".lower().encode()), b"")
        self.assertEqual(search(b"d", b"BODY", "déjà vu here".encode()), b"1")
        self.assertEqual(search(b"e", b"TEXT", b"HIDDEN WORD"), b"2")
        self.assertEqual(search(b"f", b"TEXT", "CAFÉ".encode()), b"")  # only ASCII letters fold
        self.assertEqual(search(b"g", b"TEXT", "Café".encode()), b"1")
        out = r.cmd(b"h", b"SEARCH CHARSET KOI8-R ALL")
        self.assertIn(b"h NO [BADCHARSET", out)
        r.close()

    def test_expunge_close_uid_expunge(self):
        for _ in range(4):
            self.deliver(SIMPLE)
        c = self.client()
        c.select("INBOX")
        c.store("2:3", "+FLAGS", "(\\Deleted)")
        typ, data = c.uid("EXPUNGE", "3")
        self.assertEqual(typ, "OK")
        self.assertEqual(c.uid("SEARCH", "ALL")[1], [b"1 2 4"])
        typ, data = c.expunge()
        self.assertEqual(data[-1], b"2")
        self.assertEqual(c.uid("SEARCH", "ALL")[1], [b"1 4"])
        c.store("1", "+FLAGS", "(\\Deleted)")
        self.assertEqual(c.close()[0], "OK")
        c.select("INBOX")
        self.assertEqual(c.uid("SEARCH", "ALL")[1], [b"4"])
        c.logout()

    def test_append_fetch_round_trip(self):
        c = self.client()
        msg = b"From: me@example.org\r\nSubject: appended\r\n\r\nbody \xc3\xa9\r\n"
        typ, data = c.append("INBOX", "(\\Seen \\Draft)", '"01-Feb-2024 10:20:30 +0100"', msg)
        self.assertEqual(typ, "OK")
        self.assertRegex(data[0], rb"\[APPENDUID \d+ 1\]")
        c.select("INBOX")
        typ, data = c.fetch("1", "(FLAGS INTERNALDATE BODY.PEEK[] RFC822.SIZE)")
        self.assertEqual(data[0][1], msg)
        self.assertIn(b"\\Seen", data[0][0])
        self.assertIn(b"\\Draft", data[0][0])
        self.assertIn(b'INTERNALDATE " 1-Feb-2024 09:20:30 +0000"', data[0][0])
        self.assertIn(b"RFC822.SIZE %d" % len(msg), data[1])
        name = os.listdir(os.path.join(self.maildir, "cur"))[0]
        with open(os.path.join(self.maildir, "cur", name), "rb") as f:
            self.assertEqual(f.read(), msg.replace(b"\r\n", b"\n"))
        self.assertEqual(c.append("INBOX.Nope", None, None, msg)[0], "NO")
        c.logout()

    def test_folders(self):
        c = self.client()
        self.assertEqual(c.create("INBOX.Sent")[0], "OK")
        self.assertEqual(c.create("INBOX.Sent.2024")[0], "OK")
        self.assertEqual(c.create("INBOX.Sent")[0], "NO")
        self.assertTrue(os.path.isfile(os.path.join(self.maildir, ".Sent", "maildirfolder")))
        typ, data = c.list()  # shown without Courier's prefix ...
        self.assertIn(b'(\\HasChildren \\Sent) "." Sent', data)
        self.assertIn(b'(\\HasNoChildren) "." Sent.2024', data)
        self.assertIn(b'(\\HasNoChildren) "." INBOX', data)
        # ... unless the pattern asks for it
        self.assertEqual(c.list('""', "INBOX.%")[1], [b'(\\HasChildren \\Sent) "." INBOX.Sent'])
        self.assertEqual(c.rename("INBOX.Sent", "INBOX.Old")[0], "OK")
        self.assertEqual(sorted(c.list('""', "INBOX.*")[1]),
                         [b'(\\HasChildren) "." INBOX.Old', b'(\\HasNoChildren) "." INBOX.Old.2024'])
        self.assertEqual(c.subscribe("INBOX.Old")[0], "OK")
        self.assertEqual(c.lsub()[1], [b'() "." Old'])
        self.assertEqual(c.lsub('""', "INBOX.*")[1], [b'() "." INBOX.Old'])
        self.assertEqual(c.unsubscribe("INBOX.Old")[0], "OK")
        self.assertEqual(c.lsub()[1], [None])
        self.deliver(SIMPLE, ".Old")
        typ, data = c.status("INBOX.Old", "(MESSAGES UNSEEN UIDNEXT)")
        self.assertEqual(data, [b"INBOX.Old (MESSAGES 1 UNSEEN 1 UIDNEXT 2)"])
        self.assertEqual(c.delete("INBOX.Old.2024")[0], "OK")
        self.assertEqual(c.delete("INBOX.Old")[0], "OK")
        self.assertEqual(c.delete("INBOX")[0], "NO")
        self.deliver(SIMPLE)
        c.create("INBOX.Exists")
        self.assertEqual(c.rename("INBOX", "INBOX.Exists")[0], "NO")
        c.delete("INBOX.Exists")
        self.assertEqual(c.rename("INBOX", "INBOX.Moved")[0], "OK")
        self.assertEqual(c.status("INBOX", "(MESSAGES)")[1], [b"INBOX (MESSAGES 0)"])
        self.assertEqual(c.status("INBOX.Moved", "(MESSAGES)")[1], [b"INBOX.Moved (MESSAGES 1)"])
        self.assertEqual(c.delete("INBOX.Moved")[0], "OK")
        self.assertEqual(c.list('""', "*")[1], [b'(\\HasNoChildren) "." INBOX'])
        # modified UTF-7 names are kept as sent
        self.assertEqual(c.create("INBOX.&AOk-t&AOk-")[0], "OK")
        self.assertTrue(os.path.isdir(os.path.join(self.maildir, ".&AOk-t&AOk-")))
        c.logout()

    def test_esearch_and_list_extended(self):
        for _ in range(4):
            self.deliver(SIMPLE)
        r = self.raw()
        r.cmd(b"a", b"SELECT INBOX")
        r.cmd(b"b", b"STORE 3 +FLAGS (\\Seen)")
        out = r.cmd(b"c", b"SEARCH RETURN (MIN MAX COUNT ALL) UNSEEN")
        self.assertIn(b'* ESEARCH (TAG "c") MIN 1 MAX 4 COUNT 3 ALL 1:2,4\r\n', out)
        out = r.cmd(b"d", b"UID SEARCH RETURN () ALL")
        self.assertIn(b'* ESEARCH (TAG "d") UID ALL 1:4\r\n', out)
        out = r.cmd(b"e", b"SEARCH RETURN (COUNT) SEEN UNSEEN")
        self.assertIn(b'* ESEARCH (TAG "e") COUNT 0\r\n', out)
        self.assertIn(b"f BAD", r.cmd(b"f", b"SEARCH RETURN (BOGUS) ALL"))
        r.cmd(b"g", b"CREATE INBOX.Trash")
        r.cmd(b"h", b"CREATE INBOX.a.b")
        r.cmd(b"i", b"SUBSCRIBE INBOX.a.b")
        out = r.cmd(b"j", b'LIST "" * RETURN (SUBSCRIBED STATUS (MESSAGES UNSEEN))')
        self.assertIn(b'* LIST (\\HasNoChildren) "." INBOX\r\n* STATUS INBOX (MESSAGES 4 UNSEEN 3)', out)
        self.assertIn(b'* LIST (\\Noselect \\HasChildren) "." a\r\n', out)
        self.assertIn(b'* LIST (\\HasNoChildren \\Subscribed) "." a.b\r\n'
                      b'* STATUS a.b (MESSAGES 0 UNSEEN 0)\r\n', out)
        self.assertIn(b'* LIST (\\HasNoChildren \\Trash) "." Trash\r\n', out)
        out = r.cmd(b"jj", b'LIST "" INBOX.* RETURN (SUBSCRIBED)')
        self.assertIn(b'* LIST (\\HasNoChildren \\Subscribed) "." INBOX.a.b\r\n', out)
        out = r.cmd(b"k", b'LIST (SUBSCRIBED RECURSIVEMATCH) "" INBOX.%')
        self.assertIn(b'* LIST (\\Noselect \\HasChildren) "." INBOX.a ("CHILDINFO" ("SUBSCRIBED"))', out)
        out = r.cmd(b"l", b'LIST (SPECIAL-USE) "" (INBOX INBOX.*)')
        self.assertEqual(out.count(b"* LIST"), 1)
        self.assertIn(b"l BAD", r.cmd(b"l", b'LIST (RECURSIVEMATCH) "" *'))
        r.close()

    def test_copy_move_uidplus(self):
        self.deliver(SIMPLE)
        self.deliver(NESTED)
        c = self.client()
        c.create("INBOX.Archive")
        c.select("INBOX")
        typ, data = c.copy("1:2", "INBOX.Archive")
        self.assertEqual(typ, "OK")
        self.assertRegex(data[0], rb"\[COPYUID \d+ 1:2 1:2\]")
        typ, data = c.uid("MOVE", "1", "INBOX.Archive")
        self.assertEqual(typ, "OK")
        self.assertEqual(c.uid("SEARCH", "ALL")[1], [b"2"])
        self.assertEqual(c.copy("1", "INBOX.Missing")[0], "NO")
        c.select("INBOX.Archive")
        self.assertEqual(c.uid("SEARCH", "ALL")[1], [b"1 2 3"])
        self.assertEqual(c.fetch("3", "(BODY.PEEK[])")[1][0][1], SIMPLE.replace(b"\n", b"\r\n"))
        c.logout()

    def test_login_state_and_bad_sequences(self):
        env = dict(os.environ, MAILDIR=self.maildir, ESTAFETTE_LOGIN_STATE="tls=1 imap-tag=A01")
        p = subprocess.run([IMAPD], input=b"b SELECT INBOX\r\nc FETCH 1 FLAGS\r\n"
                           b"d STORE 1:* +FLAGS (\\Seen)\r\ne COPY 2 INBOX\r\n"
                           b"f UID FETCH 1:* FLAGS\r\n", env=env,
                           capture_output=True, timeout=10)
        out = p.stdout
        self.assertTrue(out.startswith(b"A01 OK [CAPABILITY IMAP4rev1 "), out)
        self.assertIn(b"c BAD Invalid message sequence number", out)
        self.assertIn(b"d BAD Invalid message sequence number", out)
        self.assertIn(b"e BAD Invalid message sequence number", out)
        self.assertIn(b"f OK", out)

    def test_cache_reused_and_corrupt_cache_ignored(self):
        self.deliver(NESTED)
        self.deliver(SIMPLE)
        want = None
        for round in range(3):
            c = self.client()
            c.select("INBOX")
            typ, data = c.fetch("1:2", "(UID RFC822.SIZE INTERNALDATE ENVELOPE BODYSTRUCTURE)")
            self.assertEqual(typ, "OK")
            if want is None:
                want = data
            self.assertEqual(data, want)
            c.logout()
            cache = os.path.join(self.maildir, "estafette-cache")
            self.assertTrue(os.path.exists(cache))
            if round == 1:
                with open(cache, "r+b") as f:
                    f.seek(12)
                    f.write(b"1 99 99 999999999 7\n\x00\xff")

    def test_examine_is_read_only(self):
        self.deliver(SIMPLE)
        c = self.client()
        typ, data = c.select("INBOX", readonly=True)
        self.assertEqual(typ, "OK")
        self.assertEqual(c.store("1", "+FLAGS", "(\\Seen)")[0], "NO")
        c.fetch("1", "(BODY[])")
        self.assertNotIn(b"\\Seen", c.fetch("1", "(FLAGS)")[1][0])
        c.logout()

    # --- concurrency and UIDs --------------------------------------------------

    def test_uids_stable_across_sessions_and_deliveries(self):
        self.deliver(SIMPLE)
        self.deliver(SIMPLE)
        c = self.client()
        typ, data = c.select("INBOX")
        validity = c.untagged_responses.get("UIDVALIDITY", [None])[0]
        self.assertEqual(c.uid("SEARCH", "ALL")[1], [b"1 2"])
        c.logout()
        self.deliver(SIMPLE)
        c = self.client()
        c.select("INBOX")
        self.assertEqual(c.untagged_responses.get("UIDVALIDITY", [None])[0], validity)
        self.assertEqual(c.uid("SEARCH", "ALL")[1], [b"1 2 3"])
        c.store("1", "+FLAGS", "(\\Deleted)")
        c.expunge()
        c.logout()
        c = self.client()
        c.select("INBOX")
        self.assertEqual(c.uid("SEARCH", "ALL")[1], [b"2 3"])
        c.logout()

    def test_lost_uid_list_ends_the_session(self):
        self.deliver(SIMPLE)
        r = self.raw()
        r.cmd(b"a", b"SELECT INBOX")
        os.unlink(os.path.join(self.maildir, "estafette-uidlist"))
        time.sleep(1.1)  # a new UIDVALIDITY is a new second
        self.deliver(SIMPLE)
        r.send(b"b NOOP\r\n")
        self.assertEqual(r.line(), b"* BYE UIDVALIDITY changed, please reconnect\r\n")
        self.assertEqual(r.close(), 0)

    def test_two_sessions_see_each_other(self):
        for _ in range(3):
            self.deliver(SIMPLE)
        a, b = self.raw(), self.raw()
        a.cmd(b"a1", b"SELECT INBOX")
        b.cmd(b"b1", b"SELECT INBOX")
        out = b.cmd(b"b2", b"STORE 2 +FLAGS (\\Deleted \\Flagged)")
        self.assertIn(b"* 2 FETCH (FLAGS (\\Flagged \\Deleted", out)
        out = a.cmd(b"a2", b"NOOP")
        self.assertIn(b"* 2 FETCH (FLAGS (\\Flagged \\Deleted", out)
        b.cmd(b"b3", b"EXPUNGE")
        # no EXPUNGE during FETCH; it comes with the next NOOP
        out = a.cmd(b"a3", b"FETCH 1 FLAGS")
        self.assertNotIn(b"EXPUNGE", out)
        out = a.cmd(b"a4", b"NOOP")
        self.assertIn(b"* 2 EXPUNGE\r\n", out)
        self.deliver(SIMPLE)
        out = a.cmd(b"a5", b"NOOP")
        self.assertIn(b"* 3 EXISTS\r\n", out)
        out = a.cmd(b"a6", b"UID FETCH 4 UID")
        self.assertIn(b"* 3 FETCH (UID 4)", out)
        a.close()
        b.close()

    def test_racing_flag_changes_are_not_lost(self):
        for _ in range(40):
            self.deliver(SIMPLE)
        a, b = self.raw(), self.raw()
        a.cmd(b"a", b"SELECT INBOX")
        b.cmd(b"b", b"SELECT INBOX")
        # interleave single-message STOREs of different flags from both sessions
        for i in range(1, 41):
            a.send(b"a%d STORE %d +FLAGS.SILENT (\\Flagged)\r\n" % (i, i))
            b.send(b"b%d STORE %d +FLAGS.SILENT (\\Seen)\r\n" % (i, 41 - i))
        for i in range(1, 41):
            self.assertIn(b"a%d OK" % i, a.until_tag(b"a%d" % i))
            self.assertIn(b"b%d OK" % i, b.until_tag(b"b%d" % i))
        a.close()
        b.close()
        names = os.listdir(os.path.join(self.maildir, "cur"))
        self.assertEqual(len(names), 40)
        for n in names:
            self.assertTrue(n.endswith(":2,FS"), n)

    def test_idle_woken_by_delivery(self):
        r = self.raw()
        r.cmd(b"a", b"SELECT INBOX")
        r.send(b"b IDLE\r\n")
        self.assertEqual(r.line(), b"+ idling\r\n")
        self.deliver(SIMPLE)
        t0 = time.time()
        self.assertEqual(r.line(), b"* 1 EXISTS\r\n")
        self.assertLess(time.time() - t0, 5)
        r.send(b"DONE\r\n")
        self.assertIn(b"b OK", r.until_tag(b"b"))
        r.close()

    def test_over_tcp_through_listener_without_nagle_stalls(self):
        self.deliver(SIMPLE + b"x" * 3000 + b"\n")
        self.deliver(SIMPLE)
        if os.geteuid() == 0:  # the listener runs sessions as the net user
            net = pwd.getpwnam("estafette-net")
            for root, dirs, files in os.walk(self.maildir):
                for n in [root] + [os.path.join(root, f) for f in files]:
                    os.chown(n, net.pw_uid, net.pw_gid)
        log = os.path.join(self.tmp, "listener.log")
        for _ in range(20):
            port = random.randrange(20000, 60000)
            with socket.socket() as probe:
                try:
                    probe.bind(("127.0.0.1", port))
                except OSError:
                    continue
            break
        with open(log, "ab") as logf:
            proc = subprocess.Popen([program("listener"), "-a", "127.0.0.1", "-p", str(port), "--",
                                     IMAPD], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                    stderr=logf, env=dict(os.environ, ESTAFETTE_LOG="stderr",
                                                          MAILDIR=self.maildir))
        try:
            deadline = time.time() + 10
            while time.time() < deadline:
                with open(log, "rb") as f:
                    if b"listen ip=" in f.read():
                        break
                time.sleep(0.05)
            c = imaplib.IMAP4("127.0.0.1", port, timeout=10)
            self.assertEqual(c.state, "AUTH")
            c.select("INBOX")
            times = []
            for i in range(31):
                t0 = time.perf_counter()
                typ, data = c.fetch(str(1 + i % 2), "(UID FLAGS BODY.PEEK[])")
                times.append(time.perf_counter() - t0)
                self.assertEqual(typ, "OK")
            # Nagle plus delayed ACK would stall each reply by ~40 ms
            self.assertLess(sorted(times)[15], 0.02, times)
            c.logout()
        finally:
            proc.terminate()
            proc.wait(timeout=10)

    # --- literals and hostile input ---------------------------------------------

    def test_literals(self):
        r = self.raw()
        r.send(b"a CREATE {10}\r\n")
        self.assertTrue(r.line().startswith(b"+ "))
        r.send(b"INBOX.Lit1\r\n")
        self.assertIn(b"a OK", r.until_tag(b"a"))
        self.assertIn(b"b OK", r.cmd(b"b", b"CREATE {10+}\r\nINBOX.Lit2"))
        self.assertIn(b"c OK", r.cmd(b"c", b"APPEND INBOX.Lit2 {5+}\r\nab\r\nc"))
        out = r.cmd(b"d", b'LIST "" INBOX.Lit*')
        self.assertIn(b"INBOX.Lit1", out)
        self.assertIn(b"INBOX.Lit2", out)
        r.close()

    def test_hostile_input(self):
        r = self.raw()
        out = r.cmd(b"a", b"APPEND INBOX {99999999999}")
        self.assertIn(b"a NO [TOOBIG]", out)
        out = r.cmd(b"b", b"CREATE {999999}")
        self.assertIn(b"b NO [TOOBIG]", out)
        out = r.cmd(b"c", b"SELECT INBOX")
        self.assertIn(b"c OK", out)
        out = r.cmd(b"d", b"SEARCH " + b"(" * 500 + b"ALL" + b")" * 500)
        self.assertIn(b"d BAD", out)
        out = r.cmd(b"e", b"FETCH 1 (" + b"FLAGS " * 200 + b")")
        self.assertIn(b"e BAD", out)
        for name in (b"INBOX.&Jjo", b"INBOX.&AGE-", b"INBOX.a/../..", b"../etc", b"INBOX..x",
                     b"INBOX.tmp", b"INBOX.", b'"INBOX.\\x"'):
            out = r.cmd(b"f", b"CREATE " + name)
            self.assertRegex(out, rb"f (NO|BAD)", name)
        out = r.cmd(b"g", b'CREATE "INBOX.a\x00b"')
        self.assertIn(b"g BAD", out)
        r.send(b"h NOOP " + b"x" * 100000 + b"\r\n")
        self.assertEqual(r.line(), b"* BAD Line too long\r\n")
        self.assertIn(b"h2 OK", r.cmd(b"h2", b"NOOP"))
        out = r.cmd(b"i", b"FETCH 1 (BODY[1.2.3.4.5.6.7.8.9.10.11.12.13.14.15.16.17.18.19.20.21."
                    b"22.23.24.25.26.27.28.29.30.31.32.33.34])")
        self.assertIn(b"i BAD", out)
        self.assertIn(b"j BAD", r.cmd(b"j", b"FROB"))
        self.assertIn(b"k BAD", r.cmd(b"k", b"UID NOOP"))
        self.assertIn(b"BAD", r.cmd(b"l", b"l\x00 NOOP") if False else r.cmd(b"l", b"NOOP extra"))
        self.assertEqual(os.listdir(self.maildir).count(".."), 0)
        self.assertIn(b"m OK", r.cmd(b"m", b"NOOP"))
        # many literals in one command are bounded in total
        try:
            r.send(b"o CREATE " + b"".join(b"{60000+}\r\n" + b"x" * 60000 + b" "
                                         for _ in range(12)))
        except BrokenPipeError:
            pass  # imapd stopped reading: that is the point
        self.assertIn(b"* BYE [TOOBIG]", r.line())
        self.assertEqual(r.close(), 0)
        r = self.raw()
        # a huge non-synchronizing literal ends the session without reading it
        r.send(b"n APPEND INBOX {99999999999+}\r\n")
        self.assertIn(b"* BYE", r.line())
        self.assertEqual(r.close(), 0)
        # an unterminated literal at EOF
        r = self.raw()
        r.send(b"a APPEND INBOX {100+}\r\nshort")
        r.p.stdin.close()
        self.assertEqual(r.p.wait(timeout=10), 0)
        r.p.stdout.close()
        self.assertEqual(os.listdir(os.path.join(self.maildir, "cur")), [])

    def test_deep_mime_nesting(self):
        msg = b"".join(b"Content-Type: message/rfc822\n\n" for _ in range(3000)) + b"x\n"
        self.deliver(msg)
        bnd = b"Content-Type: multipart/mixed; boundary=b\n\n" + b"--b\n\n" * 3000
        self.deliver(bnd)
        c = self.client()
        c.select("INBOX")
        typ, data = c.fetch("1:2", "(BODYSTRUCTURE BODY.PEEK[])")
        self.assertEqual(typ, "OK")
        c.logout()
