"""LIST-EXTENDED (RFC 5258), SPECIAL-USE and CREATE-SPECIAL-USE (RFC 6154), LIST-STATUS
(RFC 5819): selection and return options, several patterns, \\NonExistent, \\Subscribed,
CHILDINFO, special-use attributes (persisted), STATUS in LIST."""

import os
import re
import signal

from harness import capabilities
from mailhelpers import MailTestCase, list_entries, texts

LIST_RE = re.compile(r'^\* LIST \(([^)]*)\) "/" ("(?:[^"\\]|\\.)*"|\S+)(?: (.*))?$')


def listing(untagged):
    """[(name, set of attributes, extended data text or None)] of LIST responses, in order."""
    out = []
    for t in texts(untagged):
        m = LIST_RE.match(t)
        if not m:
            continue
        name = m.group(2)
        if name.startswith('"'):
            name = re.sub(r'\\(.)', r'\1', name[1:-1])
        out.append((name, set(m.group(1).split()), m.group(3)))
    return out


def names(untagged):
    return [n for n, _, _ in listing(untagged)]


class ListExtended(MailTestCase):
    def setUp(self):
        super().setUp()
        self.c = self.session()
        for name in ("Fruit/Apple", "Fruit/Banana", "Tofu", "Vegetable/Broccoli"):
            self.ok(self.c, "c", f"CREATE {name}")
        for name in ("Fruit/Banana", "Tofu", "Vegetable/Broccoli", "Peach"):
            self.ok(self.c, "s", f"SUBSCRIBE {name}")   # Peach does not exist

    def test_capabilities(self):
        caps = capabilities(texts(self.ok(self.c, "c", "CAPABILITY"))[0])
        for cap in ("LIST-EXTENDED", "LIST-STATUS", "SPECIAL-USE", "CREATE-SPECIAL-USE"):
            self.assertIn(cap, caps)

    def test_plain_list_unchanged(self):
        got = list_entries(self.ok(self.c, "l", 'LIST "" Fruit/*'))
        self.assertEqual(set(got), {"Fruit/Apple", "Fruit/Banana"})
        self.assertEqual(got["Fruit/Apple"][0], {"\\hasnochildren"})

    def test_selection_subscribed(self):
        """RFC 5258 §3.1 SUBSCRIBED: subscriptions only, \\Subscribed on each, a
        subscription without a mailbox is \\NonExistent."""
        got = {n: (a, x) for n, a, x in listing(self.ok(self.c, "a", 'LIST (SUBSCRIBED) "" *'))}
        self.assertEqual(set(got), {"Fruit/Banana", "Tofu", "Vegetable/Broccoli", "Peach"})
        for n, (attrs, _) in got.items():
            self.assertIn("\\Subscribed", attrs, n)
        self.assertIn("\\NonExistent", got["Peach"][0])
        self.assertNotIn("\\NonExistent", got["Tofu"][0])

    def test_recursivematch_childinfo(self):
        """RFC 5258 §3.5: with RECURSIVEMATCH, a parent matched by % whose child is
        subscribed comes back with CHILDINFO ("SUBSCRIBED")."""
        got = {n: (a, x) for n, a, x in
               listing(self.ok(self.c, "a", 'LIST (SUBSCRIBED RECURSIVEMATCH) "" %'))}
        self.assertEqual(set(got), {"Fruit", "Tofu", "Vegetable", "Peach"})
        self.assertEqual(got["Fruit"][1], '("CHILDINFO" ("SUBSCRIBED"))')
        self.assertNotIn("\\Subscribed", got["Fruit"][0])
        self.assertIsNone(got["Tofu"][1])
        # without RECURSIVEMATCH the unsubscribed parents are not listed
        self.assertEqual(set(names(self.ok(self.c, "b", 'LIST (SUBSCRIBED) "" %'))),
                         {"Tofu", "Peach"})

    def test_selection_errors(self):
        for tag, text in (("a", 'LIST (RECURSIVEMATCH) "" *'),
                          ("b", 'LIST (REMOTE RECURSIVEMATCH) "" *'),
                          ("c", 'LIST (BOGUS) "" *'),
                          ("d", 'LIST "" * RETURN (BOGUS)'),
                          ("e", 'LIST "" * RETURN (STATUS)'),
                          ("f", 'LIST "" * RETURN (STATUS ())'),
                          ("g", 'LIST "" * RETURN (STATUS (NOSUCHITEM))'),
                          ("h", 'LIST "" ()'),
                          ("i", 'LIST "" * RETURN')):
            self.status_of(self.c, tag, text, "BAD")
        # REMOTE alone is allowed (no remote mailboxes here) and changes nothing
        self.assertEqual(set(names(self.ok(self.c, "j", 'LIST (REMOTE) "" Fruit/%'))),
                         {"Fruit/Apple", "Fruit/Banana"})

    def test_return_subscribed_and_children(self):
        got = {n: a for n, a, _ in
               listing(self.ok(self.c, "a", 'LIST "" "Fruit*" RETURN (SUBSCRIBED CHILDREN)'))}
        self.assertEqual(got["Fruit"], {"\\HasChildren"})
        self.assertEqual(got["Fruit/Banana"], {"\\HasNoChildren", "\\Subscribed"})
        self.assertEqual(got["Fruit/Apple"], {"\\HasNoChildren"})

    def test_several_patterns_each_name_once(self):
        """RFC 5258 §3: several patterns; a mailbox matched twice is listed once."""
        u = self.ok(self.c, "a", 'LIST "" (INBOX "Fruit/%" "Fruit/Apple" inbox)')
        got = names(u)
        self.assertEqual(sorted(got), ["Fruit/Apple", "Fruit/Banana", "INBOX"])
        self.assertEqual(len(got), len(set(got)))

    def test_list_status(self):
        """RFC 5819: a STATUS response follows the LIST of each selectable mailbox."""
        self.fill(self.c, "Tofu", 3)
        u = self.ok(self.c, "a", 'LIST "" (Tofu Fruit) RETURN (STATUS (MESSAGES UNSEEN SIZE))')
        t = texts(u)
        i = next(k for k, x in enumerate(t) if x.startswith("* LIST") and x.endswith(" Tofu"))
        m = re.match(r"^\* STATUS Tofu \(MESSAGES 3 UNSEEN 3 SIZE (\d+)\)$", t[i + 1])
        self.assertIsNotNone(m, t)
        self.assertTrue(any(x.startswith("* STATUS Fruit ") for x in t))

    def test_list_status_skips_noselect_and_nonexistent(self):
        self.ok(self.c, "d", "DELETE Fruit")       # has children: becomes \Noselect
        u = self.ok(self.c, "a", 'LIST (SUBSCRIBED RECURSIVEMATCH) "" "*" RETURN (STATUS '
                    '(MESSAGES))')
        t = texts(u)
        status_of = [x for x in t if x.startswith("* STATUS ")]
        self.assertFalse(any(" Fruit " in x or "Peach" in x for x in status_of), t)
        self.assertTrue(any(x.startswith("* STATUS Tofu ") for x in status_of), t)


class SpecialUse(MailTestCase):
    def test_default_mailboxes_have_attributes(self):
        c = self.session()
        want = {"Archive": "\\Archive", "Drafts": "\\Drafts", "Junk": "\\Junk",
                "Sent": "\\Sent", "Trash": "\\Trash"}
        got = {n: a for n, a, _ in listing(self.ok(c, "a", 'LIST "" * RETURN (SPECIAL-USE)'))}
        for name, attr in want.items():
            self.assertIn(attr, got[name], name)
        self.assertFalse(got["INBOX"] & set(want.values()))
        # RFC 6154 §3: the SPECIAL-USE selection option lists only those mailboxes
        self.assertEqual(set(names(self.ok(c, "b", 'LIST (SPECIAL-USE) "" *'))), set(want))
        # and a plain LIST shows them too (as Dovecot does)
        got = {n: a for n, a, _ in listing(self.ok(c, "c", 'LIST "" %'))}
        self.assertIn("\\Trash", got["Trash"])

    def test_create_special_use(self):
        c = self.session()
        self.ok(c, "a", "CREATE Old (USE (\\Archive))")
        self.ok(c, "b", "CREATE Bin (USE (\\Trash \\Junk))")
        got = {n: a for n, a, _ in listing(self.ok(c, "c", 'LIST "" (Old Bin)'))}
        self.assertIn("\\Archive", got["Old"])
        self.assertTrue({"\\Trash", "\\Junk"} <= got["Bin"])
        for tag, attr in (("d", "\\All"), ("e", "\\Flagged"), ("f", "\\Bogus")):
            _, t = self.status_of(c, tag, f"CREATE X{tag} (USE ({attr}))", "NO")
            self.assertIn("[USEATTR]", t)
        self.assertEqual(names(self.ok(c, "g", 'LIST "" "X*"')), [], "nothing created")
        for tag, text in (("h", "CREATE Y (USE \\Archive)"), ("i", "CREATE Y (BOGUS (\\Archive))"),
                          ("j", "CREATE Y ()")):
            self.status_of(c, tag, text, "BAD")

    def test_special_use_persists(self):
        data_dir = os.path.join(self.tmpdir, "data")
        srv = self.start_server("--data-dir", data_dir, "--journal-fsync", "always",
                                check_exit=False)
        c = self.session(srv=srv)
        self.ok(c, "a", "CREATE Keep (USE (\\Archive))")
        os.kill(srv.pid, signal.SIGKILL)
        srv.wait(10)
        srv2 = self.start_server("--data-dir", data_dir)
        c2 = self.session(srv=srv2)
        got = {n: a for n, a, _ in listing(self.ok(c2, "b", 'LIST "" Keep'))}
        self.assertIn("\\Archive", got["Keep"])
