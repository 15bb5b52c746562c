"""Master users (Dovecot's form, issue 14): with --master-passwd, "user*master" and the
master's password log in as user (who must exist), through LOGIN and AUTHENTICATE PLAIN;
logged as such; a wrong master password or an unknown user fails like any login; without
the option the '*' is just part of a name."""

import base64
import os
import signal

from harness import UimapTestCase


class MasterUsers(UimapTestCase):
    def setUp(self):
        super().setUp()
        self.master = self.write_file("master", "proxy:{PLAIN}masterpw\n")
        self.srv = self.start_server("--master-passwd", self.master,
                                     users={"alice": "{PLAIN}secret", "bob": "{PLAIN}pw"})

    def test_login_as_user(self):
        c = self.connect(self.srv)
        _, t = c.command("a", "LOGIN alice*proxy masterpw")
        self.assertTagged(t, "a", "OK")
        c.send("b APPEND INBOX {5+}\r\nhello\r\n")
        _, t = c.read_tagged("b")
        self.assertTagged(t, "b", "OK")
        self.assertTrue(self.srv.wait_log(r"login: user=alice master=proxy"))
        # the same mailbox as alice's own login
        d = self.connect(self.srv)
        d.login("alice", "secret")
        untagged, _ = d.command("s", "STATUS INBOX (MESSAGES)")
        self.assertIn("MESSAGES 1", untagged[0])

    def test_authenticate_plain(self):
        c = self.connect(self.srv)
        ir = base64.b64encode(b"\0bob*proxy\0masterpw").decode()
        _, t = c.command("a", f"AUTHENTICATE PLAIN {ir}")
        self.assertTagged(t, "a", "OK")
        self.assertTrue(self.srv.wait_log(r"login: user=bob master=proxy"))

    def test_refusals(self):
        c = self.connect(self.srv)
        for tag, text in (("a", "LOGIN alice*proxy secret"),      # alice's password
                          ("b", "LOGIN nobody*proxy masterpw"),   # no such user
                          ("c", "LOGIN alice*nomaster masterpw"), # no such master
                          ("d", "LOGIN *proxy masterpw"),         # no user
                          ("e", "LOGIN proxy masterpw")):         # a master is no user
            _, t = c.command(tag, text)
            self.assertTagged(t, tag, "NO")
        self.assertTrue(self.srv.wait_log(r"login failed: user=nobody master=proxy"))
        _, t = c.command("f", "LOGIN alice secret")
        self.assertTagged(t, "f", "OK")

    def test_reloaded_on_sighup(self):
        with open(self.master, "w") as f:
            f.write("proxy:{PLAIN}newpw\n")
        self.srv.signal(signal.SIGHUP)
        self.assertTrue(self.srv.wait_log(r"passwd file reloaded"))
        c = self.connect(self.srv)
        _, t = c.command("a", "LOGIN alice*proxy newpw")
        self.assertTagged(t, "a", "OK")


class WithoutMasters(UimapTestCase):
    def test_star_is_part_of_the_name(self):
        srv = self.start_server(users={"a*b": "{PLAIN}x", "a": "{PLAIN}y"})
        c = self.connect(srv)
        _, t = c.command("a", "LOGIN a*b x")
        self.assertTagged(t, "a", "OK")
        self.assertTrue(srv.wait_log(r"login: user=a\*b$"))
