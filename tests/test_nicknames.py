import pytest

from chatproto.errors import ChatError
from chatproto.nicknames import MAX_NICK_LENGTH, check_nick, nick_key


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
