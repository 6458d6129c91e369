"""Turn a page's text into the story: drop site furniture, find headline, outlet and date.

Pure functions over strings. The rules are general shapes of web-page furniture
(navigation lines, ad markers, promo lines, embedded-video blocks, taglines before
the headline, photo captions and credits, the dateline that opens a wire story),
not a list of particular sites' strings. They remove whole short lines, and only
the dateline from inside a paragraph, so a clean article passes through unchanged.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field

from core.dates import dates_in, parse_date
from core.text import content_words

# A "unit" is one paragraph-like line of the page. Furniture is always a short unit.
_SHORT_WORDS = 12
_PROMO_WORDS = 30

_NAV = re.compile(
    r"""^(?:accessibility\ links|skip\ to(?:\ the)?\ (?:main\ )?(?:content|navigation|search)
    |breaking(?:\ news)?|main\ menu|menu|navigation|search|sign\ in|log\ ?in|sign\ up|register
    |subscribe(?:\ now|\ today)?|newsletters?|share(?:\ this\ (?:article|story|page))?
    |share\ (?:on|via)\ \w+|print(?:\ this\ (?:article|page))?|e-?mail(?:\ this\ (?:article|story))?
    |cookie\ (?:policy|settings|preferences)|accept\ (?:all\ )?cookies|back\ to\ top
    |top\ stories|most\ (?:read|popular|viewed)|trending(?:\ now)?|you\ may\ also\ like
    |related\ (?:stories|articles|topics|content|coverage)|comments?|show\ comments
    |follow\ us(?:\ on\ \w+)?|toggle\ navigation|close|open\ menu|home(?:page)?)$""",
    re.IGNORECASE | re.VERBOSE,
)
_AD = re.compile(
    r"""^(?:advertisement|advertising|ad|sponsored(?:\ content)?|promoted(?:\ content)?
    |(?:article|story)\ continues\ (?:after|below)(?:\ (?:this|the))?\ (?:advertisement|ad|adverts?)
    |continue\ reading(?:\ (?:below|the\ main\ story))?|scroll\ (?:down\ )?to\ continue(?:\ with\ content)?
    |remove\ ads?|skip\ (?:this\ )?ad(?:vertisement)?)[.:]?$""",
    re.IGNORECASE | re.VERBOSE,
)
# "Label: linked headline" promo lines; group 1 of the first alternative names the outlet.
_PROMO = re.compile(
    r"""^(?:more\ from\ ([^:]{2,60})|read\ more|read\ also|also\ read|see\ also|related
    |related\ (?:story|article|link)|recommended(?:\ for\ you)?|more\ on\ this(?:\ story)?
    |don'?t\ miss|watch|listen|editor'?s\ picks?|popular\ now|trending)\s*:\s*\S.*$""",
    re.IGNORECASE | re.VERBOSE,
)
_CALL_TO_ACTION = re.compile(
    r"^(?:click here|sign up|subscribe|follow us|download (?:our|the) app|get (?:our|the) "
    r"(?:newsletter|app)|support (?:our|independent) journalism)\b.*$",
    re.IGNORECASE,
)
# Photo captions and credits: wire-photo "FILE -" captions, "Image caption", "(AP Photo/...)".
_CAPTION = re.compile(
    r"""^(?:file(?:\ photo)?\s*[-–—:]\s|image\ (?:caption|source|copyright)\b|caption\s*:
    |photo(?:graph)?\s*:|picture\s*:|credit\s*:|\((?:ap|afp|reuters|getty(?:\ images)?)
    \ ?(?:photo)?/)""",
    re.IGNORECASE | re.VERBOSE,
)
# A photo credit on a line of its own: "Mario Tama/Getty Images", "Evan Vucci/AP".
_CREDIT_LINE = re.compile(
    r"^[A-Z][\w.'’-]*(?:\s[A-Z][\w.'’-]*){0,3}/[A-Z][\w.&'’-]*(?:\s[A-Z][\w.&'’-]*){0,3}$"
)
_PHOTO_CREDIT_TAIL = re.compile(r"\((?:AP|AFP|Reuters|EPA|Getty Images?)(?: Photo)?/[^)]*\)\s*$")
_COPYRIGHT = re.compile(
    r"^(?:©|\(c\)|copyright)\s*(?:©\s*)?\d{4}(?:\s*[-–]\s*\d{4})?\s*(?:by\s+)?"
    r"([A-Z][\w&.' -]{1,60}?)[.,]?(?:\s+all rights reserved\.?)?$",
    re.IGNORECASE,
)
_SOURCE_LINE = re.compile(r"^(?:source|publisher|published by)\s*:\s*([^\n]{2,60})$", re.IGNORECASE)
# An embedded video player: its labels, then the video's title, then "01:45 - Source: CNN".
_VIDEO_MARKER = re.compile(
    r"""^(?:video\ ad\ feedback|ad\ feedback|now\ playing|up\ next|play(?:ing)?\ video
    |watch\ (?:the\ )?video|see\ (?:all|more)\ videos|more\ videos|replay|video)$""",
    re.IGNORECASE | re.VERBOSE,
)
_VIDEO_SOURCE = re.compile(
    r"^(?:\d{1,2}:\d{2}(?::\d{2})?\s*)?[-–—]\s*source\s*:.{0,60}$", re.IGNORECASE
)
# Between its labels and its source line a player shows a title and perhaps a duration.
_VIDEO_BLOCK_UNITS = 4
_VIDEO_TITLE_WORDS = 25

# The dateline that opens a story: "KIDAL, Mali (AP) —", "LONDON, Jan 5 (Reuters) -",
# "(CNN) --", "Washington CNN —", "LONDON —". It names the outlet, but it is neither the
# headline nor part of the first sentence.
_DASH = r"(?:\s*(?:--|[—–])\s*|\s+-\s+|\s*-$)"
_DATELINES = (
    # A capitalised place (words, commas, a date), then the outlet in brackets.
    re.compile(
        r"^(?:[A-Z][\w.'’-]*(?:,?\s+[A-Z0-9][\w.'’-]*){0,5}\s*)?"
        r"\((?P<outlet>[A-Z][\w&.'’-]*(?:\s+[A-Z][\w&.'’-]*){0,3})\)" + _DASH
    ),
    # A capitalised place, then the outlet in capitals: "New York CNN —".
    re.compile(r"^[A-Z][a-z][\w.'’-]*(?:,?\s+[A-Z][\w.'’-]*){0,3}\s+(?P<outlet>[A-Z]{2,})" + _DASH),
    # A place (or outlet) in capitals, perhaps with its region: "KIDAL, Mali —", "CNN —".
    re.compile(
        r"^(?=[A-Z.'’ -]*[A-Z]{3})[A-Z][A-Z.'’-]+(?:\s+[A-Z][A-Z.'’-]+){0,3}"
        r"(?:,\s+[A-Z][\w.'’-]*(?:\s+[A-Z][\w.'’-]*){0,2})?" + _DASH
    ),
)
# The dateline opens one of the first paragraphs (after the headline, a byline, a date).
_DATELINE_WITHIN = 6
# Pages that set the dateline in its own boxes break it over short lines: "New York", "CNN", "—".
# Those lines are looked for among the page's first units, furniture included.
_DATELINE_PIECES = 3
_DATELINE_PIECES_WITHIN = 24

# A byline that ends with the outlet's initials: "By Luke McGee, CNN". Only initials: after
# the comma a byline as often names a job ("By Jo Smith, Political Editor").
_BYLINE = re.compile(r"^By\s+[A-Z][^,]{1,80}(?:,\s*[A-Z][^,]{1,80})*?,\s*(?P<outlet>[A-Z]{2,6})$")

# A line that gives the story's date: "Updated 3:12 PM ET, Thu July 14, 2022", "Posted:
# 2021-03-04", "5 March 2021". Around the date only such a label, a time, a time zone and
# a weekday may stand (the date itself is found by core.dates.parse_date).
_DATE_LABEL = re.compile(
    r"^(?:(?:first\s+|last\s+)?(?:published|posted|updated|modified)|date)\b\s*(?:on|at|:)?\s*",
    re.IGNORECASE,
)
_DATE_LINE_EXTRAS = re.compile(
    r"""(?:\d{1,2}(?::\d{2}){1,2}(?:\s*[ap]\.?m\.?)?|\d{1,2}\s*[ap]\.?m\.?|(?-i:[A-Z]{1,4}T|UTC|GMT)
    |(?:mon|tue|wed|thu|fri|sat|sun)[a-z]{0,6}\.?|at|on|[\s,.|()/+-])+""",
    re.IGNORECASE | re.VERBOSE,
)

# Words a headline shares with any story, on top of the usual stopwords.
_HEADLINE_NOISE = frozenset({"new", "says", "said"})
_INVISIBLE = dict.fromkeys(map(ord, "\u200b\u200c\u200d\u2060\ufeff\u00ad"), None)


@dataclass(frozen=True)
class CleanedText:
    """The story text and what the page showed about it."""

    text: str
    title: str | None = None
    outlet: str | None = None
    date: str | None = None  # ISO YYYY-MM-DD
    date_text: str | None = None  # where the date was read, as written
    removed: tuple[str, ...] = field(default_factory=tuple)


def normalize(text: str) -> str:
    """Unify line endings and whitespace; drop invisible and control characters."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    text = unicodedata.normalize("NFC", text).translate(_INVISIBLE)
    text = text.replace("\u00a0", " ").replace("\u2028", "\n").replace("\u2029", "\n\n")
    text = "".join(ch for ch in text if ch in "\n\t" or unicodedata.category(ch) != "Cc")
    return text.replace("\t", " ")


def split_units(text: str) -> list[str]:
    """Split page text into paragraph-like units.

    Blank lines and single newlines both end a unit, except that a hard-wrapped
    paragraph (a long line that does not end a sentence, followed by a line in the
    same block) is joined back together.
    """
    units: list[str] = []
    for block in re.split(r"\n\s*\n", text):
        current = ""
        for raw in block.split("\n"):
            line = re.sub(r"[ ]{2,}", " ", raw.strip())
            if not line:
                continue
            if current and len(current) >= 50 and not re.search(r"[.!?:\"”’)\]]$", current):
                current = f"{current} {line}"
            else:
                if current:
                    units.append(current)
                current = line
        if current:
            units.append(current)
    return units


def clean_article(
    text: str, *, title: str | None = None, outlet: str | None = None, date_hint: str | None = None
) -> CleanedText:
    """Remove site furniture from ``text`` and pick out headline, outlet and date.

    ``title``, ``outlet`` and ``date_hint`` are what the page's own metadata said
    (HTML), and win over what the text shows.

    Example:
        >>> c = clean_article("Breaking News\\n\\nRain hits town\\n\\nRain hit the town on Monday.")
        >>> c.title, c.text
        ('Rain hits town', 'Rain hits town\\n\\nRain hit the town on Monday.')
    """
    removed: list[str] = []
    units = _join_dateline(_drop_video_blocks(split_units(normalize(text)), removed))
    found_outlet = outlet
    found_date = parse_date(date_hint) if date_hint else None
    date_text = date_hint if found_date else None

    story: list[str] = []
    # Captions kept as content, each with the number of story units above it.
    captions: list[tuple[int, str]] = []
    dateline: str | None = None
    dateline_outlet: str | None = None
    for unit, repeated in _collapse_repeats(units, removed):
        kind = _furniture_kind(unit)
        if kind is None:
            if repeated and _ends_sentence(unit):
                # A sentence shown twice is a photo's caption (and its alt text). One copy is
                # content: captions carry names and dates.
                captions.append((len(story), unit))
                continue
            if dateline is None and len(story) < _DATELINE_WITHIN:
                dateline, dateline_outlet, unit = _split_dateline(unit)
                if dateline:
                    removed.append(dateline)
            if unit:
                story.append(unit)
            continue
        removed.append(unit)
        if kind == "promo" and not found_outlet:
            match = _PROMO.match(unit)
            if match and match.group(1):
                found_outlet = match.group(1).strip()
        elif kind == "copyright" and not found_outlet:
            match = _COPYRIGHT.match(unit) or _SOURCE_LINE.match(unit)
            if match:
                found_outlet = match.group(1).strip()
        elif kind == "date" and not found_date:
            found_date, date_text = parse_date(unit), unit
    found_outlet = found_outlet or dateline_outlet or _byline_outlet(story[:_DATELINE_WITHIN])
    if not found_date and dateline and parse_date(dateline):
        # A dateline's own date counts only with its year: "LONDON, Jan 5 (Reuters)" alone
        # does not say which January, and the file's timestamps are never a stand-in.
        found_date, date_text = parse_date(dateline), dateline

    headline_at = _find_headline(story)
    if headline_at is not None:
        # Short lines above the headline (taglines, section names) are the site's, not the story's.
        removed.extend(story[:headline_at])
        story = story[headline_at:]
        captions = [(max(0, above - headline_at), caption) for above, caption in captions]
    found_title = title or (story[0] if headline_at is not None else None)
    kept = _place_captions(story, captions, lead_from=0 if headline_at is None else 1)

    return CleanedText(
        text="\n\n".join(kept),
        title=_tidy_title(found_title) if found_title else None,
        outlet=found_outlet,
        date=found_date,
        date_text=date_text,
        removed=tuple(removed),
    )


def _furniture_kind(unit: str) -> str | None:
    words = len(unit.split())
    if words <= _SHORT_WORDS:
        if _NAV.match(unit) or _AD.match(unit):
            return "nav"
        if _is_date_line(unit):
            return "date"
        if _COPYRIGHT.match(unit) or _SOURCE_LINE.match(unit):
            return "copyright"
    if words <= _PROMO_WORDS:
        if _PROMO.match(unit):
            return "promo"
        if _CALL_TO_ACTION.match(unit) and not unit.rstrip().endswith(('"', "”")):
            return "promo"
    if words <= 80 and (_CAPTION.match(unit) or _PHOTO_CREDIT_TAIL.search(unit)):
        return "caption"
    if words <= 8 and _CREDIT_LINE.match(unit):
        return "caption"
    return None


def _drop_video_blocks(units: list[str], removed: list[str]) -> list[str]:
    """Drop embedded video players: their labels, the video's title and its source line.

    A player shows as "Video Ad Feedback" or "Now playing", then the video's short
    title, then "01:45 - Source: CNN". None of it is the story, and a video's title
    must not become an answer.
    """
    out: list[str] = []
    i = 0
    while i < len(units):
        unit = units[i]
        if _VIDEO_MARKER.match(unit):
            # The block runs to its source line when one closes it within a few short lines.
            end = i
            for j in range(i + 1, min(i + 1 + _VIDEO_BLOCK_UNITS, len(units))):
                if len(units[j].split()) > _VIDEO_TITLE_WORDS:
                    break
                if _VIDEO_SOURCE.match(units[j]):
                    end = j
                    break
            removed.extend(units[i : end + 1])
            i = end + 1
            continue
        if _VIDEO_SOURCE.match(unit):
            # A player without its labels: the video's title is the short line just above.
            if out and len(out[-1].split()) <= _VIDEO_TITLE_WORDS and not _ends_sentence(out[-1]):
                removed.append(out.pop())
            removed.append(unit)
        else:
            out.append(unit)
        i += 1
    return out


def _collapse_repeats(units: list[str], removed: list[str]) -> list[tuple[str, bool]]:
    """Keep one copy of a unit repeated verbatim back to back, and say it was repeated.

    Pages scraped with an image's caption and its alt text (or a caption shown
    twice) repeat it verbatim back to back; a story never does.
    """
    out: list[tuple[str, bool]] = []
    i = 0
    while i < len(units):
        j = i
        while j + 1 < len(units) and units[j + 1] == units[i]:
            j += 1
        removed.extend(units[i + 1 : j + 1])
        out.append((units[i], j > i))
        i = j + 1
    return out


def _byline_outlet(units: list[str]) -> str | None:
    """The outlet a byline among ``units`` names, if one does."""
    for unit in units:
        match = _BYLINE.match(unit) if len(unit.split()) <= _SHORT_WORDS else None
        if match:
            return match.group("outlet")
    return None


def _split_dateline(unit: str) -> tuple[str | None, str | None, str]:
    """``(dateline, outlet, rest)`` of a unit that opens with a dateline, else ``(None, None, unit)``.

    The rest is a paragraph (it opens and ends like a sentence, so a headline such as
    "NATO — Allies meet" keeps its first word), or nothing when the dateline stands
    on its own line.
    """
    for pattern in _DATELINES:
        match = pattern.match(unit)
        if not match:
            continue
        rest = unit[match.end() :].lstrip()
        if rest and not (re.match(r"[\"'“‘(\[]?[A-Z0-9]", rest) and _ends_sentence(rest)):
            continue
        outlet = match.groupdict().get("outlet")
        return match.group().strip(), outlet, rest
    return None, None, unit


def _join_dateline(units: list[str]) -> list[str]:
    """The units with a dateline broken over short lines joined back into one line."""
    for i in range(min(len(units), _DATELINE_PIECES_WITHIN)):
        for count in range(_DATELINE_PIECES, 1, -1):
            pieces = units[i : i + count]
            if len(pieces) < count or any(len(piece.split()) > 4 for piece in pieces):
                continue
            joined = " ".join(pieces)
            dateline, _, rest = _split_dateline(joined)
            if dateline and not rest:
                return [*units[:i], joined, *units[i + count :]]
    return units


def _place_captions(story: list[str], captions: list[tuple[int, str]], lead_from: int) -> list[str]:
    """The story with each caption back in its place, but never above the lead paragraph.

    An image above the story would otherwise make its caption the first line or
    the lead. The lead is the first unit from ``lead_from`` that ends like a
    sentence (a byline above it does not).
    """
    lead = next((i for i in range(lead_from, len(story)) if _ends_sentence(story[i])), lead_from)
    after: dict[int, list[str]] = {}  # story index -> the captions that follow that unit
    for above, caption in captions:
        after.setdefault(max(above - 1, lead), []).append(caption)
    out: list[str] = []
    for i, unit in enumerate(story):
        out.append(unit)
        out.extend(after.pop(i, []))
    # A story too short to have a lead keeps its captions at the end.
    for left in after.values():
        out.extend(left)
    return out


def _ends_sentence(unit: str) -> bool:
    return bool(re.search(r"[.!?][\"'”’)\]]*$", unit))


def _content_words(text: str) -> set[str]:
    return content_words(text, _HEADLINE_NOISE)


def _find_headline(units: list[str]) -> int | None:
    """Index of the headline among the first short units, or None when there is none.

    The headline is the first short unit that does not end like a sentence and
    shares content words with the text after it. Short units above it that share no words with the story are
    taglines and section labels; anything else above it means the guess is
    unsure, and then nothing is dropped.
    """
    if len(units) < 2:
        return None
    for i in range(min(8, len(units) - 1)):
        if len(units[i].split()) > 25:
            break
        if re.search(r"[.!][\"'”’)]*$", units[i]):
            continue
        words = _content_words(units[i])
        shared = len(words & _content_words(" ".join(units[i + 1 : i + 13])))
        if shared >= 2 or (words and shared / len(words) >= 0.5):
            story_words = _content_words(" ".join(units[i : i + 13]))
            for above in units[:i]:
                if len(above.split()) > _SHORT_WORDS or _content_words(above) & story_words:
                    return 0
            return i
    return 0 if len(units[0].split()) <= 25 else None


def _tidy_title(title: str) -> str:
    title = re.sub(r"\s+", " ", title).strip()
    return title if len(title) <= 200 else title[:197].rstrip() + "…"


def _is_date_line(unit: str) -> bool:
    """Whether ``unit`` is a line that dates the story, and nothing more.

    Example:
        >>> _is_date_line("Updated 3:12 PM ET, Thu July 14, 2022"), _is_date_line("5 March 2021")
        (True, True)
        >>> _is_date_line("On 5 March 2021 the storm hit.")
        False
    """
    if len(unit) > 100 or parse_date(unit) is None:
        return False
    rest = _DATE_LABEL.sub("", unit.strip(), count=1)
    # Blank out the dates themselves; what is left must be times, zones and weekdays.
    for mention in reversed(dates_in(rest, None)):
        rest = rest[: mention.start] + " " + rest[mention.end :]
    return _DATE_LINE_EXTRAS.fullmatch(rest) is not None or not rest.strip()
