"""interimap (Debian; it requires QRESYNC) keeps two uimapd instances in sync, both ways:
a first full sync, then changes on both sides (flags, expunges, new messages, a new
mailbox) carried over incrementally with QRESYNC; at the end both hold the same messages
with the same flags."""

import imaplib
import os
import re
import shutil
import subprocess
import unittest

from harness import UimapTestCase

HAVE_INTERIMAP = shutil.which("interimap") is not None


def state(port):
    """{mailbox: sorted [(subject, flags)]} of every selectable mailbox."""
    m = imaplib.IMAP4("127.0.0.1", port)
    m.login("alice", "secret")
    out = {}
    _, boxes = m.list('""', "*")
    for line in boxes:
        name = line.decode().rsplit(" ", 1)[1].strip('"')
        typ, count = m.select(name)
        if typ != "OK":
            continue
        if int(count[0]) == 0:
            out[name] = []
            continue
        _, data = m.fetch("1:*", "(FLAGS BODY.PEEK[HEADER.FIELDS (SUBJECT)])")
        msgs = []
        for item in data:
            if isinstance(item, tuple):
                flags = re.search(r"FLAGS \(([^)]*)\)", item[0].decode()).group(1)
                flags = " ".join(sorted(f for f in flags.split() if f != "\\Recent"))
                msgs.append((item[1].decode().strip(), flags))
        out[name] = sorted(msgs)
    m.logout()
    return out


@unittest.skipUnless(HAVE_INTERIMAP, "interimap not installed (Debian package interimap)")
class Interimap(UimapTestCase):
    HARD_TIMEOUT = 120

    def sync(self, config):
        p = subprocess.run(["interimap", f"--config={config}"], capture_output=True,
                           text=True, timeout=60)
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        self.assertNotIn("WARNING", p.stderr, p.stderr)
        return p.stderr

    def test_two_way_sync(self):
        a = self.start_server()
        b = self.start_server()
        config = os.path.join(self.tmpdir, "interimap.conf")
        with open(config, "w") as f:
            f.write(f"database = {os.path.join(self.tmpdir, 'sync.db')}\n"
                    'list-mailbox = "*"\n')
            for section, srv in (("local", a), ("remote", b)):
                f.write(f"\n[{section}]\ntype = imap\nhost = 127.0.0.1\nport = {srv.port}\n"
                        "STARTTLS = NO\nusername = alice\npassword = secret\ncompress = NO\n")
        ma = imaplib.IMAP4("127.0.0.1", a.port)
        ma.login("alice", "secret")
        for i in range(6):
            ma.append("INBOX", "(\\Seen)" if i % 2 else None, None,
                      b"Subject: a%d\r\n\r\nbody %d\r\n" % (i, i))
        ma.create("Work")
        ma.append("Work", "(\\Flagged)", None, b"Subject: w0\r\n\r\nwork\r\n")
        mb = imaplib.IMAP4("127.0.0.1", b.port)
        mb.login("alice", "secret")
        mb.append("INBOX", "(\\Answered)", None, b"Subject: b0\r\n\r\nbody\r\n")

        log = self.sync(config)
        self.assertIn("Added", log)
        first = state(a.port)
        self.assertEqual(first, state(b.port))
        self.assertEqual(len(first["INBOX"]), 7)

        # changes on both sides, none on the same message
        ma.select("INBOX")
        ma.search(None, "ALL")
        ma.store("1", "+FLAGS", "(\\Flagged)")                  # a0 on A
        ma.store("2", "+FLAGS", "(\\Deleted)")                  # a1 on A
        ma.expunge()
        ma.create("Later")
        ma.append("Later", None, None, b"Subject: l0\r\n\r\nlater\r\n")
        mb.select("INBOX")
        _, d = mb.search(None, "HEADER", "Subject", "a4")
        mb.store(d[0].decode(), "+FLAGS", "(\\Answered)")       # a4 on B
        _, d = mb.search(None, "HEADER", "Subject", "a5")
        mb.store(d[0].decode(), "+FLAGS", "(\\Deleted)")        # a5 on B
        mb.expunge()
        mb.append("INBOX", None, None, b"Subject: b1\r\n\r\nnew on b\r\n")
        ma.logout()
        mb.logout()

        log = self.sync(config)
        after = state(a.port)
        self.assertEqual(after, state(b.port))
        subjects = {s for s, _ in after["INBOX"]}
        self.assertEqual(subjects, {"Subject: a0", "Subject: a2", "Subject: a3",
                                    "Subject: a4", "Subject: b0", "Subject: b1"})
        flags = dict(after["INBOX"])
        self.assertEqual(flags["Subject: a0"], "\\Flagged")
        self.assertEqual(flags["Subject: a4"], "\\Answered")
        self.assertEqual(after["Later"], [("Subject: l0", "")])
        self.assertEqual(after["Work"], [("Subject: w0", "\\Flagged")])
        # a third run has nothing left to do
        log = self.sync(config)
        self.assertNotIn("Added", log)
        self.assertNotIn("Removed", log)
