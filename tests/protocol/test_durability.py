"""Never acknowledge what is not on disk: a full disk (a small tmpfs) and failing
writes and fsyncs (failpoints, UIMAP_FAILPOINTS) make every change answer
NO [UNAVAILABLE] and change nothing, replies already held are never sent as OK (the
client gets BYE), reads go on, the journal recovers by itself, SIGTERM ends the
server in bounded time, and after a restart every OK'd change is there and no NO'd
one is."""

import os
import re
import signal
import subprocess
import time

from harness import UimapTestCase, ConnectionClosed
from mailhelpers import (append, command_raw, fetch_by_seq, make_message, quote, resp_code,
                         untagged_numbers)


def tagged_status(line):
    m = re.match(r"^\S+ (OK|NO|BAD)\b", line or "")
    return m.group(1) if m else None


class Durability(UimapTestCase):
    HARD_TIMEOUT = 240

    def data_dir(self, size=None):
        """A data directory, on a tmpfs of size bytes when asked (None when this
        machine cannot mount one)."""
        d = os.path.join(self.tmpdir, "data")
        os.mkdir(d)
        if size is None:
            return d
        r = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", d],
                           capture_output=True, text=True)
        if r.returncode != 0:
            return None
        self.addCleanup(subprocess.run, ["umount", "-l", d], capture_output=True)
        return d

    def start(self, data, *extra, env=None):
        e = dict(os.environ)
        if env:
            e.update(env)
        return self.start_server("--data-dir", data, "--snapshot-interval", "0",
                                 "--snapshot-changes", "0", *extra, env=e)

    def session(self, srv, select=None):
        c = self.connect(srv, timeout=20)
        c.login()
        if select:
            _, t = c.command("s", f"SELECT {quote(select)}")
            self.assertTagged(t, "s", "OK")
        return c

    def uids_and_subjects(self, srv, box="INBOX"):
        c = self.session(srv)
        untagged, t = command_raw(c, "e", f"EXAMINE {quote(box)}")
        self.assertTagged(t, "e", "OK")
        untagged, t = command_raw(c, "f", "FETCH 1:* (UID BODY.PEEK[HEADER.FIELDS (SUBJECT)])",
                                  timeout=30)
        out = {}
        if tagged_status(t) == "OK":
            for seq, items in fetch_by_seq(untagged).items():
                subj = items["BODY[HEADER.FIELDS (SUBJECT)]"].decode().strip()
                out[int(items["UID"])] = subj.replace("Subject: ", "")
        c.send("z LOGOUT\r\n")
        return out

    def restart(self, srv, data):
        srv.stop()
        self.assertEqual(srv.returncode, 0, srv.stderr()[-2000:])
        return self.start(data)

    # ---------------------------------------------------------------- full disk

    def test_full_disk_refuses_changes_and_loses_nothing(self):
        data = self.data_dir(size=6 * 1024 * 1024)
        if data is None:
            self.skipTest("cannot mount a tmpfs here (the failpoint tests cover it)")
        srv = self.start(data, "--journal-fsync", "always")
        a = self.session(srv)
        body = "x" * 20000
        ok, refused = {}, []
        for i in range(600):
            subj = f"a{i}"
            t = append(a, "INBOX", make_message(subject=subj, body=body), tag=f"a{i}",
                       timeout=20)
            st = tagged_status(t)
            self.assertIn(st, ("OK", "NO"), t)
            if st == "OK":
                ok[int(resp_code(t, "APPENDUID").split()[1])] = subj
                continue
            self.assertIn("[UNAVAILABLE]", t)
            self.assertIn("disk full", t)
            refused.append(subj)
            break
        self.assertTrue(refused, "the disk never filled up")
        self.assertGreater(len(ok), 10)
        # another client: its change is refused too, and nothing of it is kept
        b = self.session(srv, select="INBOX")
        t = append(b, "INBOX", make_message(subject="b-refused", body=body), tag="b1",
                   timeout=20)
        self.assertEqual(tagged_status(t), "NO", t)
        refused.append("b-refused")
        for tag, cmd in (("s1", "STORE 1 +FLAGS (\\Flagged)"), ("c1", "CREATE NewBox"),
                         ("p1", "COPY 1:3 Trash"), ("d1", "STORE 2 +FLAGS.SILENT (\\Deleted)")):
            _, t = command_raw(b, tag, cmd, timeout=20)
            self.assertTagged(t, tag, "NO", "[UNAVAILABLE]")
        # reads go on
        untagged, t = command_raw(b, "f", "FETCH 1:2 (UID FLAGS)", timeout=20)
        self.assertTagged(t, "f", "OK")
        self.assertNotIn("\\Flagged", " ".join(
            str(v) for v in fetch_by_seq(untagged)[1].values()))
        self.assertIsNotNone(srv.wait_log(r"journal space reservation failed: No space left"))
        # space comes back: the journal takes changes again by itself
        r = subprocess.run(["mount", "-o", "remount,size=40m", data], capture_output=True,
                           text=True)
        self.assertEqual(r.returncode, 0, r.stderr)
        deadline = time.monotonic() + 30
        while True:
            t = append(b, "INBOX", make_message(subject="after", body="y"), tag="b2",
                       timeout=20)
            if tagged_status(t) == "OK":
                ok[int(resp_code(t, "APPENDUID").split()[1])] = "after"
                break
            self.assertLess(time.monotonic(), deadline, "never recovered: " + t)
            time.sleep(0.3)
        self.assertIsNotNone(srv.wait_log(r"journal has space again"))
        # every OK'd message survives a restart, no refused one appears
        srv = self.restart(srv, data)
        got = self.uids_and_subjects(srv)
        for uid, subj in ok.items():
            self.assertEqual(got.get(uid), subj, f"acknowledged message {uid} lost")
        for subj in refused:
            self.assertNotIn(subj, got.values())

    # ---------------------------------------------------------------- failpoints

    def test_write_error_never_acknowledges_and_repairs(self):
        """A journal write fails (EIO) once: the commands whose records it held get no
        OK (BYE instead), later changes are refused until a snapshot repairs the
        journal, and after a restart every OK'd change is there."""
        data = self.data_dir()
        srv = self.start(data, "--journal-fsync", "always",
                         env={"UIMAP_FAILPOINTS": "journal-write=EIO+8*1"})
        c = self.session(srv)
        ok, unknown, refused = {}, [], []
        for i in range(40):
            subj = f"w{i}"
            try:
                t = append(c, "INBOX", make_message(subject=subj), tag=f"w{i}", timeout=20)
            except (ConnectionClosed, TimeoutError, OSError):
                t = None
            st = tagged_status(t)
            if st == "OK":
                ok[int(resp_code(t, "APPENDUID").split()[1])] = subj
            elif st == "NO":
                self.assertIn("[UNAVAILABLE]", t)
                refused.append(subj)
            else:
                # the held reply was dropped: BYE and close, never an OK
                unknown.append(subj)
                c = self.session(srv)
        self.assertTrue(unknown, "no command was caught by the failing write")
        self.assertIsNotNone(srv.wait_log(r"journal write failed: Input/output error"))
        self.assertIsNotNone(srv.wait_log(r"BYE \[UNAVAILABLE\]|unacknowledged"),
                             srv.stderr()[-2000:])
        # repaired by a snapshot: changes are taken again
        deadline = time.monotonic() + 40
        while True:
            t = append(c, "INBOX", make_message(subject="later"), tag="l", timeout=20)
            if tagged_status(t) == "OK":
                ok[int(resp_code(t, "APPENDUID").split()[1])] = "later"
                break
            self.assertEqual(tagged_status(t), "NO", t)
            refused.append("later-refused")
            self.assertLess(time.monotonic(), deadline, "never repaired")
            time.sleep(0.5)
        self.assertIsNotNone(srv.wait_log(r"a snapshot repaired the journal"))
        srv = self.restart(srv, data)
        got = self.uids_and_subjects(srv)
        for uid, subj in ok.items():
            self.assertEqual(got.get(uid), subj, f"acknowledged message {uid} lost")
        for subj in refused:
            self.assertNotIn(subj, got.values())

    def test_fsync_error_in_periodic_mode_refuses_until_repaired(self):
        data = self.data_dir()
        # the repairing snapshot starts at once: its first attempt fails too, so the
        # journal stays broken until the retry 5 s later, whatever the machine's load
        srv = self.start(data, "--journal-fsync", "periodic",
                         env={"UIMAP_FAILPOINTS": "journal-fsync=EIO*1,snapshot-write=EIO*1"})
        c = self.session(srv)
        t = append(c, "INBOX", make_message(subject="p0"), tag="p0", timeout=20)
        self.assertEqual(tagged_status(t), "OK", t)   # periodic: acknowledged at once
        self.assertIsNotNone(srv.wait_log(r"journal fsync failed: Input/output error",
                                          timeout=10))
        t = append(c, "INBOX", make_message(subject="refused"), tag="p1", timeout=20)
        self.assertEqual(tagged_status(t), "NO", t)
        self.assertIn("[UNAVAILABLE]", t)
        self.assertIsNotNone(srv.wait_log(r"a snapshot repaired the journal", timeout=30))
        t = append(c, "INBOX", make_message(subject="p2"), tag="p2", timeout=20)
        self.assertEqual(tagged_status(t), "OK", t)
        srv = self.restart(srv, data)
        got = set(self.uids_and_subjects(srv).values())
        self.assertIn("p0", got)
        self.assertIn("p2", got)
        self.assertNotIn("refused", got)

    def test_every_change_refused_while_the_disk_is_full(self):
        """With the journal unable to reserve space (ENOSPC at every fallocate),
        APPEND, STORE, EXPUNGE, COPY, MOVE, CREATE, DELETE, RENAME, SUBSCRIBE are
        NO [UNAVAILABLE] and change nothing; SELECT, FETCH, SEARCH, LIST, STATUS work."""
        data = self.data_dir()
        # the user and its mailboxes are created first (about 20 reservations)
        srv = self.start(data, env={"UIMAP_FAILPOINTS": "journal-fallocate=ENOSPC+1"})
        c = self.session(srv)
        # the first reservation preallocated a few MiB: fill the INBOX within it
        for i in range(5):
            t = append(c, "INBOX", make_message(subject=f"m{i}"), tag=f"m{i}")
            self.assertEqual(tagged_status(t), "OK", t)
        untagged, t = command_raw(c, "s", "SELECT INBOX")
        self.assertTagged(t, "s", "OK")
        big = make_message(subject="big", body="z" * (5 << 20))
        t = append(c, "INBOX", big, tag="big", timeout=30)
        self.assertEqual(tagged_status(t), "NO", t)
        self.assertIn("[UNAVAILABLE]", t)
        for tag, cmd in (("st", "STORE 1:* +FLAGS (\\Flagged)"), ("kw", "STORE 1 +FLAGS (NewKw)"),
                         ("cp", "COPY 1:2 Trash"), ("mv", "MOVE 3 Trash"),
                         ("cr", "CREATE Box1"), ("dl", "DELETE Junk"), ("rn", "RENAME Drafts D2"),
                         ("sb", "SUBSCRIBE Sent")):
            _, t = command_raw(c, tag, cmd, timeout=20)
            self.assertTagged(t, tag, "NO", "[UNAVAILABLE]")
        for tag, cmd in (("f", "FETCH 1:* (FLAGS UID)"), ("q", "SEARCH ALL"),
                         ("l", 'LIST "" "*"'), ("t", "STATUS Trash (MESSAGES)"),
                         ("x", "EXPUNGE")):
            _, t = command_raw(c, tag, cmd, timeout=20)
            self.assertTagged(t, tag, "OK")
        untagged, _ = command_raw(c, "f2", "FETCH 1:* FLAGS")
        self.assertEqual(len(fetch_by_seq(untagged)), 5)
        self.assertNotIn(b"\\Flagged", b"".join(
            x if isinstance(x, bytes) else x.encode() for x in untagged))
        untagged, _ = command_raw(c, "t2", "STATUS Trash (MESSAGES)")
        self.assertIn(b"MESSAGES 0", b" ".join(
            x if isinstance(x, bytes) else x.encode() for x in untagged))
        # the failure was logged once, with errno and the journal file (the log reader
        # runs beside the test: wait for the line rather than read what arrived so far)
        self.assertIsNotNone(srv.wait_log(r"reservation failed", timeout=20), srv.stderr())
        lines = [l for l in srv.lines() if "reservation failed" in l]
        self.assertEqual(len(lines), 1, lines)
        self.assertRegex(lines[0], r"journal\.[0-9a-f]+\.uimap: journal space reservation "
                                   r"failed: No space left on device")

    def test_sigterm_while_degraded_ends_in_bounded_time(self):
        data = self.data_dir()
        srv = self.start(data, "--journal-fsync", "always",
                         env={"UIMAP_FAILPOINTS": "journal-fsync=EIO+1"})
        clients = [self.session(srv) for _ in range(3)]
        for i, c in enumerate(clients):
            c.send(f"a{i} APPEND INBOX {{5+}}\r\nhello\r\n")
        time.sleep(0.2)
        t0 = time.monotonic()
        srv.proc.send_signal(signal.SIGTERM)
        rc = srv.wait(timeout=30)
        self.assertLess(time.monotonic() - t0, 20)
        self.assertEqual(rc, 0, srv.stderr()[-2000:])
        for i, c in enumerate(clients):
            try:
                lines = c.read_until_eof(timeout=5)
            except (TimeoutError, OSError):
                lines = []
            self.assertFalse([l for l in lines if l.startswith(f"a{i} OK")],
                             f"a change was acknowledged without fsync: {lines}")
