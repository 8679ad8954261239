#!/usr/bin/env python3
"""Fan-out to WebSocket members against TCP members, in the same run.

    python benchmarks/ws_bench.py             # 100 and 1,000 members, 3 runs each
    python benchmarks/ws_bench.py --quick     # 1 run each, shorter

Each run starts a fresh chatproto server (twistd, --rate 0) with both a TCP
port and --web, pinned to the last core, and runs the load generator
(benchmarks/loadgen.c in its --ws mode, compiled here) on the first core,
against the TCP port or the WebSocket, alternating.
Every member checks every message (nothing lost, doubled or reordered);
a run that fails is shown as such, never as a number. The table shows
medians. See docs/performance.rst, "WebSocket members".

Requirements: Linux, gcc, and the project installed (pip install .).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results"
SOURCE = HERE / "loadgen.c"
BINARY = RESULTS / "ws_loadgen"  # run.py builds its own copy, as loadgen
CLK_TCK = os.sysconf("SC_CLK_TCK")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def pinned(core: int | None) -> Any:
    def setup() -> None:
        import resource

        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
        if core is not None:
            os.sched_setaffinity(0, {core})

    return setup


def wait_for_nick(port: int, limit: float = 20) -> None:
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=2) as s:
                if s.recv(100).startswith(b"NICK"):
                    return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"no server on port {port} after {limit:.0f} s")


def one_run(front: str, members: int, duration: float, cores: tuple[int, int]) -> dict:
    chat, web = free_port(), free_port()
    twistd = shutil.which("twistd", path=str(Path(sys.executable).parent)) or "twistd"
    command = [
        twistd, "-n", "--pidfile=", "chatroom",
        "--port", f"tcp:{chat}:interface=127.0.0.1",
        "--web", f"tcp:{web}:interface=127.0.0.1",
        "--rate", "0", "--max-clients", "20000",
    ]  # fmt: skip
    server = subprocess.Popen(
        command,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        preexec_fn=pinned(cores[1]),
    )
    try:
        wait_for_nick(chat)
        time.sleep(0.2)
        window = max(4, min(256, 20000 // members))
        generator = [
            str(BINARY), "--members", str(members), "--senders", "10",
            "--duration", str(duration), "--window", str(window),
            "--concurrency", "32", "--timeout", "120", "--stall", "10",
        ]  # fmt: skip
        if front == "ws":
            generator += ["--ws", "--port", str(web)]
        else:
            generator += ["--port", str(chat)]
        cpu_before = cpu_seconds(server.pid)
        done = subprocess.run(
            generator,
            capture_output=True,
            text=True,
            timeout=180,
            preexec_fn=pinned(cores[0]),
        )
        server_cpu = cpu_seconds(server.pid) - cpu_before
        line = next(
            (x for x in done.stdout.splitlines() if x.startswith("RESULT ")), None
        )
        if line is None:
            return {"status": "NO-RESULT", "detail": done.stderr[-300:]}
        result: dict = json.loads(line.removeprefix("RESULT "))
        result["server_cpu_s"] = server_cpu
        return result
    finally:
        server.send_signal(signal.SIGKILL)
        server.wait(10)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--quick", action="store_true", help="1 run each, 2 s sends")
    parser.add_argument("--repeat", type=int, default=0, help="runs per row")
    parser.add_argument("--members", default="100,1000", help="e.g. 100,1000")
    parser.add_argument("--no-pin", action="store_true", help="do not pin to cores")
    args = parser.parse_args()
    repeat = args.repeat or (1 if args.quick else 3)
    duration = 2.0 if args.quick else 4.0
    RESULTS.mkdir(exist_ok=True)
    subprocess.run(
        ["gcc", "-O2", "-Wall", "-o", str(BINARY), str(SOURCE)], check=True
    )
    last = (os.cpu_count() or 1) - 1
    cores = (None, None) if args.no_pin or last < 1 else (0, last)
    sizes = [int(n) for n in args.members.split(",")]
    runs: dict[tuple[int, str], list[dict]] = {}
    for _ in range(repeat):
        for members in sizes:
            for front in ("tcp", "ws"):  # alternating, so noise hits both
                result = one_run(front, members, duration, cores)  # type: ignore[arg-type]
                runs.setdefault((members, front), []).append(result)
                print(
                    f"  {front:3} {members:5} members: {result['status']} "
                    f"{result.get('deliveries_per_s', 0):,.0f} deliv/s",
                    file=sys.stderr,
                )
    header = (
        f"{'members':>7} {'front':5} {'result':10} {'deliv/s':>12} {'p50 ms':>7} "
        f"{'p99 ms':>7} {'us/deliv':>8} {'vs tcp':>7}"
    )
    print(header)
    failed = False
    for members in sizes:
        medians: dict[str, float] = {}
        for front in ("tcp", "ws"):
            results = runs[(members, front)]
            bad = [r for r in results if r["status"] != "OK"]
            if bad:
                failed = True
                status, detail = bad[0]["status"], bad[0].get("detail", "")
                print(f"{members:>7} {front:5} {status:10} {detail}")
                continue
            rate = statistics.median(r["deliveries_per_s"] for r in results)
            p50 = statistics.median(r["lat_p50_us"] for r in results) / 1000
            p99 = statistics.median(r["lat_p99_us"] for r in results) / 1000
            per = statistics.median(
                r["server_cpu_s"] / r["deliveries"] * 1e6 for r in results
            )
            medians[front] = rate
            ratio = f"{rate / medians['tcp']:.2f}x" if "tcp" in medians else "-"
            print(
                f"{members:>7} {front:5} {'OK':10} {rate:>12,.0f} {p50:>7.2f} "
                f"{p99:>7.2f} {per:>8.3f} {ratio:>7}"
            )
    stamp = time.strftime("%Y%m%d-%H%M%S")
    with open(RESULTS / f"ws-{stamp}.json", "w") as out:
        json.dump({f"{m}-{f}": r for (m, f), r in runs.items()}, out, indent=1)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
