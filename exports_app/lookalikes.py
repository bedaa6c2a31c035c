"""Spotting passages of a text that look like someone else's data: email addresses, phone and
card numbers, and names (written beside an address, spelt by one, or known to be another
person's). Offsets are the text's own characters (code points), as ``passages`` counts them.

Pure functions: no database, no Django.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass

Span = tuple[int, int]

# Deliberately simple patterns: a suggestion is a prompt for a person to decide, never a
# redaction by itself. But accepting every suggestion must leave none of the other person's
# characters behind, however the text spells them: the patterns read the text through a *view*
# (without invisible characters; for names, also without accents, case or repeated spaces),
# and each passage found is mapped back to the characters it covers in the text itself.

# Code points that show nothing (Unicode's Default_Ignorable_Code_Point outside the format
# characters, Cf, which are ignorable too): inside an address, a name or a number they would
# split it, so that a pattern found only part of it.
_IGNORABLE_RANGES = (
    (0x034F, 0x034F),
    (0x115F, 0x1160),
    (0x17B4, 0x17B5),
    (0x180B, 0x180F),
    (0x3164, 0x3164),
    (0xFE00, 0xFE0F),
    (0xFFA0, 0xFFA0),
    (0xFFF0, 0xFFF8),
    (0x1BCA0, 0x1BCA3),
    (0x1D173, 0x1D17A),
    (0xE0000, 0xE0FFF),
)
# Combining marks (accents written as a second code point): part of the letter before them.
_MARKS = "\u0300-\u036f\u1ab0-\u1aff\u1dc0-\u1dff\u20d0-\u20ff\ufe20-\ufe2f"
# Every decimal digit zero (ASCII, fullwidth, Arabic-Indic, Devanagari …): a UK or national
# number starts with one.
_ZEROS = "".join(chr(i) for i in range(0x1FC00) if unicodedata.decimal(chr(i), -1) == 0)


def _class_of(points: Iterable[int]) -> str:
    """A regular-expression character class of the code points, as runs."""
    runs: list[list[int]] = []
    for point in sorted(points):
        if runs and point == runs[-1][1] + 1:
            runs[-1][1] = point
        else:
            runs.append([point, point])
    return "".join(
        re.escape(chr(low)) + (f"-{re.escape(chr(high))}" if high > low else "")
        for low, high in runs
    )


# (Every format character is below U+20000 but the tags, inside the last range.)
_IGNORABLE_CLASS = _class_of(
    [i for i in range(0x20000) if unicodedata.category(chr(i)) == "Cf"]
    + [i for low, high in _IGNORABLE_RANGES for i in range(low, high + 1)]
)
_IGNORABLE = re.compile(f"[{_IGNORABLE_CLASS}]")


def ignorable(char: str) -> bool:
    return _IGNORABLE.match(char) is not None


def _attached(char: str) -> bool:
    """Shown as part of the character before it (an accent) or not shown at all."""
    return unicodedata.category(char).startswith("M") or ignorable(char)


@dataclass(frozen=True)
class _View:
    """A text as a pattern reads it, and for each of its characters the one it came from."""

    source: str
    text: str
    origin: Sequence[int]

    def span(self, start: int, end: int) -> Span:
        """The characters of the source a match of ``text[start:end]`` covers: from its first
        to its last, with what is attached to the last (an accent, an invisible character)."""
        first, last = self.origin[start], self.origin[end - 1] + 1
        while last < len(self.source) and _attached(self.source[last]):
            last += 1
        return first, last

    def found(self, kind: str, start: int, end: int) -> Found:
        a, b = self.span(start, end)
        return Found(kind, a, b, self.source[a:b])


def _visible(text: str) -> _View:
    """The text as it reads: without the characters that show nothing, and each character in
    its plain form (NFKC: a fullwidth at sign or letter is the ASCII one)."""
    if text.isascii():
        return _View(text, text, range(len(text)))
    out: list[str] = []
    origin: list[int] = []
    for i, c in enumerate(text):
        if c.isascii():
            out.append(c)
            origin.append(i)
        elif not ignorable(c):
            plain = unicodedata.normalize("NFKC", c)
            out += plain
            origin += [i] * len(plain)
    return _View(text, "".join(out), origin)


def _folded(text: str) -> _View:
    """The text as names are compared: compatibility forms unfolded (fullwidth letters),
    accents dropped, case folded, invisible characters dropped, each run of spaces one space."""
    out: list[str] = []
    origin: list[int] = []
    for i, c in enumerate(text):
        if c.isspace():
            if out and out[-1] != " ":
                out.append(" ")
                origin.append(i)
        elif c.isascii():
            out.append(c.lower())
            origin.append(i)
        elif not ignorable(c):
            for part in unicodedata.normalize("NFKD", c):
                if not unicodedata.category(part).startswith("M"):
                    folded = part.casefold()
                    out += folded
                    origin += [i] * len(folded)
    return _View(text, "".join(out), origin)


def plain(text: str) -> str:
    """The text as it reads (``_visible``)."""
    return _visible(text).text


def fold(text: str) -> str:
    """A name as names are compared ("Émile  ZOLA" → "emile zola")."""
    return _folded(text).text.strip()


_LETTER = r"[^\W\d_]"
_WORD_CHARS = rf"[\w'\u2019\-{_MARKS}]"
EMAIL = re.compile(
    rf"(?<![\w.%+'\-{_MARKS}])[\w.%+'\-{_MARKS}]+@[\w\-{_MARKS}]+(?:\.[\w\-{_MARKS}]+)*\.{_LETTER}[{_MARKS}\w]*{_LETTER}"
)
# Between the groups of a number: one space of any width, or a dot, slash, hyphen or dash
# (with a space either side or not).
_SEP = r"(?:\s?[./\-\u2010-\u2015\u2212]\s?|\s)"
# A UK, national or international number: starts with + or a zero; 10 to 15 digits in groups.
PHONE = re.compile(
    rf"(?<![\w+\uff0b])(?:[+\uff0b]\d{{1,3}}{_SEP}?|\(?(?=[{_ZEROS}]))"
    rf"(?:\(?\d{{1,5}}\)?{_SEP}?){{2,5}}\d{{2,4}}(?!\w)"
)
# 13 to 19 digits in groups (a payment card's length), checked with the Luhn sum.
CARD = re.compile(r"(?<!\d)\d(?:[\s.\-]?\d){12,18}(?!\d)")
_WORD = re.compile(rf"{_LETTER}{_WORD_CHARS}*")
# What may stand between a name and the address beside it: "Jane Doe <…", "Jane Doe, …".
_BETWEEN = re.compile(r"[\s(<\[\u00ab\u201c\"'\u2018:,\-\u2013\u2014]*\Z")
_WORDS_BEFORE = re.compile(rf"(?<!{_WORD_CHARS})(?:{_WORD.pattern}\s+){{0,5}}{_WORD.pattern}\Z")
_WORDS_AFTER = re.compile(rf"\s*[(\[]\s*((?:{_WORD.pattern}\s+){{0,5}}{_WORD.pattern})\s*[)\]]")
# Small words inside a name: "Jan van der Berg", "Ana de la Cruz".
PARTICLES = frozenset(
    {"al", "bin", "da", "das", "de", "del", "della", "der", "di", "do", "dos", "du", "el"}
    | {"ibn", "la", "le", "op", "st", "ten", "ter", "van", "von", "y"}
)


def digits(text: str) -> str:
    """The decimal digits in the text, as ASCII (fullwidth "07" too)."""
    return "".join(str(unicodedata.decimal(c)) for c in text if c.isdecimal())


def _luhn(number: str) -> bool:
    total = 0
    for i, c in enumerate(reversed(number)):
        d = int(c) * (2 if i % 2 else 1)
        total += d - 9 if d > 9 else d
    return total % 10 == 0


@dataclass(frozen=True)
class Found:
    kind: str  # email, phone, card, name
    start: int
    end: int
    text: str


@dataclass(frozen=True)
class Own:
    """What is proved to be the person's, kept by kind so that a value of one kind never
    vouches for another: ``addresses`` as ``mailbox`` keys them, ``numbers`` as ``digits``.
    No name is ever the person's own: nothing proves a name, and every name suggested is
    suggested because an address that is not theirs spells it, stands beside it, or was proved
    by someone who gave it."""

    addresses: frozenset[str] = frozenset()
    numbers: frozenset[str] = frozenset()
    mailbox: Callable[[str], str] = str.lower

    def has_address(self, address: str) -> bool:
        return self.mailbox(address) in self.addresses


def names_in_email(address: str) -> list[str]:
    """The name an address spells: "jane.doe+work@…" → "Jane Doe" (none for "jd77@…")."""
    local = address.split("@", 1)[0].split("+", 1)[0]
    words = [w.strip("0123456789") for w in re.split(r"[._\-]+", local)]
    words = [w for w in words if w]
    if len(words) < 2 or not all(w.isalpha() and len(w) > 1 for w in words):
        return []
    return [" ".join(w.capitalize() for w in words)]


def _capital(word: str) -> bool:
    """Written as a name is: a capital first, or a letter of a script without capitals."""
    return not word[0].islower()


def _name_of(words: list[re.Match[str]], backwards: bool) -> Span | None:
    """The run of capitalised words (with the particles between them) nearest the address."""
    run: list[re.Match[str]] = []
    for m in reversed(words) if backwards else words:
        if _capital(m.group()) or (run and m.group().lower() in PARTICLES):
            run.append(m)
        else:
            break
    while run and not _capital(run[-1].group()):
        run.pop()  # a name ends (or, read backwards, begins) with a capitalised word
    if not run:
        return None
    ends = [run[0], run[-1]] if not backwards else [run[-1], run[0]]
    return ends[0].start(), ends[1].end()


def _names_beside(view: _View, start: int, end: int) -> list[Found]:
    """The name written right before an address ("Jane Doe <…", "Jane Doe, …", "Jane Doe …")
    or in brackets right after it ("… (Jane Doe)")."""
    found = []
    head_end = _BETWEEN.search(view.text, max(0, start - 40), start)
    at = head_end.start() if head_end else start
    before = _WORDS_BEFORE.search(view.text, max(0, at - 300), at)
    if before:
        words = list(_WORD.finditer(view.text, before.start(), before.end()))
        span = _name_of(words, backwards=True)
        if span:
            found.append(view.found("name", *span))
    after = _WORDS_AFTER.match(view.text, end)
    if after:
        words = list(_WORD.finditer(view.text, after.start(1), after.end(1)))
        span = _name_of(words, backwards=False)
        if span and span == (after.start(1), after.end(1)):
            found.append(view.found("name", *span))
    return found


def _addresses(view: _View, own: Own) -> Iterator[tuple[re.Match[str], list[Found]]]:
    """Each address in the view that is not the person's own, with the names it vouches for."""
    for m in EMAIL.finditer(view.text):
        if not own.has_address(m.group()):
            yield m, _names_beside(view, m.start(), m.end())


def addresses(text: str) -> list[str]:
    """The email addresses written in ``text``, as they read (invisible characters dropped)."""
    return [m.group() for m in EMAIL.finditer(plain(text))]


def names_tied(text: str, own: Own) -> set[str]:
    """The names the addresses in ``text`` that are not the person's spell or stand beside:
    another person's, wherever else the record writes them."""
    view = _visible(text)
    names: set[str] = set()
    for m, beside in _addresses(view, own):
        names.update(names_in_email(m.group()))
        names.update(plain(f.text) for f in beside)
    return names


def detect(text: str, own: Own, names: Iterable[str] = ()) -> list[Found]:
    """Passages of ``text`` that look like another person's data: email addresses, phone
    numbers, card-like numbers, a name written beside an address or spelt by one, and the
    ``names`` of people known to be someone else. What ``own`` holds is never suggested, nor
    the names beside or spelt by the person's own addresses."""
    view = _visible(text)
    found: list[Found] = []
    wanted = set(names)
    for m, beside in _addresses(view, own):
        found.append(view.found("email", m.start(), m.end()))
        found += beside
        wanted.update(names_in_email(m.group()))
    # (a card first: where a number reads as both, it is suggested as a card)
    for m in CARD.finditer(view.text):
        if _luhn_card(digits(m.group())):
            found.append(view.found("card", m.start(), m.end()))
    for m in PHONE.finditer(view.text):
        number = digits(m.group())
        if 10 <= len(number) <= 15 and number not in own.numbers:
            found.append(view.found("phone", m.start(), m.end()))
    found += _names_found(text, wanted)
    return _distinct(found)


def _names_found(text: str, names: Iterable[str]) -> Iterator[Found]:
    """Each place the text writes one of the names, compared as ``fold`` compares them."""
    wanted = {fold(n) for n in names} - {""}
    if not wanted:
        return
    view = _folded(text)
    for name in wanted:
        if len(name) < 3:
            continue
        for m in re.finditer(rf"(?<!\w){re.escape(name)}(?!\w)", view.text):
            yield view.found("name", m.start(), m.end())


def _luhn_card(number: str) -> bool:
    return 13 <= len(number) <= 19 and _luhn(number)


def _distinct(found: list[Found]) -> list[Found]:
    """One suggestion per span, in reading order; a span inside another one found is dropped."""
    out: list[Found] = []
    reach = -1  # the furthest end of those kept, each of which starts at or before this one
    for f in sorted(found, key=lambda f: (f.start, -f.end)):
        if f.end <= reach:
            continue
        out.append(f)
        reach = f.end
    return out
