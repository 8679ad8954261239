"""The C IRC servers chatproto is measured against: ngircd and InspIRCd.

Both are Debian packages. ``find_peers`` looks for their binaries and, for
those missing, runs ``apt-get update`` and ``apt-get install -y`` (as root
only). Each run writes the peer a minimal configuration in its temporary
directory (``Peer.write_config``): it listens on 127.0.0.1 and the given port
only, takes any number of clients from one address, does no DNS or ident
lookups, needs no MOTD file, and has its flood protection (penalties, command
rates, receive and send queue limits) raised so far that the benchmark
measures the server, not its flood protection. docs/performance.rst lists
what each setting is for and what could not be configured away.
"""

from __future__ import annotations

import os
import resource
import shutil
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Peer:
    name: str  # row in the result table, name for --peers
    package: str  # Debian package
    binary: str  # program name (searched on PATH and in /usr/sbin)
    args: list[str]  # after the binary, with {config}; it must stay in the
    # foreground (the runner measures and kills that pid)
    write_config: Callable[[Path, int], Path]  # (tmpdir, port) -> config file
    # Handshakes in flight while joining, instead of the scenario's (0: the
    # scenario's). Only the join is affected, which these scenarios do not
    # measure; the reason is in each peer below.
    join_concurrency: int = 0


def ngircd_config(tmpdir: Path, port: int) -> Path:
    include = tmpdir / "ngircd.conf.d"  # so /etc/ngircd/ngircd.conf.d is not read
    include.mkdir(exist_ok=True)
    conf = tmpdir / "ngircd.conf"
    conf.write_text(
        f"""\
[Global]
\tName = bench.ngircd
\tInfo = chatproto benchmark peer
\tAdminInfo1 = chatproto benchmark
\tAdminInfo2 = 127.0.0.1 only
\tAdminEMail = bench@localhost
\tListen = 127.0.0.1
\tPorts = {port}
\t# no MOTD file: one phrase
\tMotdPhrase = chatproto benchmark
\t# no PID file: the runner knows the pid (and ngircd drops root for nobody,
\t# who could not write one in the runner's private directory)
\tPidFile =
[Limits]
\t# 0: no limit on connections, per address (every member is 127.0.0.1),
\t# or channels joined
\tMaxConnections = 0
\tMaxConnectionsIP = 0
\tMaxJoins = 0
\t# no penalty time: a client over ngircd's command or byte rate is not
\t# paused for a second (its built-in 3 commands per loop stay)
\tMaxPenaltyTime = 0
[Options]
\tDNS = no
\tIdent = no
\tPAM = no
\tIncludeDir = {include}
"""
    )
    return conf


def inspircd_config(tmpdir: Path, port: int) -> Path:
    # as many clients as this process may open (the runner raises the limit)
    softlimit = min(100_000, resource.getrlimit(resource.RLIMIT_NOFILE)[1] - 100)
    conf = tmpdir / "inspircd.conf"
    conf.write_text(
        f"""\
<server name="bench.inspircd" description="chatproto benchmark peer" network="bench">
<admin name="chatproto benchmark" nick="bench" email="bench@localhost">
<bind address="127.0.0.1" port="{port}" type="clients">
# One class for every member, from 127.0.0.1. Flood protection off:
# commandrate (millicommands/s) and threshold far beyond any load here,
# no fakelag, send and receive queues of 64 MiB; no DNS or ident.
<connect name="bench" allow="127.0.0.1" maxchans="20" timeout="60"
         commandrate="1000000000" threshold="1000000" fakelag="no"
         hardsendq="64M" softsendq="64M" recvq="64M"
         localmax="{softlimit}" globalmax="{softlimit}" limit="{softlimit}"
         maxconnwarn="no" resolvehostnames="no" useident="no">
# never asked (resolvehostnames="no"); should it be, only loopback is
<dns server="127.0.0.1" timeout="1">
<performance softlimit="{softlimit}" somaxconn="1024" clonesonconnect="no">
<log method="file" type="* -USERINPUT -USEROUTPUT" level="default"
     target="{tmpdir}/inspircd.log">
"""
    )
    return conf


PEERS = {
    "ngircd": Peer(
        "ngircd",
        "ngircd",
        "ngircd",
        ["-n", "-f", "{config}"],
        ngircd_config,
        # ngircd listens with a backlog of 10, compiled in: with more
        # handshakes in flight the accept queue overflows and joins take
        # seconds of SYN-ACK and data retransmissions.
        join_concurrency=8,
    ),
    "inspircd": Peer(
        "inspircd",
        "inspircd",
        "inspircd",
        # --runasroot is added when run as root (it refuses otherwise)
        ["--nofork", "--nopid", "--config={config}"],
        inspircd_config,
        # InspIRCd completes a registration on its once-a-second tick, so a
        # handshake takes about 1 s: join everyone at once (1,000 members
        # would otherwise take 30 s with 32 in flight).
        join_concurrency=1000,
    ),
}


def which(binary: str) -> str | None:
    """A peer's binary: on PATH, or in /usr/sbin (often not on a user's PATH)."""
    return shutil.which(binary) or shutil.which(binary, path="/usr/sbin:/sbin")


def command(peer: Peer, binary: str) -> list[str]:
    """The command line, with {config} (and {port}, {tmpdir}) left to fill in."""
    args = list(peer.args)
    if peer.name == "inspircd" and os.geteuid() == 0:
        args.append("--runasroot")
    return [binary, *args]


def install(packages: list[str], log: Path) -> str:
    """apt-get update, then apt-get install -y PACKAGES; '' or what went wrong.
    Bounded: 5 minutes for the update, 10 for the install."""
    if os.geteuid() != 0:
        return "not root, so not installed (apt-get install " + " ".join(packages) + ")"
    if not shutil.which("apt-get"):
        return "no apt-get on this machine"
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    steps = [
        (["apt-get", "update"], 300),
        (["apt-get", "install", "-y", *packages], 600),
    ]
    with log.open("ab") as out:
        for cmd, limit in steps:
            try:
                done = subprocess.run(
                    cmd, stdout=out, stderr=subprocess.STDOUT, env=env, timeout=limit
                )
            except subprocess.TimeoutExpired:
                return f"{' '.join(cmd[:2])} took over {limit} s (log: {log})"
            except OSError as e:
                return f"{' '.join(cmd[:2])} failed: {e}"
            if done.returncode:
                return f"{' '.join(cmd[:2])} exited {done.returncode} (log: {log})"
    return ""


def find_peers(
    names: list[str], log: Path, say: Callable[[str], None]
) -> tuple[dict[str, list[str]], dict[str, str]]:
    """The peers' command lines, installing what is missing; and for each peer
    that could not be had, why."""
    missing = [n for n in names if not which(PEERS[n].binary)]
    problem = ""
    if missing:
        packages = [PEERS[n].package for n in missing]
        say(f"installing {' '.join(packages)} (apt-get; log: {log})")
        problem = install(packages, log)
    found: dict[str, list[str]] = {}
    absent: dict[str, str] = {}
    for name in names:
        binary = which(PEERS[name].binary)
        if binary:
            found[name] = command(PEERS[name], binary)
        else:
            why = problem or f"apt-get install gave no {PEERS[name].binary}"
            absent[name] = f"{PEERS[name].binary} not found; {why}"
    return found, absent
