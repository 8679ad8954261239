"""
Fan-out rate with history in memory and with --history-db, in the same run.

Runs C{twistd -n chatroom} in a subprocess on 127.0.0.1, joins RECEIVERS
members and one sender, has the sender send MESSAGES lines as fast as the
socket takes them, and times until every member has received the last one.
Each mode runs ROUNDS times, in alternating order, and the medians are
compared.

    python benchmarks/history_bench.py [--messages N] [--receivers N]
"""

from __future__ import annotations

import argparse
import os
import re
import selectors
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

TIMEOUT = 60.0


def twistd() -> str:
    script = Path(sys.executable).with_name("twistd")
    found = str(script) if script.exists() else shutil.which("twistd")
    assert found, "twistd is not installed"
    return found


def start(workdir: Path, options: list[str]) -> tuple[subprocess.Popen[bytes], int]:
    log = workdir / "twistd.log"
    process = subprocess.Popen(
        [
            twistd(),
            "-n",
            "--pidfile=",
            f"--logfile={log}",
            "chatroom",
            "--port",
            "tcp:0:interface=127.0.0.1",
            "--history-replay",
            "0",
            # No flood control, and room to queue for members that this one
            # process reads a little late: the relay itself is measured.
            "--rate",
            "0",
            "--sendq",
            str(256 << 20),
            *options,
        ],
        cwd=workdir,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + TIMEOUT
    while time.monotonic() < deadline:
        text = log.read_text(errors="replace") if log.exists() else ""
        found = re.search(r"starting on (\d+)", text)
        if found:
            return process, int(found.group(1))
        if process.poll() is not None:
            break
        time.sleep(0.05)
    process.kill()
    raise SystemExit(f"twistd did not start:\n{text}")


def join(port: int, nick: str) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT)
    sock.sendall(nick.encode() + b"\n")
    data = b""
    while f"JOIN {nick}\r\n".encode() not in data:
        chunk = sock.recv(65536)
        if not chunk:
            raise SystemExit(f"{nick} was disconnected while joining")
        data += chunk
    return sock


def relay_rate(port: int, messages: int, receivers: int) -> float:
    """
    Messages a second relayed to all members (the sender included).
    """
    members = [join(port, f"r{number}") for number in range(receivers)]
    sender = join(port, "sender")
    time.sleep(0.2)  # let the JOIN lines arrive
    everyone = [*members, sender]
    for sock in everyone:
        sock.setblocking(False)
        try:
            while sock.recv(65536):
                pass
        except BlockingIOError:
            pass
    last = f"MSG sender m{messages - 1}\r\n".encode()
    payload = b"".join(b"m%d\n" % number for number in range(messages))
    selector = selectors.DefaultSelector()
    tails = {}
    for sock in everyone:
        selector.register(sock, selectors.EVENT_READ)
        tails[sock] = b""
    selector.modify(sender, selectors.EVENT_READ | selectors.EVENT_WRITE)
    waiting = set(everyone)
    sent = 0
    began = time.perf_counter()
    deadline = time.monotonic() + TIMEOUT
    while waiting:
        if time.monotonic() > deadline:
            raise SystemExit("timed out: the server stopped relaying")
        for key, events in selector.select(1.0):
            sock = key.fileobj
            assert isinstance(sock, socket.socket)
            if events & selectors.EVENT_WRITE:
                try:
                    sent += sock.send(payload[sent : sent + 65536])
                except BlockingIOError:
                    pass
                if sent == len(payload):
                    selector.modify(sock, selectors.EVENT_READ)
            if events & selectors.EVENT_READ:
                try:
                    data = sock.recv(1 << 20)
                except BlockingIOError:
                    continue
                if not data:
                    raise SystemExit("a member was disconnected")
                # Only the end matters: keep enough to see the last line.
                tail = tails[sock] + data
                if last in tail:
                    waiting.discard(sock)
                tails[sock] = tail[-len(last) :]
    elapsed = time.perf_counter() - began
    selector.close()
    for sock in everyone:
        sock.close()
    return messages / elapsed


def run(mode: str, messages: int, receivers: int) -> float:
    with tempfile.TemporaryDirectory(prefix="history-bench-") as name:
        workdir = Path(name)
        options = ["--history-db", str(workdir / "history.db")] if mode == "db" else []
        process, port = start(workdir, options)
        try:
            return relay_rate(port, messages, receivers)
        finally:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(TIMEOUT)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(TIMEOUT)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--messages", type=int, default=100000)
    parser.add_argument("--receivers", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=3)
    arguments = parser.parse_args()
    rates: dict[str, list[float]] = {"memory": [], "db": []}
    for round in range(arguments.rounds):
        # Alternate which mode goes first: the second run of a pair is
        # often slower (in an A/A test, by up to a fifth on a busy machine).
        for mode in sorted(rates, reverse=round % 2 == 1):
            rate = run(mode, arguments.messages, arguments.receivers)
            rates[mode].append(rate)
            print(f"{mode:>6}: {rate:9.0f} messages/s", flush=True)
    memory = statistics.median(rates["memory"])
    db = statistics.median(rates["db"])
    print(
        f"median over {arguments.rounds} rounds, {arguments.messages} messages to "
        f"{arguments.receivers + 1} members (cpus: {os.cpu_count()}):\n"
        f"  in memory     {memory:9.0f} messages/s "
        f"({memory * (arguments.receivers + 1):.0f} lines/s)\n"
        f"  --history-db  {db:9.0f} messages/s "
        f"({db * (arguments.receivers + 1):.0f} lines/s)\n"
        f"  ratio         {db / memory:9.2f}"
    )


if __name__ == "__main__":
    main()
