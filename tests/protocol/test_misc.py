"""Command errors, ID, ENABLE, NOOP, LOGOUT, IPv6 listening."""

import unittest

from harness import UimapTestCase, capabilities, ipv6_loopback_available


class CommandErrors(UimapTestCase):
    def setUp(self):
        super().setUp()
        self.srv = self.start_server()
        self.c = self.connect(self.srv)

    def test_unknown_command(self):
        _, tagged = self.c.command("a", "FROBNICATE x y")
        self.assertTagged(tagged, "a", "BAD")
        self.assertIn("FROBNICATE", tagged)
        _, tagged = self.c.command("b", "NOOP")
        self.assertTagged(tagged, "b", "OK")

    def test_unknown_command_after_login(self):
        self.c.login()
        _, tagged = self.c.command("a", "XYZZY")
        self.assertTagged(tagged, "a", "BAD", "XYZZY")

    def test_command_not_allowed_before_login(self):
        _, tagged = self.c.command("a", "ENABLE CONDSTORE")
        self.assertTagged(tagged, "a", "BAD")
        self.assertIn("ENABLE", tagged)

    def test_bad_tag(self):
        for bad in ("+a NOOP", "a*b NOOP", "a%b NOOP", '"a" NOOP', "(a) NOOP", "{a} NOOP"):
            self.c.send(bad + "\r\n")
            line = self.c.readline()
            self.assertRegex(line, r"^\* BAD ", f"for {bad!r}")
        _, tagged = self.c.command("b", "NOOP")
        self.assertTagged(tagged, "b", "OK")

    def test_tag_only(self):
        self.c.send("a\r\n")
        line = self.c.readline()
        self.assertRegex(line, r"^(a|\*) BAD ")
        self.c.send("a \r\n")
        line = self.c.readline()
        self.assertRegex(line, r"^(a|\*) BAD ")

    def test_empty_line(self):
        self.c.send("\r\n")
        line = self.c.readline()
        self.assertRegex(line, r"^\* BAD ")
        _, tagged = self.c.command("b", "NOOP")
        self.assertTagged(tagged, "b", "OK")

    def test_double_space(self):
        _, tagged = self.c.command("a", "LOGIN  alice secret")
        self.assertTagged(tagged, "a", "BAD")
        _, tagged = self.c.command("b", "NOOP ")
        self.assertTagged(tagged, "b", "BAD")

    def test_noop_with_arguments(self):
        _, tagged = self.c.command("a", "NOOP x")
        self.assertTagged(tagged, "a", "BAD")

    def test_commands_case_insensitive(self):
        _, tagged = self.c.command("a", "nOoP")
        self.assertTagged(tagged, "a", "OK")
        _, tagged = self.c.command("b", "login alice secret")
        self.assertTagged(tagged, "b", "OK")

    def test_unbalanced_parens(self):
        _, tagged = self.c.command("a", 'ID ("name" "x"')
        self.assertTagged(tagged, "a", "BAD")
        _, tagged = self.c.command("b", 'ID "name" "x")')
        self.assertTagged(tagged, "b", "BAD")
        _, tagged = self.c.command("c", "NOOP")
        self.assertTagged(tagged, "c", "OK")

    def test_deep_nesting(self):
        self.c.login()
        _, tagged = self.c.command("a", "ENABLE " + "(" * 200 + ")" * 200)
        self.assertTagged(tagged, "a", "BAD")
        _, tagged = self.c.command("b", "NOOP")
        self.assertTagged(tagged, "b", "OK")

    def test_8bit_and_control_bytes(self):
        self.c.send(b"a NOOP \x01\x02\r\n")
        self.assertRegex(self.c.readline(), r"^(a|\*) BAD ")
        self.c.send(b"b \xff\xfe\r\n")
        self.assertRegex(self.c.readline(), r"^(b|\*) BAD ")
        _, tagged = self.c.command("c", "NOOP")
        self.assertTagged(tagged, "c", "OK")


class IdEnable(UimapTestCase):
    def setUp(self):
        super().setUp()
        # test_id_bad_arguments sends more than the default 10 commands before login
        self.srv = self.start_server("--unauth-commands", "0")
        self.c = self.connect(self.srv)

    def test_id_with_list(self):
        untagged, tagged = self.c.command("a", 'ID ("name" "x" "version" "1.0")')
        self.assertTagged(tagged, "a", "OK")
        ids = [l for l in untagged if l.startswith("* ID ")]
        self.assertEqual(len(ids), 1, untagged)
        self.assertRegex(ids[0], r'^\* ID \("name" "uimap"( "[^"]*" "[^"]*")*\)$')
        self.assertIsNotNone(self.srv.wait_log(r"client ID: name=x"), self.srv.stderr())

    def test_id_nil(self):
        untagged, tagged = self.c.command("a", "ID NIL")
        self.assertTagged(tagged, "a", "OK")
        self.assertTrue(untagged and untagged[0].startswith('* ID ("name" "uimap"'), untagged)

    def test_id_nil_value(self):
        _, tagged = self.c.command("a", 'ID ("name" NIL)')
        self.assertTagged(tagged, "a", "OK")

    def test_id_empty_list(self):
        _, tagged = self.c.command("a", "ID ()")
        self.assertRegex(tagged, r"^a (OK|BAD) ")

    def test_id_after_login(self):
        self.c.login()
        untagged, tagged = self.c.command("a", 'ID ("name" "x")')
        self.assertTagged(tagged, "a", "OK")
        self.assertTrue(untagged[0].startswith('* ID ("name" "uimap"'))

    def test_id_bad_arguments(self):
        bad = [
            "ID",                         # no argument
            "ID foo",                     # atom, not NIL or a list
            'ID "name"',                  # string, not a list
            'ID ("name")',                # odd number of elements
            'ID (name "x")',              # field must be a string
            'ID ("name" "x") NIL',        # two arguments
            'ID ("name" ("x"))',          # value must be a string or NIL
            'ID ("' + "f" * 31 + '" "x")',  # field longer than 30 octets
            'ID ("name" "' + "v" * 1025 + '")',  # value longer than 1024 octets
            "ID (" + '"f" "v" ' * 30 + '"f" "v")',  # more than 30 pairs
        ]
        for i, cmd in enumerate(bad):
            tag = f"b{i}"
            _, tagged = self.c.command(tag, cmd)
            self.assertTagged(tagged, tag, "BAD")
        _, tagged = self.c.command("z", "NOOP")
        self.assertTagged(tagged, "z", "OK")

    def test_id_thirty_pairs_ok(self):
        _, tagged = self.c.command("a", "ID (" + " ".join(f'"f{i}" "v"' for i in range(30)) + ")")
        self.assertTagged(tagged, "a", "OK")

    def test_enable_after_login(self):
        self.c.login()
        untagged, tagged = self.c.command("a", "ENABLE CONDSTORE")
        self.assertTagged(tagged, "a", "OK")
        self.assertTrue([l for l in untagged if l == "* ENABLED" or l.startswith("* ENABLED ")],
                        untagged)

    def test_enable_unknown_extension_ignored(self):
        self.c.login()
        untagged, tagged = self.c.command("a", "ENABLE X-NO-SUCH-THING")
        self.assertTagged(tagged, "a", "OK")
        enabled = [l for l in untagged if l.startswith("* ENABLED")]
        self.assertEqual(len(enabled), 1)
        self.assertNotIn("X-NO-SUCH-THING", enabled[0])

    def test_enable_without_arguments(self):
        self.c.login()
        _, tagged = self.c.command("a", "ENABLE")
        self.assertTagged(tagged, "a", "BAD")

    def test_enable_with_non_atom(self):
        self.c.login()
        _, tagged = self.c.command("a", 'ENABLE "CONDSTORE"')
        self.assertTagged(tagged, "a", "BAD")


class Logout(UimapTestCase):
    def setUp(self):
        super().setUp()
        self.srv = self.start_server()

    def check_logout(self, c):
        c.send("z LOGOUT\r\n")
        first = c.readline()
        self.assertTrue(first.startswith("* BYE"), first)
        tagged = c.readline()
        self.assertTagged(tagged, "z", "OK")
        rest = self.assertClosed(c)
        self.assertEqual(rest, [])

    def test_logout_before_login(self):
        self.check_logout(self.connect(self.srv))

    def test_logout_after_login(self):
        c = self.connect(self.srv)
        c.login()
        self.check_logout(c)

    def test_logout_with_arguments(self):
        c = self.connect(self.srv)
        _, tagged = c.command("a", "LOGOUT now")
        self.assertTagged(tagged, "a", "BAD")
        _, tagged = c.command("b", "NOOP")
        self.assertTagged(tagged, "b", "OK")

    def test_commands_after_logout_ignored(self):
        c = self.connect(self.srv)
        c.send("a LOGOUT\r\nb NOOP\r\n")
        lines = self.assertClosed(c)
        self.assertTrue(lines[0].startswith("* BYE"), lines)
        self.assertTagged(lines[1], "a", "OK")
        self.assertFalse([l for l in lines if l.startswith("b ")], lines)

    def test_client_disconnect_without_logout(self):
        c = self.connect(self.srv)
        c.login()
        c.send("a NOOP\r\n")   # a reply the client never reads
        c.close()
        c2 = self.connect(self.srv)
        _, tagged = c2.command("b", "NOOP")
        self.assertTagged(tagged, "b", "OK")


class IPv6(UimapTestCase):
    def test_listen_ipv6_loopback(self):
        if not ipv6_loopback_available():
            self.skipTest("::1 is not available")
        srv = self.start_server(listen="[::1]:0")
        self.assertIsNotNone(srv.wait_log(r"listening on \[::1\]:0 port \d+"), srv.stderr())
        c = self.connect(srv, host="::1")
        self.assertIn("IMAP4rev1", capabilities(c.greeting))
        c.login()
        self.check_addr_logged(srv)

    def check_addr_logged(self, srv):
        self.assertIsNotNone(srv.wait_log(r"\[::1\]:\d+\] login: user=alice"), srv.stderr())

    def test_listen_ipv4_and_ipv6(self):
        if not ipv6_loopback_available():
            self.skipTest("::1 is not available")
        srv = self.start_server(listen=["127.0.0.1:0", "[::1]:0"])
        srv.wait_log(r"listening on \[::1\]")
        # both listeners report their port
        m4 = srv.wait_log(r"listening on 127\.0\.0\.1:0 port (\d+)")
        m6 = srv.wait_log(r"listening on \[::1\]:0 port (\d+)")
        self.assertIsNotNone(m4)
        self.assertIsNotNone(m6)
        self.connect(int(m4.group(1))).login()
        self.connect(int(m6.group(1)), host="::1").login()


if __name__ == "__main__":
    unittest.main()
