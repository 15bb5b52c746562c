"""Installing (issue 13): `meson install` puts uimapd, the library, its headers, a
pkg-config file, the manual page and the systemd unit in place; an embedder's program
(examples/embed.c) builds against the installed library through pkg-config and runs;
the manual page documents every option `uimapd --help` lists."""

import json
import os
import re
import signal
import subprocess

from harness import REPO_ROOT, UIMAPD, UimapTestCase, free_port, run_uimapd

BUILD = os.path.dirname(UIMAPD)


def build_option(name):
    try:
        p = subprocess.run(["meson", "introspect", BUILD, "--buildoptions"],
                           capture_output=True, text=True, timeout=60)
        for o in json.loads(p.stdout):
            if o["name"] == name:
                return o["value"]
    except (OSError, ValueError, subprocess.TimeoutExpired):
        pass
    return None


class Install(UimapTestCase):
    HARD_TIMEOUT = 240

    def test_manual_lists_every_option(self):
        with open(os.path.join(REPO_ROOT, "docs", "uimapd.8.scd")) as f:
            man = f.read()
        opts = set(re.findall(r"--[a-z0-9-]+", run_uimapd(["--help"]).stdout))
        self.assertGreater(len(opts), 40)
        missing = sorted(o for o in opts if f"*{o}*" not in man)
        self.assertEqual(missing, [], "options missing from docs/uimapd.8.scd")

    def test_config_manual_lists_every_key(self):
        """uimap.conf(5) is made from docs/configuration.md's option table: every option
        of --help is a key there, and the page built from it (when scdoc is installed)
        has every key as an entry."""
        opts = set(re.findall(r"--([a-z0-9-]+)", run_uimapd(["--help"]).stdout))
        opts -= {"help", "version", "config"}
        with open(os.path.join(REPO_ROOT, "docs", "configuration.md")) as f:
            keys = set()
            for line in f:
                if line.startswith("| `"):
                    keys |= set(re.findall(r"`([a-z0-9-]+)`", line.split("|")[1]))
        self.assertEqual(sorted(opts - keys), [], "options missing from docs/configuration.md")
        page = os.path.join(BUILD, "uimap.conf.5")
        if not os.path.exists(page):
            self.skipTest("scdoc not installed: no uimap.conf.5 built")
        with open(page) as f:
            roff = f.read()
        entries = set(re.findall(r"(?:^|, )\\fB([a-z0-9-]+)\\fR", roff.replace("\\&", ""), re.M))
        self.assertEqual(sorted(opts - entries), [], "keys missing from uimap.conf(5)")

    def test_install_and_build_an_embedder(self):
        dest = os.path.join(self.tmpdir, "dest")
        p = subprocess.run(["meson", "install", "-C", BUILD, "--destdir", dest, "--no-rebuild",
                            "--quiet"], capture_output=True, text=True, timeout=120)
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        files = []
        for root, _, names in os.walk(dest):
            files += [os.path.relpath(os.path.join(root, n), dest) for n in names]
        def has(pattern):
            return any(re.search(pattern, f) for f in files)
        for pattern in (r"sbin/uimapd$", r"sbin/uimapctl$", r"lib/.*libuimap\.so", r"include/uimap/uimap\.h$",
                        r"include/uimap/store\.h$", r"pkgconfig/uimap\.pc$",
                        r"lib/systemd/system/uimapd\.service$",
                        r"lib/systemd/system/uimapd\.socket$", r"lib/systemd/system/uimapd-tls\.socket$"):
            self.assertTrue(has(pattern), f"{pattern} not installed: {files}")
        if subprocess.run(["which", "scdoc"], capture_output=True).returncode == 0:
            self.assertTrue(has(r"man8/uimapd\.8$") and has(r"man8/uimapctl\.8$"), files)
            self.assertTrue(has(r"man5/uimap\.conf\.5$"), files)
        if build_option("b_sanitize") not in ("none", None):
            return   # a sanitizer build's library needs the sanitizer runtime to link
        pc_dir = os.path.dirname(os.path.join(dest, next(f for f in files
                                                          if f.endswith("uimap.pc"))))
        env = dict(os.environ, PKG_CONFIG_PATH=pc_dir, PKG_CONFIG_SYSROOT_DIR=dest)
        flags = subprocess.run(["pkg-config", "--cflags", "--libs", "uimap"], env=env,
                               capture_output=True, text=True, timeout=30)
        self.assertEqual(flags.returncode, 0, flags.stderr)
        exe = os.path.join(self.tmpdir, "embed")
        cc = subprocess.run(["cc", os.path.join(REPO_ROOT, "examples", "embed.c"), "-o", exe]
                            + flags.stdout.split(), capture_output=True, text=True, timeout=120)
        self.assertEqual(cc.returncode, 0, cc.stderr)
        libdir = os.path.dirname(os.path.join(dest, next(f for f in files
                                                          if re.search(r"libuimap\.so$", f))))
        port = free_port()
        srv = self.start_process([exe, f"127.0.0.1:{port}"],
                                 env=dict(os.environ, LD_LIBRARY_PATH=libdir))
        c = self.connect(srv)
        c.login("demo", "demo", tag="a")
        _, t = c.command("b", "XHELLO")
        self.assertTagged(t, "b", "OK")
        srv.signal(signal.SIGTERM)
        self.assertEqual(srv.wait(15), 0)
