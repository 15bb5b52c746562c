"""A real client: mbsync (Debian package "isync") pushes a Maildir of generated messages
to uimap over plaintext LOGIN, then pulls it back into an empty Maildir; the messages
must come back unchanged. Skipped when mbsync is not installed."""

import os
import random
import shutil
import subprocess
import unittest

from mailhelpers import MailTestCase, fetch_by_seq, make_message, status_items

MBSYNC = shutil.which("mbsync")
RUN_TIMEOUT = 120       # seconds for one mbsync run (it takes about a second)


def maildir(path):
    for sub in ("cur", "new", "tmp"):
        os.makedirs(os.path.join(path, sub), exist_ok=True)
    return path


def read_maildir(path):
    """{Message-ID: (bytes, maildir flag letters)} of every message in cur/ and new/."""
    out = {}
    for sub in ("cur", "new"):
        d = os.path.join(path, sub)
        for name in os.listdir(d):
            with open(os.path.join(d, name), "rb") as f:
                data = f.read()
            flags = name.split(":2,", 1)[1] if ":2," in name else ""
            mid = None
            for line in data.split(b"\n\n", 1)[0].split(b"\n"):
                if line.lower().startswith(b"message-id:"):
                    mid = line.split(b":", 1)[1].strip().decode()
            out[mid] = (data, "".join(sorted(flags)))
    return out


def strip_tuid(data):
    """mbsync may add an X-TUID header while it uploads; compare without it."""
    head, sep, body = data.partition(b"\n\n")
    lines = [l for l in head.split(b"\n") if not l.lower().startswith(b"x-tuid:")]
    return b"\n".join(lines) + sep + body


@unittest.skipIf(MBSYNC is None, "mbsync not installed (Debian package: isync)")
class Mbsync(MailTestCase):
    HARD_TIMEOUT = 300

    def config(self, name, near, direction, create):
        text = f"""
IMAPAccount uimap
Host 127.0.0.1
Port {self.srv.port}
User alice
Pass secret
SSLType None
AuthMechs LOGIN
Timeout 30

IMAPStore uimap-remote
Account uimap

MaildirStore local
Path {near}/
Inbox {near}/INBOX
SubFolders Verbatim

Channel sync
Far :uimap-remote:
Near :local:
Patterns INBOX Projects Projects/*
Create {create}
Sync {direction}
Expunge None
SyncState *
"""
        return self.write_file(name, text)

    def run_mbsync(self, conf, debug=False):
        home = os.path.join(self.tmpdir, "home")
        os.makedirs(home, exist_ok=True)
        env = dict(os.environ, HOME=home)
        p = subprocess.run([MBSYNC, *(["-Dn"] if debug else []), "-c", conf, "-a"], stdin=subprocess.DEVNULL,
                           capture_output=True, text=True, timeout=RUN_TIMEOUT, env=env)
        self.assertEqual(p.returncode, 0, f"mbsync failed:\n{p.stdout}\n{p.stderr}\n"
                                          f"server log:\n{self.srv.stderr()[-3000:]}")
        return p

    def generate(self, path, n, prefix):
        rnd = random.Random(prefix)
        letters = ["", "S", "F", "RS", "FS"]
        msgs = {}
        for i in range(n):
            mid = f"<{prefix}.{i}@test.example>"
            body = "".join(f"{prefix} message {i} line {k}: {rnd.getrandbits(64):016x}\n"
                           for k in range(rnd.randint(1, 60)))
            data = make_message(subject=f"{prefix} {i}", message_id=mid,
                                body=body).replace(b"\r\n", b"\n")
            flags = letters[i % len(letters)]
            sub = "cur" if flags else "new"
            name = f"{1700000000 + i}.{prefix}{i}.test" + (f":2,{flags}" if flags else "")
            with open(os.path.join(path, sub, name), "wb") as f:
                f.write(data)
            msgs[mid] = (data, "".join(sorted(flags)))
        return msgs

    def test_mbsync_push_then_pull_roundtrip(self):
        src = os.path.join(self.tmpdir, "src")
        inbox = self.generate(maildir(os.path.join(src, "INBOX")), 120, "inbox")
        projects = self.generate(maildir(os.path.join(src, "Projects")), 12, "proj")
        sub = self.generate(maildir(os.path.join(src, "Projects", "2024")), 5, "sub")

        self.run_mbsync(self.config("push.rc", src, "Push", "Far"))

        # what arrived on the server
        c = self.session()
        for box, msgs in (("INBOX", inbox), ("Projects", projects), ("Projects/2024", sub)):
            items = dict(status_items(self.ok(c, "st", f"STATUS {box} (MESSAGES)")))
            self.assertEqual(items["MESSAGES"], len(msgs), box)
        self.ok(c, "s", "EXAMINE INBOX")
        f = fetch_by_seq(self.ok(c, "f", "FETCH 1:* (FLAGS BODY.PEEK[TEXT])", timeout=30))
        server_bodies = sorted(v["BODY[TEXT]"] for v in f.values())
        want_bodies = sorted(d.split(b"\n\n", 1)[1].replace(b"\n", b"\r\n")
                             for d, _ in inbox.values())
        self.assertEqual(server_bodies, want_bodies)
        seen = sum("\\Seen" in v["FLAGS"] for v in f.values())
        self.assertEqual(seen, sum("S" in fl for _, fl in inbox.values()))

        # pull everything into an empty Maildir
        dst = os.path.join(self.tmpdir, "dst")
        os.makedirs(dst)
        self.run_mbsync(self.config("pull.rc", dst, "Pull", "Near"))
        for box, msgs in (("INBOX", inbox), ("Projects", projects),
                          (os.path.join("Projects", "2024"), sub)):
            got = read_maildir(os.path.join(dst, box))
            self.assertEqual(sorted(got), sorted(msgs), box)
            for mid, (data, flags) in msgs.items():
                gdata, gflags = got[mid]
                self.assertEqual(strip_tuid(gdata).split(b"\n\n", 1)[1],
                                 data.split(b"\n\n", 1)[1], f"{box} {mid}: body differs")
                self.assertEqual(strip_tuid(gdata), data, f"{box} {mid}: message differs")
                self.assertEqual(gflags, flags, f"{box} {mid}: flags differ")

        # a second pull changes nothing
        self.run_mbsync(self.config("pull.rc", dst, "Pull", "Near"))
        self.assertEqual(len(read_maildir(os.path.join(dst, "INBOX"))), len(inbox))

    def test_mbsync_flag_change_and_new_message_propagate(self):
        src = os.path.join(self.tmpdir, "src")
        inbox = self.generate(maildir(os.path.join(src, "INBOX")), 100, "two")
        self.run_mbsync(self.config("push.rc", src, "Push", "Far"))
        dst = os.path.join(self.tmpdir, "dst")
        os.makedirs(dst)
        self.run_mbsync(self.config("pull.rc", dst, "Pull", "Near"))
        # change on the server: flag message 1, add a message
        c = self.session(select="INBOX")
        f = fetch_by_seq(self.ok(c, "f", "FETCH 1 BODY.PEEK[HEADER]"))
        header = f[1]["BODY[HEADER]"]
        mid = [l.split(b":", 1)[1].strip().decode() for l in header.split(b"\r\n")
               if l.lower().startswith(b"message-id:")][0]
        self.ok(c, "st", "STORE 1 +FLAGS (\\Flagged)")
        extra = make_message(subject="late", message_id="<late@test.example>")
        self.append_ok(c, "INBOX", extra)
        self.run_mbsync(self.config("pull.rc", dst, "Pull", "Near"))
        got = read_maildir(os.path.join(dst, "INBOX"))
        self.assertEqual(len(got), len(inbox) + 1)
        self.assertIn("F", got[mid][1])
        self.assertEqual(strip_tuid(got["<late@test.example>"][0]),
                         extra.replace(b"\r\n", b"\n"))

    def test_mbsync_uses_compress(self):
        """mbsync (isync 1.4.4 already) sends COMPRESS DEFLATE when offered: its
        network log (-Dn) shows the command and the OK, and everything after it,
        a push and a pull of 1 MiB messages included, goes through the stream."""
        src = os.path.join(self.tmpdir, "src")
        inbox = self.generate(maildir(os.path.join(src, "INBOX")), 30, "z")
        rnd = random.Random(7)
        for i in range(2):
            mid = f"<big{i}@test.example>"
            body = "".join(f"big {i} line {k}: {rnd.getrandbits(128):032x}\n"
                           for k in range(22000))
            data = make_message(subject=f"big {i}", message_id=mid,
                                body=body).replace(b"\r\n", b"\n")
            self.assertGreater(len(data), 1 << 20)
            with open(os.path.join(src, "INBOX", "new", f"1800000000.big{i}.test"), "wb") as f:
                f.write(data)
            inbox[mid] = (data, "")
        p = self.run_mbsync(self.config("push.rc", src, "Push", "Far"), debug=True)
        log = p.stdout + p.stderr
        self.assertRegex(log, r">>> \d+ COMPRESS DEFLATE")
        self.assertRegex(log, r"\d+ OK DEFLATE active")
        dst = os.path.join(self.tmpdir, "dst")
        os.makedirs(dst)
        p = self.run_mbsync(self.config("pull.rc", dst, "Pull", "Near"), debug=True)
        self.assertRegex(p.stdout + p.stderr, r">>> \d+ COMPRESS DEFLATE")
        got = read_maildir(os.path.join(dst, "INBOX"))
        self.assertEqual(sorted(got), sorted(inbox))
        for mid, (data, flags) in inbox.items():
            self.assertEqual(strip_tuid(got[mid][0]), data, mid)
            self.assertEqual(got[mid][1], flags, mid)


if __name__ == "__main__":
    unittest.main()
