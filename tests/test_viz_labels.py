"""Escaping for Graphviz: any label text renders through the real ``dot`` and shows intact.

In a record label ``{ f{x} | data 1.0 | grad 0.5 }`` makes ``dot`` fail, ``|`` silently
adds a field and ``<x>`` silently becomes a port; chainrule uses HTML-like labels
with XML escaping instead, checked here with Hypothesis-generated text.
"""

from __future__ import annotations

import re

from hypothesis import given
from hypothesis import strategies as st

import viz
from autograd import Value
from viz.labels import displayed, escape
from viz.render import render_bytes

from .test_viz_draw import png_size, svg, svg_texts

AWKWARD = [
    "{ f{x} | data 1.0 | grad 0.5 }",
    "a|b",
    "<x>",
    "<<B>bold</B>>",
    'say "hi"',
    "back\\slash \\N \\l \\",
    "&amp; & &#65; &lt;",
    "]]> <!-- -->",
    "naïve ∂y/∂x ∑ 漢字 😀 שלום",
    "tab\there",
]


def cell_count(source: str, name: str) -> int:
    """How many cells the table of the node whose name cell shows ``name`` has."""
    for line in source.splitlines():
        if f">{escape(name)}</TD>" in line:
            return len(re.findall(r"<TD[ >]", line.split("<TABLE", 1)[1]))
    raise AssertionError(f"no node shows {name!r}")


def test_record_syntax_in_labels_stays_text():
    values = [Value(float(i), label=text) for i, text in enumerate(AWKWARD)]
    y = Value.sum(values)
    y.backward()
    graph = viz.draw_graph(y)
    texts = svg(graph)
    for text in AWKWARD:
        assert displayed(text).strip() in texts, text
        assert cell_count(graph.source, text) == 3  # name | data | grad: no extra fields
    width, height = png_size(render_bytes(graph, ["png"])["png"])
    assert width > 100 and height > 100


def test_escape_never_leaves_raw_markup():
    assert escape('f{x} | <y> & "z"') == "f{x} | &lt;y&gt; &amp; &quot;z&quot;"
    assert escape("&lt;") == "&amp;lt;"  # entities are escaped, not passed through
    assert escape("a\nb\r\nc\rd") == "a<BR/>b<BR/>c<BR/>d"


def test_characters_xml_cannot_carry_are_shown_visibly():
    assert displayed("a\x00b\x1bc\x7f") == "a\u2400b\u241bc\u2421"
    assert displayed("\ud800 \ufffe \uffff") == "\ufffd \ufffd \ufffd"
    assert displayed("tab\there") == "tab here"  # dot drops tabs


SPECIAL = st.sampled_from(list('{}|<>&"\\\n\r\t\x00\x7f') + ["\\N", "\\G", "&amp;", "]]>"])
ANY_CHARACTER = st.characters(exclude_categories=())  # surrogates and controls too


@given(st.lists(st.one_of(SPECIAL, ANY_CHARACTER), max_size=30).map("".join))
def test_any_label_renders_through_dot_and_appears_in_the_svg(label):
    x = Value(1.5, label=label)
    y = x * 2
    y.label = "y"
    graph = viz.draw_graph(y, title=label or None)
    texts = svg_texts(render_bytes(graph, ["svg"])["svg"])  # dot must not fail
    joined = "\n".join(texts)
    for line in displayed(label).split("\n"):
        words = line.split()
        if words:  # dot may drop or merge pure whitespace
            assert " ".join(words) in " ".join(joined.split()), (label, texts)
    assert "data 1.5" in texts and "data 3" in texts
