"""imapflow (npm, a real client that switches to CONDSTORE and QRESYNC when offered)
against uimapd: it caches a mailbox, another session changes flags, expunges and appends,
imapflow reopens the mailbox with QRESYNC and its cache, updated from the VANISHED and
FETCH it was sent, equals the mailbox. Needs node and tests/clients/node_modules (npm ci
there; scripts/test.sh does it)."""

import hashlib
import imaplib
import json
import os
import shutil
import subprocess
import unittest

from harness import REPO_ROOT, UimapTestCase

CLIENTS = os.path.join(REPO_ROOT, "tests", "clients")
SCRIPT = os.path.join(CLIENTS, "imapflow-resync.js")
COMPRESS_SCRIPT = os.path.join(CLIENTS, "imapflow-compress.js")
HAVE_IMAPFLOW = shutil.which("node") is not None and \
    os.path.isdir(os.path.join(CLIENTS, "node_modules", "imapflow"))


@unittest.skipUnless(HAVE_IMAPFLOW, "node or tests/clients/node_modules/imapflow missing "
                     "(npm ci --prefix tests/clients)")
class Imapflow(UimapTestCase):
    HARD_TIMEOUT = 120

    def node(self, port, *args, script=SCRIPT):
        p = subprocess.run(["node", script, str(port), "alice", "secret", *args],
                           capture_output=True, text=True, timeout=60, cwd=CLIENTS)
        self.assertTrue(p.stdout.strip(), p.stderr)
        out = json.loads(p.stdout.strip().splitlines()[-1])
        self.assertNotIn("error", out, out.get("error"))
        return out

    def test_qresync_resync(self):
        srv = self.start_server()
        m = imaplib.IMAP4("127.0.0.1", srv.port)
        m.login("alice", "secret")
        for i in range(10):
            m.append("INBOX", None, None, b"Subject: m%d\r\n\r\nbody %d\r\n" % (i, i))
        state = self.node(srv.port, "snapshot")
        self.assertIn("QRESYNC", state["enabled"])
        self.assertEqual(sorted(map(int, state["messages"])), list(range(1, 11)))

        # meanwhile, another client: flags, expunges, a new message
        m.select("INBOX")
        m.uid("STORE", "2,7", "+FLAGS", "(\\Flagged)")
        m.uid("STORE", "4", "+FLAGS", "(\\Seen \\Answered)")
        m.uid("STORE", "3,8,9", "+FLAGS", "(\\Deleted)")
        m.expunge()
        m.append("INBOX", "(\\Draft)", None, b"Subject: new\r\n\r\nnew\r\n")
        m.logout()

        path = os.path.join(self.tmpdir, "state.json")
        with open(path, "w") as f:
            json.dump(state, f)
        out = self.node(srv.port, "resync", path)
        wire = "\n".join(out["wire"])
        self.assertTrue(out["qresync"], "imapflow did not take the open as a QRESYNC one")
        self.assertIn(f"SELECT INBOX (QRESYNC ({state['uidValidity']} "
                      f"{state['highestModseq']}))", wire)
        self.assertIn("* VANISHED (EARLIER) 3,8:9", wire)
        gone = sorted(e["uid"] for e in out["events"] if e["type"] == "expunge")
        self.assertEqual(gone, [3, 8, 9])
        self.assertTrue(all(e["vanished"] and e["earlier"] for e in out["events"]
                            if e["type"] == "expunge"))
        changed = sorted(e["uid"] for e in out["events"] if e["type"] == "flags")
        self.assertEqual(changed, [2, 4, 7, 11], "the changed messages and the new one")
        self.assertEqual(out["cache"], out["truth"])
        self.assertEqual(out["truth"]["4"], ["\\Answered", "\\Seen"])
        self.assertGreater(int(out["highestModseq"]), int(state["highestModseq"]))

    def test_compress_deflate(self):
        """imapflow turns COMPRESS=DEFLATE on by itself: APPEND and FETCH (a 1 MiB
        message among them) go through the compressed stream intact."""
        srv = self.start_server()
        m = imaplib.IMAP4("127.0.0.1", srv.port)
        m.login("alice", "secret")
        big = b"Subject: big\r\n\r\n" + b"".join(
            b"line %07d of a message of one mebibyte, more or less\r\n" % i
            for i in range(19000))
        small = b"Subject: small\r\n\r\nhello\r\n"
        for msg in (small, big):
            m.append("INBOX", None, None, msg)
        m.logout()
        out = self.node(srv.port, script=COMPRESS_SCRIPT)
        wire = "\n".join(out["wire"])
        self.assertRegex(wire, r"C: \S+ COMPRESS DEFLATE")
        self.assertRegex(wire, r"S: \S+ OK DEFLATE active")
        self.assertTrue(out["compressed"], "imapflow's deflate stream is not active")
        self.assertGreater(out["compressedWrites"], 0)
        expect = {1: small, 2: big}
        got = out["messages"]
        self.assertEqual(len(got), 3)
        for uid, msg in expect.items():
            self.assertEqual(got[str(uid)]["size"], len(msg))
            self.assertEqual(got[str(uid)]["sha256"], hashlib.sha256(msg).hexdigest())
        self.assertEqual(got[str(out["appended"]["uid"])]["sha256"], out["appended"]["sha256"])
        self.assertGreater(len(big), 1 << 20)
