#!/usr/bin/env python3
"""imapstress: many concurrent simulated IMAP clients against one server, every response
checked against a model of RFC 3501 (plus RFC 2180 practice, UIDPLUS, MOVE, IDLE,
UNSELECT, LITERAL+, CONDSTORE, QRESYNC, ESEARCH, NOTIFY). Every violation is reported with the command it answered.

    python3 tests/stress/imapstress.py --host 127.0.0.1 --port 1430 \\
        --user-prefix u --password pw --users 5 --clients 50 --seconds 20 --seed 1

Exit status 1 when any violation was found, 0 otherwise; the last output line is
"stress: N violations, M commands in T s (R/s)". Stdlib only (Python 3.11).

Structure (see README.md beside this file):
  imapparse.py   the response grammar (one parser per response / FETCH attribute / code)
  World          what all clients share: per-mailbox facts (UIDVALIDITY, a confirmed lower
                 bound of UIDNEXT, UIDs handed out, immutable message data, who is changing
                 which flags right now), the violation log and statistics
  Client         one simulated client: its connection, outstanding commands, and its model
                 of the selected mailbox (count, UID per sequence number, known keywords)
  rules          one function per rule, registered with @untagged_rule (run on each
                 untagged response before the model applies it) or @done_rule (run when a
                 command completes); each returns None or the violation detail(s)
  workload       Client.act_* coroutines, chosen at random
"""

import argparse
import asyncio
import collections
import datetime
import email.utils
import os
import random
import re
import ssl
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from imapparse import (SYSTEM_FLAGS, ParseError, Resp, parse_response,  # noqa: E402
                       show_raw, tagged_status_guess)

INF = float("inf")
KEYWORDS = ["$Label1", "$Label2", "$Label3", "$Label4", "$Label5"]
FLAG_UNIVERSE = SYSTEM_FLAGS | {k.upper() for k in KEYWORDS}   # what FLAGS x replaces
STORE_FLAGS = ["\\Seen", "\\Flagged", "\\Answered", "\\Draft"] + KEYWORDS
SEQ_KINDS = frozenset(["FETCH", "STORE", "SEARCH"])     # RFC 3501 §7.4.1
FETCH_KINDS = frozenset(["FETCH", "UID FETCH"])
STORE_KINDS = frozenset(["STORE", "UID STORE"])
SEARCH_KINDS = frozenset(["SEARCH", "UID SEARCH"])
COPY_KINDS = frozenset(["COPY", "UID COPY", "MOVE", "UID MOVE"])
# NO [EXPUNGEISSUED] that RFC 2180 allows: FETCH (§4.1.2), COPY/MOVE (§4.4)
EXPUNGEISSUED_OK = FETCH_KINDS | COPY_KINDS
FLAG_ONLY_ATTS = frozenset(["FLAGS", "UID", "MODSEQ"])   # what unsolicited FETCHes carry
# the commands meant for polling (RFC 3501 §6.1.2, §6.4.1, RFC 2177): when one completes,
# the server has told about messages expunged before it. (Not UID FETCH/STORE/SEARCH:
# EXPUNGEs are allowed there but Dovecot, for one, keeps them for later.)
POLL_KINDS = frozenset(["NOOP", "CHECK", "IDLE"])


class Abort(Exception):
    """The connection is unusable (closed, timed out): start a new one."""


# ---------------------------------------------------------------- sets

class NumSet:
    """A sequence set or UID set as sent: its text, the intervals it certainly names,
    and whether it has a "*" (whose value the client cannot know for sure)."""

    def __init__(self, text, intervals, star=False):
        self.text = text
        self.intervals = intervals        # [(lo, hi)], hi may be INF for "n:*"
        self.star = star

    def __contains__(self, x):
        return any(lo <= x <= hi for lo, hi in self.intervals)

    def certain(self, upto):
        """The numbers <= upto that the set certainly names."""
        out = set()
        for lo, hi in self.intervals:
            out.update(range(lo, int(min(hi, upto)) + 1))
        return out

    @staticmethod
    def of(nums):
        nums = sorted(set(nums))
        parts, ivs = [], []
        i = 0
        while i < len(nums):
            j = i
            while j + 1 < len(nums) and nums[j + 1] == nums[j] + 1:
                j += 1
            parts.append(str(nums[i]) if i == j else f"{nums[i]}:{nums[j]}")
            ivs.append((nums[i], nums[j]))
            i = j + 1
        return NumSet(",".join(parts), ivs)

    @staticmethod
    def from_star(lo):
        return NumSet(f"{lo}:*", [(lo, INF)], star=True)


# ---------------------------------------------------------------- shared facts

class MsgFacts:
    """What never changes about one message (mailbox, UIDVALIDITY, UID)."""
    __slots__ = ("size", "body", "internaldate", "envelope", "subject_hdr", "origin")

    def __init__(self):
        self.size = self.body = self.internaldate = self.envelope = None
        self.subject_hdr = self.origin = None


class FlagActivity:
    """One flag-changing command (STORE) of some session on a mailbox, with the window
    in which it may have taken effect (World.clock at send .. at completion) and the
    UIDs it may touch (None: unknown, maybe any)."""
    __slots__ = ("sid", "flags", "start", "end", "end_time", "uids", "desc")

    def __init__(self, sid, flags, start, uids):
        self.desc = ""
        self.sid = sid
        self.flags = flags                # set of upper-case flags, or None = all flags
        self.start = start
        self.end = None
        self.end_time = None
        self.uids = uids

    def keys(self):
        return self.flags if self.flags is not None else ("*",)


TRUTH_TTL = 60.0        # seconds a STORE's outcome is used by flags-lost / search-flags
ACTIVITY_TTL = 150.0    # seconds a finished STORE is remembered (> TRUTH_TTL + timeouts)


class BoxFacts:
    def __init__(self, key):
        self.key = key
        self.uidvalidity = None
        self.uidnext_lb = 1               # UIDNEXT is certainly >= this
        self.assigned = {}                # uid -> (Command, "APPENDUID to ...") (who got it)
        self.msgs = {}                    # uid -> MsgFacts
        self.recent_owner = {}            # uid -> sid of the read-write session with \Recent
        # STOREs: those with known UIDs are listed per UID; the others ("1:*", sequence
        # numbers of unknown UIDs) only as per-session, per-flag aggregates
        self.act_by_uid = collections.defaultdict(list)
        self.any_uid = {}                 # sid -> {flag or "*": [last start, last end, n active]}
        self.truth = {}                   # uid -> {flag: (bool, FlagActivity)}
        # CONDSTORE (RFC 7162): a mod-sequence names one state of a message's flags
        self.modseq_flags = {}            # (uidvalidity, uid, modseq) -> (flags, who)
        self.max_modseq = {}              # uidvalidity -> largest MODSEQ any client saw

    def msg(self, uid):
        m = self.msgs.get(uid)
        if m is None:
            m = self.msgs[uid] = MsgFacts()
        return m

    def observe_uid(self, uid):
        if uid + 1 > self.uidnext_lb:
            self.uidnext_lb = uid + 1

    def start_activity(self, sid, flags, clock, uids):
        a = FlagActivity(sid, flags, clock, uids)
        if uids is None:
            st = self.any_uid.setdefault(sid, {})
            for k in a.keys():
                e = st.setdefault(k, [0, 0, 0])
                e[0] = clock
                e[2] += 1
        else:
            now = time.monotonic()
            for u in uids:
                lst = self.act_by_uid[u]
                if lst and lst[0].end_time is not None and now - lst[0].end_time > ACTIVITY_TTL:
                    lst[:] = [x for x in lst
                              if x.end_time is None or now - x.end_time < ACTIVITY_TTL]
                lst.append(a)
        return a

    def end_activity(self, a, clock):
        if a.end is not None:
            return
        a.end = clock
        a.end_time = time.monotonic()
        if a.uids is None:
            st = self.any_uid[a.sid]
            for k in a.keys():
                e = st[k]
                e[1] = max(e[1], clock)
                e[2] -= 1

    def touched_by_others(self, sid, start, end, uid):
        """Flags that other sessions' STOREs may have changed on message uid between
        clock values start and end (end = now): a set, or None meaning any flag."""
        out = set()
        for osid, st in self.any_uid.items():
            if osid == sid:
                continue
            for k, (ls, le, n) in st.items():
                if n > 0 or le >= start or ls >= start:
                    if k == "*":
                        return None
                    out.add(k)
        for a in self.act_by_uid.get(uid, ()):
            if a.sid == sid or a.start > end or (a.end is not None and a.end < start):
                continue
            if a.flags is None:
                return None
            out |= a.flags
        return out

    def record_truth(self, a, uid, values, touched):
        """A STORE (activity a) completed OK: message uid now has flag f iff values[f],
        except flags in touched (changed by others meanwhile)."""
        t = self.truth.setdefault(uid, {})
        for f, v in values.items():
            if touched is None or f in touched:
                t.pop(f, None)
            else:
                t[f] = (v, a)

    def known_flag(self, uid, f, before):
        """(value, activity) when a STORE completed before clock value `before` fixed flag f
        of uid and nothing may have changed it since; else None."""
        e = self.truth.get(uid, {}).get(f)
        if e is None:
            return None
        v, d = e
        if d.end >= before or time.monotonic() - d.end_time > TRUTH_TTL:
            return None
        for a in self.act_by_uid.get(uid, ()):
            if a is not d and a.start > d.end and (a.flags is None or f in a.flags):
                return None
        for st in self.any_uid.values():
            for k in (f, "*"):
                e2 = st.get(k)
                if e2 is not None and (e2[0] > d.end or e2[2] > 0 and e2[0] > d.start):
                    return None
        return e


class Violation:
    __slots__ = ("rule", "client", "cmd", "resp", "detail", "context")

    def __init__(self, rule, client, cmd, resp, detail, context):
        self.rule, self.client, self.cmd, self.resp = rule, client, cmd, resp
        self.detail, self.context = detail, context

    def line(self):
        return (f'VIOLATION [{self.rule}] {self.client} cmd="{self.cmd}" '
                f'resp="{self.resp}": {self.detail}')


class World:
    def __init__(self, args):
        self.args = args
        self.clock = 0
        self.boxes = {}
        self.violations = []
        self.by_rule = collections.Counter()
        self.printed = collections.Counter()
        self.tolerated = collections.Counter()
        self.checked = collections.Counter()      # rule -> evaluations that could fail
        self.notified = collections.Counter()     # NOTIFY responses received, by name
        self.commands = 0
        self.kinds = collections.Counter()
        self.start = time.monotonic()
        self.stop_at = self.start + args.seconds
        self.sessions = 0
        self.connections = 0
        self.trace = open(args.trace, "w") if args.trace else None

    @property
    def stopping(self):
        return time.monotonic() >= self.stop_at

    def tick(self):
        self.clock += 1
        return self.clock

    def box(self, user, name):
        key = (user, "INBOX" if name.upper() == "INBOX" else name)
        b = self.boxes.get(key)
        if b is None:
            b = self.boxes[key] = BoxFacts(key)
        return b

    def report(self, v):
        self.violations.append(v)
        self.by_rule[v.rule] += 1
        if self.args.stop_when and all(self.by_rule[r] for r in self.args.stop_when):
            self.stop_at = min(self.stop_at, time.monotonic())
        if self.printed[v.rule] < self.args.max_report:
            self.printed[v.rule] += 1
            print(v.line(), flush=True)
            if self.args.verbose and v.context:
                for line in v.context:
                    print("    | " + line)


# ---------------------------------------------------------------- commands

class Command:
    def __init__(self, client, tag, text, kind, meta):
        self.client = client
        self.tag = tag
        self.text = text
        self.kind = kind
        self.meta = meta
        self.sent = None                  # World.clock at send
        self.finished = None
        self.done = asyncio.get_running_loop().create_future()
        self.cont = None                  # future for "+" (APPEND literal, IDLE)
        self.status = None
        self.tagged = None                # the tagged Resp
        self.untagged = []                # untagged Resps received while outstanding
        self.fetch_atts = collections.defaultdict(set)   # seq -> att names (FETCH)
        self.fetch_uid_atts = collections.defaultdict(set)  # uid -> att names
        self.store_seen = {}              # key -> flags of the last FETCH while oldest
        self.flags_seen = {}              # Slot -> (flags, nil, Resp): last FETCH FLAGS
        self.unannounced = []             # (Resp, keywords, detail): see flags-unannounced
        self.search = None
        self.esearch = None               # the ESEARCH parts (RETURN given)
        self.copyuid = None
        self.activity = None

    def show(self):
        return f"{self.tag} {self.text}" if self.tag else self.text


# ---------------------------------------------------------------- rules

UNTAGGED_RULES = collections.defaultdict(list)   # response name -> [fn(cl, r, cmd)]
DONE_RULES = collections.defaultdict(list)       # command kind -> [fn(cl, cmd)]
RULE_DOCS = {}


def untagged_rule(rule, names, doc):
    def deco(fn):
        RULE_DOCS[rule] = doc
        fn.rule = rule
        for n in names:
            UNTAGGED_RULES[n].append(fn)
        return fn
    return deco


def done_rule(rule, kinds, doc):
    def deco(fn):
        RULE_DOCS[rule] = doc
        fn.rule = rule
        for k in kinds:
            DONE_RULES[k].append(fn)
        return fn
    return deco


# rules that count their own evaluations (most of their calls decide nothing)
DEEP_RULES = frozenset(["store-result", "flags-lost", "search-flags", "expunge-incomplete",
                        "condstore-modseq-missing", "modseq-decreased", "modseq-flags",
                        "highestmodseq-low", "vanished-seen-again", "qresync-fetch"])

ALL_KINDS = ["LOGIN", "CAPABILITY", "ENABLE", "SELECT", "EXAMINE", "CREATE", "FETCH", "UID FETCH",
             "STORE", "UID STORE", "EXPUNGE", "UID EXPUNGE", "APPEND", "COPY", "UID COPY",
             "MOVE", "UID MOVE", "SEARCH", "UID SEARCH", "NOOP", "CHECK", "STATUS", "IDLE",
             "CLOSE", "UNSELECT", "LOGOUT", "NOTIFY"]
# commands after which the server may still tell about the previously selected mailbox
SELECTION_KINDS = frozenset(["SELECT", "EXAMINE", "CLOSE", "UNSELECT", "LOGOUT"])
NOTIFY_SET = "NOTIFY SET (PERSONAL (MessageNew MessageExpunge MailboxName SubscriptionChange))"
# half of the NOTIFY sessions also have the selected mailbox pushed between commands
# (new messages and flag changes at once, expunges at the next command: RFC 5465 §6.1.2)
NOTIFY_SET_SELECTED = ("NOTIFY SET (SELECTED-DELAYED (MessageNew MessageExpunge FlagChange)) "
                       "(PERSONAL (MessageNew MessageExpunge MailboxName SubscriptionChange))")
MESSAGE_DATA = frozenset(["EXISTS", "RECENT", "FETCH", "EXPUNGE", "VANISHED"])

# rules applied by the reader itself (not per response name)
RULE_DOCS.update({
    "parse": "every response line follows the IMAP response grammar (RFC 3501 §9), "
             "lines end in CRLF, literals are complete",
    "unexpected-tag": "a tagged response carries the tag of an outstanding command",
    "unexpected-continuation": "'+' only while a command waits for one (literal, IDLE)",
    "connection-closed": "the server closes the connection only after LOGOUT (or a BYE)",
    "timeout": "every command is answered within --timeout seconds",
    "greeting": "the greeting is '* OK' (or PREAUTH)",
    "unexpected-response": "SEARCH/STATUS data only in answer to SEARCH/STATUS (or, for "
                           "STATUS, NOTIFY)",
})


@untagged_rule("untagged-bad", ["BAD"], "the server sends '* BAD' only for client errors; "
               "our commands are well-formed (RFC 3501 §7.1.3)")
def r_untagged_bad(cl, r, cmd):
    return "untagged BAD: the server thinks a command was malformed"


@untagged_rule("unexpected-bye", ["BYE"], "'* BYE' only in answer to LOGOUT (the server "
               "is not shutting down, RFC 3501 §7.1.5)")
def r_unexpected_bye(cl, r, cmd):
    if not cl.logout_sent:
        return "BYE while not logging out"


@untagged_rule("logout-reply", ["OK", "NO", "BAD", "EXISTS", "RECENT", "EXPUNGE", "VANISHED",
                                "FETCH",
                                "FLAGS", "SEARCH", "STATUS", "CAPABILITY", "LIST"],
               "the answer to LOGOUT is exactly '* BYE' then the tagged OK (RFC 3501 "
               "§6.1.3); '* BYE' is there")
def r_logout_reply(cl, r, cmd):
    if cmd is not None and cmd.kind == "LOGOUT":
        # RFC 5465: a NOTIFY event may have been sent before the server read the LOGOUT
        if cl.notify and r.name in ("STATUS", "LIST") and not cl.bye_seen:
            return None
        # ... and with the selected mailbox pushed (SELECTED-DELAYED FlagChange), a flag
        # change that defines a new keyword brings FLAGS and OK [PERMANENTFLAGS] first
        # (RFC 3501 §7.2.6; the FETCH after them is tolerated by old_mailbox_push)
        if (cl.notify_selected and not cl.bye_seen and
                (r.name == "FLAGS" or (r.name == "OK" and r.code == "PERMANENTFLAGS"))):
            cl.world.tolerated["NOTIFY FLAGS pushed before the LOGOUT was read"] += 1
            return None
        return f"untagged {r.name} in the answer to LOGOUT"


@untagged_rule("not-selected", ["EXISTS", "RECENT", "EXPUNGE", "FETCH", "VANISHED"],
               "message data only while a mailbox is selected (RFC 3501 §3.3)")
def r_not_selected(cl, r, cmd):
    if not cl.in_mailbox():
        return f"'* {r.num} {r.name}' while no mailbox is selected"


@untagged_rule("vanished", ["VANISHED"], "VANISHED only with QRESYNC enabled; without "
               "EARLIER it names messages the session was told about (it lowers the count "
               "by as many), with EARLIER it answers a QRESYNC SELECT or UID FETCH "
               "(VANISHED) (RFC 7162 §3.2.10, §3.2.5.1, §3.2.6)")
def r_vanished(cl, r, cmd):
    if not cl.qresync:
        return "VANISHED without ENABLE QRESYNC"
    uids = r.data["uids"]
    if r.data["earlier"]:
        if not any(c.meta.get("qr") or c.meta.get("vanished") for c in cl.outstanding):
            return "VANISHED (EARLIER) without a QRESYNC SELECT or UID FETCH (VANISHED)"
        return None
    if cmd is None:
        return "VANISHED while no command is in progress"
    if cmd.kind in SEQ_KINDS:
        return f"VANISHED during {cmd.kind} (sequence numbers)"
    if len(set(uids)) > cl.count:
        return f"VANISHED of {len(set(uids))} UIDs with {cl.count} messages"


@untagged_rule("vanished-seen-again", ["FETCH"], "a UID this session was told VANISHED "
               "never shows up again (UIDs are not reused, RFC 3501 §2.3.1.1)")
def r_vanished_again(cl, r, cmd):
    uid = r.data.get("UID")
    if uid is None or not cl.vanished_uids:
        return None
    cl.world.checked["vanished-seen-again"] += 1
    if uid in cl.vanished_uids:
        return f"UID {uid} after VANISHED told it was gone"


@untagged_rule("qresync-fetch", ["FETCH"], "the FETCHes of a QRESYNC SELECT carry UID, "
               "FLAGS and a MODSEQ above the client's (RFC 7162 §3.2.5.1); afterwards a "
               "message the client knew that changed between its modseq and the SELECT's "
               "HIGHESTMODSEQ was among them")
def r_qresync_fetch(cl, r, cmd):
    sel = cl.selecting
    if sel is not None and sel.meta.get("qr"):
        cl.world.checked["qresync-fetch"] += 1
        d = r.data
        missing = [a for a in ("UID", "FLAGS", "MODSEQ") if a not in d]
        if missing:
            return f"{' '.join(missing)} missing in a QRESYNC SELECT's FETCH"
        if d["MODSEQ"] <= sel.meta["qr"][1]:
            return f"MODSEQ {d['MODSEQ']} not above the client's {sel.meta['qr'][1]}"
        sel.meta["qr_told"].add(d["UID"])
        return None
    chk = cl.qr_check
    uid, ms = r.data.get("UID"), r.data.get("MODSEQ")
    if chk is None or uid is None or ms is None:
        return None
    since, hms, uidnext, told = chk
    if since < ms <= hms and uid < uidnext:
        cl.world.checked["qresync-fetch"] += 1
        if uid not in told:
            return (f"UID {uid} changed at MODSEQ {ms} (between the client's {since} and "
                    f"HIGHESTMODSEQ {hms}) but the QRESYNC SELECT did not tell it")


@untagged_rule("exists-shrink", ["EXISTS"], "EXISTS never makes the mailbox smaller "
               "without EXPUNGEs first (RFC 3501 §5.2, §7.3.1)")
def r_exists_shrink(cl, r, cmd):
    if cl.in_mailbox() and r.num < cl.count:
        return f"EXISTS {r.num} < known message count {cl.count}"


@untagged_rule("expunge-range", ["EXPUNGE"], "'* n EXPUNGE' has 1 <= n <= message count")
def r_expunge_range(cl, r, cmd):
    if cl.in_mailbox() and not 1 <= r.num <= cl.count:
        return f"EXPUNGE {r.num} with {cl.count} messages"


@untagged_rule("expunge-forbidden", ["EXPUNGE"], "no EXPUNGE while a FETCH, STORE or SEARCH "
               "by sequence number is in progress, nor when no command is (RFC 3501 "
               "§7.4.1, §5.5)")
def r_expunge_forbidden(cl, r, cmd):
    if cmd is None:
        return "EXPUNGE while no command is in progress"
    if cmd.kind in SEQ_KINDS:
        return f"EXPUNGE during {cmd.kind} (sequence numbers)"


@untagged_rule("fetch-range", ["FETCH"], "'* n FETCH' has 1 <= n <= message count "
               "(RFC 3501 §5.2, §7.4.2)")
def r_fetch_range(cl, r, cmd):
    if cl.in_mailbox() and not 1 <= r.num <= cl.count:
        return f"FETCH for message {r.num} with {cl.count} messages"


def _fetch_slot(cl, r):
    if cl.in_mailbox() and 1 <= r.num <= cl.count:
        return cl.slots[r.num - 1]
    return None


@untagged_rule("uid-changed", ["FETCH"], "a message's UID never changes (RFC 3501 §2.3.1.1)")
def r_uid_changed(cl, r, cmd):
    s = _fetch_slot(cl, r)
    uid = r.data.get("UID")
    if s is not None and uid is not None and s.uid is not None and s.uid != uid:
        return f"message {r.num} had UID {s.uid}, now UID {uid}"


@untagged_rule("uid-order", ["FETCH"], "UIDs strictly ascend with sequence numbers "
               "(RFC 3501 §2.3.1.1)")
def r_uid_order(cl, r, cmd):
    s = _fetch_slot(cl, r)
    uid = r.data.get("UID")
    if s is None or uid is None or (s.uid is not None and s.uid != uid):
        return None
    i = r.num - 1
    for j in range(i - 1, -1, -1):
        u = cl.slots[j].uid
        if u is not None:
            if u >= uid:
                return f"message {r.num} UID {uid} <= UID {u} of message {j + 1}"
            break
    for j in range(i + 1, cl.count):
        u = cl.slots[j].uid
        if u is not None:
            if u <= uid:
                return f"message {r.num} UID {uid} >= UID {u} of message {j + 1}"
            break


def _fetch_uid(cl, r):
    uid = r.data.get("UID")
    if uid is None and cl.in_mailbox() and 1 <= r.num <= cl.count:
        uid = cl.slots[r.num - 1].uid
    return uid


@untagged_rule("condstore-modseq-missing", ["FETCH"], "once CONDSTORE is enabled, FETCH "
               "responses with FLAGS that no FETCH asked for carry MODSEQ, and with QRESYNC "
               "the UID too (RFC 7162 §3.1, §3.2)")
def r_condstore_missing(cl, r, cmd):
    if not cl.condstore or "FLAGS" not in r.data:
        return None
    if any(c.kind in FETCH_KINDS for c in cl.outstanding):
        return None
    cl.world.checked["condstore-modseq-missing"] += 1
    # MODSEQ once CONDSTORE is on; UID too once QRESYNC is (Dovecot, the reference,
    # sends flag FETCHes without UID to a CONDSTORE-only session; uimapd sends both)
    missing = [a for a in (("UID", "MODSEQ") if cl.qresync else ("MODSEQ",))
               if a not in r.data]
    if missing:
        return f"{' and '.join(missing)} missing from a flag change after CONDSTORE"


@untagged_rule("modseq-decreased", ["FETCH"], "a message's MODSEQ never goes down "
               "(RFC 7162 §3.1.1)")
def r_modseq_decreased(cl, r, cmd):
    ms = r.data.get("MODSEQ")
    uid = _fetch_uid(cl, r)
    if ms is None or uid is None or cl.selected is None:
        return None
    last = cl.modseq_seen.get(uid)
    cl.modseq_seen[uid] = ms if last is None else max(last, ms)
    if last is not None:
        cl.world.checked["modseq-decreased"] += 1
    if last is not None and ms < last:
        return f"UID {uid} MODSEQ {ms} after {last}"


@untagged_rule("modseq-flags", ["FETCH"], "one MODSEQ of a message means one set of "
               "flags, in every session (RFC 7162 §3.1: the mod-sequence changes with "
               "every flag change)")
def r_modseq_flags(cl, r, cmd):
    ms, flags = r.data.get("MODSEQ"), r.data.get("FLAGS")
    uid = _fetch_uid(cl, r)
    box = cl.box_facts
    if ms is None or uid is None or box is None or cl.uidvalidity is None or \
            cl.uidvalidity != box.uidvalidity:
        return None
    mx = box.max_modseq.get(cl.uidvalidity, 0)
    if ms > mx:
        box.max_modseq[cl.uidvalidity] = ms
    if flags is None or nil_fetch(r.data):
        return None
    fs = frozenset(f.upper() for f in flags) - {"\\RECENT"}
    key = (cl.uidvalidity, uid, ms)
    prev = box.modseq_flags.get(key)
    if prev is None:
        box.modseq_flags[key] = (fs, cl.name)
        return None
    cl.world.checked["modseq-flags"] += 1
    if prev[0] != fs:
        return (f"UID {uid} MODSEQ {ms} with FLAGS {sorted(fs)}, but {prev[1]} saw "
                f"{sorted(prev[0])} at the same MODSEQ")


@untagged_rule("uid-vs-uidnext", ["FETCH"], "messages present at SELECT have UIDs < the "
               "UIDNEXT it announced; messages announced later have UIDs >= it "
               "(RFC 3501 §2.3.1.1)")
def r_uid_vs_uidnext(cl, r, cmd):
    s = _fetch_slot(cl, r)
    uid = r.data.get("UID")
    if s is None or uid is None or cl.sel_uidnext is None or s.uid is not None or \
            s.new is None:
        return None
    if s.new and uid < cl.sel_uidnext:
        return f"new message {r.num} has UID {uid} < UIDNEXT {cl.sel_uidnext} of SELECT"
    if not s.new and uid >= cl.sel_uidnext:
        return (f"message {r.num} present at SELECT has UID {uid} >= UIDNEXT "
                f"{cl.sel_uidnext} announced then")


@untagged_rule("flags-unannounced", ["FETCH"], "FETCH FLAGS hold only system flags and "
               "keywords of the last '* FLAGS' before them (RFC 3501 §7.2.6, §2.3.2); the "
               "detail tells whether a later '* FLAGS' of the same response lists them")
def r_flags_unannounced(cl, r, cmd):
    flags = r.data.get("FLAGS")
    if flags is None or cl.flags is None or not cl.in_mailbox():
        return None
    bad = [f for f in flags if f.upper() not in SYSTEM_FLAGS and f.upper() != "\\RECENT"
           and f.upper() not in cl.flags]
    if not bad:
        return None
    detail = f"flags {' '.join(bad)} not in the last FLAGS response"
    if cmd is None:
        return detail
    # judged when the command completes: was the keyword announced afterwards?
    cmd.unannounced.append((r, bad, detail))


@untagged_rule("recent-flag", ["FETCH"], "\\Recent: at most one read-write session sees "
               "it on a message (RFC 3501 §2.3.2). (Not checked: that a session never sees "
               "\\Recent appear on a message it saw without it: Dovecot does that when a new "
               "message is fetched in the command that syncs it)")
def r_recent(cl, r, cmd):
    s = _fetch_slot(cl, r)
    flags = r.data.get("FLAGS")
    if s is None or flags is None:
        return None
    recent = any(f.upper() == "\\RECENT" for f in flags)
    out = []
    uid = r.data.get("UID", s.uid)
    if recent and uid is not None and not cl.readonly and cl.box_facts is not None:
        owner = cl.box_facts.recent_owner.get(uid)
        if owner is not None and owner != cl.sid:
            out.append(f"UID {uid} has \\Recent in two read-write sessions "
                       f"({owner} and {cl.sid})")
    return out


@untagged_rule("fetch-unrequested", ["FETCH"], "FETCH data other than FLAGS/UID only for "
               "messages and items that an outstanding FETCH asked for")
def r_fetch_unrequested(cl, r, cmd):
    s = _fetch_slot(cl, r)
    if s is None:
        return None
    extra = [a for a in r.data if a not in FLAG_ONLY_ATTS]
    if not extra:
        return None
    uid = r.data.get("UID", s.uid)
    for c in cl.outstanding:
        if c.kind not in FETCH_KINDS:
            continue
        want = c.meta["atts"]
        if not all(a in want for a in extra):
            continue
        ns = c.meta["set"]
        if c.kind == "FETCH" and r.num in ns:
            return None
        if c.kind == "UID FETCH" and (ns.star or uid is None or uid in ns):
            return None
    return f"{' '.join(extra)} for message {r.num} that no outstanding FETCH requested"


def nil_fetch(d):
    """RFC 2180 §4.1.3: a server may answer a FETCH of a message that another session
    expunged with "NIL FETCH responses" (Dovecot: BODY[] NIL, RFC822.SIZE 0). Our
    messages are never empty and never dated 1970, so NIL / 0 data marks such a
    response (Dovecot also sends INTERNALDATE "01-Jan-1970 00:00:00 +0000")."""
    return any(v is None for a, v in d.items() if a.startswith("BODY[")) or \
        d.get("RFC822.SIZE") == 0 or d.get("INTERNALDATE") == 0 or \
        ("ENVELOPE" in d and d["ENVELOPE"][0] is None and d["ENVELOPE"][1] is None)


def _envelope_expect(body):
    hdr = body.split(b"\r\n\r\n", 1)[0]
    out = {}
    for line in hdr.split(b"\r\n"):
        k, _, v = line.partition(b":")
        out[k.strip().upper()] = v.strip()
    return out


@untagged_rule("content-mismatch", ["FETCH"], "message data never changes: RFC822.SIZE, "
               "BODY[], INTERNALDATE, ENVELOPE, header fields agree with what was "
               "APPENDed / COPYed and with every earlier FETCH (RFC 3501 §2.3)")
def r_content(cl, r, cmd):
    s = _fetch_slot(cl, r)
    if s is None or cl.box_facts is None:
        return None
    uid = r.data.get("UID", s.uid)
    if uid is None or cl.uidvalidity != cl.box_facts.uidvalidity:
        return None
    m = cl.box_facts.msgs.get(uid)
    if m is None or nil_fetch(r.data):
        return None
    out = []
    where = f"UID {uid}" + (f" ({m.origin})" if m.origin else "")
    d = r.data
    if "RFC822.SIZE" in d and m.size is not None and d["RFC822.SIZE"] != m.size:
        out.append(f"{where}: RFC822.SIZE {d['RFC822.SIZE']} != {m.size}")
    if "BODY[]" in d:
        b = d["BODY[]"] or b""
        if m.body is not None and b != m.body:
            out.append(f"{where}: BODY[] differs ({len(b)} bytes vs {len(m.body)})")
        elif m.size is not None and len(b) != m.size:
            out.append(f"{where}: BODY[] is {len(b)} bytes, RFC822.SIZE {m.size}")
    for a, v in d.items():
        mm = re.match(r"^BODY\[\]<([0-9]+)>$", a)
        if mm and m.body is not None:
            o = int(mm.group(1))
            v = v or b""
            wants = [m.body[o:o + n] for n in cl.partial_lens(a)] or [m.body[o:]]
            if v not in wants:
                out.append(f"{where}: {a} is {v[:30]!r}... ({len(v)} bytes), expected "
                           f"{wants[0][:30]!r}... ({'/'.join(str(len(w)) for w in wants)} "
                           "bytes)")
    if "INTERNALDATE" in d and m.internaldate is not None and \
            d["INTERNALDATE"] != m.internaldate:
        out.append(f"{where}: INTERNALDATE {d['INTERNALDATE']} != {m.internaldate} "
                   "(seconds since the epoch)")
    if "ENVELOPE" in d:
        e = d["ENVELOPE"]
        if m.envelope is not None and e != m.envelope:
            out.append(f"{where}: ENVELOPE changed")
        elif m.body is not None:
            h = _envelope_expect(m.body)
            if e[1] != h.get(b"SUBJECT") or e[4] != h.get(b"MESSAGE-ID") or \
                    e[0] != h.get(b"DATE"):
                out.append(f"{where}: ENVELOPE date/subject/message-id "
                           f"{(e[0], e[1], e[4])!r} do not match the message")
    hf = "BODY[HEADER.FIELDS (SUBJECT)]"
    if hf in d:
        v = d[hf]
        if m.subject_hdr is not None and v != m.subject_hdr:
            out.append(f"{where}: {hf} {v!r} != {m.subject_hdr!r}")
        elif m.body is not None:
            want = b"Subject: " + _envelope_expect(m.body)[b"SUBJECT"] + b"\r\n\r\n"
            if v != want:
                out.append(f"{where}: {hf} {v!r} != {want!r}")
    return out


@untagged_rule("flags-system", ["FLAGS"], "'* FLAGS' lists at least the system flags "
               "(RFC 3501 §7.2.6)")
def r_flags_system(cl, r, cmd):
    have = {f.upper() for f in r.data}
    missing = SYSTEM_FLAGS - have
    if missing:
        return f"FLAGS lacks {' '.join(sorted(missing))}"


def _search_cmd(cl):
    for c in cl.outstanding:
        if c.kind in SEARCH_KINDS and c.search is None and c.esearch is None:
            return c
    return None


@untagged_rule("unexpected-response", ["SEARCH", "ESEARCH"], "SEARCH data only for a SEARCH "
               "command; ESEARCH only for one with RETURN, and with its tag (RFC 4731 §3.1)")
def r_search_unexpected(cl, r, cmd):
    c = _search_cmd(cl)
    if c is None:
        return f"'* {r.name}' with no SEARCH outstanding"
    ret = c.meta.get("ret")
    if r.name == "SEARCH" and ret is not None:
        return "'* SEARCH' for a SEARCH with RETURN (ESEARCH expected)"
    if r.name == "ESEARCH":
        if ret is None:
            return "'* ESEARCH' for a SEARCH without RETURN"
        if r.code_args["TAG"] != c.tag:
            return f"ESEARCH (TAG {r.code_args['TAG']!r}) for command {c.tag}"


@untagged_rule("esearch-result", ["ESEARCH"], "ESEARCH returns what was asked and agrees "
               "with itself: UID for UID SEARCH, COUNT = the number of ALL, MIN/MAX its "
               "ends, no MIN/MAX/ALL when nothing matched (RFC 4731 §3.1)")
def r_esearch_result(cl, r, cmd):
    c = _search_cmd(cl)
    if c is None or c.meta.get("ret") is None:
        return None
    a, ret = r.code_args, c.meta["ret"]
    out = []
    if a["UID"] != (c.kind == "UID SEARCH"):
        out.append(f"UID indicator {'present' if a['UID'] else 'missing'}")
    for k in ("MIN", "MAX", "COUNT", "ALL"):
        if k in a and k not in ret:
            out.append(f"{k} not asked for")
    if "COUNT" in ret and "COUNT" not in a:
        out.append("COUNT missing")
    count = a.get("COUNT")
    if count == 0 and any(k in a for k in ("MIN", "MAX", "ALL")):
        out.append("MIN/MAX/ALL with COUNT 0")
    if count is not None and count > 0:
        for k in ("MIN", "MAX", "ALL"):
            if k in ret and k not in a:
                out.append(f"{k} missing with COUNT {count}")
    if "ALL" in a:
        nums = a["ALL"]
        if count is not None and count != len(set(nums)):
            out.append(f"COUNT {count} != {len(set(nums))} numbers in ALL")
        if "MIN" in a and a["MIN"] != min(nums):
            out.append(f"MIN {a['MIN']} != smallest of ALL {min(nums)}")
        if "MAX" in a and a["MAX"] != max(nums):
            out.append(f"MAX {a['MAX']} != largest of ALL {max(nums)}")
    if "MIN" in a and "MAX" in a and a["MIN"] > a["MAX"]:
        out.append(f"MIN {a['MIN']} > MAX {a['MAX']}")
    if "PARTIAL" in ret:
        # RFC 9394: the page asked for, as many results as the positions hold
        if "PARTIAL" not in a:
            out.append("PARTIAL missing")
        else:
            rng, nums = a["PARTIAL"]
            if rng != c.meta["partial"]:
                out.append(f"PARTIAL range {rng} for {c.meta['partial']}")
            lo, hi = sorted(abs(int(x)) for x in rng.split(":"))
            got = len(set(nums or ()))
            if got > hi - lo + 1:
                out.append(f"PARTIAL {rng} returned {got} results")
            if count is not None:
                want = max(0, min(hi, count) - lo + 1)
                if got != want:
                    out.append(f"PARTIAL {rng} returned {got} of COUNT {count} (want {want})")
            if nums is not None and nums != sorted(nums):
                out.append("PARTIAL results out of order")
    return out or None


@untagged_rule("search-range", ["SEARCH", "ESEARCH"], "SEARCH results are sequence numbers "
               "1..message count (RFC 3501 §7.2.5)")
def r_search_range(cl, r, cmd):
    c = _search_cmd(cl)
    if c is None or c.kind != "SEARCH":
        return None
    bad = [n for n in r.data if not 1 <= n <= cl.count]
    if bad:
        return f"SEARCH results {bad[:10]} outside 1..{cl.count}"


@untagged_rule("search-uid-unknown", ["SEARCH", "ESEARCH"], "UID SEARCH results are UIDs of messages "
               "in the session's view: none between two known adjacent UIDs, none above "
               "the UID of the last message (RFC 3501 §7.2.5, §5.2)")
def r_search_uid_unknown(cl, r, cmd):
    c = _search_cmd(cl)
    if c is None or c.kind != "UID SEARCH":
        return None
    known = {s.uid for s in cl.slots if s.uid is not None}
    bad = []
    for u in r.data:
        if u in known:
            continue
        if cl.count == 0:
            bad.append(u)
            continue
        last = cl.slots[cl.count - 1].uid
        if last is not None and u > last:
            bad.append(u)
            continue
        if cl.slots[0].uid is not None and u < cl.slots[0].uid:
            bad.append(u)
            continue
        for i in range(cl.count - 1):
            a, b = cl.slots[i].uid, cl.slots[i + 1].uid
            if a is not None and b is not None and a < u < b:
                bad.append(u)
                break
    if bad:
        return (f"UIDs {bad[:10]} are not in the session's view ({cl.count} messages, "
                f"last UID {cl.slots[-1].uid if cl.slots else None})")


@untagged_rule("search-out-of-set", ["SEARCH", "ESEARCH"], "SEARCH with a sequence set or UID range "
               "criterion returns only messages in it")
def r_search_out_of_set(cl, r, cmd):
    c = _search_cmd(cl)
    if c is None:
        return None
    bad = []
    seqset, uidset = c.meta.get("seqset"), c.meta.get("uidset")
    for n in r.data:
        if c.kind == "SEARCH":
            if seqset is not None and n not in seqset:
                bad.append(n)
            if uidset is not None and not uidset.star and 1 <= n <= cl.count:
                u = cl.slots[n - 1].uid
                if u is not None and u not in uidset:
                    bad.append(n)
        else:
            if uidset is not None and not uidset.star and n not in uidset:
                bad.append(n)
    if bad:
        return f"results {bad[:10]} outside the searched set"


def _status_cmd(cl):
    for c in cl.outstanding:
        if c.kind == "STATUS":
            return c
    return None


@untagged_rule("status-response", ["STATUS"], "STATUS data names the mailbox asked for; "
               "UNSEEN, RECENT <= MESSAGES; UIDVALIDITY unchanged; UIDNEXT not below what "
               "was certainly known before the command (RFC 3501 §7.2.4, §2.3.1.1)")
def r_status(cl, r, cmd):
    c = _status_cmd(cl)
    mbox, items = r.data
    name = mbox.decode("latin-1")
    if c is None or (cl.notify and not _same_box(name, c.meta["box"])):
        return _notify_status(cl, name, items)
    want = c.meta["box"]
    if name != want and not (name.upper() == "INBOX" and want.upper() == "INBOX"):
        return f"STATUS for {name!r}, asked for {want!r}"
    out = []
    msgs = items.get("MESSAGES")
    for k in ("UNSEEN", "RECENT"):
        if msgs is not None and items.get(k, 0) > msgs:
            out.append(f"{k} {items[k]} > MESSAGES {msgs}")
    box = cl.world.box(cl.user, want)
    uv = items.get("UIDVALIDITY") or None   # Dovecot: 0 for a mailbox never selected
    if uv is not None and box.uidvalidity is not None and uv != box.uidvalidity:
        out.append(f"UIDVALIDITY {uv} != {box.uidvalidity} seen before (mailbox never "
                   "deleted)")
    elif "UIDNEXT" in items and items["UIDNEXT"] < c.meta["lb"]:
        out.append(f"UIDNEXT {items['UIDNEXT']} < {c.meta['lb']}, known before the "
                   f"command ({c.meta['lb_why']})")
    return out


def _same_box(a, b):
    return a == b or (a.upper() == "INBOX" and b.upper() == "INBOX")


def _notify_status(cl, name, items):
    """An unsolicited STATUS (RFC 5465 §5.2, §5.3: another session added or expunged
    messages in a mailbox the NOTIFY setting watches)."""
    if not cl.notify:
        return f"STATUS for {name!r} without a STATUS command or NOTIFY"
    out = []
    if not any(_same_box(name, b) for b in ["INBOX"] + list(cl.mailboxes)):
        out.append(f"STATUS for {name!r}, a mailbox no client changes")
    msgs = items.get("MESSAGES")
    if msgs is None or "UIDNEXT" not in items:
        out.append("a NOTIFY STATUS without MESSAGES and UIDNEXT (RFC 5465 §5.2)")
    if msgs is not None and items.get("UNSEEN", 0) > msgs:
        out.append(f"UNSEEN {items['UNSEEN']} > MESSAGES {msgs}")
    key = "INBOX" if name.upper() == "INBOX" else name
    box = cl.world.box(cl.user, key)
    uv = items.get("UIDVALIDITY") or None
    if uv is not None and box.uidvalidity is not None and uv != box.uidvalidity:
        out.append(f"UIDVALIDITY {uv} != {box.uidvalidity} seen before")
    last = cl.notify_uidnext.get(key)
    if "UIDNEXT" in items and last is not None and items["UIDNEXT"] < last:
        out.append(f"UIDNEXT {items['UIDNEXT']} after {last} in an earlier notification")
    # §3.1: the selected mailbox's events follow SELECTED (none asked for here)
    if cl.selected is not None and _same_box(cl.selected, name) and \
            not any(c.kind in SELECTION_KINDS for c in cl.outstanding):
        out.append(f"STATUS for the selected mailbox {name!r} (RFC 5465 §3.1)")
    return out


@untagged_rule("notify-list", ["LIST"], "LIST data only from NOTIFY MailboxName or "
               "SubscriptionChange after a mailbox was created, deleted, renamed or "
               "(un)subscribed (none is during the run: RFC 5465 §5.4, §5.5)")
def r_notify_list(cl, r, cmd):
    flags, delim, mbox, ext = r.data
    name = mbox.decode("latin-1")
    if not cl.notify:
        return f"LIST for {name!r} without a LIST command or NOTIFY"
    return f"LIST for {name!r} though no mailbox name or subscription changed"


# ---- done rules (run after the tagged response was applied)

@done_rule("tagged-bad", ALL_KINDS, "our commands are well-formed: never a tagged BAD")
def d_tagged_bad(cl, cmd):
    if cmd.status == "BAD":
        return f"BAD: {cmd.tagged.text.decode('latin-1')}"


@done_rule("tagged-no", ALL_KINDS, "commands that must succeed are not refused: LOGIN with "
           "the right password, SELECT/EXAMINE/STATUS/APPEND/COPY of existing mailboxes, "
           "FETCH, SEARCH, EXPUNGE, NOOP, ... (NO [EXPUNGEISSUED] to FETCH/COPY/MOVE is "
           "tolerated: RFC 2180 §4.1.2, §4.4)")
def d_tagged_no(cl, cmd):
    if cmd.status != "NO" or cmd.kind == "CREATE" or cmd.kind in STORE_KINDS:
        return None
    if cmd.tagged.code == "EXPUNGEISSUED" and cmd.kind in EXPUNGEISSUED_OK:
        cl.world.tolerated[f"{cmd.kind} NO [EXPUNGEISSUED]"] += 1
        return None
    return f"NO: {show_raw(cmd.tagged.raw)}"


@done_rule("store-no", ["STORE", "UID STORE"], "STORE is not refused, also when another "
           "session expunged some of the messages: RFC 2180 §4.2.1 (.SILENT: SHOULD OK) and "
           "Dovecot answers OK (note: §4.2.2 allows NO for a non-silent STORE of only "
           "expunged messages)")
def d_store_no(cl, cmd):
    if cmd.status == "NO":
        silent = "(.SILENT)" if cmd.meta.get("silent") else "(not .SILENT)"
        return f"NO {silent}: {show_raw(cmd.tagged.raw)}"


@done_rule("select-missing", ["SELECT", "EXAMINE"], "SELECT/EXAMINE send FLAGS, EXISTS, "
           "RECENT, OK [UIDVALIDITY], OK [UIDNEXT], OK [PERMANENTFLAGS] (RFC 3501 §6.3.1)")
def d_select_missing(cl, cmd):
    if cmd.status != "OK":
        return None
    missing = [k for k in ("FLAGS", "EXISTS", "RECENT", "UIDVALIDITY", "UIDNEXT",
                           "PERMANENTFLAGS") if k not in cmd.meta["seen"]]
    if missing:
        return f"{cmd.kind} OK without {', '.join(missing)}"


@done_rule("examine-readonly", ["EXAMINE"], "EXAMINE's tagged OK starts with [READ-ONLY] "
           "(RFC 3501 §6.3.2)")
def d_examine_readonly(cl, cmd):
    if cmd.status == "OK" and cmd.tagged.code != "READ-ONLY":
        return "EXAMINE OK without [READ-ONLY]"


@done_rule("uidvalidity-changed", ["SELECT", "EXAMINE"], "UIDVALIDITY of a mailbox never "
           "changes (no mailbox is ever deleted here; RFC 3501 §2.3.1.1)")
def d_uidvalidity(cl, cmd):
    if cmd.status == "OK" and cmd.meta.get("uv_before") is not None and \
            cl.uidvalidity is not None and cl.uidvalidity != cmd.meta["uv_before"]:
        return f"UIDVALIDITY {cl.uidvalidity} != {cmd.meta['uv_before']} seen before"


@done_rule("uidnext-decreased", ["SELECT", "EXAMINE"], "UIDNEXT at SELECT is not below a "
           "UIDNEXT/UID/APPENDUID/COPYUID any client saw before the command was sent "
           "(RFC 3501 §2.3.1.1)")
def d_uidnext(cl, cmd):
    if cmd.status != "OK" or cl.sel_uidnext is None or \
            cl.uidvalidity != cmd.meta.get("uv_before", cl.uidvalidity):
        return None
    if cl.sel_uidnext < cmd.meta["lb"]:
        return (f"UIDNEXT {cl.sel_uidnext} < {cmd.meta['lb']}, known before the command "
                f"({cmd.meta['lb_why']})")


@done_rule("highestmodseq-low", ["SELECT", "EXAMINE"], "HIGHESTMODSEQ at SELECT is not "
           "below a MODSEQ any client saw before the command was sent (RFC 7162 §3.1.2.1)")
def d_highestmodseq(cl, cmd):
    if cmd.status != "OK" or cl.sel_hms is None or \
            cl.uidvalidity != cmd.meta.get("uv_before", cl.uidvalidity):
        return None
    cl.world.checked["highestmodseq-low"] += 1
    if cl.sel_hms < cmd.meta.get("hms_lb", 0):
        return (f"HIGHESTMODSEQ {cl.sel_hms} < MODSEQ {cmd.meta['hms_lb']} seen before "
                f"the command")


def _check_assigned(cl, cmd, box, uids, what):
    out = []
    for u in uids:
        if u < cmd.meta["lb"]:
            out.append(f"{what} UID {u} < {cmd.meta['lb']}, the UIDNEXT certainly known "
                       f"before the command ({cmd.meta['lb_why']})")
        prev = box.assigned.get(u)
        if prev is not None and prev[0] is not cmd:
            out.append(f"{what} UID {u} was already handed out: {prev[1]}")
    return out


@done_rule("appenduid", ["APPEND"], "APPEND OK carries a well-formed [APPENDUID uidvalidity "
           "uid] (UIDPLUS, RFC 4315) with the mailbox's UIDVALIDITY and a fresh UID not "
           "below the UIDNEXT known before")
def d_appenduid(cl, cmd):
    if cmd.status != "OK" or "UIDPLUS" not in cl.caps:
        return None
    t = cmd.tagged
    if t.code != "APPENDUID":
        return "APPEND OK without [APPENDUID] although UIDPLUS is advertised"
    uv, uids = t.code_args
    if len(uids) != 1:
        return f"APPENDUID for one message names {len(uids)} UIDs"
    box = cl.world.box(cl.user, cmd.meta["box"])
    if box.uidvalidity is not None and uv != box.uidvalidity:
        return f"APPENDUID UIDVALIDITY {uv} != {box.uidvalidity}"
    return _check_assigned(cl, cmd, box, uids, "APPENDUID")


@done_rule("copyuid", ["COPY", "UID COPY", "MOVE", "UID MOVE"], "COPY/MOVE OK carries a "
           "well-formed [COPYUID uidvalidity src dst] (RFC 4315, RFC 6851): as many source "
           "as destination UIDs, sources among those asked for, fresh destination UIDs")
def d_copyuid(cl, cmd):
    if cmd.status != "OK" or "UIDPLUS" not in cl.caps:
        return None
    if cmd.copyuid is None:
        if cmd.meta.get("maybe_empty"):
            return None     # every message may have been expunged by others: no COPYUID
        return f"{cmd.kind} OK without [COPYUID] although UIDPLUS is advertised"
    uv, src, dst = cmd.copyuid
    out = []
    if len(src) != len(dst):
        out.append(f"COPYUID names {len(src)} source and {len(dst)} destination UIDs")
    box = cl.world.box(cl.user, cmd.meta["box"])
    if box.uidvalidity is not None and uv != box.uidvalidity:
        out.append(f"COPYUID UIDVALIDITY {uv} != {box.uidvalidity}")
        return out
    asked = cmd.meta.get("src_uids")
    if asked is not None:
        extra = [u for u in src if u not in asked]
        if extra:
            out.append(f"COPYUID source UIDs {extra[:10]} were not asked for")
    out += _check_assigned(cl, cmd, box, dst, "COPYUID")
    return out


@done_rule("store-result", ["STORE", "UID STORE"], "after a STORE (not .SILENT) the FETCH "
           "FLAGS it returns agree with it: FLAGS x -> exactly x (+\\Recent), +FLAGS x -> "
           "has x, -FLAGS x -> lacks x; flags another session changed meanwhile excepted "
           "(RFC 3501 §6.4.6). Judged when the next NOOP, CHECK or IDLE has "
           "completed: a message expunged by then may have been expunged by another "
           "session before the STORE (RFC 2180 §4.2), and is not judged")
def d_store_result(cl, cmd):
    if cmd.status != "OK" or cmd.meta["silent"] or cl.box_facts is not cmd.meta["act_box"]:
        return None
    mode, want = cmd.meta["mode"], cmd.meta["flags"]
    perm = cl.permanent
    # only messages the client knew when it sent the STORE: a message announced during
    # it (an APPEND by another session while a long STORE ran in slices) may have
    # arrived after the STORE took its set, and a FETCH of it in the STORE's response
    # is an unsolicited update, not the STORE's result (seen with UID STORE 1:*)
    known = {id(x) for x in cmd.meta["slots_at_send"]}
    for key, (flags, slot, nil, line) in cmd.store_seen.items():
        if key not in cmd.meta["set"] or nil or slot.uid is None or id(slot) not in known:
            continue
        touched = cl.box_facts.touched_by_others(cl.sid, cmd.sent, cmd.finished, slot.uid)
        if touched is None:
            continue
        have = {f.upper() for f in flags} - {"\\RECENT"}
        out = []
        cl.world.checked["store-result"] += 1
        what = f"{'UID' if cmd.kind == 'UID STORE' else 'message'} {key}"
        if mode in ("+", ""):
            miss = [f for f in want if f not in have and f not in touched and perm(f)]
            if miss:
                out.append(f"{what}: FLAGS ({' '.join(sorted(have))}) lacks "
                           f"{' '.join(miss)}")
        if mode == "-":
            extra = [f for f in want if f in have and f not in touched]
            if extra:
                out.append(f"{what}: FLAGS ({' '.join(sorted(have))}) still has "
                           f"{' '.join(extra)}")
        if mode == "":
            extra = [f for f in have if f not in want and f not in touched]
            if extra:
                out.append(f"{what}: FLAGS ({' '.join(sorted(have))}) has "
                           f"{' '.join(extra)} after FLAGS replace")
        if out and os.environ.get("IMAPSTRESS_DEBUG"):
            acts = [f"{a.desc} [{a.start}..{a.end}]"
                    for a in cl.box_facts.act_by_uid.get(slot.uid, ()) if a.sid != cl.sid]
            out = [o + f" (window {cmd.sent}..{cmd.finished}; others on this UID: "
                   f"{'; '.join(acts) or 'none'}; any-UID: "
                   f"{ {k: v for k, v in cl.box_facts.any_uid.items() if k != cl.sid} })"
                   for o in out]
        for detail in out:
            cl.pending.append((d_store_result.rule, cmd, line, detail, slot, cmd.finished))


@done_rule("fetch-missing", ["FETCH", "UID FETCH"], "a FETCH answered OK returns every "
           "requested item for every requested message in the session's view "
           "(RFC 3501 §6.4.5)")
def d_fetch_missing(cl, cmd):
    if cmd.status != "OK" or not cl.in_mailbox():
        return None
    want = cmd.meta["atts"]
    out = []
    if cmd.kind == "FETCH":
        for n in sorted(cmd.meta["set"].certain(cmd.meta["count"])):
            got = cmd.fetch_atts.get(n, set())
            miss = [a for a in want if a not in got]
            if miss:
                out.append(f"message {n}: no {' '.join(miss)}")
    else:
        present = {s.uid for s in cl.slots if s.uid is not None}
        for u in sorted(cmd.meta["uids_at_send"]):
            if u not in cmd.meta["set"] or u not in present:
                continue
            got = cmd.fetch_uid_atts.get(u, set())
            miss = [a for a in want if a not in got]
            if miss:
                out.append(f"UID {u}: no {' '.join(miss)}")
    if len(out) > 3:
        out = out[:3] + [f"... and {len(out) - 3} more"]
    return ["; ".join(out)] if out else None


@done_rule("flags-lost", ["FETCH", "UID FETCH"], "FETCH FLAGS show the effect of every "
           "STORE (of any session) that completed before the FETCH was sent, unless some "
           "STORE may have changed that flag of that message since (RFC 3501 §6.4.6, "
           "§7.4.2). Judged like store-result (at the next NOOP/CHECK/IDLE)")
def d_flags_lost(cl, cmd):
    if cmd.status != "OK" or "FLAGS" not in cmd.meta["atts"] or cl.box_facts is None:
        return None
    box = cl.box_facts
    for slot, (flags, nil, r) in cmd.flags_seen.items():
        if nil or slot.uid is None:
            continue
        have = {f.upper() for f in flags}
        bad = []
        for f in FLAG_UNIVERSE:
            e = box.known_flag(slot.uid, f, cmd.sent)
            if e is not None:
                cl.world.checked["flags-lost"] += 1
            if e is not None and (f in have) != e[0]:
                bad.append(f"{'lacks' if e[0] else 'still has'} {f} after "
                           f"'{e[1].desc}' completed")
        if bad:
            cl.pending.append((d_flags_lost.rule, cmd, r, f"UID {slot.uid}: " +
                               "; ".join(bad), slot, cmd.finished))


def _search_term(cl, cmd, slot, seq, term):
    kind = term[0]
    if kind == "F":
        _, f, want = term
        if slot.uid is None or slot.flags is None:
            return None
        e = cl.box_facts.known_flag(slot.uid, f, cmd.sent)
        if e is None:
            return None
        v, d = e
        # the session was told the current value: its view is certainly up to date
        if not d.end < slot.flags_clock < cmd.sent or (f in slot.flags) != v:
            return None
        return v == want
    if kind == "U":
        ns = term[1]
        if slot.uid is None:
            return None
        if ns.star:
            if slot.uid >= ns.intervals[0][0]:
                return True
            return None if slot is cl.slots[-1] else False
        return slot.uid in ns
    if kind == "S":
        return seq in term[1] if cmd.kind == "SEARCH" else None
    return None


@done_rule("search-flags", ["SEARCH", "UID SEARCH"], "SEARCH UNSEEN/KEYWORD/DELETED/"
           "FLAGGED/UID/sequence-set results agree with what is certain: flags fixed by a "
           "completed STORE that the session was already told about (RFC 3501 §6.4.4). "
           "Judged like store-result when the message may have been expunged")
def d_search_flags(cl, cmd):
    if cmd.status != "OK" or cl.box_facts is None or cmd.search is None:
        return None
    terms = cmd.meta.get("terms")
    if terms is None:
        return None
    present = {id(x): i for i, x in enumerate(cl.slots)}
    results = set(cmd.search)
    for slot in cmd.meta["slots"]:
        i = present.get(id(slot))
        if i is None:
            continue
        seq = i + 1
        vals = [_search_term(cl, cmd, slot, seq, t) for t in terms]
        if False in vals:
            expect = False
        elif all(v is True for v in vals):
            expect = True
        else:
            continue
        cl.world.checked["search-flags"] += 1
        key = seq if cmd.kind == "SEARCH" else slot.uid
        if key is None or (key in results) == expect:
            continue
        what = f"{'message' if cmd.kind == 'SEARCH' else 'UID'} {key}"
        detail = (f"{what} (flags {' '.join(sorted(slot.flags or ())) or '()'}) "
                  f"{'missing from' if expect else 'wrongly in'} the results")
        cl.pending.append((d_search_flags.rule, cmd, cmd.tagged, detail, slot, cmd.finished))


@done_rule("search-response", ["SEARCH", "UID SEARCH"], "SEARCH OK comes with one "
           "'* SEARCH' response (RFC 3501 §6.4.4)")
def d_search_response(cl, cmd):
    if cmd.status == "OK" and cmd.meta.get("ret") is not None:
        if cmd.esearch is None:
            return "SEARCH RETURN OK without '* ESEARCH'"
    elif cmd.status == "OK" and cmd.search is None:
        return "SEARCH OK without '* SEARCH'"


@done_rule("expunge-incomplete", ["EXPUNGE", "UID EXPUNGE"], "after our STORE +FLAGS "
           "\\Deleted and EXPUNGE (both OK, nobody else touching \\Deleted meanwhile) the "
           "messages are gone, each announced by an EXPUNGE (RFC 3501 §6.4.3)")
def d_expunge_incomplete(cl, cmd):
    gone = cmd.meta.get("expect_gone")
    if cmd.status != "OK" or not gone or cl.box_facts is None or not cl.in_mailbox():
        return None
    left = []
    cl.world.checked["expunge-incomplete"] += len(gone)
    for u in sorted(u for u in (s.uid for s in cl.slots) if u in gone):
        touched = cl.box_facts.touched_by_others(cl.sid, cmd.meta["since"], cmd.finished, u)
        if touched is not None and "\\DELETED" not in touched:
            left.append(u)
    if left:
        return f"UIDs {left} still in the mailbox after EXPUNGE"


@done_rule("logout-bye", ["LOGOUT"], "LOGOUT is answered by '* BYE' before the tagged OK "
           "(RFC 3501 §6.1.3)")
def d_logout_bye(cl, cmd):
    if cmd.status == "OK" and not any(r.name == "BYE" for r in cmd.untagged):
        return "LOGOUT OK without '* BYE'"


# ---------------------------------------------------------------- one client

class Slot:
    __slots__ = ("uid", "new", "recent", "flags", "flags_clock")

    def __init__(self, new):
        self.flags = None       # the last FLAGS this session was told (upper case)
        self.flags_clock = 0    # World.clock when it was told
        self.uid = None
        self.new = new          # announced after the SELECT's UIDNEXT
        self.recent = None      # None unknown / True / False as this session saw it


class Client:
    def __init__(self, world, cid, user, password, mailboxes, rng):
        self.world = world
        self.cid = cid
        self.name = f"c{cid}"
        self.user = user
        self.password = password
        self.mailboxes = mailboxes
        self.rng = rng
        self.args = world.args
        self.reader = self.writer = None
        self.read_task = None
        self.qr_cache = {}            # mailbox -> (UIDVALIDITY, HIGHESTMODSEQ, UIDNEXT)
        self.reset_connection()
        self.appended = 0

    def reset_connection(self):
        self.world.sessions += 1
        self.sid = f"{self.name}#{self.world.sessions}"
        self.outstanding = []
        self.by_tag = {}
        self.ntag = 0
        self.caps = set()
        self.condstore = False        # CONDSTORE enabled (an enabling command completed)
        self.qresync = False          # QRESYNC enabled
        self.notify = False           # NOTIFY SET sent (events may come from then on)
        self.notify_selected = False  # ... with SELECTED-DELAYED: pushes between commands
        self.notify_uidnext = {}      # mailbox -> UIDNEXT of the last NOTIFY STATUS
        self.bye_seen = False
        self.logout_sent = False
        self.closed = False
        self.eof_reported = False
        self.bye_reported = False
        self.history = collections.deque(maxlen=14)
        self.greeting = None
        self.deselect()

    def deselect(self):
        if getattr(self, "pending", None):
            self.world.tolerated["flag checks not confirmed (mailbox closed first)"] += \
                len(self.pending)
        self.selected = None          # mailbox name when selected
        self.selecting = None         # the SELECT/EXAMINE command in progress
        self.readonly = False
        self.count = 0
        self.slots = []
        self.flags = None             # upper-case flags of the last * FLAGS
        self.permflags = None
        self.uidvalidity = None
        self.sel_uidnext = None
        self.sel_hms = None           # HIGHESTMODSEQ of the SELECT
        self.modseq_seen = {}         # uid -> last MODSEQ this session was told
        self.vanished_uids = set()    # UIDs told VANISHED (QRESYNC)
        self.qr_check = None          # after a QRESYNC SELECT: (modseq, HIGHESTMODSEQ,
                                      # UIDNEXT known then, UIDs its FETCHes told)
        self.box_facts = None
        self.pending = []             # violations to confirm: (rule, cmd, resp, detail,
                                      # slot, clock); see resolve_pending

    def resolve_pending(self, cmd):
        """cmd (NOOP, CHECK, IDLE) completed: the server has told us about messages
        expunged before it; a pending violation about a message still in the mailbox now
        is real, one about an expunged message is dropped."""
        keep = []
        for p in self.pending:
            rule, c, resp, detail, slot, clock = p
            if cmd.sent <= clock:
                keep.append(p)
            elif any(x is slot for x in self.slots):
                self.violate(rule, c, resp, detail)
            else:
                self.world.tolerated[f"{rule} of a message expunged meanwhile"] += 1
        self.pending = keep

    def in_mailbox(self):
        return self.selected is not None or self.selecting is not None

    def permanent(self, flag):
        p = self.permflags
        return p is None or "\\*" in p or flag in p

    # -- reporting
    def violate(self, rule, cmd, resp, detail):
        if isinstance(resp, Resp):
            resp = resp.show()
        elif isinstance(resp, bytes):
            resp = show_raw(resp)
        cmdtext = cmd.show() if cmd is not None else "(none)"
        self.world.report(Violation(rule, f"{self.name}({self.user})", cmdtext, resp or "",
                                    detail, list(self.history)))

    def trace(self, direction, data):
        line = show_raw(data, 400)
        self.history.append(f"{direction} {line}")
        if self.world.trace:
            self.world.trace.write(f"{time.monotonic() - self.world.start:9.3f} "
                                   f"{self.name} {direction} {line}\n")

    # -- I/O
    async def connect(self):
        ctx = None
        if self.args.tls:
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
            ctx.check_hostname = False
            ctx.verify_mode = ssl.CERT_NONE
        self.reset_connection()
        self.world.connections += 1
        try:
            self.reader, self.writer = await asyncio.wait_for(asyncio.open_connection(
                self.args.host, self.args.port, ssl=ctx, limit=1 << 22,
                server_hostname="localhost" if ctx else None), self.args.timeout)
        except (OSError, asyncio.TimeoutError, ssl.SSLError) as e:
            self.violate("connection-closed", None, None, f"cannot connect: {e!r}")
            raise Abort() from None
        self.greet_cmd = Command(self, None, "(greeting)", "GREETING", {})
        self.greet_cmd.sent = self.world.tick()
        self.outstanding.append(self.greet_cmd)
        self.read_task = asyncio.get_running_loop().create_task(self.read_loop())
        await self.wait(self.greet_cmd)

    def close(self):
        self.closed = True
        if self.read_task is not None and not self.read_task.done():
            self.read_task.cancel()
        if self.writer is not None:
            try:
                self.writer.close()
            except Exception:
                pass
        for c in self.outstanding:
            self.end_activity(c)
            if not c.done.done():
                c.done.set_exception(Abort())
                c.done.exception()   # mark retrieved
        self.outstanding = []

    async def read_raw(self):
        parts = []
        while True:
            line = await self.reader.readline()
            if not line:
                if parts:
                    self.violate("parse", self.oldest(), b"".join(parts),
                                 "connection closed inside a response")
                return None
            if not line.endswith(b"\n"):
                self.violate("parse", self.oldest(), b"".join(parts) + line,
                             "connection closed inside a line")
                return None
            if not line.endswith(b"\r\n"):
                self.violate("parse", self.oldest(), line, "line ends in LF without CR")
                line = line[:-1] + b"\r\n"
            parts.append(line)
            m = re.search(rb"\{([0-9]+)\}\r\n$", line)
            if not m:
                break
            parts.append(await self.reader.readexactly(int(m.group(1))))
        return b"".join(parts)[:-2]

    async def read_loop(self):
        try:
            while True:
                raw = await self.read_raw()
                if raw is None:
                    break
                self.trace("S:", raw)
                self.world.tick()
                try:
                    r = parse_response(raw)
                except ParseError as e:
                    self.violate("parse", self.oldest(), raw, str(e))
                    tag, status = tagged_status_guess(raw)
                    if tag in self.by_tag:         # do not hang the command on it
                        r = Resp(raw)
                        r.kind, r.tag, r.name = "tagged", tag, status
                        self.on_tagged(r)
                    continue
                self.dispatch(r)
        except (asyncio.IncompleteReadError, ConnectionError, ssl.SSLError, OSError,
                ValueError, asyncio.LimitOverrunError) as e:
            if not self.closed and not self.bye_reported and not self.logout_sent:
                self.violate("connection-closed", self.oldest(), None,
                             f"read failed: {e!r}")
                self.eof_reported = True
        except asyncio.CancelledError:
            raise
        self.on_eof()

    def on_eof(self):
        if not self.closed and not self.eof_reported and not self.logout_sent and \
                not self.bye_reported:
            self.violate("connection-closed", self.oldest(), None,
                         "the server closed the connection")
        elif not self.closed and not self.eof_reported and any(
                c.kind == "LOGOUT" for c in self.outstanding):
            self.violate("connection-closed", self.oldest(), None,
                         "the server closed the connection before LOGOUT's tagged OK")
        self.closed = True
        for c in self.outstanding:
            self.end_activity(c)
            if not c.done.done():
                c.done.set_exception(Abort())
                c.done.exception()
        self.outstanding = []

    def oldest(self):
        return self.outstanding[0] if self.outstanding else None

    def send_raw(self, data):
        self.trace("C:", data.rstrip(b"\r\n"))
        self.writer.write(data)

    def send(self, text, kind, literal=None, **meta):
        """Send "tag text" (text may end in a literal announcement, then literal is
        sent at the continuation, or at once for LITERAL+). Returns the Command."""
        if self.closed:
            raise Abort()
        self.ntag += 1
        tag = f"{self.name}.{self.ntag}"
        cmd = Command(self, tag, text if literal is None else text, kind, meta)
        cmd.literal = literal
        if kind in ("IDLE",) or (literal is not None and not meta.get("nonsync")):
            cmd.cont = asyncio.get_running_loop().create_future()
        # every send and every received response has its own World.clock tick, so "sent
        # after that response arrived" is a strict comparison
        cmd.sent = self.world.tick()
        self.before_send(cmd)
        self.outstanding.append(cmd)
        self.by_tag[tag] = cmd
        self.world.commands += 1
        self.world.kinds[kind] += 1
        if literal is not None and meta.get("nonsync"):
            self.send_raw(f"{tag} {text}\r\n".encode() + literal + b"\r\n")
        else:
            self.send_raw(f"{tag} {text}\r\n".encode())
        return cmd

    async def wait(self, cmd, fut=None):
        fut = fut or cmd.done
        try:
            await asyncio.wait_for(asyncio.shield(fut), self.args.timeout)
        except asyncio.TimeoutError:
            self.violate("timeout", cmd, None,
                         f"no response within {self.args.timeout} s")
            raise Abort() from None
        except Abort:
            raise
        if fut.exception() is not None:
            raise Abort()
        return fut.result()

    async def drain(self):
        try:
            await asyncio.wait_for(self.writer.drain(), self.args.timeout)
        except (ConnectionError, OSError, asyncio.TimeoutError, ssl.SSLError):
            raise Abort() from None

    async def run_cmd(self, text, kind, **meta):
        cmd = self.send(text, kind, **meta)
        await self.drain()
        await self.wait(cmd)
        return cmd

    # -- bookkeeping when a command is sent
    def before_send(self, cmd):
        k = cmd.kind
        m = cmd.meta
        if k in ("SELECT", "EXAMINE"):
            box = self.world.box(self.user, m["box"])
            m["lb"], m["lb_why"] = box.uidnext_lb, "confirmed UIDNEXT lower bound"
            m["uv_before"] = box.uidvalidity
            m["hms_lb"] = box.max_modseq.get(box.uidvalidity, 0)
            m["seen"] = set()
            self.deselect()
            self.selecting = cmd
            self.readonly = k == "EXAMINE"
            self.box_facts = box
        elif k in ("APPEND", "STATUS") or k in COPY_KINDS:
            box = self.world.box(self.user, m["box"])
            m["lb"], m["lb_why"] = box.uidnext_lb, "confirmed UIDNEXT lower bound"
        if k in STORE_KINDS and self.box_facts is not None:
            flags = None if m["mode"] == "" else set(m["flags"])
            m["count"] = self.count
            m["slots_at_send"] = list(self.slots)
            m["act_box"] = self.box_facts
            cmd.activity = self.box_facts.start_activity(self.sid, flags, cmd.sent,
                                                         self.store_uids(cmd))
            cmd.activity.desc = f"{self.name} {cmd.tag} {cmd.text}"
        if k in SEARCH_KINDS:
            m["slots"] = list(self.slots)
        if k == "LOGOUT":
            self.logout_sent = True
        if k in FETCH_KINDS:
            m["count"] = self.count
            m["uids_at_send"] = {s.uid for s in self.slots if s.uid is not None}

    def end_activity(self, cmd):
        if cmd.activity is not None and cmd.activity.end is None:
            cmd.meta["act_box"].end_activity(cmd.activity, self.world.clock)

    def store_truth(self, cmd):
        """Remember what a completed STORE made of each message it touched."""
        m = cmd.meta
        if m["mode"] == "":
            values = {f: f in m["flags"] for f in FLAG_UNIVERSE}
        else:
            values = {f: m["mode"] == "+" for f in m["flags"]}
        values = {f: v for f, v in values.items() if self.permanent(f)}
        ns = m["set"]
        # only messages the client knew when it sent the STORE: one announced meanwhile
        # may have been added after the STORE ran
        if cmd.kind == "STORE":
            slots = [self.slots[i - 1] for i in ns.certain(m["count"]) if i <= self.count]
        else:
            present = {id(x) for x in self.slots}
            slots = [x for x in m["slots_at_send"]
                     if id(x) in present and x.uid is not None and x.uid in ns]
        box = self.box_facts
        for x in slots:
            if x.uid is not None:
                touched = box.touched_by_others(self.sid, cmd.sent, cmd.finished, x.uid)
                box.record_truth(cmd.activity, x.uid, values, touched)

    def store_uids(self, cmd):
        """The UIDs a STORE may touch, or None when that is not known."""
        ns = cmd.meta["set"]
        if ns.star:
            return None
        if cmd.kind == "UID STORE":
            n = sum(hi - lo + 1 for lo, hi in ns.intervals)
            return None if n > 5000 else [u for lo, hi in ns.intervals
                                          for u in range(lo, hi + 1)]
        uids = [self.slots[i - 1].uid for i in ns.certain(self.count)]
        return None if None in uids else uids

    # -- dispatch of one response
    def dispatch(self, r):
        if r.kind == "cont":
            self.on_cont(r)
        elif r.kind == "tagged":
            self.on_tagged(r)
        else:
            self.on_untagged(r)

    def on_cont(self, r):
        for c in self.outstanding:
            if c.cont is not None and not c.cont.done():
                c.cont.set_result(r)
                if c.literal is not None:
                    self.send_raw(c.literal + b"\r\n")
                return
        self.violate("unexpected-continuation", self.oldest(), r,
                     "continuation request while no command waits for one")

    def on_tagged(self, r):
        cmd = self.by_tag.pop(r.tag, None)
        if cmd is None or cmd not in self.outstanding:
            self.violate("unexpected-tag", self.oldest(), r,
                         f"tag {r.tag!r} matches no outstanding command")
            return
        cmd.status = r.name
        cmd.tagged = r
        cmd.finished = self.world.clock
        self.end_activity(cmd)
        self.apply_tagged(cmd, r)
        self.outstanding.remove(cmd)
        for resp, bad, detail in cmd.unannounced:
            late = self.flags is not None and all(f.upper() in self.flags for f in bad)
            self.violate("flags-unannounced", cmd, resp, detail + (
                " (a '* FLAGS' later in this response lists them)" if late else
                " (no later '* FLAGS' in this response lists them)"))
        for fn in DONE_RULES.get(cmd.kind, ()):
            if fn.rule not in DEEP_RULES:
                self.world.checked[fn.rule] += 1
            self._run_rule(fn, cmd, r, fn(self, cmd))
        if self.pending and cmd.kind in POLL_KINDS and self.selected is not None:
            self.resolve_pending(cmd)
        if cmd.cont is not None and not cmd.cont.done():
            cmd.cont.set_result(None)
        if not cmd.done.done():
            cmd.done.set_result(cmd)

    def _run_rule(self, fn, cmd, r, res):
        if not res:
            return
        for detail in ([res] if isinstance(res, str) else res):
            self.violate(fn.rule, cmd, r, detail)

    def on_untagged(self, r):
        cmd = self.oldest()
        if cmd is not None and cmd.kind == "GREETING":
            self.on_greeting(cmd, r)
            return
        if self.notify_selected and r.name in MESSAGE_DATA and self.old_mailbox_push():
            # RFC 5465 §6.1: pushed about the mailbox selected before the SELECT, CLOSE,
            # UNSELECT or LOGOUT the server had not read yet: not this model's mailbox
            self.world.tolerated["NOTIFY pushes about the previous mailbox"] += 1
            return
        if self.notify_selected and r.name in MESSAGE_DATA and not self.outstanding:
            self.world.notified[f"{r.name} between commands"] += 1
        for c in self.outstanding:
            c.untagged.append(r)
        for fn in UNTAGGED_RULES.get(r.name, ()):
            if fn.rule not in DEEP_RULES:
                self.world.checked[fn.rule] += 1
            self._run_rule(fn, cmd, r, fn(self, r, cmd))
        getattr(self, "apply_" + r.name, self.apply_other)(r, cmd)

    def old_mailbox_push(self):
        """Whether message data now can be a push sent before the server read a command
        that leaves the mailbox: SELECT/EXAMINE until their first own response (FLAGS, or
        OK [CLOSED]), CLOSE/UNSELECT until their tagged reply, LOGOUT until its BYE."""
        for c in self.outstanding:
            if c.kind in ("CLOSE", "UNSELECT") or (c.kind == "LOGOUT" and not self.bye_seen):
                return True
            if c.kind in ("SELECT", "EXAMINE") and not c.meta.get("own_started"):
                return True
        return False

    def on_greeting(self, cmd, r):
        self.outstanding.remove(cmd)
        if r.name not in ("OK", "PREAUTH"):
            self.violate("greeting", cmd, r, "greeting is not '* OK'")
            if r.name == "BYE":
                self.bye_reported = True
            cmd.done.set_exception(Abort())
            cmd.done.exception()
            return
        if r.code == "CAPABILITY":
            self.caps = set(r.code_args)
        self.greeting = r
        cmd.done.set_result(cmd)

    # -- model updates (after the rules looked at the response)
    def apply_other(self, r, cmd):
        pass

    def apply_BYE(self, r, cmd):
        self.bye_seen = True
        if not self.logout_sent:
            self.bye_reported = True

    def apply_CAPABILITY(self, r, cmd):
        self.caps = set(r.data)

    def apply_OK(self, r, cmd):
        code, a = r.code, r.code_args
        if code == "CAPABILITY":
            self.caps = set(a)
        if code is None or not self.in_mailbox():
            if code == "COPYUID":
                self._copyuid(r)
            return
        sel = self.selecting
        if code == "UIDVALIDITY":
            if sel is not None:
                sel.meta["seen"].add(code)
            elif self.uidvalidity is not None and a != self.uidvalidity:
                self.violate("uidvalidity-changed", cmd, r,
                             f"UIDVALIDITY {a} != {self.uidvalidity} of this SELECT")
            self.uidvalidity = a
            box = self.box_facts
            if box.uidvalidity is None:
                box.uidvalidity = a
            elif box.uidvalidity != a and sel is None:
                pass
        elif code == "UIDNEXT":
            if sel is not None:
                sel.meta["seen"].add(code)
                self.sel_uidnext = a
            if self.uidvalidity is not None and self.uidvalidity == self.box_facts.uidvalidity:
                self.box_facts.observe_uid(a - 1)
        elif code == "PERMANENTFLAGS":
            if sel is not None:
                sel.meta["seen"].add(code)
            self.permflags = {f.upper() for f in a}
        elif code == "HIGHESTMODSEQ":
            if sel is not None:
                self.sel_hms = a
        elif code == "UNSEEN":
            if sel is not None and a > self.count:
                self.violate("select-missing", cmd, r,
                             f"UNSEEN {a} > message count {self.count}")
        elif code == "COPYUID":
            self._copyuid(r)

    def _copyuid(self, r):
        for c in self.outstanding:
            if c.kind in COPY_KINDS and c.copyuid is None:
                c.copyuid = r.code_args
                return

    def apply_FLAGS(self, r, cmd):
        for c in self.outstanding:
            if c.kind in ("SELECT", "EXAMINE"):
                c.meta["own_started"] = True
        if not self.in_mailbox():
            return
        if self.selecting is not None:
            self.selecting.meta["seen"].add("FLAGS")
        self.flags = {f.upper() for f in r.data}

    def apply_EXISTS(self, r, cmd):
        if not self.in_mailbox():
            return
        if self.selecting is not None:
            self.selecting.meta["seen"].add("EXISTS")
        new = self.selecting is None or self.sel_uidnext is not None
        while self.count < r.num:
            self.slots.append(Slot(new))
            self.count += 1

    def apply_RECENT(self, r, cmd):
        if self.selecting is not None:
            self.selecting.meta["seen"].add("RECENT")

    def apply_VANISHED(self, r, cmd):
        if not self.in_mailbox():
            return
        uids = r.data["uids"]
        self.vanished_uids.update(uids)
        if r.data["earlier"]:
            return
        # the messages go: known UIDs by UID; an unknown one is a slot of unknown UID
        # between its known neighbours (when several could be, one goes and the others
        # forget what was known about them: the model stays sound)
        where = {s.uid: i for i, s in enumerate(self.slots) if s.uid is not None}
        gone = set()
        for u in sorted(set(uids)):
            if u in where:
                gone.add(where[u])
                continue
            lo = max((i for x, i in where.items() if x < u), default=-1)
            hi = min((i for x, i in where.items() if x > u), default=len(self.slots))
            cands = [i for i in range(lo + 1, hi)
                     if self.slots[i].uid is None and i not in gone]
            if not cands:
                self.violate("vanished", cmd, r, f"UID {u} is not in the session's view")
                continue
            # a UID below the SELECT's UIDNEXT was there at SELECT, one above is new
            new = None if self.sel_uidnext is None else u >= self.sel_uidnext
            same = [i for i in cands if self.slots[i].new == new] or cands
            gone.add(same[0])
            for i in same[1:]:
                self.slots[i] = Slot(self.slots[i].new if same is not cands else None)
        for i in sorted(gone, reverse=True):
            del self.slots[i]
        self.count -= len(gone)

    def apply_EXPUNGE(self, r, cmd):
        if not self.in_mailbox() or not 1 <= r.num <= self.count:
            return
        del self.slots[r.num - 1]
        self.count -= 1

    def apply_FETCH(self, r, cmd):
        if not self.in_mailbox() or not 1 <= r.num <= self.count:
            return
        s = self.slots[r.num - 1]
        d = r.data
        uid = d.get("UID")
        if uid is not None:
            if s.uid is None:
                s.uid = uid
            if self.box_facts is not None and self.uidvalidity == self.box_facts.uidvalidity:
                self.box_facts.observe_uid(uid)
        uid = uid if uid is not None else s.uid
        flags = d.get("FLAGS")
        if flags is not None:
            recent = any(f.upper() == "\\RECENT" for f in flags)
            if s.recent is None:
                s.recent = recent
            if recent and uid is not None and not self.readonly and self.box_facts:
                self.box_facts.recent_owner.setdefault(uid, self.sid)
        nil = nil_fetch(d)
        if flags is not None and not nil:
            s.flags = {f.upper() for f in flags} - {"\\RECENT"}
            s.flags_clock = self.world.clock
        for c in self.outstanding:
            if c.kind == "FETCH":
                c.fetch_atts[r.num].update(d)
            elif c.kind == "UID FETCH" and uid is not None:
                c.fetch_uid_atts[uid].update(d)
            if c.kind in FETCH_KINDS and flags is not None:
                c.flags_seen[s] = (flags, nil, r)
        o = self.oldest()
        if o is not None and o.kind in STORE_KINDS and flags is not None:
            key = r.num if o.kind == "STORE" else uid
            if key is not None:
                o.store_seen[key] = (flags, s, nil_fetch(d), r)
        # remember immutable data
        box = self.box_facts
        if uid is None or box is None or self.uidvalidity != box.uidvalidity:
            return
        if nil_fetch(d):
            self.world.tolerated["NIL FETCH data (expunged message)"] += 1
            return
        m = box.msg(uid)
        if "RFC822.SIZE" in d and m.size is None:
            m.size = d["RFC822.SIZE"]
        if "BODY[]" in d and m.body is None:
            m.body = d["BODY[]"] or b""
            if m.size is None:
                m.size = len(m.body)
        if "INTERNALDATE" in d and m.internaldate is None:
            m.internaldate = d["INTERNALDATE"]
        if "ENVELOPE" in d and m.envelope is None:
            m.envelope = d["ENVELOPE"]
        hf = "BODY[HEADER.FIELDS (SUBJECT)]"
        if hf in d and m.subject_hdr is None:
            m.subject_hdr = d[hf]

    def apply_SEARCH(self, r, cmd):
        c = _search_cmd(self)
        if c is not None:
            c.search = r.data

    def apply_ESEARCH(self, r, cmd):
        c = _search_cmd(self)
        if c is None or c.meta.get("ret") is None or r.code_args["TAG"] != c.tag:
            return
        c.esearch = r.code_args
        # the full result is known with ALL (or COUNT 0): the SEARCH rules judge it
        if "ALL" in c.meta["ret"]:
            c.search = r.code_args.get("ALL") or []

    def apply_STATUS(self, r, cmd):
        c = _status_cmd(self)
        mbox, items = r.data
        if c is None or (self.notify and not _same_box(mbox.decode("latin-1"), c.meta["box"])):
            if self.notify and "UIDNEXT" in items:
                name = mbox.decode("latin-1")
                self.notify_uidnext["INBOX" if name.upper() == "INBOX" else name] = \
                    items["UIDNEXT"]
                self.world.notified["STATUS"] += 1
            return
        box = self.world.box(self.user, c.meta["box"])
        # RFC 3501 allows UIDVALIDITY 0 in STATUS (number); Dovecot sends it for a new
        # mailbox never selected: "not assigned yet", not a value to remember
        uv = items.get("UIDVALIDITY") or None
        if uv is not None and box.uidvalidity is None:
            box.uidvalidity = uv
        if "UIDNEXT" in items and uv is not None and uv == box.uidvalidity:
            box.observe_uid(items["UIDNEXT"] - 1)

    def apply_tagged(self, cmd, r):
        k = cmd.kind
        if k in STORE_KINDS and r.name == "OK" and cmd.meta.get("act_box") is self.box_facts \
                and self.box_facts is not None:
            self.store_truth(cmd)
        if r.code == "CAPABILITY":
            self.caps = set(r.code_args)
        if r.name == "OK" and cmd.meta.get("condstore"):
            self.condstore = True         # RFC 7162 §3.1: enabled from here on
        if r.name == "OK" and cmd.meta.get("qresync"):
            self.qresync = self.condstore = True
        if k in ("SELECT", "EXAMINE") and r.name == "OK" and self.selecting is cmd:
            if self.sel_hms is not None and self.uidvalidity is not None:
                self.qr_cache[cmd.meta["box"]] = (self.uidvalidity, self.sel_hms,
                                                  self.sel_uidnext or 1)
            qr = cmd.meta.get("qr")
            if qr and qr[0] == self.uidvalidity and self.sel_hms is not None:
                self.qr_check = (qr[1], self.sel_hms, qr[2], cmd.meta["qr_told"])
        if k in ("SELECT", "EXAMINE"):
            if self.selecting is cmd:
                self.selecting = None
                if r.name == "OK":
                    self.selected = cmd.meta["box"]
                    self.readonly = r.code == "READ-ONLY" or k == "EXAMINE"
                    if self.box_facts.uidvalidity is None:
                        self.box_facts.uidvalidity = self.uidvalidity
                else:
                    self.deselect()
        elif k in ("CLOSE", "UNSELECT") and r.name == "OK":
            self.deselect()
        elif k == "APPEND" and r.name == "OK" and r.code == "APPENDUID":
            uv, uids = r.code_args
            box = self.world.box(self.user, cmd.meta["box"])
            if box.uidvalidity is None:
                box.uidvalidity = uv
            if uv == box.uidvalidity and len(uids) == 1:
                u = uids[0]
                if u not in box.assigned:
                    box.assigned[u] = (cmd, f"APPENDUID to {self.name} ({cmd.tag})")
                box.observe_uid(u)
                m = box.msg(u)
                if m.body is None:
                    m.body = cmd.meta["message"]
                    m.size = len(m.body)
                    m.origin = f"APPENDed by {self.name} {cmd.tag}"
                    if cmd.meta.get("date") is not None:
                        m.internaldate = cmd.meta["date"]
        elif k in COPY_KINDS and r.name == "OK":
            if r.code == "COPYUID" and cmd.copyuid is None:
                cmd.copyuid = r.code_args
            if cmd.copyuid is not None:
                self._apply_copyuid(cmd)

    def _apply_copyuid(self, cmd):
        uv, src, dst = cmd.copyuid
        box = self.world.box(self.user, cmd.meta["box"])
        if box.uidvalidity is None:
            box.uidvalidity = uv
        if uv != box.uidvalidity or len(src) != len(dst):
            return
        sbox = cmd.meta.get("src_box")
        for s, d in zip(src, dst):
            box.observe_uid(d)
            if d not in box.assigned:
                box.assigned[d] = (cmd, f"COPYUID to {self.name} ({cmd.tag})")
            sm = sbox.msgs.get(s) if sbox is not None else None
            if sm is not None and d not in box.msgs:
                m = box.msg(d)
                m.size, m.body, m.internaldate = sm.size, sm.body, sm.internaldate
                m.envelope, m.subject_hdr = sm.envelope, sm.subject_hdr
                m.origin = f"{cmd.kind} of UID {s} by {self.name} {cmd.tag}"

    def partial_lens(self, att):
        """The lengths that outstanding FETCHes asked for with this BODY[]<origin>."""
        return [c.meta["partial"] for c in self.outstanding
                if c.kind in FETCH_KINDS and att in c.meta["atts"] and
                c.meta.get("partial") is not None]

    # ------------------------------------------------------------ the workload
    async def run(self):
        while not self.world.stopping:
            try:
                await self.connection()
            except Abort:
                pass
            finally:
                self.close()
            if not self.world.stopping:
                await asyncio.sleep(self.rng.uniform(0.0, 0.05))

    async def connection(self):
        await self.connect()
        if "IMAP4REV1" not in self.caps:
            await self.run_cmd("CAPABILITY", "CAPABILITY")
        cmd = await self.run_cmd(f"LOGIN {quote(self.user)} {quote(self.password)}", "LOGIN")
        if cmd.status != "OK":
            await self.logout()
            return
        if cmd.tagged.code != "CAPABILITY":
            await self.run_cmd("CAPABILITY", "CAPABILITY")
        if "QRESYNC" in self.caps and self.rng.random() < 0.5:
            await self.run_cmd("ENABLE QRESYNC", "ENABLE", qresync=True)
        if "NOTIFY" in self.caps and self.rng.random() < self.args.notify_share:
            self.notify = True
            self.notify_selected = self.rng.random() < 0.5
            await self.run_cmd(NOTIFY_SET_SELECTED if self.notify_selected else NOTIFY_SET,
                               "NOTIFY")
        budget = self.rng.randint(10, 150)
        while budget > 0 and not self.world.stopping:
            budget -= 1
            if self.selected is None:
                await self.act_select()
                continue
            act = self.choose_action()
            await act()
        await self.logout()

    async def logout(self):
        cmd = await self.run_cmd("LOGOUT", "LOGOUT")
        if cmd.status == "OK":
            # the server closes the connection now
            try:
                await asyncio.wait_for(self.read_task, self.args.timeout)
            except asyncio.TimeoutError:
                self.violate("connection-closed", cmd, None,
                             "the connection stays open after LOGOUT's OK")

    def choose_action(self):
        n = self.count
        rw = not self.readonly
        w = [
            (self.act_fetch, 12 if n else 0),
            (self.act_uid_fetch, 10),
            (self.act_store, 10 if n and rw else 0),
            (self.act_uid_store, 8 if rw and n else 0),
            (self.act_expunge, (3 if n < 30 else 15) if rw and n else 0),
            (self.act_uid_expunge, (3 if n < 30 else 10)
             if rw and n and "UIDPLUS" in self.caps else 0),
            (self.act_append, 10 if n < 15 else 6 if n < 40 else 1),
            (self.act_copy, 3 if n else 0),
            (self.act_move, 3 if n and rw and "MOVE" in self.caps else 0),
            (self.act_search, 5),
            (self.act_uid_search, 5),
            (self.act_noop, 4),
            (self.act_check, 1),
            (self.act_status, 3 if len(self.mailboxes) > 1 else 0),
            (self.act_idle, 3 if "IDLE" in self.caps else 0),
            (self.act_pipeline, 6 if n else 0),
            (self.act_deselect, 2),
        ]
        total = sum(x for _, x in w)
        pick = self.rng.uniform(0, total)
        for fn, x in w:
            pick -= x
            if pick <= 0 and x > 0:
                return fn
        return self.act_noop

    # -- helpers for random arguments
    def other_box(self):
        cands = [b for b in self.mailboxes if b != self.selected]
        return self.rng.choice(cands) if cands else None

    def rand_seqset(self):
        n = self.count
        r = self.rng.random()
        if r < 0.35:
            k = self.rng.randint(1, n)
            return NumSet.of([k])
        if r < 0.6:
            a = self.rng.randint(1, n)
            b = min(n, a + self.rng.randint(0, 5))
            return NumSet.of(range(a, b + 1))
        if r < 0.75:
            return NumSet.from_star(self.rng.randint(max(1, n - 4), n))
        if r < 0.9:
            return NumSet.of(self.rng.sample(range(1, n + 1), min(n, self.rng.randint(1, 4))))
        return NumSet.from_star(1)

    def known_uids(self):
        return [s.uid for s in self.slots if s.uid is not None]

    def rand_uidset(self):
        known = self.known_uids()
        r = self.rng.random()
        if not known or r < 0.12:
            if self.rng.random() < 0.5 or not known:
                return NumSet.from_star(1)
            return NumSet.from_star(self.rng.choice(known))
        if r < 0.45:
            return NumSet.of([self.rng.choice(known)])
        if r < 0.75:
            i = self.rng.randrange(len(known))
            j = min(len(known) - 1, i + self.rng.randint(0, 5))
            lo, hi = known[i], known[j]
            return NumSet(f"{lo}:{hi}", [(lo, hi)])
        if r < 0.9:
            return NumSet.of(self.rng.sample(known, min(len(known), self.rng.randint(1, 4))))
        hi = known[-1] + self.rng.randint(0, 3)
        lo = max(1, hi - self.rng.randint(0, 10))
        return NumSet(f"{lo}:{hi}", [(lo, hi)])

    def small_set(self, ns):
        """Whether the set names few messages (for BODY[] fetches)."""
        if ns.star:
            return self.count - ns.intervals[0][0] < 4
        return sum(min(hi, 10 ** 9) - lo + 1 for lo, hi in ns.intervals) <= 6

    def rand_fetch_atts(self, ns, uid):
        items = []
        pool = ["FLAGS", "UID", "RFC822.SIZE", "INTERNALDATE", "ENVELOPE",
                "BODY.PEEK[HEADER.FIELDS (SUBJECT)]"]
        if "CONDSTORE" in self.caps:
            pool.append("MODSEQ")
        for it in pool:
            if self.rng.random() < (0.6 if it in ("FLAGS", "UID") else
                                    0.15 if it == "MODSEQ" else 0.3):
                items.append(it)
        partial = None
        if self.small_set(ns) and not (ns.star and uid):
            r = self.rng.random()
            if r < 0.3:
                items.append("BODY.PEEK[]")
            elif r < 0.4:
                partial = self.rng.choice([1, 17, 100, 1000])
                items.append(f"BODY.PEEK[]<{self.rng.choice([0, 0, 5, 64])}.{partial}>")
        if not items:
            items.append("FLAGS")
        atts = set()
        for it in items:
            a = it.replace("BODY.PEEK[", "BODY[")
            a = re.sub(r"<([0-9]+)\.[0-9]+>$", r"<\1>", a)
            atts.add(a)
        if uid:
            atts.add("UID")
        return items, atts, partial

    def rand_flags(self, n_max=3):
        k = self.rng.randint(1, n_max)
        flags = self.rng.sample(STORE_FLAGS, k)
        if self.rng.random() < 0.08:
            flags.append("\\Deleted")
        return flags

    # -- actions
    async def act_select(self):
        box = "INBOX" if self.rng.random() < 0.4 else self.rng.choice(self.mailboxes)
        kind = "EXAMINE" if self.rng.random() < 0.15 else "SELECT"
        qr = self.qr_cache.get(box)
        if self.qresync and qr is not None and self.rng.random() < 0.7:
            # RFC 7162 §3.2.5: resync from what an earlier session of ours knew
            await self.run_cmd(f"{kind} {quote(box)} (QRESYNC ({qr[0]} {qr[1]}))", kind,
                               box=box, qr=qr, qr_told=set())
        elif "CONDSTORE" in self.caps and self.rng.random() < 0.3:
            await self.run_cmd(f"{kind} {quote(box)} (CONDSTORE)", kind, box=box,
                               condstore=True)
        else:
            await self.run_cmd(f"{kind} {quote(box)}", kind, box=box)

    def fetch_cmd(self, uid):
        ns = self.rand_uidset() if uid else self.rand_seqset()
        items, atts, partial = self.rand_fetch_atts(ns, uid)
        kind = "UID FETCH" if uid else "FETCH"
        # FETCH MODSEQ is a CONDSTORE-enabling command (RFC 7162 §3.1)
        return self.send(f"{kind} {ns.text} ({' '.join(items)})", kind, set=ns, atts=atts,
                         partial=partial, condstore="MODSEQ" in items)

    async def act_fetch(self):
        cmd = self.fetch_cmd(False)
        await self.drain()
        await self.wait(cmd)

    async def act_uid_fetch(self):
        cmd = self.fetch_cmd(True)
        await self.drain()
        await self.wait(cmd)

    def store_cmd(self, uid, silent=None, mode=None, flags=None, ns=None):
        if ns is None:
            ns = self.rand_uidset() if uid else self.rand_seqset()
        if mode is None:
            mode = self.rng.choice(["+", "+", "-", "-", ""])
        if flags is None:
            flags = self.rand_flags()
        if silent is None:
            silent = self.rng.random() < 0.25
        kind = "UID STORE" if uid else "STORE"
        item = f"{mode}FLAGS{'.SILENT' if silent else ''}"
        return self.send(f"{kind} {ns.text} {item} ({' '.join(flags)})", kind, set=ns,
                         mode=mode, flags=[f.upper() for f in flags], silent=silent)

    async def act_store(self):
        cmd = self.store_cmd(False)
        await self.drain()
        await self.wait(cmd)

    async def act_uid_store(self):
        cmd = self.store_cmd(True)
        await self.drain()
        await self.wait(cmd)

    async def act_expunge(self):
        ns = self.rand_seqset()
        uids = {self.slots[n - 1].uid for n in ns.certain(self.count)} - {None}
        st = self.store_cmd(False, silent=self.rng.random() < 0.7, mode="+",
                            flags=["\\Deleted"], ns=ns)
        await self.drain()
        await self.wait(st)
        if self.selected is None or self.readonly:
            return
        ok = st.status == "OK" and not ns.star
        await self.run_cmd("EXPUNGE", "EXPUNGE", expect_gone=uids if ok else None,
                           since=st.sent)

    async def act_uid_expunge(self):
        known = self.known_uids()
        if not known:
            return await self.act_uid_fetch()
        ns = NumSet.of(self.rng.sample(known, min(len(known), self.rng.randint(1, 3))))
        st = self.store_cmd(True, silent=self.rng.random() < 0.7, mode="+",
                            flags=["\\Deleted"], ns=ns)
        await self.drain()
        await self.wait(st)
        if self.selected is None or self.readonly:
            return
        uids = set(u for lo, hi in ns.intervals for u in range(lo, hi + 1))
        await self.run_cmd(f"UID EXPUNGE {ns.text}", "UID EXPUNGE",
                           expect_gone=uids if st.status == "OK" else None, since=st.sent)

    def make_message(self):
        self.appended += 1
        rng = self.rng
        n = self.appended
        subject = f"stress {self.name} #{n} {rng.getrandbits(32):08x}"
        when = datetime.datetime(2024, 1, 1, tzinfo=datetime.timezone.utc) + \
            datetime.timedelta(seconds=rng.randrange(10 ** 8))
        hdr = [f"Date: {email.utils.format_datetime(when)}",
               f"From: Stress Client {self.cid} <{self.name}@stress.invalid>",
               f"To: {self.user} <{self.user}@stress.invalid>",
               f"Subject: {subject}",
               f"Message-ID: <{self.name}.{n}.{rng.getrandbits(40):x}@stress.invalid>",
               "MIME-Version: 1.0",
               "Content-Type: text/plain; charset=us-ascii"]
        words = ["alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel",
                 "india", "juliet", "kilo", "lima", "mike", "november", "oscar"]
        body = [" ".join(rng.choice(words) for _ in range(rng.randint(1, 12)))
                for _ in range(rng.randint(1, 40))]
        return ("\r\n".join(hdr) + "\r\n\r\n" + "\r\n".join(body) + "\r\n").encode()

    async def act_append(self):
        box = self.selected if self.rng.random() < 0.6 else self.rng.choice(self.mailboxes)
        msg = self.make_message()
        parts = [f"APPEND {quote(box)}"]
        if self.rng.random() < 0.5:
            parts.append("(" + " ".join(self.rng.sample(STORE_FLAGS,
                                                        self.rng.randint(0, 3))) + ")")
        date = None
        if self.rng.random() < 0.4:
            date = 1700000000 + self.rng.randrange(10 ** 7)
            tz = self.rng.choice([0, 60, -300, 330])
            d = datetime.datetime.fromtimestamp(date, datetime.timezone(
                datetime.timedelta(minutes=tz)))
            sign = "+" if tz >= 0 else "-"
            parts.append('"' + d.strftime("%d-%b-%Y %H:%M:%S ") +
                         f"{sign}{abs(tz) // 60:02d}{abs(tz) % 60:02d}" + '"')
        nonsync = "LITERAL+" in self.caps and self.rng.random() < 0.5
        parts.append(f"{{{len(msg)}{'+' if nonsync else ''}}}")
        cmd = self.send(" ".join(parts), "APPEND", literal=msg, box=box, message=msg,
                        date=date, nonsync=nonsync)
        await self.drain()
        if cmd.cont is not None:
            await self.wait(cmd, cmd.cont)
            await self.drain()
        await self.wait(cmd)

    async def _copy(self, move):
        target = self.other_box()
        if target is None:
            return
        uid = self.rng.random() < 0.5
        ns = self.rand_uidset() if uid else self.rand_seqset()
        if ns.star and ns.intervals[0][0] == 1 and self.count > 8:
            ns = NumSet.of([self.count])
        if uid:
            src = None if ns.star else \
                {u for lo, hi in ns.intervals for u in range(lo, int(hi) + 1)}
        else:
            src = {self.slots[n - 1].uid for n in ns.certain(self.count)}
            if None in src or ns.star:
                src = None
        kind = ("UID " if uid else "") + ("MOVE" if move else "COPY")
        await self.run_cmd(f"{kind} {ns.text} {quote(target)}", kind, box=target,
                           src_uids=src, src_box=self.box_facts, maybe_empty=uid)

    async def act_copy(self):
        await self._copy(False)

    async def act_move(self):
        await self._copy(True)

    def search_cmd(self, uid):
        r = self.rng.random()
        meta = {}
        terms = []
        if r < 0.2:
            crit = "ALL"
        elif r < 0.35:
            crit = "UNSEEN"
            terms.append(("F", "\\SEEN", False))
        elif r < 0.5:
            kw = self.rng.choice(KEYWORDS)
            crit = f"KEYWORD {kw}"
            terms.append(("F", kw.upper(), True))
        elif r < 0.6:
            crit = "DELETED"
            terms.append(("F", "\\DELETED", True))
        elif r < 0.8 or not self.count:
            us = self.rand_uidset()
            crit = f"UID {us.text}"
            meta["uidset"] = us
            terms.append(("U", us))
        else:
            ss = self.rand_seqset()
            terms.append(("S", ss))
            if self.rng.random() < 0.5:
                crit = f"{ss.text} FLAGGED"
                terms.append(("F", "\\FLAGGED", True))
            else:
                crit = ss.text
            if ss.star:
                meta["seqset"] = None
            else:
                meta["seqset"] = ss
        if self.rng.random() < 0.2:
            crit = "NOT SEEN " + crit
            terms.append(("F", "\\SEEN", False))
        meta["terms"] = terms
        kind = "UID SEARCH" if uid else "SEARCH"
        if "ESEARCH" in self.caps and self.rng.random() < 0.4:
            # RFC 4731: RETURN () means ALL
            ret = [o for o in ("MIN", "MAX", "COUNT", "ALL") if self.rng.random() < 0.5]
            if "PARTIAL" in self.caps and "ALL" not in ret and self.rng.random() < 0.5:
                a, b = sorted(self.rng.sample(range(1, 12), 2))
                rng = f"-{a}:-{b}" if self.rng.random() < 0.5 else f"{a}:{b}"
                ret.append(f"PARTIAL {rng}")
                meta["partial"] = rng
            meta["ret"] = {o.split()[0] for o in ret} or {"ALL"}
            return self.send(f"{kind} RETURN ({' '.join(ret)}) {crit}", kind, **meta)
        return self.send(f"{kind} {crit}", kind, **meta)

    async def act_search(self):
        cmd = self.search_cmd(False)
        await self.drain()
        await self.wait(cmd)

    async def act_uid_search(self):
        cmd = self.search_cmd(True)
        await self.drain()
        await self.wait(cmd)

    async def act_noop(self):
        await self.run_cmd("NOOP", "NOOP")

    async def act_check(self):
        await self.run_cmd("CHECK", "CHECK")

    async def act_status(self):
        box = self.other_box()
        if box is None:
            return
        await self.run_cmd(f"STATUS {quote(box)} (MESSAGES RECENT UIDNEXT UIDVALIDITY "
                           "UNSEEN)", "STATUS", box=box)

    async def act_idle(self):
        cmd = self.send("IDLE", "IDLE")
        await self.drain()
        await self.wait(cmd, cmd.cont)
        if cmd.done.done():
            return
        end = time.monotonic() + self.rng.uniform(0.05, 1.0)
        while time.monotonic() < end and not self.world.stopping and not self.closed:
            await asyncio.sleep(min(0.1, max(0.0, end - time.monotonic())))
        if self.closed:
            raise Abort()
        self.send_raw(b"DONE\r\n")
        await self.drain()
        await self.wait(cmd)

    async def act_pipeline(self):
        """2-3 commands sent at once: either only sequence-number FETCH/SEARCH/STORE
        (EXPUNGE is then impossible until all are done) optionally followed by NOOP, or
        only UID FETCH/SEARCH/STORE and NOOP (RFC 3501 §5.5)."""
        cmds = []
        stores = 0
        uid = self.rng.random() < 0.5
        rw = not self.readonly
        for _ in range(self.rng.randint(2, 3)):
            r = self.rng.random()
            if r < 0.45:
                cmds.append(self.fetch_cmd(uid))
            elif r < 0.7:
                cmds.append(self.search_cmd(uid))
            elif r < 0.9 and rw and stores == 0:
                stores += 1
                cmds.append(self.store_cmd(uid))
            elif uid:
                cmds.append(self.send("NOOP", "NOOP"))
            else:
                cmds.append(self.fetch_cmd(uid))
        if not uid and self.rng.random() < 0.3:
            cmds.append(self.send("NOOP", "NOOP"))
        await self.drain()
        for c in cmds:
            await self.wait(c)

    async def act_deselect(self):
        r = self.rng.random()
        if r < 0.45:
            await self.run_cmd("CLOSE", "CLOSE")
        elif r < 0.8 and "UNSELECT" in self.caps:
            await self.run_cmd("UNSELECT", "UNSELECT")
        else:
            await self.act_select()


def quote(s):
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'


# ---------------------------------------------------------------- setup and main

async def setup_user(world, user, password, mailboxes, rng):
    """One connection per user before the run: CREATE the mailboxes (NO = exists)."""
    cl = Client(world, f"setup-{user}", user, password, mailboxes, rng)
    cl.name = f"setup-{user}"
    try:
        await cl.connect()
        cmd = await cl.run_cmd(f"LOGIN {quote(user)} {quote(password)}", "LOGIN")
        if cmd.status == "OK":
            for b in mailboxes:
                if b.upper() != "INBOX":
                    await cl.run_cmd(f"CREATE {quote(b)}", "CREATE", box=b)
        await cl.logout()
    except Abort:
        pass
    finally:
        cl.close()


def read_users(args):
    if args.users_file:
        users = []
        with open(args.users_file) as f:
            for line in f:
                line = line.strip()
                if not line or line.startswith("#"):
                    continue
                name, _, rest = line.partition(":")
                pw = rest.split(":")[0]
                pw = re.sub(r"^\{(PLAIN|CLEARTEXT)\}", "", pw, flags=re.I)
                users.append((name, pw))
        return users[:args.users] if args.users else users
    return [(f"{args.user_prefix}{i}", args.password) for i in range(1, args.users + 1)]


async def amain(args):
    world = World(args)
    users = read_users(args)
    if not users:
        print("stress: no users", file=sys.stderr)
        return 2
    mailboxes = ["INBOX"] + [f"Stress{i}" for i in range(1, args.mailboxes)]
    master = random.Random(args.seed)
    used = [users[i % len(users)] for i in range(args.clients)]
    sem = asyncio.Semaphore(10)

    async def setup_one(u, p):
        async with sem:
            await setup_user(world, u, p, mailboxes, random.Random(master.random()))

    await asyncio.gather(*(setup_one(u, p) for u, p in dict(used).items()))
    world.stop_at = time.monotonic() + args.seconds
    t0 = time.monotonic()
    setup_commands = world.commands
    clients = [Client(world, i + 1, u, p, mailboxes, random.Random(master.random()))
               for i, (u, p) in enumerate(used)]
    tasks = [asyncio.create_task(c.run()) for c in clients]
    hard = args.seconds + args.timeout * 2 + 15
    done, pending = await asyncio.wait(tasks, timeout=hard)
    for t in pending:
        t.cancel()
    for c, t in zip(clients, tasks):
        if t in pending:
            c.violate("timeout", c.oldest(), None,
                      f"client still busy at the hard deadline ({hard:.0f} s)")
        elif t.exception() is not None:
            e = t.exception()
            print(f"stress: client {c.name} crashed: {e!r}", file=sys.stderr)
            import traceback
            traceback.print_exception(e)
            world.by_rule["checker-crash"] += 1
            world.violations.append(None)
        c.close()
    if pending:
        await asyncio.gather(*pending, return_exceptions=True)
    elapsed = time.monotonic() - t0
    if world.trace:
        world.trace.close()

    print("---- summary")
    print(f"clients {args.clients}, users {len(dict(used))}, mailboxes {len(mailboxes)}, "
          f"connections {world.connections}, tls {'yes' if args.tls else 'no'}")
    print("commands: " + ", ".join(f"{k} {v}" for k, v in world.kinds.most_common()))
    print("checks: " + ", ".join(f"{k} {v}" for k, v in sorted(world.checked.items())))
    if world.notified:
        print("received through NOTIFY: " +
              ", ".join(f"{k} {v}" for k, v in world.notified.most_common()))
    if world.tolerated:
        print("not reported (allowed by RFC 2180, or not confirmable): " +
              ", ".join(f"{k} {v}" for k, v in world.tolerated.most_common()))
    if world.by_rule:
        print("violations per rule:")
        for rule, n in world.by_rule.most_common():
            print(f"  {rule:22s} {n:6d}  {RULE_DOCS.get(rule, '')[:90]}")
    nv = len(world.violations)
    ncmd = world.commands - setup_commands
    rate = ncmd / elapsed if elapsed > 0 else 0.0
    print(f"stress: {nv} violations, {ncmd} commands in {elapsed:.1f} s ({rate:.0f}/s)")
    return 1 if nv else 0


def main(argv=None):
    ap = argparse.ArgumentParser(
        description="Concurrent IMAP clients checking every response against RFC 3501.")
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, required=False, default=143)
    ap.add_argument("--tls", action="store_true", help="implicit TLS (certificate not verified)")
    ap.add_argument("--users-file", help="lines 'user:password' or passwd-file "
                    "'user:{PLAIN}password'")
    ap.add_argument("--user-prefix", default="u", help="users PREFIX1..PREFIXn (default u)")
    ap.add_argument("--password", default="pw", help="password of the prefix users")
    ap.add_argument("--users", type=int, default=5, help="number of users (default 5)")
    ap.add_argument("--clients", type=int, default=50, help="concurrent clients (default 50), "
                    "spread round-robin over the users")
    ap.add_argument("--mailboxes", type=int, default=3,
                    help="mailboxes per user: INBOX, Stress1, ... (default 3)")
    ap.add_argument("--seconds", type=float, default=20.0, help="run time (default 20)")
    ap.add_argument("--seed", type=int, default=None)
    ap.add_argument("--notify-share", type=float, default=0.25,
                    help="fraction of sessions that ask for NOTIFY (PERSONAL: STATUS of other "
                         "mailboxes; checked) when the server offers it (default 0.25)")
    ap.add_argument("--timeout", type=float, default=30.0,
                    help="seconds to wait for any one response (default 30)")
    ap.add_argument("--max-report", type=int, default=25,
                    help="violations printed per rule (all are counted; default 25)")
    ap.add_argument("--trace", help="write every line sent and received to this file")
    ap.add_argument("--verbose", "-v", action="store_true",
                    help="print the client's last lines with each violation")
    ap.add_argument("--list-rules", action="store_true", help="print the rules and exit")
    ap.add_argument("--stop-when", default="", metavar="RULE,...",
                    help="stop early once each of these rules has been violated (for "
                         "testing the checker itself)")
    args = ap.parse_args(argv)
    args.stop_when = [r for r in args.stop_when.split(",") if r]
    if args.list_rules:
        for k in sorted(RULE_DOCS):
            print(f"{k}: {RULE_DOCS[k]}")
        return 0
    if args.seed is None:
        args.seed = random.randrange(1 << 30)
    print(f"stress: seed {args.seed}, {args.clients} clients, {args.users} users, "
          f"{args.seconds:g} s against {args.host}:{args.port}{' (tls)' if args.tls else ''}",
          flush=True)
    return asyncio.run(amain(args))


if __name__ == "__main__":
    sys.exit(main())
