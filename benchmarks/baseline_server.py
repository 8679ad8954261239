"""Naive baseline: the textbook Twisted ``LineReceiver`` chat server.

It speaks just enough of docs/protocol.rst for the load generator (NICK,
WELCOME, JOIN, USERS, MSG, LEAVE) and does everything the obvious way: one
``transport.write`` per member per line, default listen backlog, no
TCP_NODELAY.  The benchmark runs it next to the real server so that results
are ratios that survive a noisy machine.  Do not optimise it.

Usage: python benchmarks/baseline_server.py PORT
"""

import sys

from twisted.internet import protocol, reactor
from twisted.protocols.basic import LineReceiver


class Chat(LineReceiver):
    delimiter = b"\n"

    def __init__(self, users: dict[bytes, "Chat"]) -> None:
        self.users = users
        self.name: bytes | None = None

    def send(self, line: bytes) -> None:
        self.transport.write(line + b"\r\n")

    def connectionMade(self) -> None:
        self.send(b"NICK")

    def connectionLost(self, reason: object = None) -> None:
        if self.name is not None and self.users.get(self.name) is self:
            del self.users[self.name]
            for user in self.users.values():
                user.send(b"LEAVE " + self.name + b" connection closed")

    def lineReceived(self, line: bytes) -> None:
        line = line.rstrip(b"\r")
        if not line:
            return
        if self.name is None:
            self.handleNick(line)
        else:
            message = b"MSG " + self.name + b" " + line
            for user in self.users.values():
                user.send(message)

    def handleNick(self, name: bytes) -> None:
        if name in self.users:
            self.send(b"ERROR nick-taken " + name + b" is already in the room")
            self.send(b"NICK")
            return
        self.name = name
        self.users[name] = self
        self.send(b"WELCOME " + name + b" to lobby")
        for user in self.users.values():
            user.send(b"JOIN " + name)
        self.send(b"USERS " + b" ".join(sorted(self.users, key=bytes.lower)))


class ChatFactory(protocol.Factory):
    def __init__(self) -> None:
        self.users: dict[bytes, Chat] = {}

    def buildProtocol(self, addr: object) -> Chat:
        return Chat(self.users)


if __name__ == "__main__":
    reactor.listenTCP(int(sys.argv[1]), ChatFactory(), interface="127.0.0.1")
    reactor.run()
