"""The exported ABI (issue 13): libuimap's public types and functions, as abigail-tools
read them from the built library, equal the baseline kept in tests/abi/libuimap.abi, so an
ABI change is a reviewed step (scripts/abi-check.sh --update in the same commit), never an
accident. The check itself must catch a change: a library built from a header with one
member less in a public struct is reported."""

import os
import shutil
import subprocess
import unittest

from harness import REPO_ROOT, UIMAPD, UimapTestCase

SCRIPT = os.path.join(REPO_ROOT, "scripts", "abi-check.sh")
LIB = os.path.join(os.path.dirname(UIMAPD), "libuimap.so")


@unittest.skipUnless(shutil.which("abidw") and shutil.which("abidiff"),
                     "abigail-tools not installed")
class Abi(UimapTestCase):
    HARD_TIMEOUT = 300

    def run_check(self, *args):
        p = subprocess.run([SCRIPT, *args], capture_output=True, text=True, timeout=240)
        return p.returncode, p.stdout + p.stderr

    def test_library_matches_the_baseline(self):
        self.assertTrue(os.path.exists(LIB), f"no library next to uimapd: {LIB}")
        rc, out = self.run_check(LIB)
        self.assertEqual(rc, 0, out[-6000:])

    def test_a_changed_struct_is_reported(self):
        """A tiny library whose uimap_range lost a member: the check must fail."""
        d = self.tmpdir = os.path.join("/tmp", f"uimap-abi-{os.getpid()}")
        os.makedirs(d, exist_ok=True)
        self.addCleanup(shutil.rmtree, d, ignore_errors=True)
        src = os.path.join(d, "lib.c")
        with open(src, "w") as f:
            f.write('#include <stdint.h>\n'
                    'struct uimap_range { uint32_t lo; };\n'
                    '__attribute__((visibility("default"))) '
                    'int uimap_server_port(struct uimap_range *r) { return (int)r->lo; }\n')
        lib = os.path.join(d, "libuimap.so")
        subprocess.run(["cc", "-g", "-shared", "-fPIC", "-o", lib, src], check=True,
                       timeout=60)
        rc, out = self.run_check(lib)
        self.assertEqual(rc, 1, out[-3000:])
        self.assertIn("changed", out)
