"""Metrics (issue 13): --metrics-listen serves Prometheus text (format 0.0.4) over HTTP on
the server's loop. Every scraped line goes through a strict parser of the format (HELP and
TYPE lines, names, labels and escapes, values, one group per family, histogram buckets
cumulative with +Inf equal to _count), and the values must say exactly what the test did:
logins, commands by name and reply, bytes, store size, journal and snapshots. The HTTP side
answers 404, 405 and 400, bounds a request's size and a connection's life, and its
connections are not IMAP connections (no limits, not counted). `uimapctl stats` summarizes
the same numbers; --raw prints the text."""

import math
import os
import re
import signal
import socket
import subprocess
import time
import unittest

from harness import UIMAPD, UimapTestCase, run_uimapd

CTL = os.environ.get("UIMAPCTL") or os.path.join(os.path.dirname(UIMAPD), "uimapctl")
METRICS_RE = r"listening on \S+ \(metrics\) port (\d+)"

# ---------------------------------------------------------------- a strict parser

NAME = r"[a-zA-Z_:][a-zA-Z0-9_:]*"
LABEL = r"[a-zA-Z_][a-zA-Z0-9_]*"
VALUE = r"[+-]?(?:Inf|NaN|(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)"
SAMPLE_RE = re.compile(rf"^({NAME})(?:\{{(.*)\}})? ({VALUE})(?: (-?\d+))?$")
LABEL_RE = re.compile(rf'({LABEL})="((?:[^"\\\n]|\\[\\"n])*)"(,|$)')
TYPES = ("counter", "gauge", "histogram", "summary", "untyped")


class FormatError(AssertionError):
    pass


def parse_value(text):
    if text.lstrip("+-") in ("Inf", "NaN"):
        return float(text.replace("Inf", "inf").replace("NaN", "nan"))
    return float(text)


def parse_labels(text, lineno):
    labels = {}
    pos = 0
    while pos < len(text):
        m = LABEL_RE.match(text, pos)
        if not m:
            raise FormatError(f"line {lineno}: bad label syntax at {text[pos:]!r}")
        name, raw = m.group(1), m.group(2)
        if name.startswith("__"):
            raise FormatError(f"line {lineno}: reserved label name {name}")
        if name in labels:
            raise FormatError(f"line {lineno}: label {name} twice")
        labels[name] = re.sub(r"\\(.)", lambda e: "\n" if e.group(1) == "n" else e.group(1), raw)
        pos = m.end()
        if m.group(3) == "," and pos == len(text):
            break   # a trailing comma is allowed
    return labels


def family_of(name, types):
    """The declared family a sample name belongs to (histogram suffixes included)."""
    if name in types and types[name] != "histogram":
        return name
    for suffix in ("_bucket", "_sum", "_count"):
        base = name[:-len(suffix)] if name.endswith(suffix) else None
        if base is not None and types.get(base) == "histogram":
            return base
    return None


def parse_exposition(text):
    """Parse every line strictly. Returns (types, helps, samples) where samples maps
    (name, frozenset(labels.items())) to the value. Raises FormatError."""
    if not text.endswith("\n"):
        raise FormatError("the text does not end with a newline")
    types, helps, samples = {}, {}, {}
    current = None              # the family whose group is open
    closed = set()              # families whose group ended
    for lineno, line in enumerate(text[:-1].split("\n"), 1):
        if line == "":
            raise FormatError(f"line {lineno}: empty line")
        if line.startswith("#"):
            m = re.match(rf"^# (HELP|TYPE) ({NAME}) (.*)$", line)
            if not m:
                raise FormatError(f"line {lineno}: a comment that is not HELP or TYPE: {line!r}")
            kind, name, rest = m.groups()
            if name in closed or (current is not None and name != current):
                if current is not None:
                    closed.add(current)
                current = None
            if name in closed:
                raise FormatError(f"line {lineno}: {name} declared after its samples")
            if kind == "TYPE":
                if rest not in TYPES:
                    raise FormatError(f"line {lineno}: unknown type {rest!r}")
                if name in types:
                    raise FormatError(f"line {lineno}: second TYPE for {name}")
                if (name, "samples") in helps:
                    raise FormatError(f"line {lineno}: TYPE after samples of {name}")
                types[name] = rest
            else:
                if name in helps:
                    raise FormatError(f"line {lineno}: second HELP for {name}")
                if "\\" in rest.replace("\\\\", "").replace("\\n", ""):
                    raise FormatError(f"line {lineno}: bad escape in HELP")
                helps[name] = rest
            current = name
            continue
        m = SAMPLE_RE.match(line)
        if not m:
            raise FormatError(f"line {lineno}: not a sample line: {line!r}")
        name, labeltext, value, _ts = m.groups()
        labels = parse_labels(labeltext, lineno) if labeltext is not None else {}
        fam = family_of(name, types)
        if fam is None:
            raise FormatError(f"line {lineno}: {name} has no TYPE before it")
        if fam != current:
            if fam in closed or current is not None and fam != current:
                if current is not None:
                    closed.add(current)
            if fam in closed:
                raise FormatError(f"line {lineno}: samples of {fam} are not one group")
            current = fam
        helps[(fam, "samples")] = True
        key = (name, frozenset(labels.items()))
        if key in samples:
            raise FormatError(f"line {lineno}: duplicate series {line!r}")
        v = parse_value(value)
        if types[fam] == "counter":
            if not name.endswith("_total"):
                raise FormatError(f"line {lineno}: counter {name} without _total")
            if math.isnan(v) or v < 0:
                raise FormatError(f"line {lineno}: counter value {value}")
        if types[fam] == "histogram":
            if name.endswith("_bucket") and "le" not in labels:
                raise FormatError(f"line {lineno}: bucket without le")
            if not name.endswith("_bucket") and "le" in labels:
                raise FormatError(f"line {lineno}: le outside a bucket")
        samples[key] = v
    for name, t in types.items():
        if name not in helps:
            raise FormatError(f"{name}: TYPE without HELP")
        if t == "histogram":
            check_histogram(name, samples)
    return types, {k: v for k, v in helps.items() if isinstance(k, str)}, samples


def check_histogram(name, samples):
    series = {}
    for (n, labels), v in samples.items():
        if n == name + "_bucket":
            d = dict(labels)
            le = d.pop("le")
            series.setdefault(frozenset(d.items()), []).append((parse_value(le), v))
    sums = {l for (n, l) in samples if n == name + "_sum"}
    counts = {l: v for (n, l), v in samples.items() if n == name + "_count"}
    if set(series) != sums or set(series) != set(counts):
        raise FormatError(f"{name}: buckets, _sum and _count do not have the same series")
    for labels, buckets in series.items():
        buckets.sort()
        les = [le for le, _ in buckets]
        if les[-1] != math.inf:
            raise FormatError(f"{name}{dict(labels)}: no +Inf bucket")
        if len(set(les)) != len(les):
            raise FormatError(f"{name}{dict(labels)}: a bucket bound twice")
        values = [v for _, v in buckets]
        if any(b < a for a, b in zip(values, values[1:])):
            raise FormatError(f"{name}{dict(labels)}: buckets not cumulative: {values}")
        if values[-1] != counts[labels]:
            raise FormatError(f"{name}{dict(labels)}: +Inf bucket {values[-1]} != count "
                              f"{counts[labels]}")
        if samples[(name + "_sum", labels)] < 0:
            raise FormatError(f"{name}{dict(labels)}: negative sum")


class Metrics:
    """A parsed scrape, with lookups by name and labels."""

    def __init__(self, text):
        self.text = text
        self.types, self.helps, self.samples = parse_exposition(text)

    def get(self, name, **labels):
        return self.samples[(name, frozenset(labels.items()))]

    def commands(self, command, result):
        return self.get("uimap_commands_total", command=command, result=result)


class StrictParser(unittest.TestCase):
    """The parser itself refuses what the format does not allow (so a scrape that
    passes it is well-formed)."""

    GOOD = ("# HELP a_total A.\n# TYPE a_total counter\na_total{x=\"q\\\"\\\\\\n\"} 1\n"
            "# HELP h H.\n# TYPE h histogram\nh_bucket{le=\"0.1\"} 1\nh_bucket{le=\"+Inf\"} 2\n"
            "h_sum 0.3\nh_count 2\n")

    def test_good(self):
        m = Metrics(self.GOOD)
        self.assertEqual(m.get("a_total", x='q"\\\n'), 1)

    def test_refused(self):
        bad = {
            "no final newline": self.GOOD[:-1],
            "sample without TYPE": "b 1\n",
            "TYPE without HELP": "# TYPE b gauge\nb 1\n",
            "unknown type": "# HELP b B.\n# TYPE b thing\nb 1\n",
            "other comment": "# hello\n",
            "empty line": self.GOOD + "\n",
            "bad escape": "# HELP b B.\n# TYPE b gauge\nb{x=\"\\q\"} 1\n",
            "bad value": "# HELP b B.\n# TYPE b gauge\nb one\n",
            "two spaces": "# HELP b B.\n# TYPE b gauge\nb  1\n",
            "counter name": "# HELP b B.\n# TYPE b counter\nb 1\n",
            "negative counter": "# HELP b_total B.\n# TYPE b_total counter\nb_total -1\n",
            "duplicate": "# HELP b B.\n# TYPE b gauge\nb 1\nb 2\n",
            "split group": ("# HELP b B.\n# TYPE b gauge\nb{k=\"1\"} 1\n# HELP c C.\n"
                            "# TYPE c gauge\nc 1\nb{k=\"2\"} 1\n"),
            "not cumulative": self.GOOD.replace("} 2\n", "} 0\n").replace("h_count 2",
                                                                           "h_count 0"),
            "+Inf != count": self.GOOD.replace("h_count 2", "h_count 3"),
            "no +Inf": self.GOOD.replace('h_bucket{le="+Inf"} 2\n', ""),
            "no sum": self.GOOD.replace("h_sum 0.3\n", ""),
            "reserved label": "# HELP b B.\n# TYPE b gauge\nb{__x=\"1\"} 1\n",
        }
        for why, text in bad.items():
            with self.assertRaises(FormatError, msg=why):
                parse_exposition(text)


# ---------------------------------------------------------------- HTTP

def http_raw(port, request, timeout=5.0):
    """Send request bytes, read to EOF: (status, headers dict, body bytes)."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        s.sendall(request)
        data = b""
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
    head, sep, body = data.partition(b"\r\n\r\n")
    if not sep:
        raise AssertionError(f"no HTTP head in {data[:200]!r}")
    lines = head.decode("latin-1").split("\r\n")
    m = re.match(r"^HTTP/1\.1 (\d{3}) ", lines[0])
    if not m:
        raise AssertionError(f"bad status line {lines[0]!r}")
    headers = {}
    for l in lines[1:]:
        k, _, v = l.partition(":")
        headers[k.strip().lower()] = v.strip()
    return int(m.group(1)), headers, body


def get(port, path="/metrics", method="GET"):
    return http_raw(port, f"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
                          "Accept: text/plain\r\n\r\n".encode())


class MetricsCase(UimapTestCase):
    def start(self, *extra, **kw):
        srv = self.start_server("--metrics-listen", "127.0.0.1:0", *extra, **kw)
        m = srv.wait_log(METRICS_RE, timeout=10)
        self.assertIsNotNone(m, srv.stderr())
        return srv, int(m.group(1))

    def scrape(self, port):
        status, headers, body = get(port)
        self.assertEqual(status, 200)
        self.assertEqual(headers["content-type"], "text/plain; version=0.0.4; charset=utf-8")
        self.assertEqual(headers["connection"], "close")
        self.assertEqual(int(headers["content-length"]), len(body))
        return Metrics(body.decode("utf-8"))


class Scrape(MetricsCase):
    def test_every_line_parses_and_the_values_are_what_was_done(self):
        data = os.path.join(self.tmpdir, "data")
        srv, mport = self.start("--data-dir", data)
        first = self.scrape(mport)
        for fam in ("uimap_connections", "uimap_logins_total", "uimap_commands_total",
                    "uimap_command_duration_seconds", "uimap_received_bytes_total",
                    "uimap_sent_bytes_total", "uimap_store_messages",
                    "uimap_store_message_bytes", "uimap_journal_fsync_duration_seconds",
                    "uimap_snapshot_duration_seconds", "uimap_snapshots_total"):
            self.assertIn(fam, first.types)
        self.assertEqual(first.get("uimap_logins_total", result="ok"), 0)
        self.assertEqual(first.get("uimap_received_bytes_total"), 0)

        sent = received = 0
        a = self.connect(srv)
        b = self.connect(srv)
        received += len(a.greeting) + len(b.greeting) + 4

        def run(c, tag, text):
            nonlocal sent, received
            line = f"{tag} {text}\r\n"
            sent += len(line)
            untagged, tagged = c.command(tag, text)
            received += sum(len(u) + 2 for u in untagged) + len(tagged) + 2
            return tagged

        self.assertTagged(run(a, "l", "LOGIN alice secret"), "l", "OK")
        self.assertTagged(run(b, "l", "LOGIN alice wrong"), "l", "NO")
        for i in range(3):
            self.assertTagged(run(a, f"s{i}", "SELECT INBOX"), f"s{i}", "OK")
        msgs = [b"Subject: one\r\n\r\nbody\r\n", b"Subject: two\r\n\r\nmore body\r\n"]
        for i, msg in enumerate(msgs):
            text = f"a{i} APPEND INBOX {{{len(msg)}+}}\r\n".encode() + msg + b"\r\n"
            a.send(text)
            sent += len(text)
            untagged, tagged = a.read_tagged(f"a{i}")
            received += sum(len(u) + 2 for u in untagged) + len(tagged) + 2
            self.assertTagged(tagged, f"a{i}", "OK")
        self.assertTagged(run(a, "n", "NOOP"), "n", "OK")
        self.assertTagged(run(a, "f", "FETCH 1:* (FLAGS)"), "f", "OK")
        self.assertTagged(run(a, "x", "XYZZY"), "x", "BAD")
        self.assertTagged(run(b, "s", "SELECT INBOX"), "s", "BAD")  # not logged in

        m = self.scrape(mport)
        self.assertEqual(m.get("uimap_logins_total", result="ok"), 1)
        self.assertEqual(m.get("uimap_logins_total", result="failed"), 1)
        self.assertEqual(m.commands("LOGIN", "ok"), 1)
        self.assertEqual(m.commands("LOGIN", "no"), 1)
        self.assertEqual(m.commands("SELECT", "ok"), 3)
        self.assertEqual(m.commands("SELECT", "bad"), 1)
        self.assertEqual(m.commands("APPEND", "ok"), 2)
        self.assertEqual(m.commands("NOOP", "ok"), 1)
        self.assertEqual(m.commands("FETCH", "ok"), 1)
        self.assertEqual(m.commands("other", "bad"), 1)
        total = sum(v for (n, _), v in m.samples.items() if n == "uimap_commands_total")
        self.assertEqual(total, 11)
        self.assertEqual(m.get("uimap_command_duration_seconds_count", command="SELECT"), 4)
        self.assertEqual(m.get("uimap_command_duration_seconds_count", command="CAPABILITY"), 0)
        self.assertGreater(m.get("uimap_command_duration_seconds_sum", command="APPEND"), 0)
        # every byte the clients sent; at least every byte they read
        self.assertEqual(m.get("uimap_received_bytes_total"), sent)
        self.assertGreaterEqual(m.get("uimap_sent_bytes_total"), received)
        self.assertEqual(m.get("uimap_connections", listener="plain"), 2)
        self.assertEqual(m.get("uimap_connections_accepted_total", listener="plain"), 2)
        self.assertEqual(m.get("uimap_connections_refused_total", listener="plain"), 0)
        self.assertEqual(m.get("uimap_store_users"), 1)
        self.assertEqual(m.get("uimap_store_messages"), 2)
        self.assertEqual(m.get("uimap_store_message_bytes"), sum(len(x) for x in msgs))
        self.assertGreater(m.get("uimap_journal_written_bytes_total"), 0)
        self.assertGreaterEqual(m.get("uimap_journal_fsync_duration_seconds_count"), 1)
        self.assertEqual(m.get("uimap_journal_health"), 0)
        self.assertEqual(m.get("uimap_snapshots_total", result="ok"), 0)
        # every command above was answered in a loop turn of its own (one client waits
        # for each answer): at least as many turns as commands
        self.assertGreaterEqual(m.get("uimap_loop_turn_duration_seconds_count"), total)

        # counters only grow; scrapes are not IMAP traffic
        self.assertTagged(run(a, "n2", "NOOP"), "n2", "OK")
        again = self.scrape(mport)
        for (name, labels), v in m.samples.items():
            if m.types.get(name) == "counter":
                self.assertGreaterEqual(again.samples[(name, labels)], v, name)
        self.assertEqual(again.get("uimap_received_bytes_total"), sent)
        self.assertGreater(again.get("uimap_loop_turn_duration_seconds_count"),
                           m.get("uimap_loop_turn_duration_seconds_count"))
        self.assertEqual(again.commands("NOOP", "ok"), 2)
        self.assertEqual(again.get("uimap_connections_accepted_total", listener="plain"), 2)

        # a snapshot (SIGUSR1) shows up with its time and size
        srv.signal(signal.SIGUSR1)
        deadline = time.monotonic() + 10
        while True:
            snap = self.scrape(mport)
            if snap.get("uimap_snapshots_total", result="ok") >= 1:
                break
            self.assertLess(time.monotonic(), deadline, "no snapshot counted")
            time.sleep(0.05)
        self.assertEqual(snap.get("uimap_snapshot_duration_seconds_count"), 1)
        self.assertEqual(snap.get("uimap_snapshot_start_duration_seconds_count"), 1)
        self.assertGreaterEqual(snap.get("uimap_snapshot_slice_duration_seconds_count"), 1)
        self.assertGreater(snap.get("uimap_snapshot_last_bytes"), 0)
        self.assertAlmostEqual(snap.get("uimap_snapshot_last_success_timestamp_seconds"),
                               time.time(), delta=30)

    def test_sigusr2_logs_the_loop_and_the_store(self):
        srv, _ = self.start()
        c = self.connect(srv)
        c.login()
        msg = b"Subject: one\r\n\r\nbody\r\n"
        c.send(f"a APPEND INBOX {{{len(msg)}+}}\r\n".encode() + msg + b"\r\n")
        self.assertTagged(c.read_tagged("a")[1], "a", "OK")
        turns = []
        for i in range(2):
            srv.signal(signal.SIGUSR2)
            self.assertEqual(srv.wait_log_count(r"stats: \d+ connection", i + 1), i + 1)
            lines = [l for l in srv.lines() if "stats: " in l]
            loop = re.findall(r"stats: loop: (\d+) turn\(s\), the longest (\d+) us", "\n".join(lines))
            self.assertEqual(len(loop), i + 1, lines)
            turns.append(int(loop[-1][0]))
            self.assertRegex(lines[-1], r"stats: 1 connection\(s\); store: 1 user\(s\), "
                                        r"\d+ mailbox\(es\), 1 message\(s\)")
            self.assertTagged(c.command(f"n{i}", "NOOP")[1], f"n{i}", "OK")
        self.assertGreater(turns[1], turns[0])

    def test_without_data_dir_no_persist_families(self):
        srv, mport = self.start()
        m = self.scrape(mport)
        self.assertNotIn("uimap_journal_fsync_duration_seconds", m.types)
        self.assertEqual(m.get("uimap_store_messages"), 0)
        version = re.search(r'^uimap_info\{version="([^"]+)"\} 1$', m.text, re.M)
        self.assertIsNotNone(version)
        self.assertEqual(m.get("uimap_info", version=version.group(1)), 1)

    def test_tls_listener_counted_apart(self):
        tls_dir = os.path.join(os.path.dirname(os.path.abspath(__file__)), "tls")
        cert, key = os.path.join(tls_dir, "cert-a.pem"), os.path.join(tls_dir, "key-a.pem")
        srv, mport = self.start("--tls-listen", "127.0.0.1:0", "--cert", cert, "--key", key)
        import ssl
        ctx = ssl.create_default_context()
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        tport = srv.ports[1]
        with socket.create_connection(("127.0.0.1", tport), timeout=5) as raw:
            with ctx.wrap_socket(raw) as s:
                self.assertTrue(s.recv(4096).startswith(b"* OK"))
                m = self.scrape(mport)
        self.assertEqual(m.get("uimap_connections", listener="tls"), 1)
        self.assertEqual(m.get("uimap_connections_accepted_total", listener="tls"), 1)
        self.assertEqual(m.get("uimap_connections", listener="plain"), 0)


class Http(MetricsCase):
    def test_paths_methods_and_bad_requests(self):
        srv, mport = self.start()
        self.assertEqual(get(mport, "/")[0], 404)
        self.assertEqual(get(mport, "/metricsx")[0], 404)
        self.assertEqual(get(mport, "/metrics?name[]=x")[0], 200)
        status, headers, body = get(mport, method="POST")
        self.assertEqual(status, 405)
        self.assertEqual(headers.get("allow"), "GET, HEAD")
        status, headers, body = get(mport, method="HEAD")
        self.assertEqual((status, body), (200, b""))
        self.assertGreater(int(headers["content-length"]), 1000)
        for req in (b"NONSENSE\r\n\r\n", b"GET /metrics HTTP/1.1\r\n\r\n",
                    b"GET /metrics HTTP/2.0\r\nHost: x\r\n\r\n",
                    b"GET /metrics HTTP/1.1\r\nHost : x\r\n\r\n",
                    b"\x16\x03\x01\x00\xa5\x01\x00\x00\xa1\x03\x03"):
            self.assertEqual(http_raw(mport, req)[0], 400, req)
        # HTTP/1.0 needs no Host
        self.assertEqual(http_raw(mport, b"GET /metrics HTTP/1.0\r\n\r\n")[0], 200)
        # a head over 8 KiB is refused, not buffered
        big = b"GET /metrics HTTP/1.1\r\nHost: x\r\nX-Pad: " + b"a" * 9000
        self.assertEqual(http_raw(mport, big)[0], 400)
        # byte by byte still works
        with socket.create_connection(("127.0.0.1", mport), timeout=5) as s:
            s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            for ch in b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n":
                s.sendall(bytes([ch]))
            data = b""
            while chunk := s.recv(65536):
                data += chunk
        self.assertTrue(data.startswith(b"HTTP/1.1 200 OK\r\n"), data[:100])
        Metrics(data.partition(b"\r\n\r\n")[2].decode())

    def test_silent_clients_do_not_block_scrapes_or_imap(self):
        srv, mport = self.start()
        silent = [socket.create_connection(("127.0.0.1", mport), timeout=10) for _ in range(3)]
        partial = socket.create_connection(("127.0.0.1", mport), timeout=10)
        partial.sendall(b"GET /metrics HTTP/1.1\r\nHost: x\r\n")
        for s in silent + [partial]:
            self.addCleanup(s.close)
        t0 = time.monotonic()
        self.scrape(mport)
        c = self.connect(srv)
        c.login()
        self.assertLess(time.monotonic() - t0, 2.0)
        # and they are closed by the server after its timeout (5 s), not kept forever
        for s in silent + [partial]:
            s.settimeout(10)
            self.assertEqual(s.recv(100), b"")
        self.assertLess(time.monotonic() - t0, 9.0)

    def test_metrics_connections_are_not_imap_connections(self):
        srv, mport = self.start("--max-connections", "1", "--max-unauth-connections-per-ip",
                                "1")
        c = self.connect(srv)                    # the one IMAP connection allowed
        held = [socket.create_connection(("127.0.0.1", mport), timeout=5) for _ in range(4)]
        for s in held:
            self.addCleanup(s.close)
        m = self.scrape(mport)
        self.assertEqual(m.get("uimap_connections", listener="plain"), 1)
        self.assertEqual(m.get("uimap_connections_accepted_total", listener="plain"), 1)
        # the IMAP limit is still reached by IMAP alone
        d = self.connect(srv, greeting=False)
        self.assertIn("BYE", d.readline())
        self.assertEqual(self.scrape(mport).get("uimap_connections_refused_total",
                                                listener="plain"), 1)
        c.login()

    def test_shutdown_with_a_metrics_connection_open(self):
        srv, mport = self.start()
        s = socket.create_connection(("127.0.0.1", mport), timeout=5)
        self.addCleanup(s.close)
        s.sendall(b"GET /met")
        time.sleep(0.1)
        t0 = time.monotonic()
        self.assertEqual(srv.stop(), 0, srv.stderr())
        self.assertLess(time.monotonic() - t0, 3.0)

    def test_bad_metrics_listen(self):
        r = run_uimapd(["--listen", "127.0.0.1:0", "--metrics-listen", "nonsense"])
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("nonsense", r.stderr)
        with socket.socket() as held:
            held.bind(("127.0.0.1", 0))
            held.listen(1)
            port = held.getsockname()[1]
            r = run_uimapd(["--listen", "127.0.0.1:0", "--metrics-listen", f"127.0.0.1:{port}"])
        self.assertEqual(r.returncode, 1, r.stderr)
        self.assertIn(str(port), r.stderr)
        self.assertNotIn("listening on", r.stderr)


def ctl(*args):
    return subprocess.run([CTL] + list(args), capture_output=True, text=True, timeout=30)


class Stats(MetricsCase):
    def test_summary_and_raw(self):
        srv, mport = self.start("--data-dir", os.path.join(self.tmpdir, "data"))
        c = self.connect(srv)
        c.login()
        for i in range(4):
            self.assertTagged(c.command(f"s{i}", "SELECT INBOX")[1], f"s{i}", "OK")
        c.send("a APPEND INBOX {5+}\r\nhello\r\n")
        self.assertTagged(c.read_tagged("a")[1], "a", "OK")
        d = self.connect(srv)
        self.assertTagged(d.command("l", "LOGIN alice nope")[1], "l", "NO")

        p = ctl("stats", "--port", str(mport))
        self.assertEqual(p.returncode, 0, p.stderr)
        out = p.stdout
        self.assertRegex(out, r"^uimapd \d+\.\d+\.\d+ at 127\.0\.0\.1 port \d+, up \d+d ")
        self.assertRegex(out, r"\nconnections: +2 open \(plain 2, tls 0\); 2 accepted, 0 refused\n")
        self.assertRegex(out, r"\nlogins: +1 ok, 1 failed\n")
        self.assertRegex(out, r"\ncommands: +7 \(ok 6, no 1, bad 0\)")
        self.assertRegex(out, r"busiest: +SELECT +4 +mean [\d.]+ ms")
        self.assertRegex(out, r"\nbytes: +in \d+ B, out [\d.]+ (B|KiB)\n")
        self.assertRegex(out, r"\nstore: +1 user\(s\), \d+ mailbox\(es\), 1 message\(s\), 5 B")
        self.assertRegex(out, r"\njournal: +ok; ")
        self.assertRegex(out, r"\nsnapshots: +0 ok, 0 failed; none since start\n")

        p = ctl("stats", "--metrics", f"127.0.0.1:{mport}", "--raw")
        self.assertEqual(p.returncode, 0, p.stderr)
        m = Metrics(p.stdout)
        self.assertEqual(m.commands("SELECT", "ok"), 4)

    def test_errors(self):
        port = socket.socket()
        port.bind(("127.0.0.1", 0))
        free = port.getsockname()[1]
        port.close()
        p = ctl("stats", "--port", str(free))
        self.assertEqual(p.returncode, 1)
        self.assertIn("cannot connect", p.stderr)
        self.assertEqual(ctl("stats", "--bogus").returncode, 2)
        self.assertEqual(ctl("stats", "--metrics", "nohostport").returncode, 2)
        # an IMAP port is not a metrics endpoint: told at once, not after a timeout
        srv, mport = self.start()
        t0 = time.monotonic()
        p = ctl("stats", "--port", str(srv.port))
        self.assertEqual(p.returncode, 1, p.stdout)
        self.assertIn("not an HTTP response", p.stderr)
        self.assertLess(time.monotonic() - t0, 5)
        self.assertIn("stats", ctl("--help").stdout)
