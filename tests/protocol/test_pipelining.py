"""Pipelined commands in one segment, and commands split into one byte per segment."""

import unittest

from harness import UimapTestCase, sasl_plain


class Pipelining(UimapTestCase):
    def setUp(self):
        super().setUp()
        self.srv = self.start_server()
        self.c = self.connect(self.srv)

    def read_all_tagged(self, tags, timeout=10):
        """Read until every tag has its tagged response; returns (all lines, tagged order)."""
        lines, order = [], []
        pending = set(tags)
        while pending:
            line = self.c.readline(timeout)
            lines.append(line)
            tag = line.split(" ", 1)[0]
            if tag in pending:
                pending.discard(tag)
                order.append(tag)
        return lines, order

    def test_many_commands_in_one_send(self):
        cmds = [("t1", "CAPABILITY"), ("t2", "NOOP"), ("t3", "ID NIL"),
                ("t4", "LOGIN alice secret"), ("t5", "NOOP"), ("t6", "ENABLE FOO"),
                ("t7", "LOGOUT")]
        self.c.send("".join(f"{t} {c}\r\n" for t, c in cmds))
        lines, order = self.read_all_tagged([t for t, _ in cmds])
        self.assertEqual(order, [t for t, _ in cmds], lines)
        tagged = {l.split(" ", 1)[0]: l for l in lines if l.startswith("t")}
        for t, _ in cmds:
            self.assertTagged(tagged[t], t, "OK")
        # untagged data comes before its command's tagged response
        self.assertLess(lines.index(next(l for l in lines if l.startswith("* CAPABILITY"))),
                        lines.index(tagged["t1"]))
        self.assertLess(lines.index(next(l for l in lines if l.startswith("* ID "))),
                        lines.index(tagged["t3"]))
        self.assertLess(lines.index(next(l for l in lines if l.startswith("* ENABLED"))),
                        lines.index(tagged["t6"]))
        self.assertLess(lines.index(next(l for l in lines if l.startswith("* BYE"))),
                        lines.index(tagged["t7"]))
        self.assertClosed(self.c)

    def test_commands_after_failed_login_in_one_send(self):
        self.c.send("a LOGIN alice wrong\r\nb NOOP\r\nc LOGIN alice secret\r\nd ENABLE X\r\n")
        lines, order = self.read_all_tagged(["a", "b", "c", "d"])
        self.assertEqual(order, ["a", "b", "c", "d"], lines)
        by_tag = {l.split(" ", 1)[0]: l for l in lines}
        self.assertTagged(by_tag["a"], "a", "NO")
        self.assertTagged(by_tag["b"], "b", "OK")
        self.assertTagged(by_tag["c"], "c", "OK")
        self.assertTagged(by_tag["d"], "d", "OK")

    def test_many_noops_in_one_send(self):
        n = 500
        self.c.login()  # before login only --unauth-commands (10) commands are allowed
        self.c.send("".join(f"n{i} NOOP\r\n" for i in range(n)))
        lines, order = self.read_all_tagged([f"n{i}" for i in range(n)])
        self.assertEqual(order, [f"n{i}" for i in range(n)])

    def test_sasl_ir_then_commands_in_one_send(self):
        self.c.send("a AUTHENTICATE PLAIN " + sasl_plain("alice", "secret") +
                    "\r\nb ENABLE X\r\nc NOOP\r\n")
        lines, order = self.read_all_tagged(["a", "b", "c"])
        self.assertEqual(order, ["a", "b", "c"])
        self.assertTrue(all(" OK " in l for l in lines if l[0] in "abc"), lines)

    def test_one_byte_per_send_sync_literals(self):
        self.c.send_bytewise("a LOGIN {5}\r\n")
        self.assertTrue(self.c.readline().startswith("+"))
        self.c.send_bytewise("alice {6}\r\n")
        self.assertTrue(self.c.readline().startswith("+"))
        self.c.send_bytewise("secret\r\n")
        _, tagged = self.c.read_tagged("a")
        self.assertTagged(tagged, "a", "OK")
        self.c.send_bytewise("b NOOP\r\n")
        _, tagged = self.c.read_tagged("b")
        self.assertTagged(tagged, "b", "OK")

    def test_one_byte_per_send_literal_plus(self):
        self.c.send_bytewise("a LOGIN {5+}\r\nalice {6+}\r\nsecret\r\nb NOOP\r\n")
        _, tagged = self.c.read_tagged("a")
        self.assertTagged(tagged, "a", "OK")
        _, tagged = self.c.read_tagged("b")
        self.assertTagged(tagged, "b", "OK")

    def test_one_byte_per_send_authenticate_continuation(self):
        self.c.send_bytewise("a AUTHENTICATE PLAIN\r\n")
        self.assertTrue(self.c.readline().startswith("+"))
        self.c.send_bytewise(sasl_plain("alice", "secret") + "\r\n")
        _, tagged = self.c.read_tagged("a")
        self.assertTagged(tagged, "a", "OK")

    def test_bare_lf_line_ends(self):
        self.c.send("a NOOP\nb LOGIN alice secret\n")
        _, tagged = self.c.read_tagged("a")
        self.assertTagged(tagged, "a", "OK")
        _, tagged = self.c.read_tagged("b")
        self.assertTagged(tagged, "b", "OK")


if __name__ == "__main__":
    unittest.main()
