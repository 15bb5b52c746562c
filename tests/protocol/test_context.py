"""CONTEXT=SEARCH (RFC 5267 §4.3): SEARCH RETURN (UPDATE) keeps the result up to date with
"* ESEARCH (TAG t) [UID] ADDTO/REMOVEFROM (0 set)" as the mailbox changes (other sessions,
this session's own STORE and implicit \\Seen, new messages, expunges), CANCELUPDATE,
NOUPDATE beyond the limit, contexts ending with the selection; a randomized model check."""

import random
import re
import time

from harness import capabilities
from mailhelpers import MailTestCase, expand_uidset, make_message, texts

UPDATE_RE = re.compile(r'^\* ESEARCH \(TAG "([^"]*)"\)( UID)? (ADDTO|REMOVEFROM) \(0 ([0-9:,]+)\)$')
PUSH_BOUND = 10.0


def updates(untagged):
    """[(tag, uid, 'ADDTO'|'REMOVEFROM', [numbers])] of the update responses, in order."""
    out = []
    for t in texts(untagged):
        if t.startswith("* ESEARCH") and ("ADDTO" in t or "REMOVEFROM" in t):
            m = UPDATE_RE.match(t)
            assert m, f"malformed update: {t!r}"
            out.append((m.group(1), bool(m.group(2)), m.group(3), expand_uidset(m.group(4))))
    return out


def esearch_all(untagged, tag):
    """The ALL set of '* ESEARCH (TAG tag)' as a list (empty when it has none)."""
    for t in texts(untagged):
        if t.startswith(f'* ESEARCH (TAG "{tag}")') and "ADDTO" not in t and "REMOVEFROM" not in t:
            m = re.search(r" ALL ([0-9:,]+)", t)
            return expand_uidset(m.group(1)) if m else []
    raise AssertionError(f"no ESEARCH for {tag}: {untagged!r}")


class Context(MailTestCase):
    def setUp(self):
        super().setUp()
        self.c = self.session()
        self.other = self.session()
        self.fill(self.c, "INBOX", 6)
        self.ok(self.c, "s", "SELECT INBOX")
        self.ok(self.other, "s", "SELECT INBOX")

    def test_capability_and_state(self):
        caps = capabilities(texts(self.ok(self.c, "c", "CAPABILITY"))[0])
        self.assertIn("CONTEXT=SEARCH", caps)
        self.assertIn("ESEARCH", caps)
        c = self.session()
        self.status_of(c, "a", 'CANCELUPDATE "x"', "BAD")   # not selected

    def test_update_alone_answers_no_data(self):
        """As Dovecot: UPDATE without ALL/MIN/MAX/COUNT answers an ESEARCH with no data."""
        u = self.ok(self.c, "t1", "UID SEARCH RETURN (UPDATE) FLAGGED")
        self.assertEqual(texts(u), ['* ESEARCH (TAG "t1") UID'])

    def test_rfc_example_flow(self):
        """RFC 5267 §4.3 example B01: COUNT, then ADDTO as others flag messages, tag reuse
        is BAD, REMOVEFROM before the EXPUNGE, CANCELUPDATE stops it."""
        self.ok(self.other, "k", "STORE 1 +FLAGS.SILENT (\\Deleted $Junk)")
        u = self.ok(self.c, "B01", "UID SEARCH RETURN (UPDATE COUNT) DELETED KEYWORD $Junk")
        self.assertIn('* ESEARCH (TAG "B01") UID COUNT 1', texts(u))
        self.status_of(self.c, "B01", "SEARCH RETURN (UPDATE) FLAGGED", "BAD")
        self.ok(self.other, "k2", "STORE 3:4 +FLAGS.SILENT (\\Deleted $Junk)")
        u = texts(self.ok(self.c, "n1", "NOOP"))
        self.assertEqual(updates(u), [("B01", True, "ADDTO", [3]), ("B01", True, "ADDTO", [4])])
        # RFC 5465 §5.1 ordering: the FETCH that told the change comes first
        self.assertEqual([t.split(" (")[0] for t in u],
                         ["* 3 FETCH", "* ESEARCH", "* 4 FETCH", "* ESEARCH"], u)
        self.ok(self.other, "x", "EXPUNGE")
        u = texts(self.ok(self.c, "n2", "NOOP"))
        ups = updates(u)
        self.assertEqual(sorted(n for _, _, w, ns in ups for n in ns if w == "REMOVEFROM"),
                         [1, 3, 4])
        self.assertLess(u.index('* ESEARCH (TAG "B01") UID REMOVEFROM (0 1)'),
                        u.index("* 1 EXPUNGE"))
        self.assertEqual(texts(self.ok(self.c, "B04", 'CANCELUPDATE "B01"')), [])
        self.append_ok(self.other, "INBOX", make_message(), flags=["\\Deleted", "$Junk"])
        self.assertEqual(updates(self.ok(self.c, "n3", "NOOP")), [])

    def test_own_store_updates_after_fetch(self):
        """This session's own STORE changes its results (sequence numbers for SEARCH)."""
        self.ok(self.c, "t", "SEARCH RETURN (ALL UPDATE) UNFLAGGED")
        u = texts(self.ok(self.c, "a", "STORE 2 +FLAGS (\\Flagged)"))
        self.assertEqual(len(u), 2, u)
        self.assertRegex(u[0], r"^\* 2 FETCH \(FLAGS \(\\Flagged( \\Recent)?\)\)$")
        self.assertEqual(u[1], '* ESEARCH (TAG "t") REMOVEFROM (0 2)')
        u = texts(self.ok(self.c, "b", "STORE 2 -FLAGS.SILENT (\\Flagged)"))
        self.assertEqual(updates(u), [("t", False, "ADDTO", [2])])
        # no change of membership, no update
        self.assertEqual(updates(self.ok(self.c, "c", "STORE 3 +FLAGS (\\Seen)")), [])

    def test_implicit_seen(self):
        """FETCH BODY[] sets \\Seen (RFC 3501 §6.4.5): an UNSEEN context loses the message."""
        self.ok(self.c, "t", "UID SEARCH RETURN (UPDATE) UNSEEN")
        u = texts(self.ok(self.c, "f", "FETCH 4 BODY[]"))
        self.assertEqual(updates(u), [("t", True, "REMOVEFROM", [4])])
        self.assertTrue(u[0].startswith("* 4 FETCH"), u)

    def test_new_messages_after_exists(self):
        """RFC 5267 §4.3.3: ADDTO with sequence numbers comes after the EXISTS."""
        self.ok(self.c, "t", "SEARCH RETURN (UPDATE) SUBJECT new")
        self.ok(self.c, "v", "UID SEARCH RETURN (UPDATE) ALL")
        self.append_ok(self.other, "INBOX", make_message(subject="old one"))
        self.append_ok(self.other, "INBOX", make_message(subject="new one"))
        self.append_ok(self.other, "INBOX", make_message(subject="new two"))
        u = texts(self.ok(self.c, "n", "NOOP"))
        self.assertLess(u.index("* 9 EXISTS"), u.index('* ESEARCH (TAG "t") ADDTO (0 8:9)'))
        self.assertIn('* ESEARCH (TAG "v") UID ADDTO (0 7:9)', u)

    def test_sequence_numbers_fixed_at_command_time(self):
        """RFC 5267 §4.3: numbers in the program are those of when the command ran."""
        self.ok(self.c, "t", "UID SEARCH RETURN (ALL UPDATE) 2:3 FLAGGED")
        self.ok(self.other, "e", "STORE 1 +FLAGS.SILENT (\\Deleted)")
        self.ok(self.other, "x", "EXPUNGE")
        self.ok(self.c, "n", "NOOP")        # message UID 2 is now number 1
        self.append_ok(self.other, "INBOX", make_message(), flags=["\\Flagged"])  # not in 2:3
        self.ok(self.other, "f", "STORE 1:* +FLAGS.SILENT (\\Flagged)")
        u = self.ok(self.c, "m", "NOOP")
        self.assertEqual(sorted(n for _, _, _, ns in updates(u) for n in ns), [2, 3])

    def test_keyword_created_later(self):
        """A keyword that did not exist when the context was made still matches later."""
        self.ok(self.c, "t", "UID SEARCH RETURN (UPDATE) KEYWORD $Later")
        self.ok(self.other, "k", "STORE 5 +FLAGS.SILENT ($Later)")
        self.assertEqual(updates(self.ok(self.c, "n", "NOOP")), [("t", True, "ADDTO", [5])])

    def test_noupdate_beyond_limit(self):
        """RFC 5267 §4.3.1: the 11th context is refused with NOUPDATE but still answered."""
        for i in range(10):
            self.assertEqual(texts(self.ok(self.c, f"x{i}", "UID SEARCH RETURN (UPDATE) ALL")),
                             [f'* ESEARCH (TAG "x{i}") UID'])
        u = texts(self.ok(self.c, "y", "UID SEARCH RETURN (UPDATE COUNT) ALL"))
        self.assertEqual(u, ['* NO [NOUPDATE "y"] Too many search contexts',
                             '* ESEARCH (TAG "y") UID COUNT 6'])
        self.status_of(self.c, "z", 'CANCELUPDATE "y"', "NO")
        self.ok(self.c, "z2", 'CANCELUPDATE "x3" "x4"')
        self.ok(self.c, "y2", "UID SEARCH RETURN (UPDATE) ALL")
        self.fill(self.other, "INBOX", 1)
        tags = sorted(t for t, _, _, _ in updates(self.ok(self.c, "n", "NOOP")))
        self.assertEqual(tags, sorted([f"x{i}" for i in range(10) if i not in (3, 4)] + ["y2"]))

    def test_cancelupdate_errors(self):
        self.ok(self.c, "t", "SEARCH RETURN (UPDATE) ALL")
        self.status_of(self.c, "a", "CANCELUPDATE", "BAD")
        self.status_of(self.c, "b", "CANCELUPDATE t", "BAD")          # not quoted
        self.status_of(self.c, "c", 'CANCELUPDATE "nope"', "NO")
        self.status_of(self.c, "d", 'CANCELUPDATE "t" "nope"', "NO")   # none cancelled
        self.ok(self.c, "e", 'CANCELUPDATE "t"')
        self.status_of(self.c, "f", 'CANCELUPDATE "t"', "NO")

    def test_contexts_end_with_the_selection(self):
        self.ok(self.c, "t", "UID SEARCH RETURN (UPDATE) ALL")
        self.ok(self.c, "s2", "SELECT INBOX")
        self.fill(self.other, "INBOX", 1)
        self.assertEqual(updates(self.ok(self.c, "n", "NOOP")), [])
        self.status_of(self.c, "c", 'CANCELUPDATE "t"', "NO")
        # the tag may be used again for a new context
        self.ok(self.c, "t", "UID SEARCH RETURN (UPDATE) ALL")
        self.ok(self.c, "u", "UNSELECT")
        self.ok(self.c, "s3", "SELECT INBOX")
        self.status_of(self.c, "c2", 'CANCELUPDATE "t"', "NO")

    def test_qresync_sequence_numbers_stay_right(self):
        """With QRESYNC the expunges go out as VANISHED: a REMOVEFROM with a sequence
        number comes after the VANISHED of the messages before it."""
        self.ok(self.c, "e", "ENABLE QRESYNC")
        self.ok(self.c, "t", "SEARCH RETURN (UPDATE) ALL")
        self.ok(self.other, "d", "STORE 2,4 +FLAGS.SILENT (\\Deleted)")
        self.ok(self.other, "x", "EXPUNGE")
        u = texts(self.ok(self.c, "n", "NOOP"))
        self.assertEqual(u[:4], ['* ESEARCH (TAG "t") REMOVEFROM (0 2)', "* VANISHED 2",
                                 '* ESEARCH (TAG "t") REMOVEFROM (0 3)', "* VANISHED 4"])

    def test_idle_pushes_updates(self):
        self.ok(self.c, "t", "UID SEARCH RETURN (UPDATE) FLAGGED")
        self.c.send("i IDLE\r\n")
        self.assertTrue(self.c.readline().startswith("+"))
        self.ok(self.other, "f", "STORE 6 +FLAGS.SILENT (\\Flagged)")
        deadline = time.monotonic() + PUSH_BOUND
        seen = []
        while '* ESEARCH (TAG "t") UID ADDTO (0 6)' not in seen:
            left = deadline - time.monotonic()
            self.assertGreater(left, 0, f"no update pushed: {seen!r}")
            seen.append(self.c.readline(left))
        self.c.send("DONE\r\n")
        _, t = self.c.read_tagged("i")
        self.assertTagged(t, "i", "OK")

    def test_update_with_fetch_attributes(self):
        """RFC 5465 §7: UPDATE (fetch-att ...) sends a FETCH for each new message that
        joins the result, after the EXISTS and before the ADDTO; none for a message that
        joins by a flag change."""
        u = self.ok(self.c, "a00", "SEARCH RETURN (COUNT UPDATE (UID BODY.PEEK[HEADER.FIELDS "
                                   "(TO FROM SUBJECT)])) FROM \"boss\"")
        self.assertEqual(texts(u), ['* ESEARCH (TAG "a00") COUNT 0'])
        self.append_ok(self.other, "INBOX", make_message(subject="Re: good morning",
                                                         from_="boss@example.org"))
        self.append_ok(self.other, "INBOX", make_message(subject="not from the boss"))
        u = self.ok(self.c, "n", "NOOP")
        t = texts(u)
        fetch = [i for i, x in enumerate(t) if x.startswith("* 7 FETCH")]
        self.assertEqual(len(fetch), 1, t)
        self.assertLess(t.index("* 8 EXISTS"), fetch[0])
        self.assertLess(fetch[0], t.index('* ESEARCH (TAG "a00") ADDTO (0 7)'))
        self.assertFalse(any(x.startswith("* 8 FETCH") for x in t), t)
        raw = b"".join(x if isinstance(x, bytes) else x.encode() for x in u)
        self.assertIn(b"Subject: Re: good morning", raw)
        self.assertIn(b"UID 7", raw)
        # a member by a flag change: ADDTO without a FETCH
        self.ok(self.c, "a01", "UID SEARCH RETURN (UPDATE (UID FLAGS)) FLAGGED")
        self.ok(self.other, "f", "STORE 1 +FLAGS (\\Flagged)")
        t = texts(self.ok(self.c, "n", "NOOP"))
        self.assertIn('* ESEARCH (TAG "a01") UID ADDTO (0 1)', t)
        self.assertEqual([x for x in t if "FETCH" in x and "UID 1" in x and "MODSEQ" not in x
                          and not x.startswith("* 1 FETCH (FLAGS")], [])
        self.status_of(self.c, "a02", "SEARCH RETURN (UPDATE (NOSUCHITEM)) ALL", "BAD")
        # and for a sort context
        self.ok(self.c, "a03", "UID SORT RETURN (UPDATE (UID)) (SUBJECT) UTF-8 SUBJECT zulu")
        self.append_ok(self.other, "INBOX", make_message(subject="zulu"))
        t = texts(self.ok(self.c, "n", "NOOP"))
        self.assertIn("* 9 FETCH (UID 9)", t)
        self.assertLess(t.index("* 9 FETCH (UID 9)"),
                        t.index('* ESEARCH (TAG "a03") UID ADDTO (1 9)'))

    def test_randomized_against_fresh_search(self):
        """Random flag changes, appends and expunges by both sessions: the result kept from
        the updates always equals a fresh UID SEARCH of the same criteria."""
        rng = random.Random(5267)
        criteria = ["FLAGGED", "UNSEEN NOT DELETED", "OR KEYWORD $A SUBJECT \"msg 2\"",
                    "NOT KEYWORD $B"]
        kept = {}
        for i, crit in enumerate(criteria):
            kept[f"q{i}"] = set(esearch_all(
                self.ok(self.c, f"q{i}", f"UID SEARCH RETURN (ALL UPDATE) {crit}"), f"q{i}"))
        flags = ["\\Flagged", "\\Seen", "\\Deleted", "$A", "$B"]

        def run(c, tag, text):
            """A command; updates reaching this session (any response) are applied."""
            u = self.ok(c, tag, text)
            if c is not self.c:
                return
            for t, uid, what, nums in updates(u):
                self.assertTrue(uid)
                for n in nums:
                    if what == "ADDTO":
                        self.assertNotIn(n, kept[t], f"step {step}: ADDTO of a member {n}")
                        kept[t].add(n)
                    else:
                        self.assertIn(n, kept[t], f"step {step}: REMOVEFROM of a non-member {n}")
                        kept[t].discard(n)

        for step in range(60):
            who = self.c if rng.random() < 0.4 else self.other
            op = rng.random()
            if op < 0.6:
                sign = rng.choice("+-")
                fl = " ".join(rng.sample(flags, rng.randint(1, 2)))
                lo = rng.randint(1, 6 + step)
                silent = ".SILENT" if who is self.other else ""
                run(who, "st", f"UID STORE {lo}:{lo + rng.randint(0, 4)} {sign}FLAGS{silent} ({fl})")
            elif op < 0.8:
                self.append_ok(self.other, "INBOX", make_message(subject=f"msg {step}"),
                               flags=rng.choice([[], ["\\Flagged"], ["$A"]]))
            else:
                run(self.other, "d", f"UID STORE {rng.randint(1, 6 + step)} +FLAGS.SILENT (\\Deleted)")
                run(self.other, "x", "EXPUNGE")
            run(self.c, "n", "NOOP")
            for i, crit in enumerate(criteria):
                fresh = set(esearch_all(self.ok(self.c, "chk", f"UID SEARCH RETURN (ALL) {crit}"),
                                        "chk"))
                self.assertEqual(kept[f"q{i}"], fresh, f"step {step}: {crit}")


PAIRS_RE = re.compile(r'^\* ESEARCH \(TAG "([^"]*)"\)( UID)? (ADDTO|REMOVEFROM) \(([0-9 ,:]+)\)$')


def sort_updates(untagged):
    """[(tag, uid, what, [(position, [numbers])])] of sort-context updates, in order."""
    out = []
    for t in texts(untagged):
        if t.startswith("* ESEARCH") and ("ADDTO" in t or "REMOVEFROM" in t):
            m = PAIRS_RE.match(t)
            assert m, f"malformed update: {t!r}"
            v = m.group(4).split()
            assert len(v) % 2 == 0, t
            pairs = [(int(v[i]), expand_uidset(v[i + 1])) for i in range(0, len(v), 2)]
            out.append((m.group(1), bool(m.group(2)), m.group(3), pairs))
    return out


def apply_sort_update(result, what, pairs):
    """RFC 5267 §4.3.3/§4.3.4: each (position, set) in turn; ADDTO inserts the set so its
    first number lands at the position, REMOVEFROM removes it from the position on."""
    for pos, nums in pairs:
        assert pos >= 1, f"position {pos} in a sort context"
        if what == "ADDTO":
            assert pos <= len(result) + 1, (pos, result)
            result[pos - 1:pos - 1] = nums
        else:
            assert result[pos - 1:pos - 1 + len(nums)] == nums, (pos, nums, result)
            del result[pos - 1:pos - 1 + len(nums)]


def esort_all(untagged, tag):
    for t in texts(untagged):
        if t.startswith(f'* ESEARCH (TAG "{tag}")') and "ADDTO" not in t and "REMOVEFROM" not in t:
            m = re.search(r" ALL ([0-9:,]+)", t)
            if not m:
                return []
            out = []
            for part in m.group(1).split(","):
                if ":" in part:
                    a, b = (int(x) for x in part.split(":"))
                    out += list(range(a, b + 1))
                else:
                    out.append(int(part))
            return out
    raise AssertionError(f"no ESEARCH for {tag}: {untagged!r}")


class SortContext(MailTestCase):
    """CONTEXT=SORT (RFC 5267 §4): SORT RETURN (UPDATE) keeps a sorted result and tells
    changes as (position number) pairs."""

    def setUp(self):
        super().setUp()
        self.c = self.session()
        self.other = self.session()
        for subj in ("delta", "bravo", "echo", "alpha", "charlie", "bravo"):
            self.append_ok(self.c, "INBOX", make_message(subject=subj))
        self.ok(self.c, "s", "SELECT INBOX")
        self.ok(self.other, "s", "SELECT INBOX")

    def test_capability(self):
        caps = capabilities(texts(self.ok(self.c, "c", "CAPABILITY"))[0])
        self.assertIn("CONTEXT=SORT", caps)
        self.assertIn("ESORT", caps)

    def test_positions(self):
        # subjects: 1 delta, 2 bravo, 3 echo, 4 alpha, 5 charlie, 6 bravo
        u = self.ok(self.c, "t", "UID SORT RETURN (UPDATE ALL) (SUBJECT) UTF-8 FLAGGED")
        self.assertEqual(esort_all(u, "t"), [])
        self.ok(self.other, "f", "UID STORE 3,5 +FLAGS (\\Flagged)")
        u = self.ok(self.c, "n", "NOOP")
        self.assertEqual(sort_updates(u), [("t", True, "ADDTO", [(1, [3])]),
                                           ("t", True, "ADDTO", [(1, [5])])])
        self.ok(self.other, "f", "UID STORE 2,4 +FLAGS (\\Flagged)")
        u = self.ok(self.c, "n", "NOOP")
        # [5 charlie, 3 echo]: bravo (2) before charlie, then alpha (4) first:
        # [4, 2, 5, 3]
        self.assertEqual(sort_updates(u), [("t", True, "ADDTO", [(1, [2])]),
                                           ("t", True, "ADDTO", [(1, [4])])])
        self.ok(self.other, "f", "UID STORE 5 -FLAGS (\\Flagged)")
        u = self.ok(self.c, "n", "NOOP")
        self.assertEqual(sort_updates(u), [("t", True, "REMOVEFROM", [(3, [5])])])
        # an expunge: REMOVEFROM before the EXPUNGE; new mail: ADDTO after the EXISTS
        self.ok(self.other, "d", "UID STORE 2 +FLAGS (\\Deleted)")
        self.ok(self.other, "x", "EXPUNGE")
        self.append_ok(self.other, "INBOX", make_message(subject="beta"), flags=["\\Flagged"])
        u = texts(self.ok(self.c, "n", "NOOP"))
        rm = u.index('* ESEARCH (TAG "t") UID REMOVEFROM (2 2)')
        self.assertLess(rm, u.index("* 2 EXPUNGE"))
        add = u.index('* ESEARCH (TAG "t") UID ADDTO (2 7)')
        self.assertLess(u.index("* 6 EXISTS"), add)
        # the same by a fresh ESORT: [4 alpha, 7 beta, 3 echo]
        self.assertEqual(esort_all(self.ok(self.c, "e", "UID SORT RETURN (ALL) (SUBJECT) "
                                                        "UTF-8 FLAGGED"), "e"), [4, 7, 3])

    def test_sequence_numbers(self):
        """SORT (not UID SORT): the numbers are sequence numbers, as the client has them."""
        self.ok(self.c, "t", "SORT RETURN (UPDATE) (REVERSE SUBJECT) UTF-8 UNSEEN")
        self.ok(self.other, "d", "STORE 1 +FLAGS (\\Deleted \\Seen)")
        self.ok(self.other, "x", "EXPUNGE")
        u = texts(self.ok(self.c, "n", "NOOP"))
        # REVERSE SUBJECT: echo(3) delta(1) charlie(5) bravo(6) bravo(2) alpha(4), delta
        # was at position 2 when it went, with its number 1
        self.assertIn('* ESEARCH (TAG "t") REMOVEFROM (2 1)', u)
        self.assertLess(u.index('* ESEARCH (TAG "t") REMOVEFROM (2 1)'), u.index("* 1 EXPUNGE"))

    def test_tag_reuse_limit_and_cancel(self):
        self.ok(self.c, "t1", "SORT RETURN (UPDATE) (SUBJECT) UTF-8 ALL")
        self.status_of(self.c, "t1", "UID SORT RETURN (UPDATE) (DATE) UTF-8 ALL", "BAD")
        self.status_of(self.c, "t1", "SEARCH RETURN (UPDATE) ALL", "BAD")
        for i in range(2, 11):
            self.ok(self.c, f"t{i}", "UID SEARCH RETURN (UPDATE) ALL")
        u = self.ok(self.c, "t11", "UID SORT RETURN (UPDATE COUNT) (SUBJECT) UTF-8 ALL")
        self.assertIn('* NO [NOUPDATE "t11"] Too many search contexts', texts(u))
        self.ok(self.c, "c", 'CANCELUPDATE "t1"')
        self.ok(self.other, "f", "STORE 1 +FLAGS (\\Flagged)")
        u = self.ok(self.c, "n", "NOOP")
        self.assertNotIn("t1", [x[0] for x in sort_updates(u)])

    def test_randomized_against_fresh_sort(self):
        """Random flag changes, appends and expunges by both sessions: the sorted result
        kept from the (position, number) updates always equals a fresh UID SORT."""
        rng = random.Random(52672)
        queries = [("SUBJECT", "FLAGGED"), ("REVERSE ARRIVAL", "UNSEEN NOT DELETED"),
                   ("SIZE SUBJECT", "OR KEYWORD $A SUBJECT alpha"), ("REVERSE SUBJECT", "ALL")]
        kept = {}
        for i, (keys, crit) in enumerate(queries):
            kept[f"q{i}"] = esort_all(self.ok(
                self.c, f"q{i}", f"UID SORT RETURN (ALL UPDATE) ({keys}) UTF-8 {crit}"), f"q{i}")
        flags = ["\\Flagged", "\\Seen", "\\Deleted", "$A"]
        subjects = ["alpha", "bravo", "charlie", "delta", "echo", "Re: alpha"]

        def run(c, tag, text):
            u = self.ok(c, tag, text)
            if c is not self.c:
                return
            for t, uid, what, pairs in sort_updates(u):
                self.assertTrue(uid)
                apply_sort_update(kept[t], what, pairs)

        for step in range(50):
            who = self.c if rng.random() < 0.4 else self.other
            op = rng.random()
            if op < 0.55:
                sign = rng.choice("+-")
                fl = " ".join(rng.sample(flags, rng.randint(1, 2)))
                lo = rng.randint(1, 6 + step)
                run(who, "st", f"UID STORE {lo}:{lo + rng.randint(0, 4)} {sign}FLAGS ({fl})")
            elif op < 0.8:
                self.append_ok(self.other, "INBOX",
                               make_message(subject=rng.choice(subjects),
                                            body="x" * rng.randint(1, 400) + "\r\n"),
                               flags=rng.choice([[], ["\\Flagged"], ["$A"], ["\\Seen"]]))
            else:
                run(self.other, "d", f"UID STORE {rng.randint(1, 6 + step)} +FLAGS (\\Deleted)")
                run(self.other, "x", "EXPUNGE")
            run(self.c, "n", "NOOP")
            for i, (keys, crit) in enumerate(queries):
                fresh = esort_all(self.ok(self.c, "chk", f"UID SORT RETURN (ALL) ({keys}) UTF-8 "
                                                         f"{crit}"), "chk")
                self.assertEqual(kept[f"q{i}"], fresh, f"step {step}: ({keys}) {crit}")
