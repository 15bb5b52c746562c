"""Command line and --config file: precedence, errors, --help, --version."""

import os
import re
import signal
import socket
import time
import unittest

from harness import ROOT_OPTS, UIMAPD, UimapTestCase, capabilities, run_uimapd


class ConfigFile(UimapTestCase):
    def test_config_file_applies(self):
        passwd = self.passwd_file()
        conf = self.write_file("uimapd.conf", f"""# a comment
; another comment

listen = 127.0.0.1:0
passwd = "{passwd}"
allow-plaintext-auth = yes
unauth_commands = 2
login-delay = 0
""")
        srv = self.start_process([UIMAPD] + ROOT_OPTS + ["--config", conf])
        c = self.connect(srv)
        self.assertIn("AUTH=PLAIN", capabilities(c.greeting))
        for i in range(2):
            _, tagged = c.command(f"a{i}", "NOOP")
            self.assertTagged(tagged, f"a{i}", "OK")
        c.send("a2 NOOP\r\n")
        lines = self.assertClosed(c)
        self.assertTrue(lines and lines[0].startswith("* BYE"), lines)
        c2 = self.connect(srv)
        c2.login()

    def test_flags_override_file(self):
        passwd = self.passwd_file()
        conf = self.write_file("uimapd.conf", f"""listen = 127.0.0.1:1
passwd = {passwd}
allow-plaintext-auth = no
unauth-commands = 1
login-delay = 0
""")
        # flags win whether they come before or after --config
        srv = self.start_process([UIMAPD] + ROOT_OPTS + ["--unauth-commands", "3", "--config", conf,
                                  "--listen", "127.0.0.1:0", "--allow-plaintext-auth"])
        self.assertIsNone(srv.wait_log(r"listening on 127\.0\.0\.1:1 ", timeout=0.2),
                          "the file's listen address should be replaced by --listen")
        c = self.connect(srv)
        self.assertIn("AUTH=PLAIN", capabilities(c.greeting))
        for i in range(3):
            _, tagged = c.command(f"a{i}", "NOOP")
            self.assertTagged(tagged, f"a{i}", "OK")
        c.send("a3 NOOP\r\n")
        lines = self.assertClosed(c)
        self.assertTrue(lines and lines[0].startswith("* BYE"), lines)

    def test_config_equals_form(self):
        passwd = self.passwd_file()
        conf = self.write_file("c.conf", f"passwd={passwd}\nlogin_delay=0\n")
        srv = self.start_process([UIMAPD] + ROOT_OPTS + [f"--config={conf}", "--listen=127.0.0.1:0",
                                  "--allow-plaintext-auth=yes"])
        self.connect(srv).login()

    def test_boolean_flag_no(self):
        srv = self.start_server("--allow-plaintext-auth=no", plaintext=False)
        c = self.connect(srv)
        self.assertIn("LOGINDISABLED", capabilities(c.greeting))

    def test_unknown_key_in_file(self):
        conf = self.write_file("bad.conf", "listen = 127.0.0.1:0\n\nno-such-option = 1\n")
        r = run_uimapd(["--config", conf])
        self.assertEqual(r.returncode, 2, r.stderr)
        self.assertIn("no-such-option", r.stderr)
        self.assertIn(":3:", r.stderr)
        self.assertNotIn("listening on", r.stderr)

    def test_bad_value_in_file(self):
        conf = self.write_file("bad.conf", "max-line = lots\n")
        r = run_uimapd(["--config", conf])
        self.assertEqual(r.returncode, 2, r.stderr)
        self.assertIn("max-line", r.stderr)

    def test_missing_config_file(self):
        r = run_uimapd(["--config", "/nonexistent/uimapd.conf"])
        self.assertEqual(r.returncode, 2, r.stderr)
        self.assertIn("/nonexistent/uimapd.conf", r.stderr)


class CommandLine(UimapTestCase):
    def test_unknown_option_before_binding(self):
        # hold a port: if uimapd tried to bind before checking options it would fail
        # with "cannot listen" (exit 1), not with the option error (exit 2)
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            s.listen(1)
            port = s.getsockname()[1]
            r = run_uimapd(["--listen", f"127.0.0.1:{port}", "--no-such-option", "x"])
        self.assertEqual(r.returncode, 2, r.stderr)
        self.assertIn("no-such-option", r.stderr)
        self.assertIn("unknown option", r.stderr)
        self.assertNotIn("listening on", r.stderr)

    def test_unknown_option_last(self):
        r = run_uimapd(["--listen", "127.0.0.1:0", "--no-such-option"])
        self.assertEqual(r.returncode, 2, r.stderr)
        self.assertIn("no-such-option", r.stderr)
        self.assertIn("unknown option", r.stderr,
                      "an unknown option must be reported as unknown, not as lacking a value")

    def test_unexpected_argument(self):
        r = run_uimapd(["stray"])
        self.assertEqual(r.returncode, 2, r.stderr)
        self.assertIn("stray", r.stderr)

    def test_option_needs_value(self):
        r = run_uimapd(["--max-line"])
        self.assertEqual(r.returncode, 2, r.stderr)
        self.assertIn("max-line", r.stderr)

    def test_bad_numbers(self):
        for args in (["--max-line", "abc"], ["--max-line", "0"], ["--unauth-idle", "-1"],
                     ["--max-literal", "12Q"], ["--login-delay", "99999999999"],
                     ["--log-level", "chatty"], ["--allow-plaintext-auth=maybe"]):
            r = run_uimapd(args + ["--listen", "127.0.0.1:0"])
            self.assertEqual(r.returncode, 2, f"{args}: {r.stderr}")
            self.assertNotIn("listening on", r.stderr)

    def test_bad_listen_address(self):
        for spec in ("nonsense", "127.0.0.1:", "[::1:143", "127.0.0.1:http"):
            r = run_uimapd(["--listen", spec])
            self.assertNotEqual(r.returncode, 0, spec)
            self.assertIn(spec, r.stderr)

    def test_port_in_use(self):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            s.listen(1)
            port = s.getsockname()[1]
            r = run_uimapd(["--listen", f"127.0.0.1:{port}"])
        self.assertEqual(r.returncode, 1, r.stderr)
        self.assertIn(str(port), r.stderr)

    def test_missing_passwd_file(self):
        r = run_uimapd(["--listen", "127.0.0.1:0", "--passwd", "/nonexistent/passwd"])
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("/nonexistent/passwd", r.stderr)

    def test_help(self):
        r = run_uimapd(["--help"])
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("Usage", r.stdout)
        for opt in ("--listen", "--passwd", "--max-line", "--unauth-idle", "--config"):
            self.assertIn(opt, r.stdout)

    def test_version(self):
        r = run_uimapd(["--version"])
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertRegex(r.stdout, r"^uimapd \d+\.\d+")

    def test_log_level_debug(self):
        srv = self.start_server("--log-level", "debug")
        self.connect(srv)
        self.assertIsNotNone(srv.wait_log(r"DEBUG .*connected"), srv.stderr())

    def test_log_level_error_quiet(self):
        srv = self.start_server("--log-level", "error", wait_listening=False)
        # nothing to learn the port from at this level: the listening line is INFO
        time.sleep(0.3)
        self.assertTrue(srv.alive(), srv.stderr())
        self.assertNotIn("INFO", srv.stderr())


if __name__ == "__main__":
    unittest.main()


class Reload(UimapTestCase):
    """SIGHUP reads the --config file and the command line again: limits, address rules
    and the log level apply at once; listeners, the data directory and the like are
    logged as needing a restart; a broken file changes nothing."""

    def write_conf(self, extra=""):
        return self.write_file("uimapd.conf", f"passwd = {self.passwd}\n"
                               "allow-plaintext-auth = yes\nunauth-commands = 5\n"
                               "login-delay = 5000\n" + extra)

    def reload(self, srv, pattern):
        n = len([l for l in srv.lines() if re.search(pattern, l)])
        srv.signal(signal.SIGHUP)
        # the n+1-th matching line is this reload's
        deadline = time.monotonic() + 10
        while len([l for l in srv.lines() if re.search(pattern, l)]) <= n:
            self.assertLess(time.monotonic(), deadline, f"no '{pattern}' in the log")
            time.sleep(0.02)

    def test_live_changes_and_restart_ones(self):
        self.passwd = self.passwd_file()
        conf = self.write_conf()
        data = os.path.join(self.tmpdir, "data")
        srv = self.start_process([UIMAPD] + ROOT_OPTS + ["--config", conf, "--listen",
                                  "127.0.0.1:0", "--login-delay", "0"])
        old = self.connect(srv)
        c = self.connect(srv)
        for i in range(3):
            _, t = c.command(f"a{i}", "NOOP")
            self.assertTagged(t, f"a{i}", "OK")
        self.write_conf(f"unauth-commands = 2\ncidr-deny = 127.0.0.3/32\n"
                        f"data-dir = {data}\nlog-level = debug\n")
        self.reload(srv, r"config reloaded: 3 change\(s\) applied, 1 need a restart")
        self.assertTrue(srv.wait_log(r"'unauth-commands' changed; applied"))
        self.assertTrue(srv.wait_log(r"'data-dir' changed; it takes effect after a restart"))
        # login-delay 0 from the command line still wins over the file's 5000
        self.assertFalse(any("'login-delay'" in l for l in srv.lines()))
        self.assertFalse(os.path.exists(data))
        # new connections get the new limit; the refused address is refused
        d = self.connect(srv)
        for i in range(2):
            _, t = d.command(f"b{i}", "NOOP")
            self.assertTagged(t, f"b{i}", "OK")
        d.send("b2 NOOP\r\n")
        lines = self.assertClosed(d)
        self.assertTrue(lines and lines[0].startswith("* BYE"), lines)
        e = self.connect(srv, greeting=False, source="127.0.0.3")
        self.assertTrue(self.assertClosed(e)[0].startswith("* BYE"))
        # the connection from before the reload goes on, and logs in at once
        t = old.login()
        self.assertIn("OK", t)

    def test_broken_file_keeps_the_running_config(self):
        self.passwd = self.passwd_file()
        conf = self.write_conf("unauth-commands = 2\n")
        srv = self.start_process([UIMAPD] + ROOT_OPTS + ["--config", conf, "--listen",
                                  "127.0.0.1:0", "--login-delay", "0"])
        self.write_file("uimapd.conf", "unauth-commands = many\n")
        self.reload(srv, r"config not reloaded, keeping the running one: .*uimapd.conf:1")
        # a bad address rule: the rest applies, the old rules stay
        self.write_conf("unauth-commands = 3\ncidr-deny = 999.1.1.1/8\n")
        self.reload(srv, r"config reloaded")
        self.assertTrue(srv.wait_log(r"address rules not reloaded, keeping the old ones"))
        c = self.connect(srv)
        for i in range(3):
            _, t = c.command(f"a{i}", "NOOP")
            self.assertTagged(t, f"a{i}", "OK")
        c.send("a3 NOOP\r\n")
        self.assertTrue(self.assertClosed(c)[0].startswith("* BYE"))
