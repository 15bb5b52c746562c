"""IMAP response parsing for the stress checker (RFC 3501 §7 and §9, plus UIDPLUS,
MOVE, IDLE; CONDSTORE/QRESYNC/ESEARCH responses have parser slots ready).

Stdlib only. A response is read as raw bytes (literals inline: "{n}\\r\\n" then n bytes)
and parsed into a Resp. Everything that does not follow the grammar raises ParseError.

Extending: add a parser for an untagged response name to UNTAGGED_PARSERS (or
NUMERIC_PARSERS for "* n NAME"), a FETCH attribute to FETCH_ATT_PARSERS, or a response
code to CODE_PARSERS.
"""

import calendar
import re

DIGITS = re.compile(rb"^[0-9]+$")
LITERAL_AT = re.compile(rb"~?\{([0-9]+)\}\r\n")
LITERAL_END = re.compile(rb"\{([0-9]+)\}\r\n$")
MONTHS = {m: i for i, m in enumerate(
    ["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"], 1)}
DATE_TIME = re.compile(r"^( [0-9]|[0-9]{2})-([A-Za-z]{3})-([0-9]{4}) ([0-9]{2}):([0-9]{2}):"
                       r"([0-9]{2}) ([+-])([0-9]{2})([0-9]{2})$")
SYSTEM_FLAGS = frozenset(["\\SEEN", "\\ANSWERED", "\\FLAGGED", "\\DELETED", "\\DRAFT"])
FLAG_RE = re.compile(r"^\\?[^\\*%]+$")

# bytes that end an atom (RFC 3501 atom-specials, less "%", "*" and "\\" which appear in
# flags and sequence sets, plus "[" handled as a section)
_ATOM_STOP = frozenset(b'(){ "]') | frozenset(range(0, 0x20)) | {0x7F}

U32 = (1 << 32) - 1
U63 = (1 << 63) - 1


class ParseError(Exception):
    pass


class Atom(str):
    """An atom (as opposed to a string, which is bytes)."""


def is_nil(v):
    return isinstance(v, Atom) and v.upper() == "NIL"


class Parser:
    def __init__(self, buf, pos=0):
        self.b = buf
        self.i = pos

    def err(self, msg):
        lo = max(0, self.i - 25)
        raise ParseError(f"{msg} at byte {self.i} (near {self.b[lo:self.i + 25]!r})")

    def at_end(self):
        return self.i >= len(self.b)

    def peek(self):
        return self.b[self.i] if self.i < len(self.b) else -1

    def sp(self):
        if self.peek() != 0x20:
            self.err("expected SP")
        self.i += 1

    def expect(self, s):
        if not self.b.startswith(s, self.i):
            self.err(f"expected {s!r}")
        self.i += len(s)

    def atom(self):
        """An atom; "[...]" inside it is a section and may hold spaces, parentheses and
        quoted strings (BODY[HEADER.FIELDS (SUBJECT)]<0>)."""
        start = self.i
        b = self.b
        n = len(b)
        while self.i < n:
            c = b[self.i]
            if c == 0x5B:                       # [ section ]
                self.i += 1
                while True:
                    if self.i >= n:
                        self.err("unterminated [section]")
                    c = b[self.i]
                    if c == 0x5D:
                        self.i += 1
                        break
                    if c == 0x22:
                        self.quoted()
                        continue
                    if c in (0x0D, 0x0A, 0) or c >= 0x80:
                        self.err("bad byte inside [section]")
                    self.i += 1
                continue
            if c in _ATOM_STOP:
                break
            if c >= 0x80:
                self.err("8-bit byte in atom")
            self.i += 1
        if self.i == start:
            self.err("expected an atom")
        return Atom(b[start:self.i].decode("ascii"))

    def quoted(self):
        self.expect(b'"')
        out = bytearray()
        b = self.b
        while True:
            if self.i >= len(b):
                self.err("unterminated quoted string")
            c = b[self.i]
            self.i += 1
            if c == 0x22:
                return bytes(out)
            if c == 0x5C:
                if self.i >= len(b) or b[self.i] not in (0x22, 0x5C):
                    self.err("bad escape in quoted string")
                out.append(b[self.i])
                self.i += 1
                continue
            if c in (0x0D, 0x0A, 0):
                self.err("CR, LF or NUL in quoted string")
            out.append(c)

    def literal(self):
        m = LITERAL_AT.match(self.b, self.i)
        if not m or self.b[self.i] == 0x7E:
            self.err("bad literal")
        n = int(m.group(1))
        self.i = m.end()
        if self.i + n > len(self.b):
            self.err("literal shorter than announced")
        data = self.b[self.i:self.i + n]
        self.i += n
        return data

    def value(self):
        c = self.peek()
        if c == 0x28:
            return self.plist()
        if c == 0x22:
            return self.quoted()
        if c == 0x7B:
            return self.literal()
        return self.atom()

    def plist(self):
        self.expect(b"(")
        out = []
        if self.peek() == 0x29:
            self.i += 1
            return out
        while True:
            out.append(self.value())
            c = self.peek()
            if c == 0x29:
                self.i += 1
                return out
            self.sp()

    def number(self, nz=False, limit=U32):
        a = self.atom()
        return to_number(a, nz, limit, self)

    def nstring(self):
        v = self.value()
        if isinstance(v, bytes) or is_nil(v):
            return None if is_nil(v) else v
        self.err("expected a string or NIL")

    def astring(self):
        v = self.value()
        if isinstance(v, list):
            self.err("expected an astring")
        return v.encode() if isinstance(v, str) else v

    def rest(self):
        s = self.b[self.i:]
        self.i = len(self.b)
        return s


def to_number(a, nz=False, limit=U32, p=None):
    if not isinstance(a, Atom) or not DIGITS.match(a.encode()):
        (p.err if p else _raise)(f"expected a number, got {a!r}")
    v = int(a)
    if v > limit or (nz and v == 0):
        (p.err if p else _raise)(f"number out of range: {v}")
    return v


def _raise(msg):
    raise ParseError(msg)


# ---------------------------------------------------------------- response object

class Resp:
    """kind: 'untagged', 'tagged' or 'cont'. name: OK/NO/BAD/BYE/PREAUTH, EXISTS,
    EXPUNGE, FETCH, FLAGS, SEARCH, STATUS, CAPABILITY, ... num: the number of
    "* n NAME". code/code_args/text: resp-text of status responses. data: parsed data."""
    __slots__ = ("raw", "kind", "tag", "name", "num", "code", "code_args", "text", "data")

    def __init__(self, raw):
        self.raw = raw
        self.kind = None
        self.tag = None
        self.name = None
        self.num = None
        self.code = None
        self.code_args = None
        self.text = b""
        self.data = None

    def show(self, limit=300):
        return show_raw(self.raw, limit)


def show_raw(raw, limit=300):
    """The response as one printable line, literal contents abbreviated."""
    out = []
    pos = 0
    while True:
        m = re.search(rb"\{([0-9]+)\}\r\n", raw[pos:])
        if not m:
            out.append(raw[pos:])
            break
        n = int(m.group(1))
        start = pos + m.start()
        out.append(raw[pos:start])
        lit = raw[pos + m.end(): pos + m.end() + n]
        out.append(b"{%d}" % n + (b"<" + lit[:40].replace(b"\r\n", b"\\r\\n") +
                                  (b"...>" if n > 40 else b">")))
        pos = pos + m.end() + n
    s = b"".join(out).decode("latin-1")
    s = s.replace("\r", "\\r").replace("\n", "\\n")
    return s if len(s) <= limit else s[:limit] + "..."


# ---------------------------------------------------------------- resp-text and codes

def parse_uid_set(raw, p=None, cap=100000):
    """uid-set of RFC 4315 (no "*"): a list of UIDs in the written order, ranges
    ascending."""
    out = []
    for part in raw.split(","):
        m = re.match(r"^([0-9]+)(?::([0-9]+))?$", part)
        if not m:
            raise ParseError(f"bad uid-set {raw!r}")
        a = int(m.group(1))
        b = int(m.group(2)) if m.group(2) else a
        if a == 0 or b == 0 or a > U32 or b > U32:
            raise ParseError(f"bad UID in uid-set {raw!r}")
        lo, hi = min(a, b), max(a, b)
        if hi - lo + len(out) > cap:
            raise ParseError(f"uid-set too large {raw!r}")
        out.extend(range(lo, hi + 1))
    return out


def _code_number(args, nz=True, limit=U32):
    if args is None:
        raise ParseError("response code needs a number")
    return to_number(Atom(args.decode("latin-1")), nz, limit)


def _code_flags(args):
    if args is None:
        raise ParseError("response code needs a flag list")
    p = Parser(args)
    v = p.plist()
    if not p.at_end():
        p.err("trailing data in response code")
    return check_flags(v, allow_star=True)


def _code_appenduid(args):
    parts = (args or b"").decode("latin-1").split(" ")
    if len(parts) != 2:
        raise ParseError(f"APPENDUID needs 2 arguments: {args!r}")
    return to_number(Atom(parts[0]), True), parse_uid_set(parts[1])


def _code_copyuid(args):
    parts = (args or b"").decode("latin-1").split(" ")
    if len(parts) != 3:
        raise ParseError(f"COPYUID needs 3 arguments: {args!r}")
    return to_number(Atom(parts[0]), True), parse_uid_set(parts[1]), parse_uid_set(parts[2])


def _code_capability(args):
    return [a.upper() for a in (args or b"").decode("latin-1").split(" ") if a]


CODE_PARSERS = {
    "UIDNEXT": lambda a: _code_number(a),
    "UIDVALIDITY": lambda a: _code_number(a),
    "UNSEEN": lambda a: _code_number(a),
    "HIGHESTMODSEQ": lambda a: _code_number(a, True, U63),
    "PERMANENTFLAGS": _code_flags,
    "APPENDUID": _code_appenduid,
    "COPYUID": _code_copyuid,
    "CAPABILITY": _code_capability,
}


def parse_resp_text(p, r):
    """[SP] ["[" code [SP args] "]" [SP]] text  (missing text tolerated)."""
    if p.at_end():
        return
    p.sp()
    if p.peek() == 0x5B:
        p.i += 1
        start = p.i
        while p.i < len(p.b) and p.b[p.i] not in b" ]":
            p.i += 1
        name = p.b[start:p.i].decode("latin-1").upper()
        if not name or not re.match(r"^[A-Z0-9.\-_]+$", name):
            p.err("bad response code")
        args = None
        if p.peek() == 0x20:
            p.i += 1
            s = p.i
            while p.i < len(p.b) and p.b[p.i] != 0x5D:
                if p.b[p.i] in (0x0D, 0x0A, 0):
                    p.err("CR/LF in response code")
                p.i += 1
            args = p.b[s:p.i]
        p.expect(b"]")
        r.code = name
        fn = CODE_PARSERS.get(name)
        r.code_args = fn(args) if fn else args
        if p.at_end():
            return
        p.sp()
    text = p.rest()
    if b"\r" in text or b"\n" in text or b"\0" in text:
        raise ParseError("CR, LF or NUL in response text")
    r.text = text


# ---------------------------------------------------------------- flags, dates, envelope

def check_flags(v, allow_star=False):
    if not isinstance(v, list):
        raise ParseError("expected a flag list")
    out = []
    for f in v:
        if not isinstance(f, Atom):
            raise ParseError(f"flag is not an atom: {f!r}")
        if f == "\\*":
            if not allow_star:
                raise ParseError("\\* outside PERMANENTFLAGS")
        elif not FLAG_RE.match(f) or "[" in f:
            raise ParseError(f"bad flag {f!r}")
        out.append(str(f))
    return out


def parse_date_time(s):
    """IMAP date-time -> seconds since the epoch (None if malformed)."""
    m = DATE_TIME.match(s)
    if not m:
        return None
    mon = MONTHS.get(m.group(2).upper())
    if mon is None:
        return None
    try:
        t = calendar.timegm((int(m.group(3)), mon, int(m.group(1)), int(m.group(4)),
                             int(m.group(5)), int(m.group(6)), 0, 0, 0))
    except (ValueError, OverflowError):
        return None
    off = (int(m.group(8)) * 60 + int(m.group(9))) * 60
    return t - off if m.group(7) == "+" else t + off


def check_nstring(v, what):
    if isinstance(v, bytes):
        return v
    if is_nil(v):
        return None
    raise ParseError(f"{what}: expected nstring, got {v!r}")


def check_envelope(v):
    if not isinstance(v, list) or len(v) != 10:
        raise ParseError("ENVELOPE must be a list of 10 items")
    date = check_nstring(v[0], "envelope date")
    subject = check_nstring(v[1], "envelope subject")
    addrs = []
    for i in range(2, 8):
        a = v[i]
        if is_nil(a):
            addrs.append(None)
            continue
        if not isinstance(a, list) or not a:
            raise ParseError("envelope address list must be NIL or a non-empty list")
        lst = []
        for addr in a:
            if not isinstance(addr, list) or len(addr) != 4:
                raise ParseError("envelope address must be a list of 4 nstrings")
            lst.append(tuple(check_nstring(x, "address") for x in addr))
        addrs.append(tuple(lst))
    in_reply_to = check_nstring(v[8], "envelope in-reply-to")
    message_id = check_nstring(v[9], "envelope message-id")
    return (date, subject, tuple(addrs), in_reply_to, message_id)


# ---------------------------------------------------------------- FETCH attributes

def _att_flags(p):
    return check_flags(p.plist())


def _att_internaldate(p):
    v = p.quoted().decode("latin-1")
    t = parse_date_time(v)
    if t is None:
        p.err(f"bad INTERNALDATE {v!r}")
    return t


def _att_envelope(p):
    return check_envelope(p.plist())


def _att_modseq(p):
    v = p.plist()
    if len(v) != 1:
        p.err("MODSEQ needs one number")
    return to_number(v[0], True, U63, p)


FETCH_ATT_PARSERS = {
    "FLAGS": _att_flags,
    "UID": lambda p: p.number(nz=True),
    "RFC822.SIZE": lambda p: p.number(),
    "INTERNALDATE": _att_internaldate,
    "ENVELOPE": _att_envelope,
    "BODY[": lambda p: p.nstring(),        # any BODY[section]<origin>
    "BODY": lambda p: p.plist(),
    "BODYSTRUCTURE": lambda p: p.plist(),
    "RFC822": lambda p: p.nstring(),
    "RFC822.HEADER": lambda p: p.nstring(),
    "RFC822.TEXT": lambda p: p.nstring(),
    "MODSEQ": _att_modseq,
}


def norm_att(name):
    """Canonical FETCH attribute name: upper case, no quotes, single spaces."""
    return re.sub(r"\s+", " ", name.upper().replace('"', ""))


def parse_msg_atts(p):
    p.expect(b"(")
    atts = {}
    if p.peek() == 0x29:
        p.err("empty FETCH attribute list")
    while True:
        name = norm_att(p.atom())
        p.sp()
        key = "BODY[" if name.startswith("BODY[") else name
        fn = FETCH_ATT_PARSERS.get(key)
        if fn is None:
            p.err(f"unknown FETCH attribute {name}")
        atts[name] = fn(p)
        c = p.peek()
        if c == 0x29:
            p.i += 1
            return atts
        p.sp()


# ---------------------------------------------------------------- untagged responses

def _u_cond(p, r):
    parse_resp_text(p, r)


def _u_capability(p, r):
    r.data = []
    while not p.at_end():
        p.sp()
        r.data.append(p.atom().upper())


def _u_flags(p, r):
    p.sp()
    r.data = check_flags(p.plist())


def _u_search(p, r):
    r.data = []
    while not p.at_end():
        p.sp()
        if p.peek() == 0x28:               # RFC 7162 (MODSEQ n) at the end
            v = p.plist()
            if len(v) != 2 or str(v[0]).upper() != "MODSEQ":
                p.err("bad SEARCH extension data")
            continue
        r.data.append(p.number(nz=True))


def _seq_set_numbers(text, p):
    """'2,4:6' -> [2, 4, 5, 6] (a sequence-set without '*')."""
    out = []
    for part in text.split(","):
        lo, _, hi = part.partition(":")
        a = to_number(Atom(lo), True, U32, p)
        b = to_number(Atom(hi), True, U32, p) if hi else a
        if a > b:
            a, b = b, a
        if b - a > 1000000:
            p.err("ESEARCH ALL range too large to check")
        out.extend(range(a, b + 1))
    return out


def _u_esearch(p, r):
    """RFC 4731 §3.1: ESEARCH [(TAG "t")] [UID] *(SP name SP value). r.data = the numbers
    returned (ALL, MIN, MAX, sorted, for the SEARCH rules); the parts in r.code_args:
    {"TAG", "UID", "MIN", "MAX", "COUNT", "ALL", "MODSEQ"}."""
    parts = {"TAG": None, "UID": False}
    if not p.at_end():
        p.sp()
        if p.peek() == 0x28:
            v = p.plist()
            if len(v) != 2 or str(v[0]).upper() != "TAG" or not isinstance(v[1], bytes):
                p.err("ESEARCH correlator is not (TAG \"tag\")")
            parts["TAG"] = v[1].decode("latin-1")
            if not p.at_end():
                p.sp()
        while not p.at_end():
            name = p.atom().upper()
            if name == "UID" and not any(k in parts for k in ("MIN", "MAX", "COUNT", "ALL")):
                parts["UID"] = True
            elif name in ("MIN", "MAX", "COUNT") and name not in parts:
                p.sp()
                parts[name] = p.number(nz=name != "COUNT")
            elif name == "ALL" and name not in parts:
                p.sp()
                parts["ALL"] = _seq_set_numbers(p.atom(), p)
            elif name == "MODSEQ" and name not in parts:
                p.sp()
                parts["MODSEQ"] = p.number(nz=True, limit=U63)
            elif name == "PARTIAL" and name not in parts:
                # RFC 9394: PARTIAL (range set-or-NIL)
                p.sp()
                v = p.plist()
                if len(v) != 2 or not isinstance(v[0], str) or \
                        not re.match(r"^(-?[1-9][0-9]*):(-?[1-9][0-9]*)$", str(v[0])):
                    p.err("PARTIAL needs (range set-or-NIL)")
                parts["PARTIAL"] = (str(v[0]), None if is_nil(v[1]) else
                                    _seq_set_numbers(str(v[1]), p))
            else:
                p.err(f"unexpected ESEARCH item {name}")
            if not p.at_end():
                p.sp()
    nums = set(parts.get("ALL") or ())
    if parts.get("PARTIAL") and parts["PARTIAL"][1]:
        nums.update(parts["PARTIAL"][1])
    for k in ("MIN", "MAX"):
        if k in parts:
            nums.add(parts[k])
    r.data = sorted(nums)
    r.code_args = parts


def _u_vanished(p, r):
    """RFC 7162 §3.2.10: VANISHED [(EARLIER)] uid-set. r.data = {"earlier", "uids"}."""
    p.sp()
    earlier = False
    if p.peek() == 0x28:
        v = p.plist()
        if len(v) != 1 or str(v[0]).upper() != "EARLIER":
            p.err("VANISHED takes (EARLIER) or nothing before the UIDs")
        earlier = True
        p.sp()
    r.data = {"earlier": earlier, "uids": _seq_set_numbers(p.atom(), p)}


def _u_status(p, r):
    p.sp()
    mbox = p.astring()
    p.sp()
    lst = p.plist()
    if len(lst) % 2:
        p.err("STATUS list must hold name/value pairs")
    items = {}
    for i in range(0, len(lst), 2):
        name = str(lst[i]).upper()
        items[name] = to_number(lst[i + 1], False, U63, p)
    r.data = (mbox, items)


def _u_list(p, r):
    p.sp()
    flags = p.plist()
    p.sp()
    delim = p.value()
    if not (isinstance(delim, bytes) or is_nil(delim)):
        p.err("bad LIST delimiter")
    p.sp()
    mbox = p.astring()
    ext = []
    while not p.at_end():
        p.sp()
        ext.append(p.value())
    r.data = (flags, delim, mbox, ext)


def _u_generic(p, r):
    r.data = []
    while not p.at_end():
        p.sp()
        r.data.append(p.value())


def _n_plain(p, r):
    pass


def _n_fetch(p, r):
    p.sp()
    r.data = parse_msg_atts(p)


UNTAGGED_PARSERS = {
    "OK": _u_cond, "NO": _u_cond, "BAD": _u_cond, "PREAUTH": _u_cond, "BYE": _u_cond,
    "CAPABILITY": _u_capability,
    "FLAGS": _u_flags,
    "SEARCH": _u_search,
    "ESEARCH": _u_esearch,
    "VANISHED": _u_vanished,
    "STATUS": _u_status,
    "LIST": _u_list,
    "LSUB": _u_list,
    "ENABLED": _u_capability,
}
NUMERIC_PARSERS = {
    "EXISTS": _n_plain,
    "RECENT": _n_plain,
    "EXPUNGE": _n_plain,
    "FETCH": _n_fetch,
}


def parse_response(raw):
    """raw: one response without its final CRLF (literals inline). -> Resp."""
    r = Resp(raw)
    if raw[:1] == b"+":
        r.kind = "cont"
        if len(raw) > 1 and raw[1:2] != b" ":
            raise ParseError("continuation request must be '+' SP text")
        r.text = raw[2:]
        return r
    p = Parser(raw)
    if raw[:2] == b"* ":
        r.kind = "untagged"
        p.i = 2
        first = p.atom()
        if DIGITS.match(first.encode()):
            r.num = int(first)
            if r.num > U32:
                p.err("message number out of range")
            p.sp()
            r.name = p.atom().upper()
            fn = NUMERIC_PARSERS.get(r.name)
            if fn is None:
                p.err(f"unknown response '* n {r.name}'")
        else:
            r.name = first.upper()
            fn = UNTAGGED_PARSERS.get(r.name, _u_generic)
        fn(p, r)
        if not p.at_end():
            p.err("trailing data")
        return r
    r.kind = "tagged"
    tag = p.atom()
    if "+" in tag or "*" in tag or "%" in tag or "\\" in tag:
        p.err(f"bad tag {tag!r}")
    r.tag = str(tag)
    p.sp()
    r.name = p.atom().upper()
    if r.name not in ("OK", "NO", "BAD"):
        p.err(f"tagged response must be OK, NO or BAD, not {r.name}")
    parse_resp_text(p, r)
    return r


def tagged_status_guess(raw):
    """For a tagged line that did not parse: (tag, status) if it looks like one."""
    m = re.match(rb"^([^ *+]+) (OK|NO|BAD)\b", raw, re.I)
    return (m.group(1).decode("latin-1"), m.group(2).decode().upper()) if m else (None, None)
