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

MAX_TURNS = 20  # older turns cannot matter to "it" and "he"


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

    Raises:
        InvalidQuestion: ``history`` is not a list of messages or pairs.

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
    for item in history[-MAX_TURNS:]:
        if isinstance(item, dict):
            role = item.get("role")
            if role not in ("user", "assistant", "system"):
                raise InvalidQuestion(
                    f"history message role must be 'user' or 'assistant', got {role!r}"
                )
            messages.append({"role": role, "content": message_text(item)})
        elif isinstance(item, list | tuple) and len(item) == 2:
            user, bot = item
            if user:
                messages.append({"role": "user", "content": str(user)})
            if bot:
                messages.append({"role": "assistant", "content": str(bot)})
        else:
            raise InvalidQuestion(
                "each history item must be a {'role', 'content'} dict or a [user, assistant] "
                f"pair, got {item!r:.80}"
            )
    return messages
