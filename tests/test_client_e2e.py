"""
The client against a real server (twistd in a subprocess): interactive in a
pseudo-terminal, read through a screen emulator, and piped as a subprocess.
"""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pexpect
import pytest
from client_helpers import (
    TIMEOUT,
    PtyClient,
    Server,
    Watcher,
    client_command,
    client_env,
    make_certificate,
    run_piped,
)

from chatproto.client.session import NICK_TIMEOUT


@pytest.fixture
def pty_clients() -> Iterator[list[PtyClient]]:
    clients: list[PtyClient] = []
    try:
        yield clients
    finally:
        for client in clients:
            client.close()


def prompt_is(text: str):  # type: ignore[no-untyped-def]
    return lambda screen: screen.cursor_row() == text


def test_join_with_prompt_then_receive_while_typing(
    server: Server, pty_clients: list[PtyClient]
) -> None:
    alice = PtyClient(server.port)
    pty_clients.append(alice)
    alice.wait_for(prompt_is("Choose a nickname: "), "the nickname prompt")
    alice.send("alice\r")
    alice.wait_for_text("Welcome alice")
    alice.wait_for(prompt_is("[lobby] alice> "), "the chat prompt")

    alice.send("half typed")
    alice.wait_for(prompt_is("[lobby] alice> half typed"), "the half-typed line")
    alice.send("\x1b[D\x1b[D")  # the cursor goes 2 to the left
    alice.wait_for(lambda s: s.cursor()[0] == len("[lobby] alice> half typ"), "cursor")

    piped = run_piped(server.port, "hello alice\n", "--nick", "bob")
    assert piped.returncode == 0, piped.stderr
    alice.wait_for_text("<bob> hello alice")
    alice.wait_for_text("-- bob left")
    lines = alice.screen.lines()
    row = alice.screen.buffer.y
    assert lines[row] == "[lobby] alice> half typed"  # still intact, on the last row
    # ... and so is the cursor
    assert alice.screen.cursor()[0] == len("[lobby] alice> half typ")
    assert any(re.fullmatch(r"\d\d:\d\d <bob> hello alice", line) for line in lines)
    assert not any("half typed" in line for line in lines[:row])

    alice.send("\x1b[C\x1b[C more\r")
    alice.wait_for_text("<alice> half typed more")
    alice.wait_for(prompt_is("[lobby] alice> "), "an empty input row")
    alice.send("\x1b[A")  # history
    alice.wait_for(prompt_is("[lobby] alice> half typed more"), "the line from history")
    alice.send("\x15\x04")  # Ctrl-U, then Ctrl-D on the empty line
    assert alice.wait_exit() == 0
    assert "you left the room" in alice.screen.text()


def test_rejected_nickname_shows_why_and_asks_again(
    server: Server, pty_clients: list[PtyClient]
) -> None:
    holder = Watcher(server.port, "bob")
    try:
        client = PtyClient(server.port)
        pty_clients.append(client)
        client.wait_for(prompt_is("Choose a nickname: "), "the nickname prompt")
        client.send("BOB\r")
        client.wait_for_text("nickname 'BOB' not accepted: bob is already here")
        client.wait_for(prompt_is("Choose a nickname: "), "the prompt again")
        client.send("bad nick\r")
        client.wait_for_text("nickname 'bad nick' not accepted: a nickname is")
        client.wait_for(prompt_is("Choose a nickname: "), "the prompt again")
        client.send("bobby\r")
        client.wait_for(prompt_is("[lobby] bobby> "), "the chat prompt")
        holder.expect("JOIN bobby")
        client.send("/msg bob psst\r")
        holder.expect("PRIVATE bobby bob psst")
        client.wait_for_text("[private] you -> bob: psst")
        client.send("/quit\r")
        assert client.wait_exit() == 0
        holder.expect("LEAVE bobby", prefix=True)
    finally:
        holder.close()


def test_survives_a_server_restart(
    tmp_path: Path, pty_clients: list[PtyClient]
) -> None:
    server = Server(tmp_path)
    try:
        alice = PtyClient(server.port, "--nick", "alice")
        pty_clients.append(alice)
        alice.wait_for(prompt_is("[lobby] alice> "), "the chat prompt")
        alice.send("draft")
        server.stop()
        alice.wait_for_text("disconnected: the server closed the connection")
        alice.wait_for_text("reconnecting in")
        alice.wait_for(prompt_is("(alice, offline)> draft"), "the offline prompt")
        alice.send("\r")
        alice.wait_for_text("not connected, so not sent")
        server = Server(tmp_path, port=server.port)
        alice.wait_for_text("reconnected: you are back in the room as alice", 30)
        alice.wait_for(prompt_is("[lobby] alice> draft"), "the draft, kept")
        watcher = Watcher(server.port, "bob")
        try:
            alice.send("\r")
            watcher.expect("MSG alice draft")
        finally:
            watcher.close()
        alice.send("\x03")  # Ctrl-C leaves too
        assert alice.wait_exit() == 0
    finally:
        server.stop()


def shell_around_client(port: int, *options: str) -> pexpect.spawn:
    """The client in a pty under sh, which then shows the tty's state."""
    command = " ".join(client_command(port, *options))
    check = (
        f"{sys.executable} -c 'import fcntl, os; "
        'print("nonblock", fcntl.fcntl(0, fcntl.F_GETFL) & os.O_NONBLOCK)\''
    )
    script = f'{command}; echo "status=$?"; stty -a; {check}'
    return pexpect.spawn(
        "/bin/sh",
        ["-c", script],
        env=client_env(),
        timeout=TIMEOUT,
        dimensions=(24, 80),
    )


def assert_terminal_restored(shell: pexpect.spawn, status: int) -> None:
    shell.expect(r"status=(\d+)")
    assert int(shell.match.group(1)) == status
    shell.expect("nonblock (\\d+)")
    stty = shell.before.decode()
    assert int(shell.match.group(1)) == 0
    for setting in ("icanon", "echo", "isig", "opost", "icrnl"):
        assert re.search(rf"(?<![-\w]){setting}\b", stty), f"{setting} is off"
    shell.expect(pexpect.EOF)


def test_terminal_is_restored_after_ctrl_c(server: Server) -> None:
    shell = shell_around_client(server.port, "--nick", "alice")
    try:
        shell.expect("alice")
        shell.expect("> ")
        shell.send("half typed\x03")
        assert_terminal_restored(shell, 0)
    finally:
        shell.close(force=True)


def children(pid: int) -> list[int]:
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            found.append(int(stat.parent.name))
    return found


def test_terminal_is_restored_after_sigterm(server: Server) -> None:
    shell = shell_around_client(server.port, "--nick", "alice")
    try:
        shell.expect("alice")
        shell.expect("> ")
        shell.send("half typed")
        (client,) = children(shell.pid)
        os.kill(client, signal.SIGTERM)
        # What happened, not "the connection was lost".
        shell.expect("stopped by SIGTERM")
        assert_terminal_restored(shell, 128 + signal.SIGTERM)
        assert b"connection was lost" not in shell.before
    finally:
        shell.close(force=True)


def test_terminal_is_restored_after_an_error() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # nobody listens there
    shell = shell_around_client(port)
    try:
        shell.expect(f"cannot connect to 127.0.0.1:{port}: connection refused")
        assert_terminal_restored(shell, 1)
    finally:
        shell.close(force=True)


def test_no_reconnect_exits_when_the_server_goes(tmp_path: Path) -> None:
    server = Server(tmp_path)
    shell = shell_around_client(server.port, "--nick", "alice", "--no-reconnect")
    try:
        shell.expect("Welcome alice")
        server.stop()
        shell.expect("disconnected: the server closed the connection")
        assert_terminal_restored(shell, 1)
    finally:
        shell.close(force=True)
        server.stop()


def test_pipe_mode_sends_every_line_then_quits(server: Server) -> None:
    watcher = Watcher(server.port, "alice")
    try:
        done = run_piped(
            server.port,
            "first line\n\n/me waves\n//slash\nlast line without newline",
            "--nick",
            "bot",
        )
        assert done.returncode == 0, done.stderr
        for line in (
            "JOIN bot",
            "MSG bot first line",
            "ACTION bot waves",
            "MSG bot /slash",
            "MSG bot last line without newline",
            "LEAVE bot",
        ):
            watcher.expect(line, prefix=line.startswith("LEAVE"))
        assert "\x1b" not in done.stdout
        assert re.search(
            r"^\d\d:\d\d <bot> last line without newline$", done.stdout, re.M
        )
        assert re.search(r"^\d\d:\d\d \* bot waves$", done.stdout, re.M)
        assert done.stderr == ""
    finally:
        watcher.close()


def test_pipe_mode_waits_for_a_rate_limiting_server(tmp_path: Path) -> None:
    # At one line a second, the server needs longer than the client's quit
    # timeout to get through: the client must wait while lines keep coming.
    server = Server(tmp_path, 0, "tcp", "--rate", "1", "--burst", "1")
    watcher = Watcher(server.port, "alice")
    try:
        lines = [f"line {n}" for n in range(7)]
        done = run_piped(server.port, "\n".join(lines), "--nick", "bot", timeout=30)
        assert done.returncode == 0, done.stderr
        for line in lines:
            watcher.expect(f"MSG bot {line}")
        watcher.expect("LEAVE bot", prefix=True)
        assert done.stdout.count("<bot> line") == 7
    finally:
        watcher.close()
        server.stop()


def test_pipe_mode_shows_what_others_say(server: Server) -> None:
    watcher = Watcher(server.port, "alice")
    try:
        # The piped client waits for the server to close after /quit, so
        # anything sent before it arrives on its stdout.
        done = run_piped(server.port, "/who\n", "--nick", "bot")
        assert done.returncode == 0
        assert re.search(r"-- in the room \(2\): alice, bot", done.stdout)
    finally:
        watcher.close()


def test_pipe_mode_rejected_nickname_is_one_line_on_stderr(server: Server) -> None:
    holder = Watcher(server.port, "bot")
    try:
        done = run_piped(server.port, "hello\n", "--nick", "bot")
    finally:
        holder.close()
    assert done.returncode == 1
    assert done.stderr == ("chatproto: nickname 'bot' rejected: bot is already here\n")
    assert "hello" not in done.stdout


def test_pipe_mode_without_a_server_is_one_line_error() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    done = run_piped(port, "hello\n", "--nick", "bot")
    assert done.returncode == 1
    assert (
        done.stderr
        == f"chatproto: cannot connect to 127.0.0.1:{port}: connection refused\n"
    )
    assert done.stdout == ""


@pytest.fixture
def tls_server(tmp_path: Path) -> Iterator[tuple[Server, Path]]:
    cert, key = make_certificate(tmp_path)
    server = Server(tmp_path, listen=f"ssl:privateKey={key}:certKey={cert}")
    try:
        yield server, cert
    finally:
        server.stop()


def test_tls_with_a_ca_file(
    tls_server: tuple[Server, Path], pty_clients: list[PtyClient]
) -> None:
    server, cert = tls_server
    client = PtyClient(server.port, "--nick", "sec", "--tls", "--ca", str(cert))
    pty_clients.append(client)
    client.wait_for(prompt_is("[lobby] sec> "), "the chat prompt")
    client.send("over tls\r")
    client.wait_for_text("<sec> over tls")


def test_tls_refuses_an_untrusted_certificate(
    tls_server: tuple[Server, Path],
) -> None:
    server, _ = tls_server
    done = run_piped(server.port, "hello\n", "--nick", "sec", "--tls")
    assert done.returncode == 1
    assert done.stderr == (
        "chatproto: TLS failed: the server's certificate is not trusted (made by "
        "itself, or by an authority this computer does not know); if its owner "
        "gave you the certificate, use --ca FILE\n"
    )


def test_tls_names_a_certificate_for_another_name_in_words(tmp_path: Path) -> None:
    # Made for chat.example only; the client asks for 127.0.0.1.
    cert, key = make_certificate(tmp_path, "chat.example", loopback=False)
    server = Server(tmp_path, listen=f"ssl:privateKey={key}:certKey={cert}")
    try:
        args = ("--nick", "sec", "--tls", "--ca", str(cert))
        done = run_piped(server.port, "hello\n", *args)
    finally:
        server.stop()
    assert done.returncode == 1
    assert done.stderr == (
        "chatproto: TLS failed: the server's certificate is not valid for "
        "127.0.0.1; give --host the name the certificate was made for\n"
    )


def test_a_port_where_no_chat_server_answers() -> None:
    """Something listens there (a wrong --port) but never says NICK."""
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        port = silent.getsockname()[1]
        started = time.monotonic()
        done = run_piped(port, "hello\n", "--nick", "bot", timeout=30)
        waited = time.monotonic() - started
    assert done.returncode == 1
    assert done.stderr == (
        f"chatproto: no chat server at 127.0.0.1:{port}: it took the connection "
        "but did not ask for a nickname within 10 s (is it the right port?)\n"
    )
    assert NICK_TIMEOUT <= waited < NICK_TIMEOUT + 10


def test_pipe_mode_says_it_was_stopped_by_sigterm(server: Server) -> None:
    client = subprocess.Popen(
        client_command(server.port, "--nick", "termed"),
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=client_env(),
    )
    try:
        watcher = Watcher(server.port, "watcher")
        try:
            watcher.expect("JOIN termed")
            client.send_signal(signal.SIGTERM)
            _, stderr = client.communicate(timeout=TIMEOUT)
        finally:
            watcher.close()
    finally:
        if client.poll() is None:
            client.kill()
            client.wait(TIMEOUT)
    assert client.returncode == 128 + signal.SIGTERM
    assert stderr == "chatproto: stopped by SIGTERM\n"


def test_pipe_mode_over_tls_quits_cleanly(tls_server: tuple[Server, Path]) -> None:
    server, cert = tls_server
    args = ("--nick", "sec", "--tls", "--ca", str(cert))
    done = run_piped(server.port, "over tls\n", *args)
    assert "<sec> over tls" in done.stdout
    assert done.returncode == 0, done.stderr


def test_colours_and_no_color(server: Server, pty_clients: list[PtyClient]) -> None:
    coloured = PtyClient(server.port, "--nick", "alice")
    plain = PtyClient(server.port, "--nick", "bob", NO_COLOR="1")
    pty_clients += [coloured, plain]
    for client in (coloured, plain):
        client.wait_for_text("Welcome")
    plain.send("hi from bob\r")
    plain.send("/nosuchcommand\r")
    for client in (coloured, plain):
        client.wait_for_text("<bob> hi from bob")
    plain.wait_for_text("! ")
    colour_code = re.compile(rb"\x1b\[[0-9;]*(3[0-7]|9[0-7])m")
    assert colour_code.search(coloured.screen.raw)
    assert not colour_code.search(plain.screen.raw)


def test_window_resize_keeps_long_lines_on_one_row(
    server: Server, pty_clients: list[PtyClient]
) -> None:
    client = PtyClient(server.port, "--nick", "alice", width=60)
    pty_clients.append(client)
    client.wait_for(prompt_is("[lobby] alice> "), "the chat prompt")
    client.child.setwinsize(24, 30)
    client.send("0123456789" * 5)
    client.wait_for(
        lambda s: s.cursor_row().endswith("456789") and len(s.cursor_row()) <= 29,
        "the line scrolled to fit 30 columns",
    )
    assert client.screen.cursor()[0] <= 29


def test_unicode_typed_in_the_terminal_reaches_the_room(
    server: Server, pty_clients: list[PtyClient]
) -> None:
    watcher = Watcher(server.port, "w")
    try:
        client = PtyClient(server.port)
        pty_clients.append(client)
        client.wait_for(prompt_is("Choose a nickname: "), "the nickname prompt")
        client.send("zoë\r")
        watcher.expect("JOIN zoë")
        client.send("李雷 ça va\r")
        watcher.expect("MSG zoë 李雷 ça va")
        watcher.sock.sendall("/msg zoë héllo 李\r\n".encode())
        client.wait_for(
            lambda s: "[private] w -> you: héllo 李".encode() in strip_sgr(s.raw),
            "the private message",
        )
    finally:
        watcher.close()


def strip_sgr(raw: bytes) -> bytes:
    return re.sub(rb"\x1b\[[0-9;]*m", b"", raw)
