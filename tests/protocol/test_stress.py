"""Many concurrent clients (tests/stress/imapstress.py): 50 simulated clients over 5
users share a few mailboxes and run a random mix of FETCH, STORE, EXPUNGE, APPEND,
COPY/MOVE, SEARCH, STATUS, IDLE, ... for some seconds; every response is checked
against a model of RFC 3501 (see tests/stress/README.md). Any violation fails the test
and is printed with the command it answered.

test_checker_catches_injected_bugs puts tests/stress/mutproxy.py between the checker and
uimapd: it corrupts responses (a wrong UID, a dropped \\Seen, a shrunk EXISTS, a changed
body byte, an EXPUNGE during FETCH, a garbled line) and each must be reported under its
rule, so a checker that finds nothing is not a blind one.

The checker waits up to 60 s for any one response, so a slow or busy machine only
lowers the throughput. UIMAP_STRESS_SECONDS overrides the run time (default 20 s
plaintext, 15 s TLS); UIMAP_STRESS_SEED fixes the workload seed (the interleaving of
the clients still varies from run to run).
"""

import os
import re
import subprocess
import sys

from harness import REPO_ROOT, UimapTestCase

STRESS = os.path.join(REPO_ROOT, "tests", "stress", "imapstress.py")
MUTPROXY = os.path.join(REPO_ROOT, "tests", "stress", "mutproxy.py")
INJECTED = {"uid": "uid-changed", "flags": "flags-lost", "exists": "exists-shrink",
            "body": "content-mismatch", "expunge": "expunge-forbidden", "garble": "parse",
            "modseq": "modseq-decreased", "vanished": "vanished", "notify": "notify-list"}
TLS_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "tls")
CERT = os.path.join(TLS_DIR, "cert-a.pem")
KEY = os.path.join(TLS_DIR, "key-a.pem")
TLS_LISTEN_RE = r"listening on \S+ \(tls\) port (\d+)"

USERS = {f"u{i}": "{PLAIN}pw" for i in range(1, 6)}
RESPONSE_TIMEOUT = 60


class StressTest(UimapTestCase):
    HARD_TIMEOUT = 420

    def checker(self, port, seconds, tls=False, clients=50, seed=None, extra=()):
        """Run imapstress; returns (exit status, output, last line)."""
        argv = [sys.executable, STRESS, "--host", "127.0.0.1", "--port", str(port),
                "--user-prefix", "u", "--password", "pw", "--users", str(len(USERS)),
                "--clients", str(clients), "--seconds", str(seconds),
                "--timeout", str(RESPONSE_TIMEOUT), "--seed", str(seed)] + list(extra)
        if tls:
            argv.append("--tls")
        # the checker stops itself: run time, then at most 2 response timeouts
        limit = seconds + 2 * RESPONSE_TIMEOUT + 60
        p = subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True, text=True,
                           timeout=limit)
        out = p.stdout + (("\nstderr:\n" + p.stderr) if p.stderr.strip() else "")
        last = out.strip().splitlines()[-1] if out.strip() else ""
        sys.stderr.write(f"\n    {last}\n")
        return p.returncode, out, last

    def run_checker(self, port, seconds, tls=False, clients=50, seed=None):
        seconds = float(os.environ.get("UIMAP_STRESS_SECONDS") or seconds)
        seed = os.environ.get("UIMAP_STRESS_SEED") or seed
        rc, out, last = self.checker(port, seconds, tls, clients, seed)
        if rc != 0:
            self.fail(f"imapstress found violations (exit {rc}):\n" +
                      (out if len(out) < 30000 else out[:20000] + "\n...\n" + out[-8000:]))
        self.assertRegex(last, r"^stress: 0 violations, [1-9][0-9]* commands")

    # every simulated client connects from 127.0.0.1: no per-address cap on the
    # connections still logging in (the default, 20, is for real client addresses)
    NO_CAP = ("--max-unauth-connections-per-ip", "0")

    def test_50_clients_plaintext(self):
        srv = self.start_server(*self.NO_CAP, users=USERS)
        self.run_checker(srv.port, 20, seed=1)

    def test_50_clients_tls(self):
        srv = self.start_server(*self.NO_CAP, "--tls-listen", "127.0.0.1:0", "--cert", CERT,
                                "--key", KEY, users=USERS)
        m = srv.wait_log(TLS_LISTEN_RE, timeout=10)
        self.assertIsNotNone(m, srv.stderr())
        self.run_checker(int(m.group(1)), 15, tls=True, seed=2)

    def test_checker_catches_injected_bugs(self):
        srv = self.start_server(*self.NO_CAP, users=USERS)
        proxy = subprocess.Popen([sys.executable, MUTPROXY, "--target-port", str(srv.port),
                                  "--modes", ",".join(INJECTED), "--seed", "3"],
                                 stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                 stderr=subprocess.STDOUT, text=True)

        def stop_proxy():
            proxy.kill()
            proxy.wait(timeout=10)
            proxy.stdout.close()
        self.addCleanup(stop_proxy)
        m = re.search(r"listening on port (\d+)", proxy.stdout.readline())
        self.assertIsNotNone(m, "mutproxy did not start")
        rules = sorted(INJECTED.values())
        rc, out, last = self.checker(int(m.group(1)), 60, clients=20, seed=4,
                                     extra=["--stop-when", ",".join(rules)])
        self.assertEqual(rc, 1, out[-5000:])
        counts = dict(re.findall(r"^  (\S+) +(\d+) ", out, re.M))
        missing = [r for r in rules if r not in counts]
        self.assertEqual(missing, [], "injected bugs not reported:\n" + out[-5000:])
