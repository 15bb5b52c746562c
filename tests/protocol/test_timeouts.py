"""Idle timeouts, the failed-login delay, and password hashing off the event loop.

Only lower bounds are tight; upper bounds are generous (shared, noisy machines)."""

import threading
import time
import unittest

from harness import UimapTestCase, sha512_crypt

SLOW_ROUNDS = 5000000        # SHA-512 crypt rounds: around a second per check


class IdleTimeouts(UimapTestCase):
    def wait_bye(self, c, min_s, max_s, since):
        lines = self.assertClosed(c, timeout=max_s + 2)
        elapsed = time.monotonic() - since
        self.assertTrue(lines and lines[-1].startswith("* BYE"), lines)
        self.assertGreaterEqual(elapsed, min_s, f"BYE after {elapsed:.2f}s")
        self.assertLess(elapsed, max_s, f"BYE after {elapsed:.2f}s")
        return lines

    def test_unauth_idle(self):
        srv = self.start_server("--unauth-idle", "1")
        t0 = time.monotonic()
        c = self.connect(srv)
        self.wait_bye(c, 0.9, 5, t0)
        self.assertIsNotNone(srv.wait_log(r"idle timeout"), srv.stderr())

    def test_unauth_idle_reset_by_activity(self):
        srv = self.start_server("--unauth-idle", "1", "--unauth-commands", "0")
        c = self.connect(srv)
        for i in range(4):
            time.sleep(0.5)
            _, tagged = c.command(f"n{i}", "NOOP")
            self.assertTagged(tagged, f"n{i}", "OK")
        t0 = time.monotonic()
        self.wait_bye(c, 0.9, 5, t0)

    def test_partial_command_does_not_keep_alive_forever(self):
        # bytes of an unfinished command count as activity, silence after them does not
        srv = self.start_server("--unauth-idle", "1")
        c = self.connect(srv)
        c.send("a LOGIN {5}\r\n")
        self.assertTrue(c.readline().startswith("+"))
        c.send("al")
        t0 = time.monotonic()
        self.wait_bye(c, 0.9, 5, t0)

    def test_auth_idle(self):
        # default --unauth-idle (300 s): the shorter auth timeout must apply after login
        srv = self.start_server("--auth-idle", "2")
        c = self.connect(srv)
        c.login()
        t0 = time.monotonic()
        self.wait_bye(c, 1.9, 6, t0)

    def test_auth_idle_without_unauth_idle(self):
        srv = self.start_server("--auth-idle", "2", "--unauth-idle", "0")
        c = self.connect(srv)
        c.login()
        t0 = time.monotonic()
        self.wait_bye(c, 1.9, 6, t0)

    def test_auth_idle_longer_than_unauth_idle(self):
        srv = self.start_server("--auth-idle", "2", "--unauth-idle", "1")
        c = self.connect(srv)
        c.login()
        t0 = time.monotonic()
        self.wait_bye(c, 1.9, 6, t0)

    def test_no_timeout_when_zero(self):
        srv = self.start_server("--unauth-idle", "0")
        c = self.connect(srv)
        self.assertTrue(c.quiet_for(1.5), c.buf)
        _, tagged = c.command("a", "NOOP")
        self.assertTagged(tagged, "a", "OK")


class LoginDelay(UimapTestCase):
    def test_failed_login_delay(self):
        srv = self.start_server("--login-delay-max", "1000", login_delay=300)
        c = self.connect(srv)
        other = self.connect(srv)
        other.login()
        t0 = time.monotonic()
        c.send("a LOGIN alice wrong\r\n")
        # meanwhile the loop answers another connection quickly
        rtts = []
        while True:
            t = time.monotonic()
            _, tagged = other.command(f"n{len(rtts)}", "NOOP")
            rtts.append(time.monotonic() - t)
            self.assertTagged(tagged, f"n{len(rtts) - 1}", "OK")
            if not c.quiet_for(0.05):
                break
            if time.monotonic() - t0 > 10:
                self.fail("no answer to the failed LOGIN within 10 s")
        line = c.readline()
        elapsed = time.monotonic() - t0
        self.assertTagged(line, "a", "NO", "[AUTHENTICATIONFAILED]")
        self.assertGreaterEqual(elapsed, 0.25)
        self.assertLess(elapsed, 10)
        self.assertGreaterEqual(len(rtts), 2, "no NOOP completed during the delay")
        self.assertLess(max(rtts), 1.0, f"NOOP round trips during the delay: {rtts}")

    def test_delay_grows_and_is_capped(self):
        srv = self.start_server("--login-delay-max", "1000", login_delay=300)
        c = self.connect(srv)
        times = []
        for i in range(4):
            t = time.monotonic()
            _, tagged = c.command(f"a{i}", "LOGIN alice wrong", timeout=10)
            times.append(time.monotonic() - t)
            self.assertTagged(tagged, f"a{i}", "NO")
        # 300, 600, 1000 (capped), 1000 ms
        self.assertGreaterEqual(times[0], 0.25, times)
        self.assertGreaterEqual(times[1], 0.55, times)
        self.assertGreaterEqual(times[2], 0.95, times)
        self.assertGreaterEqual(times[3], 0.95, times)
        self.assertLess(times[3], 5, times)

    def test_successful_login_not_delayed_after_failure(self):
        # a delay far above any scheduling noise: a busy machine cannot fake it
        srv = self.start_server("--login-delay-max", "4000", login_delay=4000)
        c = self.connect(srv)
        _, tagged = c.command("a", "LOGIN alice wrong", timeout=10)
        self.assertTagged(tagged, "a", "NO")
        t = time.monotonic()
        c.login()
        self.assertLess(time.monotonic() - t, 3.0)

    def test_other_users_success_does_not_reset_the_penalty(self):
        """The penalty is keyed by address and user: logging in as alice does not
        buy more guesses at bob's password (it did when keyed by address)."""
        srv = self.start_server("--login-delay-max", "10000", login_delay=300)
        c = self.connect(srv)
        for i in range(2):   # 300 ms, 600 ms
            _, tagged = c.command(f"b{i}", "LOGIN bob wrong", timeout=10)
            self.assertTagged(tagged, f"b{i}", "NO")
        ok = self.connect(srv)
        ok.login()           # alice, same address
        t = time.monotonic()
        _, tagged = c.command("b2", "LOGIN bob wrong", timeout=10)
        self.assertTagged(tagged, "b2", "NO")
        self.assertGreaterEqual(time.monotonic() - t, 1.15, "third failure: 1200 ms")

    def test_penalty_of_one_user_does_not_delay_another(self):
        srv = self.start_server("--login-delay-max", "20000", login_delay=300)
        c = self.connect(srv)
        for i in range(4):   # bob: 300, 600, 1200, 2400 ms
            _, tagged = c.command(f"b{i}", "LOGIN bob wrong", timeout=10)
            self.assertTagged(tagged, f"b{i}", "NO")
        t = time.monotonic()
        _, tagged = c.command("a", "LOGIN alice wrong", timeout=10)
        self.assertTagged(tagged, "a", "NO")
        # alice's first failure: the base delay (by address it would be 4800 ms)
        self.assertGreaterEqual(time.monotonic() - t, 0.25)
        self.assertLess(time.monotonic() - t, 3.5)

    def test_unauthenticated_connections_capped_per_address(self):
        srv = self.start_server("--max-unauth-connections-per-ip", "3")
        first = [self.connect(srv) for _ in range(3)]
        extra = self.connect(srv, greeting=False)
        line = extra.readline()
        self.assertTrue(line.startswith("* BYE [UNAVAILABLE]"), line)
        self.assertIn("unauthenticated", line)
        self.assertClosed(extra)
        # a login frees its place; logged-in connections do not count
        first[0].login()
        again = self.connect(srv)
        again.login()
        more = self.connect(srv)
        _, tagged = more.command("n", "NOOP")
        self.assertTagged(tagged, "n", "OK")
        self.assertIsNotNone(srv.wait_log(r"rejected: \* BYE \[UNAVAILABLE\] Too many "
                                          r"unauthenticated"))

    def test_commands_pipelined_behind_delayed_login(self):
        srv = self.start_server("--login-delay-max", "1000", login_delay=300)
        c = self.connect(srv)
        t0 = time.monotonic()
        c.send("a LOGIN alice wrong\r\nb NOOP\r\n")
        _, tagged = c.read_tagged("a", timeout=10)
        self.assertTagged(tagged, "a", "NO")
        _, tagged = c.read_tagged("b", timeout=10)
        self.assertTagged(tagged, "b", "OK")
        self.assertGreaterEqual(time.monotonic() - t0, 0.25)

    def test_disconnect_during_delay(self):
        srv = self.start_server("--login-delay-max", "1000", login_delay=500)
        c = self.connect(srv)
        c.send("a LOGIN alice wrong\r\n")
        time.sleep(0.1)
        c.close()
        time.sleep(0.7)    # the delay timer fires for a closed connection
        c2 = self.connect(srv)
        c2.login()


class AuthOffLoop(UimapTestCase):
    HARD_TIMEOUT = 90
    _hash = None

    @classmethod
    def slow_hash(cls):
        if cls._hash is None:
            cls._hash = sha512_crypt("slowpass", rounds=SLOW_ROUNDS) or ""
        return cls._hash

    def test_parallel_slow_logins_do_not_block_loop(self):
        h = self.slow_hash()
        if not h:
            self.skipTest("cannot make a $6$ hash with rounds")
        users = {f"u{i}": h for i in range(4)}
        users["alice"] = "{PLAIN}secret"
        srv = self.start_server(users=users)
        other = self.connect(srv)
        other.login()
        logins = [self.connect(srv) for _ in range(4)]
        done = {}

        def run(i, c):
            try:
                _, tagged = c.command(f"L{i}", f"LOGIN u{i} slowpass", timeout=60)
                done[i] = (time.monotonic(), tagged)
            except Exception as e:  # reported below
                done[i] = (time.monotonic(), repr(e))

        t0 = time.monotonic()
        threads = [threading.Thread(target=run, args=(i, c), daemon=True)
                   for i, c in enumerate(logins)]
        for t in threads:
            t.start()
        rtts = []
        while len(done) < 4 and time.monotonic() - t0 < 60:
            t = time.monotonic()
            _, tagged = other.command(f"n{len(rtts)}", "NOOP")
            rtts.append(time.monotonic() - t)
            time.sleep(0.02)
        for t in threads:
            t.join(5)
        self.assertEqual(len(done), 4, "logins did not finish within 60 s")
        for i in range(4):
            self.assertTagged(done[i][1], f"L{i}", "OK")
        slowest = max(d[0] for d in done.values()) - t0
        if slowest < 0.3:
            self.skipTest(f"hashing too fast on this machine ({slowest:.2f}s) to show anything")
        self.assertGreaterEqual(len(rtts), 3, f"only {len(rtts)} NOOPs during {slowest:.2f}s")
        self.assertLess(max(rtts), 1.0,
                        f"a NOOP took {max(rtts):.2f}s while hashing (logins took {slowest:.2f}s)")

    def test_disconnect_while_hashing(self):
        h = self.slow_hash()
        if not h:
            self.skipTest("cannot make a $6$ hash with rounds")
        srv = self.start_server(users={"slow": h, "alice": "{PLAIN}secret"})
        c = self.connect(srv)
        c.send("a LOGIN slow slowpass\r\n")
        time.sleep(0.1)
        c.close()
        # the result arrives for a closed connection; the server keeps working
        time.sleep(1.5)
        c2 = self.connect(srv)
        c2.login()
        _, tagged = c2.command("b", "NOOP")
        self.assertTagged(tagged, "b", "OK")


if __name__ == "__main__":
    unittest.main()
