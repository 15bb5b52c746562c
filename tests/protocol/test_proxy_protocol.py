"""The PROXY protocol (issue 14; HAProxy's doc/proxy-protocol.txt) on
--listen-proxy-protocol / --tls-listen-proxy-protocol listeners: a trusted proxy sends a
v1 or v2 header first, before the greeting and before any TLS byte; the address it names
is then the client in the log, the address rules and the per-address limits. Others on
such a listener, a malformed header or none within 5 s: closed, logged, nothing sent."""

import os
import shutil
import socket
import ssl
import struct
import subprocess
import time

from harness import Client, ConnectionClosed, UimapTestCase, free_port, ipv6_loopback_available

HERE = os.path.dirname(os.path.abspath(__file__))
CERT = os.path.join(HERE, "tls", "cert-a.pem")
KEY = os.path.join(HERE, "tls", "key-a.pem")
PROXY_RE = r"listening on \S+ \(proxy\) port (\d+)"
TLS_PROXY_RE = r"listening on \S+ \(tls, proxy\) port (\d+)"
HAPROXY = shutil.which("haproxy")

SIG = b"\r\n\r\n\x00\r\nQUIT\n"


def v1(src, dst, sport, dport):
    fam = "TCP6" if ":" in src else "TCP4"
    return f"PROXY {fam} {src} {dst} {sport} {dport}\r\n".encode()


def v2(src=None, dst=None, sport=0, dport=143, local=False, tlvs=b""):
    """A v2 header: PROXY with IPv4/IPv6 addresses, or LOCAL (src None: UNSPEC)."""
    cmd = 0x20 if local else 0x21
    if src is None:
        fam, addrs = 0x00, b""
    elif ":" in src:
        fam = 0x21
        addrs = (socket.inet_pton(socket.AF_INET6, src) + socket.inet_pton(socket.AF_INET6, dst)
                 + struct.pack("!HH", sport, dport))
    else:
        fam = 0x11
        addrs = (socket.inet_pton(socket.AF_INET, src) + socket.inet_pton(socket.AF_INET, dst)
                 + struct.pack("!HH", sport, dport))
    body = addrs + tlvs
    return SIG + bytes([cmd, fam]) + struct.pack("!H", len(body)) + body


class ProxyProtocol(UimapTestCase):
    def start_proxy_server(self, *extra, trusted="127.0.0.0/8", **kw):
        args = ["--listen-proxy-protocol", "127.0.0.1:0"]
        if trusted is not None:
            args += ["--trusted-proxy", trusted]
        srv = self.start_server(*args, *extra, **kw)
        m = srv.wait_log(PROXY_RE, timeout=10)
        self.assertIsNotNone(m, srv.stderr())
        srv.proxy_port = int(m.group(1))
        return srv

    def proxied(self, srv, header, source="127.0.0.2", greeting=True):
        """A connection through the PROXY listener that sends header first."""
        c = Client(srv.proxy_port, source=source)
        self.addCleanup(c.close)
        c.send(header)
        if greeting:
            g = c.readline()
            self.assertTrue(g.startswith("* OK "), g)
        return c

    def assertRefusedSilently(self, c, timeout=3.0):
        """Closed without a byte (no greeting, no BYE)."""
        lines = self.assertClosed(c, timeout)
        self.assertEqual(lines, [])

    def test_v1_ipv4_and_ipv6(self):
        srv = self.start_proxy_server()
        c = self.proxied(srv, v1("192.0.2.7", "10.0.0.1", 54321, 143))
        self.assertTrue(srv.wait_log(r"\[c\d+ 192\.0\.2\.7:54321\] client address from the "
                                     r"PROXY header of 127\.0\.0\.2:\d+"))
        c.login()
        self.assertTrue(srv.wait_log(r"\[c\d+ 192\.0\.2\.7:54321\] login: user=alice"))
        d = self.proxied(srv, v1("2001:db8::5", "2001:db8::1", 1, 143))
        d.login()
        self.assertTrue(srv.wait_log(r"\[c\d+ \[2001:db8::5\]:1\] login: user=alice"))

    def test_v2_ipv4_ipv6_tlvs_local_unspec(self):
        srv = self.start_proxy_server()
        # a TLV (PP2_TYPE_AUTHORITY, 0x02) after the addresses is skipped
        tlv = b"\x02\x00\x09localhost"
        c = self.proxied(srv, v2("198.51.100.4", "10.0.0.1", 40000, 143, tlvs=tlv))
        c.login()
        self.assertTrue(srv.wait_log(r"\[c\d+ 198\.51\.100\.4:40000\] login: user=alice"))
        d = self.proxied(srv, v2("2001:db8::9", "2001:db8::1", 2, 143))
        d.login()
        self.assertTrue(srv.wait_log(r"\[c\d+ \[2001:db8::9\]:2\] login: user=alice"))
        # LOCAL (the proxy's own health check) and UNSPEC keep the peer's address
        e = self.proxied(srv, v2(local=True), source="127.0.0.3")
        e.login()
        self.assertTrue(srv.wait_log(r"\[c\d+ 127\.0\.0\.3:\d+\] login: user=alice"))
        f = self.proxied(srv, v2(), source="127.0.0.4")
        f.login()
        self.assertTrue(srv.wait_log(r"\[c\d+ 127\.0\.0\.4:\d+\] login: user=alice"))
        g = self.proxied(srv, b"PROXY UNKNOWN\r\n", source="127.0.0.5")
        g.login()
        self.assertTrue(srv.wait_log(r"\[c\d+ 127\.0\.0\.5:\d+\] login: user=alice"))

    def test_split_header_and_bytes_after_it(self):
        srv = self.start_proxy_server()
        # one byte per write, v1 and v2
        for hdr, addr in ((v1("192.0.2.11", "10.0.0.1", 11, 143), r"192\.0\.2\.11:11"),
                          (v2("192.0.2.12", "10.0.0.1", 12, 143), r"192\.0\.2\.12:12")):
            c = Client(srv.proxy_port, source="127.0.0.2")
            self.addCleanup(c.close)
            for i in range(len(hdr)):
                c.send(hdr[i:i + 1])
                time.sleep(0.002)
            self.assertTrue(c.readline().startswith("* OK "))
            c.login()
            self.assertTrue(srv.wait_log(r"\[c\d+ " + addr + r"\] login: user=alice"))
        # the header and IMAP commands in one write: the greeting comes first, then
        # the commands are answered
        c = Client(srv.proxy_port, source="127.0.0.2")
        self.addCleanup(c.close)
        c.send(v2("192.0.2.13", "10.0.0.1", 13, 143) + b'a NOOP\r\nb LOGIN alice "secret"\r\n')
        self.assertTrue(c.readline().startswith("* OK "))
        _, t = c.read_tagged("a")
        self.assertTagged(t, "a", "OK")
        _, t = c.read_tagged("b")
        self.assertTagged(t, "b", "OK")
        self.assertTrue(srv.wait_log(r"\[c\d+ 192\.0\.2\.13:13\] login: user=alice"))

    def test_malformed_or_missing_header_is_closed_without_greeting(self):
        srv = self.start_proxy_server()
        bad = [b'A1 LOGIN alice "secret"\r\n',
               b"PROXY TCP4 192.0.2.7 10.0.0.1 54321\r\n",
               b"PROXY TCP4 192.0.2.7 10.0.0.1 99999 143\r\n",
               b"PROXY " + b"x" * 120,
               SIG + b"\x21\x11\x00\x04abcd",                 # addresses truncated
               SIG + b"\x21\x11\xff\xff",                     # over the 4 KiB limit
               SIG[:11] + b"\x0b"]
        for b in bad:
            c = Client(srv.proxy_port, source="127.0.0.2")
            self.addCleanup(c.close)
            c.send(b)
            self.assertRefusedSilently(c)
        self.assertTrue(srv.wait_log(r"rejected: bad PROXY header: no PROXY header"))
        self.assertTrue(srv.wait_log(r"rejected: bad PROXY header: v2 header too long"))
        # nothing within 5 s: closed, no greeting
        c = Client(srv.proxy_port, source="127.0.0.2", timeout=10)
        self.addCleanup(c.close)
        t0 = time.monotonic()
        self.assertRefusedSilently(c, timeout=10)
        self.assertGreater(time.monotonic() - t0, 4.0)
        self.assertTrue(srv.wait_log(r"rejected: no PROXY header within the time allowed"))
        # the plain listener of the same server does not expect a header
        d = self.connect(srv)
        d.login()

    def test_untrusted_peer_is_closed(self):
        srv = self.start_proxy_server(trusted="127.0.0.2/32")
        c = Client(srv.proxy_port, source="127.0.0.3")
        self.addCleanup(c.close)
        c.send(v1("192.0.2.7", "10.0.0.1", 1, 143))
        self.assertRefusedSilently(c)
        self.assertTrue(srv.wait_log(r"\[c\d+ 127\.0\.0\.3:\d+\] rejected: PROXY listener: "
                                     r"the peer is no trusted proxy"))
        self.assertFalse(any("192.0.2.7" in l for l in srv.lines()))
        # the trusted one is served
        d = self.proxied(srv, v1("192.0.2.8", "10.0.0.1", 1, 143), source="127.0.0.2")
        d.login()

    def test_needs_trusted_proxy(self):
        from harness import run_uimapd
        r = run_uimapd(["--listen", "127.0.0.1:0", "--listen-proxy-protocol", "127.0.0.1:0"])
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("--listen-proxy-protocol needs --trusted-proxy", r.stderr)

    def test_rules_and_limits_see_the_real_client(self):
        srv = self.start_proxy_server("--cidr-deny", "192.0.2.0/24",
                                      "--max-connections-per-ip", "1",
                                      "--login-delay", "2")
        c = self.proxied(srv, v1("192.0.2.9", "10.0.0.1", 1, 143), greeting=False)
        lines = self.assertClosed(c)
        self.assertTrue(lines and "Access denied" in lines[0], lines)
        self.assertTrue(srv.wait_log(r"\[c\d+ 192\.0\.2\.9:1\] rejected: \* BYE Access denied"))
        # per-address limit (1): counted per real client, not per proxy address
        a = self.proxied(srv, v2("198.51.100.1", "10.0.0.1", 1, 143))
        b = self.proxied(srv, v2("198.51.100.2", "10.0.0.1", 1, 143))
        a.login()
        b.login()
        x = self.proxied(srv, v2("198.51.100.1", "10.0.0.1", 2, 143), greeting=False)
        lines = self.assertClosed(x)
        self.assertTrue(lines and "Too many connections from your address" in lines[0], lines)
        # the failed-login delay is the real client's
        f = self.proxied(srv, v2("203.0.113.5", "10.0.0.1", 5, 143))
        _, t = f.command("l", 'LOGIN alice "wrong"')
        self.assertTagged(t, "l", "NO")
        self.assertTrue(srv.wait_log(r"\[c\d+ 203\.0\.113\.5:5\] login failed: user=alice"))

    def test_implicit_tls_after_the_header(self):
        srv = self.start_server("--tls-listen-proxy-protocol", "127.0.0.1:0",
                                "--trusted-proxy", "127.0.0.0/8", "--cert", CERT,
                                "--key", KEY)
        m = srv.wait_log(TLS_PROXY_RE, timeout=10)
        self.assertIsNotNone(m, srv.stderr())
        port = int(m.group(1))
        raw = socket.create_connection(("127.0.0.1", port), timeout=10,
                                       source_address=("127.0.0.2", 0))
        self.addCleanup(raw.close)
        raw.sendall(v2("192.0.2.44", "10.0.0.1", 4444, 993))
        ctx = ssl.create_default_context()
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        s = ctx.wrap_socket(raw, server_hostname="localhost")
        f = s.makefile("rb")
        self.assertTrue(f.readline().startswith(b"* OK "))
        s.sendall(b'a LOGIN alice "secret"\r\n')
        self.assertTrue(f.readline().startswith(b"a OK"))
        self.assertTrue(srv.wait_log(r"\[c\d+ 192\.0\.2\.44:4444\] login: user=alice"))

    def test_through_haproxy_send_proxy_v2(self):
        if HAPROXY is None:
            self.skipTest("haproxy is not installed (Debian package haproxy)")
        srv = self.start_proxy_server()
        front = free_port()
        cfg = self.write_file("haproxy.cfg", f"""global
    log stderr format raw local0 err
defaults
    mode tcp
    timeout connect 5s
    timeout client 30s
    timeout server 30s
frontend imap
    bind 127.0.0.1:{front}
    default_backend uimap
backend uimap
    server s1 127.0.0.1:{srv.proxy_port} send-proxy-v2
""")
        hp = subprocess.Popen([HAPROXY, "-db", "-f", cfg], stdout=subprocess.DEVNULL,
                              stderr=subprocess.PIPE)
        self.addCleanup(lambda: (hp.kill(), hp.wait()))
        deadline = time.monotonic() + 10
        while True:
            try:
                c = Client(front, source="127.0.0.9")
                break
            except OSError:
                if time.monotonic() > deadline or hp.poll() is not None:
                    raise AssertionError("haproxy did not start: " + hp.stderr.read().decode())
                time.sleep(0.05)
        self.addCleanup(c.close)
        self.assertTrue(c.readline().startswith("* OK "))
        c.login()
        self.assertTrue(srv.wait_log(r"\[c\d+ 127\.0\.0\.9:\d+\] client address from the "
                                     r"PROXY header of 127\.0\.0\.1:\d+"))
        self.assertTrue(srv.wait_log(r"\[c\d+ 127\.0\.0\.9:\d+\] login: user=alice"))
