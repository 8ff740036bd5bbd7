#!/usr/bin/python3
"""check.py — the chaos test's verdict: reads what the server executed and what
the clients saw, for a run without the library and one with it, checks the
invariants and prints the report.

    check.py PLAIN_DIR SHIM_DIR

Each DIR holds one run (tests/chaos/run.sh writes them):
    server.log      chaos_server's lines (every server process of the run, in turn)
    clients.log     chaos_client's lines (every client process of the run)
    expected        one line per client process started: NAME REQUESTS
    deadline        the seconds after which the clients start no new request
    rc              one line per client process: NAME EXIT_STATUS
    stats           the library's stats lines (shim run only; one per process)
    net             "syn_dropped=N fin_delayed=N inorder_conns=N inorder_packets=N" (iptables' counts)
    halfclose.log   the library's log at info (shim run only): its replays, by what the read saw

Invariants, checked for both runs (a plain run that breaks one means the
harness, not the library, is wrong):
    duplicates        no id executed twice (two E lines)
    misattributed     no reply handed to the wrong request: no M line, and every
                      reply (R) is to an id the server executed with an action that
                      answers (a=reply, reply_delay, reply_close, reply_halfclose)
    hangs             no request without an outcome in hang_ms (H), every client
                      process exited 0 with its summary (S) line, no child hung;
                      every client made all its requests before the run's
                      deadline (shim: 3 x the plain run's time + 20 s)
    fd leaks          every process ends with the fds it started with
    event loop        no stale epoll event, no event on a fired oneshot
                      registration, no stray bytes, no lost registration, no
                      failed fork child (V lines)
    accounting        every request has exactly one outcome; the summary lines add
                      up; every executed id is one a client sent and saw the end of
    nothing sent      a request that failed before all of it was written (connect,
                      write, write2) was never executed; no garbled line (G): a
                      request split over two connections would be one
    reply lost        a request that failed after it was written, and was executed
                      with an answering action, had its reply fail at the server
                      (a U line); otherwise the reply was sent and the program did
                      not get it
    signals           SIGPIPEs no more than the writes that failed with EPIPE
    event-loop stall  no write() on an event loop's non-blocking socket took 1 s
                      or more (a heal there must not block the loop: issue 15,
                      item 10); the blocking clients may wait in write()
Against the plain run ("every failure the program saw is one it would have seen
without the library"):
    failure kinds     every kind (EOF or errno) the shim run's requests failed with
                      is one the plain run's failed with too, except EPIPE from the
                      first write, the library's documented failure path (nothing
                      sent: the check above holds it to that)
    failure rate      requests on a connection fail no more often in the shim run
                      than in the plain run (10 % relative + 1 point of slack: the
                      restarts make failures come in bursts); failed connects are
                      left out, being the program's own
Coverage (a chaos run that did not happen proves nothing): every misbehaviour of
the server occurred, SYNs were dropped and FINs delayed in both runs; the shim
run healed (reconnects), met the FIN-in-flight race (an EOF before any reply to
a kept request: never resent, this protocol's requests being never known to be
safe under the default HALFCLOSE_REPLAY=safe), and wrote one stats line per
process.
Exit 0 if every check passed, 1 otherwise.
"""
import collections
import os
import re
import sys

REPLYING = {"reply", "reply_delay", "reply_close", "reply_halfclose"}
NOTHING_SENT_OPS = {"connect", "write", "write2"}
KNOWN_KINDS = {"EOF", "ECONNRESET", "EPIPE", "ECONNREFUSED", "ETIMEDOUT", "timeout", "short"}
SERVER_ACTIONS = ["exec_abort", "exec_unread", "exec_halfclose", "reply_close", "reply_halfclose", "reply_delay",
                  "reply", "noreply", "noreply_abort"]
EXAMPLES = 5
STALL_MS = 1000


def kv(words):
    out = {}
    for w in words:
        k, sep, v = w.partition("=")
        if sep:
            out[k] = v
    return out


class Run:
    """One run's logs, parsed."""

    def __init__(self, label, d):
        self.label, self.dir = label, d
        self.exec = collections.defaultdict(list)  # id -> [(action, conn, line)]
        self.unsent = set()                         # ids whose reply send failed
        self.garbled = []
        self.server_conn = {}                        # conn -> A line
        self.server_closes = collections.Counter()   # how=... why=...
        self.terminations = collections.Counter()
        self.relistens = 0
        self.server_starts = 0
        self.outcomes = collections.defaultdict(list)  # id -> [line words]
        self.anomalies = []
        self.summaries = []
        self.slow_writes = []
        self.failures = collections.Counter()  # "op:kind"
        self.expected = {}
        self.rc = {}
        self.stats = []
        self.net = {}
        self.read_server(os.path.join(d, "server.log"))
        self.read_clients(os.path.join(d, "clients.log"))
        self.expected = self.read_pairs(os.path.join(d, "expected"))
        try:
            with open(os.path.join(d, "deadline")) as f:
                self.deadline_s = int(f.read().split()[0])
        except (OSError, ValueError, IndexError):
            self.deadline_s = "none"
        self.rc = self.read_pairs(os.path.join(d, "rc"))
        self.read_stats(os.path.join(d, "stats"))
        self.replays_after = collections.Counter()  # what the read saw before a replay: EOF or a reset
        self.declined_unsafe = 0  # EOFs before any reply to a request not known to be safe (HALFCLOSE_REPLAY=safe)
        try:
            with open(os.path.join(d, "halfclose.log"), errors="replace") as f:
                for line in f:
                    m = re.search(r" (EOF|Connection reset by peer|Broken pipe) before any reply: .*resent", line)
                    if m:
                        self.replays_after[m.group(1)] += 1
                    if "not known to be safe: not replayed" in line:
                        self.declined_unsafe += 1
        except OSError:
            pass
        try:
            with open(os.path.join(d, "net")) as f:
                self.net = {k: int(v) for k, v in kv(f.read().split()).items()}
        except OSError:
            pass

    @staticmethod
    def read_pairs(path):
        out = {}
        try:
            with open(path) as f:
                for line in f:
                    w = line.split()
                    if len(w) == 2:
                        out[w[0]] = int(w[1])
        except OSError:
            pass
        return out

    def read_server(self, path):
        with open(path, errors="replace") as f:
            for line in f:
                w = line.split()
                if len(w) < 2:
                    continue
                t = w[1]
                if t == "E":
                    a = kv(w[3:])
                    self.exec[w[2]].append((a.get("a", "?"), a.get("c", "?"), line.rstrip()))
                elif t == "U":
                    self.unsent.add(w[2])
                elif t == "G":
                    self.garbled.append(line.rstrip())
                elif t == "A":
                    self.server_conn[kv(w[2:]).get("c")] = line.rstrip()
                elif t == "C":
                    a = kv(w[2:])
                    self.server_closes[(a.get("how"), a.get("why"))] += 1
                elif t == "T":
                    self.terminations[kv(w[2:]).get("how")] += 1
                elif t == "L" and w[2:3] == ["closed"]:
                    self.relistens += 1
                elif t == "S":
                    self.server_starts += 1

    def read_clients(self, path):
        with open(path, errors="replace") as f:
            for line in f:
                w = line.split()
                if not w:
                    continue
                t = w[0]
                if t in ("R", "F", "H", "M") and len(w) >= 2:
                    self.outcomes[w[1]].append(w)
                    if t == "F":
                        self.failures[w[2]] += 1
                elif t == "V":
                    self.anomalies.append(line.rstrip())
                elif t == "S":
                    self.summaries.append(kv(w[1:]))
                elif t == "W":
                    self.slow_writes.append(line.rstrip())

    def read_stats(self, path):
        try:
            with open(path) as f:
                for line in f:
                    if line.startswith("halfclose "):
                        self.stats.append({k: int(v) for k, v in kv(line.split()[1:]).items()})
        except OSError:
            pass

    def stat(self, key):
        return sum(s.get(key, 0) for s in self.stats)

    def count(self, kind):
        return sum(1 for o in self.outcomes.values() if o[0][0] == kind)

    def failure_kinds(self):
        """kind -> count over the failed requests (F lines)."""
        c = collections.Counter()
        for opk, n in self.failures.items():
            c[opk.partition(":")[2]] += n
        return c

    def actions(self):
        c = collections.Counter()
        for lst in self.exec.values():
            for a, _, _ in lst:
                c[a] += 1
        return c


class Checker:
    def __init__(self):
        self.results = []  # (ok, what, details)

    def check(self, ok, what, details=()):
        self.results.append((bool(ok), what, list(details)[:EXAMPLES]))
        return ok


def context(run, rid):
    """What the server and the client logged about request rid."""
    out = []
    for a, c, line in run.exec.get(rid, []):
        out.append("server: " + line)
        if c in run.server_conn:
            out.append("   its connection: " + run.server_conn[c])
    for w in run.outcomes.get(rid, []):
        out.append("client: " + " ".join(w))
    if not out:
        out.append(f"(nothing logged for {rid})")
    return out


def check_run(ck, run):
    L = f"[{run.label}]"
    # duplicates
    dups = [rid for rid, lst in run.exec.items() if len(lst) > 1]
    ck.check(not dups, f"{L} no id executed twice ({len(dups)} executed twice)",
             [" | ".join(context(run, rid)) for rid in sorted(dups)])
    # misattribution
    mism = [rid for rid, o in run.outcomes.items() if o[0][0] == "M"]
    ck.check(not mism, f"{L} no reply handed to the wrong request ({len(mism)} M lines)",
             [" | ".join(context(run, rid)) for rid in sorted(mism)])
    unanswered = [rid for rid, o in run.outcomes.items()
                  if o[0][0] == "R" and not any(a in REPLYING for a, _, _ in run.exec.get(rid, []))]
    ck.check(not unanswered,
             f"{L} every reply is to a request the server executed and answered ({len(unanswered)} are not)",
             [" | ".join(context(run, rid)) for rid in sorted(unanswered)])
    # hangs
    hung = [rid for rid, o in run.outcomes.items() if o[0][0] == "H"]
    ck.check(not hung, f"{L} no request hung ({len(hung)} without an outcome in hang_ms)",
             [" | ".join(context(run, rid)) for rid in sorted(hung)])
    names = {s.get("name") for s in run.summaries}
    missing = [n for n in run.expected if n not in names]
    badrc = [f"{n} exited {rc}" for n, rc in sorted(run.rc.items()) if rc != 0]
    ck.check(not missing and not badrc and set(run.rc) == set(run.expected),
             f"{L} every client process ({len(run.expected)}) exited 0 with its summary",
             [f"no summary from {n}" for n in missing] + badrc +
             [f"no exit status for {n}" for n in set(run.expected) - set(run.rc)])
    # fd leaks
    leaks = [s for s in run.summaries if s.get("fds_before") != s.get("fds_after")]
    ck.check(not leaks, f"{L} no fd leak ({len(leaks)} of {len(run.summaries)} processes end with other fds)",
             [f"{s.get('name')} pid {s.get('pid')}: {s.get('fds_before')} fds before, {s.get('fds_after')} after"
              for s in leaks])
    # event loop and fork anomalies
    kinds = collections.Counter(a.split()[2] for a in run.anomalies if len(a.split()) > 2)
    ck.check(not run.anomalies, f"{L} no event-loop or fork anomaly ({dict(kinds) or 0})", run.anomalies)
    # accounting
    multi = [rid for rid, o in run.outcomes.items() if len(o) > 1]
    ck.check(not multi, f"{L} every request has one outcome ({len(multi)} have more)",
             [" | ".join(context(run, rid)) for rid in sorted(multi)])
    s_requests = sum(int(s.get("requests", 0)) for s in run.summaries)
    ck.check(s_requests == len(run.outcomes),
             f"{L} the outcomes add up: {len(run.outcomes)} requests with an outcome, summaries say {s_requests}")
    parents = sum(int(s.get("requests", 0)) for s in run.summaries if s.get("mode") != "fork-child")
    want = sum(run.expected.values())
    late = [f"{s.get('name')} stopped at the deadline after {s.get('requests')} requests, {s.get('seconds')} s"
            for s in run.summaries if s.get("deadline_hit") == "1"]
    ck.check(parents == want and not late,
             f"{L} the client processes made all {want} requests in time ({parents} made; deadline "
             f"{run.deadline_s} s)", late)
    phantom = [rid for rid in run.exec if rid not in run.outcomes]
    ck.check(not phantom, f"{L} every executed id is a request a client made and saw end ({len(phantom)} are not)",
             [" | ".join(context(run, rid)) for rid in sorted(phantom)])
    # nothing sent
    sent_nothing = [rid for rid, o in run.outcomes.items()
                    if o[0][0] == "F" and o[0][2].partition(":")[0] in NOTHING_SENT_OPS and rid in run.exec]
    ck.check(not sent_nothing,
             f"{L} no request that failed before it was all written was executed ({len(sent_nothing)} were)",
             [" | ".join(context(run, rid)) for rid in sorted(sent_nothing)])
    ck.check(not run.garbled, f"{L} no garbled request at the server ({len(run.garbled)})", run.garbled)
    # reply lost
    lost = [rid for rid, o in run.outcomes.items()
            if o[0][0] == "F" and o[0][2].startswith("read:") and rid not in run.unsent
            and any(a in REPLYING for a, _, _ in run.exec.get(rid, []))]
    ck.check(not lost, f"{L} no reply the server sent was lost ({len(lost)} failed reads of answered requests)",
             [" | ".join(context(run, rid)) for rid in sorted(lost)])
    # event-loop stalls
    stalls = [w for w in run.slow_writes if int(kv(w.split()).get("write_ms", 0)) >= STALL_MS]
    ck.check(not stalls, f"{L} no write() blocked an event loop for {STALL_MS} ms or more ({len(stalls)} did)", stalls)
    # signals
    sigpipe = sum(int(s.get("sigpipe", 0)) for s in run.summaries)
    epipe = sum(n for k, n in run.failures.items() if k.endswith(":EPIPE") and k.startswith("write"))
    ck.check(sigpipe <= epipe, f"{L} SIGPIPEs ({sigpipe}) no more than writes that failed with EPIPE ({epipe})")
    unknown = sorted(k for k in run.failure_kinds() if k not in KNOWN_KINDS)
    ck.check(not unknown, f"{L} every failure is a kind a TCP client can see ({', '.join(unknown) or 'all are'})")
    # coverage
    acts = run.actions()
    whys = collections.Counter(why for (how, why) in run.server_closes.elements())
    need = {
        "exec_abort": acts["exec_abort"], "exec_unread": acts["exec_unread"],
        "exec_halfclose": acts["exec_halfclose"], "noreply_abort": acts["noreply_abort"],
        "reply_close": acts["reply_close"],
        "reply_halfclose": acts["reply_halfclose"], "reply_delay": acts["reply_delay"],
        "reject": whys["reject"], "idle close": run.server_closes[("fin", "idle")],
        "idle reset": run.server_closes[("rst", "idle")], "idle half-close": run.server_closes[("halfclose", "idle")],
        "accept abort": whys["accept_abort"], "server restarts": run.server_starts - 1,
        "listener restarts": run.relistens, "SYNs dropped": run.net.get("syn_dropped", 0),
        "FINs delayed alone": run.net.get("fin_delayed", 0),
        "connections delayed in order": run.net.get("inorder_conns", 0),
    }
    absent = [k for k, v in need.items() if v == 0]
    ck.check(not absent, f"{L} every misbehaviour happened ({', '.join(absent) or 'all did'})")


def check_against_plain(ck, plain, shim):
    pk, sk = plain.failure_kinds(), shim.failure_kinds()
    extra = sorted(k for k in sk if k not in pk and not (k == "EPIPE" and only_first_write_epipe(shim, plain)))
    ck.check(not extra, "[shim vs plain] every kind of failure the shim run saw, the plain run saw too "
             f"(EPIPE on the first write: the documented failure path) ({', '.join(extra) or 'yes'})",
             [f"{k}: {sk[k]} in the shim run, 0 in the plain run" for k in extra])
    pr, sr = connected_failure_rate(plain), connected_failure_rate(shim)
    ck.check(sr <= pr * 1.10 + 0.01,
             "[shim vs plain] the library does not make requests on a connection fail more often "
             f"({sr:.2%} vs {pr:.2%}; the program's own connects left out)")
    # The chaos protocol is one the library does not know: under the default
    # HALFCLOSE_REPLAY=safe none of its requests is ever resent, but the
    # replay's decision must have been reached (an EOF before any reply to a
    # kept request) for the run to show anything about it.
    ck.check(shim.stat("reconnects") > 0 and shim.declined_unsafe > 0,
             f"[shim] the library healed ({shim.stat('reconnects')} reconnects) and met the FIN-in-flight race "
             f"({shim.declined_unsafe} EOFs before a reply to a request not known to be safe)")
    ck.check(shim.stat("replays") == 0,
             f"[shim] no request of this protocol (never known to be safe) was resent ({shim.stat('replays')})")
    procs = len(shim.summaries)
    ck.check(len(shim.stats) == procs,
             f"[shim] one stats line per client process ({len(shim.stats)} lines, {procs} processes)")
    ck.check(not plain.stats, f"[plain] no stats line: the library was not there ({len(plain.stats)})")


def connected_failure_rate(run):
    """Failed requests among those that had a connection.  A failed connect is the
    program's own (the library passes it through): how many there are depends on
    how much of the load fell into the server's restarts, not on the library."""
    connect = sum(n for k, n in run.failures.items() if k.startswith("connect:"))
    other = sum(run.failures.values()) - connect
    return other / max(1, len(run.outcomes) - connect)


def only_first_write_epipe(shim, plain):
    """EPIPE is allowed from the shim run's first writes (the failure path) only."""
    return all(not k.endswith(":EPIPE") or k == "write:EPIPE" or k in plain.failures for k in shim.failures)


def report(plain, shim):
    rows = []

    def row(what, p, s):
        rows.append((what, str(p), str(s)))

    for r in (plain, shim):
        r.nreq = len(r.outcomes)
    row("requests", plain.nreq, shim.nreq)
    row("  replies (ok)", plain.count("R"), shim.count("R"))
    row("  failed", plain.count("F"), shim.count("F"))
    for k in sorted(set(plain.failures) | set(shim.failures)):
        row(f"    {k}", plain.failures.get(k, 0), shim.failures.get(k, 0))
    row("  hung", plain.count("H"), shim.count("H"))
    row("  misattributed (M)", plain.count("M"), shim.count("M"))
    row("executed (distinct ids)", len(plain.exec), len(shim.exec))
    row("executed twice (duplicates)", sum(1 for v in plain.exec.values() if len(v) > 1),
        sum(1 for v in shim.exec.values() if len(v) > 1))
    row("event-loop/fork anomalies", len(plain.anomalies), len(shim.anomalies))
    fdp = sum(1 for s in plain.summaries if s.get("fds_before") != s.get("fds_after"))
    fds = sum(1 for s in shim.summaries if s.get("fds_before") != s.get("fds_after"))
    row("processes (fd leaks)", f"{len(plain.summaries)} ({fdp})", f"{len(shim.summaries)} ({fds})")
    row("fds before/after, summed", fd_sums(plain), fd_sums(shim))
    row("SIGPIPEs", sum(int(s.get("sigpipe", 0)) for s in plain.summaries),
        sum(int(s.get("sigpipe", 0)) for s in shim.summaries))
    row("slowest write() in an event loop, ms", max_write(plain, "epoll"), max_write(shim, "epoll"))
    row("  event-loop writes >= 100 ms (sum, s)", stall_sum(plain), stall_sum(shim))
    for key, label in (("reconnects", "heals (reconnects)"), ("replays", "replays"), ("stale", "stale at probe"),
                       ("reconnect_failures", "reconnect_failures (EPIPE path)"), ("probes", "probes"),
                       ("managed", "managed connections")):
        row(label, "-", shim.stat(key))
        if key == "replays":
            for what, n in sorted(shim.replays_after.items()):
                row(f"  after the read saw {what}", "-", n)
            row("  declined: not known to be safe", "-", shim.declined_unsafe)
    row("server processes", plain.server_starts, shim.server_starts)
    row("listener restarts", plain.relistens, shim.relistens)
    row("server connections", len(plain.server_conn), len(shim.server_conn))
    pa, sa = plain.actions(), shim.actions()
    for a in SERVER_ACTIONS:
        row(f"  executed a={a}", pa.get(a, 0), sa.get(a, 0))
    for how, what in (("*", "reject"), ("fin", "idle"), ("rst", "idle"), ("halfclose", "idle"), ("*", "accept_abort"),
                      ("*", "terminate"), ("*", "garbled")):
        def n(r):
            return sum(c for (h, w), c in r.server_closes.items() if w == what and how in ("*", h))
        row(f"  closed why={what}" + ("" if how == "*" else f" how={how}"), n(plain), n(shim))
    row("client seconds, slowest process", slowest(plain), slowest(shim))
    row("SYNs dropped", plain.net.get("syn_dropped", "?"), shim.net.get("syn_dropped", "?"))
    row("FINs delayed alone", plain.net.get("fin_delayed", "?"), shim.net.get("fin_delayed", "?"))
    row("connections delayed in order (packets)",
        f"{plain.net.get('inorder_conns', '?')} ({plain.net.get('inorder_packets', '?')})",
        f"{shim.net.get('inorder_conns', '?')} ({shim.net.get('inorder_packets', '?')})")
    w = max(len(r[0]) for r in rows)
    print(f"  {'':{w}}  {'plain':>12}  {'shim':>12}")
    for what, p, s in rows:
        print(f"  {what:{w}}  {p:>12}  {s:>12}")


def stall_sum(run):
    ms = [int(kv(w.split()).get("write_ms", 0)) for w in run.slow_writes]
    return f"{len(ms)} ({sum(ms) / 1000:.1f})"


def slowest(run):
    return max([float(s.get("seconds", 0)) for s in run.summaries] or [0])


def fd_sums(run):
    return (f"{sum(int(s.get('fds_before', 0)) for s in run.summaries)}/"
            f"{sum(int(s.get('fds_after', 0)) for s in run.summaries)}")


def max_write(run, mode):
    return max([int(s.get("max_write_ms", 0)) for s in run.summaries if s.get("mode") == mode] or [0])


def main():
    if len(sys.argv) != 3:
        sys.exit("usage: check.py PLAIN_DIR SHIM_DIR")
    plain, shim = Run("plain", sys.argv[1]), Run("shim", sys.argv[2])
    report(plain, shim)
    ck = Checker()
    check_run(ck, plain)
    check_run(ck, shim)
    check_against_plain(ck, plain, shim)
    print()
    failed = 0
    for ok, what, details in ck.results:
        print(("  ok: " if ok else "  FAILED: ") + what)
        if not ok:
            failed += 1
            for d in details:
                print("      e.g. " + d)
    print()
    print(f"chaos: {len(ck.results) - failed} checks passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
