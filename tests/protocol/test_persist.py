"""Persistence over the wire: clean restart keeps identical state; kill -9 during
concurrent APPEND/STORE/EXPUNGE loses nothing that was acknowledged (journal-fsync=always)."""

import imaplib
import os
import random
import re
import signal
import subprocess
import threading
import time

from harness import UimapTestCase, ConnectionClosed

APPENDUID_RE = re.compile(r"\[APPENDUID (\d+) (\d+)\]")


def imap(port):
    m = imaplib.IMAP4("127.0.0.1", port)
    m.login("alice", "secret")
    return m


class RestartTest(UimapTestCase):
    HARD_TIMEOUT = 90

    def state(self, port):
        m = imap(port)
        out = {}
        out["list"] = sorted(m.list('""', "*")[1])
        out["lsub"] = sorted(m.lsub('""', "*")[1])
        for box in ("INBOX", "Work/Sub", "Archive"):
            typ, _ = m.select(box, readonly=True)
            self.assertEqual(typ, "OK")
            out[box + " uidvalidity"] = m.response("UIDVALIDITY")[1]
            out[box + " uidnext"] = m.response("UIDNEXT")[1]
            typ, data = m.fetch("1:*", "(UID FLAGS INTERNALDATE RFC822.SIZE BODY.PEEK[])")
            out[box + " messages"] = [d for d in data if d is not None]
            m.close()
        m.logout()
        return out

    def test_clean_restart_identical_state(self):
        data_dir = os.path.join(self.tmpdir, "data")
        srv = self.start_server("--data-dir", data_dir)
        m = imap(srv.port)
        m.create("Work/Sub")
        m.subscribe("Work/Sub")
        m.unsubscribe("Trash")
        for i in range(30):
            m.append("INBOX", "(\\Seen $Label%d)" % (i % 3), '"01-Jan-2024 10:00:00 +0200"',
                     b"Subject: m%d\r\n\r\n%s\r\n" % (i, b"x" * (i * 100)))
        m.append("Work/Sub", None, None, b"Subject: sub\r\n\r\nbody\r\n")
        m.select("INBOX")
        m.store("1:5", "+FLAGS", "(\\Deleted)")
        m.expunge()
        m.copy("1:3", "Archive")
        m.logout()
        before = self.state(srv.port)
        srv.signal(signal.SIGTERM)
        self.assertEqual(srv.wait(15), 0)
        srv2 = self.start_server("--data-dir", data_dir)
        after = self.state(srv2.port)
        self.assertEqual(before, after)
        # UIDs continue, never reused
        m = imap(srv2.port)
        typ, data = m.append("INBOX", None, None, b"Subject: new\r\n\r\nx\r\n")
        uid = int(APPENDUID_RE.search(data[0].decode()).group(2))
        self.assertEqual(str(uid), after["INBOX uidnext"][0].decode())
        m.logout()


def cached_bytes(path):
    """(bytes of path in the page cache, its size), by fincore (util-linux)."""
    out = subprocess.run(["fincore", "-b", "-n", "-o", "RES,SIZE", path],
                         capture_output=True, text=True, check=True).stdout.split()
    return int(out[0]), int(out[1])


def fs_type(path):
    """The type of the filesystem path is on (the longest mount point above it)."""
    path, best = os.path.realpath(path), ("", "")
    with open("/proc/mounts") as f:
        for line in f:
            mnt, typ = line.split()[1], line.split()[2]
            if (path == mnt or path.startswith(mnt.rstrip("/") + "/")) and len(mnt) > len(best[0]):
                best = (mnt, typ)
    return best[1]


class JournalPageCache(UimapTestCase):
    """The journal's durable bytes leave the page cache (they are read again only by a
    restart's replay, which still finds them all, and lets them go once read)."""
    HARD_TIMEOUT = 90

    def test_durable_journal_bytes_are_dropped_and_replayed(self):
        data_dir = os.path.join(self.tmpdir, "data")
        if fs_type(self.tmpdir) in ("tmpfs", "ramfs"):
            self.skipTest("the test directory is in memory: its page cache is the file")
        srv = self.start_server("--data-dir", data_dir, "--snapshot-interval", "0",
                                "--snapshot-changes", "0", check_exit=False)
        m = imap(srv.port)
        bodies = [b"Subject: big %d\r\n\r\n" % i + os.urandom(150_000).hex().encode() + b"\r\n"
                  for i in range(24)]
        for b in bodies:
            self.assertEqual(m.append("INBOX", None, None, b)[0], "OK")
        journal = max((n for n in os.listdir(data_dir) if n.startswith("journal.")),
                      key=lambda n: os.path.getsize(os.path.join(data_dir, n)))
        path = os.path.join(data_dir, journal)
        deadline = time.monotonic() + 10
        while True:
            res, size = cached_bytes(path)
            # whole 1 MiB steps are dropped once fsynced; the tail stays cached
            if res <= 2 << 20:
                break
            self.assertLess(time.monotonic(), deadline,
                            f"{res} of {size} journal bytes still cached")
            time.sleep(0.05)
        self.assertGreater(size, 6 << 20)
        m.logout()
        srv.signal(signal.SIGKILL)
        srv.wait(10)
        srv2 = self.start_server("--data-dir", data_dir)
        # the replay read it once and let its pages go too
        self.assertLessEqual(cached_bytes(path)[0], 2 << 20)
        m = imap(srv2.port)
        m.select("INBOX", readonly=True)
        typ, data = m.fetch("1:*", "(BODY.PEEK[])")
        self.assertEqual(typ, "OK")
        self.assertEqual([d[1] for d in data if isinstance(d, tuple)], bodies)
        m.logout()


class CrashTest(UimapTestCase):
    HARD_TIMEOUT = 240
    ROUNDS = int(os.environ.get("UIMAP_CRASH_ROUNDS") or 8)

    def appender(self, port, who, acked, stop):
        """APPEND until the server dies; record each acknowledged message."""
        try:
            c = self.connect(port, timeout=10)
            c.login()
            n = 0
            while not stop.is_set():
                n += 1
                mid = "%s-%d" % (who, n)
                flags = "(\\Flagged)" if n % 2 else "()"
                body = ("Message-ID: <%s@test>\r\nSubject: %s\r\n\r\n" % (mid, mid)).encode() + \
                    os.urandom(random.randint(0, 3000)).hex().encode() + b"\r\n"
                c.send(b"A%d APPEND INBOX %s {%d+}\r\n" % (n, flags.encode(), len(body)) + body + b"\r\n")
                _, tagged = c.read_tagged("A%d" % n)
                if not tagged.startswith("A%d OK" % n):
                    continue
                uid = int(APPENDUID_RE.search(tagged).group(2))
                acked.append((mid, uid, "\\Flagged" in flags))
        except (ConnectionClosed, OSError, AttributeError, AssertionError):
            pass

    def flagger(self, port, stores, expunges, stop, attempted=None):
        """STORE \\Answered and EXPUNGE by UID; record what was acknowledged."""
        try:
            c = self.connect(port, timeout=10)
            c.login()
            _, t = c.command("S0", "SELECT INBOX")
            n = 0
            while not stop.is_set():
                n += 1
                untagged, t = c.command("N%d" % n, "UID SEARCH ALL")
                uids = [int(x) for line in untagged if line.startswith("* SEARCH")
                        for x in line.split()[2:]]
                if len(uids) < 4:
                    time.sleep(0.01)
                    continue
                u = random.choice(uids[:-1])
                _, t = c.command("F%d" % n, "UID STORE %d +FLAGS.SILENT (\\Answered)" % u)
                if t.startswith("F%d OK" % n):
                    stores.append(u)
                e = random.choice(uids[:-1])
                if e == u:
                    continue
                _, t = c.command("D%d" % n, "UID STORE %d +FLAGS.SILENT (\\Deleted)" % e)
                # an EXPUNGE in flight at the kill may take effect without its OK
                attempted.add(e)
                _, t = c.command("E%d" % n, "UID EXPUNGE %d" % e)
                if t.startswith("E%d OK" % n):
                    expunges.append(e)
        except (ConnectionClosed, OSError, AttributeError, AssertionError):
            pass

    def copier(self, port, copies, stop, attempted):
        """UID COPY / UID MOVE single INBOX messages to Copies / Moved (journalled as
        references to the source); record each acknowledged (box, source uid, new uid)."""
        try:
            c = self.connect(port, timeout=10)
            c.login()
            for box in ("Copies", "Moved"):
                c.command("C" + box, "CREATE " + box)  # NO after the first round
            _, t = c.command("S0", "SELECT INBOX")
            n = 0
            while not stop.is_set():
                n += 1
                untagged, t = c.command("N%d" % n, "UID SEARCH ALL")
                uids = [int(x) for line in untagged if line.startswith("* SEARCH")
                        for x in line.split()[2:]]
                if len(uids) < 6:
                    time.sleep(0.01)
                    continue
                u = random.choice(uids[:-2])
                box, cmd = ("Moved", "MOVE") if n % 3 == 0 else ("Copies", "COPY")
                if cmd == "MOVE":
                    attempted.add(u)   # gone from INBOX, as an expunge
                untagged, t = c.command("M%d" % n, "UID %s %d %s" % (cmd, u, box))
                m = re.search(r"COPYUID \d+ (\d+) (\d+)", t + " ".join(untagged))
                if t.startswith("M%d OK" % n) and m and int(m.group(1)) == u:
                    copies.append((box, u, int(m.group(2))))
        except (ConnectionClosed, OSError, AttributeError, AssertionError):
            pass

    def test_kill9_loses_no_acknowledged_change(self):
        data_dir = os.path.join(self.tmpdir, "data")
        acked, stores, expunges, copies = [], [], [], []
        attempted = set()
        max_uid_seen = 0
        for rnd in range(self.ROUNDS):
            srv = self.start_server("--data-dir", data_dir, "--journal-fsync", "always",
                                    "--snapshot-changes", "300", check_exit=False)
            stop = threading.Event()
            threads = [threading.Thread(target=self.appender, args=(srv.port, "r%dc%d" % (rnd, i),
                                                                    acked, stop))
                       for i in range(4)]
            threads.append(threading.Thread(target=self.flagger,
                                            args=(srv.port, stores, expunges, stop, attempted)))
            threads.append(threading.Thread(target=self.copier,
                                            args=(srv.port, copies, stop, attempted)))
            for t in threads:
                t.start()
            time.sleep(random.uniform(0.3, 1.2))
            os.kill(srv.pid, signal.SIGKILL)
            srv.wait(10)
            stop.set()
            for t in threads:
                t.join(15)
        # restart once more and check everything acknowledged
        srv = self.start_server("--data-dir", data_dir)
        m = imap(srv.port)
        m.select("INBOX")
        typ, data = m.fetch("1:*", "(UID FLAGS BODY.PEEK[HEADER.FIELDS (MESSAGE-ID)])")
        present = {}
        for item in data:
            if not isinstance(item, tuple):
                continue
            meta = item[0].decode()
            uid = int(re.search(r"UID (\d+)", meta).group(1))
            flags = re.search(r"FLAGS \(([^)]*)\)", meta).group(1)
            mid = re.search(rb"<([^@]+)@test>", item[1]).group(1).decode()
            present[uid] = (mid, flags)
            max_uid_seen = max(max_uid_seen, uid)
        self.assertGreater(len(acked), 20, "too few APPENDs were acknowledged to test anything")
        expunged = set(expunges)
        lost = [(mid, uid) for mid, uid, _ in acked if uid not in attempted and
                (uid not in present or present[uid][0] != mid)]
        self.assertEqual(lost, [], "acknowledged APPENDs lost after kill -9")
        for mid, uid, flagged in acked:
            if uid in present and flagged:
                self.assertIn("\\Flagged", present[uid][1])
        for u in stores:
            if u in present:
                self.assertIn("\\Answered", present[u][1], "acknowledged STORE lost")
        for u in expunged:
            self.assertNotIn(u, present, "acknowledged EXPUNGE undone")
        # every acknowledged COPY / MOVE is there with its source's bytes
        mids = {uid: mid for mid, uid, _ in acked}
        for box in ("Copies", "Moved"):
            want = [(u, d) for b, u, d in copies if b == box]
            if not want:
                continue
            m.select(box, readonly=True)
            typ, data = m.fetch("1:*", "(UID BODY.PEEK[HEADER.FIELDS (MESSAGE-ID)])")
            have = {}
            for item in data:
                if isinstance(item, tuple):
                    uid = int(re.search(r"UID (\d+)", item[0].decode()).group(1))
                    have[uid] = re.search(rb"<([^@]+)@test>", item[1]).group(1).decode()
            for u, d in want:
                self.assertIn(d, have, "acknowledged %s of UID %d lost" % (box, u))
                if u in mids:
                    self.assertEqual(have[d], mids[u], "%s of UID %d has other bytes" % (box, u))
        m.select("INBOX")
        # UIDs are never reused: a new message gets a UID above every acknowledged one
        typ, resp = m.append("INBOX", None, None, b"Subject: after\r\n\r\nx\r\n")
        new_uid = int(APPENDUID_RE.search(resp[0].decode()).group(2))
        self.assertGreater(new_uid, max(u for _, u, _ in acked))
        m.logout()
        print("\n    crash test: %d rounds, %d APPENDs, %d STOREs, %d EXPUNGEs, %d COPY/MOVEs "
              "acknowledged, 0 lost" % (self.ROUNDS, len(acked), len(stores), len(expunges),
                                        len(copies)))
