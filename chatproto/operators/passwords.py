"""
Operator password hashes: scrypt (RFC 7914) from the standard library, with
its parameters and salt carried in the hash string itself::

    scrypt$32768$8$1$<salt, base64>$<hash, base64>

so that a later version may raise the cost without invalidating old lines.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
import unicodedata
from dataclasses import dataclass, field

from chatproto import wire

SCHEME = "scrypt"

# The cost of one check, chosen for this project's 2-core test machine
# (measured with benchmarks/operators_bench.py): N = 2**15 with r = 8 takes
# 32 MiB and about 0.1 s, the budget scrypt's paper (Percival, 2009) gives an
# interactive login.  OWASP's N = 2**17 would take 0.4 s and 128 MiB per
# check, which a flood of /oper attempts would turn into a whole core and a
# lot of memory.
DEFAULT_N = 2**15
DEFAULT_R = 8
DEFAULT_P = 1
SALT_BYTES = 16
HASH_BYTES = 32

# What a line of the operators file may ask for: enough room to raise the
# cost later, not enough for a typo to make each check take minutes or GiBs.
MIN_N, MAX_N = 2**10, 2**17
MAX_R = 32
MAX_P = 16
MAX_MEMORY = 256 * 1024 * 1024
MIN_SALT_BYTES = 8
MIN_HASH_BYTES, MAX_HASH_BYTES = 16, 64

FORMAT = f"{SCHEME}$N$r$p$salt$hash"


class PasswordHashError(ValueError):
    """
    A string is not a password hash this module can check; the message says
    why, for people, and never repeats the string.
    """


class PasswordRefusedError(ValueError):
    """
    A password cannot be used for an operator; the message says why.
    """


def _memory(n: int, r: int, p: int) -> int:
    # What OpenSSL's EVP_PBE_scrypt allocates: V (128 r (N + 2)) and B
    # (128 r p).  hashlib.scrypt refuses anything above maxmem, whose
    # default (32 MiB) is just short of N = 2**15, so it is always given.
    return 128 * r * (n + 2) + 128 * r * p


@dataclass(frozen=True)
class PasswordHash:
    """
    One scrypt hash with everything needed to check a password against it.
    Its repr shows the parameters only, so that logging it leaks nothing.
    """

    n: int
    r: int
    p: int
    salt: bytes = field(repr=False)
    digest: bytes = field(repr=False)

    def __post_init__(self) -> None:
        if not (MIN_N <= self.n <= MAX_N and self.n & (self.n - 1) == 0):
            raise PasswordHashError(
                f"its scrypt N must be a power of 2 from {MIN_N} to {MAX_N}"
            )
        if not (1 <= self.r <= MAX_R and 1 <= self.p <= MAX_P):
            raise PasswordHashError(
                f"its scrypt r must be 1 to {MAX_R} and p 1 to {MAX_P}"
            )
        if _memory(self.n, self.r, self.p) > MAX_MEMORY:
            raise PasswordHashError(
                f"its scrypt parameters need over {MAX_MEMORY // 2**20} MiB"
            )
        if len(self.salt) < MIN_SALT_BYTES:
            raise PasswordHashError(f"its salt is under {MIN_SALT_BYTES} bytes")
        if not MIN_HASH_BYTES <= len(self.digest) <= MAX_HASH_BYTES:
            raise PasswordHashError(
                f"its hash must be {MIN_HASH_BYTES} to {MAX_HASH_BYTES} bytes"
            )

    @classmethod
    def parse(cls, text: str) -> PasswordHash:
        """
        Read a hash string written by L{encode}.

        @raise PasswordHashError: if C{text} is not one.
        """
        fields = text.split("$")
        if len(fields) != 6 or fields[0] != SCHEME:
            raise PasswordHashError(f"it is not of the form {FORMAT}")
        try:
            n, r, p = (int(number) for number in fields[1:4])
        except ValueError:
            raise PasswordHashError("its N, r and p must be whole numbers") from None
        try:
            salt, digest = (
                base64.b64decode(part, validate=True) for part in fields[4:]
            )
        except binascii.Error:
            raise PasswordHashError("its salt and hash must be base64") from None
        return cls(n, r, p, salt, digest)

    def encode(self) -> str:
        salt = base64.b64encode(self.salt).decode("ascii")
        digest = base64.b64encode(self.digest).decode("ascii")
        return f"{SCHEME}${self.n}${self.r}${self.p}${salt}${digest}"

    def derive(self, password: str) -> bytes:
        """
        The scrypt of C{password} with this hash's salt and parameters: the
        slow part, to be run off the reactor thread.
        """
        return _scrypt(password, self.salt, self.n, self.r, self.p, len(self.digest))

    def matches(self, password: str) -> bool:
        """
        Whether C{password} is the one this hash was made from, compared in
        constant time.
        """
        return hmac.compare_digest(self.derive(password), self.digest)


def _scrypt(password: str, salt: bytes, n: int, r: int, p: int, length: int) -> bytes:
    # NFC, as RFC 8265 prepares an opaque string: the same password typed
    # with a composed or a decomposed "é" is the same password.
    # hashlib.scrypt releases the interpreter lock while it works.
    return hashlib.scrypt(
        unicodedata.normalize("NFC", password).encode("utf-8"),
        salt=salt,
        n=n,
        r=r,
        p=p,
        dklen=length,
        maxmem=_memory(n, r, p) + 1024 * 1024,
    )


def check_password(password: str) -> None:
    """
    Refuse a password that an operator could not send in C{/oper NAME
    PASSWORD}: empty, with characters the server removes from every line
    (control characters, bidi overrides), or with spaces at either end
    (lost when the line is split into words).

    @raise PasswordRefusedError: saying why.
    """
    if not password:
        raise PasswordRefusedError("an empty password is refused")
    if wire.clean_text(password) != password:
        raise PasswordRefusedError(
            "a password may not contain control characters, tabs or bidi "
            "overrides: the server removes them from every line"
        )
    if password != password.strip():
        raise PasswordRefusedError("a password may not begin or end with a space")


def hash_password(
    password: str, n: int = DEFAULT_N, r: int = DEFAULT_R, p: int = DEFAULT_P
) -> PasswordHash:
    """
    A new hash of C{password}, with a random salt.

    @raise PasswordRefusedError: if L{check_password} refuses it.
    """
    check_password(password)
    salt = os.urandom(SALT_BYTES)
    return PasswordHash(n, r, p, salt, _scrypt(password, salt, n, r, p, HASH_BYTES))


def dummy_hash(
    n: int = DEFAULT_N, r: int = DEFAULT_R, p: int = DEFAULT_P
) -> PasswordHash:
    """
    A hash no password matches (short of finding a 256-bit preimage), to
    check an unknown name against: it costs what a wrong password costs.
    """
    return PasswordHash(n, r, p, bytes(SALT_BYTES), bytes(HASH_BYTES))
