"""Trusted proxies (issue 14): from an address in --trusted-proxy, an ID with
x-originating-ip / x-originating-port (what Dovecot's IMAP proxy sends) names the real
client, who is then used in the log, the per-address limits, the failed-login delay and
the address rules; from any other peer those fields are ignored."""

from harness import Client, UimapTestCase


class TrustedProxy(UimapTestCase):
    ID = ('ID ("name" "proxy" "x-originating-ip" "{ip}" "x-originating-port" "{port}" '
          '"x-session-id" "s1")')

    def test_real_address_from_a_trusted_proxy(self):
        srv = self.start_server("--trusted-proxy", "127.0.0.2/32", "--login-delay", "0")
        c = self.connect(srv, source="127.0.0.2")
        _, t = c.command("i", self.ID.format(ip="192.0.2.7", port="54321"))
        self.assertTagged(t, "i", "OK")
        self.assertTrue(srv.wait_log(r"\[c\d+ 192\.0\.2\.7:54321\] client address from the "
                                     r"trusted proxy 127\.0\.0\.2:\d+"))
        c.login()
        self.assertTrue(srv.wait_log(r"\[c\d+ 192\.0\.2\.7:54321\] login: user=alice"))
        # IPv6 client too
        d = self.connect(srv, source="127.0.0.2")
        _, t = d.command("i", self.ID.format(ip="2001:db8::5", port="1"))
        self.assertTrue(srv.wait_log(r"\[c\d+ \[2001:db8::5\]:1\] client address"))

    def test_ignored_from_others(self):
        srv = self.start_server("--trusted-proxy", "127.0.0.2/32")
        c = self.connect(srv, source="127.0.0.3")
        _, t = c.command("i", self.ID.format(ip="192.0.2.7", port="1"))
        self.assertTagged(t, "i", "OK")
        c.login()
        self.assertTrue(srv.wait_log(r"\[c\d+ 127\.0\.0\.3:\d+\] login: user=alice"))
        self.assertFalse(any("192.0.2.7" in l and "client address" in l for l in srv.lines()))
        # and without --trusted-proxy at all
        srv2 = self.start_server()
        d = self.connect(srv2, source="127.0.0.2")
        d.command("i", self.ID.format(ip="192.0.2.8", port="1"))
        d.login()
        self.assertTrue(srv2.wait_log(r"\[c\d+ 127\.0\.0\.2:\d+\] login: user=alice"))

    def test_rules_and_limits_see_the_real_client(self):
        srv = self.start_server("--trusted-proxy", "127.0.0.0/8", "--cidr-deny",
                                "192.0.2.0/24", "--max-connections-per-ip", "1")
        # a denied real client: BYE after the ID
        c = self.connect(srv, source="127.0.0.2")
        c.send(self.ID.format(ip="192.0.2.9", port="1").join(["i ", "\r\n"]))
        lines = self.assertClosed(c)
        self.assertTrue(lines and lines[0].startswith("* BYE"), lines)
        self.assertIn("Access denied", lines[0])
        # the per-address limit (1) counts real clients, not the proxy: two clients
        # through the same proxy address are both served
        a = self.connect(srv, source="127.0.0.2")
        _, t = a.command("i", self.ID.format(ip="198.51.100.1", port="1"))
        self.assertTagged(t, "i", "OK")
        b = self.connect(srv, source="127.0.0.2")
        _, t = b.command("i", self.ID.format(ip="198.51.100.2", port="1"))
        self.assertTagged(t, "i", "OK")
        a.login()
        b.login()

    def test_client_on_the_proxy_address(self):
        """A client on the proxy's own host (x-originating-ip = the proxy's address, as
        with Dovecot on loopback): its counters stay on the one entry (this freed the
        entry and used it afterwards)."""
        srv = self.start_server("--trusted-proxy", "127.0.0.2/32")
        for i in range(3):
            c = self.connect(srv, source="127.0.0.2")
            _, t = c.command("i", self.ID.format(ip="127.0.0.2", port=str(1000 + i)))
            self.assertTagged(t, "i", "OK")
            c.login()
            _, t = c.command("n", "NOOP")
            self.assertTagged(t, "n", "OK")
            c.close()
        self.assertTrue(srv.wait_log(r"\[c\d+ 127\.0\.0\.2:1002\] login: user=alice"))
