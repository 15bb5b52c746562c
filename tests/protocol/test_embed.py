"""The embedding example (examples/embed.c): custom auth callback and XHELLO command."""

import os
import signal
import subprocess
import time
import unittest

from harness import EMBED_EXAMPLE, UimapTestCase, capabilities, free_port, sasl_plain


class EmbedBase(UimapTestCase):
    def setUp(self):
        super().setUp()
        if not os.access(EMBED_EXAMPLE, os.X_OK):
            self.skipTest(f"{EMBED_EXAMPLE} not built")
        # the example takes a fixed address: find a free port, retry if it gets taken
        for attempt in range(5):
            port = free_port()
            try:
                self.srv = self.start_process([EMBED_EXAMPLE, f"127.0.0.1:{port}"])
                break
            except RuntimeError as e:
                # retry only when another process took the port in the meantime
                if attempt == 4 or "in use" not in str(e):
                    raise
        self.assertEqual(self.srv.port, port)


class EmbedExample(EmbedBase):
    def test_login_and_xhello(self):
        c = self.connect(self.srv)
        caps = capabilities(c.greeting)
        self.assertIn("XHELLO", caps)
        self.assertIn("AUTH=PLAIN", caps)
        tagged = c.login("demo", "demo", tag="a")
        self.assertIn("XHELLO", capabilities(tagged))
        untagged, tagged = c.command("b", "XHELLO")
        self.assertTagged(tagged, "b", "OK")
        self.assertEqual(untagged, ["* XHELLO demo"])

    def test_capability_lists_xhello(self):
        c = self.connect(self.srv)
        untagged, tagged = c.command("a", "CAPABILITY")
        self.assertTagged(tagged, "a", "OK")
        self.assertIn("XHELLO", capabilities(untagged[0]))
        c.login("demo", "demo", tag="b")
        untagged, tagged = c.command("c", "CAPABILITY")
        self.assertIn("XHELLO", capabilities(untagged[0]))

    def test_xhello_case_insensitive(self):
        c = self.connect(self.srv)
        c.login("demo", "demo")
        untagged, tagged = c.command("b", "xhello")
        self.assertTagged(tagged, "b", "OK")
        self.assertEqual(untagged, ["* XHELLO demo"])

    def test_xhello_before_login(self):
        c = self.connect(self.srv)
        _, tagged = c.command("a", "XHELLO")
        self.assertTagged(tagged, "a", "BAD")

    def test_wrong_password(self):
        c = self.connect(self.srv)
        t0 = time.monotonic()
        _, tagged = c.command("a", "LOGIN demo wrong", timeout=10)
        self.assertTagged(tagged, "a", "NO", "[AUTHENTICATIONFAILED]")
        # the default failed-login delay (1 s) applies to embedded servers too
        self.assertGreaterEqual(time.monotonic() - t0, 0.9)

    def test_authenticate_plain(self):
        c = self.connect(self.srv)
        _, tagged = c.command("a", "AUTHENTICATE PLAIN " + sasl_plain("demo", "demo"))
        self.assertTagged(tagged, "a", "OK")
        untagged, _ = c.command("b", "XHELLO")
        self.assertEqual(untagged, ["* XHELLO demo"])

    def test_sigterm_stops_it(self):
        c = self.connect(self.srv)
        c.login("demo", "demo")
        self.srv.signal(signal.SIGTERM)
        try:
            rc = self.srv.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.fail("embed-example did not stop on SIGTERM")
        self.assertEqual(rc, 0, self.srv.stderr())
        lines = self.assertClosed(c, timeout=2)
        self.assertTrue(lines and lines[0].startswith("* BYE"), lines)


if __name__ == "__main__":
    unittest.main()


class EmbedConnections(EmbedBase):
    """The embedding API's connection list and counts (the seed's connections,
    concurrent_user_connections, concurrent_mailbox_connections), through XWHO."""

    def test_xwho(self):
        a = self.connect(self.srv)
        a.login("demo", "demo", tag="a")
        b = self.connect(self.srv)
        b.login("demo", "demo", tag="b")
        _, t = b.command("s", "SELECT inbox")
        self.assertTagged(t, "s", "OK")
        anon = self.connect(self.srv)
        untagged, t = a.command("w", "XWHO")
        self.assertTagged(t, "w", "OK")
        rows = [u for u in untagged if u.startswith("* XWHO c")]
        self.assertEqual(len(rows), 3, untagged)
        self.assertEqual(sorted(r.split(" ", 3)[3] for r in rows),
                         ["- -", "demo -", "demo inbox"])
        self.assertIn("* XWHO-COUNT user 2 inbox 1", untagged)
        b.close()
        anon.close()
        deadline = time.monotonic() + 10
        while True:
            untagged, _ = a.command("x", "XWHO")
            if "* XWHO-COUNT user 1 inbox 0" in untagged or time.monotonic() > deadline:
                break
            time.sleep(0.05)
        self.assertIn("* XWHO-COUNT user 1 inbox 0", untagged)


class EmbedIdentity(EmbedBase):
    def test_id_fields_set_by_the_embedder(self):
        c = self.connect(self.srv)
        untagged, tagged = c.command("a", 'ID ("name" "test")')
        self.assertTagged(tagged, "a", "OK")
        self.assertEqual(untagged, ['* ID ("name" "embed-example" "version" "'
                                    + untagged[0].split('"version" "')[1].split('"')[0]
                                    + '" "vendor" "Example Appliances" "support-url" '
                                    '"mailto:support@example.com")'])

    def test_capability_strings_match_the_wire(self):
        c = self.connect(self.srv)
        untagged, tagged = c.command("a", "XCAPS")
        self.assertTagged(tagged, "a", "OK")
        before = untagged[0].split("XCAPS BEFORE ", 1)[1]
        after = untagged[1].split("XCAPS AFTER ", 1)[1]
        self.assertEqual(before.split(), capabilities(c.greeting))
        untagged, _ = c.command("b", "CAPABILITY")
        self.assertEqual(("* CAPABILITY " + before), untagged[0])
        c.login("demo", "demo", tag="c")
        untagged, _ = c.command("d", "CAPABILITY")
        self.assertEqual(("* CAPABILITY " + after), untagged[0])
        self.assertNotIn("AUTH=PLAIN", after.split())
        self.assertIn("XHELLO", after.split())
