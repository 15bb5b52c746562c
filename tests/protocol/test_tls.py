"""TLS on the wire: implicit TLS (--tls-listen), STARTTLS on the plain listener, the
STARTTLS plaintext-injection attack (CVE-2011-0411), external clients (openssl s_client,
curl), session resumption, ALPN and SNI, hostile clients on the TLS port, large FETCHes
over TLS, 1,000 concurrent TLS connections, SIGHUP certificate reload and the memory an
idle TLS connection costs.

The certificates are fixed test files in tests/protocol/tls/ (made by make-certs.py
there): cert-a (ECDSA P-256) and cert-b (RSA 2048), both self-signed for localhost,
127.0.0.1 and ::1, valid 2000-2125. Tests that run openssl s_client or curl skip when
the tool is missing (Debian packages "openssl" and "curl").
"""

import base64
import errno
import imaplib
import os
import random
import re
import resource
import selectors
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import threading
import time
import unittest

from harness import (DEFAULT_TIMEOUT, Client, ConnectionClosed, UimapTestCase,
                     capabilities, ipv6_loopback_available, run_uimapd)

HERE = os.path.dirname(os.path.abspath(__file__))
TLS_DIR = os.path.join(HERE, "tls")
CERT_A = os.path.join(TLS_DIR, "cert-a.pem")
KEY_A = os.path.join(TLS_DIR, "key-a.pem")
CERT_B = os.path.join(TLS_DIR, "cert-b.pem")
KEY_B = os.path.join(TLS_DIR, "key-b.pem")

TLS_LISTEN_RE = r"listening on \S+ \(tls\) port (\d+)"
OPENSSL = shutil.which("openssl")
CURL = shutil.which("curl")


def pem_to_der(path):
    with open(path) as f:
        return ssl.PEM_cert_to_DER_cert(f.read())


def client_ctx(cafile=CERT_A, verify=True, alpn=None, max_version=None, min_version=None):
    """A client context that trusts cafile (one PEM or a list of PEMs) and checks the
    host name "localhost", or that verifies nothing."""
    if verify:
        files = [cafile] if isinstance(cafile, str) else list(cafile)
        data = ""
        for path in files:
            with open(path) as f:
                data += f.read()
        ctx = ssl.create_default_context(cadata=data)
    else:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
    if alpn is not None:
        ctx.set_alpn_protocols(alpn)
    if max_version is not None:
        ctx.maximum_version = max_version
    if min_version is not None:
        ctx.minimum_version = min_version
    return ctx


class TLSClient(Client):
    """The harness's raw client over implicit TLS: connect, handshake, then the same
    line-oriented reads. self.raw is the TCP socket under the TLS layer."""

    def __init__(self, port, ctx=None, server_hostname="localhost", session=None,
                 host="127.0.0.1", timeout=DEFAULT_TIMEOUT, suppress_ragged_eofs=True):
        super().__init__(port, host=host, timeout=timeout)
        self.raw = self.sock
        self.sock = (ctx or client_ctx()).wrap_socket(
            self.raw, server_hostname=server_hostname, session=session,
            suppress_ragged_eofs=suppress_ragged_eofs)


def starttls(testcase, c, ctx=None, tag="S", server_hostname="localhost",
             suppress_ragged_eofs=True):
    """STARTTLS on a plain Client: the OK must be the last plaintext byte, then the
    socket is wrapped (handshake included)."""
    _, tagged = c.command(tag, "STARTTLS")
    testcase.assertTagged(tagged, tag, "OK")
    testcase.assertEqual(c.buf, b"", "plaintext after the STARTTLS OK")
    c.raw = c.sock
    c.sock = (ctx or client_ctx()).wrap_socket(c.sock, server_hostname=server_hostname,
                                               suppress_ragged_eofs=suppress_ragged_eofs)
    return c


def client_hello(server_hostname="localhost"):
    """The bytes of a real ClientHello, from a memory-BIO handshake."""
    inc, out = ssl.MemoryBIO(), ssl.MemoryBIO()
    obj = client_ctx(verify=False).wrap_bio(inc, out, server_hostname=server_hostname)
    try:
        obj.do_handshake()
    except ssl.SSLWantReadError:
        pass
    return out.read()


class BioTLS:
    """A TLS client over memory BIOs on a blocking TCP socket, for full control of what
    goes into which packet."""

    def __init__(self, port, ctx=None, session=None, timeout=DEFAULT_TIMEOUT):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.inc, self.out = ssl.MemoryBIO(), ssl.MemoryBIO()
        self.obj = (ctx or client_ctx()).wrap_bio(self.inc, self.out,
                                                  server_hostname="localhost",
                                                  session=session)
        self.plain = b""

    def close(self):
        self.sock.close()

    def _feed(self):
        chunk = self.sock.recv(65536)
        if not chunk:
            raise ConnectionClosed("EOF from the server")
        self.inc.write(chunk)

    def flush(self, extra=b""):
        data = self.out.read() + extra
        if data:
            self.sock.sendall(data)

    def client_hello(self):
        """The ClientHello, made and taken out of the outgoing BIO unsent (to send it in
        pieces); handshake() goes on from there."""
        try:
            self.obj.do_handshake()
        except ssl.SSLWantReadError:
            pass
        return self.out.read()

    def handshake(self, hold_last_flight=False):
        """Run the handshake; with hold_last_flight the client's last flight stays in
        the outgoing BIO (sent by the next flush())."""
        while True:
            try:
                self.obj.do_handshake()
                break
            except ssl.SSLWantReadError:
                self.flush()
                self._feed()
        if not hold_last_flight:
            self.flush()

    def write(self, data):
        self.obj.write(data)

    def read_tagged(self, tag, timeout=DEFAULT_TIMEOUT):
        deadline = time.monotonic() + timeout
        while True:
            for line in self.plain.split(b"\r\n")[:-1]:
                if line.startswith(tag.encode() + b" "):
                    return self.plain, line.decode("latin-1")
            try:
                self.plain += self.obj.read(65536)
                continue
            except ssl.SSLWantReadError:
                pass
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError(f"no {tag} response; got {self.plain[-300:]!r}")
            self.sock.settimeout(left)
            self._feed()


def read_until_closed(sock, timeout):
    """Everything the peer sends until it closes (EOF, reset or a TLS alert);
    returns (data, how) or raises TimeoutError."""
    deadline = time.monotonic() + timeout
    data = b""
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError(f"not closed within {timeout}s; received {data[:200]!r}")
        sock.settimeout(left)
        try:
            chunk = sock.recv(65536)
        except (socket.timeout, TimeoutError):
            raise TimeoutError(f"not closed within {timeout}s; received {data[:200]!r}")
        except ConnectionResetError:
            return data, "reset"
        except ssl.SSLError as e:
            return data, f"tls error: {e}"
        if not chunk:
            return data, "eof"
        data += chunk


def make_big_message(i, size):
    """A valid message of exactly size bytes (CRLF lines of base64 text), distinct per i."""
    rnd = random.Random(i)
    header = (f"From: sender{i}@example.org\r\nTo: alice@example.org\r\n"
              f"Subject: big message {i}\r\nMessage-ID: <big{i}@uimap.test>\r\n"
              "MIME-Version: 1.0\r\nContent-Type: text/plain\r\n\r\n").encode()
    need = size - len(header) - 2
    b64 = base64.b64encode(rnd.randbytes(need * 3 // 4 + 100))
    body = b"\r\n".join(b64[k:k + 76] for k in range(0, len(b64), 76))[:need]
    if body.endswith(b"\r"):
        body = body[:-1] + b"x"
    msg = header + body + b"\r\n"
    assert len(msg) == size
    return msg


def recv_exact(c, n, deadline):
    """n bytes from a Client (its buffer first, then the socket), as bytes."""
    out = bytearray(c.buf[:n])
    c.buf = c.buf[len(out):]
    while len(out) < n:
        left = deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError(f"timed out with {len(out)} of {n} literal bytes")
        c.sock.settimeout(left)
        try:
            chunk = c.sock.recv(min(1 << 20, n - len(out)))
        except socket.timeout:
            raise TimeoutError(f"timed out with {len(out)} of {n} literal bytes") from None
        if not chunk:
            raise ConnectionClosed(f"EOF with {len(out)} of {n} literal bytes")
        out += chunk
    return bytes(out)


FETCH_BODY_RE = re.compile(r"^\* (\d+) FETCH \(.*BODY\[\] \{(\d+)\}$")


def fetch_bodies(c, tag, timeout):
    """Read to tag's tagged response: {seq: BODY[] bytes} and the tagged line."""
    deadline = time.monotonic() + timeout
    bodies = {}
    while True:
        line = c.readline(max(0.0, deadline - time.monotonic()))
        m = FETCH_BODY_RE.match(line)
        if m:
            bodies[int(m.group(1))] = recv_exact(c, int(m.group(2)), deadline)
            continue
        if line.startswith(tag + " "):
            return bodies, line


class TLSTestCase(UimapTestCase):
    def start_tls_server(self, *extra, cert=CERT_A, key=KEY_A, plain=True, plaintext=False,
                         tls_listen="127.0.0.1:0", **kw):
        """uimapd with a plain listener (unless plain=False) and one TLS listener;
        sets srv.plain_port (None without) and srv.tls_port."""
        srv = self.start_server("--tls-listen", tls_listen, "--cert", cert, "--key", key,
                                *extra, plaintext=plaintext,
                                listen="127.0.0.1:0" if plain else None, **kw)
        # Server._wait_ports returns at the first "listening on" line: wait for the TLS
        # one (plain listeners are logged first)
        m = srv.wait_log(TLS_LISTEN_RE, timeout=10)
        self.assertIsNotNone(m, srv.stderr())
        srv.tls_port = int(m.group(1))
        srv.plain_port = srv.ports[0] if plain else None
        if plain:
            self.assertNotEqual(srv.plain_port, srv.tls_port)
        return srv

    def tls_connect(self, srv_or_port, greeting=True, ctx=None, **kw):
        port = srv_or_port if isinstance(srv_or_port, int) else srv_or_port.tls_port
        c = TLSClient(port, ctx=ctx, **kw)
        self.addCleanup(c.close)
        if greeting:
            g = c.readline()
            self.assertTrue(g.startswith("* OK "), f"unexpected greeting: {g!r}")
            c.greeting = g
        return c

    def plain_connect(self, srv, **kw):
        return self.connect(srv.plain_port, **kw)

    def imaps(self, srv, ctx=None):
        m = imaplib.IMAP4_SSL("127.0.0.1", srv.tls_port, ssl_context=ctx or client_ctx(),
                              timeout=10)
        self.addCleanup(self._shutdown_imap, m)
        return m

    def imap_plain(self, srv):
        m = imaplib.IMAP4("127.0.0.1", srv.plain_port, timeout=10)
        self.addCleanup(self._shutdown_imap, m)
        return m

    @staticmethod
    def _shutdown_imap(m):
        try:
            m.shutdown()
        except (OSError, imaplib.IMAP4.error):
            pass

    def assertAlive(self, c, tag="alive"):
        """c (logged in or not) still answers NOOP."""
        _, tagged = c.command(tag, "NOOP")
        self.assertTagged(tagged, tag, "OK")

    def assertTLSClosed(self, sock, timeout=DEFAULT_TIMEOUT):
        try:
            return read_until_closed(sock, timeout)
        except TimeoutError as e:
            self.fail(str(e))


# ---------------------------------------------------------------- implicit TLS, imaplib

class ImplicitTLS(TLSTestCase):
    def setUp(self):
        super().setUp()
        self.srv = self.start_tls_server()

    def test_imaplib_greeting_capability_login_select_append_fetch(self):
        m = self.imaps(self.srv)
        self.assertTrue(m.welcome.startswith(b"* OK"), m.welcome)
        caps = m.capabilities
        self.assertIn("AUTH=PLAIN", caps)
        self.assertNotIn("LOGINDISABLED", caps)
        self.assertNotIn("STARTTLS", caps)
        self.assertEqual(m.sock.version(), "TLSv1.3")
        # no --allow-plaintext-auth: LOGIN works because the link is TLS
        typ, data = m.login("alice", "secret")
        self.assertEqual(typ, "OK", data)
        typ, data = m.select("INBOX")
        self.assertEqual((typ, data), ("OK", [b"0"]))
        msg = b"From: a@example.org\r\nSubject: over TLS\r\n\r\nHello, TLS.\r\n"
        typ, data = m.append("INBOX", r"(\Flagged)", None, msg)
        self.assertEqual(typ, "OK", data)
        typ, data = m.noop()
        typ, data = m.fetch("1", "(FLAGS BODY.PEEK[])")
        self.assertEqual(typ, "OK")
        self.assertEqual(data[0][1], msg)
        self.assertIn(b"\\Flagged", data[0][0])
        typ, data = m.logout()
        self.assertEqual(typ, "BYE")

    def test_capability_command_raw(self):
        c = self.tls_connect(self.srv)
        untagged, tagged = c.command("a", "CAPABILITY")
        self.assertTagged(tagged, "a", "OK")
        caps = capabilities(untagged[0])
        self.assertIn("IMAP4rev1", caps)
        self.assertIn("AUTH=PLAIN", caps)
        self.assertNotIn("LOGINDISABLED", caps)
        self.assertNotIn("STARTTLS", caps)

    def test_greeting_capabilities_on_implicit_tls(self):
        # RFC 3501 6.2.1 / RFC 8314: on an implicit-TLS connection the greeting's
        # CAPABILITY code must not offer STARTTLS nor claim LOGINDISABLED
        c = self.tls_connect(self.srv)
        caps = capabilities(c.greeting)
        self.assertTrue(caps, f"no CAPABILITY code in the greeting {c.greeting!r}")
        self.assertNotIn("STARTTLS", caps, c.greeting)
        self.assertNotIn("LOGINDISABLED", caps, c.greeting)
        self.assertIn("AUTH=PLAIN", caps, c.greeting)

    def test_starttls_on_implicit_tls_is_bad(self):
        c = self.tls_connect(self.srv)
        _, tagged = c.command("a", "STARTTLS")
        self.assertTagged(tagged, "a", "BAD")
        self.assertAlive(c)

    def test_authenticate_plain_over_tls(self):
        c = self.tls_connect(self.srv)
        cred = base64.b64encode(b"\0alice\0secret").decode()
        _, tagged = c.command("a", "AUTHENTICATE PLAIN " + cred)
        self.assertTagged(tagged, "a", "OK")
        _, tagged = c.command("b", "SELECT INBOX")
        self.assertTagged(tagged, "b", "OK")

    def test_logout_sends_close_notify(self):
        # suppress_ragged_eofs=False: a TCP close without close_notify raises
        c = self.tls_connect(self.srv, suppress_ragged_eofs=False)
        c.login()
        untagged, tagged = c.command("z", "LOGOUT")
        self.assertTagged(tagged, "z", "OK")
        self.assertTrue(untagged and untagged[0].startswith("* BYE"), untagged)
        c.sock.settimeout(DEFAULT_TIMEOUT)
        try:
            rest = c.sock.recv(100)
        except ssl.SSLEOFError as e:
            self.fail(f"connection closed without close_notify: {e}")
        self.assertEqual(rest, b"")

    def test_client_close_notify(self):
        c = self.tls_connect(self.srv)
        c.login()
        c.sock.settimeout(DEFAULT_TIMEOUT)
        # our close_notify; unwrap() returns once the server's close_notify arrived
        raw = c.sock.unwrap()
        c.sock = raw
        data, how = self.assertTLSClosed(raw)   # and then it closes the TCP connection
        self.assertEqual(data, b"")
        c2 = self.tls_connect(self.srv)
        self.assertAlive(c2)

    def test_auth_idle_bye_is_encrypted(self):
        srv = self.start_tls_server("--auth-idle", "1")
        c = self.tls_connect(srv)
        c.login()
        lines = self.assertClosed(c, timeout=6)
        self.assertTrue(lines and lines[-1].startswith("* BYE"), lines)

    def test_idle_over_tls_sees_append_from_starttls_session(self):
        a = self.tls_connect(self.srv)
        a.login()
        _, tagged = a.command("s", "SELECT INBOX")
        self.assertTagged(tagged, "s", "OK")
        a.send("i IDLE\r\n")
        self.assertTrue(a.readline().startswith("+"), a.received)
        b = self.connect(self.srv.plain_port)
        starttls(self, b)
        b.login()
        msg = "Subject: idle\r\n\r\nwake up\r\n"
        b.send(f"p APPEND INBOX {{{len(msg)}+}}\r\n{msg}\r\n")
        _, tagged = b.read_tagged("p")
        self.assertTagged(tagged, "p", "OK")
        line = a.readline(timeout=5)
        self.assertEqual(line, "* 1 EXISTS")
        a.send("DONE\r\n")
        _, tagged = a.read_tagged("i")
        self.assertTagged(tagged, "i", "OK")

    def test_many_small_records(self):
        # a literal sent one byte per TLS record, then read back
        c = self.tls_connect(self.srv, timeout=30)
        c.login()
        body = (b"Subject: tiny records\r\n\r\n" +
                b"".join(b"line %05d of tiny records\r\n" % i for i in range(600)))
        c.send(f"p APPEND INBOX {{{len(body)}}}\r\n")
        self.assertTrue(c.readline().startswith("+"))
        c.send_bytewise(body + b"\r\n")
        _, tagged = c.read_tagged("p", timeout=30)
        self.assertTagged(tagged, "p", "OK")
        c.command("s", "SELECT INBOX")
        c.send("f FETCH 1 BODY.PEEK[]\r\n")
        bodies, tagged = fetch_bodies(c, "f", timeout=10)
        self.assertTagged(tagged, "f", "OK")
        self.assertEqual(bodies[1], body)

    def test_pipelined_commands_in_one_record(self):
        c = self.tls_connect(self.srv)
        c.send("L LOGIN alice secret\r\n" + "".join(f"n{i} NOOP\r\n" for i in range(300)) +
               "s SELECT INBOX\r\n")
        _, tagged = c.read_tagged("L")
        self.assertTagged(tagged, "L", "OK")
        for i in range(300):
            _, tagged = c.read_tagged(f"n{i}")
            self.assertTagged(tagged, f"n{i}", "OK")
        _, tagged = c.read_tagged("s")
        self.assertTagged(tagged, "s", "OK")

    @unittest.skipUnless(ipv6_loopback_available(), "no IPv6 loopback")
    def test_ipv6_tls_listener(self):
        srv = self.start_tls_server(tls_listen="[::1]:0")
        c = self.tls_connect(srv.tls_port, host="::1")
        c.login()
        self.assertAlive(c)

    def test_tls_only_server(self):
        srv = self.start_tls_server(plain=False)
        m = self.imaps(srv)
        self.assertEqual(m.login("alice", "secret")[0], "OK")


# ---------------------------------------------------------------- STARTTLS

class StartTLS(TLSTestCase):
    def setUp(self):
        super().setUp()
        self.srv = self.start_tls_server()

    def test_imaplib_starttls(self):
        m = self.imap_plain(self.srv)
        caps = m.capabilities
        self.assertIn("STARTTLS", caps)
        self.assertIn("LOGINDISABLED", caps)
        self.assertNotIn("AUTH=PLAIN", caps)
        with self.assertRaises(imaplib.IMAP4.error) as cm:
            m.login("alice", "secret")
        self.assertIn("[ALERT]", str(cm.exception))
        typ, _ = m.starttls(ssl_context=client_ctx())
        self.assertEqual(typ, "OK")
        caps = m.capabilities   # imaplib asks again after STARTTLS
        self.assertNotIn("STARTTLS", caps)
        self.assertNotIn("LOGINDISABLED", caps)
        self.assertIn("AUTH=PLAIN", caps)
        typ, _ = m.login("alice", "secret")
        self.assertEqual(typ, "OK")
        self.assertEqual(m.select("INBOX")[0], "OK")
        self.assertEqual(m.logout()[0], "BYE")

    def test_raw_before_and_after(self):
        c = self.plain_connect(self.srv)
        caps = capabilities(c.greeting)
        self.assertIn("STARTTLS", caps)
        self.assertIn("LOGINDISABLED", caps)
        self.assertNotIn("AUTH=PLAIN", caps)
        untagged, tagged = c.command("a", "CAPABILITY")
        caps = capabilities(untagged[0])
        self.assertIn("STARTTLS", caps)
        self.assertIn("LOGINDISABLED", caps)
        self.assertNotIn("AUTH=PLAIN", caps)
        _, tagged = c.command("b", "LOGIN alice secret")
        self.assertTagged(tagged, "b", "NO", "[ALERT]")
        cred = base64.b64encode(b"\0alice\0secret").decode()
        _, tagged = c.command("b2", "AUTHENTICATE PLAIN " + cred)
        self.assertTagged(tagged, "b2", "NO", "[ALERT]")
        starttls(self, c)
        untagged, tagged = c.command("c", "CAPABILITY")
        self.assertTagged(tagged, "c", "OK")
        caps = capabilities(untagged[0])
        self.assertNotIn("STARTTLS", caps)
        self.assertNotIn("LOGINDISABLED", caps)
        self.assertIn("AUTH=PLAIN", caps)
        _, tagged = c.command("d", "STARTTLS")
        self.assertTagged(tagged, "d", "BAD")
        c.login(tag="e")
        _, tagged = c.command("f", "SELECT INBOX")
        self.assertTagged(tagged, "f", "OK")
        _, tagged = c.command("g", "STARTTLS")   # authenticated state: not allowed
        self.assertTagged(tagged, "g", "BAD")
        self.assertAlive(c)

    def test_starttls_behind_a_large_plaintext_backlog(self):
        # thousands of pipelined responses still queued in the clear when STARTTLS is
        # answered: the OK must be the last plaintext byte, all else goes encrypted
        srv = self.start_tls_server("--unauth-commands", "0")
        c = self.connect(srv.plain_port, timeout=30)
        n = 12000
        c.sock.settimeout(30)
        c.sock.sendall(("".join(f"c{i} CAPABILITY\r\n" for i in range(n)) +
                        "s STARTTLS\r\n").encode())
        time.sleep(0.5)    # let the server's output back up
        for i in range(n):
            _, tagged = c.read_tagged(f"c{i}", timeout=30)
            self.assertTagged(tagged, f"c{i}", "OK")
        _, tagged = c.read_tagged("s", timeout=30)
        self.assertTagged(tagged, "s", "OK")
        self.assertTrue(c.quiet_for(0.3), f"plaintext after the STARTTLS OK: {c.buf[:80]!r}")
        c.sock = client_ctx().wrap_socket(c.sock, server_hostname="localhost")
        c.login()
        self.assertAlive(c)

    def test_imaplib_authenticate_after_starttls(self):
        m = self.imap_plain(self.srv)
        m.starttls(ssl_context=client_ctx())
        typ, _ = m.authenticate("PLAIN", lambda challenge: b"\0alice\0secret")
        self.assertEqual(typ, "OK")
        self.assertEqual(m.select("INBOX")[0], "OK")

    def test_starttls_with_argument_is_bad(self):
        c = self.plain_connect(self.srv)
        _, tagged = c.command("a", "STARTTLS now")
        self.assertTagged(tagged, "a", "BAD")
        starttls(self, c, tag="b")
        self.assertAlive(c)

    def test_commands_pipelined_before_starttls_are_answered_in_clear(self):
        c = self.plain_connect(self.srv)
        c.send("a NOOP\r\nb CAPABILITY\r\n")
        _, tagged = c.read_tagged("a")
        self.assertTagged(tagged, "a", "OK")
        _, tagged = c.read_tagged("b")
        self.assertTagged(tagged, "b", "OK")
        starttls(self, c)
        c.login()
        self.assertAlive(c)

    def test_starttls_after_plaintext_login_is_bad(self):
        srv = self.start_tls_server(plaintext=True)
        c = self.connect(srv.plain_port)
        c.login()
        caps = capabilities(c.received[-1])
        self.assertNotIn("STARTTLS", caps, c.received[-1])
        _, tagged = c.command("a", "STARTTLS")
        self.assertTagged(tagged, "a", "BAD")
        self.assertAlive(c)

    def test_plaintext_auth_allowed_still_offers_starttls(self):
        srv = self.start_tls_server(plaintext=True)
        c = self.connect(srv.plain_port)
        caps = capabilities(c.greeting)
        self.assertIn("STARTTLS", caps)
        self.assertIn("AUTH=PLAIN", caps)
        self.assertNotIn("LOGINDISABLED", caps)
        starttls(self, c)
        c.login()

    def test_starttls_without_tls_configured(self):
        srv = self.start_server()   # no --cert: no STARTTLS
        c = self.connect(srv)
        self.assertNotIn("STARTTLS", capabilities(c.greeting))
        _, tagged = c.command("a", "STARTTLS")
        self.assertIn(tagged.split()[1], ("NO", "BAD"), tagged)
        self.assertAlive(c)

    def test_logout_after_starttls(self):
        c = self.plain_connect(self.srv)
        starttls(self, c, suppress_ragged_eofs=False)
        untagged, tagged = c.command("z", "LOGOUT")
        self.assertTagged(tagged, "z", "OK")
        c.sock.settimeout(DEFAULT_TIMEOUT)
        try:
            self.assertEqual(c.sock.recv(100), b"")
        except ssl.SSLEOFError as e:
            self.fail(f"closed without close_notify: {e}")


# ---------------------------------------------------------------- STARTTLS injection

class StartTLSInjection(TLSTestCase):
    """CVE-2011-0411: commands sent in the same plaintext packet as STARTTLS must not be
    executed (nor answered) after the handshake."""

    def setUp(self):
        super().setUp()
        self.srv = self.start_tls_server()

    def handshake_after_ok(self, c, data, tag="a"):
        """Send data (one packet), expect exactly tag's OK in the clear, then TLS."""
        c.send(data)
        ok = c.readline()
        self.assertTagged(ok, tag, "OK")
        self.assertTrue(c.quiet_for(0.3), f"more plaintext after the OK: {c.buf!r}")
        c.raw = c.sock
        c.sock = client_ctx().wrap_socket(c.sock, server_hostname="localhost")
        return c

    def assertOnlyTag(self, c, tag="c", command="NOOP"):
        untagged, tagged = c.command(tag, command)
        self.assertTagged(tagged, tag, "OK")
        tags = [l.split(" ", 1)[0] for l in c.received if not l.startswith(("*", "+"))]
        after = tags[tags.index(tag) if tag in tags else 0:]
        self.assertEqual(after, [tag], f"tagged responses after the handshake: "
                                       f"{c.received!r}")
        for line in untagged:
            self.assertFalse(line.startswith("* CAPABILITY"), untagged)
        self.assertTrue(c.quiet_for(0.5), f"unexpected data after {tag}: {c.buf!r}")
        return untagged

    def test_injected_capability_not_answered(self):
        c = self.plain_connect(self.srv)
        self.handshake_after_ok(c, "a STARTTLS\r\nb CAPABILITY\r\n")
        self.assertOnlyTag(c, "c", "NOOP")
        self.assertFalse(any(l.startswith("b ") for l in c.received), c.received)

    def test_injected_login_not_executed(self):
        # with plaintext auth allowed, an injected LOGIN would authenticate the TLS
        # session with the attacker's credentials
        srv = self.start_tls_server(plaintext=True)
        c = self.connect(srv.plain_port)
        self.handshake_after_ok(c, "a STARTTLS\r\nb LOGIN bob hunter2\r\n")
        untagged, tagged = c.command("c", "CAPABILITY")
        self.assertTagged(tagged, "c", "OK")
        self.assertIn("AUTH=PLAIN", capabilities(untagged[0]), "session is not NOT-AUTH")
        _, tagged = c.command("d", "SELECT INBOX")
        self.assertTagged(tagged, "d", "BAD")   # not authenticated
        self.assertFalse(any(l.startswith("b ") for l in c.received), c.received)
        self.assertIsNone(srv.wait_log(r"login: user=bob", timeout=0.3), srv.stderr())
        c.login()

    def test_injected_literal_gets_no_continuation(self):
        c = self.plain_connect(self.srv)
        self.handshake_after_ok(c, "a STARTTLS\r\nb APPEND INBOX {20}\r\n")
        self.assertOnlyTag(c, "c", "NOOP")

    def test_injected_partial_line_discarded(self):
        # a partial command after STARTTLS must not be glued to the first TLS line
        c = self.plain_connect(self.srv)
        self.handshake_after_ok(c, "a STARTTLS\r\nb LOGI")
        _, tagged = c.command("c", "NOOP")
        self.assertTagged(tagged, "c", "OK")
        self.assertTrue(c.quiet_for(0.3), c.buf)

    def test_many_injected_commands(self):
        c = self.plain_connect(self.srv)
        junk = "".join(f"x{i} NOOP\r\n" for i in range(200))
        self.handshake_after_ok(c, "a STARTTLS\r\n" + junk)
        self.assertOnlyTag(c, "c", "NOOP")

    def test_injection_in_separate_packet(self):
        # plaintext sent after STARTTLS but in another packet (before the OK arrived)
        # is either discarded or taken as a broken handshake: never executed
        c = self.plain_connect(self.srv)
        c.send("a STARTTLS\r\n")
        c.send("b CAPABILITY\r\n")
        try:
            ok = c.readline()
        except ConnectionClosed:
            # on a loaded machine both lines can reach the server in one loop turn: the
            # second is then a broken ClientHello and the connection ends before the
            # OK goes out; what matters holds: nothing after STARTTLS was executed
            self.assertFalse(any(l.startswith("b ") for l in c.received), c.received)
            return
        self.assertTagged(ok, "a", "OK")
        if not c.quiet_for(0.3):
            # the server took "b CAPABILITY" as a broken ClientHello and closed (a TLS
            # alert may come first): fine, as long as no IMAP text came in the clear
            self.assertTrue(c.eof or c.buf.startswith(b"\x15"),
                            f"more plaintext after the OK: {c.buf!r}")
            self.assertNotIn(b"b ", c.buf)
            return
        try:
            c.sock = client_ctx().wrap_socket(c.sock, server_hostname="localhost")
        except (ssl.SSLError, ConnectionError, OSError):
            return   # the server took the plaintext as a bad ClientHello: fine
        try:
            self.assertOnlyTag(c, "c", "NOOP")
        except (ConnectionClosed, ssl.SSLError):
            pass
        self.assertFalse(any(l.startswith("b ") for l in c.received), c.received)


# ---------------------------------------------------------------- openssl s_client

@unittest.skipUnless(OPENSSL, "openssl CLI not installed (Debian package: openssl)")
class OpenSSLClient(TLSTestCase):
    def setUp(self):
        super().setUp()
        self.srv = self.start_tls_server()

    def s_client(self, port, *opts, stdin=b"a CAPABILITY\r\nb LOGOUT\r\n"):
        argv = [OPENSSL, "s_client", "-connect", f"127.0.0.1:{port}", "-ign_eof",
                "-CAfile", CERT_A, "-verify_hostname", "localhost", *opts]
        p = subprocess.run(argv, input=stdin, capture_output=True, timeout=30)
        return p.returncode, (p.stdout + p.stderr).decode("utf-8", "replace")

    def check_session(self, out, version, greeting=True):
        self.assertRegex(out, rf"New, {re.escape(version)}, Cipher is ", out)
        self.assertIn("Verify return code: 0 (ok)", out)
        if greeting:
            self.assertIn("* OK ", out)
        self.assertRegex(out, r"(?m)^a OK ", out)
        self.assertRegex(out, r"(?m)^b OK ", out)
        cap = re.search(r"(?m)^\* CAPABILITY .*$", out)
        self.assertIsNotNone(cap, out)
        caps = capabilities(cap.group(0))
        self.assertIn("AUTH=PLAIN", caps)
        self.assertNotIn("STARTTLS", caps)
        self.assertNotIn("LOGINDISABLED", caps)

    def test_implicit_tls13(self):
        rc, out = self.s_client(self.srv.tls_port)
        self.assertEqual(rc, 0, out)
        self.check_session(out, "TLSv1.3")

    def test_implicit_tls12(self):
        rc, out = self.s_client(self.srv.tls_port, "-tls1_2")
        self.assertEqual(rc, 0, out)
        self.check_session(out, "TLSv1.2")
        self.assertRegex(out, r"Cipher is ECDHE-ECDSA-(AES\d+-GCM-SHA\d+|CHACHA20-POLY1305)")

    def test_starttls_tls13(self):
        rc, out = self.s_client(self.srv.plain_port, "-starttls", "imap")
        self.assertEqual(rc, 0, out)
        self.check_session(out, "TLSv1.3", greeting=False)

    def test_starttls_tls12(self):
        rc, out = self.s_client(self.srv.plain_port, "-starttls", "imap", "-tls1_2")
        self.assertEqual(rc, 0, out)
        self.check_session(out, "TLSv1.2", greeting=False)

    def test_login_through_s_client(self):
        rc, out = self.s_client(self.srv.tls_port, stdin=b"a LOGIN alice secret\r\n"
                                b"s SELECT INBOX\r\nb LOGOUT\r\n")
        self.assertEqual(rc, 0, out)
        self.assertRegex(out, r"(?m)^a OK ")
        self.assertRegex(out, r"(?m)^s OK \[READ-WRITE\]")

    def test_old_versions_refused(self):
        for opt in ("-tls1_1", "-tls1"):
            with self.subTest(opt):
                rc, out = self.s_client(self.srv.tls_port, opt, "-cipher",
                                        "DEFAULT@SECLEVEL=0")
                if "no protocols available" in out or "unknown option" in out:
                    self.skipTest(f"this openssl cannot offer {opt}: {out[-300:]}")
                self.assertNotEqual(rc, 0, out)
                self.assertIn("Cipher is (NONE)", out)
                self.assertNotIn("* OK", out)
                self.assertRegex(out, r"alert protocol version|wrong version|"
                                      r"unsupported protocol", out)
        c = self.tls_connect(self.srv)
        self.assertAlive(c)

    def test_old_versions_refused_after_starttls(self):
        rc, out = self.s_client(self.srv.plain_port, "-starttls", "imap", "-tls1_1",
                                "-cipher", "DEFAULT@SECLEVEL=0")
        if "no protocols available" in out:
            self.skipTest("this openssl cannot offer TLS 1.1")
        self.assertNotEqual(rc, 0, out)
        self.assertIn("Cipher is (NONE)", out)

    def test_tls13_key_update(self):
        # s_client: "k" sends a KeyUpdate, "K" one that requests the server's too
        # (no -ign_eof: with it s_client does not take the k/K commands)
        argv = [OPENSSL, "s_client", "-connect", f"127.0.0.1:{self.srv.tls_port}",
                "-tls1_3", "-CAfile", CERT_A]
        p = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                             stderr=subprocess.STDOUT)
        chunks = []
        reader = threading.Thread(target=lambda: chunks.extend(iter(
            lambda: p.stdout.read1(65536), b"")), daemon=True)
        reader.start()
        try:
            for line in (b"a LOGIN alice secret\r\n", b"k\n", b"b NOOP\r\n", b"K\n",
                         b"c SELECT INBOX\r\n", b"K\n", b"d NOOP\r\n",
                         b"e LOGOUT\r\n"):
                time.sleep(0.3)
                p.stdin.write(line)
                p.stdin.flush()
            # s_client quits at the end of its input: close it once LOGOUT is answered
            deadline = time.monotonic() + 15
            while b"\ne OK" not in b"".join(chunks) and time.monotonic() < deadline:
                if p.poll() is not None:
                    break
                time.sleep(0.05)
            try:
                p.stdin.close()
            except BrokenPipeError:
                pass
            p.wait(timeout=10)
            reader.join(5)
        finally:
            if p.poll() is None:
                p.kill()
                p.wait()
        out = b"".join(chunks).decode("utf-8", "replace")
        self.assertIn("KEYUPDATE", out)
        for tag in "abcde":
            self.assertRegex(out, rf"(?m)^{tag} OK ", out)

    def test_tls12_renegotiation_refused(self):
        # s_client sends a renegotiating ClientHello on an "R" line; the server must
        # refuse it (close) and keep serving others
        c = self.tls_connect(self.srv)
        # (no -ign_eof: with it s_client does not take the R command)
        argv = [OPENSSL, "s_client", "-connect", f"127.0.0.1:{self.srv.tls_port}",
                "-tls1_2"]
        p = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                             stderr=subprocess.STDOUT)
        try:
            time.sleep(0.7)
            p.stdin.write(b"R\n")
            p.stdin.flush()
            time.sleep(0.7)
            try:
                p.stdin.write(b"a NOOP\r\n")
                p.stdin.flush()
                time.sleep(0.5)
                p.stdin.close()
            except BrokenPipeError:
                pass
            out = p.stdout.read()
            p.wait(timeout=10)
        finally:
            if p.poll() is None:
                p.kill()
                p.wait()
        out = out.decode("utf-8", "replace")
        self.assertIn("RENEGOTIATING", out)
        self.assertNotRegex(out, r"(?m)^a OK", out)
        self.assertIsNotNone(self.srv.wait_log(r"renegotiate \(refused\)"),
                             self.srv.stderr())
        self.assertAlive(c)


# ---------------------------------------------------------------- curl

@unittest.skipUnless(CURL, "curl not installed (Debian package: curl)")
class CurlClient(TLSTestCase):
    def setUp(self):
        super().setUp()
        self.srv = self.start_tls_server()

    def curl(self, url, *opts):
        argv = [CURL, "-sS", "--max-time", "20", "-u", "alice:secret", *opts, url]
        p = subprocess.run(argv, capture_output=True, timeout=30)
        return p.returncode, p.stdout.decode("utf-8", "replace"), p.stderr.decode(
            "utf-8", "replace")

    def test_imaps_list(self):
        port = self.srv.tls_port
        rc, out, err = self.curl(f"imaps://localhost:{port}/", "--cacert", CERT_A,
                                 "--resolve", f"localhost:{port}:127.0.0.1")
        self.assertEqual(rc, 0, err)
        self.assertRegex(out, r'(?m)^\* LIST \([^)]*\) "/" INBOX\r?$', out)

    def test_imaps_insecure_examine(self):
        rc, out, err = self.curl(f"imaps://127.0.0.1:{self.srv.tls_port}/", "-k",
                                 "-X", "EXAMINE INBOX")
        self.assertEqual(rc, 0, err)
        self.assertIn("EXISTS", out)
        self.assertIn("UIDVALIDITY", out)

    def test_imaps_capability(self):
        rc, out, err = self.curl(f"imaps://127.0.0.1:{self.srv.tls_port}/", "-k",
                                 "-X", "CAPABILITY")
        self.assertEqual(rc, 0, err)
        self.assertIn("* CAPABILITY IMAP4rev1", out)
        self.assertNotIn("STARTTLS", out)

    def test_starttls_ssl_reqd_list_and_examine(self):
        url = f"imap://127.0.0.1:{self.srv.plain_port}/"
        rc, out, err = self.curl(url, "--ssl-reqd", "-k")
        self.assertEqual(rc, 0, err)
        self.assertRegex(out, r'(?m)^\* LIST \([^)]*\) "/" INBOX\r?$', out)
        rc, out, err = self.curl(url, "--ssl-reqd", "-k", "-X", "EXAMINE INBOX")
        self.assertEqual(rc, 0, err)
        self.assertIn("EXISTS", out)

    def test_starttls_verified(self):
        port = self.srv.plain_port
        rc, out, err = self.curl(f"imap://localhost:{port}/", "--ssl-reqd",
                                 "--cacert", CERT_A,
                                 "--resolve", f"localhost:{port}:127.0.0.1",
                                 "-X", "CAPABILITY")
        self.assertEqual(rc, 0, err)
        self.assertIn("* CAPABILITY", out)
        self.assertNotIn("STARTTLS", out)

    def test_plain_imap_without_tls_refused(self):
        # no --ssl-reqd: curl stays in plaintext, and the server refuses to log in
        rc, out, err = self.curl(f"imap://127.0.0.1:{self.srv.plain_port}/")
        self.assertNotEqual(rc, 0, out)
        self.assertIsNone(self.srv.wait_log(r"login: user=alice", timeout=0.3))

    def test_fetch_message_over_imaps(self):
        m = self.imaps(self.srv)
        m.login("alice", "secret")
        msg = b"From: x@example.org\r\nSubject: curl\r\n\r\nfetched by curl\r\n"
        self.assertEqual(m.append("INBOX", None, None, msg)[0], "OK")
        rc, out, err = self.curl(f"imaps://127.0.0.1:{self.srv.tls_port}/INBOX;UID=1",
                                 "-k")
        self.assertEqual(rc, 0, err)
        self.assertEqual(out.encode(), msg)


# ---------------------------------------------------------------- resumption, ALPN, SNI

class Handshake(TLSTestCase):
    def setUp(self):
        super().setUp()
        self.srv = self.start_tls_server("--log-level", "debug")

    def test_tls12_session_ticket_resumption(self):
        ctx = client_ctx(max_version=ssl.TLSVersion.TLSv1_2)
        c1 = self.tls_connect(self.srv, ctx=ctx)
        self.assertEqual(c1.sock.version(), "TLSv1.2")
        self.assertFalse(c1.sock.session_reused)
        sess = c1.sock.session
        self.assertTrue(sess.has_ticket, "no TLS 1.2 session ticket")
        c1.close()
        c2 = self.tls_connect(self.srv, ctx=ctx, session=sess)
        self.assertTrue(c2.sock.session_reused, "TLS 1.2 session not resumed")
        c2.login()
        self.assertAlive(c2)

    def test_tls13_session_ticket_resumption(self):
        ctx = client_ctx()
        c1 = self.tls_connect(self.srv, ctx=ctx)   # the greeting read takes the ticket
        self.assertEqual(c1.sock.version(), "TLSv1.3")
        sess = c1.sock.session
        self.assertTrue(sess.has_ticket, "no NewSessionTicket after the TLS 1.3 handshake")
        c1.close()
        c2 = self.tls_connect(self.srv, ctx=ctx, session=sess)
        self.assertEqual(c2.sock.version(), "TLSv1.3")
        self.assertTrue(c2.sock.session_reused, "TLS 1.3 session not resumed")
        c2.login()
        self.assertAlive(c2)
        self.assertIsNotNone(self.srv.wait_log(r"TLS: TLSv1\.3 \S+ resumed"),
                             self.srv.stderr())

    def test_tls13_resumption_after_starttls(self):
        ctx = client_ctx()
        c1 = self.plain_connect(self.srv)
        starttls(self, c1, ctx)
        self.assertAlive(c1)
        sess = c1.sock.session
        c1.close()
        c2 = self.plain_connect(self.srv)
        _, tagged = c2.command("S", "STARTTLS")
        self.assertTagged(tagged, "S", "OK")
        c2.sock = ctx.wrap_socket(c2.sock, server_hostname="localhost", session=sess)
        self.assertTrue(c2.sock.session_reused)
        c2.login()

    def test_app_data_in_same_packet_as_client_finished(self):
        # TLS 1.3: the client's Finished and its first commands in one TCP segment
        b = BioTLS(self.srv.tls_port)
        self.addCleanup(b.close)
        b.handshake(hold_last_flight=True)
        self.assertEqual(b.obj.version(), "TLSv1.3")
        b.write(b"a LOGIN alice secret\r\nb SELECT INBOX\r\nc NOOP\r\n")
        b.flush()
        data, tagged = b.read_tagged("c")
        self.assertTrue(data.startswith(b"* OK "), data[:100])
        self.assertIn(b"\r\na OK ", data)
        self.assertIn(b"\r\nb OK [READ-WRITE]", data)
        self.assertTrue(tagged.startswith("c OK"), tagged)

    def test_app_data_in_same_packet_as_resumed_tls12_finished(self):
        # TLS 1.2 abbreviated handshake: the client's CCS + Finished and its commands
        ctx = client_ctx(max_version=ssl.TLSVersion.TLSv1_2)
        first = self.tls_connect(self.srv, ctx=ctx)
        sess = first.sock.session
        first.close()
        b = BioTLS(self.srv.tls_port, ctx=ctx, session=sess)
        self.addCleanup(b.close)
        b.handshake(hold_last_flight=True)
        self.assertTrue(b.obj.session_reused)
        b.write(b"a LOGIN alice secret\r\nc NOOP\r\n")
        b.flush()
        data, tagged = b.read_tagged("c")
        self.assertIn(b"\r\na OK ", data)
        self.assertTrue(tagged.startswith("c OK"), tagged)

    def test_alpn_imap_selected(self):
        c = self.tls_connect(self.srv, ctx=client_ctx(alpn=["imap"]))
        self.assertEqual(c.sock.selected_alpn_protocol(), "imap")
        c.login()
        c2 = self.tls_connect(self.srv, ctx=client_ctx(alpn=["h2", "imap", "http/1.1"]))
        self.assertEqual(c2.sock.selected_alpn_protocol(), "imap")
        self.assertAlive(c2)

    def test_no_alpn(self):
        c = self.tls_connect(self.srv)
        self.assertIsNone(c.sock.selected_alpn_protocol())
        self.assertAlive(c)

    def test_alpn_other_protocol_closed(self):
        # ALPACA: a client of another protocol must not get an IMAP session
        c = TLSClient(self.srv.tls_port, ctx=client_ctx(alpn=["http/1.1"]))
        self.addCleanup(c.close)
        self.assertNotEqual(c.sock.selected_alpn_protocol(), "http/1.1")
        data, _ = self.assertTLSClosed(c.sock)
        self.assertNotIn(b"* OK", data)
        self.assertIsNotNone(self.srv.wait_log(r"ALPN"), self.srv.stderr())

    def test_sni_accepted(self):
        ctx = client_ctx()
        ctx.check_hostname = False     # the certificate names localhost only
        c = self.tls_connect(self.srv, ctx=ctx, server_hostname="mail.example.org")
        c.login()
        self.assertAlive(c)
        self.assertIsNotNone(self.srv.wait_log(r"TLS: \S+ \S+.* sni=mail\.example\.org"),
                             self.srv.stderr())

    def test_sni_localhost_verified(self):
        c = self.tls_connect(self.srv, server_hostname="localhost")
        self.assertEqual(c.sock.getpeercert()["subject"], ((("commonName", "uimap-test-a"),),))
        self.assertIsNotNone(self.srv.wait_log(r"sni=localhost"), self.srv.stderr())

    def test_no_sni(self):
        ctx = client_ctx()
        ctx.check_hostname = False
        c = self.tls_connect(self.srv, ctx=ctx, server_hostname=None)
        self.assertAlive(c)

    def test_tls12_cipher_suites_aead_ecdhe(self):
        c = self.tls_connect(self.srv, ctx=client_ctx(max_version=ssl.TLSVersion.TLSv1_2))
        name, version, bits = c.sock.cipher()
        self.assertEqual(version, "TLSv1.2")
        self.assertRegex(name, r"^ECDHE-ECDSA-(AES\d+-GCM-SHA\d+|CHACHA20-POLY1305)$")

    def test_tls12_client_without_ecdhe_aead_refused(self):
        ctx = client_ctx(max_version=ssl.TLSVersion.TLSv1_2)
        ctx.set_ciphers("AES128-SHA:AES256-SHA")    # RSA key exchange, CBC
        with self.assertRaises((ssl.SSLError, ConnectionError)):
            TLSClient(self.srv.tls_port, ctx=ctx).close()
        self.assertAlive(self.tls_connect(self.srv))


# ---------------------------------------------------------------- hostile clients

class HostileClients(TLSTestCase):
    def setUp(self):
        super().setUp()
        self.srv = self.start_tls_server("--unauth-idle", "1", "--auth-idle", "60")
        # a logged-in TLS session that must survive everything in these tests
        self.witness = self.tls_connect(self.srv)
        self.witness.login()

    def tearDown(self):
        self.assertAlive(self.witness, "w-end")
        super().tearDown()

    def raw(self):
        s = socket.create_connection(("127.0.0.1", self.srv.tls_port), timeout=5)
        self.addCleanup(s.close)
        return s

    def test_plaintext_on_tls_port_closed(self):
        s = self.raw()
        s.sendall(b"a CAPABILITY\r\n")
        t0 = time.monotonic()
        data, how = self.assertTLSClosed(s, timeout=3)
        self.assertLess(time.monotonic() - t0, 0.9, "closed by the idle timer, not at once")
        self.assertNotIn(b"* OK", data, "IMAP in the clear on the TLS port")
        self.assertNotIn(b"CAPABILITY", data)
        self.assertIsNotNone(self.srv.wait_log(r"not a TLS ClientHello"), self.srv.stderr())
        self.assertAlive(self.witness)
        self.assertAlive(self.tls_connect(self.srv))

    def test_http_request_on_tls_port_closed(self):
        s = self.raw()
        s.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        data, _ = self.assertTLSClosed(s, timeout=3)
        self.assertNotIn(b"* OK", data)
        self.assertAlive(self.witness)

    def assertClosedByIdle(self, s, what):
        """Closed by --unauth-idle 1: not before 0.9 s, and promptly after (an idle
        connection in the handshake has nothing it could flush)."""
        t0 = time.monotonic()
        data, _ = self.assertTLSClosed(s, timeout=15)
        elapsed = time.monotonic() - t0
        self.assertNotIn(b"* OK", data, "IMAP in the clear on the TLS port")
        self.assertNotIn(b"* BYE", data, "IMAP in the clear on the TLS port")
        self.assertAlive(self.witness)
        self.assertGreaterEqual(elapsed, 0.9)
        self.assertLess(elapsed, 4.0, f"{what}: closed {elapsed:.1f}s after the last "
                                      "byte with --unauth-idle 1")
        return data

    def test_silent_client_closed_by_unauth_idle(self):
        s = self.raw()
        data = self.assertClosedByIdle(s, "silent client")
        self.assertEqual(data, b"", "bytes sent in the clear before any handshake")

    def test_half_client_hello_closed_by_unauth_idle(self):
        hello = client_hello()
        s = self.raw()
        s.sendall(hello[:len(hello) // 2])
        self.assertClosedByIdle(s, "half a ClientHello")

    def test_idle_in_handshake_closed_eventually(self):
        # the weaker property: the connection does get closed (and its slot freed)
        for what, data in (("nothing", b""), ("a record header", b"\x16\x03\x01\x02\x00"),
                           ("40 bytes of a ClientHello", client_hello()[:40])):
            with self.subTest(what):
                s = self.raw()
                s.sendall(data)
                got, _ = self.assertTLSClosed(s, timeout=15)
                self.assertNotIn(b"* OK", got)
        self.assertAlive(self.witness)

    def test_idle_after_starttls_before_handshake(self):
        c = self.plain_connect(self.srv)
        _, tagged = c.command("a", "STARTTLS")
        self.assertTagged(tagged, "a", "OK")
        got, _ = self.assertTLSClosed(c.sock, timeout=15)
        self.assertNotIn(b"* BYE", got, "BYE in the clear after STARTTLS")

    def test_handshake_done_then_silent_gets_bye(self):
        c = self.tls_connect(self.srv)
        lines = self.assertClosed(c, timeout=6)
        self.assertTrue(lines and lines[-1].startswith("* BYE"), lines)

    def test_garbage_after_handshake_closed(self):
        for name, junk in (("text", b"garbage garbage\r\n"),
                           ("bad record mac", b"\x17\x03\x03\x00\x40" + os.urandom(64)),
                           ("random", os.urandom(300))):
            with self.subTest(name):
                c = self.tls_connect(self.srv)
                c.login()
                with socket.socket(fileno=os.dup(c.sock.fileno())) as dup:
                    dup.sendall(junk)
                data, how = self.assertTLSClosed(c.sock, timeout=3)
                self.assertNotIn(b"* OK", data)
                self.assertAlive(self.witness, "w-" + name.split()[0])
        self.assertIsNotNone(self.srv.wait_log(r"TLS read failed|TLS:"), self.srv.stderr())

    def test_garbage_instead_of_handshake_after_starttls(self):
        c = self.plain_connect(self.srv)
        addr = "127.0.0.1:%d" % c.sock.getsockname()[1]
        _, tagged = c.command("a", "STARTTLS")
        self.assertTagged(tagged, "a", "OK")
        c.send("b LOGIN alice secret\r\n")
        data, _ = self.assertTLSClosed(c.sock, timeout=3)
        self.assertNotIn(b"b OK", data)
        self.assertAlive(self.witness)
        # a barrier: stderr is ordered, so once a later login's line is in the log,
        # a login on the STARTTLS connection would be there too
        late = self.tls_connect(self.srv)
        late_addr = "127.0.0.1:%d" % late.sock.getsockname()[1]
        late.login()
        self.assertIsNotNone(self.srv.wait_log(re.escape(late_addr) + r"\] login: user="),
                             self.srv.stderr())
        self.assertEqual([l for l in self.srv.lines() if addr + "] login: user=" in l], [],
                         self.srv.stderr())

    def test_truncated_client_hello_then_close(self):
        for n in (1, 5, 50):
            s = self.raw()
            s.sendall(client_hello()[:n])
            s.close()
        self.assertAlive(self.witness)
        self.assertAlive(self.tls_connect(self.srv))

    def test_abrupt_close_mid_session(self):
        for _ in range(20):
            c = self.tls_connect(self.srv)
            c.send("a LOGIN alice secret\r\nb SELECT INBOX\r\nc FETCH 1:* FLAGS\r\n")
            c.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\0\0\0\0\0\0\0")
            c.close()   # RST
        self.assertAlive(self.witness)
        self.assertAlive(self.tls_connect(self.srv))


class LimitsAndShutdown(TLSTestCase):
    def assertNoPlaintextOnTLSPort(self, srv):
        """A client over the limit on the TLS port: refused, but never with IMAP text
        in the clear (an implicit-TLS client cannot read it; RFC 8314 3.2)."""
        s = socket.create_connection(("127.0.0.1", srv.tls_port), timeout=5)
        self.addCleanup(s.close)
        s.sendall(client_hello())
        data, how = self.assertTLSClosed(s, timeout=8)
        self.assertFalse(data.startswith(b"* "), f"plaintext on the TLS port: {data[:100]!r}")
        self.assertNotIn(b"* BYE", data, f"plaintext on the TLS port: {data[:100]!r}")

    def test_max_connections_reject_on_tls_port(self):
        srv = self.start_tls_server("--max-connections", "2")
        a = self.tls_connect(srv)
        b = self.tls_connect(srv)
        self.assertNoPlaintextOnTLSPort(srv)
        self.assertIsNotNone(srv.wait_log(r"rejected: \* BYE \[UNAVAILABLE\]"))
        self.assertAlive(a)
        self.assertAlive(b)

    def test_max_connections_per_ip_reject_on_tls_port(self):
        srv = self.start_tls_server("--max-connections-per-ip", "1")
        a = self.tls_connect(srv)
        self.assertNoPlaintextOnTLSPort(srv)
        self.assertAlive(a)

    def test_max_connections_reject_on_plain_port_is_plain_bye(self):
        srv = self.start_tls_server("--max-connections", "1")
        a = self.tls_connect(srv)
        c = self.connect(srv.plain_port, greeting=False)
        lines = self.assertClosed(c)
        self.assertTrue(lines and lines[0].startswith("* BYE [UNAVAILABLE]"), lines)
        self.assertAlive(a)

    def test_unauth_command_limit_over_tls(self):
        srv = self.start_tls_server("--unauth-commands", "3")
        c = self.tls_connect(srv)
        c.send("".join(f"n{i} NOOP\r\n" for i in range(6)))
        lines = self.assertClosed(c)
        self.assertEqual(len([l for l in lines if " OK " in l]), 3, lines)
        self.assertTrue(lines[3].startswith("* BYE"), lines)

    def test_sigterm_with_tls_clients(self):
        srv = self.start_tls_server()
        est = self.tls_connect(srv)
        est.login()
        _, tagged = est.command("s", "SELECT INBOX")
        st = self.connect(srv.plain_port)
        starttls(self, st)
        st.login()
        t0 = time.monotonic()
        srv.signal(signal.SIGTERM)
        for c in (est, st):
            lines = self.assertClosed(c, timeout=10)
            self.assertTrue(any(l.startswith("* BYE") for l in lines), lines)
        rc = srv.wait(timeout=15)
        self.assertEqual(rc, 0, srv.stderr()[-2000:])
        self.assertLess(time.monotonic() - t0, 3.0)

    def sigterm_with(self, srv, what):
        t0 = time.monotonic()
        srv.signal(signal.SIGTERM)
        rc = srv.wait(timeout=15)
        elapsed = time.monotonic() - t0
        self.assertEqual(rc, 0, srv.stderr()[-2000:])
        print(f"\n  exit {elapsed:.1f}s after SIGTERM with {what}", file=sys.stderr)
        self.assertLess(elapsed, 3.0, f"shutdown took {elapsed:.1f}s: it waited for {what}")

    def test_sigterm_with_client_in_implicit_handshake(self):
        srv = self.start_tls_server()
        half = socket.create_connection(("127.0.0.1", srv.tls_port), timeout=5)
        self.addCleanup(half.close)
        half.sendall(client_hello()[:60])
        time.sleep(0.2)
        self.sigterm_with(srv, "a client in the middle of the TLS handshake")
        data, _ = self.assertTLSClosed(half, timeout=2)
        self.assertNotIn(b"* BYE", data, "BYE in the clear on the TLS port")

    def test_sigterm_with_client_after_starttls_ok(self):
        srv = self.start_tls_server()
        st = self.connect(srv.plain_port)
        _, tagged = st.command("a", "STARTTLS")
        self.assertTagged(tagged, "a", "OK")
        time.sleep(0.2)
        self.sigterm_with(srv, "a client that has not started the handshake after STARTTLS")
        data, _ = self.assertTLSClosed(st.sock, timeout=2)
        self.assertNotIn(b"* BYE", data, "BYE in the clear after STARTTLS")


# ---------------------------------------------------------------- large FETCH

class LargeFetch(TLSTestCase):
    HARD_TIMEOUT = 240
    COUNT = 20
    SIZE = 1 << 20

    def run_big(self, c):
        msgs = [make_big_message(i, self.SIZE) for i in range(self.COUNT)]
        c.login()
        _, tagged = c.command("s", "SELECT INBOX", timeout=30)
        self.assertTagged(tagged, "s", "OK")
        # LITERAL+: everything in one go
        payload = b"".join(f"p{i} APPEND INBOX {{{len(m)}+}}\r\n".encode() + m + b"\r\n"
                           for i, m in enumerate(msgs))
        c.sock.settimeout(120)
        c.sock.sendall(payload)
        for i in range(self.COUNT):
            _, tagged = c.read_tagged(f"p{i}", timeout=120)
            self.assertTagged(tagged, f"p{i}", "OK")
        c.send("f FETCH 1:* BODY.PEEK[]\r\n")
        bodies, tagged = fetch_bodies(c, "f", timeout=180)
        self.assertTagged(tagged, "f", "OK")
        self.assertEqual(sorted(bodies), list(range(1, self.COUNT + 1)))
        for i, m in enumerate(msgs):
            got = bodies[i + 1]
            if got != m:
                k = next((j for j in range(min(len(got), len(m))) if got[j] != m[j]),
                         min(len(got), len(m)))
                self.fail(f"message {i + 1}: {len(got)} bytes, expected {len(m)}; "
                          f"first difference at {k}: {got[k:k + 40]!r} vs {m[k:k + 40]!r}")
        self.assertAlive(c)

    def test_large_fetch_implicit_tls(self):
        srv = self.start_tls_server()
        self.run_big(self.tls_connect(srv, timeout=60))

    def test_large_fetch_after_starttls(self):
        srv = self.start_tls_server()
        c = self.connect(srv.plain_port, timeout=60)
        starttls(self, c)
        self.run_big(c)

    def test_large_fetch_slow_reader(self):
        # the client reads nothing for a while: the server must queue, not drop or spin
        srv = self.start_tls_server()
        c = self.tls_connect(srv, timeout=60)
        self.COUNT = 8
        msgs = [make_big_message(100 + i, self.SIZE) for i in range(self.COUNT)]
        c.login()
        c.command("s", "SELECT INBOX")
        c.sock.settimeout(60)
        c.sock.sendall(b"".join(f"p{i} APPEND INBOX {{{len(m)}+}}\r\n".encode() + m +
                                b"\r\n" for i, m in enumerate(msgs)))
        for i in range(self.COUNT):
            _, tagged = c.read_tagged(f"p{i}", timeout=60)
            self.assertTagged(tagged, f"p{i}", "OK")
        c.send("f FETCH 1:* BODY.PEEK[]\r\n")
        time.sleep(2)
        w = self.tls_connect(srv)   # the server is not stuck on the slow reader
        w.login()
        self.assertAlive(w)
        time.sleep(1)
        bodies, tagged = fetch_bodies(c, "f", timeout=120)
        self.assertTagged(tagged, "f", "OK")
        for i, m in enumerate(msgs):
            self.assertTrue(bodies[i + 1] == m, f"message {i + 1} differs")

    def test_client_closes_during_large_fetch(self):
        srv = self.start_tls_server()
        c = self.tls_connect(srv, timeout=60)
        self.COUNT = 6
        msgs = [make_big_message(200 + i, self.SIZE) for i in range(self.COUNT)]
        c.login()
        c.command("s", "SELECT INBOX")
        c.sock.settimeout(60)
        c.sock.sendall(b"".join(f"p{i} APPEND INBOX {{{len(m)}+}}\r\n".encode() + m +
                                b"\r\n" for i, m in enumerate(msgs)))
        for i in range(self.COUNT):
            _, tagged = c.read_tagged(f"p{i}", timeout=60)
        for k in range(5):
            d = self.tls_connect(srv, timeout=30)
            d.login()
            d.command("s", "SELECT INBOX")
            d.send("f FETCH 1:* BODY.PEEK[]\r\n")
            d.sock.recv(1000 * (k + 1))
            if k % 2:
                d.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\0\0\0\0\0\0\0")
            d.close()
        self.assertAlive(c)
        c.send("f FETCH 1 BODY.PEEK[]\r\n")
        bodies, tagged = fetch_bodies(c, "f", timeout=30)
        self.assertEqual(bodies[1], msgs[0])

    def test_large_fetch_tls12(self):
        srv = self.start_tls_server()
        self.COUNT = 5
        self.run_big(self.tls_connect(
            srv, ctx=client_ctx(max_version=ssl.TLSVersion.TLSv1_2), timeout=60))


# ---------------------------------------------------------------- many connections

class _NB:
    """One non-blocking TLS client of drive_many()."""
    __slots__ = ("sock", "tls", "state", "buf", "error")

    def __init__(self, sock):
        self.sock = sock
        self.tls = None
        self.state = "connect"
        self.buf = b""
        self.error = None


def drive_many(port, n, ctx, timeout, command=b"a NOOP\r\n", tag=b"a", starttls=False):
    """Open n TLS connections at once with a selector: TCP connect, (STARTTLS,)
    handshake, read the greeting, send command (None: stop after the greeting), read
    tag's response. Returns (clients, done count, errors, seconds); the sockets stay
    open."""
    sel = selectors.DefaultSelector()
    clients = []
    t0 = time.monotonic()
    for _ in range(n):
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.setblocking(False)
        err = s.connect_ex(("127.0.0.1", port))
        if err not in (0, errno.EINPROGRESS):
            s.close()
            raise OSError(err, os.strerror(err))
        c = _NB(s)
        clients.append(c)
        sel.register(s, selectors.EVENT_WRITE, c)
    pending = n
    done = 0
    errors = []

    def finish(c, error=None):
        nonlocal pending, done
        sel.unregister(c.tls or c.sock)
        pending -= 1
        if error is None:
            c.state = "done"
            done += 1
        else:
            c.state = "failed"
            c.error = error
            errors.append(error)

    def want(c, ev):
        sel.modify(c.tls or c.sock, ev, c)

    def start_tls(c):
        sel.unregister(c.sock)
        c.tls = ctx.wrap_socket(c.sock, server_hostname="localhost",
                                do_handshake_on_connect=False)
        sel.register(c.tls, selectors.EVENT_READ, c)
        c.state = "handshake"

    def got_line(c, line):
        """One response line; returns an error text, "stop", or None."""
        if c.state in ("greeting", "plain-greeting"):
            if not line.startswith(b"* OK"):
                return f"greeting {line[:80]!r}"
            if c.state == "plain-greeting":
                c.sock.send(b"S STARTTLS\r\n")
                c.state = "plain-starttls"
                return None
            if command is None:
                return "stop"
            c.tls.sendall(command)
            c.state = "reply"
        elif c.state == "plain-starttls" and line.startswith(b"S "):
            if not line.startswith(b"S OK"):
                return f"STARTTLS {line[:80]!r}"
            if c.buf:
                return f"plaintext after the STARTTLS OK: {c.buf[:80]!r}"
            start_tls(c)
            return "tls"
        elif c.state == "reply" and line.startswith(tag + b" "):
            if not line.startswith(tag + b" OK"):
                return f"reply {line[:80]!r}"
            return "stop"
        return None

    def step(c):
        if c.state == "connect":
            err = c.sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
            if err:
                return finish(c, f"connect: {os.strerror(err)}")
            if starttls:
                c.state = "plain-greeting"
                want(c, selectors.EVENT_READ)
                return
            start_tls(c)
        if c.state.startswith("plain"):
            try:
                data = c.sock.recv(65536)
            except BlockingIOError:
                return
            except OSError as e:
                return finish(c, f"{c.state}: {e}")
            if not data:
                return finish(c, f"{c.state}: closed by the server")
            c.buf += data
            while b"\r\n" in c.buf:
                line, c.buf = c.buf.split(b"\r\n", 1)
                r = got_line(c, line)
                if r == "tls":
                    break
                if r is not None:
                    return finish(c, r)
            if c.state != "handshake":
                return
        if c.state == "handshake":
            try:
                c.tls.do_handshake()
            except ssl.SSLWantReadError:
                return want(c, selectors.EVENT_READ)
            except ssl.SSLWantWriteError:
                return want(c, selectors.EVENT_WRITE)
            except (ssl.SSLError, OSError) as e:
                return finish(c, f"handshake: {e}")
            want(c, selectors.EVENT_READ)
            if starttls:
                if command is None:
                    return finish(c)
                c.tls.sendall(command)
                c.state = "reply"
            else:
                c.state = "greeting"
        while True:
            try:
                data = c.tls.recv(65536)
            except ssl.SSLWantReadError:
                return
            except ssl.SSLWantWriteError:
                return want(c, selectors.EVENT_WRITE)
            except (ssl.SSLError, OSError) as e:
                return finish(c, f"{c.state}: {e}")
            if not data:
                return finish(c, f"{c.state}: closed by the server")
            c.buf += data
            while b"\r\n" in c.buf:
                line, c.buf = c.buf.split(b"\r\n", 1)
                r = got_line(c, line)
                if r == "stop":
                    return finish(c)
                if r is not None:
                    return finish(c, r)

    deadline = t0 + timeout
    while pending > 0:
        left = deadline - time.monotonic()
        if left <= 0:
            break
        for key, _ in sel.select(min(left, 1.0)):
            step(key.data)
    sel.close()
    states = {}
    for c in clients:
        states[c.state] = states.get(c.state, 0) + 1
    if pending:
        errors.append(f"{pending} not finished within {timeout}s: {states}")
    return clients, done, errors, time.monotonic() - t0


def close_many(clients):
    for c in clients:
        try:
            (c.tls or c.sock).close()
        except OSError:
            pass


class ManyConnections(TLSTestCase):
    HARD_TIMEOUT = 300

    def setUp(self):
        super().setUp()
        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        want = 4096 if hard == resource.RLIM_INFINITY else min(hard, 8192)
        if want < 2200:
            self.skipTest(f"RLIMIT_NOFILE hard limit {hard} is too low")
        if soft < want:
            resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))
            self.addCleanup(resource.setrlimit, resource.RLIMIT_NOFILE, (soft, hard))

    def test_1000_concurrent_tls_connections(self):
        # started after the rlimit raise: the server inherits it
        # all from 127.0.0.1, most still in their handshake: no per-address cap
        srv = self.start_tls_server("--max-connections", "5000",
                                    "--max-unauth-connections-per-ip", "0")
        clients, done, errors, secs = drive_many(srv.tls_port, 1000, client_ctx(),
                                                 timeout=120)
        self.addCleanup(close_many, clients)
        print(f"\n  1000 TLS connections (handshake + greeting + NOOP) in {secs:.1f}s",
              file=sys.stderr)
        self.assertEqual(done, 1000, f"{len(errors)} failed; first: {errors[:5]}")
        # all 1000 still open: the server still takes new ones, and they still answer
        c = self.tls_connect(srv)
        c.login()
        self.assertAlive(c)
        for cl in clients[:: 97]:
            cl.tls.setblocking(True)
            cl.tls.settimeout(10)
            cl.tls.sendall(b"b NOOP\r\n")
            buf = cl.buf
            while b"b OK" not in buf:
                chunk = cl.tls.recv(4096)
                self.assertTrue(chunk, "closed")
                buf += chunk

    def test_1000_concurrent_starttls_connections(self):
        # all from 127.0.0.1, most still in their handshake: no per-address cap
        srv = self.start_tls_server("--max-connections", "5000",
                                    "--max-unauth-connections-per-ip", "0")
        clients, done, errors, secs = drive_many(srv.plain_port, 1000, client_ctx(),
                                                 timeout=120, starttls=True,
                                                 command=b"a LOGIN alice secret\r\n")
        self.addCleanup(close_many, clients)
        print(f"\n  1000 STARTTLS connections (STARTTLS + handshake + LOGIN) in "
              f"{secs:.1f}s", file=sys.stderr)
        self.assertEqual(done, 1000, f"{len(errors)} failed; first: {errors[:5]}")
        c = self.tls_connect(srv)
        c.login()
        self.assertAlive(c)


# ---------------------------------------------------------------- SIGHUP reload

class Reload(TLSTestCase):
    def setUp(self):
        super().setUp()
        self.cert = os.path.join(self.tmpdir, "server.crt")
        self.key = os.path.join(self.tmpdir, "server.key")
        self.install(CERT_A, KEY_A)
        self.srv = self.start_tls_server("--max-unauth-connections-per-ip", "0",
                                         cert=self.cert, key=self.key)
        self.ctx = client_ctx(cafile=[CERT_A, CERT_B])

    def install(self, cert, key):
        for src, dst in ((cert, self.cert), (key, self.key)):
            tmp = dst + ".new"
            shutil.copyfile(src, tmp)
            os.replace(tmp, dst)

    def peer(self, c):
        return c.sock.getpeercert(binary_form=True)

    def hup(self, expect=r"TLS certificate reloaded"):
        n = len([l for l in self.srv.lines() if re.search(expect, l)])
        self.srv.signal(signal.SIGHUP)
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            if len([l for l in self.srv.lines() if re.search(expect, l)]) > n:
                return
            time.sleep(0.05)
        self.fail(f"no {expect!r} after SIGHUP:\n" + self.srv.stderr())

    def test_reload_new_certificate(self):
        old = self.tls_connect(self.srv, ctx=self.ctx)
        old.login()
        self.assertEqual(self.peer(old), pem_to_der(CERT_A))
        old_st = self.plain_connect(self.srv)
        starttls(self, old_st, self.ctx)
        self.install(CERT_B, KEY_B)
        self.hup()
        new = self.tls_connect(self.srv, ctx=self.ctx)
        self.assertEqual(self.peer(new), pem_to_der(CERT_B))
        new.login()
        new_st = self.plain_connect(self.srv)
        starttls(self, new_st, self.ctx)
        self.assertEqual(self.peer(new_st), pem_to_der(CERT_B))
        # the connections made before still work, on the old certificate
        self.assertEqual(self.peer(old), pem_to_der(CERT_A))
        self.assertAlive(old)
        _, tagged = old.command("s", "SELECT INBOX")
        self.assertTagged(tagged, "s", "OK")
        old_st.login()
        self.assertAlive(old_st)
        # and back to A
        self.install(CERT_A, KEY_A)
        self.hup()
        self.assertEqual(self.peer(self.tls_connect(self.srv, ctx=self.ctx)),
                         pem_to_der(CERT_A))
        self.assertAlive(new)

    def test_reload_with_tls12_and_old_session(self):
        ctx = client_ctx(cafile=[CERT_A, CERT_B], max_version=ssl.TLSVersion.TLSv1_2)
        c1 = self.tls_connect(self.srv, ctx=ctx)
        sess = c1.sock.session
        self.install(CERT_B, KEY_B)
        self.hup()
        # a session ticket from before the reload: a full handshake with the new cert
        c2 = self.tls_connect(self.srv, ctx=ctx, session=sess)
        self.assertEqual(self.peer(c2), pem_to_der(CERT_B))
        self.assertAlive(c2)
        self.assertAlive(c1)

    def test_reload_failure_keeps_old_certificate(self):
        self.install(CERT_B, KEY_B)
        self.hup()
        c = self.tls_connect(self.srv, ctx=self.ctx)
        for name, (cert_text, key_src) in {
                "garbage cert": ("not a certificate\n", KEY_B),
                "empty cert": ("", KEY_B),
                "mismatched key": (None, KEY_A)}.items():
            with self.subTest(name):
                if cert_text is None:
                    shutil.copyfile(CERT_B, self.cert)
                else:
                    with open(self.cert, "w") as f:
                        f.write(cert_text)
                shutil.copyfile(key_src, self.key)
                self.hup(r"TLS reload failed")
                n = self.tls_connect(self.srv, ctx=self.ctx)
                self.assertEqual(self.peer(n), pem_to_der(CERT_B))
                n.login()
                self.assertAlive(c)
        os.unlink(self.cert)
        self.hup(r"TLS reload failed")
        self.assertEqual(self.peer(self.tls_connect(self.srv, ctx=self.ctx)),
                         pem_to_der(CERT_B))

    def test_reload_during_handshake(self):
        # the ClientHello is split around the reload: the handshake still completes
        b = BioTLS(self.srv.tls_port, ctx=self.ctx)
        self.addCleanup(b.close)
        hello = b.client_hello()
        b.sock.sendall(hello[:50])
        time.sleep(0.2)
        self.install(CERT_B, KEY_B)
        self.hup()
        b.sock.sendall(hello[50:])
        b.handshake()
        der = b.obj.getpeercert(binary_form=True)
        self.assertIn(der, (pem_to_der(CERT_A), pem_to_der(CERT_B)))
        b.write(b"a LOGIN alice secret\r\n")
        b.flush()
        _, tagged = b.read_tagged("a")
        self.assertTrue(tagged.startswith("a OK"), tagged)

    def test_starttls_after_reload_on_old_plain_connection(self):
        c = self.plain_connect(self.srv)     # accepted before the reload
        self.install(CERT_B, KEY_B)
        self.hup()
        starttls(self, c, self.ctx)
        self.assertEqual(self.peer(c), pem_to_der(CERT_B))
        c.login()

    def test_reload_storm_during_handshakes(self):
        stop = threading.Event()
        hups = [0]

        def storm():
            k = 0
            while not stop.is_set():
                k += 1
                self.install(CERT_B if k % 2 else CERT_A, KEY_B if k % 2 else KEY_A)
                self.srv.signal(signal.SIGHUP)
                hups[0] += 1
                time.sleep(0.01)

        t = threading.Thread(target=storm, daemon=True)
        t.start()
        try:
            clients, done, errors, secs = drive_many(self.srv.tls_port, 300, self.ctx,
                                                     timeout=60)
            self.addCleanup(close_many, clients)
            st, sdone, serrors, _ = drive_many(self.srv.plain_port, 100, self.ctx,
                                               timeout=60, starttls=True)
            self.addCleanup(close_many, st)
        finally:
            stop.set()
            t.join(5)
        self.assertEqual(done, 300, errors[:5])
        self.assertEqual(sdone, 100, serrors[:5])
        self.assertGreater(hups[0], 5)
        ders = {c.tls.getpeercert(binary_form=True) for c in clients + st}
        self.assertLessEqual(ders, {pem_to_der(CERT_A), pem_to_der(CERT_B)})
        self.assertTrue(self.srv.alive())
        self.assertAlive(self.tls_connect(self.srv, ctx=self.ctx))

    def test_sighup_without_tls(self):
        srv = self.start_server()
        c = self.connect(srv)
        srv.signal(signal.SIGHUP)
        time.sleep(0.3)
        self.assertTrue(srv.alive())
        self.assertAlive(c)

    def test_reload_with_many_connections_open(self):
        olds = [self.tls_connect(self.srv, ctx=self.ctx) for _ in range(30)]
        for i, o in enumerate(olds):
            o.login(tag=f"L{i}")
        for k in range(5):
            self.install(CERT_B if k % 2 == 0 else CERT_A, KEY_B if k % 2 == 0 else KEY_A)
            self.hup()
        for i, o in enumerate(olds):
            self.assertAlive(o, f"o{i}")
        self.assertEqual(self.peer(self.tls_connect(self.srv, ctx=self.ctx)),
                         pem_to_der(CERT_B))
        for o in olds:
            o.close()
        self.assertAlive(self.tls_connect(self.srv, ctx=self.ctx))


class HandshakeWorkers(TLSTestCase):
    """Handshakes on worker threads (--tls-workers): a handshake step held on a worker
    by the test-only delay failpoint (UIMAP_FAILPOINTS=tls-handshake=<N>ms) must not
    hold anybody else up, and a client that leaves meanwhile is freed when its step
    comes back."""
    HARD_TIMEOUT = 90
    HOLD_MS = 4000

    def start_held(self, *extra):
        env = dict(os.environ, UIMAP_FAILPOINTS=f"tls-handshake={self.HOLD_MS}ms*1")
        srv = self.start_tls_server("--tls-workers", "2", *extra, env=env)
        self.assertIsNotNone(srv.wait_log(r"TLS handshakes on 2 worker thread"), srv.stderr())
        return srv

    def held_client(self, srv):
        """A client whose ClientHello went out: the first step, held on a worker."""
        slow = BioTLS(srv.tls_port, timeout=self.HOLD_MS / 1000 + 20)
        self.addCleanup(slow.close)
        try:
            slow.obj.do_handshake()
        except ssl.SSLWantReadError:
            pass
        slow.flush()
        return slow

    def test_others_served_while_a_handshake_is_held_on_a_worker(self):
        srv = self.start_held()
        slow = self.held_client(srv)
        # plaintext clients and a second TLS client (its handshake is not held)
        plain = self.plain_connect(srv)
        for i in range(8):   # under the 10 commands allowed before login
            self.assertAlive(plain, f"n{i}")
        other = self.tls_connect(srv)
        self.assertAlive(other)
        other.login()
        self.assertAlive(other, "after-login")
        # StartTLS meanwhile too: the plaintext OK first, then its handshake
        st = starttls(self, self.plain_connect(srv))
        self.assertAlive(st, "starttls")
        # all of that while the first handshake was still held: no ServerHello yet
        slow.sock.settimeout(0)
        try:
            early = slow.sock.recv(1)
        except BlockingIOError:
            early = None
        self.assertIsNone(early, "the held handshake answered before the others")
        # the held step comes back: the handshake completes and the greeting follows
        slow.sock.settimeout(self.HOLD_MS / 1000 + 20)
        slow.handshake()
        plain_text, line = slow.read_tagged("*", timeout=self.HOLD_MS / 1000 + 20)
        self.assertTrue(line.startswith("* OK "), line)
        slow.write(b"a NOOP\r\n")
        slow.flush()
        _, line = slow.read_tagged("a")
        self.assertTrue(line.startswith("a OK"), line)

    def test_client_gone_while_its_step_runs(self):
        srv = self.start_held("--log-level", "debug")
        sock = socket.create_connection(("127.0.0.1", srv.tls_port))
        sock.sendall(client_hello())
        sock.close()
        self.assertIsNotNone(srv.wait_log(r"client disconnected"), srv.stderr())
        # freed once the step is back (not before: a worker was using its WOLFSSL)
        self.assertIsNotNone(srv.wait_log(r"\bclosed$", timeout=self.HOLD_MS / 1000 + 20),
                             srv.stderr())
        c = self.tls_connect(srv)
        self.assertAlive(c)

    def test_input_arriving_during_a_step_is_kept(self):
        # the ClientHello split: its second half arrives while the first is on a worker
        srv = self.start_held()
        b = BioTLS(srv.tls_port, timeout=self.HOLD_MS / 1000 + 20)
        self.addCleanup(b.close)
        hello = b.client_hello()
        b.sock.sendall(hello[:20])
        time.sleep(0.2)   # not an assertion: lets the first part reach its own step
        b.sock.sendall(hello[20:])
        b.handshake()
        _, line = b.read_tagged("*")
        self.assertTrue(line.startswith("* OK "), line)

    def test_garbage_on_a_worker_fails_cleanly(self):
        srv = self.start_tls_server("--tls-workers", "1")
        for junk in (b"\x16\x03\x01\x00\x05hello", b"a NOOP\r\n", b"GET / HTTP/1.0\r\n\r\n" * 100):
            sock = socket.create_connection(("127.0.0.1", srv.tls_port))
            self.addCleanup(sock.close)
            sock.sendall(junk)
            self.assertTLSClosed(sock)
        self.assertAlive(self.tls_connect(srv))


class LoopHandshakes(TLSTestCase):
    """--tls-workers 0: handshakes on the loop thread, as before the workers."""

    def test_implicit_and_starttls_on_the_loop(self):
        srv = self.start_tls_server("--tls-workers", "0")
        m = self.imaps(srv)
        self.assertEqual(m.login("alice", "secret")[0], "OK")
        c = starttls(self, self.plain_connect(srv))
        self.assertAlive(c)
        self.assertNotIn("worker thread", srv.stderr())

    def test_too_many_workers_refused(self):
        p = run_uimapd(["--tls-listen", "127.0.0.1:0", "--cert", CERT_A, "--key", KEY_A,
                        "--tls-workers", "65"])
        self.assertNotEqual(p.returncode, 0)
        self.assertIn("tls-workers", p.stderr)


class StartupErrors(UimapTestCase):
    def test_tls_listen_without_cert(self):
        p = run_uimapd(["--tls-listen", "127.0.0.1:0", "--listen", "127.0.0.1:0"])
        self.assertNotEqual(p.returncode, 0)
        self.assertIn("--cert", p.stderr)

    def test_cert_without_key(self):
        p = run_uimapd(["--listen", "127.0.0.1:0", "--cert", CERT_A])
        self.assertNotEqual(p.returncode, 0)

    def test_missing_cert_file(self):
        p = run_uimapd(["--tls-listen", "127.0.0.1:0", "--cert", "/nonexistent/c.pem",
                        "--key", KEY_A])
        self.assertNotEqual(p.returncode, 0)
        self.assertIn("/nonexistent/c.pem", p.stderr)

    def test_mismatched_key(self):
        p = run_uimapd(["--tls-listen", "127.0.0.1:0", "--cert", CERT_A, "--key", KEY_B])
        self.assertNotEqual(p.returncode, 0, p.stderr)


# ---------------------------------------------------------------- memory

class Memory(TLSTestCase):
    HARD_TIMEOUT = 120
    N = 200

    def setUp(self):
        super().setUp()
        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        if soft < 1024 and hard >= 1024:
            resource.setrlimit(resource.RLIMIT_NOFILE, (1024, hard))
            self.addCleanup(resource.setrlimit, resource.RLIMIT_NOFILE, (soft, hard))

    def rss_after(self, srv, settle=0.5):
        time.sleep(settle)
        return srv.rss_kb()

    def test_memory_per_idle_tls_connection(self):
        srv = self.start_tls_server("--max-unauth-connections-per-ip", "0")
        ctx = client_ctx()
        # plain connections first, for comparison (warm-up, base, N open)
        warm = [Client(srv.plain_port) for _ in range(50)]
        for c in warm:
            c.readline()
            c.close()
        base_plain = self.rss_after(srv)
        plain = [Client(srv.plain_port) for _ in range(self.N)]
        self.addCleanup(lambda: [c.close() for c in plain])
        for c in plain:
            c.readline()
        after_plain = self.rss_after(srv)
        # TLS: warm up the library, the allocator's arenas, the outq caches
        warm, done, errors, _ = drive_many(srv.tls_port, 50, ctx, timeout=60)
        self.assertEqual(done, 50, errors)
        close_many(warm)
        base = self.rss_after(srv, settle=1.0)
        clients, done, errors, _ = drive_many(srv.tls_port, self.N, ctx, timeout=60,
                                              command=None)
        self.addCleanup(close_many, clients)
        self.assertEqual(done, self.N, errors[:5])
        after = self.rss_after(srv)
        per_tls = (after - base) / self.N
        per_plain = (after_plain - base_plain) / self.N
        print(f"\n  RSS {base} kB -> {after} kB with {self.N} idle TLS connections "
              f"(handshake + greeting): {per_tls:.1f} kB per TLS connection; "
              f"plain: {per_plain:.1f} kB per connection", file=sys.stderr)
        self.assertLess(per_tls, 200, f"{per_tls:.1f} kB per idle TLS connection")
        # the server still serves
        c = self.tls_connect(srv)
        c.login()

    def test_memory_per_idle_tls_connection_after_login(self):
        srv = self.start_tls_server("--max-unauth-connections-per-ip", "0")
        ctx = client_ctx()
        warm, done, errors, _ = drive_many(srv.tls_port, 50, ctx, timeout=60,
                                           command=b"a LOGIN alice secret\r\n")
        self.assertEqual(done, 50, errors)
        close_many(warm)
        base = self.rss_after(srv)
        clients, done, errors, _ = drive_many(srv.tls_port, self.N, ctx, timeout=60,
                                              command=b"a LOGIN alice secret\r\n")
        self.addCleanup(close_many, clients)
        self.assertEqual(done, self.N, errors[:5])
        after = self.rss_after(srv)
        per = (after - base) / self.N
        print(f"\n  {per:.1f} kB per idle logged-in TLS connection", file=sys.stderr)
        self.assertLess(per, 200)


if __name__ == "__main__":
    unittest.main()
