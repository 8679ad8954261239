"""
The twisted.cred checker over the operators file: the right answers, the
same work for an unknown name as for a wrong password, the scrypt off the
reactor thread, and nothing secret in the log.  Real reactor, real threads.
"""

from __future__ import annotations

import hmac
import threading
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
import pytest_twisted
from twisted.cred.checkers import ICredentialsChecker
from twisted.cred.credentials import UsernamePassword
from twisted.cred.error import UnauthorizedLogin
from twisted.cred.portal import IRealm, Portal
from twisted.internet.defer import Deferred, gatherResults
from twisted.logger import LogEvent, capturedLogs, eventAsText
from zope.interface import Interface, implementer
from zope.interface.verify import verifyObject

from chatproto.operators.checker import (
    CheckerBusyError,
    CheckerStoppedError,
    OperatorChecker,
)
from chatproto.operators.passwords import PasswordHash, hash_password
from chatproto.operators.roster import Operators, format_line

CHEAP = {"n": 2**10, "r": 8, "p": 1}


@pytest.fixture
def operators(tmp_path: Path) -> Operators:
    path = tmp_path / "operators"
    path.write_text(
        format_line("Teacher", hash_password("right one", **CHEAP))
        + "\n"
        + format_line("zoë", hash_password("pässword", **CHEAP))
        + "\n"
    )
    path.chmod(0o600)
    return Operators(str(path))


@pytest_twisted.async_yield_fixture
async def checker(operators: Operators) -> AsyncIterator[OperatorChecker]:
    checker = OperatorChecker(operators)
    checker.startService()
    try:
        yield checker
    finally:
        checker.stopService()


@pytest.fixture
def checks(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[tuple[Any, str]]]:
    """Each password check: the hash it used and the thread it ran on."""
    made: list[tuple[Any, str]] = []
    real = PasswordHash.matches

    def recording(self: PasswordHash, password: str) -> bool:
        made.append((self, threading.current_thread().name))
        return real(self, password)

    monkeypatch.setattr(PasswordHash, "matches", recording)
    yield made


async def refused(d: Deferred[str]) -> UnauthorizedLogin:
    try:
        result = await d
    except UnauthorizedLogin as error:
        return error
    raise AssertionError(f"logged in as {result!r}")


def test_it_is_a_credentials_checker_for_username_and_password(
    operators: Operators,
) -> None:
    from twisted.cred.credentials import IUsernamePassword

    checker = OperatorChecker(operators)
    assert verifyObject(ICredentialsChecker, checker)
    assert checker.credentialInterfaces == (IUsernamePassword,)


@pytest_twisted.ensureDeferred
async def test_right_password_gives_the_name_as_the_file_spells_it(
    checker: OperatorChecker,
) -> None:
    assert await checker.requestAvatarId(UsernamePassword("teacher", "right one")) == (
        "Teacher"
    )
    # Bytes, as twisted.cred's own protocols give them; the other spelling
    # of the accent.
    assert (
        await checker.requestAvatarId(
            UsernamePassword("ZOË".encode(), "pa\u0308ssword".encode())
        )
        == "zoë"
    )


@pytest_twisted.ensureDeferred
async def test_wrong_password_and_unknown_name_fail_alike(
    checker: OperatorChecker, checks: list[tuple[Any, str]]
) -> None:
    wrong = await refused(
        checker.requestAvatarId(UsernamePassword("teacher", "wrong one"))
    )
    unknown = await refused(
        checker.requestAvatarId(UsernamePassword("nobody", "right one"))
    )
    invalid = await refused(
        checker.requestAvatarId(UsernamePassword("not a nick!", "right one"))
    )
    undecodable = await refused(
        checker.requestAvatarId(UsernamePassword(b"teacher", b"\xff\xfe"))
    )
    assert {str(error) for error in (wrong, unknown, invalid, undecodable)} == {
        "wrong operator name or password"
    }
    # Each cost one scrypt, with the same parameters.
    teacher = checker._operators.get("teacher")
    assert teacher is not None
    used = [password_hash for password_hash, _ in checks]
    assert used[0] is teacher.password_hash
    assert used[1:] == [checker._operators.dummy_hash()] * 3
    assert {(h.n, h.r, h.p, len(h.salt), len(h.digest)) for h in used} == {
        (2**10, 8, 1, 16, 32)
    }


@pytest_twisted.ensureDeferred
async def test_unknown_name_is_compared_in_constant_time_too(
    checker: OperatorChecker, monkeypatch: pytest.MonkeyPatch
) -> None:
    compared: list[int] = []
    real = hmac.compare_digest

    def recording(a: bytes, b: bytes) -> bool:
        compared.append(len(b))
        return real(a, b)

    monkeypatch.setattr(hmac, "compare_digest", recording)
    await refused(checker.requestAvatarId(UsernamePassword("nobody", "x")))
    await refused(checker.requestAvatarId(UsernamePassword("teacher", "x")))
    assert await checker.requestAvatarId(UsernamePassword("teacher", "right one"))
    assert compared == [32, 32, 32]


@pytest_twisted.ensureDeferred
async def test_scrypt_runs_on_the_checkers_one_thread_not_the_reactors(
    checker: OperatorChecker, checks: list[tuple[Any, str]]
) -> None:
    pending = [
        checker.requestAvatarId(UsernamePassword("teacher", f"guess {n}"))
        for n in range(5)
    ]
    # Nothing was computed on the spot: the reactor thread goes on.
    assert not any(d.called for d in pending)
    results = await gatherResults(
        [d.addErrback(lambda failure: failure.trap(UnauthorizedLogin)) for d in pending]
    )
    assert results == [UnauthorizedLogin] * 5
    threads = {name for _, name in checks}
    assert len(checks) == 5
    assert threading.current_thread().name not in threads
    assert threads == {"PoolThread-chatproto-operators-0"}


@pytest_twisted.ensureDeferred
async def test_a_reload_changes_the_answers(
    checker: OperatorChecker, operators: Operators
) -> None:
    Path(operators.path).write_text(
        format_line("teacher", hash_password("new one", **CHEAP)) + "\n"
    )
    operators.reload()
    await refused(checker.requestAvatarId(UsernamePassword("teacher", "right one")))
    await refused(checker.requestAvatarId(UsernamePassword("zoë", "pässword")))
    assert await checker.requestAvatarId(UsernamePassword("teacher", "new one")) == (
        "teacher"
    )


@pytest_twisted.ensureDeferred
async def test_past_max_pending_an_attempt_is_refused_at_once_and_not_counted(
    operators: Operators, checks: list[tuple[Any, str]]
) -> None:
    checker = OperatorChecker(operators, max_pending=2)
    checker.startService()
    try:
        first, second, third = (
            checker.requestAvatarId(UsernamePassword("teacher", "right one"))
            for _ in range(3)
        )
        assert checker.pending == 2
        assert third.called
        with pytest.raises(CheckerBusyError):
            await third
        assert await first == await second == "Teacher"
        assert len(checks) == 2
        assert checker.pending == 0
        assert await checker.requestAvatarId(
            UsernamePassword("teacher", "right one")
        ) == ("Teacher")
    finally:
        checker.stopService()


@pytest_twisted.ensureDeferred
async def test_stopping_drops_queued_checks_instead_of_computing_them(
    tmp_path: Path, checks: list[tuple[Any, str]]
) -> None:
    # Full-cost hashes: twenty queued checks would take two seconds.
    path = tmp_path / "operators"
    path.write_text(format_line("teacher", hash_password("right one")) + "\n")
    checker = OperatorChecker(Operators(str(path)))
    checker.startService()
    pending = [
        checker.requestAvatarId(UsernamePassword("teacher", "guess")) for _ in range(20)
    ]
    checker.stopService()
    outcomes = await gatherResults(
        [
            d.addErrback(
                lambda failure: failure.trap(CheckerStoppedError, UnauthorizedLogin)
            )
            for d in pending
        ]
    )
    # At most the check already running was computed.
    assert len(checks) <= 1
    assert outcomes.count(CheckerStoppedError) >= 19
    assert set(outcomes) <= {CheckerStoppedError, UnauthorizedLogin}
    assert checker.pending == 0


def test_a_stopped_checker_refuses_everyone(operators: Operators) -> None:
    checker = OperatorChecker(operators)
    failures: list[Any] = []
    checker.requestAvatarId(UsernamePassword("teacher", "right one")).addErrback(
        failures.append
    )
    assert failures and failures[0].check(UnauthorizedLogin)
    checker.startService()
    checker.stopService()
    checker.requestAvatarId(UsernamePassword("teacher", "right one")).addErrback(
        failures.append
    )
    assert len(failures) == 2 and failures[1].check(UnauthorizedLogin)


class IOperator(Interface):
    pass


@implementer(IRealm)
class Realm:
    def requestAvatar(self, avatarId: Any, mind: Any, *interfaces: Any) -> Any:
        return IOperator, avatarId, lambda: None


@pytest_twisted.ensureDeferred
async def test_it_plugs_into_a_portal(checker: OperatorChecker) -> None:
    portal = Portal(Realm(), [checker])
    _, avatar, _ = await portal.login(
        UsernamePassword(b"teacher", b"right one"), None, IOperator
    )
    assert avatar == "Teacher"
    with pytest.raises(UnauthorizedLogin):
        await portal.login(UsernamePassword(b"teacher", b"wrong"), None, IOperator)


@pytest_twisted.ensureDeferred
async def test_passwords_and_hashes_never_reach_the_log(
    checker: OperatorChecker, operators: Operators, monkeypatch: pytest.MonkeyPatch
) -> None:
    teacher = operators.get("teacher")
    assert teacher is not None
    secrets = ["right one", "wrong one", "nobody's", "broken one"]
    secrets += teacher.password_hash.encode().split("$")[4:]
    real = PasswordHash.matches

    def breaking(self: PasswordHash, password: str) -> bool:
        if password == "broken one":
            raise RuntimeError("the check broke")
        return real(self, password)

    monkeypatch.setattr(PasswordHash, "matches", breaking)
    events: list[LogEvent]
    with capturedLogs() as events:
        await checker.requestAvatarId(UsernamePassword("teacher", "right one"))
        await refused(checker.requestAvatarId(UsernamePassword("teacher", "wrong one")))
        await refused(checker.requestAvatarId(UsernamePassword("nobody", "nobody's")))
        error = await refused(
            checker.requestAvatarId(UsernamePassword("teacher", "broken one"))
        )
        operators.reload()
    assert str(error) == "the password could not be checked"
    text = "\n".join(
        f"{eventAsText(event, includeTraceback=True)} {event!r}" for event in events
    )
    assert "checking an operator password failed" in text  # the broken check
    assert "the check broke" in text
    assert "operators reloaded" in text
    for secret in secrets:
        assert secret not in text
