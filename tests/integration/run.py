#!/usr/bin/env python3
"""Run every integration test (tests/integration/test_*.py) and close with the line
"integration: N passed, N failed, N skipped". Arguments: optional test-name
patterns (unittest -k)."""

import os
import sys
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))


class CountingResult(unittest.TextTestResult):
    pass


def main():
    sys.path.insert(0, HERE)
    loader = unittest.TestLoader()
    if len(sys.argv) > 1:
        loader.testNamePatterns = [f"*{p}*" for p in sys.argv[1:]]
    suite = loader.discover(HERE, pattern="test_*.py", top_level_dir=HERE)
    runner = unittest.TextTestRunner(verbosity=2, resultclass=CountingResult, stream=sys.stdout)
    result = runner.run(suite)
    failed = len(result.failures) + len(result.errors) + len(result.unexpectedSuccesses)
    skipped = len(result.skipped)
    passed = result.testsRun - failed - skipped
    totals = os.environ.get("RUN_INTEGRATION_TOTALS")
    if totals:
        with open(totals, "w") as f:
            f.write(f"{passed} {failed}\n")
    print(f"integration: {passed} passed, {failed} failed, {skipped} skipped")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
