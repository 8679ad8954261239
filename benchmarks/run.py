#!/usr/bin/env python3
"""Run the chatproto benchmark suite: chatproto's server against its peers.

The peers: a naive Twisted baseline, the C IRC servers ngircd and InspIRCd
(installed with apt-get when missing), and the floor (floor_server.c, the
least a fan-out server can do: what this machine allows), measured in the
same run.

    python benchmarks/run.py                 # full suite (~15 min)
    python benchmarks/run.py --quick         # ~2.5 min, smaller, one repeat
    python benchmarks/run.py --only fanout-100 --repeat 5
    python benchmarks/run.py --peers ngircd  # chatproto and ngircd only

See docs/performance.rst for what is measured and how to read the table.
Requirements: Linux, gcc, and `pip install -r benchmarks/requirements.txt`
(plus the project itself, `pip install .`, for the chatroom twistd plugin).
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import resource
import select
import shlex
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from peers import PEERS, find_peers

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results"
LOADGEN_SRC = HERE / "loadgen.c"
LOADGEN_BIN = RESULTS / "loadgen"
FLOOR_SRC = HERE / "floor_server.c"
FLOOR_BIN = RESULTS / "floor_server"
BASELINE = HERE / "baseline_server.py"
INSTALL_HINT = (
    "install the benchmark dependencies with\n"
    "    python -m pip install -r benchmarks/requirements.txt\n"
    "and the project (for the chatroom twistd plugin) with\n"
    "    python -m pip install .\n"
    "gcc must be on PATH (Debian: apt-get install gcc)."
)
CLK_TCK = os.sysconf("SC_CLK_TCK")
# What chatproto is compared with (--peers): the textbook Twisted server, the
# C IRC servers of benchmarks/peers.py (the targets of issue 12), and the
# floor: floor_server.c, a reference row of what this machine allows, never a
# target.
FLOOR = "floor"
ALL_PEERS = ["baseline", *PEERS, FLOOR]
# The server under test, as docs/performance.rst gives it.  --rate 0: the
# per-member flood limit (default 5 lines/s) would measure the limiter, not
# the fan-out; --max-clients: room for 10,000 members and the probe.
DEFAULT_SERVER_CMD = [
    "twistd", "-n", "--pidfile=", "chatroom",
    "--port", "tcp:{port}:interface=127.0.0.1",
    "--rate", "0", "--max-clients", "20000",
]  # fmt: skip


@dataclass
class Scenario:
    name: str
    members: int
    senders: int = 10
    rooms: int = 1  # member i is in room r<i % rooms> (1: the default room)
    duration: float = 0.0  # send phase, seconds; 0: join only
    rate: float = 0.0  # total messages/s; 0: flat out with a window
    window: int = 0  # per sender, messages not yet delivered to every member;
    # 0: 20,000 deliveries in flight per sender (clamped to 4..256 messages),
    # enough to cover a 40 ms delayed-ACK stall without idling the server
    concurrency: int = 32  # handshakes in flight while joining
    timeout: float = 120.0  # loadgen's own deadline; the runner adds 30 s
    stall: float = 10.0  # no byte received for this long: STALLED
    measure_rss: bool = False
    max_repeat: int = 0  # 0: --repeat; else at most this many
    server_args: list[str] = field(default_factory=list)  # chatproto only
    peers: bool = False  # the IRC peers (ngircd, InspIRCd, floor) run it too
    # "": chatproto (with server_args) is compared with the baseline. A name:
    # only chatproto runs, twice, without server_args (row "chatproto", the
    # reference) and with them (row named `variant`).
    variant: str = ""
    default: bool = True  # part of a plain run (else only with --only)
    fanout_row: str = ""  # idle scenario: name of the row for its send phase
    about: str = ""


def scenarios(quick: bool) -> list[Scenario]:
    q = quick
    flat = 2.0 if q else 4.0
    steady = 6  # seconds at a fixed rate: p99 of 59,000+ samples
    storm = 2000 if q else 5000
    idle = 2000 if q else 10000
    return [
        Scenario(
            "fanout-10", 10, duration=flat, peers=True, about="10 members, 10 senders"
        ),
        Scenario(
            "fanout-100",
            100,
            duration=flat,
            peers=True,
            about="100 members, 10 senders",
        ),
        Scenario(
            "fanout-1000",
            1000,
            duration=flat + 1,
            peers=True,
            about="1,000 members, 10 senders",
        ),
        Scenario(
            "rooms-100x10",
            1000,
            senders=1000,
            rooms=100,
            duration=flat + 1,
            server_args=["--max-rooms", "200"],
            about="100 rooms of 10 members, every member talking (issue 10)",
        ),
        Scenario(
            "latency-light",
            100,
            rate=100,
            duration=3 if q else steady,
            peers=True,
            about="100 members, 100 messages/s",
        ),
        Scenario(
            "latency-heavy",
            500,
            rate=500,
            duration=3 if q else steady,
            peers=True,
            about="500 members, 500 messages/s",
        ),
        Scenario(
            "latency-steady",
            500,
            senders=50,
            rate=500,
            duration=3 if q else steady,
            peers=True,
            about="500 members, 50 senders, 500 messages/s in all (issue 12)",
        ),
        Scenario(
            f"storm-{storm}",
            storm,
            senders=0,
            concurrency=200,
            timeout=180,
            about=f"{storm:,} members join, 200 handshakes in flight",
        ),
        Scenario(
            f"idle-{idle}",
            idle,
            duration=flat,
            measure_rss=True,
            timeout=400,
            max_repeat=1,
            fanout_row=f"fanout-{idle}",
            about=f"{idle:,} idle members, then 10 senders flat out",
        ),
        Scenario(
            "fanout-100-history",
            100,
            duration=flat,
            server_args=["--history-db", "{tmpdir}/history.sqlite"],
            variant="history",
            about="fanout-100, chatproto with --history-db against without",
        ),
    ]


# ---------------------------------------------------------------- processes


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def preexec(core: int | None) -> Callable[[], None]:
    def setup() -> None:
        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
        if core is not None:
            os.sched_setaffinity(0, {core})

    return setup


def proc_cpu(pid: int) -> float:
    """User + system CPU seconds of a process (all its threads)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return float("nan")
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def proc_wait(pid: int) -> float:
    """Seconds the process's main thread spent runnable but waiting for a CPU
    (/proc/PID/schedstat): high when something else ran on its core."""
    try:
        return int(Path(f"/proc/{pid}/schedstat").read_text().split()[1]) / 1e9
    except (OSError, IndexError, ValueError):
        return float("nan")


def proc_rss_kib(pid: int) -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return float(line.split()[1])
    except OSError:
        pass
    return float("nan")


def listen_overflows() -> int:
    """TcpExt ListenOverflows: connections dropped because an accept queue was
    full (machine-wide, but this benchmark is all that runs)."""
    lines = Path("/proc/net/netstat").read_text().splitlines()
    for head, values in zip(lines[::2], lines[1::2], strict=False):
        if head.startswith("TcpExt:"):
            table = dict(zip(head.split()[1:], values.split()[1:], strict=False))
            return int(table.get("ListenOverflows", 0))
    return 0


def wait_listening(
    proc: subprocess.Popen[bytes], port: int, limit: float, proto: str
) -> str:
    """Wait until the server accepts and greets with NICK (chat), or until it
    registers a probe client (IRC: 001 after NICK and USER); '' when ready."""
    end = time.monotonic() + limit
    while time.monotonic() < end:
        if proc.poll() is not None:
            return f"server exited with {proc.returncode}"
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=2) as s:
                if proto == "irc":
                    return irc_probe(s, end)
                data = b""
                while b"\n" not in data:
                    chunk = s.recv(100)
                    if not chunk:
                        break
                    data += chunk
                if data.startswith(b"NICK"):
                    return ""
                return f"server greeted with {data[:40]!r}, not NICK"
        except OSError:
            time.sleep(0.05)
    return f"server not listening after {limit:.0f} s"


def irc_probe(s: socket.socket, end: float) -> str:
    """Register as 'probe', wait for 001, quit; '' when it worked."""
    s.sendall(b"NICK probe\r\nUSER probe 0 * :benchmark probe\r\n")
    data = b""
    while time.monotonic() < end and len(data) < 65536:
        s.settimeout(max(0.1, end - time.monotonic()))
        chunk = s.recv(4096)
        if not chunk:
            break
        data += chunk
        for line in data.split(b"\n"):
            if line.split(b" ")[1:2] == [b"001"]:
                s.sendall(b"QUIT\r\n")
                return ""
    return f"no 001 from the IRC server; it said {data[-80:]!r}"


class LineReader:
    """Lines from a pipe, with a deadline, without threads."""

    def __init__(self, fd: int) -> None:
        self.fd = fd
        self.buf = b""

    def readline(self, deadline: float) -> str | None:
        while b"\n" not in self.buf:
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            ready, _, _ = select.select([self.fd], [], [], left)
            if ready:
                chunk = os.read(self.fd, 65536)
                if not chunk:
                    return None
                self.buf += chunk
        line, self.buf = self.buf.split(b"\n", 1)
        return line.decode()


def say(text: str) -> None:
    print(f"run.py: {text}", file=sys.stderr, flush=True)


def stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGKILL)
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        pass


@dataclass
class Target:
    name: str
    cmd: list[str]  # with {port} and {tmpdir} (and {config})
    extra_ok: bool  # gets Scenario.server_args
    proto: str = "chat"  # loadgen --proto: chat or irc
    # writes the server's configuration: (tmpdir, port) -> file, as {config}
    config: Callable[[Path, int], Path] | None = None
    join_concurrency: int = 0  # instead of the scenario's (0: the scenario's)


def targets_for(sc: Scenario, targets: list[Target]) -> list[Target]:
    """The servers a scenario runs: the IRC peers only if it says so; for a
    variant scenario, chatproto without its server_args and with them; for
    several rooms, chatproto (and --also) only."""
    if sc.rooms > 1:  # /join before the nickname: chatproto's servers only
        return [t for t in targets if t.extra_ok]
    if not sc.variant:
        return [t for t in targets if t.proto == "chat" or sc.peers]
    out = []
    for target in targets:
        if target.extra_ok and target.name == "chatproto":
            out.append(Target(target.name, target.cmd, False))
            out.append(Target(sc.variant, target.cmd, True))
    return out


def measure(
    sc: Scenario, target: Target, cores: tuple[int, int] | None, logdir: Path
) -> dict[str, Any]:
    """One run of one scenario against one server; never raises on failure."""
    port = free_port()
    tmpdir = tempfile.mkdtemp(prefix="chatbench-")
    subst = {"port": str(port), "tmpdir": tmpdir}
    if target.config:
        subst["config"] = str(target.config(Path(tmpdir), port))
    cmd = [a.format(**subst) for a in target.cmd]
    if target.extra_ok:
        cmd += [a.format(**subst) for a in sc.server_args]
    log_name = f"{sc.name}-{target.name}-{port}"
    log = open(logdir / f"{log_name}.log", "wb")  # noqa: SIM115
    window = sc.window or max(4, min(256, 20000 // sc.members))
    concurrency = target.join_concurrency or sc.concurrency
    row: dict[str, Any] = {
        "scenario": sc.name,
        "server": target.name,
        "cmd": cmd,
        "proto": target.proto,
        "window": window,
        "concurrency": concurrency,
    }
    server_core, gen_core = cores if cores else (None, None)
    server = subprocess.Popen(
        cmd,
        stdin=subprocess.DEVNULL,
        stdout=log,
        stderr=subprocess.STDOUT,
        preexec_fn=preexec(server_core),
    )
    gen: subprocess.Popen[bytes] | None = None
    try:
        problem = wait_listening(server, port, 20, target.proto)
        if problem:
            row.update(status="NOSTART", detail=problem)
            return row
        time.sleep(0.2)
        rss0, cpu0, ovf0 = proc_rss_kib(server.pid), proc_cpu(server.pid), 0
        ovf0 = listen_overflows()
        args = [
            str(LOADGEN_BIN),
            "--interactive",
            "--proto",
            target.proto,
            "--port",
            str(port),
            "--members",
            str(sc.members),
            "--senders",
            str(sc.senders),
            "--concurrency",
            str(concurrency),
            "--duration",
            str(sc.duration),
            "--window",
            str(window),
            "--rate",
            str(sc.rate),
            "--timeout",
            str(sc.timeout),
            "--stall",
            str(sc.stall),
        ]
        if sc.rooms > 1:
            args += ["--rooms", str(sc.rooms)]
        t_start = time.monotonic()
        gen = subprocess.Popen(
            args,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            preexec_fn=preexec(gen_core),
        )
        assert gen.stdout is not None and gen.stdin is not None
        reader = LineReader(gen.stdout.fileno())
        deadline = t_start + sc.timeout + 30
        cpu_settled = rss_settled = wait_settled = float("nan")
        wait0 = proc_wait(server.pid)
        result: dict[str, Any] | None = None
        while result is None:
            line = reader.readline(deadline)
            if line is None:
                break
            tag, _, payload = line.partition(" ")
            if tag == "SETTLED":
                cpu_settled = proc_cpu(server.pid)
                wait_settled = proc_wait(server.pid)
                if sc.measure_rss:
                    time.sleep(1.0)  # let the server go quiet
                    rss_settled = proc_rss_kib(server.pid)
                    cpu_settled = proc_cpu(server.pid)
                    wait_settled = proc_wait(server.pid)
                gen.stdin.write(b"GO\n")
                gen.stdin.flush()
            elif tag == "RESULT":
                result = json.loads(payload)
        cpu_end, rss_end = proc_cpu(server.pid), proc_rss_kib(server.pid)
        wait_end = proc_wait(server.pid)
        row["wall_s"] = time.monotonic() - t_start
        if result is None:
            row.update(status="STALLED", detail=f"killed after {row['wall_s']:.0f} s")
            gen.kill()
        else:
            row.update(result)
        if server.poll() is not None:
            row.update(status="SERVER-DIED", detail=f"exit {server.returncode}")
        stop(server)
        try:
            gen.stdin.close()
        except OSError:
            pass
        _, _, usage = os.wait4(gen.pid, 0)
        gen.returncode = 0
        row["listen_overflows"] = listen_overflows() - ovf0
        row["gen_cpu_total_s"] = usage.ru_utime + usage.ru_stime
        row["srv_cpu_join_s"] = cpu_settled - cpu0
        row["srv_cpu_send_s"] = cpu_end - cpu_settled
        row["srv_cpu_total_s"] = cpu_end - cpu0
        row["rss_base_kib"] = rss0
        row["rss_settled_kib"] = rss_settled
        row["rss_end_kib"] = rss_end
        if sc.measure_rss:
            row["rss_per_member_kib"] = (rss_settled - rss0) / sc.members
        row["srv_wait_join_s"] = wait_settled - wait0
        row["srv_wait_send_s"] = wait_end - wait_settled
        if row.get("send_s"):
            row["srv_util"] = row["srv_cpu_send_s"] / row["send_s"]
            row["srv_wait"] = row["srv_wait_send_s"] / row["send_s"]
        if row.get("join_s"):
            row["srv_util_join"] = row["srv_cpu_join_s"] / row["join_s"]
            row["srv_wait_join"] = row["srv_wait_join_s"] / row["join_s"]
        if row.get("deliveries"):
            row["srv_us_per_delivery"] = row["srv_cpu_send_s"] / row["deliveries"] * 1e6
        return row
    finally:
        if gen is not None and gen.poll() is None:
            gen.kill()
            gen.wait()
        stop(server)
        log.close()
        for own_log in Path(tmpdir).glob("*.log"):  # a peer's own log file
            shutil.copy(own_log, logdir / f"{log_name}-{own_log.name}")
        shutil.rmtree(tmpdir, ignore_errors=True)


# ---------------------------------------------------------------- reporting


def med(rows: list[dict[str, Any]], key: str) -> float | None:
    values = [r[key] for r in rows if isinstance(r.get(key), int | float)]
    values = [v for v in values if v == v and v >= 0]  # drop NaN and "none" (-1)
    return statistics.median(values) if values else None


@dataclass
class Summary:
    scenario: str
    server: str
    runs: list[dict[str, Any]]

    @property
    def ok(self) -> bool:
        return bool(self.runs) and all(r.get("status") == "OK" for r in self.runs)

    @property
    def status(self) -> str:
        if self.ok:
            return "OK"
        bad = [r.get("status", "?") for r in self.runs if r.get("status") != "OK"]
        return f"{'/'.join(sorted(set(bad)))} {len(bad)}/{len(self.runs)}"

    def m(self, key: str) -> float | None:
        """Median over runs; None (shown as '-') when any run failed."""
        return med(self.runs, key) if self.ok else None


def fmt(v: float | None, spec: str, scale: float = 1.0) -> str:
    return "-" if v is None else format(v * scale, spec)


COLUMNS = [
    ("scenario", 18),
    ("server", 9),
    ("result", 16),
    ("deliv/s", 10),
    ("p50 ms", 7),
    ("p99 ms", 7),
    ("max ms", 8),
    ("join s", 7),
    ("KiB/mbr", 7),
    ("srv CPU", 7),
    ("gen CPU", 7),
    ("us/deliv", 8),
    ("srv %", 5),
    ("wait %", 6),
    ("ovfl", 5),
    ("vs base", 7),
]


def table(head: list[str], widths: list[int], rows: list[list[str]]) -> list[str]:
    """An reStructuredText simple table."""
    rule = " ".join("=" * w for w in widths)

    def line(cells: list[str]) -> str:
        return " ".join(f"{c:<{w}}" for c, w in zip(cells, widths, strict=True))

    return [rule, line(head), rule, *(line(r) for r in rows), rule]


def table_lines(rows: list[list[str]]) -> list[str]:
    return table([h for h, _ in COLUMNS], [w for _, w in COLUMNS], rows)


# What the peer table compares, per kind of scenario: label, key, format, scale.
PEER_METRICS = {
    "fanout": [("deliv/s", "deliveries_per_s", ",.0f", 1.0)],
    "latency": [
        ("p50 ms", "lat_p50_us", ".2f", 1e-3),
        ("p99 ms", "lat_p99_us", ".2f", 1e-3),
        ("us/deliv", "srv_us_per_delivery", ".2f", 1.0),
    ],
}


def peer_lines(summ: dict[tuple[str, str], Summary], servers: list[str]) -> list[str]:
    """chatproto's key numbers next to each peer's, and chatproto / peer."""
    others = [s for s in servers if s != "chatproto"]
    if "chatproto" not in servers or not others:
        return []

    def cell(s: Summary | None, key: str, spec: str, scale: float) -> str:
        if s is None:  # this peer does not run this scenario
            return ""
        return fmt(s.m(key), spec, scale) if s.ok else s.status

    rows = []
    for (scn, srv), mine in summ.items():
        theirs = [summ.get((scn, o)) for o in others]
        if srv != "chatproto" or kind(scn) not in PEER_METRICS or not any(theirs):
            continue
        for label, key, spec, scale in PEER_METRICS[kind(scn)]:
            ratios = []
            for peer in theirs:
                a, b = mine.m(key), peer.m(key) if peer else None
                ratios.append(f"{a / b:.2f}x" if a is not None and b else "-")
            values = [cell(s, key, spec, scale) for s in (mine, *theirs)]
            rows.append([scn, label, *values, *ratios])
    head = ["scenario", "metric", "chatproto", *others, *(f"vs {o}" for o in others)]
    return table(head, [18, 8] + [11] * (1 + 2 * len(others)), rows)


def kind(name: str) -> str:
    head = name.split("-")[0]
    return "fanout" if head == "rooms" else head  # rooms-*: fan-out, per room


def summary_row(s: Summary, base: Summary | None) -> list[str]:
    k = kind(s.scenario)
    send = k in ("fanout", "latency")
    d, p50, p99 = s.m("deliveries_per_s"), s.m("lat_p50_us"), s.m("lat_p99_us")
    mx, join, rss = s.m("lat_max_us"), s.m("join_s"), s.m("rss_per_member_kib")
    srv = s.m("srv_cpu_send_s" if send else "srv_cpu_join_s")
    gen = s.m("gen_cpu_send_s" if send else "gen_cpu_join_s")
    vs = "-"
    if base is not None and base is not s:
        ref = base_ref(base, k)
        mine = s.m(KEY[k])
        if ref and mine:
            vs = f"{mine / ref:.2f}x"
    return [
        s.scenario,
        s.server,
        s.status,
        fmt(d, ",.0f") if send else "-",
        fmt(p50, ".2f", 1e-3) if send else "-",
        fmt(p99, ".2f", 1e-3) if send else "-",
        fmt(mx, ".1f", 1e-3) if send else "-",
        fmt(join, ".2f") if not send else "-",
        fmt(rss, ".2f") if k == "idle" else "-",
        fmt(srv, ".2f"),
        fmt(gen, ".2f"),
        fmt(s.m("srv_us_per_delivery"), ".2f") if send else "-",
        fmt(s.m("srv_util" if send else "srv_util_join"), ".0f", 100),
        fmt(s.m("srv_wait" if send else "srv_wait_join"), ".0f", 100),
        fmt(med(s.runs, "listen_overflows"), ".0f"),
        vs,
    ]


# The stated bound for --history-db (docs/performance.rst): fan-out with it
# keeps at least this fraction of chatproto's in-memory rate, same run.
HISTORY_FRACTION = 0.5

KEY = {
    "fanout": "deliveries_per_s",
    "latency": "lat_p99_us",
    "storm": "join_s",
    "idle": "rss_per_member_kib",
}


def base_ref(base: Summary, k: str) -> float | None:
    """The baseline's value to compare with.  A storm the baseline fails to
    complete still has a time: until its last member that did join joined, a
    lower bound of its real time (so the target gets harder, not easier)."""
    if k == "storm" and not base.ok:
        return med(base.runs, "join_s")
    return base.m(KEY[k])


def targets(summ: dict[tuple[str, str], Summary], quick: bool) -> list[list[str]]:
    def get(scn: str, srv: str) -> Summary | None:
        for (name, server), s in summ.items():
            if server == srv and (name == scn or kind(name) == scn):
                return s
        return None

    out = []
    # scenario, requirement, ratio needed, server measured, its reference
    specs = [
        ("fanout-100", "deliveries/s >= 2.6x baseline", 2.6, "chatproto", "baseline"),
        ("fanout-1000", "deliveries/s >= 2x baseline", 2.0, "chatproto", "baseline"),
        (
            "fanout-100-history",
            f"deliveries/s >= {HISTORY_FRACTION}x in memory",
            HISTORY_FRACTION,
            "history",
            "chatproto",
        ),
    ]
    for scn, text, need, mine_srv, ref_srv in specs:
        s, b = get(scn, mine_srv), get(scn, ref_srv)
        if s and b:
            mine, ref = s.m(KEY["fanout"]), b.m(KEY["fanout"])
            if mine and ref:
                out.append([scn, text, f"{mine / ref:.2f}x", ok(mine / ref >= need)])
            else:
                out.append([scn, text, s.status, "NO" if not s.ok else "n/a"])
    s = get("latency-light", "chatproto")
    if s:
        p99 = s.m("lat_p99_us")
        value = fmt(p99, ".2f", 1e-3) + " ms" if p99 is not None else s.status
        out.append(
            ["latency-light", "p99 <= 1 ms", value, ok(p99 is not None and p99 <= 1000)]
        )
    # issue 12: at or ahead of every C IRC server measured in the same run (not
    # the floor: it is what the machine allows, a reference row, not a target)
    for (scn, srv), s in summ.items():
        theirs = {n: summ[(scn, n)] for n in PEERS if (scn, n) in summ}
        if srv == "chatproto" and kind(scn) in ("fanout", "latency") and theirs:
            out.append(ahead_of_peers(s, theirs))
    s, b = get("storm", "chatproto"), get("storm", "baseline")
    if s and b:
        ref, mine = base_ref(b, "storm"), s.m("join_s")
        text = "all join, time < 0.5x baseline"
        if mine is not None and ref:
            note = "" if b.ok else " (baseline failed: its partial time)"
            out.append(
                [s.scenario, text, f"{mine / ref:.2f}x{note}", ok(mine < 0.5 * ref)]
            )
        else:
            out.append([s.scenario, text, s.status, "NO"])
    s = get("idle", "chatproto")
    if s:
        rss = s.m("rss_per_member_kib")
        value = f"{rss:.2f} KiB" if rss is not None else s.status
        out.append(
            [
                s.scenario,
                "<= 10 KiB RSS per member",
                value,
                ok(rss is not None and rss <= 10),
            ]
        )
    if quick:
        for r in out:
            r[3] += " (quick)"
    return out


def ahead_of_peers(s: Summary, theirs: dict[str, Summary]) -> list[str]:
    """Target row: chatproto's deliveries/s at least, or its p50 and p99 at
    most, the best peer's; nothing lost (a failed run has no numbers)."""
    text = "at or ahead of " + " and ".join(theirs)
    failed = [n for n, p in theirs.items() if not p.ok]
    if not s.ok or failed:
        who = f"chatproto {s.status}" if not s.ok else f"{failed[0]} failed"
        return [s.scenario, text, who, "NOT MET" if not s.ok else "n/a"]
    if kind(s.scenario) == "fanout":
        mine = s.m("deliveries_per_s") or 0.0
        best = max(p.m("deliveries_per_s") or 0.0 for p in theirs.values())
        measured = f"{mine / 1e6:.2f}M vs best {best / 1e6:.2f}M deliv/s"
        return [s.scenario, text, measured, ok(mine >= best)]
    cells, met = [], True
    for label, key in (("p50", "lat_p50_us"), ("p99", "lat_p99_us")):
        mine = s.m(key) or 0.0
        best = min(p.m(key) or 0.0 for p in theirs.values())
        cells.append(f"{label} {mine / 1e3:.2f} vs {best / 1e3:.2f}")
        met = met and mine <= best
    return [s.scenario, text, ", ".join(cells) + " ms", ok(met)]


def ok(flag: bool) -> str:
    return "MET" if flag else "NOT MET"


# ---------------------------------------------------------------- main


def build_c(src: Path, binary: Path) -> None:
    """Compile src to binary (gcc -O2), unless binary is newer."""
    binary.parent.mkdir(exist_ok=True)
    if binary.exists() and binary.stat().st_mtime >= src.stat().st_mtime:
        return
    cc = shutil.which("gcc") or shutil.which("cc")
    if not cc:
        sys.exit("run.py: no C compiler (gcc) found.\n" + INSTALL_HINT)
    subprocess.run([cc, "-O2", "-Wall", "-o", str(binary), str(src)], check=True)


def build_loadgen() -> None:
    build_c(LOADGEN_SRC, LOADGEN_BIN)


def floor_target() -> Target:
    """The floor peer: floor_server.c, built next to the load generator."""
    build_c(FLOOR_SRC, FLOOR_BIN)
    return Target(FLOOR, [str(FLOOR_BIN), "--port", "{port}"], False, "irc")


def find_twistd() -> str | None:
    here = Path(sys.executable).parent / "twistd"
    return str(here) if here.exists() else shutil.which("twistd")


def has_chatroom(twistd: str) -> bool:
    try:
        out = subprocess.run(
            [twistd, "--help"], capture_output=True, text=True, timeout=60
        ).stdout
    except (OSError, subprocess.TimeoutExpired):
        return False
    return any(line.split()[:1] == ["chatroom"] for line in out.splitlines())


def chatproto_target(server_cmd: str | None, server_args: str) -> Target | None:
    if server_cmd:
        cmd = shlex.split(server_cmd)
    else:
        twistd = find_twistd()
        if not twistd or not has_chatroom(twistd):
            say(
                "no twistd with the chatroom plugin; chatproto NOT MEASURED.\n"
                + INSTALL_HINT
            )
            return None
        cmd = [twistd, *DEFAULT_SERVER_CMD[1:]]
    return Target("chatproto", cmd + shlex.split(server_args), True)


def environment() -> dict[str, Any]:
    cpu = "?"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    commit = subprocess.run(
        ["git", "-C", str(HERE), "rev-parse", "--short", "HEAD"],
        capture_output=True,
        text=True,
    ).stdout.strip()
    return {
        "date": datetime.datetime.now().astimezone().isoformat(timespec="seconds"),
        "cpu": cpu,
        "cores": os.cpu_count(),
        "kernel": platform.release(),
        "python": platform.python_version(),
        "commit": commit,
        "somaxconn": Path("/proc/sys/net/core/somaxconn").read_text().strip(),
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument(
        "--quick", action="store_true", help="smaller and shorter, 1 repeat"
    )
    ap.add_argument(
        "--only",
        action="append",
        default=[],
        metavar="SCENARIO",
        help="run only these (comma-separated or repeated); see --list",
    )
    ap.add_argument("--repeat", type=int, default=None, help="runs per measurement (3)")
    ap.add_argument(
        "--server-cmd",
        default=None,
        help="command for the server under test, with {port} (and {tmpdir}); "
        "default: " + " ".join(DEFAULT_SERVER_CMD) + "; it must exec the server "
        "(its pid is the one measured)",
    )
    ap.add_argument(
        "--server-args",
        default="",
        help="extra arguments for the server under test, every scenario",
    )
    ap.add_argument(
        "--peers",
        default=",".join(ALL_PEERS),
        metavar="PEER[,PEER]",
        help="the servers chatproto is compared with: any of "
        + ", ".join(ALL_PEERS)
        + " (default: all), or 'none'; floor is floor_server.c, the least a "
        "fan-out server can do (a reference, not a target)",
    )
    ap.add_argument(
        "--no-baseline",
        action="store_true",
        help="same as leaving baseline out of --peers",
    )
    ap.add_argument(
        "--also",
        action="append",
        default=[],
        metavar="NAME=CMD",
        help="another chatproto server (a command like --server-cmd's), in the "
        "same run under the row NAME: an A/B of a change or a lever "
        "(benchmarks/ablate.py); repeatable",
    )
    ap.add_argument("--no-server", action="store_true", help="peers only")
    ap.add_argument("--no-pin", action="store_true", help="do not pin to cores")
    ap.add_argument("--list", action="store_true", help="list scenarios and exit")
    ap.add_argument("--json", type=Path, default=None, help="raw results file")
    args = ap.parse_args(argv)

    all_scn = scenarios(args.quick)
    if args.list:
        for sc in all_scn:
            extra = "  (IRC peers and floor too)" if sc.peers else ""
            extra += "" if sc.default else "  (only with --only)"
            print(f"{sc.name:<20} {sc.about}{extra}")
        return 0
    only = {n for item in args.only for n in item.split(",") if n}
    unknown = only - {sc.name for sc in all_scn}
    if unknown:
        ap.error(f"unknown scenario(s) {', '.join(sorted(unknown))}; see --list")
    chosen = [sc for sc in all_scn if (sc.name in only if only else sc.default)]
    repeat = args.repeat if args.repeat is not None else (1 if args.quick else 3)
    wanted = [n for n in args.peers.split(",") if n and n != "none"]
    if set(wanted) - set(ALL_PEERS):
        bad = ", ".join(sorted(set(wanted) - set(ALL_PEERS)))
        ap.error(f"unknown peer(s) {bad}; choose from {', '.join(ALL_PEERS)}")
    if args.no_baseline and "baseline" in wanted:
        wanted.remove("baseline")

    try:
        import twisted  # noqa: F401
    except ImportError:
        sys.exit("run.py: Twisted is not importable by this Python.\n" + INSTALL_HINT)
    build_loadgen()
    stamp = time.strftime("%Y%m%d-%H%M%S")
    logdir = RESULTS / f"logs-{stamp}"
    logdir.mkdir(parents=True, exist_ok=True)

    targets_list: list[Target] = []
    if "baseline" in wanted:
        cmd = [sys.executable, str(BASELINE), "{port}"]
        targets_list.append(Target("baseline", cmd, False))
    if not args.no_server:
        chatproto = chatproto_target(args.server_cmd, args.server_args)
        if chatproto:
            targets_list.append(chatproto)
    for also in args.also:
        name, sep, cmd = also.partition("=")
        if not sep or not name or not cmd or name in ("chatproto", *ALL_PEERS):
            ap.error(f"--also {also!r}: NAME=CMD, NAME not chatproto or a peer")
        targets_list.append(Target(name, shlex.split(cmd), True))
    irc_wanted = [n for n in wanted if n in PEERS]
    absent: dict[str, str] = {}
    if any(sc.peers for sc in chosen) and irc_wanted:
        found, absent = find_peers(irc_wanted, logdir / "apt-get.log", say)
        for name, cmd in found.items():
            peer = PEERS[name]
            targets_list.append(
                Target(
                    name, cmd, False, "irc", peer.write_config, peer.join_concurrency
                )
            )
        for name, why in absent.items():
            say(f"peer {name} NOT MEASURED: {why}")
    if any(sc.peers for sc in chosen) and FLOOR in wanted:
        targets_list.append(floor_target())
    if not targets_list:
        sys.exit("run.py: nothing to measure")
    if len(targets_list) == 1:
        say(f"measuring {targets_list[0].name} alone: the table has no ratios")

    cores: tuple[int, int] | None = None
    avail = sorted(os.sched_getaffinity(0))
    if not args.no_pin and len(avail) >= 2:
        cores = (avail[-1], avail[0])  # server, load generator (and this runner)
        os.sched_setaffinity(0, {avail[0]})
    else:
        print("run.py: not pinning (fewer than 2 cores or --no-pin)", file=sys.stderr)
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    need = max(sc.members for sc in chosen) + 100
    if hard < need:
        print(
            f"run.py: warning: file descriptor limit {hard} < {need}; raise "
            "`ulimit -Hn`",
            file=sys.stderr,
        )

    env = environment()
    pin = (
        f"server on core {cores[0]}, load generator on core {cores[1]}"
        if cores
        else "unpinned"
    )
    print(
        f"# {env['date']}  {env['cpu']} x{env['cores']}  Linux {env['kernel']}  "
        f"Python {env['python']}  commit {env['commit']}  ({pin})",
        file=sys.stderr,
    )

    raw: list[dict[str, Any]] = []
    total = sum(
        min(repeat, sc.max_repeat or repeat) * len(targets_for(sc, targets_list))
        for sc in chosen
    )
    done = 0
    t_suite = time.monotonic()
    for sc in chosen:
        n = min(repeat, sc.max_repeat or repeat)
        for i in range(n):
            servers = targets_for(sc, targets_list)
            order = servers if i % 2 == 0 else servers[::-1]
            for target in order:
                done += 1
                row = measure(sc, target, cores, logdir)
                row["repeat"] = i
                raw.append(row)
                print(f"[{done}/{total}] {progress(row)}", file=sys.stderr, flush=True)

    # summaries; an idle run also yields a fan-out row from its send phase
    summ: dict[tuple[str, str], Summary] = {}
    # scenario -> the server its rows are compared with
    reference = {sc.name: "chatproto" if sc.variant else "baseline" for sc in chosen}
    for sc in chosen:
        for target in targets_for(sc, targets_list):
            runs = [
                r
                for r in raw
                if r["scenario"] == sc.name and r["server"] == target.name
            ]
            summ[(sc.name, target.name)] = Summary(sc.name, target.name, runs)
            if sc.fanout_row:
                summ[(sc.fanout_row, target.name)] = Summary(
                    sc.fanout_row, target.name, runs
                )
    rows = []
    for (scn, _srv), s in summ.items():
        base = summ.get((scn, reference.get(scn, "baseline")))
        rows.append(summary_row(s, base))
    lines = table_lines(rows)
    vs_peers = peer_lines(summ, [t.name for t in targets_list])
    tgt = targets(summ, args.quick)
    wall = time.monotonic() - t_suite
    print()
    print(
        f"chatproto benchmark, {env['date']}, {env['cpu']}, {env['cores']} cores, "
        f"{pin}; medians of {repeat} run(s); suite took {wall:.0f} s"
    )
    print()
    print("\n".join(lines))
    print()
    print(
        "deliv/s: messages received per second by the members other than their "
        "sender (chatproto's echo to the sender is read but not counted: IRC "
        "servers send none); latency from the send time stamp; srv/gen CPU: CPU "
        "seconds of the server/load generator in the send phase (join phase for "
        "storm/idle); us/deliv: server CPU per delivery; srv %: server CPU / wall "
        "time of that phase; wait %: time the server was runnable but its core "
        "ran something else (noise); ovfl: listen-queue overflows (TcpExt "
        "ListenOverflows); vs base: ratio to the baseline of the scenario's key "
        "number."
    )
    if vs_peers:
        print()
        print(
            "chatproto against each peer (vs: chatproto / peer; more deliv/s and "
            "fewer ms and us/deliv are better):"
        )
        print()
        print("\n".join(vs_peers))
    if tgt:
        print()
        head = ["target", "requirement", "measured", "met"]
        print("\n".join(table(head, [18, 34, 44, 16], tgt)))
    for name, why in absent.items():
        print(f"peer {name} NOT MEASURED: {why}")
    for r in raw:
        if r.get("status") != "OK":
            print(
                f"failure: {r['scenario']} {r['server']} #{r['repeat']}: "
                f"{r.get('status')} {r.get('detail', '')}{joined(r)}"
            )
        gen_s = r.get("send_s") or 0
        if gen_s and r.get("gen_cpu_send_s", 0) > 0.8 * gen_s:
            print(
                f"warning: {r['scenario']} {r['server']} #{r['repeat']}: the load "
                "generator was busy > 80% of the send phase"
            )
    out = args.json or RESULTS / f"run-{stamp}.json"
    out.write_text(json.dumps({"env": env, "argv": sys.argv, "runs": raw}, indent=1))
    print(f"\nraw results: {out}; server logs: {logdir}")
    return 0 if all(r.get("status") == "OK" for r in raw) else 1


def joined(r: dict[str, Any]) -> str:
    if "joined" not in r:
        return ""
    return (
        f" ({r['joined']}/{r['members']} joined, the last at {r['join_s']:.1f} s; "
        f"{r.get('listen_overflows', 0)} listen-queue overflows)"
    )


def progress(r: dict[str, Any]) -> str:
    head = f"{r['scenario']} {r['server']} #{r['repeat']}: {r.get('status')}"
    if r.get("status") != "OK":
        return f"{head} {r.get('detail', '')}{joined(r)}"
    if r.get("deliveries"):
        return (
            f"{head} {r['deliveries_per_s']:,.0f} deliveries/s, p99 "
            f"{r['lat_p99_us'] / 1e3:.2f} ms, server CPU {r['srv_cpu_send_s']:.2f} s, "
            f"generator CPU {r['gen_cpu_send_s']:.2f} s"
        )
    extra = ""
    if r.get("rss_per_member_kib") is not None:
        extra = f", {r['rss_per_member_kib']:.2f} KiB RSS per member"
    return (
        f"{head} {r['joined']} joined in {r['join_s']:.2f} s, handshake p99 "
        f"{r['hs_p99_ms']:.0f} ms{extra}"
    )


if __name__ == "__main__":
    sys.exit(main())
