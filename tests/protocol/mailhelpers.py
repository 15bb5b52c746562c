"""Helpers for the mailbox / message tests: a literal-aware response reader, a small
parser for IMAP response data (FETCH items, lists, literals), message builders, APPEND
and imaplib wrappers, and a test-case base that starts one server per test.

Stdlib only, like harness.py. Every read has a deadline (the Client's timeout unless
given), so a hung exchange fails instead of blocking.
"""

import imaplib
import re
import time

from harness import DEFAULT_TIMEOUT, ConnectionClosed, UimapTestCase

LITERAL_RE = re.compile(rb"\{(\d+)\+?\}\r?\n$")


# ---------------------------------------------------------------- raw reading with literals

def _need(c, deadline):
    if c.eof:
        raise ConnectionClosed(f"EOF; last lines: {c.received[-5:]!r}")
    c._fill(deadline)


def read_raw_line(c, deadline):
    """One line as bytes, CRLF included."""
    while True:
        i = c.buf.find(b"\n")
        if i >= 0:
            line, c.buf = c.buf[:i + 1], c.buf[i + 1:]
            return line
        _need(c, deadline)


def read_exact(c, n, deadline):
    chunks = []
    have = 0
    while have < n:
        if not c.buf:
            _need(c, deadline)
        take = c.buf[:n - have]
        c.buf = c.buf[len(take):]
        chunks.append(take)
        have += len(take)
    return b"".join(chunks)


def read_response(c, timeout=None, deadline=None):
    """One whole response as bytes (its literals inlined, exactly as on the wire, the
    final CRLF stripped)."""
    if deadline is None:
        deadline = time.monotonic() + (c.timeout if timeout is None else timeout)
    parts = []
    while True:
        line = read_raw_line(c, deadline)
        parts.append(line)
        m = LITERAL_RE.search(line)
        if m is None:
            break
        parts.append(read_exact(c, int(m.group(1)), deadline))
    raw = b"".join(parts)
    if raw.endswith(b"\r\n"):
        raw = raw[:-2]
    elif raw.endswith(b"\n"):
        raw = raw[:-1]
    c.received.append(raw[:300].decode("latin-1"))
    return raw


def read_tagged_raw(c, tag, timeout=None):
    """Responses up to the tagged one: (untagged responses as bytes, tagged line as str).
    A continuation request on the way is an error."""
    deadline = time.monotonic() + (c.timeout if timeout is None else timeout)
    untagged = []
    tb = tag.encode() + b" "
    while True:
        r = read_response(c, deadline=deadline)
        if r.startswith(tb):
            return untagged, r.decode("latin-1")
        if r.startswith(b"+"):
            raise AssertionError(f"unexpected continuation {r[:100]!r} waiting for {tag}")
        untagged.append(r)


def command_raw(c, tag, text, timeout=None):
    if isinstance(text, str):
        text = text.encode()
    c.send(tag.encode() + b" " + text + b"\r\n")
    return read_tagged_raw(c, tag, timeout)


# ---------------------------------------------------------------- parsing response data

class ParseError(Exception):
    pass


class Literal8(bytes):
    """A value sent as an RFC 3516 literal8 (~{n}): bytes, which may hold NUL."""


_ATOM_END = b" ()\r\n"


def parse_value(data, pos=0):
    """Parse one value at data[pos:]: returns (value, new pos). Lists become Python lists,
    quoted strings and literals bytes, NIL None, anything else (atoms, numbers, flags,
    BODY[...]<n> labels) str."""
    n = len(data)
    while pos < n and data[pos:pos + 1] == b" ":
        pos += 1
    if pos >= n:
        raise ParseError(f"unexpected end at {pos}: {data[:200]!r}")
    ch = data[pos:pos + 1]
    if ch == b"(":
        pos += 1
        out = []
        while True:
            while pos < n and data[pos:pos + 1] == b" ":
                pos += 1
            if pos >= n:
                raise ParseError(f"unterminated list: {data[:200]!r}")
            if data[pos:pos + 1] == b")":
                return out, pos + 1
            v, pos = parse_value(data, pos)
            out.append(v)
    if ch == b'"':
        pos += 1
        buf = bytearray()
        while True:
            if pos >= n:
                raise ParseError(f"unterminated quoted string: {data[:200]!r}")
            b = data[pos]
            if b == 0x5C:   # backslash
                buf.append(data[pos + 1])
                pos += 2
                continue
            if b == 0x22:
                return bytes(buf), pos + 1
            if b in (0x0A, 0x0D):
                raise ParseError(f"CR/LF in a quoted string: {data[:200]!r}")
            buf.append(b)
            pos += 1
    if ch == b"~" and data[pos + 1:pos + 2] == b"{":
        # RFC 3516 literal8: the bytes, marked as such
        v, pos = parse_value(data, pos + 1)
        return Literal8(v), pos
    if ch == b"{":
        m = re.compile(rb"\{(\d+)\+?\}\r\n").match(data, pos)
        if m is None:
            raise ParseError(f"bad literal at {pos}: {data[pos:pos + 40]!r}")
        start = m.end()
        ln = int(m.group(1))
        if start + ln > n:
            raise ParseError("literal runs past the end of the response")
        return data[start:start + ln], start + ln
    # an atom; [...] inside it may hold spaces and parentheses
    start = pos
    depth = 0
    while pos < n:
        b = data[pos:pos + 1]
        if b == b"[":
            depth += 1
        elif b == b"]":
            depth -= 1
        elif depth == 0 and b in (b" ", b"(", b")", b"\r", b"\n"):
            break
        pos += 1
    atom = data[start:pos].decode("latin-1")
    if atom == "":
        raise ParseError(f"empty atom at {pos}: {data[:200]!r}")
    if atom.upper() == "NIL":
        return None, pos
    return atom, pos


def parse_all(data):
    """Every value of a response (e.g. ['*', '3', 'FETCH', [...]])."""
    vals = []
    pos = 0
    n = len(data)
    while True:
        while pos < n and data[pos:pos + 1] == b" ":
            pos += 1
        if pos >= n:
            return vals
        v, pos = parse_value(data, pos)
        vals.append(v)


FETCH_RE = re.compile(rb"^\* (\d+) FETCH ")


def parse_fetch(resp):
    """(seq, {ITEM: value}) for '* n FETCH (...)', else None. Item names are given as
    the server sent them, with the part before any '[' upper-cased."""
    m = FETCH_RE.match(resp)
    if m is None:
        return None
    lst, end = parse_value(resp, m.end())
    if resp[end:].strip():
        raise ParseError(f"trailing data after FETCH: {resp[end:end + 80]!r}")
    if not isinstance(lst, list) or len(lst) % 2:
        raise ParseError(f"malformed FETCH item list: {resp[:300]!r}")
    items = {}
    for i in range(0, len(lst), 2):
        k = lst[i]
        if not isinstance(k, str):
            raise ParseError(f"FETCH item name is not an atom: {k!r}")
        b = k.find("[")
        key = k.upper() if b < 0 else k[:b].upper() + k[b:]
        if key in items:
            raise ParseError(f"item {key} twice in one FETCH response: {resp[:300]!r}")
        items[key] = lst[i + 1]
    return int(m.group(1)), items


def fetches(untagged):
    """[(seq, items)] of every FETCH response in a list of untagged responses."""
    out = []
    for r in untagged:
        if isinstance(r, str):
            r = r.encode("latin-1")
        p = parse_fetch(r)
        if p is not None:
            out.append(p)
    return out


def fetch_by_seq(untagged):
    """{seq: merged items} (later responses for the same message update earlier ones)."""
    out = {}
    for seq, items in fetches(untagged):
        out.setdefault(seq, {}).update(items)
    return out


def texts(untagged):
    return [r.decode("latin-1") if isinstance(r, bytes) else r for r in untagged]


def untagged_numbers(untagged, kind):
    """The numbers of '* n KIND' responses, in order (KIND = EXISTS, RECENT, EXPUNGE)."""
    rx = re.compile(r"^\* (\d+) " + kind + r"$", re.I)
    out = []
    for t in texts(untagged):
        m = rx.match(t)
        if m:
            out.append(int(m.group(1)))
    return out


def search_numbers(untagged):
    """The numbers of the '* SEARCH' response (None when there is none)."""
    found = None
    for t in texts(untagged):
        if t == "* SEARCH" or t.startswith("* SEARCH "):
            if found is not None:
                raise AssertionError(f"two SEARCH responses: {untagged!r}")
            found = [int(x) for x in t[len("* SEARCH"):].split()]
    return found


def resp_code(line, name):
    """The argument of a [NAME args] response code in a line (str), or None."""
    m = re.search(r"\[" + re.escape(name) + r"(?: ([^\]]*))?\]", line)
    if m is None:
        return None
    return m.group(1) if m.group(1) is not None else ""


def highestmodseq(untagged):
    """The [HIGHESTMODSEQ n] of the last untagged OK that has one (None when none)."""
    found = None
    for t in texts(untagged):
        m = re.match(r"^\* OK \[HIGHESTMODSEQ (\d+)\]", t)
        if m:
            found = int(m.group(1))
    return found


def flags_of(value):
    """A FLAGS value (list of str) as a set."""
    return set(value or [])


def expand_uidset(s):
    """'1:3,5' -> [1, 2, 3, 5] (in the order given)."""
    out = []
    for part in s.split(","):
        if ":" in part:
            a, b = part.split(":")
            a, b = int(a), int(b)
            step = 1 if b >= a else -1
            out.extend(range(a, b + step, step))
        else:
            out.append(int(part))
    return out


# ---------------------------------------------------------------- mailbox responses

DEFAULT_MAILBOXES = ["Archive", "Drafts", "INBOX", "Junk", "Sent", "Trash"]


def list_entries(untagged, kind="LIST"):
    """{name: (set of attributes, delimiter)} of LIST/LSUB responses."""
    rx = re.compile(r'^\* ' + kind + r' \(([^)]*)\) (NIL|"(?:[^"\\]|\\.)") (.*)$')
    out = {}
    for t in texts(untagged):
        m = rx.match(t)
        if not m:
            continue
        name = m.group(3)
        if name.startswith('"'):
            name = re.sub(r'\\(.)', r'\1', name[1:-1])
        attrs = set(a.lower() for a in m.group(1).split())
        out[name] = (attrs, m.group(2))
    return out


def select_info(untagged):
    """The interesting parts of a SELECT/EXAMINE answer as a dict."""
    info = {"flags": None, "permanentflags": None, "exists": None, "recent": None,
            "unseen": None, "uidvalidity": None, "uidnext": None}
    for t in texts(untagged):
        m = re.match(r"^\* FLAGS \((.*)\)$", t)
        if m:
            info["flags"] = m.group(1).split()
        m = re.match(r"^\* OK \[PERMANENTFLAGS \((.*?)\)\]", t)
        if m:
            info["permanentflags"] = m.group(1).split()
        m = re.match(r"^\* (\d+) (EXISTS|RECENT)$", t)
        if m:
            info[m.group(2).lower()] = int(m.group(1))
        for code in ("UNSEEN", "UIDVALIDITY", "UIDNEXT"):
            m = re.match(r"^\* OK \[" + code + r" (\d+)\]", t)
            if m:
                info[code.lower()] = int(m.group(1))
    return info


def status_items(untagged, mailbox=None):
    for t in texts(untagged):
        m = re.match(r'^\* STATUS (.*) \(([^)]*)\)$', t)
        if m:
            v = m.group(2).split()
            return [(v[i], int(v[i + 1])) for i in range(0, len(v), 2)]
    return None


class SeqTracker:
    """Checks a session's view: every '* n FETCH' / '* n EXPUNGE' names a message the
    session has been told about (n <= the count it knows)."""

    def __init__(self, test, count):
        self.test = test
        self.count = count

    def feed(self, untagged):
        for t in texts(untagged):
            parts = t.split(" ", 3)
            if len(parts) < 3 or parts[0] != "*" or not parts[1].isdigit():
                continue
            n, kind = int(parts[1]), parts[2].upper()
            if kind == "EXISTS":
                self.test.assertGreaterEqual(n, self.count,
                                             f"EXISTS went down without EXPUNGE: {t!r}")
                self.count = n
            elif kind == "EXPUNGE":
                self.test.assertLessEqual(n, self.count, f"EXPUNGE of unknown message {t!r}")
                self.count -= 1
            elif kind == "FETCH":
                self.test.assertLessEqual(
                    n, self.count, f"FETCH for message {n} before its EXISTS ({t[:80]!r}); "
                    f"the session knew of {self.count} messages")


# ---------------------------------------------------------------- messages

def make_message(subject="test", from_="Alice <alice@example.org>",
                 to="Bob <bob@example.org>", cc=None, bcc=None,
                 date="Mon, 7 Feb 1994 21:52:25 -0800", body="Hello.\r\n",
                 message_id=None, headers=()):
    """A simple RFC 5322 message as bytes, CRLF line ends."""
    lines = []
    if date is not None:
        lines.append(f"Date: {date}")
    if from_ is not None:
        lines.append(f"From: {from_}")
    if to is not None:
        lines.append(f"To: {to}")
    if cc is not None:
        lines.append(f"Cc: {cc}")
    if bcc is not None:
        lines.append(f"Bcc: {bcc}")
    if subject is not None:
        lines.append(f"Subject: {subject}")
    if message_id is not None:
        lines.append(f"Message-ID: {message_id}")
    for h in headers:
        lines.append(h)
    head = "\r\n".join(lines) + "\r\n\r\n"
    if isinstance(body, str):
        body = body.replace("\r\n", "\n").replace("\n", "\r\n").encode("utf-8")
    return head.encode("utf-8") + body


def append(c, mailbox, msg, flags=None, date=None, tag="ap", sync=False, timeout=None):
    """APPEND one message over a raw client, with a LITERAL+ literal (or a synchronizing
    one when sync). Returns the tagged line."""
    if isinstance(msg, str):
        msg = msg.encode()
    args = [quote(mailbox)]
    if flags is not None:
        args.append("(" + " ".join(flags) + ")")
    if date is not None:
        args.append(f'"{date}"')
    head = f"{tag} APPEND {' '.join(args)} "
    if sync:
        c.send(f"{head}{{{len(msg)}}}\r\n")
        cont = c.readline(timeout)
        if not cont.startswith("+"):
            return cont
        c.send(msg + b"\r\n")
    else:
        c.send(f"{head}{{{len(msg)}+}}\r\n".encode() + msg + b"\r\n")
    _, tagged = read_tagged_raw(c, tag, timeout)
    return tagged


def append_many(c, mailbox, msgs, tag="apm", timeout=None):
    """One APPEND per message, pipelined; returns the tagged lines in order."""
    out = bytearray()
    for i, m in enumerate(msgs):
        if isinstance(m, str):
            m = m.encode()
        out += f"{tag}{i} APPEND {quote(mailbox)} {{{len(m)}+}}\r\n".encode() + m + b"\r\n"
    c.send(bytes(out))
    res = []
    for i in range(len(msgs)):
        _, t = read_tagged_raw(c, f"{tag}{i}", timeout)
        res.append(t)
    return res


def quote(s):
    if s == "" or re.search(r'[\s()"{%*\\\]\x00-\x1f\x7f]', s):
        return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return s


# ---------------------------------------------------------------- the test case base

class MailTestCase(UimapTestCase):
    """Starts one server per test (SERVER_ARGS extra options; None = no server) and
    offers logged-in sessions."""

    SERVER_ARGS = ()

    def setUp(self):
        super().setUp()
        self.srv = None
        if self.SERVER_ARGS is not None:
            self.srv = self.start_server(*self.SERVER_ARGS)

    def session(self, user="alice", password="secret", select=None, srv=None,
                timeout=DEFAULT_TIMEOUT):
        """A logged-in raw client; SELECTs select when given."""
        c = self.connect(srv or self.srv, timeout=timeout)
        c.login(user, password)
        if select is not None:
            _, t = c.command("sel", f"SELECT {quote(select)}")
            self.assertTagged(t, "sel", "OK")
        return c

    def imap(self, user="alice", password="secret", srv=None, timeout=10):
        m = imaplib.IMAP4("127.0.0.1", (srv or self.srv).port, timeout=timeout)
        self.addCleanup(self._imap_shutdown, m)
        m.login(user, password)
        return m

    @staticmethod
    def _imap_shutdown(m):
        try:
            m.shutdown()
        except OSError:
            pass

    # -- shorthands
    def ok(self, c, tag, text, timeout=None):
        """Run a command that must succeed: returns the untagged responses (bytes)."""
        untagged, tagged = command_raw(c, tag, text, timeout)
        self.assertTagged(tagged, tag, "OK")
        return untagged

    def status_of(self, c, tag, text, status, timeout=None):
        untagged, tagged = command_raw(c, tag, text, timeout)
        self.assertTagged(tagged, tag, status)
        return untagged, tagged

    def append_ok(self, c, mailbox, msg, **kw):
        t = append(c, mailbox, msg, **kw)
        tag = kw.get("tag", "ap")
        self.assertTagged(t, tag, "OK")
        return t

    def fill(self, c, mailbox, n, **kw):
        """Append n generated messages (subject 'msg i', body 'body i'); returns them."""
        msgs = [make_message(subject=f"msg {i}", body=f"body {i}\r\n", **kw)
                for i in range(1, n + 1)]
        for t in append_many(c, mailbox, msgs):
            self.assertIn(" OK ", t)
        return msgs

    def assertNoUntagged(self, untagged, kinds=("EXISTS", "EXPUNGE", "RECENT", "FETCH"),
                         msg=None):
        for t in texts(untagged):
            for k in kinds:
                self.assertNotRegex(t, r"^\* \d+ " + k + r"\b", msg or f"unexpected {t!r}")
