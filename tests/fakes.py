"""Scripted stand-ins for remote LLMs; they record every call they get."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from langchain_core.language_models import GenericFakeChatModel
from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult
from pydantic import Field


class ScriptedChatModel(GenericFakeChatModel):
    """Replies with the scripted texts in order and records the prompts it was given.

    A scripted reply that is an exception is raised instead. Streaming (inherited)
    splits each reply at whitespace, so a streamed answer arrives in many pieces.
    """

    calls: list[list[BaseMessage]] = Field(default_factory=list)

    def __init__(self, replies: list[str | Exception], **kwargs: Any) -> None:
        super().__init__(messages=iter(replies), **kwargs)

    def _generate(self, messages: list[BaseMessage], *args: Any, **kwargs: Any) -> ChatResult:
        self.calls.append(list(messages))
        reply = next(self.messages)
        if isinstance(reply, Exception):
            raise reply
        return ChatResult(generations=[ChatGeneration(message=AIMessage(content=reply))])

    def _stream(self, messages: list[BaseMessage], *args: Any, **kwargs: Any) -> Iterator[Any]:
        chunks = list(super()._stream(messages, *args, **kwargs))
        # A real server sends at least one (maybe empty) chunk; the parent sends none for "".
        yield from chunks or [ChatGenerationChunk(message=AIMessageChunk(content=""))]

    def prompt(self, call: int = -1) -> str:
        """The text of every message of one recorded call."""
        return "\n".join(m.text for m in self.calls[call])
