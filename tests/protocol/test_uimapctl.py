"""uimapctl (issue 13): password hashes (yescrypt by default, {CRYPT}) and passwd-file
users — add (with extra fields such as a quota rule), del, list — edited by a rename, so
a reader never sees half a file; uimapd logs the users in and rereads the file on SIGHUP."""

import os
import re
import signal
import subprocess

from harness import UIMAPD, UimapTestCase, uimapd_argv

CTL = os.environ.get("UIMAPCTL") or os.path.join(os.path.dirname(UIMAPD), "uimapctl")


def ctl(*args, stdin=""):
    return subprocess.run([CTL] + list(args), input=stdin, capture_output=True, text=True,
                          timeout=60)


class Uimapctl(UimapTestCase):
    def test_passwd_prints_a_crypt_hash(self):
        p = ctl("passwd", stdin="secret\n")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertTrue(p.stdout.startswith("{CRYPT}$y$"), p.stdout)
        p = ctl("passwd", "--scheme", "sha512", stdin="secret\n")
        self.assertTrue(p.stdout.startswith("{CRYPT}$6$"), p.stdout)
        self.assertNotEqual(ctl("passwd", "--scheme", "md4", stdin="x\n").returncode, 0)
        self.assertNotEqual(ctl("passwd", stdin="").returncode, 0, "no password")

    def test_users_and_the_server(self):
        path = os.path.join(self.tmpdir, "users")
        p = ctl("user", "add", path, "bob", "--field", "userdb_quota_rule=*:messages=1",
                stdin="bobpw\n")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(ctl("user", "add", path, "carol", stdin="carolpw\n").returncode, 0)
        self.assertEqual(ctl("user", "list", path).stdout.split(), ["bob", "carol"])
        p = ctl("user", "add", path, "bob", stdin="again\n")
        self.assertNotEqual(p.returncode, 0)
        self.assertIn("exists already", p.stderr)
        for bad in ("a:b", "", "with space"):
            self.assertNotEqual(ctl("user", "add", path, bad, stdin="x\n").returncode, 0)

        srv = self.start_process(uimapd_argv(passwd=path))
        c = self.connect(srv)
        _, t = c.command("L", "LOGIN bob bobpw")
        self.assertTagged(t, "L", "OK")
        c.send("a1 APPEND INBOX {2+}\r\nhi\r\n")
        self.assertTagged(c.read_tagged("a1")[1], "a1", "OK")
        c.send("a2 APPEND INBOX {2+}\r\nho\r\n")
        self.assertTagged(c.read_tagged("a2")[1], "a2", "NO", "[OVERQUOTA]")

        self.assertEqual(ctl("user", "del", path, "carol").returncode, 0)
        self.assertEqual(ctl("user", "list", path).stdout.split(), ["bob"])
        self.assertNotEqual(ctl("user", "del", path, "carol").returncode, 0)
        srv.signal(signal.SIGHUP)
        self.assertTrue(srv.wait_log(r"passwd file reloaded"))
        d = self.connect(srv)
        _, t = d.command("L", "LOGIN carol carolpw")
        self.assertTagged(t, "L", "NO")


MBOX = (b"From alice@example.org Mon Jan  2 10:00:00 2023\n"
        b"From: alice@example.org\nSubject: one\nStatus: RO\n\nfirst body\n"
        b">From the quoted line\n\n"
        b"From bob@example.org Tue Jan  3 11:30:00 2023\n"
        b"From: bob@example.org\nSubject: two\nX-Status: AF\n\nsecond body\n\n"
        b"From carol@example.org Wed Jan  4 09:15:00 2023\n"
        b"From: carol@example.org\nSubject: three\n\nthird\n")


def fetch_all(srv, box):
    import imaplib
    m = imaplib.IMAP4("127.0.0.1", srv.port)
    m.login("alice", "secret")
    m.select(box)
    _, data = m.fetch("1:*", "(FLAGS INTERNALDATE BODY.PEEK[])")
    m.logout()
    return [d for d in data if isinstance(d, tuple)]


class Import(UimapTestCase):

    def test_mbox(self):
        srv = self.start_server()
        path = os.path.join(self.tmpdir, "in.mbox")
        with open(path, "wb") as f:
            f.write(MBOX)
        p = ctl("import", path, "Old/Mail", "--user", "alice", "--port", str(srv.port),
                stdin="secret\n")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn("3 message(s) imported into Old/Mail", p.stdout)
        msgs = fetch_all(srv, "Old/Mail")
        self.assertEqual(len(msgs), 3)
        meta = [m[0].decode() for m in msgs]
        self.assertIn("\\Seen", meta[0])
        self.assertIn("\\Answered", meta[1])
        self.assertIn("\\Flagged", meta[1])
        self.assertIn('"02-Jan-2023 10:00:00 +0000"', meta[0])
        self.assertIn('"04-Jan-2023 09:15:00 +0000"', meta[2])
        self.assertTrue(msgs[0][1].endswith(b"first body\r\nFrom the quoted line\r\n"),
                        msgs[0][1])
        self.assertNotIn(b"\n\n\n", msgs[1][1])
        self.assertTrue(all(b"\r\n" in m[1] and b"\n\n" not in m[1].replace(b"\r\n", b"")
                            for m in msgs))

    def test_maildir(self):
        srv = self.start_server()
        md = os.path.join(self.tmpdir, "Maildir")
        for sub in ("cur", "new", "tmp"):
            os.makedirs(os.path.join(md, sub))
        files = {"cur/1672653600.1.host:2,FS": b"Subject: a\n\nA\n",
                 "cur/1672740000.2.host:2,": b"Subject: b\n\nB\n",
                 "new/1672826400.3.host": b"Subject: c\n\nC\n"}
        for name, body in files.items():
            full = os.path.join(md, name)
            with open(full, "wb") as f:
                f.write(body)
            t = int(os.path.basename(name).split(".")[0])
            os.utime(full, (t, t))
        p = ctl("import", md, "INBOX", "--user", "alice", "--port", str(srv.port),
                stdin="secret\n")
        self.assertEqual(p.returncode, 0, p.stderr)
        msgs = fetch_all(srv, "INBOX")
        self.assertEqual([m[1].split(b"\r\n")[0] for m in msgs],
                         [b"Subject: a", b"Subject: b", b"Subject: c"])
        self.assertIn("\\Flagged", msgs[0][0].decode())
        self.assertIn("\\Seen", msgs[0][0].decode())
        self.assertIn('"02-Jan-2023 10:00:00 +0000"', msgs[0][0].decode())

    def test_errors(self):
        srv = self.start_server()
        bad = os.path.join(self.tmpdir, "not.mbox")
        with open(bad, "wb") as f:
            f.write(b"Subject: no From line\n\nx\n")
        p = ctl("import", bad, "X", "--user", "alice", "--port", str(srv.port),
                stdin="secret\n")
        self.assertEqual(p.returncode, 1)
        self.assertIn("not an mbox", p.stderr)
        good = os.path.join(self.tmpdir, "in.mbox")
        with open(good, "wb") as f:
            f.write(MBOX)
        p = ctl("import", good, "X", "--user", "alice", "--port", str(srv.port),
                stdin="wrong\n")
        self.assertIn("login failed", p.stderr)
        p = ctl("import", "/no/such", "X", "--user", "alice", stdin="x\n")
        self.assertIn("cannot read /no/such", p.stderr)


class Export(UimapTestCase):

    def test_mbox_round_trip(self):
        srv = self.start_server()
        src = os.path.join(self.tmpdir, "in.mbox")
        with open(src, "wb") as f:
            f.write(MBOX)
        self.assertEqual(ctl("import", src, "Box", "--user", "alice", "--port", str(srv.port),
                             stdin="secret\n").returncode, 0)
        out = os.path.join(self.tmpdir, "out.mbox")
        p = ctl("export", "Box", out, "--user", "alice", "--port", str(srv.port),
                stdin="secret\n")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn("3 message(s) exported from Box", p.stdout)
        with open(out, "rb") as f:
            text = f.read()
        self.assertEqual(text.count(b"\nFrom MAILER-DAEMON ") + text.startswith(b"From "), 3)
        self.assertIn(b">From the quoted line", text, "quoted again (mboxrd)")
        self.assertIn(b"From MAILER-DAEMON Mon Jan  2 10:00:00 2023", text)
        self.assertIn(b"Status: RO", text)
        self.assertIn(b"X-Status: FA", text)
        self.assertNotIn(b"\r\n", text)
        # and back in: the same messages, flags and dates
        self.assertEqual(ctl("import", out, "Again", "--user", "alice", "--port", str(srv.port),
                             stdin="secret\n").returncode, 0)
        a, b = fetch_all(srv, "Box"), fetch_all(srv, "Again")
        strip = lambda m: (re.sub(rb"^\d+ \(|BODY\[\] \{\d+\}", b"", m[0]),
                           re.sub(rb"(Status|X-Status): \w+\r\n", b"", m[1]))
        self.assertEqual([strip(m) for m in a], [strip(m) for m in b])
        p = ctl("export", "Box", out, "--user", "alice", "--port", str(srv.port),
                stdin="secret\n")
        self.assertNotEqual(p.returncode, 0, "an existing file is not overwritten")

    def test_maildir(self):
        srv = self.start_server()
        src = os.path.join(self.tmpdir, "in.mbox")
        with open(src, "wb") as f:
            f.write(MBOX)
        ctl("import", src, "Box", "--user", "alice", "--port", str(srv.port), stdin="secret\n")
        md = os.path.join(self.tmpdir, "exported")
        p = ctl("export", "Box", md, "--maildir", "--user", "alice", "--port", str(srv.port),
                stdin="secret\n")
        self.assertEqual(p.returncode, 0, p.stderr)
        names = sorted(os.listdir(os.path.join(md, "cur")))
        self.assertEqual(len(names), 3)
        self.assertTrue(names[0].endswith(":2,S"), names)
        self.assertTrue(names[1].endswith(":2,FR"), names)
        self.assertEqual(int(os.stat(os.path.join(md, "cur", names[0])).st_mtime), 1672653600)
        self.assertTrue(os.path.isdir(os.path.join(md, "new")))
