"""Wire-level test harness: runs the real uimapd binary and talks IMAP to it over TCP.

Stdlib only. The binary under test comes from $UIMAPD (default: build/uimapd at the
repository root) and the embedding example from $EMBED_EXAMPLE (default: the
embed-example next to $UIMAPD), so the same suite runs against an ASan build.

Every blocking operation has a timeout, every test has a hard SIGALRM bound
(UimapTestCase.HARD_TIMEOUT) and every server started through a test case is stopped
by a cleanup (SIGTERM, then SIGKILL) that also fails the test when the server did not
exit cleanly or printed a sanitizer report.
"""

import base64
import os
import random
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
import unittest
import warnings

HERE = os.path.dirname(os.path.abspath(__file__))
REPO_ROOT = os.path.dirname(os.path.dirname(HERE))

UIMAPD = os.path.abspath(os.environ.get("UIMAPD") or os.path.join(REPO_ROOT, "build", "uimapd"))
EMBED_EXAMPLE = os.path.abspath(
    os.environ.get("EMBED_EXAMPLE") or os.path.join(os.path.dirname(UIMAPD), "embed-example"))

# one client read (the wait for one response); generous for a sanitizer build, short
# enough that a hung exchange fails quickly. UIMAP_TEST_TIMEOUT overrides it.
DEFAULT_TIMEOUT = float(os.environ.get("UIMAP_TEST_TIMEOUT") or 3.0)
# every hard deadline multiplied (scripts/valgrind.sh: the server runs 20-50x slower)
TIME_SCALE = float(os.environ.get("UIMAP_TEST_TIME_SCALE") or 1.0)
STOP_TIMEOUT = 10.0 * TIME_SCALE  # SIGTERM -> exit before the SIGKILL fallback

LISTEN_RE = re.compile(r"listening on (\S+)(?: \((?:tls|proxy|tls, proxy)\))? port (\d+)")
SANITIZER_RE = re.compile(r"ERROR: (Address|Leak|Thread|Memory)Sanitizer|runtime error:|"
                          r"SUMMARY: \w+Sanitizer")

DEFAULT_USERS = {
    "alice": "{PLAIN}secret",
    "bob": "{PLAIN}hunter2",
}


class ConnectionClosed(Exception):
    """The peer closed the connection while a response was expected."""


# ---------------------------------------------------------------- password hashes

def _crypt_module():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        try:
            import crypt  # deprecated in 3.11, removed in 3.13
        except ImportError:
            return None
    return crypt


_CRYPT_ALPHABET = "./0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"


def _salt(n):
    return "".join(_CRYPT_ALPHABET[b % 64] for b in os.urandom(n))


def sha512_crypt(password, rounds=None):
    """A $6$ hash: Python's crypt module, else `openssl passwd -6`. None if neither."""
    salt = _salt(16)
    setting = "$6$" + (f"rounds={rounds}$" if rounds else "") + salt + "$"
    mod = _crypt_module()
    if mod is not None:
        h = mod.crypt(password, setting)
        if h and h.startswith("$6$"):
            return h
    if shutil.which("openssl") and rounds is None:
        out = subprocess.run(["openssl", "passwd", "-6", "-salt", salt, "-stdin"],
                             input=password, capture_output=True, text=True, timeout=30)
        if out.returncode == 0 and out.stdout.startswith("$6$"):
            return out.stdout.strip()
    return None


def yescrypt(password):
    """A $y$ hash from `mkpasswd -m yescrypt` (whois package), else from libxcrypt via
    Python's crypt module; None when yescrypt is not available."""
    if shutil.which("mkpasswd"):
        out = subprocess.run(["mkpasswd", "-m", "yescrypt", "--stdin"], input=password,
                             capture_output=True, text=True, timeout=30)
        if out.returncode == 0 and out.stdout.startswith("$y$"):
            return out.stdout.strip()
    mod = _crypt_module()
    if mod is not None:
        try:
            h = mod.crypt(password, "$y$j9T$" + _salt(16) + "$")
        except OSError:
            h = None
        if h and h.startswith("$y$"):
            return h
    return None


def sasl_plain(user, password, authz=""):
    """Base64 of a SASL PLAIN message (RFC 4616), as a str."""
    raw = f"{authz}\0{user}\0{password}".encode()
    return base64.b64encode(raw).decode()


def _ephemeral_start():
    try:
        with open("/proc/sys/net/ipv4/ip_local_port_range") as f:
            return int(f.read().split()[0])
    except (OSError, ValueError, IndexError):
        return 32768


def free_port(host="127.0.0.1"):
    """A TCP port that was free a moment ago, for a program to bind later. Taken below
    the ephemeral range: a port the kernel hands out (bind to port 0, a client's local
    port) could be taken again by another test's connection before the program binds
    it; below the range only another free_port() pick can collide."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    hi = _ephemeral_start() - 1
    rng = random.SystemRandom()
    for _ in range(100 if hi - 10000 >= 1000 else 0):
        port = rng.randint(10000, hi)
        with socket.socket(family) as s:
            try:
                s.bind((host, port))
            except OSError:
                continue
            return port
    with socket.socket(family) as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def ipv6_loopback_available():
    if not socket.has_ipv6:
        return False
    try:
        with socket.socket(socket.AF_INET6, socket.SOCK_STREAM) as s:
            s.bind(("::1", 0))
        return True
    except OSError:
        return False


# ---------------------------------------------------------------- the server process

class Server:
    """One server process (uimapd, or any program of the library that logs
    "listening on ... port N"), with its stderr drained into self.log by a thread."""

    def __init__(self, argv, env=None, wait_listening=True, start_timeout=10.0 * TIME_SCALE):
        self.argv = list(argv)
        self.env = env
        self.wait_listening = wait_listening
        self.start_timeout = start_timeout
        self.proc = None
        self.ports = []
        self.log = []                     # stderr lines, without newline
        self._cond = threading.Condition()
        self._reader = None
        self.returncode = None
        self.killed = False               # the SIGKILL fallback was needed
        self.started = False              # start() returned (it raises otherwise)

    # -- life cycle
    def start(self):
        self.proc = subprocess.Popen(self.argv, stdin=subprocess.DEVNULL,
                                     stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                     env=self.env)
        self._reader = threading.Thread(target=self._drain, daemon=True)
        self._reader.start()
        if self.wait_listening:
            self._wait_ports()
        self.started = True
        return self

    def _drain(self):
        for raw in self.proc.stderr:
            line = raw.decode("utf-8", "replace").rstrip("\n")
            with self._cond:
                self.log.append(line)
                self._cond.notify_all()
        with self._cond:
            self.log.append(None)   # EOF marker
            self._cond.notify_all()

    def _wait_ports(self):
        # every listener logs one line; wait for all of them (at least one)
        expected = max(1, sum(1 for a in self.argv if a in ("--listen", "--tls-listen",
                                                          "--listen-proxy-protocol",
                                                          "--tls-listen-proxy-protocol")))
        deadline = time.monotonic() + self.start_timeout
        with self._cond:
            while True:
                for line in self.log:
                    if line is None:
                        raise RuntimeError("server exited before listening:\n" + self.stderr())
                    m = LISTEN_RE.search(line)
                    if m and int(m.group(2)) not in self.ports:
                        self.ports.append(int(m.group(2)))
                if len(self.ports) >= expected:
                    return
                left = deadline - time.monotonic()
                if left <= 0:
                    raise RuntimeError("server did not log 'listening on' within "
                                       f"{self.start_timeout}s:\n" + self.stderr())
                self._cond.wait(left)

    @property
    def port(self):
        return self.ports[0]

    @property
    def pid(self):
        return self.proc.pid

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def signal(self, sig):
        if self.alive():
            self.proc.send_signal(sig)

    def wait(self, timeout):
        """Wait for the process to exit; returns the exit code (raises on timeout)."""
        self.returncode = self.proc.wait(timeout=timeout)
        if self._reader is not None:
            self._reader.join(timeout=5)
        return self.returncode

    def stop(self, timeout=STOP_TIMEOUT):
        """SIGTERM, wait, SIGKILL fallback. Returns the exit code."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.killed = True
                self.proc.kill()
                self.proc.wait(timeout=10)
        self.returncode = self.proc.returncode
        if self._reader is not None:
            self._reader.join(timeout=5)
        return self.returncode

    # -- log
    def lines(self):
        with self._cond:
            return [l for l in self.log if l is not None]

    def stderr(self):
        return "\n".join(self.lines())

    def wait_log(self, pattern, timeout=DEFAULT_TIMEOUT):
        """Wait for a stderr line matching the regex; returns the match or None."""
        rx = re.compile(pattern)
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                for line in self.log:
                    if line is not None:
                        m = rx.search(line)
                        if m:
                            return m
                left = deadline - time.monotonic()
                if left <= 0 or (self.log and self.log[-1] is None):
                    return None
                self._cond.wait(left)

    def wait_log_count(self, pattern, n, timeout=DEFAULT_TIMEOUT):
        """Wait until at least n stderr lines match the regex (the log reaches us through
        a pipe and a reader thread, so it can lag what the server already sent on the
        wire); returns the count seen (< n on timeout or exit)."""
        rx = re.compile(pattern)
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                count = sum(1 for l in self.log if l is not None and rx.search(l))
                left = deadline - time.monotonic()
                if count >= n or left <= 0 or (self.log and self.log[-1] is None):
                    return count
                self._cond.wait(left)

    def sanitizer_report(self):
        text = self.stderr()
        return text if SANITIZER_RE.search(text) else None

    # -- resources
    def rss_kb(self):
        with open(f"/proc/{self.proc.pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
        return None


# the suite runs as root in CI: uimapd refuses that unless told (tests/protocol/test_privdrop.py
# checks the refusal itself)
ROOT_OPTS = ["--allow-root"] if os.geteuid() == 0 else []


def uimapd_argv(listen="127.0.0.1:0", passwd=None, plaintext=True, login_delay=0,
                extra=(), binary=None):
    argv = [binary or UIMAPD] + ROOT_OPTS
    if listen is not None:
        for spec in ([listen] if isinstance(listen, str) else listen):
            argv += ["--listen", spec]
    if passwd is not None:
        argv += ["--passwd", passwd]
    if plaintext:
        argv.append("--allow-plaintext-auth")
    if login_delay is not None:
        argv += ["--login-delay", str(login_delay)]
    argv += list(extra)
    return argv


def run_uimapd(args, timeout=10):
    """Run uimapd to completion (option errors, --help, ...)."""
    return subprocess.run([UIMAPD] + ROOT_OPTS + list(args), stdin=subprocess.DEVNULL,
                          capture_output=True, text=True, timeout=timeout)


# ---------------------------------------------------------------- a raw IMAP client

class Client:
    """A line-oriented raw-socket IMAP client with hard timeouts."""

    def __init__(self, port, host="127.0.0.1", timeout=DEFAULT_TIMEOUT, source=None):
        self.timeout = timeout
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        self.sock = socket.socket(family, socket.SOCK_STREAM)
        self.sock.settimeout(timeout)
        if source is not None:
            self.sock.bind((source, 0))
        self.sock.connect((host, port))
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buf = b""
        self.eof = False
        self.received = []    # every line read, for failure messages

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass

    def send(self, data):
        if isinstance(data, str):
            data = data.encode()
        self.sock.sendall(data)

    def send_bytewise(self, data):
        """One send() per byte."""
        if isinstance(data, str):
            data = data.encode()
        for i in range(len(data)):
            self.sock.sendall(data[i:i + 1])

    def _fill(self, deadline):
        left = deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError("timed out waiting for data; got so far: "
                               f"{self.received[-5:]!r} + {self.buf[:200]!r}")
        self.sock.settimeout(left)
        try:
            chunk = self.sock.recv(65536)
        except socket.timeout:
            raise TimeoutError("timed out waiting for data; got so far: "
                               f"{self.received[-5:]!r} + {self.buf[:200]!r}") from None
        except ConnectionResetError:
            chunk = b""
        if not chunk:
            self.eof = True
            raise ConnectionClosed("connection closed by the server; last lines: "
                                   f"{self.received[-5:]!r}")
        self.buf += chunk

    def readline(self, timeout=None):
        """One line, CRLF stripped, as str (latin-1, so any byte round-trips)."""
        deadline = time.monotonic() + (self.timeout if timeout is None else timeout)
        while b"\n" not in self.buf:
            if self.eof:
                raise ConnectionClosed(f"EOF; last lines: {self.received[-5:]!r}")
            self._fill(deadline)
        line, self.buf = self.buf.split(b"\n", 1)
        s = line.rstrip(b"\r").decode("latin-1")
        self.received.append(s)
        return s

    def read_tagged(self, tag, timeout=None, allow_continuation=False):
        """Read up to the tagged response of tag: returns (untagged lines, tagged line).
        A continuation request ("+ ...") on the way is a protocol error (the callers
        have sent everything already) unless allow_continuation."""
        deadline = time.monotonic() + (self.timeout if timeout is None else timeout)
        untagged = []
        while True:
            line = self.readline(max(0.0, deadline - time.monotonic()))
            if line.startswith(tag + " "):
                return untagged, line
            if line.startswith("+") and not allow_continuation:
                raise AssertionError(f"unexpected continuation request {line!r} while "
                                     f"waiting for the tagged response of {tag!r}; "
                                     f"lines so far: {self.received[-6:]!r}")
            untagged.append(line)

    def command(self, tag, text, timeout=None):
        """Send "tag text" and read to its tagged response."""
        self.send(f"{tag} {text}\r\n")
        return self.read_tagged(tag, timeout)

    def login(self, user="alice", password="secret", tag="L1"):
        _, tagged = self.command(tag, f'LOGIN {user} "{password}"')
        if not tagged.startswith(f"{tag} OK"):
            raise AssertionError(f"login failed: {tagged}")
        return tagged

    def read_until_eof(self, timeout=None):
        """All remaining lines until the server closes; raises TimeoutError if it does not."""
        deadline = time.monotonic() + (self.timeout if timeout is None else timeout)
        lines = []
        while True:
            while b"\n" in self.buf:
                lines.append(self.readline())
            if self.eof:
                if self.buf:
                    lines.append(self.buf.decode("latin-1"))
                    self.buf = b""
                return lines
            try:
                self._fill(deadline)
            except ConnectionClosed:
                pass

    def quiet_for(self, seconds):
        """True when nothing arrives (and no EOF) within seconds."""
        if self.buf:
            return False
        self.sock.settimeout(seconds)
        try:
            chunk = self.sock.recv(65536)
        except socket.timeout:
            return True
        except ConnectionResetError:
            chunk = b""
        if not chunk:
            self.eof = True
        self.buf += chunk
        return False


# ---------------------------------------------------------------- the test case base

class HardTimeout(Exception):
    pass


class UimapTestCase(unittest.TestCase):
    """Base class: hard per-test timeout, servers/clients cleaned up, and a server that
    crashes, hangs on SIGTERM or reports a sanitizer error fails the test."""

    HARD_TIMEOUT = 60

    def setUp(self):
        def on_alarm(signum, frame):
            raise HardTimeout(f"test exceeded its hard timeout of {self.HARD_TIMEOUT}s")
        old = signal.signal(signal.SIGALRM, on_alarm)
        signal.alarm(int(self.HARD_TIMEOUT * TIME_SCALE))

        def disarm():
            signal.alarm(0)
            signal.signal(signal.SIGALRM, old)
        self.addCleanup(disarm)
        self.tmpdir = tempfile.mkdtemp(prefix="uimap-test-")
        self.addCleanup(shutil.rmtree, self.tmpdir, True)

    # -- files
    def write_file(self, name, text):
        path = os.path.join(self.tmpdir, name)
        with open(path, "w") as f:
            f.write(text)
        return path

    def passwd_file(self, users=None, name="passwd"):
        users = DEFAULT_USERS if users is None else users
        return self.write_file(name, "".join(f"{u}:{s}\n" for u, s in users.items()))

    # -- processes
    def start_process(self, argv, check_exit=True, **kw):
        srv = Server(argv, **kw)
        self.addCleanup(self._stop_server, srv, check_exit)
        srv.start()
        return srv

    def start_server(self, *extra, users=None, passwd=True, plaintext=True, login_delay=0,
                     listen="127.0.0.1:0", check_exit=True, **kw):
        """uimapd with a temp passwd file (users), --allow-plaintext-auth and
        --login-delay 0 unless told otherwise, plus the extra options."""
        path = self.passwd_file(users) if passwd else None
        argv = uimapd_argv(listen=listen, passwd=path, plaintext=plaintext,
                           login_delay=login_delay, extra=extra)
        return self.start_process(argv, check_exit=check_exit, **kw)

    def _stop_server(self, srv, check_exit):
        if srv.proc is None:
            return
        rc = srv.stop()
        if not srv.started:
            return   # start() raised already, with the stderr: no second report
        report = srv.sanitizer_report()
        if report is not None:
            raise AssertionError("sanitizer report from the server:\n" + report[-6000:])
        if srv.killed:
            raise AssertionError("server did not exit within "
                                 f"{STOP_TIMEOUT}s of SIGTERM; stderr:\n" + srv.stderr()[-3000:])
        if check_exit and rc != 0:
            raise AssertionError(f"server exited with {rc}; stderr:\n" + srv.stderr()[-3000:])

    # -- clients
    def connect(self, srv_or_port, greeting=True, host="127.0.0.1", timeout=DEFAULT_TIMEOUT,
                source=None):
        port = srv_or_port if isinstance(srv_or_port, int) else srv_or_port.port
        c = Client(port, host=host, timeout=timeout, source=source)
        self.addCleanup(c.close)
        if greeting:
            g = c.readline()
            self.assertTrue(g.startswith("* OK "), f"unexpected greeting: {g!r}")
            c.greeting = g
        return c

    # -- assertions
    def assertTagged(self, line, tag, status, contains=None):
        self.assertTrue(line.startswith(f"{tag} {status} ") or line == f"{tag} {status}",
                        f"expected '{tag} {status} ...', got {line!r}")
        if contains is not None:
            self.assertIn(contains, line)

    def assertClosed(self, client, timeout=DEFAULT_TIMEOUT):
        """The server closes the connection; returns the lines sent before."""
        try:
            return client.read_until_eof(timeout)
        except TimeoutError:
            self.fail(f"server did not close the connection within {timeout}s; "
                      f"last lines {client.received[-5:]!r}")


def capabilities(line):
    """The capability names of a greeting / tagged OK [CAPABILITY ...] / * CAPABILITY line."""
    m = re.search(r"\[CAPABILITY ([^\]]*)\]", line)
    if m:
        return m.group(1).split()
    m = re.match(r"\* CAPABILITY (.*)$", line)
    if m:
        return m.group(1).split()
    return []
