"""History in: the shapes accepted and the limits on what is read."""

from __future__ import annotations

import pytest

from core.chat import MAX_HISTORY_CHARS, MAX_MESSAGE_CHARS, MAX_TURNS, to_messages
from core.errors import InvalidQuestion


def test_only_the_last_turns_are_read():
    history = [{"role": "user", "content": "x" * 2_000_000}]  # too long, but too old to read
    history += [{"role": "user", "content": f"q{i}"} for i in range(MAX_TURNS)]
    messages = to_messages(history)
    assert [m["content"] for m in messages] == [f"q{i}" for i in range(MAX_TURNS)]


def test_a_long_user_message_is_refused_with_its_number_and_the_limit():
    history = [
        {"role": "user", "content": "What is the MIA?"},
        {"role": "assistant", "content": "A faction."},
        {"role": "user", "content": "x" * 2_000_000},
    ]
    with pytest.raises(InvalidQuestion) as caught:
        to_messages(history)
    message = str(caught.value)
    assert "history message 3 (user) is 2,000,000 characters long" in message
    assert f"{MAX_MESSAGE_CHARS:,}" in message and "question is" not in message
    with pytest.raises(InvalidQuestion, match=r"history message 1 \(user\)"):
        to_messages([["y" * (MAX_MESSAGE_CHARS + 1), "an answer"]])
    assert len(to_messages([{"role": "user", "content": "y" * MAX_MESSAGE_CHARS}])) == 1


def test_the_whole_history_has_a_limit_too():
    answer = "z" * (MAX_HISTORY_CHARS // 4)
    history = [["a question", answer]] * 4
    with pytest.raises(InvalidQuestion, match=f"the limit is {MAX_HISTORY_CHARS:,}"):
        to_messages(history)
    assert len(to_messages(history[:3])) == 6


def test_pairs_and_parts_are_plain_messages():
    assert to_messages([["Q?", None]]) == [{"role": "user", "content": "Q?"}]
    parts = [{"role": "user", "content": [{"type": "text", "text": "a"}, "b"]}]
    assert to_messages(parts) == [{"role": "user", "content": "a b"}]
    with pytest.raises(InvalidQuestion, match="role"):
        to_messages([{"role": "robot", "content": "hi"}])
