"""URLAUTH (RFC 4467) with the INTERNAL mechanism: GENURLAUTH for the user's own
rump URLs, URLFETCH by whoever the access identifier names (submit+USER: an account
with userdb_urlauth_submit=yes), EXPIRE, tampered tokens, RESETKEY, and keys kept
across restarts (journal after kill -9, snapshot after a clean stop); CATENATE with such
URLs; URLAUTH=BINARY (RFC 5524): URLFETCH (url BODY|BINARY [BODYPARTSTRUCTURE])."""

import base64
import os
import re
import signal

from harness import capabilities
from mailhelpers import MailTestCase, make_message, parse_all, status_items, texts

USERS = {"alice": "{PLAIN}secret",
         "bob": "{PLAIN}secret",
         "submit": "{PLAIN}secret::::::userdb_urlauth_submit=yes"}

TOKEN_RE = re.compile(r":INTERNAL:[0-9a-f]{64}$")


def genurlauth_urls(untagged):
    for r in untagged:
        if r.startswith(b"* GENURLAUTH "):
            return [v.decode() if isinstance(v, bytes) else v
                    for v in parse_all(r[len(b"* GENURLAUTH "):])]
    return None


def urlfetch_values(untagged):
    """[(url, data bytes or None)] of the '* URLFETCH url data' responses."""
    out = []
    for r in untagged:
        if r.startswith(b"* URLFETCH "):
            vals = parse_all(r[len(b"* URLFETCH "):])
            url = vals[0].decode() if isinstance(vals[0], bytes) else vals[0]
            out.append((url, vals[1]))
    return out


class UrlAuth(MailTestCase):
    SERVER_ARGS = None

    def setUp(self):
        super().setUp()
        self.data = os.path.join(self.tmpdir, "data")
        os.makedirs(self.data, exist_ok=True)
        self.srv = self.start_server("--data-dir", self.data, users=USERS, check_exit=False)
        self.alice = self.session()
        self.msg = make_message(subject="for submission", body="Hello BURL.\r\n")
        self.append_ok(self.alice, "INBOX", self.msg)
        self.uidv = dict(status_items(self.ok(self.alice, "s", "STATUS INBOX (UIDVALIDITY)"))
                         )["UIDVALIDITY"]

    def rump(self, access, uid=1, box="INBOX", user="alice", extra=""):
        return (f"imap://{user}@example.com/{box};UIDVALIDITY={self.uidv}/;UID={uid}"
                f"{extra};URLAUTH={access}")

    def gen(self, rump, c=None, tag="g"):
        urls = genurlauth_urls(self.ok(c or self.alice, tag, f'GENURLAUTH "{rump}" INTERNAL'))
        self.assertEqual(len(urls), 1)
        self.assertTrue(urls[0].startswith(rump), urls[0])
        self.assertRegex(urls[0], TOKEN_RE)
        return urls[0]

    def fetch(self, c, url, tag="f"):
        v = urlfetch_values(self.ok(c, tag, f'URLFETCH "{url}"'))
        self.assertEqual(len(v), 1)
        self.assertEqual(v[0][0], url)
        return v[0][1]

    def test_capability(self):
        self.assertIn("URLAUTH", capabilities(texts(self.ok(self.alice, "c", "CAPABILITY"))[0]))
        # the mechanisms at SELECT and after RESETKEY mailbox
        self.assertIn("* OK [URLMECH INTERNAL] URLAUTH mechanisms.",
                      texts(self.ok(self.alice, "s", "SELECT INBOX")))
        _, t = self.status_of(self.alice, "r", "RESETKEY INBOX", "OK")
        self.assertIn("[URLMECH INTERNAL]", t)

    def test_rfc4467_submit_flow(self):
        """RFC 4467 §2's example: a URL for the submission server, fetched by it."""
        url = self.gen(self.rump("submit+alice"))
        submit = self.session(user="submit")
        self.assertEqual(self.fetch(submit, url), self.msg)
        # another user, and alice herself (no submission server): NIL
        self.assertIsNone(self.fetch(self.session(user="bob"), url))
        self.assertIsNone(self.fetch(self.alice, url))
        # a section and a partial range
        url = self.gen(self.rump("submit+alice", extra="/;SECTION=TEXT"), tag="g2")
        self.assertEqual(self.fetch(submit, url, "f2"), b"Hello BURL.\r\n")
        url = self.gen(self.rump("submit+alice", extra="/;SECTION=TEXT/;PARTIAL=6.4"), tag="g3")
        self.assertEqual(self.fetch(submit, url, "f3"), b"BURL")

    def test_access_identifiers(self):
        bob = self.session(user="bob")
        submit = self.session(user="submit")
        anon = self.gen(self.rump("anonymous"), tag="g1")
        auth = self.gen(self.rump("authuser"), tag="g2")
        ub = self.gen(self.rump("user+bob"), tag="g3")
        ua = self.gen(self.rump("user+alice"), tag="g4")
        sb = self.gen(self.rump("submit+bob"), tag="g5")
        for c, url, ok in ((bob, anon, True), (submit, anon, True), (bob, auth, True),
                           (self.alice, auth, True), (bob, ub, True), (submit, ub, False),
                           (self.alice, ub, False), (self.alice, ua, True), (bob, ua, False),
                           (submit, sb, True), (bob, sb, False)):
            got = self.fetch(c, url)
            self.assertEqual(got, self.msg if ok else None, (url, ok))

    def test_several_urls_one_command(self):
        submit = self.session(user="submit")
        self.append_ok(self.alice, "INBOX", b"Subject: two\r\n\r\nsecond\r\n")
        u1 = self.gen(self.rump("submit+alice"), tag="g1")
        u2 = self.gen(self.rump("submit+alice", uid=2), tag="g2")
        bad = u1[:-1] + ("0" if u1[-1] != "0" else "1")
        v = urlfetch_values(self.ok(submit, "f", f'URLFETCH "{u1}" "{bad}" "{u2}"'))
        self.assertEqual(v, [(u1, self.msg), (bad, None), (u2, b"Subject: two\r\n\r\nsecond\r\n")])
        # GENURLAUTH of several pairs: one response with all of them
        r1, r2 = self.rump("anonymous"), self.rump("authuser", uid=2)
        urls = genurlauth_urls(self.ok(self.alice, "g3",
                                       f'GENURLAUTH "{r1}" INTERNAL "{r2}" internal'))
        self.assertEqual(len(urls), 2)
        self.assertTrue(urls[0].startswith(r1) and urls[1].startswith(r2))

    def test_expire(self):
        submit = self.session(user="submit")
        past = self.gen(self.rump("submit+alice", extra=";EXPIRE=2001-01-01T00:00:00Z"),
                        tag="g1")
        future = self.gen(self.rump("submit+alice", extra=";EXPIRE=2999-12-31T23:59:59+02:00"),
                          tag="g2")
        self.assertIsNone(self.fetch(submit, past))
        self.assertEqual(self.fetch(submit, future, "f2"), self.msg)

    def test_tampered(self):
        submit = self.session(user="submit")
        url = self.gen(self.rump("submit+alice"))
        flipped = url[:-1] + ("0" if url[-1] != "0" else "1")
        self.assertIsNone(self.fetch(submit, flipped, "f1"))
        # the token of one message on another's URL
        self.append_ok(self.alice, "INBOX", b"Subject: secret\r\n\r\nno\r\n")
        other = url.replace(";UID=1;", ";UID=2;")
        self.assertIsNone(self.fetch(submit, other, "f2"))
        # another access identifier with the same token
        self.assertIsNone(self.fetch(submit, url.replace("submit+alice", "anonymous"), "f3"))
        # short token, unknown mechanism, no token, no such user, upper-case hex is fine
        for i, u in enumerate((url[:-40], url.replace(":INTERNAL:", ":OTHER:"),
                               self.rump("submit+alice"),
                               url.replace("alice@", "nobody@"))):
            self.assertIsNone(self.fetch(submit, u, f"t{i}"))
        self.assertEqual(self.fetch(submit, url[:-64] + url[-64:].upper(), "f4"), self.msg)

    def test_resetkey(self):
        submit = self.session(user="submit")
        self.ok(self.alice, "c", "CREATE Drafts2")
        self.append_ok(self.alice, "Drafts2", self.msg)
        d_uidv = dict(status_items(self.ok(self.alice, "s", "STATUS Drafts2 (UIDVALIDITY)")))
        d_rump = (f"imap://alice@example.com/Drafts2;UIDVALIDITY={d_uidv['UIDVALIDITY']}"
                  "/;UID=1;URLAUTH=submit+alice")
        inbox = self.gen(self.rump("submit+alice"), tag="g1")
        drafts = self.gen(d_rump, tag="g2")
        # one mailbox: its URLs stop working, the others' do not
        self.ok(self.alice, "r1", "RESETKEY INBOX INTERNAL")
        self.assertIsNone(self.fetch(submit, inbox, "f1"))
        self.assertEqual(self.fetch(submit, drafts, "f2"), self.msg)
        # a new URL works with the new key
        inbox2 = self.gen(self.rump("submit+alice"), tag="g3")
        self.assertNotEqual(inbox2, inbox)
        self.assertEqual(self.fetch(submit, inbox2, "f3"), self.msg)
        # all keys
        self.ok(self.alice, "r2", "RESETKEY")
        self.assertIsNone(self.fetch(submit, inbox2, "f4"))
        self.assertIsNone(self.fetch(submit, drafts, "f5"))
        self.status_of(self.alice, "r3", "RESETKEY Nosuch", "NO")
        self.status_of(self.alice, "r4", "RESETKEY INBOX OTHERMECH", "NO")

    def test_genurlauth_errors(self):
        # another user's mailbox: NO (RFC 4467 §6.2)
        self.status_of(self.alice, "a", f'GENURLAUTH "{self.rump("anonymous", user="bob")}" '
                       'INTERNAL', "NO")
        # not a rump URL: no URLAUTH, a verifier already, relative, no user: BAD
        url = self.gen(self.rump("anonymous"))
        for i, u in enumerate((f"imap://alice@example.com/INBOX;UIDVALIDITY={self.uidv}/;UID=1",
                               url, "/INBOX/;UID=1;URLAUTH=anonymous",
                               "imap://example.com/INBOX/;UID=1;URLAUTH=anonymous",
                               self.rump("nobody"),
                               self.rump("anonymous", extra=";EXPIRE=yesterday"))):
            self.status_of(self.alice, f"b{i}", f'GENURLAUTH "{u}" INTERNAL', "BAD")
        self.status_of(self.alice, "c", f'GENURLAUTH "{self.rump("anonymous")}" XYZ', "NO")
        self.status_of(self.alice, "d", f'GENURLAUTH "{self.rump("anonymous", box="Nosuch")}" '
                       'INTERNAL', "NO")
        for i, args in enumerate(("", f'"{self.rump("anonymous")}"')):
            self.status_of(self.alice, f"e{i}", f"GENURLAUTH {args}".strip(), "BAD")
        self.status_of(self.alice, "f", "URLFETCH", "BAD")
        c = self.connect(self.srv)
        self.status_of(c, "g", f'URLFETCH "{url}"', "BAD")   # not logged in

    def test_kept_across_restarts(self):
        url = self.gen(self.rump("submit+alice"))
        reset = self.gen(self.rump("anonymous"), tag="g2")
        self.ok(self.alice, "r", "RESETKEY")
        url = self.gen(self.rump("submit+alice"), tag="g3")
        # kill -9: only the journal has the key
        os.kill(self.srv.pid, signal.SIGKILL)
        self.srv.wait(10)
        self.srv = self.start_server("--data-dir", self.data, users=USERS, check_exit=False)
        submit = self.session(user="submit")
        self.assertEqual(self.fetch(submit, url), self.msg)
        self.assertIsNone(self.fetch(submit, reset, "f0"))
        # a snapshot, then a clean restart: the snapshot has it
        self.srv.signal(signal.SIGUSR1)
        self.assertTrue(self.srv.wait_log(r"snapshot .*(written|done|saved)", timeout=20))
        self.srv.stop()
        self.srv = self.start_server("--data-dir", self.data, users=USERS, check_exit=False)
        submit = self.session(user="submit")
        self.assertEqual(self.fetch(submit, url, "f2"), self.msg)
        self.assertIsNone(self.fetch(submit, reset, "f3"))
        self.assertTrue(self.srv.wait_log(r"loaded \d+ user.*journal 0 record"), "from the snapshot")

    def test_catenate_with_urlauth_url(self):
        """RFC 4469 §5: CATENATE takes a URLAUTH-authorized URL of another user's mail,
        checked as URLFETCH checks it."""
        url = self.gen(self.rump("user+bob", extra="/;SECTION=TEXT"))
        bob = self.session(user="bob")
        self.ok(bob, "a", f'APPEND INBOX CATENATE (TEXT {{9+}}\r\nQuoting:  URL "{url}")')
        self.ok(bob, "s", "EXAMINE INBOX")
        got = self.ok(bob, "f", "FETCH 1 BODY.PEEK[]")
        self.assertIn(b"Quoting: Hello BURL.\r\n", b"".join(got))
        # a token that does not match, or a URL for someone else: BADURL, nothing stored
        bad = url[:-1] + ("0" if url[-1] != "0" else "1")
        _, t = self.status_of(bob, "b", f'APPEND INBOX CATENATE (URL "{bad}")', "NO")
        self.assertIn("[BADURL", t)
        submit = self.session(user="submit")
        _, t = self.status_of(submit, "c", f'APPEND INBOX CATENATE (URL "{url}")', "NO")
        self.assertIn("[BADURL", t)
        self.assertIn(b"* 1 EXISTS", self.ok(bob, "n", "NOOP") + self.ok(bob, "e", "EXAMINE INBOX"))


BINARY_PART = bytes(range(256)) * 2
MIXED = (b"From: a@example.org\r\nSubject: mixed\r\nMIME-Version: 1.0\r\n"
         b"Content-Type: multipart/mixed; boundary=XX\r\n\r\n"
         b"--XX\r\nContent-Type: text/plain\r\n\r\nhello\r\n"
         b"--XX\r\nContent-Type: application/octet-stream\r\n"
         b"Content-Transfer-Encoding: base64\r\n\r\n" +
         base64.encodebytes(BINARY_PART).replace(b"\n", b"\r\n") +
         b"--XX--\r\n")


class UrlAuthBinary(MailTestCase):
    """URLAUTH=BINARY (RFC 5524): URLFETCH (url BODY|BINARY [BODYPARTSTRUCTURE])."""
    SERVER_ARGS = None

    def setUp(self):
        super().setUp()
        self.srv = self.start_server(users=USERS)
        self.alice = self.session()
        self.append_ok(self.alice, "INBOX", MIXED)
        uidv = dict(status_items(self.ok(self.alice, "s", "STATUS INBOX (UIDVALIDITY)")))
        rump = (f"imap://alice@example.com/INBOX;UIDVALIDITY={uidv['UIDVALIDITY']}/;UID=1"
                "/;SECTION=2;URLAUTH=submit+alice")
        self.url = genurlauth_urls(self.ok(self.alice, "g", f'GENURLAUTH "{rump}" INTERNAL'))[0]
        self.submit = self.session(user="submit")

    def extended(self, args, tag="f"):
        u = self.ok(self.submit, tag, f"URLFETCH {args}")
        self.assertEqual(len(u), 1)
        vals = parse_all(u[0][len(b"* URLFETCH "):])
        self.assertEqual(vals[0].decode() if isinstance(vals[0], bytes) else vals[0], self.url)
        return vals[1]

    def test_capability(self):
        caps = capabilities(texts(self.ok(self.submit, "c", "CAPABILITY"))[0])
        self.assertIn("URLAUTH=BINARY", caps)

    def test_binary_decoded(self):
        v = self.extended(f'("{self.url}" BINARY)')
        self.assertEqual(v[0], "BINARY")
        self.assertEqual(v[1], BINARY_PART)
        raw = self.ok(self.submit, "r", f'URLFETCH ("{self.url}" BINARY)')[0]
        self.assertIn(b"BINARY ~{512}\r\n", raw, "a literal8 for data with NUL")

    def test_body_and_structure(self):
        v = self.extended(f'("{self.url}" BODY BODYPARTSTRUCTURE)')
        self.assertEqual(v[0], "BODYPARTSTRUCTURE")
        self.assertEqual([x.lower() for x in v[1][:2]], [b"application", b"octet-stream"])
        self.assertEqual(v[2], "BODY")
        self.assertEqual(base64.b64decode(v[3]), BINARY_PART)
        # "(url)" alone: the body; BODYPARTSTRUCTURE alone: no data
        self.assertEqual(self.extended(f'("{self.url}")', "f2")[0], "BODY")
        v = self.extended(f'("{self.url}" BODYPARTSTRUCTURE)', "f3")
        self.assertEqual(len(v), 2)
        # the simple form still answers with the bytes as stored
        simple = urlfetch_values(self.ok(self.submit, "f4", f'URLFETCH "{self.url}"'))
        self.assertEqual(base64.b64decode(simple[0][1]), BINARY_PART)

    def test_refused(self):
        bad = self.url[:-1] + ("0" if self.url[-1] != "0" else "1")
        u = self.ok(self.submit, "a", f'URLFETCH ("{bad}" BINARY)')
        self.assertTrue(u[0].endswith(b" NIL"), u)
        for i, args in enumerate((f'("{self.url}" BODY BINARY)', f'("{self.url}" FOO)',
                                  "()", f'(("{self.url}") BINARY)')):
            self.status_of(self.submit, f"b{i}", f"URLFETCH {args}", "BAD")
        # BINARY of a header section is not a part's body: NIL
        rump = self.url.split(":INTERNAL:")[0].replace("SECTION=2", "SECTION=HEADER")
        hdr = genurlauth_urls(self.ok(self.alice, "g", f'GENURLAUTH "{rump}" INTERNAL'))[0]
        u = self.ok(self.submit, "c", f'URLFETCH ("{hdr}" BINARY)')
        self.assertTrue(u[0].endswith(b" NIL"), u)
