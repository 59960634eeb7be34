"""The fuzz targets (fuzz/README) as regression tests: each target is built with
the project's compiler and flags (no clang needed; SANITIZE=1 builds are
detected) by `make fuzz-regress-build`, then run once over its seed corpus
fuzz/corpus/NAME and its saved findings fuzz/regress/NAME. An input that
crashes, trips a sanitizer or breaks a target's invariant fails the test."""

import os
import re
import subprocess
import unittest

from harness import BUILD, BUILD_DIR, TOP

FUZZ_DIR = os.path.join(TOP, "fuzz")


def targets():
    return sorted(f[: -len("_fuzz.c")] for f in os.listdir(FUZZ_DIR) if f.endswith("_fuzz.c"))


def sanitized(lib):
    """True if the library was built with SANITIZE=1 (it references ASan)."""
    with open(lib, "rb") as f:
        return b"__asan_" in f.read()


class FuzzRegressTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        lib = os.path.join(BUILD_DIR, "libestafette.a")
        if not os.path.exists(lib):
            raise unittest.SkipTest(f"{lib} not built")
        env = {k: v for k, v in os.environ.items() if k not in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL")}
        cmd = ["make", "-s", "-j2", f"BUILD={BUILD}", "fuzz-regress-build"]
        if sanitized(lib):
            cmd.insert(3, "SANITIZE=1")
        r = subprocess.run(cmd, cwd=TOP, env=env, capture_output=True, text=True, timeout=300)
        if r.returncode != 0:
            raise AssertionError(f"{' '.join(cmd)} failed:\n{r.stdout}\n{r.stderr}")

    def test_corpora(self):
        names = targets()
        self.assertTrue(names)
        for name in names:
            with self.subTest(target=name):
                binary = os.path.join(BUILD_DIR, "fuzz-regress", name)
                r = subprocess.run(
                    [binary, os.path.join(FUZZ_DIR, "corpus", name), os.path.join(FUZZ_DIR, "regress", name)],
                    cwd=TOP, capture_output=True, text=True, timeout=60)
                self.assertEqual(r.returncode, 0, f"{name}:\n{r.stdout}\n{r.stderr[-4000:]}")
                m = re.search(r": (\d+) inputs", r.stdout)
                self.assertTrue(m and int(m.group(1)) > 0, f"{name}: no inputs ran: {r.stdout}")


if __name__ == "__main__":
    unittest.main()
