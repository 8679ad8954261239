"""
Operator password hashes: scrypt with its parameters and salt in the string,
checked in constant time; and which passwords are refused.
"""

from __future__ import annotations

import hmac

import pytest

from chatproto.operators.passwords import (
    DEFAULT_N,
    DEFAULT_P,
    DEFAULT_R,
    PasswordHash,
    PasswordHashError,
    PasswordRefusedError,
    check_password,
    dummy_hash,
    hash_password,
)

# Cheap parameters for the tests that are not about the cost.
CHEAP = {"n": 2**10, "r": 8, "p": 1}


def test_default_hash_round_trips_and_carries_its_parameters() -> None:
    made = hash_password("correct horse")
    encoded = made.encode()
    scheme, n, r, p, salt, digest = encoded.split("$")
    assert (scheme, int(n), int(r), int(p)) == (
        "scrypt",
        DEFAULT_N,
        DEFAULT_R,
        DEFAULT_P,
    )
    parsed = PasswordHash.parse(encoded)
    assert parsed == made
    assert parsed.matches("correct horse")
    assert not parsed.matches("correct horse ")
    assert not parsed.matches("Correct horse")


def test_each_hash_has_its_own_salt() -> None:
    first, second = hash_password("same", **CHEAP), hash_password("same", **CHEAP)
    assert first.salt != second.salt
    assert first.digest != second.digest
    assert len(first.salt) == 16 and len(first.digest) == 32


def test_the_strongest_parameters_allowed_are_usable() -> None:
    # OWASP's recommendation, 128 MiB: allowed, should a later version want it.
    strong = PasswordHash.parse("scrypt$131072$8$1$AAAAAAAAAAA=$" + "A" * 44)
    assert (strong.n, strong.r, strong.p) == (2**17, 8, 1)
    assert not strong.matches("pw")


def test_parameters_from_the_string_are_used() -> None:
    made = hash_password("pw", n=2**11, r=4, p=2)
    parsed = PasswordHash.parse(made.encode())
    assert (parsed.n, parsed.r, parsed.p) == (2**11, 4, 2)
    assert parsed.matches("pw")
    # The same salt and digest under other parameters is another hash.
    other = PasswordHash(2**12, 4, 2, parsed.salt, parsed.digest)
    assert not other.matches("pw")


def test_composed_and_decomposed_accents_are_the_same_password() -> None:
    made = hash_password("caf\u00e9", **CHEAP)
    assert made.matches("cafe\u0301")


def test_comparison_is_constant_time(monkeypatch: pytest.MonkeyPatch) -> None:
    made = hash_password("pw", **CHEAP)
    calls: list[tuple[bytes, bytes]] = []
    real = hmac.compare_digest

    def recording(a: bytes, b: bytes) -> bool:
        calls.append((a, b))
        return real(a, b)

    monkeypatch.setattr(hmac, "compare_digest", recording)
    assert made.matches("pw")
    assert not made.matches("wrong")
    assert [b for _, b in calls] == [made.digest, made.digest]
    assert calls[0][0] == made.digest != calls[1][0]


def test_repr_shows_no_salt_or_digest() -> None:
    made = hash_password("pw", **CHEAP)
    text = repr(made)
    assert "1024" in text
    for secret in (made.salt, made.digest):
        assert repr(secret) not in text
    assert made.encode().split("$")[4] not in text


def test_dummy_hash_matches_nothing() -> None:
    dummy = dummy_hash(**CHEAP)
    assert not dummy.matches("")
    assert not dummy.matches("pw")


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("hunter2", "not of the form scrypt$N$r$p$salt$hash"),
        ("bcrypt$1024$8$1$AAAAAAAAAAA=$" + "A" * 44, "not of the form"),
        ("scrypt$1024$8$1$AAAAAAAAAAA=", "not of the form"),
        ("scrypt$x$8$1$AAAAAAAAAAA=$" + "A" * 44, "whole numbers"),
        ("scrypt$1000$8$1$AAAAAAAAAAA=$" + "A" * 44, "power of 2"),
        ("scrypt$512$8$1$AAAAAAAAAAA=$" + "A" * 44, "power of 2 from 1024"),
        ("scrypt$262144$8$1$AAAAAAAAAAA=$" + "A" * 44, "power of 2"),
        ("scrypt$1024$0$1$AAAAAAAAAAA=$" + "A" * 44, "r must be 1 to 32"),
        ("scrypt$1024$8$17$AAAAAAAAAAA=$" + "A" * 44, "p 1 to 16"),
        ("scrypt$131072$32$1$AAAAAAAAAAA=$" + "A" * 44, "over 256 MiB"),
        ("scrypt$1024$8$1$AAAA$" + "A" * 44, "salt is under 8 bytes"),
        ("scrypt$1024$8$1$AAAAAAAAAAA=$AAAA", "hash must be 16 to 64 bytes"),
        ("scrypt$1024$8$1$AA*AAAAAAAA=$" + "A" * 44, "base64"),
    ],
)
def test_bad_hash_strings_are_refused_without_quoting_them(
    text: str, reason: str
) -> None:
    with pytest.raises(PasswordHashError, match=reason.replace("$", r"\$")) as caught:
        PasswordHash.parse(text)
    assert text not in str(caught.value)


@pytest.mark.parametrize(
    ("password", "reason"),
    [
        ("", "empty"),
        (" leading", "begin or end with a space"),
        ("trailing ", "begin or end with a space"),
        ("tab\there", "control characters"),
        ("bell\x07", "control characters"),
        ("bidi\u202eoverride", "bidi"),
    ],
)
def test_unsendable_passwords_are_refused(password: str, reason: str) -> None:
    with pytest.raises(PasswordRefusedError, match=reason):
        check_password(password)
    with pytest.raises(PasswordRefusedError, match=reason):
        hash_password(password, **CHEAP)


@pytest.mark.parametrize("password", ["a", "two words inside", "zoë's ключ 🙂"])
def test_sendable_passwords_are_accepted(password: str) -> None:
    check_password(password)
    assert hash_password(password, **CHEAP).matches(password)
