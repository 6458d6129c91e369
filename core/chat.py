"""Chat history in, plain ``Message`` turns out.

Callers pass the conversation so far in the shapes chat tools use: role/content
messages whose content is a string or a list of parts (OpenAI's and Gradio's
"messages" format), or the older ``[user, assistant]`` pairs. Everything past
this point sees ``{"role": ..., "content": str}`` only.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from core.errors import InvalidQuestion
from core.types import Message

MAX_TURNS = 20  # older turns cannot matter to "it" and "he"; only these are read
MAX_MESSAGE_CHARS = 4_000  # a user's message: twice a question's limit
MAX_HISTORY_CHARS = 64_000  # all the turns read together (an LLM's answers may be long)


def message_text(message: dict[str, Any]) -> str:
    """The text of a chat message whose content is a string or a list of parts."""
    content = message.get("content", "")
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return " ".join(
            part.get("text", "") if isinstance(part, dict) else str(part) for part in content
        )
    return ""


def to_messages(history: Sequence[Any] | None) -> list[Message]:
    """The last ``MAX_TURNS`` items of ``history`` as plain role/content messages.

    Older items are not read. A user's message may be ``MAX_MESSAGE_CHARS`` long,
    and the items read ``MAX_HISTORY_CHARS`` together.

    Raises:
        InvalidQuestion: ``history`` is not a list of messages or pairs, or a message
            (or the whole) is longer than its limit.

    Example:
        >>> to_messages([["What is the MIA?", "A faction. [1]"]])
        [{'role': 'user', 'content': 'What is the MIA?'}, {'role': 'assistant', ...}]
    """
    if history is None:
        return []
    if isinstance(history, str | bytes) or not isinstance(history, Sequence):
        raise InvalidQuestion(
            "history must be a list of {'role': 'user' | 'assistant', 'content': str} messages, "
            f"got {type(history).__name__}"
        )
    messages: list[Message] = []
    first = max(len(history) - MAX_TURNS, 0)
    for number, item in enumerate(history[first:], start=first + 1):
        if isinstance(item, dict):
            role = item.get("role")
            if role not in ("user", "assistant", "system"):
                raise InvalidQuestion(
                    f"history message role must be 'user' or 'assistant', got {role!r:.40}"
                )
            turns = [(role, message_text(item))]
        elif isinstance(item, list | tuple) and len(item) == 2:
            user, bot = item
            turns = [(r, str(text)) for r, text in (("user", user), ("assistant", bot)) if text]
        else:
            raise InvalidQuestion(
                "each history item must be a {'role', 'content'} dict or a [user, assistant] "
                f"pair, got {item!r:.80}"
            )
        for role, content in turns:
            if role != "assistant" and len(content) > MAX_MESSAGE_CHARS:
                raise InvalidQuestion(
                    f"history message {number} ({role}) is {len(content):,} characters long; "
                    f"the limit is {MAX_MESSAGE_CHARS:,} per {role} message"
                )
            messages.append({"role": role, "content": content})
    total = sum(len(m["content"]) for m in messages)
    if total > MAX_HISTORY_CHARS:
        raise InvalidQuestion(
            f"the history is {total:,} characters long (its last {MAX_TURNS} items); the limit "
            f"is {MAX_HISTORY_CHARS:,}, so send fewer or shorter messages"
        )
    return messages
