#!/usr/bin/env python3
"""Run the wire-level suite: every tests/protocol/test_*.py, verbose, then one final line
"N passed, N failed" (", N skipped" appended when some were skipped). Exit status 1
when any test failed or errored.

    python3 tests/protocol/run.py                 # everything
    python3 tests/protocol/run.py -k literal      # only tests whose name matches *literal*
    python3 tests/protocol/run.py test_login      # only these modules

$UIMAPD selects the server binary (default build/uimapd), $EMBED_EXAMPLE the embedding
example (default: next to $UIMAPD).
"""

import argparse
import os
import sys
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("-k", action="append", default=[], metavar="PATTERN",
                    help="only run tests matching PATTERN (unittest -k semantics)")
    ap.add_argument("modules", nargs="*", help="test modules (e.g. test_login)")
    args = ap.parse_args()

    sys.path.insert(0, HERE)
    import harness  # noqa: F401  (fail early when the harness does not import)

    if not os.access(harness.UIMAPD, os.X_OK):
        print(f"uimapd binary not found: {harness.UIMAPD} (build it, or set UIMAPD)",
              file=sys.stderr)
        print("0 passed, 1 failed")
        return 1

    loader = unittest.TestLoader()
    if args.k:
        loader.testNamePatterns = [p if "*" in p else f"*{p}*" for p in args.k]
    if args.modules:
        names = [m[:-3] if m.endswith(".py") else m for m in args.modules]
        names = [os.path.basename(n) for n in names]
        suite = loader.loadTestsFromNames(names)
    else:
        suite = loader.discover(HERE, pattern="test_*.py", top_level_dir=HERE)

    runner = unittest.TextTestRunner(verbosity=2, stream=sys.stderr)
    result = runner.run(suite)
    sys.stderr.flush()

    # a test that failed and whose cleanup also failed is reported twice: count it once
    bad = {id(t) for t, _ in result.failures + result.errors}
    bad |= {id(t) for t in result.unexpectedSuccesses}
    failed = len(bad)
    skipped = len(result.skipped)
    passed = max(0, result.testsRun - failed - skipped)
    line = f"{passed} passed, {failed} failed"
    if skipped:
        line += f", {skipped} skipped"
    sys.stdout.flush()
    print(line, flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
