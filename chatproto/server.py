"""
The server-wide registry every front end and listening port shares: the
connections (and how many come from each address), the nicknames, which are
unique across the server, the rooms, and shutdown.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence

from twisted.internet.defer import Deferred, succeed
from twisted.internet.interfaces import IReactorTime
from twisted.logger import Logger

from chatproto.errors import ChatError, Code
from chatproto.limits import Limits
from chatproto.metrics import NO_METRICS, Metrics
from chatproto.moderation import until
from chatproto.names import Registry, look_alike_key, name_key
from chatproto.nicknames import NICKNAMES
from chatproto.operators import OperatorChecker, Operators
from chatproto.rooms import Rooms
from chatproto.session import FrontEnd, MemberSession


class ChatServer:
    """
    One chat server, whatever ports and front ends it listens on.

    @ivar sessions: every live connection's session, with the host it came
        from.
    @ivar motd: returns the message of the day, lines of plain text that
        each newcomer gets as C{INFO} lines right after C{WELCOME}.
    @ivar operators: who may log in as an operator (C{--operators}), whose
        nicknames nobody else may take; C{checker} checks their passwords.
    """

    log = Logger()

    def __init__(
        self,
        rooms: Rooms,
        limits: Limits,
        clock: IReactorTime,
        metrics: Metrics = NO_METRICS,
        motd: Callable[[], Sequence[str]] = tuple,
        operators: Operators | None = None,
        checker: OperatorChecker | None = None,
    ) -> None:
        self.rooms = rooms
        self.operators = operators
        self.checker = checker
        self.limits = limits
        self.clock = clock
        self.metrics = metrics
        self.motd = motd
        self.sessions: dict[MemberSession, str | None] = {}
        self._per_host: Counter[str] = Counter()
        self._nicknames: Registry[MemberSession] = Registry(
            NICKNAMES,
            Code.NICK_TAKEN,
            same="{held} is already here",
            alike="{name} looks too much like {held}, who is here",
        )
        self._all_closed: list[Deferred[None]] = []

    # Connections

    def refusal(self, host: str | None) -> ChatError | None:
        """
        Why a new connection from C{host} cannot be taken, if it cannot.
        """
        if len(self.sessions) >= self.limits.max_clients:
            return ChatError(
                Code.SERVER_FULL,
                f"the server has its maximum of {self.limits.max_clients} "
                "connections; try again later",
            )
        if (
            self.limits.max_per_ip
            and host is not None
            and self._per_host[host] >= self.limits.max_per_ip
        ):
            return ChatError(
                Code.TOO_MANY_CONNECTIONS,
                f"at most {self.limits.max_per_ip} connections from one address",
            )
        # Banned from the default room is banned from the server.
        ban = self.rooms.default.moderation.banned(None, host)
        if ban is not None:
            return ChatError(
                Code.BANNED,
                f"your address is banned from this server "
                f"{until(ban.until, self.clock.seconds())}",
            )
        return None

    def connect(self, front: FrontEnd, peer: str, host: str | None) -> MemberSession:
        """
        A new connection came in through C{front}: its session, not yet
        started (see L{MemberSession.start}).
        """
        session = MemberSession(self, front, peer, host)
        self.sessions[session] = host
        if host is not None:
            self._per_host[host] += 1
        return session

    def disconnected(self, session: MemberSession) -> None:
        self.release_nick(session)
        if session not in self.sessions:
            return
        host = self.sessions.pop(session)
        if host is not None:
            self._per_host[host] -= 1
            if not self._per_host[host]:
                del self._per_host[host]
        if not self.sessions:
            waiting, self._all_closed = self._all_closed, []
            for waiter in waiting:
                waiter.callback(None)

    # Nicknames

    def claim_nick(
        self, session: MemberSession, nick: str, previous: str | None = None
    ) -> None:
        """
        @raise ChatError: if C{nick} is invalid, or someone else has it or
            one that looks like it, or it is an operator's and the session is
            not logged in as that operator.
        """
        self._check_reserved(session, nick)
        session.key = self._nicknames.claim(nick, session, previous)
        self.metrics.members_changed(len(self._nicknames))

    def _check_reserved(self, session: MemberSession, nick: str) -> None:
        if self.operators is None:
            return
        key, look_alike = name_key(nick), look_alike_key(nick)
        for operator in self.operators:
            if operator.key == key or look_alike_key(operator.name) == look_alike:
                if session.operator is None or (
                    name_key(session.operator) != operator.key
                ):
                    raise ChatError(
                        Code.NICK_TAKEN,
                        f"{nick} is reserved for an operator; an operator logs "
                        f"in first with /oper {operator.name} <password>",
                    )

    def release_nick(self, session: MemberSession) -> None:
        if session.nick and self._nicknames.get(session.nick) is session:
            self._nicknames.release(session.nick, session)
            self.metrics.members_changed(len(self._nicknames))

    def find(self, nick: str) -> MemberSession | None:
        return self._nicknames.get(nick)

    @property
    def members(self) -> int:
        return len(self._nicknames)

    # Stopping

    def shut_down(self) -> Deferred[None]:
        """
        Tell every connection the server is stopping and close it; fires when
        all are closed.  A connection that has not taken its last lines
        within the grace period (see L{chatproto.session.CLOSE_GRACE}) is
        cut.
        """
        self.rooms.close()
        for session in list(self.sessions):
            session.shut_down()
        if not self.sessions:
            return succeed(None)
        closed: Deferred[None] = Deferred()
        self._all_closed.append(closed)
        return closed
