"""What the Python benchmarks share: a minimal IMAP client that reads with large recv()s
(so the client costs less than the server on 100,000-line answers) and a uimapd started
on a free port with a one-user passwd-file ("u" / "p")."""
import os
import re
import subprocess


class Conn:
    def __init__(self, port):
        import socket
        self.s = socket.create_connection(("127.0.0.1", port))
        self.buf = b""
        self.pos = 0
        self.received = 0
        self.line()

    def line(self):
        """The next response line without its CRLF."""
        while True:
            i = self.buf.find(b"\r\n", self.pos)
            if i >= 0:
                out = self.buf[self.pos:i]
                self.pos = i + 2
                return out
            d = self.s.recv(1 << 20)
            if not d:
                raise EOFError
            self.received += len(d)
            self.buf = self.buf[self.pos:] + d
            self.pos = 0

    def cmd(self, tag, text):
        """Send a command, return its untagged lines; raises unless tagged OK."""
        self.s.sendall(f"{tag} {text}\r\n".encode())
        t = tag.encode() + b" "
        lines = []
        while True:
            ln = self.line()
            if ln.startswith(t):
                if not ln.startswith(t + b"OK"):
                    raise RuntimeError(f"{text[:60]!r}: {ln[:200]!r}")
                return lines
            lines.append(ln)

    def close(self):
        self.s.close()


def default_uimapd():
    return os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "build", "uimapd")


def start_uimapd(binary, tmp, *extra):
    """uimapd on 127.0.0.1 (a free port) with user "u" / "p": returns (process, port)."""
    pw = os.path.join(tmp, "passwd")
    with open(pw, "w") as f:
        f.write("u:{PLAIN}p\n")
    root = []
    if os.geteuid() == 0 and "--allow-root" in subprocess.run(
            [binary, "--help"], capture_output=True, text=True).stdout:
        root = ["--allow-root"]   # uimapd refuses root otherwise
    srv = subprocess.Popen([binary, "--listen", "127.0.0.1:0", "--passwd", pw,
                            "--allow-plaintext-auth", *root, *extra],
                           stderr=subprocess.PIPE, text=True)
    for line in srv.stderr:
        m = re.search(r"listening on \S+ port (\d+)", line)
        if m:
            return srv, int(m.group(1))
    srv.wait(10)
    raise RuntimeError("uimapd did not start")
