"""Sentence-respecting chunks measured in the embedding model's own tokens.

Text past the model's maximum sequence length is invisible to the embedding, so
no chunk may exceed it. Chunks are whole sentences where a sentence fits, carry
a small overlap of whole sentences from the previous chunk, and keep their
character offsets in the cleaned article so a citation can point at the exact span.
"""

from __future__ import annotations

import bisect
from collections.abc import Callable, Sequence

from core.text import split_sentences
from core.types import Chunk

# Offsets (start, end) of each token of a text, in characters.
TokenSpans = Callable[[str], Sequence[tuple[int, int]]]


def chunk_text(
    text: str,
    token_spans: TokenSpans,
    *,
    max_tokens: int,
    overlap_tokens: int,
) -> list[Chunk]:
    """Pack whole sentences into chunks of at most ``max_tokens`` model tokens.

    A sentence longer than ``max_tokens`` is cut at token boundaries. Each chunk
    after the first starts with the last sentences of the previous one, up to
    ``overlap_tokens`` tokens.
    """
    if max_tokens < 1:
        raise ValueError(f"max_tokens must be positive, got {max_tokens}")
    spans = token_spans(text)
    token_starts = [s for s, _ in spans]
    token_ends = [e for _, e in spans]

    def tokens_in(start: int, end: int) -> int:
        return bisect.bisect_left(token_starts, end) - bisect.bisect_left(token_starts, start)

    # Units: sentences, with over-long sentences cut into pieces that fit.
    units: list[tuple[int, int, int]] = []  # (start, end, tokens)
    for start, end in split_sentences(text):
        count = tokens_in(start, end)
        if count <= max_tokens:
            units.append((start, end, count))
            continue
        first = bisect.bisect_left(token_starts, start)
        last = bisect.bisect_left(token_starts, end)
        for piece in range(first, last, max_tokens):
            stop = min(piece + max_tokens, last)
            units.append((token_starts[piece], token_ends[stop - 1], stop - piece))

    chunks: list[Chunk] = []
    i = 0
    while i < len(units):
        j, used = i, 0
        while j < len(units) and used + units[j][2] <= max_tokens:
            used += units[j][2]
            j += 1
        j = max(j, i + 1)
        start, end = units[i][0], units[j - 1][1]
        chunks.append(Chunk(index=len(chunks), start=start, end=end, text=text[start:end]))
        if j >= len(units):
            break
        # Step back over whole sentences for the overlap, but always move forward.
        back, carried = j, 0
        while back - 1 > i and carried + units[back - 1][2] <= overlap_tokens:
            back -= 1
            carried += units[back][2]
        i = back
    return chunks
