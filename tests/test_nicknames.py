import pytest

from chatproto.errors import ChatError, Code
from chatproto.names import Registry
from chatproto.nicknames import MAX_NICK_LENGTH, NICKNAMES, check_nick, nick_key


@pytest.mark.parametrize(
    "nick",
    ["alice", "zoë", "zoe\u0308", "Ana_María", "李雷", "x", "r2-d2", "a" * 24, "Ωmega"],
)
def test_valid_nicknames(nick: str) -> None:
    assert check_nick(nick) == nick_key(nick)


@pytest.mark.parametrize(
    "nick",
    [
        "",
        "a" * (MAX_NICK_LENGTH + 1),
        "two words",
        "/who",
        "al/ice",
        "bell\x07",
        "tab\tnick",
        "esc\x1b[31m",
        "dot.ted",
        "emoji🙂",
        "\u0308zoe",  # a combining mark with nothing to combine with
        "bad\ufffd",
    ],
)
def test_invalid_nicknames(nick: str) -> None:
    with pytest.raises(ChatError) as caught:
        check_nick(nick)
    assert caught.value.code == "nick-invalid"


def test_keys_ignore_case_and_compatibility_forms() -> None:
    assert nick_key("Alice") == nick_key("ALICE") == nick_key("ａｌｉｃｅ")
    assert nick_key("zoë") == nick_key("zoe\u0308")
    assert nick_key("alice") != nick_key("alicia")


def test_a_released_name_leaves_nothing_behind() -> None:
    # Stale look-alike entries would be harmless to lookups (they check the
    # holder) but would grow with every name ever used on a long-lived server.
    registry: Registry[str] = Registry(NICKNAMES, Code.NICK_TAKEN)
    registry.claim("alice", "one")
    registry.claim("bob", "two")
    registry.claim("B0b", "two", previous="bob")
    registry.release("alice", "one")
    registry.release("B0b", "two")
    assert len(registry) == 0
    assert registry._look_alikes == {}
