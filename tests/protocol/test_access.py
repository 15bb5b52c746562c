"""Client address rules (the seed's Net::Server allow/deny/cidr_allow/cidr_deny):
--cidr-allow/--cidr-deny (IPv4 and IPv6, repeatable) and --allow/--deny (POSIX regexes on
the address); a refused client gets '* BYE' and is closed, logged; deny wins over allow;
with allow rules only matching clients get in; bad rules stop the start."""

import unittest

from harness import UimapTestCase, ipv6_loopback_available, run_uimapd


class Access(UimapTestCase):
    def refused(self, srv, source, host="127.0.0.1"):
        c = self.connect(srv, greeting=False, source=source, host=host)
        line = c.readline()
        if line.startswith("* BYE"):
            self.assertIn("Access denied", line)
            self.assertClosed(c)
            return True
        self.assertTrue(line.startswith("* OK"), line)
        return False

    def test_cidr_deny(self):
        srv = self.start_server("--cidr-deny", "127.0.0.2/32", "--cidr-deny", "127.0.1.0/24")
        self.assertTrue(self.refused(srv, "127.0.0.2"))
        self.assertTrue(self.refused(srv, "127.0.1.77"))
        self.assertFalse(self.refused(srv, "127.0.0.1"))
        self.assertFalse(self.refused(srv, "127.0.0.3"))
        self.assertTrue(srv.wait_log(r"rejected: \* BYE Access denied"))

    def test_cidr_allow_only(self):
        srv = self.start_server("--cidr-allow", "127.0.0.0/30")
        self.assertFalse(self.refused(srv, "127.0.0.1"))
        self.assertFalse(self.refused(srv, "127.0.0.3"))
        self.assertTrue(self.refused(srv, "127.0.0.4"))
        self.assertTrue(self.refused(srv, "127.9.9.9"))

    def test_deny_wins_over_allow(self):
        srv = self.start_server("--cidr-allow", "127.0.0.0/8", "--deny", r"^127\.0\.0\.3$")
        self.assertFalse(self.refused(srv, "127.0.0.1"))
        self.assertTrue(self.refused(srv, "127.0.0.3"))
        self.assertFalse(self.refused(srv, "127.0.0.33"))

    def test_regex_allow(self):
        srv = self.start_server("--allow", r"^127\.0\.0\.[12]$")
        self.assertFalse(self.refused(srv, "127.0.0.2"))
        self.assertTrue(self.refused(srv, "127.0.0.5"))

    @unittest.skipUnless(ipv6_loopback_available(), "no IPv6 loopback")
    def test_ipv6(self):
        srv = self.start_server("--cidr-deny", "::1/128", listen="[::1]:0")
        self.assertTrue(self.refused(srv, "::1", host="::1"))
        srv2 = self.start_server("--cidr-allow", "::/0", "--cidr-deny", "10.0.0.0/8",
                                 listen="[::1]:0")
        self.assertFalse(self.refused(srv2, "::1", host="::1"))

    def test_bad_rules_stop_the_start(self):
        for opt, value in (("--cidr-allow", "127.0.0.0/33"), ("--cidr-deny", "nonsense"),
                           ("--cidr-deny", "::1/129"), ("--deny", "(unclosed"),
                           ("--cidr-allow", "1.2.3.4/")):
            p = run_uimapd(["--listen", "127.0.0.1:0", opt, value])
            self.assertNotEqual(p.returncode, 0, (opt, value))
            self.assertIn(value, p.stderr)
