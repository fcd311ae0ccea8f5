"""The normalisation rules of README.md, one test each."""
import pytest

from tune.data.conversation import InvalidConversation, Message, canonical_role, normalise


def roles(conv):
    return [(m.role, m.content) for m in conv.messages]


@pytest.mark.parametrize("alias,role", [("human", "user"), ("GPT", "assistant"), ("bot", "assistant"),
                                        ("function_call", "assistant"), ("observation", "tool"), ("system", "system")])
def test_role_aliases(alias, role):
    assert canonical_role(alias) == role


def test_system_turns_are_kept_in_order():
    conv = normalise([Message("system", "a"), Message("user", "q"), Message("system", "b"), Message("assistant", "x")],
                     system="top")
    assert conv.system == "top\na\nb"


def test_consecutive_same_role_merge():
    conv = normalise([Message("user", "a"), Message("user", "b"), Message("assistant", "x"), Message("assistant", "y")])
    assert roles(conv) == [("user", "a\nb"), ("assistant", "x\ny")]


def test_trailing_user_dropped_and_empty_ignored():
    conv = normalise([Message("user", "a"), Message("assistant", "x"), Message("user", " "), Message("user", "q")])
    assert roles(conv) == [("user", "a"), ("assistant", "x")]


def test_no_assistant_content_is_invalid():
    with pytest.raises(InvalidConversation):
        normalise([Message("user", "a"), Message("assistant", "  ")])


def test_content_is_not_stripped():
    conv = normalise([Message("user", " a "), Message("assistant", "\tx\n")])
    assert roles(conv) == [("user", " a "), ("assistant", "\tx\n")]
