"""Scale-out (issue 14), everything on loopback: a private Dovecot as the IMAP proxy in
front of two uimapd shards, 20 users split between them by the proxy's passdb (the
sharding rule: crc32(user) % 2, written into the passdb by the provisioning step).
Checked through the proxy: every user's logins and APPENDs land on its shard only; mbsync
syncs; the stress checker finds 0 violations; a user moved from shard A to B with
uimapctl export/import keeps UIDVALIDITY, UIDs and flags; the real client address reaches
the shard's log through Dovecot's ID (x-originating-ip), also when HAProxy sends PROXY v2
to Dovecot in front of it. docs/scale-out.md shows the same configs."""

import imaplib
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import unittest
import zlib

from harness import REPO_ROOT, UIMAPD, UimapTestCase, free_port

DOVECOT = shutil.which("dovecot") or (os.path.exists("/usr/sbin/dovecot") and "/usr/sbin/dovecot")
HAVE_DOVECOT = bool(DOVECOT) and os.path.exists("/usr/lib/dovecot/imap-login")
HAPROXY = shutil.which("haproxy")
MBSYNC = shutil.which("mbsync")
CTL = os.environ.get("UIMAPCTL") or os.path.join(os.path.dirname(UIMAPD), "uimapctl")
STRESS = os.path.join(REPO_ROOT, "tests", "stress", "imapstress.py")

USERS = [f"u{i}" for i in range(1, 21)]
PASSWORD = "pw"


def shard_of(user):
    """The sharding rule the provisioning applies (any stable function will do: the
    proxy's passdb is the truth, so a moved user just gets another line)."""
    return zlib.crc32(user.encode()) % 2


DOVECOT_CONF = """# private Dovecot: an IMAP proxy only (no mail), in front of the uimapd shards
base_dir = {dir}/run
state_dir = {dir}/state
log_path = {dir}/dovecot.log
protocols = imap
listen = 127.0.0.1
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
# the proxy hands connections over as they come; no penalty for the checker's logins
login_trusted_networks = 127.0.0.0/8
# HAProxy in front of the proxy sends PROXY v2 to the haproxy listener
haproxy_trusted_networks = 127.0.0.0/8
default_client_limit = 2000
passdb {{
  driver = passwd-file
  # user:{{PLAIN}}password::::::proxy=y host=SHARD port=PORT
  args = scheme=PLAIN {dir}/proxy.passwd
}}
service imap-login {{
  inet_listener imap {{
    address = 127.0.0.1
    port = {port}
  }}
  inet_listener imap_haproxy {{
    address = 127.0.0.1
    port = {haproxy_port}
    haproxy = yes
  }}
  # high-performance mode: a few processes serve every connection
  service_count = 0
  process_min_avail = 1
}}
"""

HAPROXY_CONF = """global
    log stderr format raw local0 err
defaults
    mode tcp
    timeout connect 5s
    timeout client 60s
    timeout server 60s
frontend imap
    bind 127.0.0.1:{front}
    default_backend dovecot
backend dovecot
    server proxy 127.0.0.1:{port} send-proxy-v2
"""


def wait_port(port, proc=None, timeout=15):
    deadline = time.monotonic() + timeout
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), 1).close()
            return
        except OSError:
            if time.monotonic() > deadline or (proc is not None and proc.poll() is not None):
                raise AssertionError(f"nothing listens on port {port}")
            time.sleep(0.05)


@unittest.skipUnless(HAVE_DOVECOT, "dovecot is not installed (Debian package dovecot-imapd)")
@unittest.skipUnless(os.geteuid() == 0, "a private Dovecot needs root (as tests/stress/dovecot.sh)")
class ScaleOut(UimapTestCase):
    HARD_TIMEOUT = 240

    def start_shard(self, name, users, port=0):
        data = os.path.join(self.tmpdir, "data-" + name)
        passwd = self.passwd_file({u: "{PLAIN}" + PASSWORD for u in users},
                                  name="passwd-" + name)
        srv = self.start_server("--data-dir", data, "--passwd", passwd,
                                "--trusted-proxy", "127.0.0.0/8",
                                "--max-unauth-connections-per-ip", "0",
                                passwd=False, listen=f"127.0.0.1:{port}")
        srv.data_dir = data
        srv.users = set(users)
        return srv

    def write_passdb(self, where):
        """The proxy's table: each user to its shard's port (where: user -> server)."""
        path = os.path.join(self.dir, "proxy.passwd")
        with open(path + ".tmp", "w") as f:
            for u in USERS:
                f.write(f"{u}:{{PLAIN}}{PASSWORD}::::::proxy=y host=127.0.0.1 "
                        f"port={where[u].port}\n")
        os.chmod(path + ".tmp", 0o644)
        os.replace(path + ".tmp", path)   # Dovecot re-reads a changed passwd-file

    def start_dovecot(self):
        self.dir = os.path.join(self.tmpdir, "dovecot")
        for d in ("run", "state"):
            os.makedirs(os.path.join(self.dir, d))
        os.chmod(self.tmpdir, 0o755)
        os.chmod(self.dir, 0o755)
        self.port, self.haproxy_port = free_port(), free_port()
        conf = os.path.join(self.dir, "dovecot.conf")
        with open(conf, "w") as f:
            f.write(DOVECOT_CONF.format(dir=self.dir, port=self.port,
                                        haproxy_port=self.haproxy_port))
        self.write_passdb(self.where)
        # it forks into the background: its children must not hold our pipes
        self.addCleanup(self.stop_dovecot)
        with open(os.path.join(self.dir, "start.err"), "w") as err:
            rc = subprocess.call([DOVECOT, "-c", conf], stdin=subprocess.DEVNULL,
                                 stdout=subprocess.DEVNULL, stderr=err, timeout=30)
        self.assertEqual(rc, 0, open(os.path.join(self.dir, "start.err")).read())
        wait_port(self.port)

    def stop_dovecot(self):
        pidfile = os.path.join(self.dir, "run", "master.pid")
        try:
            pid = int(open(pidfile).read())
        except (OSError, ValueError):
            return
        try:
            os.kill(pid, 15)
            for _ in range(100):
                os.kill(pid, 0)
                time.sleep(0.05)
            os.kill(pid, 9)
        except ProcessLookupError:
            pass

    def dovecot_reload(self):
        """doveadm reload: the auth process restarts and reads the new table."""
        conf = os.path.join(self.dir, "dovecot.conf")
        p = subprocess.run(["doveadm", "-c", conf, "reload"], capture_output=True, text=True,
                           timeout=30, stdin=subprocess.DEVNULL)
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        # the reload is asynchronous: wait until the old auth process is replaced
        deadline = time.monotonic() + 10
        while "SIGHUP received - reloading configuration" not in self.dovecot_log():
            self.assertLess(time.monotonic(), deadline, self.dovecot_log()[-2000:])
            time.sleep(0.05)
        time.sleep(0.3)

    def dovecot_log(self):
        try:
            with open(os.path.join(self.dir, "dovecot.log")) as f:
                return f.read()
        except OSError:
            return ""

    def login(self, user, port=None, source="127.0.0.1"):
        m = imaplib.IMAP4("127.0.0.1", port or self.port, timeout=30)
        if source != "127.0.0.1":
            # imaplib cannot bind: reconnect its socket from the source address
            m.shutdown()
            m.host, m.port = "127.0.0.1", port or self.port
            m.sock = socket.create_connection(("127.0.0.1", port or self.port), 30,
                                              source_address=(source, 0))
            m.file = m.sock.makefile("rb")
            m._get_response()
        typ, _ = m.login(user, PASSWORD)
        self.assertEqual(typ, "OK")
        self.addCleanup(lambda: _quiet_logout(m))
        return m

    def ctl(self, *args):
        p = subprocess.run([CTL, *args], capture_output=True, text=True, timeout=60,
                           stdin=subprocess.DEVNULL)
        self.assertEqual(p.returncode, 0, f"uimapctl {args}: {p.stdout}{p.stderr}")
        return p

    def test_scale_out(self):
        t0 = time.monotonic()
        a_users = [u for u in USERS if shard_of(u) == 0]
        b_users = [u for u in USERS if shard_of(u) == 1]
        self.assertTrue(a_users and b_users)
        a = self.start_shard("a", a_users)
        b = self.start_shard("b", b_users)
        self.where = {u: (a if shard_of(u) == 0 else b) for u in USERS}
        self.start_dovecot()

        # 1. every user through the proxy lands on its shard; an APPEND stays there
        for u in USERS:
            m = self.login(u)
            msg = f"Subject: for {u}\r\nFrom: t@example.org\r\n\r\nhello {u}\r\n".encode()
            typ, _ = m.append("INBOX", None, None, msg)
            self.assertEqual(typ, "OK")
            m.logout()
        for srv, mine in ((a, a_users), (b, b_users)):
            # the log reaches the harness through a pipe: wait for the lines, then compare
            srv.wait_log_count(r"login: user=u\d+", len(mine))
            logins = set(re.findall(r"login: user=(u\d+)", "\n".join(srv.lines())))
            self.assertEqual(logins, set(mine), "logins on the shard")
        for u in USERS:
            home, other = (a, b) if shard_of(u) == 0 else (b, a)
            d = imaplib.IMAP4("127.0.0.1", home.port, timeout=30)
            d.login(u, PASSWORD)
            typ, data = d.select("INBOX", readonly=True)
            self.assertEqual(data[0], b"1", u)
            typ, data = d.fetch("1", "(BODY.PEEK[HEADER.FIELDS (SUBJECT)])")
            self.assertIn(f"for {u}".encode(), data[0][1])
            d.logout()
            e = imaplib.IMAP4("127.0.0.1", other.port, timeout=30)
            with self.assertRaises(imaplib.IMAP4.error):
                e.login(u, PASSWORD)
            e.logout()
        sys.stderr.write(f"\n    20 users placed: {time.monotonic() - t0:.1f} s\n")

        # 2. the real client address reaches the shard through ID
        u = a_users[0]
        self.login(u, source="127.0.0.5").noop()
        self.assertTrue(a.wait_log(r"\[c\d+ 127\.0\.0\.5:\d+\] client address from the trusted "
                                   r"proxy 127\.0\.0\.1:\d+"), a.stderr()[-2000:])
        self.assertTrue(a.wait_log(rf"\[c\d+ 127\.0\.0\.5:\d+\] login: user={u}\b"))

        # 3. ... also with HAProxy in front of the proxy (PROXY v2 to Dovecot)
        if HAPROXY is not None:
            front = free_port()
            cfg = self.write_file("haproxy.cfg", HAPROXY_CONF.format(front=front,
                                                                      port=self.haproxy_port))
            hp = subprocess.Popen([HAPROXY, "-db", "-f", cfg], stdout=subprocess.DEVNULL,
                                  stderr=subprocess.DEVNULL)
            self.addCleanup(lambda: (hp.kill(), hp.wait()))
            wait_port(front, hp)
            u = b_users[0]
            self.login(u, port=front, source="127.0.0.6").noop()
            self.assertTrue(b.wait_log(rf"\[c\d+ 127\.0\.0\.6:\d+\] login: user={u}\b"),
                            b.stderr()[-2000:] + self.dovecot_log()[-2000:])

        # 4. mbsync through the proxy
        if MBSYNC is not None:
            self.mbsync(a_users[1])

        # 5. the stress checker through the proxy: users u1..u5 over both shards
        seconds = float(os.environ.get("UIMAP_SCALEOUT_STRESS_SECONDS") or 6)
        argv = [sys.executable, STRESS, "--host", "127.0.0.1", "--port", str(self.port),
                "--user-prefix", "u", "--password", PASSWORD, "--users", "5",
                "--clients", "12", "--seconds", str(seconds), "--timeout", "30",
                "--notify-share", "0", "--seed", "14"]
        p = subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True, text=True,
                           timeout=seconds + 120)
        out = p.stdout + p.stderr
        last = out.strip().splitlines()[-1] if out.strip() else ""
        sys.stderr.write(f"    through the proxy: {last}\n")
        self.assertEqual(p.returncode, 0, out[-20000:])
        self.assertRegex(last, r"^stress: 0 violations, [1-9][0-9]* commands")

        # 6. move one user from shard A to B: UIDVALIDITY, UIDs and flags kept
        mover = a_users[-1]
        m = self.login(mover)
        for i in range(4):
            m.append("INBOX", None, None,
                     f"Subject: m{i}\r\n\r\nbody {i}\r\n".encode())
        m.create("Work")
        m.append("Work", "(\\Flagged $Label1)", None, b"Subject: w\r\n\r\nwork\r\n")
        m.select("INBOX")
        m.uid("STORE", "2:3", "+FLAGS", "(\\Seen $Important)")
        m.expunge()   # nothing deleted; UIDs 1..5 stay
        m.uid("STORE", "4", "+FLAGS", "(\\Deleted)")
        m.expunge()   # a gap in the UIDs
        before = self.snapshot(m)
        m.logout()
        # export from A's data directory (A keeps running: no mail reaches the user now)
        exp = os.path.join(self.tmpdir, "export")
        for box in ("INBOX", "Work"):
            self.ctl("export", box, os.path.join(exp, box), "--maildir", "--user", mover,
                     "--data-dir", a.data_dir)
        # B stops for the offline import, then serves the user too
        b_port = b.port
        self.stop_server(b)
        for box in ("INBOX", "Work"):
            p = self.ctl("import", os.path.join(exp, box), box, "--user", mover,
                         "--data-dir", b.data_dir, "--keep-uids")
            self.assertIn("UIDs kept)", p.stdout)
        b2 = self.start_shard("b", b_users + [mover], port=b_port)
        # A stops serving the user (its passwd-file is re-read on SIGHUP) ...
        self.passwd_file({u: "{PLAIN}" + PASSWORD for u in a_users if u != mover},
                         name="passwd-a")
        a.signal(signal.SIGHUP)
        self.assertTrue(a.wait_log(r"passwd file reloaded"), a.stderr()[-2000:])
        # ... and the proxy's table sends the user to B: rewrite it, reload Dovecot
        self.where = {u: (b2 if u == mover or shard_of(u) == 1 else a) for u in USERS}
        self.write_passdb(self.where)
        self.dovecot_reload()
        m = self.login(mover)
        after = self.snapshot(m)
        self.assertEqual(after, before)
        self.assertTrue(b2.wait_log(rf"login: user={mover}\b"))
        sys.stderr.write(f"    scale-out test: {time.monotonic() - t0:.1f} s\n")

    def snapshot(self, m):
        """UIDVALIDITY, and UID -> flags, per mailbox, as the client sees them."""
        out = {}
        for box in ("INBOX", "Work"):
            typ, _ = m.select(box)
            self.assertEqual(typ, "OK")
            uv = m.response("UIDVALIDITY")[1][0]
            typ, data = m.uid("FETCH", "1:*", "(FLAGS)")
            flags = {}
            for item in data:
                if item is None:
                    continue
                s = item.decode() if isinstance(item, bytes) else item[0].decode()
                mm = re.search(r"UID (\d+) FLAGS \(([^)]*)\)|FLAGS \(([^)]*)\) UID (\d+)", s)
                if mm:
                    uid = mm.group(1) or mm.group(4)
                    fl = mm.group(2) if mm.group(2) is not None else mm.group(3)
                    flags[int(uid)] = sorted(f for f in fl.split() if f != "\\Recent")
            out[box] = (uv, flags)
        return out

    def stop_server(self, srv):
        self._stop_server(srv, True)   # exit status and sanitizer report checked

    def mbsync(self, user):
        near = os.path.join(self.tmpdir, "mbsync-" + user)
        os.makedirs(near)
        conf = self.write_file("mbsyncrc", f"""IMAPAccount proxy
Host 127.0.0.1
Port {self.port}
User {user}
Pass {PASSWORD}
SSLType None
AuthMechs LOGIN
Timeout 30

IMAPStore remote
Account proxy

MaildirStore local
Path {near}/
Inbox {near}/INBOX

Channel sync
Far :remote:
Near :local:
Patterns INBOX
Create Both
Sync All
SyncState *
""")
        home = os.path.join(self.tmpdir, "home")
        os.makedirs(home, exist_ok=True)
        p = subprocess.run([MBSYNC, "-c", conf, "-a"], stdin=subprocess.DEVNULL,
                           capture_output=True, text=True, timeout=60,
                           env=dict(os.environ, HOME=home))
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr + self.dovecot_log()[-2000:])
        got = os.listdir(os.path.join(near, "INBOX", "cur")) + \
            os.listdir(os.path.join(near, "INBOX", "new"))
        self.assertEqual(len(got), 1, got)   # the APPEND of step 1, from its shard


def _quiet_logout(m):
    try:
        m.logout()
    except Exception:
        pass
