"""Text for Graphviz: escaping for HTML-like labels.

Every label chainrule draws is an HTML-like label (``label=<...>``), never a
record label: in a record label ``{ } | < >`` are syntax (``|`` silently adds a
field, ``<x>`` silently becomes a port, an unbalanced ``{`` makes ``dot`` fail)
and backslashes start escapes such as ``\\N``. In an HTML-like label only the
XML characters ``& < > "`` need escaping, plus the backslash: ``dot`` still
expands ``\\N`` (the node's name) and ``\\G`` inside HTML-like labels, so each
backslash is doubled.

What XML cannot carry at all is replaced by something visible: control
characters by their Unicode "control picture" (U+2400 + code, so NUL shows as
``␀``), lone surrogates and the non-characters U+FFFE/U+FFFF by U+FFFD.
Newlines become line breaks and tabs spaces (``dot`` drops tabs).

Long text is shortened for the picture, with a visible ellipsis (the Value keeps its
full label): a name to ``MAX_LABEL`` characters, a title or caption to ``MAX_LINES``
lines of ``MAX_LINE`` characters. ``dot`` refuses a label longer than 16,384
characters with a syntax error, and a name that long cannot be read anyway.
"""

from __future__ import annotations

import unicodedata

__all__ = [
    "MAX_LABEL",
    "MAX_LINE",
    "MAX_LINES",
    "check_label",
    "displayed",
    "escape",
    "html_label",
    "shorten",
    "shorten_lines",
]

MAX_LABEL = 60  # characters of a name (a label) in a picture
MAX_LINE = 160  # characters of a line of a title or caption
MAX_LINES = 40  # lines of a title or caption
ELLIPSIS = "\u2026"
_PADDING = " \u00a0"  # spaces and the no-break spaces viz.animate pads captions with

_XML = {"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;"}  # "&" first
_CONTROL_PICTURE = 0x2400
_DELETE_PICTURE = "\u2421"


def displayed(text: str) -> str:
    """``text`` as it appears in the picture: characters XML cannot carry replaced.

    Line ends (CR, LF, CRLF) become one newline and a tab becomes a space.
    """
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\t", " ")
    if text.isprintable() and text.isascii():
        return text
    return "".join(map(_visible, text))


def _visible(ch: str) -> str:
    code = ord(ch)
    if ch == "\n":
        return ch
    if code < 0x20:
        return chr(_CONTROL_PICTURE + code)
    if code == 0x7F:
        return _DELETE_PICTURE
    if 0xD800 <= code <= 0xDFFF or code in (0xFFFE, 0xFFFF):
        return "\ufffd"
    return ch


def escape(text: object) -> str:
    """Text for the inside of an HTML-like label: XML-escaped, newlines as ``<BR/>``.

    >>> escape('f{x} | <y> & "z"')
    'f{x} | &lt;y&gt; &amp; &quot;z&quot;'
    """
    text = displayed(str(text)).replace("\\", "\\\\")
    for ch, entity in _XML.items():
        text = text.replace(ch, entity)
    return text.replace("\n", "<BR/>")


def check_label(label: object) -> str:
    """A Value's label as text: a str, or None for no label; anything else is a TypeError."""
    if label is None:
        return ""
    if not isinstance(label, str):
        raise TypeError(
            f"a Value's label must be a str, not {type(label).__name__}: {shorten(repr(label))}"
        )
    return label


def shorten(text: str, limit: int = MAX_LABEL) -> str:
    """``text`` cut to at most ``limit`` characters, ending in "…" when cut.

    >>> shorten("a" * 70, 10)
    'aaaaaaaaa…'
    """
    if len(text) <= limit:
        return text
    cut = limit - 1
    while cut > 0 and unicodedata.combining(text[cut]):  # keep an accent with its letter
        cut -= 1
    return text[:cut] + ELLIPSIS


def shorten_lines(text: str, width: int = MAX_LINE, height: int = MAX_LINES) -> str:
    """A title or caption cut to ``height`` lines of at most ``width`` characters.

    Cut text ends in "…"; the last line kept says how many lines with text were
    left out. Padding is cut silently, so lines padded to one width keep one width.
    """
    lines = text.split("\n")
    if len(lines) > height:
        hidden = sum(1 for line in lines[height - 1 :] if line.strip(_PADDING))
        if any(line.strip(_PADDING) for line in lines[height:]):
            lines = [*lines[: height - 1], f"{ELLIPSIS} ({hidden} more lines)"]
        else:
            lines = lines[:height]
    return "\n".join(_cut_line(line, width) for line in lines)


def _cut_line(line: str, width: int) -> str:
    if len(line) > width and not line[width:].strip(_PADDING):
        return line[:width]
    return shorten(line, width)


def html_label(inner: str) -> str:
    """Wrap already-escaped HTML-like content as a DOT label value (``<...>``)."""
    return f"<{inner}>"
