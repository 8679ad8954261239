#!/usr/bin/env python3
"""A connection flood against a chatproto server on loopback, and what it does
to the members already there and to a newcomer.

    python benchmarks/flood.py --old-twistd /tmp/chatproto-c1b19d0/bin/twistd
    python benchmarks/flood.py --quick           # one repeat, this server only
    python benchmarks/flood.py --setup-old       # build that venv from c1b19d0

The server listens on an ``ssl:`` port (a self-signed certificate made in a
temporary directory) on 127.0.0.1, with ``--handshake-timeout`` and
``--max-clients`` small enough to matter. Ten members join, then one flood
runs (or none: the baseline, measured in the same run):

* ``silent``: TCP connections that never send a byte (no TLS ClientHello);
* ``tls-stall``: connections that send the first half of a TLS ClientHello
  and stall;
* ``chatty``: TLS connections that never choose a nickname and stream
  ``/ids on`` lines (half of them) or junk lines (the other half) as fast as
  the server reads them;
* ``all``: the three at once.

The flood opens at most ``--open-rate`` connections a second in all, shared
between its kinds, keeps at most ``--sockets`` of each kind open (replacing
those the server closes), and stops after the window: bounded in count and
time. During the window every member sends
a line every 0.3 s (under the default ``--rate``) and times its own echo;
every 1.5 s a newcomer connects and must join (its own ``JOIN``) within the
handshake timeout. The table gives medians over ``--repeat`` runs of the
echo latency p50 and p99, echoes lost, newcomers that joined, and the
server's CPU share during the window.

The server under test is the installed ``twistd`` next to this Python (as
benchmarks/run.py); ``--old-twistd`` adds another, e.g. chatproto before the
hardening of issue 11 (commit c1b19d0), measured in the same run.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import ssl
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from run import free_port, proc_cpu  # benchmarks/ is on the path

HERE = Path(__file__).resolve().parent
KINDS = ["silent", "tls-stall", "chatty"]
FLOODS = ["none", *KINDS, "all"]
MEMBERS = 10
ECHO_EVERY = 0.3  # seconds between a member's lines: 3.3/s, under --rate 5
NEWCOMER_EVERY = 1.5
OLD_COMMIT = "c1b19d0"


# ------------------------------------------------------------------ runner


def make_certificate(directory: Path) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1: (cert, key) PEM files."""
    import datetime
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=2))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / "cert.pem", directory / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


def wait_tls_nick(proc: subprocess.Popen[bytes], port: int, limit: float) -> str:
    """'' once the server greets a TLS client with NICK; else why not."""
    import socket

    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    end = time.monotonic() + limit
    while time.monotonic() < end:
        if proc.poll() is not None:
            return f"server exited with {proc.returncode}"
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=2) as raw:
                with context.wrap_socket(raw) as s:
                    if s.recv(100).startswith(b"NICK"):
                        return ""
        except OSError:
            time.sleep(0.1)
    return f"server not greeting after {limit:.0f} s"


def pinned(core: int | None) -> Any:
    def setup() -> None:
        if core is not None:
            os.sched_setaffinity(0, {core})

    return setup


def stop(proc: subprocess.Popen[bytes] | None) -> None:
    if proc is not None and proc.poll() is None:
        proc.send_signal(signal.SIGKILL)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            pass


def trial(
    args: argparse.Namespace, twistd: str, flood: str, cores: list[int | None]
) -> dict[str, Any]:
    """One server, one flood (or none); never raises on a failed run."""
    tmp = Path(tempfile.mkdtemp(prefix="chatflood-"))
    cert, key = make_certificate(tmp)
    port = free_port()
    cmd = [
        twistd, "-n", "--pidfile=", "chatroom",
        "--port", f"ssl:{port}:privateKey={key}:certKey={cert}:interface=127.0.0.1",
        "--handshake-timeout", str(args.handshake_timeout),
        "--max-clients", str(args.max_clients),
    ]  # fmt: skip
    row: dict[str, Any] = {"flood": flood, "twistd": twistd}
    log = open(tmp / "server.log", "wb")  # noqa: SIM115
    server = subprocess.Popen(
        cmd, stdout=log, stderr=subprocess.STDOUT, preexec_fn=pinned(cores[1])
    )
    probe = flooder = None
    try:
        problem = wait_tls_nick(server, port, 30)
        if problem:
            row["status"] = "NOSTART: " + problem
            return row
        me = [sys.executable, __file__, "--port", str(port)]
        probe = subprocess.Popen(
            [*me, "--role", "probe", "--window", str(args.window),
             "--handshake-timeout", str(args.handshake_timeout)],
            stdout=subprocess.PIPE,
        )  # fmt: skip
        assert probe.stdout is not None
        if probe.stdout.readline().strip() != b"JOINED":
            row["status"] = "members did not join"
            return row
        if flood != "none":
            flooder = subprocess.Popen(
                [*me, "--role", "flood", "--kinds", flood,
                 "--seconds", str(args.window + 2),
                 "--sockets", str(args.sockets),
                 "--open-rate", str(args.open_rate)],
                stdout=subprocess.PIPE,
                preexec_fn=pinned(cores[0]),
            )  # fmt: skip
        cpu0, t0 = proc_cpu(server.pid), time.monotonic()
        out, _ = probe.communicate(timeout=args.window + 30)
        row["cpu"] = (proc_cpu(server.pid) - cpu0) / (time.monotonic() - t0)
        row.update(json.loads(out))
        if flooder is not None:
            flood_out, _ = flooder.communicate(timeout=30)
            row["flooder"] = json.loads(flood_out or b"{}")
        row["status"] = "ok"
        return row
    except (subprocess.TimeoutExpired, ValueError) as e:
        row["status"] = f"FAILED: {e}"
        return row
    finally:
        for proc in (flooder, probe, server):
            stop(proc)
        log.close()
        shutil.rmtree(tmp, ignore_errors=True)


def percentile(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(p * len(ordered)))]


def summary(rows: list[dict[str, Any]]) -> dict[str, float]:
    ok = [r for r in rows if r.get("status") == "ok"]
    if not ok:
        return {}

    def med(f: Any) -> float:
        return statistics.median(f(r) for r in ok)

    return {
        "runs": len(ok),
        "p50": med(lambda r: percentile(r["latencies"], 0.5) * 1000),
        "p99": med(lambda r: percentile(r["latencies"], 0.99) * 1000),
        "lost": med(lambda r: r["sent"] - len(r["latencies"])),
        "sent": med(lambda r: r["sent"]),
        "joined": med(lambda r: sum(n["ok"] for n in r["newcomers"])),
        "newcomers": med(lambda r: len(r["newcomers"])),
        "join_ms": med(
            lambda r: statistics.median(
                [n["seconds"] * 1000 for n in r["newcomers"] if n["ok"]] or [0]
            )
        ),
        "cpu": med(lambda r: r["cpu"] * 100),
        "members_left": med(lambda r: r["members_lost"]),
    }


def setup_old(where: Path) -> Path:
    """chatproto at OLD_COMMIT in a venv of its own; its twistd."""
    src = where / "src"
    if not (where / "bin" / "twistd").exists():
        src.mkdir(parents=True, exist_ok=True)
        archive = subprocess.run(
            ["git", "-C", str(HERE.parent), "archive", OLD_COMMIT],
            check=True,
            capture_output=True,
        ).stdout
        subprocess.run(["tar", "-x", "-C", str(src)], input=archive, check=True)
        subprocess.run([sys.executable, "-m", "venv", str(where)], check=True)
        pip = [str(where / "bin" / "pip"), "install", "-q", str(src)]
        subprocess.run(pip, check=True)
    return where / "bin" / "twistd"


def run(args: argparse.Namespace) -> int:
    servers = {"this": str(Path(sys.executable).parent / "twistd")}
    if args.setup_old:
        args.old_twistd = str(setup_old(Path(args.setup_old)))
    if args.old_twistd:
        servers[OLD_COMMIT] = args.old_twistd
    floods = args.floods.split(",")
    cpus = sorted(os.sched_getaffinity(0))
    cores: list[int | None] = [cpus[0], cpus[-1]] if args.pin else [None, None]
    results: dict[tuple[str, str], list[dict[str, Any]]] = {}
    started = time.monotonic()
    for n in range(args.repeat):
        for flood in floods:
            for name, twistd in servers.items():
                row = trial(args, twistd, flood, cores)
                results.setdefault((name, flood), []).append(row)
                print(
                    f"[{time.monotonic() - started:5.0f} s] run {n + 1} {name:8} "
                    f"{flood:9} {row['status']}",
                    file=sys.stderr,
                    flush=True,
                )
    print(
        f"\n{MEMBERS} members, window {args.window:g} s, --handshake-timeout "
        f"{args.handshake_timeout:g}, --max-clients {args.max_clients}, flood: "
        f"{args.open_rate:g} new connections a second in all, at most "
        f"{args.sockets} open of each kind; medians of {args.repeat}\n"
    )
    head = (
        f"{'server':9} {'flood':9} {'p50 ms':>8} {'p99 ms':>8} {'lost':>8} "
        f"{'newcomers':>10} {'join ms':>8} {'cpu %':>6} {'left':>5}"
    )
    print(head)
    print("-" * len(head))
    for flood in floods:
        for name in servers:
            s = summary(results[(name, flood)])
            if not s:
                print(f"{name:9} {flood:9} FAILED")
                continue
            print(
                f"{name:9} {flood:9} {s['p50']:8.1f} {s['p99']:8.1f} "
                f"{s['lost']:4.0f}/{s['sent']:<3.0f} "
                f"{s['joined']:4.0f}/{s['newcomers']:<5.0f} {s['join_ms']:8.1f} "
                f"{s['cpu']:6.0f} {s['members_left']:5.0f}"
            )
    print("\nnewcomers that did not join, and why (all runs):")
    for (name, flood), rows in results.items():
        whys: dict[str, int] = {}
        for r in rows:
            for n in r.get("newcomers", []):
                if not n["ok"]:
                    why = " ".join(n["why"].split()[:2])
                    whys[why] = whys.get(why, 0) + 1
        if whys:
            print(f"  {name} {flood}: {whys}")
    if args.json:
        raw = {f"{k[0]} {k[1]}": v for k, v in results.items()}
        Path(args.json).write_text(json.dumps(raw, indent=1))
    failed = any(r["status"] != "ok" for rows in results.values() for r in rows)
    return 1 if failed else 0


# ------------------------------------------------------------ client roles


def client_tls() -> Any:
    from twisted.internet import ssl as tssl

    # The benchmark's own self-signed server: nothing to verify.
    return tssl.CertificateOptions()


def partial_client_hello() -> bytes:
    """The first half of a real TLS ClientHello."""
    incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    tls = context.wrap_bio(incoming, outgoing)
    try:
        tls.do_handshake()
    except ssl.SSLWantReadError:
        pass
    hello = outgoing.read()
    return hello[: len(hello) // 2]


def probe_role(args: argparse.Namespace) -> None:
    """Members that time their echoes, and newcomers that must join."""
    from twisted.internet import reactor
    from twisted.internet.protocol import ClientFactory
    from twisted.protocols.basic import LineReceiver

    latencies: list[float] = []
    sent = [0]
    members_lost = [0]
    newcomers: list[dict[str, Any]] = []
    joined_members: list[Any] = []
    measuring = [False]

    class Member(LineReceiver):
        delimiter = b"\n"
        MAX_LENGTH = 1 << 20

        def __init__(self, nick: str, on_join: Any, newcomer: bool) -> None:
            self.nick = nick
            self.on_join = on_join
            self.newcomer = newcomer
            self.joined = False
            self.pending: dict[str, float] = {}
            self.seq = 0

        def lineReceived(self, line: bytes) -> None:
            text = line.decode("utf-8", "replace").rstrip("\r")
            if text == "NICK" and not self.joined:
                self.sendLine(self.nick.encode())
            elif text.startswith("ERROR") and not self.joined:
                self.on_join(self, False, text)
            elif text == f"JOIN {self.nick}" and not self.joined:
                self.joined = True
                self.on_join(self, True, "")
            elif text.startswith(f"MSG {self.nick} "):
                token = text.rsplit(" ", 1)[-1]
                when = self.pending.pop(token, None)
                if when is not None:
                    latencies.append(time.monotonic() - when)

        def speak(self) -> None:
            if not measuring[0] or self.transport is None:
                return
            self.seq += 1
            token = f"p{self.seq}"
            self.pending[token] = time.monotonic()
            sent[0] += 1
            self.sendLine(f"echo {token}".encode())
            reactor.callLater(ECHO_EVERY, self.speak)

        def connectionLost(self, reason: object = None) -> None:
            if self.joined and not self.newcomer and measuring[0]:
                members_lost[0] += 1
            if not self.joined:
                self.on_join(self, False, "connection closed")

    class OneFactory(ClientFactory):
        def __init__(self, protocol: Member) -> None:
            self.protocol_ = protocol

        def buildProtocol(self, addr: object) -> Member:
            return self.protocol_

        def clientConnectionFailed(self, connector: object, reason: Any) -> None:
            self.protocol_.on_join(self.protocol_, False, "connect failed")

    def connect(member: Member) -> None:
        reactor.connectSSL(
            "127.0.0.1", args.port, OneFactory(member), client_tls(), timeout=5
        )

    def member_joined(member: Member, ok: bool, why: str) -> None:
        if not ok:
            print(f"member {member.nick}: {why}", file=sys.stderr)
            reactor.stop()
            return
        joined_members.append(member)
        if len(joined_members) == MEMBERS:
            print("JOINED", flush=True)
            reactor.callLater(1.0, start)

    def start() -> None:
        measuring[0] = True
        for i, member in enumerate(joined_members):
            reactor.callLater(i * ECHO_EVERY / MEMBERS, member.speak)
        count = int(args.window / NEWCOMER_EVERY)
        for i in range(count):
            reactor.callLater((i + 1) * NEWCOMER_EVERY - 0.5, newcomer, i)
        reactor.callLater(args.window, finish)

    def newcomer(i: int) -> None:
        began = time.monotonic()
        record: dict[str, Any] = {"ok": False, "seconds": None, "why": "timeout"}
        newcomers.append(record)

        def done(member: Member, ok: bool, why: str) -> None:
            if record["seconds"] is not None:
                return
            record.update(ok=ok, seconds=time.monotonic() - began, why=why)
            if ok and member.transport is not None:
                member.transport.loseConnection()

        member = Member(f"new{i}", done, newcomer=True)
        connect(member)

        def too_late() -> None:
            if record["seconds"] is None:
                record.update(ok=False, seconds=args.handshake_timeout, why="timeout")
                if member.transport is not None:
                    member.transport.abortConnection()

        reactor.callLater(args.handshake_timeout, too_late)

    def finish() -> None:
        measuring[0] = False
        # Echoes still on their way get a second; later ones count as lost.
        reactor.callLater(1.0, reactor.stop)

    for i in range(MEMBERS):
        connect(Member(f"m{i}", member_joined, newcomer=False))
    reactor.callLater(args.window + 30, reactor.stop)  # bounded, whatever happens
    reactor.run()
    result = {
        "latencies": latencies,
        "sent": sent[0],
        "newcomers": newcomers,
        "members_lost": members_lost[0],
    }
    print(json.dumps(result), flush=True)


def flood_role(args: argparse.Namespace) -> None:
    """Keeps up to --sockets connections of each kind open, for --seconds."""
    from twisted.internet import reactor
    from twisted.internet.interfaces import IPullProducer
    from twisted.internet.protocol import ClientFactory, Protocol
    from twisted.internet.task import LoopingCall
    from zope.interface import implementer

    kinds = KINDS if args.kinds == "all" else args.kinds.split(",")
    hello = partial_client_hello()
    ids_chunk = b"/ids on\n" * 2048
    junk_chunk = b"\x01zz /frob 99999 junk \xff\xfe\n" * 512
    open_now = dict.fromkeys(kinds, 0)
    opened = dict.fromkeys(kinds, 0)
    closed_by_server = dict.fromkeys(kinds, 0)
    stopping = [False]

    @implementer(IPullProducer)
    class Stream:
        def __init__(self, transport: Any, chunk: bytes) -> None:
            self.transport = transport
            self.chunk = chunk

        def resumeProducing(self) -> None:
            self.transport.write(self.chunk)

        def stopProducing(self) -> None:
            pass

    class Flooder(Protocol):
        def __init__(self, kind: str, n: int) -> None:
            self.kind = kind
            self.n = n

        def connectionMade(self) -> None:
            if self.kind == "tls-stall":
                self.transport.write(hello)
            elif self.kind == "chatty":
                chunk = ids_chunk if self.n % 2 == 0 else junk_chunk
                self.transport.registerProducer(Stream(self.transport, chunk), False)

        def connectionLost(self, reason: object = None) -> None:
            open_now[self.kind] -= 1
            if not stopping[0]:
                closed_by_server[self.kind] += 1

    class Factory(ClientFactory):
        def __init__(self, kind: str, n: int) -> None:
            self.kind, self.n = kind, n

        def buildProtocol(self, addr: object) -> Flooder:
            return Flooder(self.kind, self.n)

        def clientConnectionFailed(self, connector: object, reason: object) -> None:
            open_now[self.kind] -= 1

    # --open-rate in all, shared between the kinds, ten ticks a second.
    per_tick = args.open_rate / len(kinds) / 10
    credit = dict.fromkeys(kinds, 0.0)

    def tick() -> None:
        for kind in kinds:
            credit[kind] = min(credit[kind] + per_tick, max(1.0, per_tick))
            while credit[kind] >= 1 and open_now[kind] < args.sockets:
                credit[kind] -= 1
                open_now[kind] += 1
                opened[kind] += 1
                factory = Factory(kind, opened[kind])
                if kind == "chatty":
                    reactor.connectSSL(
                        "127.0.0.1", args.port, factory, client_tls(), timeout=5
                    )
                else:
                    reactor.connectTCP("127.0.0.1", args.port, factory, timeout=5)

    opener = LoopingCall(tick)
    opener.start(0.1)

    def finish() -> None:
        stopping[0] = True
        opener.stop()
        reactor.stop()

    reactor.callLater(args.seconds, finish)
    reactor.run()
    print(json.dumps({"opened": opened, "closed_by_server": closed_by_server}))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="one repeat")
    parser.add_argument("--floods", default=",".join(FLOODS))
    parser.add_argument("--window", type=float, default=15.0)
    parser.add_argument("--handshake-timeout", type=float, default=3.0)
    parser.add_argument("--max-clients", type=int, default=100)
    parser.add_argument("--sockets", type=int, default=100, help="per kind")
    parser.add_argument("--open-rate", type=float, default=12.0, help="in all")
    parser.add_argument("--old-twistd", help=f"another server, e.g. at {OLD_COMMIT}")
    parser.add_argument(
        "--setup-old", metavar="DIR", help=f"install {OLD_COMMIT} in a venv at DIR"
    )
    parser.add_argument("--no-pin", dest="pin", action="store_false")
    parser.add_argument("--json", help="write the raw results here")
    # The client processes the runner starts.
    parser.add_argument("--role", choices=["probe", "flood"], help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--kinds", help=argparse.SUPPRESS)
    parser.add_argument("--seconds", type=float, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.role == "probe":
        probe_role(args)
        return 0
    if args.role == "flood":
        flood_role(args)
        return 0
    if args.quick:
        args.repeat = 1
    return run(args)


if __name__ == "__main__":
    sys.exit(main())
