"""COPY, MOVE, STORE and EXPUNGE over sets larger than one slice (the server works on
them a chunk per loop turn): the results are those of one command, COPYUID covers
every message, and a COPY cut short by a disconnect leaves the destination as it was
(RFC 3501 §6.4.7)."""

import socket

from mailhelpers import (MailTestCase, command_raw, expand_uidset, fetch_by_seq, resp_code,
                         search_numbers, status_items, texts, untagged_numbers)

# several chunks of 1024
N = 5000


def count(test, c, box):
    untagged, t = command_raw(c, "st", f"STATUS {box} (MESSAGES)")
    test.assertTagged(t, "st", "OK")
    return dict(status_items(untagged))["MESSAGES"]


def grow(test, c, box, n):
    """Fill box to n messages by appending one and copying the mailbox onto itself."""
    if box != "INBOX":
        test.ok(c, "gc", f"CREATE {box}")
    test.fill(c, box, 1)
    test.ok(c, "gs", f"SELECT {box}")
    have = 1
    while have < n:
        take = min(have, n - have)
        test.ok(c, f"g{have}", f"COPY 1:{take} {box}", timeout=60)
        have += take
    test.ok(c, "gn", "NOOP")
    test.assertEqual(count(test, c, box), n)


class BigSets(MailTestCase):
    def setUp(self):
        super().setUp()
        self.c = self.session()
        grow(self, self.c, "INBOX", N)
        self.ok(self.c, "cr", "CREATE Dest")

    def test_copy_across_chunks_reports_every_uid(self):
        untagged, t = command_raw(self.c, "cp", "COPY 1:* Dest", timeout=60)
        self.assertTagged(t, "cp", "OK")
        code = resp_code(t, "COPYUID").split()
        self.assertEqual(len(expand_uidset(code[1])), N)
        self.assertEqual(expand_uidset(code[2]), list(range(1, N + 1)))
        self.assertEqual(count(self, self.c, "Dest"), N)
        self.assertEqual(count(self, self.c, "INBOX"), N)

    def test_move_across_chunks_expunges_every_source(self):
        untagged, t = command_raw(self.c, "mv", "MOVE 2:* Dest", timeout=60)
        self.assertTagged(t, "mv", "OK")
        copyuid = [u for u in texts(untagged) if "[COPYUID" in u]
        self.assertEqual(len(copyuid), 1)
        code = resp_code(copyuid[0], "COPYUID").split()
        self.assertEqual(len(expand_uidset(code[1])), N - 1)
        self.assertEqual(len(expand_uidset(code[2])), N - 1)
        # RFC 6851 §4.3 / RFC 3501 §7.4.1: one EXPUNGE per message, numbers as sent
        self.assertEqual(untagged_numbers(untagged, "EXPUNGE"), [2] * (N - 1))
        self.assertEqual(count(self, self.c, "Dest"), N - 1)
        self.assertEqual(count(self, self.c, "INBOX"), 1)

    def test_store_across_chunks_answers_for_every_message(self):
        untagged, t = command_raw(self.c, "s", "STORE 1:* +FLAGS (\\Flagged)", timeout=60)
        self.assertTagged(t, "s", "OK")
        f = fetch_by_seq(untagged)
        self.assertEqual(sorted(f), list(range(1, N + 1)))
        self.assertTrue(all("\\Flagged" in v["FLAGS"] for v in f.values()))
        untagged, _ = command_raw(self.c, "se", "SEARCH UNFLAGGED")
        self.assertEqual(search_numbers(untagged), [])

    def test_expunge_across_chunks(self):
        # every other message deleted: each chunk has some to remove
        self.ok(self.c, "d", "STORE 1:* +FLAGS.SILENT (\\Deleted)", timeout=60)
        odd = ",".join(str(i) for i in range(1, N + 1, 2))
        self.ok(self.c, "u", f"STORE {odd} -FLAGS.SILENT (\\Deleted)", timeout=60)
        untagged, t = command_raw(self.c, "x", "EXPUNGE", timeout=60)
        self.assertTagged(t, "x", "OK")
        # the even messages go; each EXPUNGE names the number at the time it is sent
        expected = [i - k for k, i in enumerate(range(2, N + 1, 2))]
        self.assertEqual(untagged_numbers(untagged, "EXPUNGE"), expected)
        self.assertEqual(count(self, self.c, "INBOX"), (N + 1) // 2)

    def test_uid_expunge_across_chunks_only_takes_its_set(self):
        self.ok(self.c, "d", "STORE 1:* +FLAGS.SILENT (\\Deleted)", timeout=60)
        uids = fetch_by_seq(self.ok(self.c, "f", "FETCH 1:* UID"))
        lo, hi = int(uids[1000]["UID"]), int(uids[4100]["UID"])
        untagged, t = command_raw(self.c, "x", f"UID EXPUNGE {lo}:{hi},{int(uids[N]['UID'])}",
                                  timeout=60)
        self.assertTagged(t, "x", "OK")
        self.assertEqual(len(untagged_numbers(untagged, "EXPUNGE")), hi - lo + 1 + 1)
        self.assertEqual(count(self, self.c, "INBOX"), N - (4100 - 1000 + 1) - 1)

    def test_copy_cut_short_by_a_disconnect_leaves_all_or_nothing(self):
        total = 8 * N
        grow(self, self.c, "Big", total)
        s = socket.create_connection(("127.0.0.1", self.srv.port))
        s.settimeout(30)
        s.recv(4096)
        s.sendall(b"a LOGIN alice secret\r\nb SELECT Big\r\n")
        got = b""
        while b"b OK" not in got:
            got += s.recv(65536)
        s.sendall(b"c COPY 1:* Dest\r\n")
        # close once the copy is under way (other sessions see it grow), or done
        for _ in range(600):
            n = count(self, self.c, "Dest")
            if n > 0:
                break
        s.close()
        # the server notices the close between chunks or after the last; either
        # way the destination ends with none or all of the copies, never a part
        for _ in range(300):
            n = count(self, self.c, "Dest")
            if n in (0, total):
                break
            self.c.quiet_for(0.05)
        self.assertIn(n, (0, total))
        self.assertEqual(count(self, self.c, "Big"), total)
