"""Where log lines go: a log file (reopened on SIGHUP, as logrotate needs), syslog
datagrams on a socket (ident, facility, priority, pid), and journald's priority
prefixes when systemd reads stderr. The seed's log_file and syslog_* options."""

import os
import re
import signal
import socket
import time

from harness import ROOT_OPTS, UIMAPD, Client, UimapTestCase, free_port, uimapd_argv


def wait_for(pred, timeout=10.0, what="condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        v = pred()
        if v:
            return v
        time.sleep(0.02)
    raise AssertionError(f"timed out waiting for {what}")


def file_text(path):
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            return f.read()
    except FileNotFoundError:
        return ""


class LogFile(UimapTestCase):
    def start_logging(self, *extra):
        port = free_port()
        log = os.path.join(self.tmpdir, "uimapd.log")
        argv = uimapd_argv(listen=f"127.0.0.1:{port}", passwd=self.passwd_file(None),
                           extra=("--log-file", log) + extra)
        srv = self.start_process(argv, wait_listening=False)
        wait_for(lambda: "listening on" in file_text(log), what="the listening line")
        return srv, port, log

    def test_lines_go_to_the_file_not_stderr(self):
        srv, port, log = self.start_logging()
        c = Client(port)
        self.addCleanup(c.close)
        c.readline()
        c.login()
        local = "127.0.0.1:%d" % c.sock.getsockname()[1]
        wait_for(lambda: local + "] login: user=alice" in file_text(log), what="login line")
        self.assertRegex(file_text(log), r"(?m)^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z INFO ")
        self.assertEqual([l for l in srv.lines() if "login:" in l], [], "nothing on stderr")
        self.assertEqual(os.stat(log).st_mode & 0o777, 0o640)

    def test_sighup_reopens_after_logrotate(self):
        srv, port, log = self.start_logging()
        rotated = log + ".1"
        os.rename(log, rotated)
        os.kill(srv.pid, signal.SIGHUP)
        # the reopen is logged into the new file
        wait_for(lambda: "log file reopened" in file_text(log), what="a line in the new file")
        c = Client(port)
        self.addCleanup(c.close)
        c.readline()
        c.login()
        wait_for(lambda: "login: user=alice" in file_text(log), what="login in the new file")
        self.assertNotIn("login: user=alice", file_text(rotated))
        self.assertIn("listening on", file_text(rotated))

    def test_unwritable_log_file_refused_at_start(self):
        r = self.run_and_wait(["--listen", "127.0.0.1:0",
                               "--log-file", "/nonexistent/dir/uimapd.log"])
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("/nonexistent/dir/uimapd.log", r.stderr)

    def run_and_wait(self, args):
        import subprocess
        return subprocess.run([UIMAPD] + ROOT_OPTS + args, stdin=subprocess.DEVNULL,
                              capture_output=True, text=True, timeout=10)


class Syslog(UimapTestCase):
    def syslog_socket(self):
        path = os.path.join(self.tmpdir, "log.sock")
        s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        s.bind(path)
        s.settimeout(10)
        self.addCleanup(s.close)
        return s, path

    def recv_until(self, s, pattern, timeout=10.0):
        rx = re.compile(pattern)
        deadline = time.monotonic() + timeout
        got = []
        while time.monotonic() < deadline:
            s.settimeout(max(0.05, deadline - time.monotonic()))
            try:
                d = s.recv(4096).decode("utf-8", "replace")
            except socket.timeout:
                break
            got.append(d)
            if rx.search(d):
                return d, got
        raise AssertionError(f"no syslog datagram matching {pattern!r}; got {got!r}")

    def test_datagrams_with_ident_facility_priority_and_pid(self):
        s, path = self.syslog_socket()
        srv = self.start_server("--syslog", "--syslog-socket", path, "--syslog-ident",
                                "imaptest", "--syslog-facility", "local3",
                                wait_listening=False)
        d, _ = self.recv_until(s, r"listening on")
        # <PRI> = facility local3 (19) * 8 + info (6); "Mmm dd hh:mm:ss ident[pid]: "
        m = re.match(r"<(\d+)>([A-Z][a-z]{2} [ \d]\d \d\d:\d\d:\d\d) imaptest\[(\d+)\]: INFO ",
                     d)
        self.assertIsNotNone(m, d)
        self.assertEqual(int(m.group(1)), 19 * 8 + 6)
        self.assertEqual(int(m.group(3)), srv.pid)
        # stderr gets nothing: syslog replaces it
        self.assertEqual(srv.lines(), [])

    def test_error_priority_and_no_pid_option(self):
        s, path = self.syslog_socket()
        port = free_port()
        self.start_server("--syslog", "--syslog-socket", path, "--syslog-options", "ndelay",
                          listen=f"127.0.0.1:{port}", wait_listening=False)
        self.recv_until(s, r"listening on")
        c = Client(port)
        self.addCleanup(c.close)
        c.readline()
        # a failed login is INFO; a backend error would be ERROR: use a bad command
        # that logs at INFO and check the default facility (mail = 2) and no [pid]
        c.send("a LOGIN alice wrong\r\n")
        d, _ = self.recv_until(s, r"login failed")
        m = re.match(r"<(\d+)>\S+ +\d+ \S+ uimapd: INFO ", d)
        self.assertIsNotNone(m, d)
        self.assertEqual(int(m.group(1)), 2 * 8 + 6)

    def test_bad_syslog_settings_refused(self):
        import subprocess
        for extra, msg in ((["--syslog-facility", "kernel-ish"], "facility"),
                           (["--syslog-options", "pid,frobnicate"], "option"),
                           (["--syslog-socket", "/nonexistent/sock"], "/nonexistent/sock")):
            r = subprocess.run([UIMAPD] + ROOT_OPTS + ["--listen", "127.0.0.1:0", "--syslog"] + extra,
                               stdin=subprocess.DEVNULL, capture_output=True, text=True,
                               timeout=10)
            self.assertNotEqual(r.returncode, 0, extra)
            self.assertIn(msg, r.stderr, extra)


class Journald(UimapTestCase):
    def test_priority_prefix_when_systemd_reads_stderr(self):
        env = dict(os.environ, JOURNAL_STREAM="8:12345")
        argv = uimapd_argv(passwd=self.passwd_file(None))
        srv = self.start_process(argv, env=env, wait_listening=False)
        wait_for(lambda: any("listening on" in l for l in srv.lines()), what="listening")
        line = [l for l in srv.lines() if "listening on" in l][0]
        self.assertRegex(line, r"^<6>\d{4}-\d\d-\d\dT")
        port = int(re.search(r"port (\d+)", line).group(1))
        c = Client(port)
        self.addCleanup(c.close)
        c.readline()
        c.send("a LOGIN alice wrong\r\n")
        c.readline()
        os.kill(srv.pid, signal.SIGTERM)
        srv.wait(timeout=10)
        self.assertTrue(all(re.match(r"^<[3-7]>", l) for l in srv.lines() if l), srv.lines())
