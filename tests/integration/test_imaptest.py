"""Dovecot's imaptest scripted compliance tests against imapd of a sandbox, one test file at
a time, when an imaptest binary is at hand ($IMAPTEST or on PATH; its test files in
$IMAPTEST_TESTS, by default the tests/ directory beside the binary as in imaptest's build
tree). imaptest is not in Debian and is built by hand (docs/IMAPTEST.md), so without it
this skips. The files listed in PASSING passed at the last recorded run and must keep
passing; every other file is run and reported, and no file may crash the server or hang
imaptest. imaptest runs with its default options (box=imaptest, a top-level folder)."""

import os
import re
import shutil
import subprocess

from harness import Sandbox, TempDirTestCase, program

USER, PASSWORD = "imaptest@example.test", "imaptest pass 5"
NEEDED = ("listener", "imap-login", "imapd", "authd", "auth-exec")
TIMEOUT = 120  # seconds per test file; a run takes 1-10 s

# Passing on estafette in docs/IMAPTEST.md's last run (2026-11-22 10:05 UTC, imaptest's
# default options): every file but those skipped for a capability imapd does not
# advertise (docs/IMAPTEST.md says which).
PASSING = """append atoms close copy esearch esearch-condstore esort expunge expunge2 fetch fetch-body
fetch-body-message-rfc822 fetch-body-message-rfc822-mime fetch-body-message-rfc822-x2
fetch-body-mime fetch-bodystructure fetch-envelope id list listext logout move multiappend
mutf7 nil pipeline search-addresses search-body search-date search-flags search-header
search-sets search-size select sort-addresses sort-arrival sort-date sort-display-from
sort-display-to sort-size sort-subject store subscribe thread thread-orderedsubject
thread-orderedsubject2 thread2 thread3 thread4 thread5 thread6 thread7 thread8 uidplus
uidvalidity uidvalidity-rename""".split()


def find_imaptest():
    path = os.environ.get("IMAPTEST") or shutil.which("imaptest")
    if not path or not os.access(path, os.X_OK):
        return None, None
    tests = os.environ.get("IMAPTEST_TESTS") or os.path.join(
        os.path.dirname(os.path.realpath(path)), "tests")
    return path, tests if os.path.isdir(tests) else None


def outcome(output):
    """pass, skip or fail from imaptest's summary line for one test file."""
    for line in output.splitlines():
        if line.startswith("1 test groups:"):
            if line.startswith("1 test groups: 0 failed, 0 skipped"):
                return "pass"
            if line.startswith("1 test groups: 0 failed, 1 skipped"):
                return "skip"
            return "fail"
    return "fail"


class ImaptestTest(TempDirTestCase):
    def setUp(self):
        super().setUp()
        self.imaptest, self.tests = find_imaptest()
        if self.imaptest is None or self.tests is None:
            self.skipTest("no imaptest binary and test directory ($IMAPTEST, "
                          "$IMAPTEST_TESTS; see docs/IMAPTEST.md)")
        for prog in NEEDED:
            if not os.access(program(prog), os.X_OK):
                self.skipTest(prog + " is not built")

    def small_mbox(self):
        path = os.path.join(self.tmp, "small.mbox")
        with open(path, "w") as f:
            for i in range(5):
                f.write(f"From sender{i}@example.org Sun Nov 22 03:00:0{i} 2026\n"
                        f"From: sender{i}@example.org\nSubject: message {i}\n\nbody {i}\n\n")
        return path

    def run_file(self, port, mbox, name):
        argv = [self.imaptest, "host=127.0.0.1", f"port={port}", f"user={USER}",
                f"pass={PASSWORD}", f"mbox={mbox}",
                "test=" + os.path.join(self.tests, name)]
        try:
            r = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                               stdin=subprocess.DEVNULL, timeout=TIMEOUT)
        except subprocess.TimeoutExpired as e:
            return "hang", (e.stdout or b"").decode(errors="replace")
        out = r.stdout.decode(errors="replace")
        return outcome(out), out

    def test_scripted_files(self):
        names = sorted(n for n in os.listdir(self.tests)
                       if not n.endswith(".mbox") and
                       os.path.isfile(os.path.join(self.tests, n)))
        self.assertTrue(set(PASSING) <= set(names), "imaptest's tests/ lacks known files")
        root = os.path.join(self.tmp, "inst")
        mbox = self.small_mbox()
        results = {}
        with Sandbox(root, users=[USER + ":" + PASSWORD]) as sb:
            port = sb.port(143)
            for name in names:
                results[name] = self.run_file(port, mbox, name)
            alive = sb.proc.poll() is None
        with open(os.path.join(root, "var", "log", "estafette.log"), errors="replace") as f:
            # listener(8) logs "exit pid=... status=sigN" for a session killed by a signal;
            # SIGTERM comes from the sandbox stopping, the others are crashes
            # sanitizer builds report on stderr, which the sandbox logs, and exit 1
            crashes = [ln.strip() for ln in f
                       if re.search(r" status=sig(4|6|7|8|11|31) |AddressSanitizer|"
                                    r"LeakSanitizer|runtime error:", ln)]
        summary = {k: sorted(n for n, (o, _) in results.items() if o == k)
                   for k in ("pass", "skip", "fail", "hang")}
        print("\nimaptest: " + ", ".join(f"{len(v)} {k}" for k, v in summary.items()))
        for k in ("skip", "fail", "hang"):
            if summary[k]:
                print(f"  {k}: {' '.join(summary[k])}")
        self.assertTrue(alive, "the sandbox died during the run")
        self.assertEqual(crashes, [], "sessions ended by a signal")
        for name in PASSING:
            with self.subTest(file=name):
                self.assertEqual(results[name][0], "pass", results[name][1][-3000:])
        self.assertEqual(summary["hang"], [], "imaptest hung on these files")
