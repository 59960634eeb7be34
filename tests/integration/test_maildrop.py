"""maildrop: the same filters and messages through estafette's maildrop and
Debian's (the `maildrop` package, /usr/bin/maildrop, when installed): the
delivered files (byte by byte; names differ), mbox contents (the date in the
From_ line aside), echo output, log files and exit codes must agree. Then
hostile filters and messages, run through ours only."""

import os
import re
import shutil
import subprocess
import time

from harness import TempDirTestCase, program

COURIER = "/usr/bin/maildrop"

MSG = (b"Return-Path: <sender@example.org>\n"
       b"From: Alice <alice@example.org>\n"
       b"To: Bob <bob@example.com>, carol@example.com\n"
       b"Cc: \"Dave D\" <dave@example.net>\n"
       b"Subject: Hello world\n"
       b"  folded part\n"
       b"X-Spam-Score: 7\n"
       b"\n"
       b"Body line one\n"
       b"From the start of a line\n"
       b">From already quoted\n"
       b"viagra viagra\n"
       b"more viagra\n")

# (name, filter, message, expect-exit)
CASES = [
    ("header_match", """
DEFAULT="./Default/"
if (/^Subject:.*hello/)
{
    to "./Maildir/.Hello/"
}
""", MSG),
    ("header_nomatch_default", """
DEFAULT="./Default/"
if (/^Subject:.*nothing here/)
    to "./Maildir/.Hello/"
""", MSG),
    ("case_sensitive", """
DEFAULT="./Default/"
if (/^Subject:.*hello/:D)
    to "./Maildir/.Hello/"
elsif (/^Subject:.*Hello/:D)
    to "./Maildir/"
""", MSG),
    ("body_weighted_cc_exitcode", """
DEFAULT="./Default/"
SCORE=(/viagra/:b,2,3)
echo "score $SCORE"
cc "./Maildir/"
if ($SCORE > 5)
{
    EXITCODE=3
    to "./Maildir/.Spam/"
}
""", MSG),
    ("mbox_quoting", """
DEFAULT="./Default/"
to "mbox"
""", MSG),
    ("mbox_no_final_newline", """
to "mbox"
""", b"Subject: x\n\nno newline at the end"),
    ("exit_without_delivery", """
EXITCODE=7
exit
""", MSG),
    ("variables_and_functions", """
DEFAULT="./Default/"
A="Foo" 'bar'
B=7/2
C=1 + 2 * 3
D=10 / 4
E=substr("abcdef", 2, 3)
F=length("hello")
G=tolower("MiXeD") toupper("MiXeD")
H=escape("a.b*c")
I="x" lt "y"
J=!0
K=(3 | 4) + (6 & 3)
echo "$A|$B|$C|$D|$E|$F|$G|$H|$I|$J|$K"
if (/^From:\\s*(.*) <(.*)>/)
    echo "from [$MATCH] [$MATCH1] [$MATCH2]"
if (hasaddr("CAROL@example.com") && !hasaddr("nobody@example.com"))
    echo "hasaddr ok"
foreach /^(To|Cc): .*/
{
    foreach (getaddr $MATCH) =~ /.+/
    {
        echo "addr $MATCH"
    }
}
N=0
while ($N < 5)
{
    N=$N + 1
}
echo "N=$N SIZE=$SIZE LINES=$LINES FROM=$FROM"
Q=`echo hello; echo world`
echo "Q=[$Q]"
X='a;echo injected'
Y=`echo $X`
echo "Y=[$Y]"
exit
""", MSG),
    ("pipe_exitcode", """
to "| cat > piped.out; exit 4"
""", MSG),
    ("cc_pipe_then_default", """
DEFAULT="./Default/"
cc "| cat > piped.out"
echo "E=$EXITCODE"
""", MSG),
    ("xfilter", """
DEFAULT="./Default/"
xfilter "sed -e s/Hello/Goodbye/"
if (/^Subject: Goodbye/)
    to "./Maildir/.Changed/"
""", MSG),
    ("logfile", """
logfile "log"
log "a log line"
to "./Maildir/"
""", MSG),
    ("flags_to_cur", """
FLAGS="SF"
to "./Maildir/"
""", MSG),
    ("syntax_error", """
DEFAULT="./Default/"
if (/x/
{
    to "./Maildir/"
}
""", MSG),
    ("exception", """
DEFAULT="./Default/"
exception {
    to "./does/not/exist/"
}
to "./Maildir/"
""", MSG),
    ("failed_delivery", """
to "./does/not/exist/"
""", MSG),
    ("pattern_vars", """
DEFAULT="./Default/"
W="world"
if (/^Subject: Hello $W/)
    to "./Maildir/"
""", MSG),
    ("include", """
DEFAULT="./Default/"
include "inc"
to "./Maildir/"
""", MSG),
    # found by comparing the two side by side (2026-11-22)
    ("unfolded_header_keeps_a_space_per_line_break", """
if (/^Subject: (.*)/)
  echo "[$MATCH1]"
exit
""", MSG),
    ("foreach_leaves_the_last_groups", """
foreach /^X-Dup: (.*)/
{
  echo "$MATCH / $MATCH1"
}
exit
""", b"X-Dup: one\nX-Dup: two\n\nbody\n"),
    ("foreach_first_match_per_line", """
foreach /viagra/:b
{
  echo "$MATCH"
}
foreach (getaddr("a@b, c@d") =~ /.+/)
{
  echo "item $MATCH"
}
exit
""", MSG),
    ("pattern_values", """
echo /^From:/
echo /nothing/
echo /viagra/:b,1,0.5
echo "abc" =~ /b/
echo /^From:/ || 0
exit
""", MSG),
    ("failed_program_is_trapped", """
exception {
  to "| exit 3"
}
echo "after: $EXITCODE"
to "./Default/"
""", MSG),
    ("failed_program_without_exception", """
to "| exit 3"
""", MSG),
    ("echo_escapes", r"""
echo "a\b \101 \12 \400x \t\f\v \e"
echo "no newline\c"
echo "a\cb"
exit
""", MSG),
    ("substr_and_division_edges", """
echo substr("hello", -1, 2)
echo substr("hello", -0.5, 2)
echo substr("hello", 10)
echo 10 / 0
echo 0 / 0
exit
""", MSG),
]

INCLUDED = 'if (/^X-Spam-Score: [5-9]/)\n    to "./Maildir/.Spam/"\n'


def make_dirs(root):
    for md in ("Maildir", "Maildir/.Hello", "Maildir/.Spam", "Maildir/.Changed", "Default"):
        for sub in ("tmp", "new", "cur"):
            os.makedirs(os.path.join(root, md, sub), exist_ok=True)


def snapshot(root):
    """What was delivered: per maildir the sorted contents (with the flags of
    cur/ names), other files as they are (mbox dates blanked)."""
    out = {}
    for dirpath, dirs, files in os.walk(root):
        dirs.sort()
        rel = os.path.relpath(dirpath, root)
        for f in sorted(files):
            if f in ("filter", "inc") or f.endswith(".lock"):
                continue
            with open(os.path.join(dirpath, f), "rb") as fh:
                data = fh.read()
            if os.path.basename(dirpath) in ("new", "cur"):
                # flags sorted: ours writes them in ASCII order as the Maildir
                # specification asks, Courier's as FLAGS lists them
                flags = "".join(sorted(f.split(":2,")[1])) if ":2," in f else ""
                out.setdefault(rel, []).append((flags, data))
            else:
                data = re.sub(rb"(?m)^(From \S+ ).*$", rb"\1DATE", data)
                data = re.sub(rb"(?m)^Date: .*$", b"Date: DATE", data)
                out[os.path.join(rel, f)] = data
    for k in out:
        if isinstance(out[k], list):
            out[k].sort()
    return out


class MaildropBase(TempDirTestCase):
    def run_one(self, binary, name, filt, msg, args=()):
        root = os.path.join(self.tmp, name + ("-courier" if binary == COURIER else "-ours"))
        os.makedirs(root)
        make_dirs(root)
        with open(os.path.join(root, "filter"), "w") as f:
            f.write(filt)
        with open(os.path.join(root, "inc"), "w") as f:
            f.write(INCLUDED)
        os.chmod(os.path.join(root, "filter"), 0o600)
        env = dict(os.environ, ESTAFETTE_ROOT=self.tmp, ESTAFETTE_LOG="stderr")
        r = subprocess.run([binary, "./filter", *args], input=msg, cwd=root, env=env,
                           capture_output=True, timeout=60)
        return r, snapshot(root)


class CompareWithCourierTest(MaildropBase):
    def setUp(self):
        super().setUp()
        if not os.path.exists(COURIER):
            self.skipTest("Debian's maildrop is not installed")

    def test_cases(self):
        for name, filt, msg in CASES:
            with self.subTest(name):
                ours, ours_snap = self.run_one(program("maildrop"), name, filt, msg)
                theirs, theirs_snap = self.run_one(COURIER, name, filt, msg)
                self.assertEqual(ours.returncode, theirs.returncode,
                                 (ours.stderr, theirs.stderr))
                self.assertEqual(ours.stdout, theirs.stdout)
                self.assertEqual(ours_snap, theirs_snap)

    def test_syntax_error_names_file_and_line(self):
        r, _ = self.run_one(program("maildrop"), "syn", "A=1\nif (/x/\n{\n}\n", MSG)
        self.assertEqual(r.returncode, 75)
        self.assertIn(b"./filter(2)", r.stderr)

    def test_world_writable_filter_refused(self):
        for binary in (program("maildrop"), COURIER):
            root = os.path.join(self.tmp, "ww-courier" if binary == COURIER else "ww-ours")
            os.makedirs(root)
            make_dirs(root)
            path = os.path.join(root, "filter")
            with open(path, "w") as f:
                f.write('to "./Maildir/"\n')
            os.chmod(path, 0o666)
            r = subprocess.run([binary, "./filter"], input=MSG, cwd=root, capture_output=True,
                               timeout=60)
            self.assertEqual(r.returncode, 75, binary)
            self.assertEqual(os.listdir(os.path.join(root, "Maildir", "new")), [])


class HostileTest(MaildropBase):
    def ours(self, name, filt, msg=MSG, timeout_s=30):
        start = time.monotonic()
        r, snap = self.run_one(program("maildrop"), name, filt, msg)
        self.assertLess(time.monotonic() - start, timeout_s)
        return r, snap

    def test_infinite_loop_hits_the_limit(self):
        r, snap = self.ours("loop", "while (1)\n{\n  A=1\n}\nto \"./Maildir/\"\n")
        self.assertEqual(r.returncode, 75)
        self.assertIn(b"filter(1)", r.stderr)
        self.assertNotIn("Maildir/new", snap)

    def test_loop_inside_exception_is_not_trapped(self):
        r, _ = self.ours("loop2", "while (1)\n{\n exception {\n  while (1) { A=1 }\n }\n}\n")
        self.assertEqual(r.returncode, 75)

    def test_self_include_is_bounded(self):
        r, _ = self.ours("inc", 'include "filter"\n')
        self.assertEqual(r.returncode, 75)
        self.assertIn(b"include", r.stderr)

    def test_deep_nesting_is_a_syntax_error(self):
        r, _ = self.ours("deep", "A=" + "(" * 5000 + "1" + ")" * 5000 + "\n")
        self.assertEqual(r.returncode, 75)
        r, _ = self.ours("deep2", "if (1)\n" * 5000 + "A=1\n")
        self.assertEqual(r.returncode, 75)

    def test_catastrophic_regex_on_hostile_mail_still_delivers(self):
        msg = b"Subject: " + b"a" * 50000 + b"!\n\nbody\n"
        r, snap = self.ours("regex", 'DEFAULT="./Default/"\nif (/^Subject: (a+)+$/)\n'
                            '  to "./Maildir/"\n', msg)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("Default/new", snap)

    def test_bad_regex_is_a_clear_error(self):
        r, _ = self.ours("badre", 'if (/(unclosed/)\n  to "./Maildir/"\n')
        self.assertEqual(r.returncode, 75)
        self.assertIn(b"pattern", r.stderr)

    def test_nul_bytes_and_huge_header(self):
        msg = (b"Subject: nul\x00here\nX-Big: " + b"x" * (10 * 1024 * 1024) + b"\n\n"
               b"body\x00with nul\n")
        r, snap = self.ours("huge", 'if (/^X-Big: x+$/)\n  to "./Maildir/"\n', msg, 60)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(snap["Maildir/new"], [("", msg)])

    def test_broken_mime_is_delivered_unchanged(self):
        # unterminated multipart, a boundary nested 2,000 deep, bad base64 and
        # quoted-printable, a header without a colon, no final newline
        nested = b"".join(b"--b%d\nContent-Type: multipart/mixed; boundary=b%d\n\n" % (i, i + 1)
                          for i in range(2000))
        msg = (b"From: a@example.org\nSubject: broken\nnot a header line\n"
               b"MIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=b0\n\n" + nested +
               b"--b2000\nContent-Transfer-Encoding: base64\n\n!!!not base64===\n"
               b"--b2000\nContent-Transfer-Encoding: quoted-printable\n\n=ZZ=\n=0")
        filt = ('if (/^Subject: broken/ && /not base64/:b)\n  to "./Maildir/"\n'
                'to "./Default/"\n')
        r, snap = self.ours("mime", filt, msg)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(snap["Maildir/new"], [("", msg)])

    def test_quota_over_limit(self):
        filt = 'MAILDIRQUOTA="1000S"\nto "./Maildir/"\n'
        r, snap = self.ours("quota1", filt)
        self.assertEqual(r.returncode, 0, r.stderr)
        big = MSG + b"x" * 2000 + b"\n"
        root = os.path.join(self.tmp, "quota2-bin")
        r, snap = self.ours("quota2", filt, big)
        self.assertEqual(r.returncode, 75)
        self.assertIn(b"quota", r.stderr)
        self.assertNotIn("Maildir/new", snap)
        self.assertTrue(snap["Maildir/maildirsize"].startswith(b"1000S\n"))
        del root

    def test_forward_without_sendmail_is_temporary(self):
        r, _ = self.ours("fwd", 'to "! someone@example.org"\n')
        self.assertEqual(r.returncode, 75)
        self.assertIn(b"forward", r.stderr)

    def test_mbox_locking_serialises_writers(self):
        root = os.path.join(self.tmp, "lock")
        os.makedirs(root)
        with open(os.path.join(root, "filter"), "w") as f:
            f.write('to "mbox"\n')
        os.chmod(os.path.join(root, "filter"), 0o600)
        procs = [subprocess.Popen([program("maildrop"), "./filter"], cwd=root,
                                  stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE) for _ in range(8)]
        for i, p in enumerate(procs):
            p.communicate(b"Subject: %d\n\n" % i + b"line\n" * 2000, timeout=60)
            self.assertEqual(p.returncode, 0)
        with open(os.path.join(root, "mbox"), "rb") as f:
            data = f.read()
        self.assertEqual(data.count(b"\nFrom MAILER-DAEMON ") + data.startswith(b"From "), 8)
        self.assertEqual(data.count(b"line\n"), 8 * 2000)
        self.assertFalse(os.path.exists(os.path.join(root, "mbox.lock")))

    def test_delivery_mode_as_root_becomes_the_user(self):
        if os.geteuid() != 0 or not shutil.which("useradd"):
            self.skipTest("needs root")
        user = "mdtest%d" % (os.getpid() % 100000)
        home = os.path.join(self.tmp, "home")
        subprocess.run(["useradd", "-M", "-d", home, user], check=True)
        try:
            os.makedirs(home)
            make_dirs(home)
            with open(os.path.join(home, ".mailfilter"), "w") as f:
                f.write('to "./Maildir/"\n')
            out = subprocess.run(["sh", "-c", "chown -R %s %s && chmod 600 %s/.mailfilter"
                                  % (user, home, home)], check=True)
            del out
            env = dict(os.environ, ESTAFETTE_ROOT=self.tmp)
            r = subprocess.run([program("maildrop"), "-d", user], input=MSG, env=env,
                               capture_output=True, timeout=60)
            self.assertEqual(r.returncode, 0, r.stderr)
            new = os.path.join(home, "Maildir", "new")
            files = os.listdir(new)
            self.assertEqual(len(files), 1)
            st = os.stat(os.path.join(new, files[0]))
            import pwd
            self.assertEqual(st.st_uid, pwd.getpwnam(user).pw_uid)
        finally:
            subprocess.run(["userdel", user])


REFORMAIL_MSG = (b"From sender@x.org Sun Nov 22 03:19:25 2026\n"
                 b"Return-Path: <old@x>\nFrom: a@b.c\nSubject: hello\n  folded\nTo: x@y\n"
                 b"X-Dup: 1\nX-Dup: 2\nx-dup: 3\n\nbody\nFrom here\n")
REFORMAIL_ARGS = [
    ["-x", "Subject:"], ["-X", "Subject:"], ["-x", "X-Dup:", "-x", "To:"], ["-x", "None:"],
    ["-a", "X-New: v"], ["-a", "Subject: v"], ["-A", "Subject: v"], ["-i", "Subject: new"],
    ["-I", "X-Dup: new"], ["-I", "X-Dup:"], ["-u", "X-Dup:"], ["-U", "X-Dup:"],
    ["-R", "X-Dup:", "X-Other:"], ["-c"], ["-f0"], ["-f0", "-a", "Foo: x", "-c"],
]


class ToolsTest(TempDirTestCase):
    def test_reformail_like_courier(self):
        courier = "/usr/bin/reformail"
        if not os.path.exists(courier):
            self.skipTest("Debian's reformail is not installed")
        for args in REFORMAIL_ARGS:
            with self.subTest(args=args):
                ours = subprocess.run([program("reformail"), *args], input=REFORMAIL_MSG,
                                      capture_output=True, timeout=30)
                theirs = subprocess.run([courier, *args], input=REFORMAIL_MSG,
                                        capture_output=True, timeout=30)
                self.assertEqual(ours.returncode, theirs.returncode)
                self.assertEqual(ours.stdout, theirs.stdout)

    def deliverquota(self, binary, name):
        md = os.path.join(self.tmp, name)
        for sub in ("tmp", "new", "cur"):
            os.makedirs(os.path.join(md, sub))
        codes = []
        for i in range(5):
            r = subprocess.run([binary, md] + (["300S,3C"] if i == 0 else []), input=MSG[:67],
                               capture_output=True, timeout=30)
            codes.append(r.returncode)
        with open(os.path.join(md, "maildirsize"), "rb") as f:
            size = f.read()
        contents = sorted(open(os.path.join(md, "new", n), "rb").read()
                          for n in os.listdir(os.path.join(md, "new")))
        return codes, size, contents

    def test_deliverquota_like_courier(self):
        courier = "/usr/sbin/deliverquota.maildrop"
        ours = self.deliverquota(program("deliverquota"), "ours")
        self.assertEqual(ours[0], [0, 0, 0, 77, 77])
        if os.path.exists(courier):
            self.assertEqual(ours, self.deliverquota(courier, "courier"))

    def test_mailbot_rate_limit_and_bulk(self):
        text = os.path.join(self.tmp, "away")
        with open(text, "w") as f:
            f.write("I am away.\n")
        db = os.path.join(self.tmp, "db")
        out = os.path.join(self.tmp, "reply")
        cmd = [program("mailbot"), "-t", text, "-d", db, "-D", "1",
               "/bin/sh", "-c", "cat >> " + out]
        msg = b"From: Alice <alice@example.org>\nSubject: hi\nMessage-ID: <1@x>\n\nbody\n"
        for _ in range(3):
            r = subprocess.run(cmd, input=msg, capture_output=True, timeout=30)
            self.assertEqual(r.returncode, 0, r.stderr)
        with open(out, "rb") as f:
            reply = f.read()
        self.assertEqual(reply.count(b"To: alice@example.org\n"), 1)
        self.assertIn(b"Subject: Re: hi\n", reply)
        self.assertIn(b"In-Reply-To: <1@x>\n", reply)
        self.assertIn(b"Auto-Submitted: auto-replied\n", reply)
        self.assertTrue(reply.endswith(b"\n\nI am away.\n"))
        os.unlink(out)
        for hdr in (b"Precedence: bulk\n", b"Auto-Submitted: auto-generated\n",
                    b"List-Id: <l.x>\n"):
            m = b"From: bob@example.org\n" + hdr + b"\nbody\n"
            r = subprocess.run(cmd, input=m, capture_output=True, timeout=30)
            self.assertEqual(r.returncode, 0)
        m = b"From: MAILER-DAEMON@example.org\n\nbody\n"
        subprocess.run(cmd, input=m, capture_output=True, timeout=30)
        self.assertFalse(os.path.exists(out))
