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
"""

from __future__ import annotations

__all__ = ["displayed", "escape", "html_label"]

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


def html_label(inner: str) -> str:
    """Wrap already-escaped HTML-like content as a DOT label value (``<...>``)."""
    return f"<{inner}>"
