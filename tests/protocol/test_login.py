"""LOGIN and AUTHENTICATE PLAIN: imaplib and raw, password schemes, failures."""

import base64
import imaplib
import unittest

from harness import (UimapTestCase, capabilities, run_uimapd, sasl_plain, sha512_crypt,
                     yescrypt)

_hash_cache = {}


def cached_hash(kind):
    if kind not in _hash_cache:
        _hash_cache[kind] = sha512_crypt("s3cr3t pass") if kind == "sha512" else yescrypt(
            "s3cr3t pass")
    return _hash_cache[kind]


class LoginImaplib(UimapTestCase):
    def setUp(self):
        super().setUp()
        self.srv = self.start_server()

    def imap(self):
        m = imaplib.IMAP4("127.0.0.1", self.srv.port, timeout=5)
        self.addCleanup(self._shutdown, m)
        return m

    @staticmethod
    def _shutdown(m):
        try:
            m.shutdown()
        except OSError:
            pass

    def test_login_ok(self):
        m = self.imap()
        typ, data = m.login("alice", "secret")
        self.assertEqual(typ, "OK")
        self.assertIn(b"[CAPABILITY", data[0])
        self.assertEqual(m.state, "AUTH")
        typ, _ = m.noop()
        self.assertEqual(typ, "OK")
        typ, _ = m.logout()
        self.assertEqual(typ, "BYE")

    def test_login_wrong_password(self):
        m = self.imap()
        with self.assertRaises(imaplib.IMAP4.error) as cm:
            m.login("alice", "wrong")
        self.assertIn("[AUTHENTICATIONFAILED]", str(cm.exception))
        # the connection stays usable, and a right password still works
        typ, _ = m.login("alice", "secret")
        self.assertEqual(typ, "OK")

    def test_login_unknown_user(self):
        m = self.imap()
        with self.assertRaises(imaplib.IMAP4.error) as cm:
            m.login("nobody", "secret")
        self.assertIn("[AUTHENTICATIONFAILED]", str(cm.exception))

    def test_authenticate_plain_imaplib(self):
        m = self.imap()
        typ, data = m.authenticate("PLAIN", lambda challenge: b"\0alice\0secret")
        self.assertEqual(typ, "OK")
        self.assertEqual(m.state, "AUTH")
        self.assertEqual(m.noop()[0], "OK")

    def test_authenticate_plain_imaplib_wrong_password(self):
        m = self.imap()
        with self.assertRaises(imaplib.IMAP4.error) as cm:
            m.authenticate("PLAIN", lambda challenge: b"\0alice\0nope")
        self.assertIn("AUTHENTICATIONFAILED", str(cm.exception))


class LoginRaw(UimapTestCase):
    def setUp(self):
        super().setUp()
        self.srv = self.start_server()
        self.c = self.connect(self.srv)

    def test_wrong_password_raw(self):
        _, tagged = self.c.command("a", "LOGIN alice wrong")
        self.assertEqual(tagged, "a NO [AUTHENTICATIONFAILED] Authentication failed.")

    def test_unknown_user_same_answer(self):
        _, t1 = self.c.command("a", "LOGIN nobody secret")
        _, t2 = self.c.command("b", "LOGIN alice wrong")
        self.assertTagged(t1, "a", "NO", "[AUTHENTICATIONFAILED]")
        self.assertEqual(t1[2:], t2[2:], "unknown user and wrong password must look alike")

    def test_login_wrong_arg_count(self):
        _, tagged = self.c.command("a", "LOGIN alice")
        self.assertTagged(tagged, "a", "BAD")
        _, tagged = self.c.command("b", "LOGIN alice secret extra")
        self.assertTagged(tagged, "b", "BAD")
        _, tagged = self.c.command("c", "LOGIN")
        self.assertTagged(tagged, "c", "BAD")

    def test_login_list_argument(self):
        _, tagged = self.c.command("a", "LOGIN (alice) secret")
        self.assertTagged(tagged, "a", "BAD")

    def test_login_empty_user(self):
        _, tagged = self.c.command("a", 'LOGIN "" secret')
        self.assertTagged(tagged, "a", "NO")

    def test_login_twice(self):
        self.c.login()
        _, tagged = self.c.command("b", "LOGIN alice secret")
        self.assertTagged(tagged, "b", "BAD")
        _, tagged = self.c.command("c", "AUTHENTICATE PLAIN " + sasl_plain("alice", "secret"))
        self.assertTagged(tagged, "c", "BAD")

    def test_login_logged(self):
        self.c.login()
        self.assertIsNotNone(self.srv.wait_log(r"login: user=alice"), self.srv.stderr())

    def test_password_not_logged(self):
        self.c.command("a", "LOGIN alice wrongpass123")
        self.c.login()
        self.c.command("b", "NOOP")
        self.assertNotIn("wrongpass123", self.srv.stderr())
        self.assertNotIn("secret", self.srv.stderr())


class PasswordSchemes(UimapTestCase):
    def login_with(self, secret):
        srv = self.start_server(users={"carol": secret, "alice": "{PLAIN}secret"})
        c = self.connect(srv)
        _, ok = c.command("a", 'LOGIN carol "s3cr3t pass"')
        c2 = self.connect(srv)
        _, bad = c2.command("b", 'LOGIN carol "s3cr3t pasS"')
        return ok, bad

    def test_sha512_crypt(self):
        h = cached_hash("sha512")
        if h is None:
            self.skipTest("no way to make a $6$ hash")
        ok, bad = self.login_with(h)
        self.assertTagged(ok, "a", "OK")
        self.assertTagged(bad, "b", "NO", "[AUTHENTICATIONFAILED]")

    def test_sha512_crypt_with_scheme_prefix(self):
        h = cached_hash("sha512")
        if h is None:
            self.skipTest("no way to make a $6$ hash")
        ok, bad = self.login_with("{SHA512-CRYPT}" + h)
        self.assertTagged(ok, "a", "OK")
        self.assertTagged(bad, "b", "NO", "[AUTHENTICATIONFAILED]")

    def test_yescrypt(self):
        h = cached_hash("yescrypt")
        if h is None:
            self.skipTest("yescrypt not available (no mkpasswd, no libxcrypt yescrypt)")
        ok, bad = self.login_with(h)
        self.assertTagged(ok, "a", "OK")
        self.assertTagged(bad, "b", "NO", "[AUTHENTICATIONFAILED]")

    def test_unknown_user_with_crypt_hashes(self):
        h = cached_hash("sha512")
        if h is None:
            self.skipTest("no way to make a $6$ hash")
        srv = self.start_server(users={"carol": h})
        c = self.connect(srv)
        _, tagged = c.command("a", 'LOGIN nobody "s3cr3t pass"')
        self.assertTagged(tagged, "a", "NO", "[AUTHENTICATIONFAILED]")

    def test_bad_passwd_file_refused_at_start(self):
        path = self.passwd_file({"alice": "cleartext-without-scheme"})
        r = run_uimapd(["--listen", "127.0.0.1:0", "--passwd", path])
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("passwd", r.stderr)
        self.assertNotIn("listening on", r.stderr)


class AuthenticatePlain(UimapTestCase):
    def setUp(self):
        super().setUp()
        self.srv = self.start_server()
        self.c = self.connect(self.srv)

    def test_sasl_ir(self):
        _, tagged = self.c.command("a", "AUTHENTICATE PLAIN " + sasl_plain("alice", "secret"))
        self.assertTagged(tagged, "a", "OK")
        caps = capabilities(tagged)
        self.assertIn("IMAP4rev1", caps)
        self.assertFalse([x for x in caps if x.startswith("AUTH=")])
        _, tagged = self.c.command("b", "ENABLE CONDSTORE")
        self.assertTagged(tagged, "b", "OK")

    def test_sasl_ir_with_authzid(self):
        _, tagged = self.c.command("a", "AUTHENTICATE PLAIN " +
                                   sasl_plain("alice", "secret", authz="alice"))
        self.assertTagged(tagged, "a", "OK")

    def test_sasl_ir_other_authzid_refused(self):
        _, tagged = self.c.command("a", "AUTHENTICATE PLAIN " +
                                   sasl_plain("alice", "secret", authz="bob"))
        self.assertTagged(tagged, "a", "NO")

    def test_sasl_ir_wrong_password(self):
        _, tagged = self.c.command("a", "AUTHENTICATE PLAIN " + sasl_plain("alice", "bad"))
        self.assertTagged(tagged, "a", "NO", "[AUTHENTICATIONFAILED]")

    def test_mechanism_case_insensitive(self):
        _, tagged = self.c.command("a", "AUTHENTICATE plain " + sasl_plain("alice", "secret"))
        self.assertTagged(tagged, "a", "OK")

    def test_continuation(self):
        self.c.send("a AUTHENTICATE PLAIN\r\n")
        self.assertTrue(self.c.readline().startswith("+"))
        self.c.send(sasl_plain("alice", "secret") + "\r\n")
        _, tagged = self.c.read_tagged("a")
        self.assertTagged(tagged, "a", "OK", "[CAPABILITY")

    def test_continuation_cancelled(self):
        self.c.send("a AUTHENTICATE PLAIN\r\n")
        self.assertTrue(self.c.readline().startswith("+"))
        self.c.send("*\r\n")
        _, tagged = self.c.read_tagged("a")
        self.assertTagged(tagged, "a", "BAD")
        # the "*" must be seen as a cancellation, not as (bad) base64
        self.assertIn("cancel", tagged.lower())
        # back to normal command mode, still not authenticated
        _, tagged = self.c.command("b", "NOOP")
        self.assertTagged(tagged, "b", "OK")
        _, tagged = self.c.command("c", "ENABLE X")
        self.assertTagged(tagged, "c", "BAD")
        self.c.login()

    def test_bad_base64_initial_response(self):
        _, tagged = self.c.command("a", "AUTHENTICATE PLAIN !!!not-base64!!!")
        self.assertTagged(tagged, "a", "BAD")
        _, tagged = self.c.command("b", "NOOP")
        self.assertTagged(tagged, "b", "OK")

    def test_bad_base64_continuation(self):
        self.c.send("a AUTHENTICATE PLAIN\r\n")
        self.assertTrue(self.c.readline().startswith("+"))
        self.c.send("%%%%\r\n")
        _, tagged = self.c.read_tagged("a")
        self.assertTagged(tagged, "a", "BAD")
        _, tagged = self.c.command("b", "NOOP")
        self.assertTagged(tagged, "b", "OK")

    def test_empty_initial_response(self):
        # RFC 4959: "=" is an empty initial response; PLAIN cannot succeed with it
        _, tagged = self.c.command("a", "AUTHENTICATE PLAIN =")
        self.assertRegex(tagged, r"^a (NO|BAD) ")
        _, tagged = self.c.command("b", "NOOP")
        self.assertTagged(tagged, "b", "OK")
        self.c.login()

    def test_empty_continuation_response(self):
        self.c.send("a AUTHENTICATE PLAIN\r\n")
        self.assertTrue(self.c.readline().startswith("+"))
        self.c.send("\r\n")
        _, tagged = self.c.read_tagged("a")
        self.assertRegex(tagged, r"^a (NO|BAD) ")
        _, tagged = self.c.command("b", "NOOP")
        self.assertTagged(tagged, "b", "OK")

    def test_plain_message_without_nuls(self):
        b64 = base64.b64encode(b"alicesecret").decode()
        _, tagged = self.c.command("a", "AUTHENTICATE PLAIN " + b64)
        self.assertRegex(tagged, r"^a (NO|BAD) ")

    def test_unsupported_mechanism(self):
        _, tagged = self.c.command("a", "AUTHENTICATE CRAM-MD5")
        self.assertTagged(tagged, "a", "NO")
        _, tagged = self.c.command("b", "NOOP")
        self.assertTagged(tagged, "b", "OK")

    def test_authenticate_without_mechanism(self):
        _, tagged = self.c.command("a", "AUTHENTICATE")
        self.assertTagged(tagged, "a", "BAD")

    def test_continuation_pipelined_after(self):
        # the response line and the next command arrive in one segment
        self.c.send("a AUTHENTICATE PLAIN\r\n")
        self.assertTrue(self.c.readline().startswith("+"))
        self.c.send(sasl_plain("alice", "secret") + "\r\nb NOOP\r\n")
        _, tagged = self.c.read_tagged("a")
        self.assertTagged(tagged, "a", "OK")
        _, tagged = self.c.read_tagged("b")
        self.assertTagged(tagged, "b", "OK")


if __name__ == "__main__":
    unittest.main()
