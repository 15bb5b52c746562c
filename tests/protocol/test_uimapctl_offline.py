"""uimapctl offline tools (issue 13; issue 14 moves users with them): import of a Maildir
or an mbox straight into a data directory keeping UIDs and UIDVALIDITY (Dovecot's
dovecot-uidlist, X-IMAPbase/X-UID), export with them, and snapshot info / verify /
compact on a data directory written by a real uimapd. Every check goes through a
uimapd started on the result and compares over IMAP, byte for byte."""

import glob
import imaplib
import os
import pty
import random
import re
import select
import shutil
import signal
import subprocess
import time
from datetime import datetime

from harness import REPO_ROOT, SANITIZER_RE, TIME_SCALE, UIMAPD, UimapTestCase

CTL = os.environ.get("UIMAPCTL") or os.path.join(os.path.dirname(UIMAPD), "uimapctl")
KEYWORDS = ["$Label1", "Junk", "$Forwarded"]
FLAG_LETTERS = {"D": "\\Draft", "F": "\\Flagged", "R": "\\Answered", "S": "\\Seen",
                "T": "\\Deleted"}
FETCH_RE = re.compile(rb"UID (\d+)|FLAGS \(([^)]*)\)|INTERNALDATE \"([^\"]+)\"")


def ctl(*args, stdin="", timeout=300):
    p = subprocess.run([CTL] + [str(a) for a in args], input=stdin, capture_output=True,
                       text=True, timeout=timeout * TIME_SCALE)
    # a sanitizer build of uimapctl: its reports fail the test
    assert not SANITIZER_RE.search(p.stderr), p.stderr[-6000:]
    return p


def crlf(data):
    """A message as IMAP has it: every bare LF made CRLF (what import does)."""
    return re.sub(rb"(?<!\r)\n", b"\r\n", data)


def instant(internaldate):
    return int(datetime.strptime(internaldate.decode().lstrip(),
                                 "%d-%b-%Y %H:%M:%S %z").timestamp())


def mailbox_state(port, box, user="alice", password="secret"):
    """(UIDVALIDITY, UIDNEXT, [(uid, flags without \\Recent, INTERNALDATE instant,
    BODY[])]) of box, read over IMAP."""
    m = imaplib.IMAP4("127.0.0.1", port)
    m.login(user, password)
    typ, data = m.select('"%s"' % box, readonly=True)
    assert typ == "OK", (box, data)
    uidvalidity = int(m.response("UIDVALIDITY")[1][0])
    uidnext = int(m.response("UIDNEXT")[1][0])
    msgs = []
    if int(data[0]) > 0:
        typ, data = m.uid("FETCH", "1:*", "(UID FLAGS INTERNALDATE BODY.PEEK[])")
        assert typ == "OK", data
        for item in data:
            if not isinstance(item, tuple):
                continue
            uid = flags = date = None
            for u, f, d in FETCH_RE.findall(item[0]):
                uid = int(u) if u else uid
                flags = f if f or flags is None else flags
                date = d if d else date
            fl = frozenset(x for x in flags.decode().split() if x != "\\Recent")
            msgs.append((uid, fl, instant(date), item[1]))
    m.logout()
    return uidvalidity, uidnext, msgs


def mime_samples():
    """Real messages: the repository's MIME fixtures and Python's email test data."""
    paths = sorted(glob.glob(os.path.join(REPO_ROOT, "tests", "unit", "mail", "fixtures",
                                          "*.eml")))
    pydata = os.path.join(os.path.dirname(os.__file__), "test", "test_email", "data")
    paths += sorted(glob.glob(os.path.join(pydata, "msg_*.txt")))
    out = []
    for p in paths:
        with open(p, "rb") as f:
            data = f.read()
        if b"\0" not in data:
            out.append(data)
    return out


def generated_message(rng, i):
    """Varied messages: LF or CRLF lines, "From " and ">From " body lines, 8-bit text,
    long lines, base64 attachments, empty bodies, a few without a final newline."""
    nl = b"\r\n" if i % 7 == 0 else b"\n"
    head = [b"From: Sender %d <s%d@example.org>" % (i, i), b"To: alice@example.org",
            b"Subject: message %d \xc3\xa9t\xc3\xa9" % i, b"Message-ID: <%d@gen>" % i,
            b"Date: Mon, 2 Jan 2023 10:00:%02d +0100" % (i % 60)]
    kind = i % 6
    if kind == 0:
        body = [b"line %d of %d" % (k, i) for k in range(rng.randint(0, 40))]
        body += [b"From the start of a line", b">From quoted once", b">>From twice"]
    elif kind == 1:
        head.append(b"MIME-Version: 1.0")
        head.append(b'Content-Type: multipart/mixed; boundary="b%d"' % i)
        blob = bytes(rng.getrandbits(8) for _ in range(rng.randint(100, 30000)))
        import base64
        enc = base64.encodebytes(blob).rstrip(b"\n").split(b"\n")
        body = [b"--b%d" % i, b"Content-Type: text/plain", b"", b"see attached", b"--b%d" % i,
                b"Content-Type: application/octet-stream",
                b"Content-Transfer-Encoding: base64", b""] + enc + [b"--b%d--" % i]
    elif kind == 2:
        body = [bytes(rng.randrange(0x80, 0x100) for _ in range(rng.randint(1, 200)))
                for _ in range(rng.randint(1, 30))]
    elif kind == 3:
        body = [b"x" * rng.randint(1000, 12000)]
    elif kind == 4:
        body = []
    else:
        body = [b"big %d " % k + b"y" * 70 for k in range(rng.randint(100, 2500))]
    data = nl.join(head) + nl + nl + nl.join(body)
    if i % 11 != 0:
        data += nl
    return data


def write_maildir(path, messages, rng, uidvalidity, first_uid=1, unlisted=0):
    """A Dovecot Maildir of messages: cur/ files with ":2," flag and keyword letters and
    file times, the last `unlisted` in new/ without a dovecot-uidlist entry. Returns
    [(name, expected uid, flags, date, bytes)] in UID order and the expected UIDNEXT."""
    for sub in ("cur", "new", "tmp"):
        os.makedirs(os.path.join(path, sub))
    with open(os.path.join(path, "dovecot-keywords"), "w") as f:
        f.write("".join("%d %s\n" % (k, name) for k, name in enumerate(KEYWORDS)))
    listed, unlisted_files, uid = [], [], first_uid
    for i, data in enumerate(messages):
        date = rng.randint(978307200, 1704067200)   # 2001 .. 2024
        base = "%d.M%dP%d.testhost" % (date, i, 4242)
        if i >= len(messages) - unlisted:
            name, flags = "new/" + base, frozenset()
        else:
            letters = "".join(sorted(rng.sample("DFRST", rng.randint(0, 3))))
            kw = "".join(sorted(rng.sample("abc", rng.randint(0, 2))))
            flags = frozenset([FLAG_LETTERS[c] for c in letters] +
                              [KEYWORDS[ord(c) - ord("a")] for c in kw])
            name = "cur/%s:2,%s%s" % (base, letters, kw)
        full = os.path.join(path, name)
        with open(full, "wb") as f:
            f.write(data)
        os.utime(full, (date, date))
        if name.startswith("cur/"):
            listed.append((name, uid, flags, date, data))
            uid += rng.randint(1, 4)
        else:
            unlisted_files.append((name, 0, flags, date, data))
    uidnext = uid + 50
    with open(os.path.join(path, "dovecot-uidlist"), "w") as f:
        f.write("3 V%d N%d G0123456789abcdef0123456789abcdef\n" % (uidvalidity, uidnext))
        for name, u, _, _, _ in listed:
            # Dovecot's own lines may carry extension fields and the ":2," part
            f.write("%d %s:%s\n" % (u, "W%d " % u if u % 3 == 0 else "",
                                     name[4:] if u % 2 else name[4:].split(":")[0]))
    # the unlisted ones follow in name order, as Dovecot numbers them
    for name, _, flags, date, data in sorted(unlisted_files):
        listed.append((name, uidnext, flags, date, data))
        uidnext += 1
    return listed, uidnext


class OfflineImport(UimapTestCase):
    HARD_TIMEOUT = 600

    def server(self, data_dir, **kw):
        return self.start_server("--data-dir", data_dir, **kw)

    def test_maildir_1000_messages_byte_for_byte(self):
        rng = random.Random(13)
        real = mime_samples()
        self.assertGreater(len(real), 50)
        msgs = [real[i] if i < len(real) else generated_message(rng, i) for i in range(1000)]
        md = os.path.join(self.tmpdir, "Maildir")
        expected, uidnext = write_maildir(md, msgs, rng, uidvalidity=1500000000 + 13,
                                          first_uid=3, unlisted=20)
        data_dir = os.path.join(self.tmpdir, "data")
        t0 = time.monotonic()
        p = ctl("import", md, "INBOX", "--user", "alice", "--data-dir", data_dir,
                "--keep-uids")
        took = time.monotonic() - t0
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn("1000 message(s) imported into INBOX of alice (UIDVALIDITY 1500000013,",
                      p.stdout)
        self.assertEqual(p.stderr, "", "no progress line without a terminal")
        size = sum(len(m) for m in msgs)
        print(f"\n  offline import: 1000 messages, {size / 1e6:.1f} MB in {took:.2f} s "
              f"({1000 / took:.0f} messages/s)", flush=True)

        srv = self.server(data_dir)
        uidvalidity, got_next, got = mailbox_state(srv.port, "INBOX")
        self.assertEqual(uidvalidity, 1500000013)
        self.assertEqual(got_next, uidnext, "UIDNEXT past the source's")
        self.assertEqual(len(got), 1000)
        for (name, uid, flags, date, data), (guid, gflags, gdate, body) in zip(expected, got):
            self.assertEqual(guid, uid, name)
            self.assertEqual(gflags, flags, name)
            self.assertEqual(gdate, date, name)
            self.assertEqual(body, crlf(data), name)

    def test_errors_and_the_lock(self):
        rng = random.Random(5)
        md = os.path.join(self.tmpdir, "Maildir")
        write_maildir(md, [generated_message(rng, i) for i in range(5)], rng, uidvalidity=77)
        plain = os.path.join(self.tmpdir, "plain.mbox")
        with open(plain, "wb") as f:
            f.write(b"From a Mon Jan  2 10:00:00 2023\nSubject: x\n\nno UIDs here\n")
        data_dir = os.path.join(self.tmpdir, "data")

        p = ctl("import", plain, "INBOX", "--user", "alice", "--data-dir", data_dir,
                "--keep-uids")
        self.assertEqual(p.returncode, 1)
        self.assertIn("no UIDs to keep", p.stderr)
        p = ctl("import", plain, "INBOX", "--user", "alice", "--data-dir", data_dir)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn("(UIDVALIDITY", p.stdout)
        self.assertIn("new UIDs", p.stdout)
        # INBOX holds a message now: UIDs cannot be kept, and nothing changes
        before = ctl("snapshot", "info", data_dir, "--mailboxes").stdout
        p = ctl("import", md, "INBOX", "--user", "alice", "--data-dir", data_dir,
                "--keep-uids")
        self.assertEqual(p.returncode, 1)
        self.assertIn("cannot be kept", p.stderr)
        self.assertEqual(ctl("snapshot", "info", data_dir, "--mailboxes").stdout, before)
        # without --keep-uids they are numbered on
        p = ctl("import", md, "INBOX", "--user", "alice", "--data-dir", data_dir)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn("new UIDs", p.stdout)
        p = ctl("import", md, "X", "--user", "", "--data-dir", data_dir)
        self.assertEqual(p.returncode, 1)
        self.assertIn("invalid user name", p.stderr)
        p = ctl("import", md, "Bad*Name", "--user", "alice", "--data-dir", data_dir)
        self.assertEqual(p.returncode, 1)
        self.assertIn("not a valid mailbox name", p.stderr)
        self.assertNotEqual(ctl("import", md, "X", "--user", "alice", "--keep-uids",
                                stdin="secret\n").returncode, 0, "--keep-uids is offline")

        # (e) refused while a uimapd has the directory open; the server's data stays
        srv = self.server(data_dir)
        before = mailbox_state(srv.port, "INBOX")
        p = ctl("import", md, "Other", "--user", "alice", "--data-dir", data_dir)
        self.assertEqual(p.returncode, 1)
        self.assertIn("in use by a running uimapd", p.stderr)
        p = ctl("snapshot", "compact", data_dir)
        self.assertEqual(p.returncode, 1)
        self.assertIn("in use by a running uimapd", p.stderr)
        self.assertEqual(mailbox_state(srv.port, "INBOX"), before)
        srv.stop()
        self.assertEqual(srv.returncode, 0)
        p = ctl("import", md, "Other", "--user", "alice", "--data-dir", data_dir)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn("UIDVALIDITY 77, UIDs kept", p.stdout)

    def test_progress_only_on_a_terminal(self):
        rng = random.Random(7)
        md = os.path.join(self.tmpdir, "Maildir")
        write_maildir(md, [generated_message(rng, i) for i in range(300)], rng, uidvalidity=9)
        data_dir = os.path.join(self.tmpdir, "data")
        master, slave = pty.openpty()
        proc = subprocess.Popen([CTL, "import", md, "INBOX", "--user", "alice", "--data-dir",
                                 data_dir], stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                stderr=slave)
        os.close(slave)
        seen = b""
        deadline = time.monotonic() + 60 * TIME_SCALE
        while time.monotonic() < deadline:
            ready, _, _ = select.select([master], [], [], 1)
            if not ready:
                if proc.poll() is not None:
                    break
                continue
            try:
                chunk = os.read(master, 65536)
            except OSError:
                break
            if not chunk:
                break
            seen += chunk
        os.close(master)
        out = proc.stdout.read().decode()
        proc.stdout.close()
        self.assertEqual(proc.wait(30), 0, seen)
        self.assertIn("300 message(s) imported", out)
        self.assertIn(b"\r", seen)
        self.assertIn(b"300/300 100%", seen)
        self.assertIn(b"\r\x1b[K", seen, "the line is wiped at the end")
        # not a terminal: nothing on stderr
        p = ctl("snapshot", "verify", data_dir)
        self.assertEqual((p.returncode, p.stderr), (0, ""))


def highestmodseq(port, box):
    m = imaplib.IMAP4("127.0.0.1", port)
    m.login("alice", "secret")
    m._simple_command("ENABLE", "CONDSTORE")
    m.select('"%s"' % box, readonly=True)
    value = int(m.response("HIGHESTMODSEQ")[1][0])
    m.logout()
    return value


def imap_login(port):
    m = imaplib.IMAP4("127.0.0.1", port)
    m.login("alice", "secret")
    return m


class MoveUser(UimapTestCase):
    """Issue 14: export from one server, offline import into another data directory:
    same UIDVALIDITY, UIDs, UIDNEXT, flags, keywords, dates and bytes."""
    HARD_TIMEOUT = 600

    def populate(self):
        rng = random.Random(14)
        real = mime_samples()
        md = os.path.join(self.tmpdir, "seed")
        write_maildir(md, [real[i % len(real)] if i % 3 == 0 else generated_message(rng, i)
                           for i in range(150)], rng, uidvalidity=424242, unlisted=5)
        src_dir = os.path.join(self.tmpdir, "server-a")
        p = ctl("import", md, "INBOX", "--user", "alice", "--data-dir", src_dir, "--keep-uids")
        self.assertEqual(p.returncode, 0, p.stderr)
        srv = self.start_server("--data-dir", src_dir)
        m = imap_login(srv.port)
        m.create("Work/Sub")
        # an empty mailbox whose UIDNEXT moved on
        m.create("Empty")
        m.append("Empty", "(\\Deleted)", None, b"Subject: e\r\n\r\ne\r\n")
        m.select("Empty")
        m.expunge()
        for i in range(12):
            m.append("Work/Sub", "(\\Seen $Label%d)" % (i % 4),
                     '"0%d-Feb-2024 1%d:30:00 +0200"' % (i % 9 + 1, i % 9),
                     b"Subject: w%d\r\nFrom x\r\n\r\n%s\r\n" % (i, b"z" * (i * 300)))
        m.select("INBOX")
        m.store("1:10", "+FLAGS", "(\\Flagged NewKeyword)")
        m.store("20:25", "-FLAGS", "(\\Seen)")
        m.store("30:35", "+FLAGS", "(\\Deleted)")
        m.expunge()
        # the last message ends with CRLF; the one after it goes, so UIDNEXT skips
        m.append("INBOX", "(\\Answered)", None, b"Subject: last\r\n\r\nkept\r\n")
        m.append("INBOX", None, None, b"Subject: gone\r\n\r\nexpunged\r\n")
        m.select("INBOX")
        typ, data = m.search(None, "HEADER Subject gone")
        m.store(data[0].decode().split()[-1], "+FLAGS", "(\\Deleted)")
        m.expunge()
        m.logout()
        return srv, src_dir

    def export(self, srv, box, dest, *opts):
        p = ctl("export", box, dest, "--user", "alice", "--port", srv.port, *opts,
                stdin="secret\n")
        self.assertEqual(p.returncode, 0, p.stderr)
        return p

    def test_export_then_offline_import_keeps_everything(self):
        srv, src_dir = self.populate()
        boxes = ("INBOX", "Work/Sub", "Empty")
        want = {box: mailbox_state(srv.port, box) for box in boxes}
        self.assertEqual(want["Empty"][1:], (2, []))
        self.assertGreater(want["INBOX"][1], want["INBOX"][2][-1][0] + 1, "UIDNEXT skips")
        out = os.path.join(self.tmpdir, "out")
        for fmt, opts in (("maildir", ("--maildir",)), ("mbox", ())):
            for box in boxes:
                self.export(srv, box, os.path.join(out, fmt, box), *opts)
        with open(os.path.join(out, "maildir", "INBOX", "dovecot-uidlist")) as f:
            header = f.readline().split()
        self.assertEqual(header, ["3", "V%d" % want["INBOX"][0], "N%d" % want["INBOX"][1]])
        with open(os.path.join(out, "mbox", "INBOX"), "rb") as f:
            first = f.read(200)
        self.assertIn(b"\nX-IMAPbase: %d %010d\n" % (want["INBOX"][0], want["INBOX"][1] - 1),
                      first)

        # the same export offline, from the data directory of the running server
        for fmt, opts in (("maildir", ("--maildir",)), ("mbox", ())):
            for box in boxes:
                p = ctl("export", box, os.path.join(out, "offline-" + fmt, box), "--user",
                        "alice", "--data-dir", src_dir, *opts)
                self.assertEqual(p.returncode, 0, p.stderr)
        for box in boxes:
            with open(os.path.join(out, "mbox", box), "rb") as a, \
                    open(os.path.join(out, "offline-mbox", box), "rb") as b:
                self.assertEqual(a.read(), b.read(), "online and offline mbox export")
            self.assertEqual(sorted(os.listdir(os.path.join(out, "maildir", box, "cur"))),
                             sorted(os.listdir(os.path.join(out, "offline-maildir", box,
                                                            "cur"))))

        # each export into a new data directory, then a server on it
        for fmt in ("maildir", "mbox", "offline-maildir"):
            dest = os.path.join(self.tmpdir, "server-b-" + fmt)
            for box in boxes:
                p = ctl("import", os.path.join(out, fmt, box), box, "--user", "alice",
                        "--data-dir", dest, "--keep-uids")
                self.assertEqual(p.returncode, 0, p.stderr)
                self.assertIn("UIDs kept)", p.stdout)
            other = self.start_server("--data-dir", dest)
            for box in boxes:
                # a client's cached HIGHESTMODSEQ never lies ahead (RFC 7162)
                self.assertGreater(highestmodseq(other.port, box),
                                   highestmodseq(srv.port, box), (fmt, box))
                got = mailbox_state(other.port, box)
                self.assertEqual(got[:2], want[box][:2], (fmt, box, "UIDVALIDITY/UIDNEXT"))
                self.assertEqual(len(got[2]), len(want[box][2]), (fmt, box))
                for g, w in zip(got[2], want[box][2]):
                    self.assertEqual(g, w, (fmt, box, w[0]))
            other.stop()
            self.assertEqual(other.returncode, 0)

        # an online import of an export gives new UIDs but the same bytes (the
        # metadata headers are taken out again)
        for fmt in ("mbox", "maildir"):
            p = ctl("import", os.path.join(out, fmt, "INBOX"), "Again-" + fmt, "--user",
                    "alice", "--port", srv.port, stdin="secret\n")
            self.assertEqual(p.returncode, 0, p.stderr)
            again = mailbox_state(srv.port, "Again-" + fmt)[2]
            self.assertEqual([(f, d, b) for _, f, d, b in again],
                             [(f, d, b) for _, f, d, b in want["INBOX"][2]], fmt)


    def test_the_documented_commands(self):
        """docs/operations.md's "Moving a user between servers", run as written (the
        copy and systemctl lines left out), moves every mailbox of alice."""
        srv, src_dir = self.populate()
        with open(os.path.join(REPO_ROOT, "docs", "operations.md")) as f:
            doc = f.read()
        section = doc[doc.index("## Moving a user between servers"):]
        blocks = re.findall(r"```sh\n(.*?)```", section, re.S)[:2]
        self.assertEqual(len(blocks), 2)
        new_dir = os.path.join(self.tmpdir, "server-b")
        work = os.path.join(self.tmpdir, "move")
        os.makedirs(work)
        for i, block in enumerate(blocks):
            lines = [l.replace("sudo ", "") for l in block.splitlines()
                     if not re.match(r"\s*(rsync|sudo systemctl)", l)]
            script = "\n".join(lines).replace("uimapctl ", CTL + " ")
            script = script.replace("old=/var/lib/uimap", "old=" + src_dir) if i == 0 else \
                script.replace("/var/lib/uimap", new_dir)
            p = subprocess.run(["bash", "-euo", "pipefail", "-c", script], cwd=work,
                               capture_output=True, text=True, timeout=300 * TIME_SCALE)
            self.assertEqual(p.returncode, 0, script + "\n" + p.stdout + p.stderr)
            self.assertNotRegex(p.stderr, SANITIZER_RE)
        with open(os.path.join(work, "alice.boxes")) as f:
            boxes = f.read().splitlines()
        self.assertEqual(sorted(boxes), ["Archive", "Drafts", "Empty", "INBOX", "Junk", "Sent",
                                         "Trash", "Work", "Work/Sub"])
        other = self.start_server("--data-dir", new_dir)
        for box in boxes:
            self.assertEqual(mailbox_state(other.port, box), mailbox_state(srv.port, box), box)


def flip(path, offset):
    with open(path, "r+b") as f:
        f.seek(offset)
        b = f.read(1)
        f.seek(offset)
        f.write(bytes([b[0] ^ 0x20]))


class SnapshotTools(UimapTestCase):
    HARD_TIMEOUT = 300

    def test_info_verify_compact_on_a_real_data_dir(self):
        data_dir = os.path.join(self.tmpdir, "data")
        srv = self.start_server("--data-dir", data_dir, "--snapshot-interval", "0",
                                check_exit=False)
        m = imap_login(srv.port)
        m.create("Archive/2024")
        for i in range(40):
            m.append("INBOX", "(\\Seen)" if i % 2 else None, None,
                     b"Subject: s%d\r\n\r\n%s\r\n" % (i, b"body " * (i * 20)))
        m.logout()
        srv.signal(signal.SIGUSR1)
        self.assertTrue(srv.wait_log(r"snapshot of \d+ bytes written", timeout=20 * TIME_SCALE),
                        srv.stderr())
        # journal records after the snapshot
        m = imap_login(srv.port)
        for i in range(15):
            m.append("Archive/2024", "(\\Flagged $Work)", None, b"Subject: j%d\r\n\r\nj\r\n" % i)
        m.select("INBOX")
        m.store("1:5", "+FLAGS", "(\\Answered)")
        m.store("6", "+FLAGS", "(\\Deleted)")
        m.expunge()
        m.logout()
        want = {box: mailbox_state(srv.port, box) for box in ("INBOX", "Archive/2024")}
        # killed: no final snapshot, the journal (fsynced, journal-fsync=always) stays
        srv.proc.kill()
        srv.wait(10)

        p = ctl("snapshot", "info", data_dir, "--mailboxes")
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        info = p.stdout
        self.assertIn("file: snapshot.uimap ", info)
        self.assertRegex(info, r"file: journal\.[0-9a-f]{16}\.uimap \d+")
        self.assertRegex(info, r"snapshot: format 3, created \d{4}-\d\d-\d\dT[\d:]+Z, \d+ bytes")
        records = int(re.search(r"(\d+) record\(s\) after the snapshot", info).group(1))
        self.assertGreaterEqual(records, 15 + 5 + 1 + 1)
        self.assertIn("users: 1\n", info)
        self.assertIn("messages: %d\n" % (39 + 15), info)
        self.assertIn("mailbox: alice uidvalidity=%d uidnext=%d messages=39 " %
                      want["INBOX"][:2], info)
        self.assertRegex(info, r"\nmailbox: alice uidvalidity=\d+ uidnext=16 messages=15 "
                               r"bytes=\d+ Archive/2024\n")
        p = ctl("snapshot", "verify", data_dir)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertTrue(p.stdout.startswith("ok"), p.stdout)

        # a flipped byte: the file and the offset of the first problem
        snap = os.path.join(data_dir, "snapshot.uimap")
        journal = max(glob.glob(os.path.join(data_dir, "journal.*.uimap")),
                      key=os.path.getsize)
        for path, offset in ((snap, os.path.getsize(snap) // 2), (journal, 32 + 40)):
            bad = os.path.join(self.tmpdir, "bad-" + os.path.basename(path))
            shutil.copytree(data_dir, bad)
            flip(os.path.join(bad, os.path.basename(path)), offset)
            p = ctl("snapshot", "verify", bad)
            self.assertEqual(p.returncode, 1, p.stdout)
            self.assertIn(os.path.basename(path), p.stderr)
            self.assertRegex(p.stderr, r"offset \d+")
            p = ctl("snapshot", "info", bad)
            self.assertEqual(p.returncode, 1)
            self.assertIn("damaged: ", p.stdout)

        p = ctl("snapshot", "compact", data_dir)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn("journal record(s) folded into a new snapshot", p.stdout)
        info = ctl("snapshot", "info", data_dir).stdout
        self.assertIn(" 0 record(s) after the snapshot", info)
        self.assertEqual(len(glob.glob(os.path.join(data_dir, "journal.*.uimap"))), 1)
        self.assertEqual(ctl("snapshot", "verify", data_dir).returncode, 0)
        srv = self.start_server("--data-dir", data_dir)
        for box, state in want.items():
            self.assertEqual(mailbox_state(srv.port, box), state, box)

        self.assertEqual(ctl("snapshot", "verify", os.path.join(self.tmpdir, "none")).returncode,
                         1)
        self.assertEqual(ctl("snapshot", "compact", os.path.join(self.tmpdir, "none"))
                         .returncode, 1)
