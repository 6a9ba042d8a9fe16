"""The one cleaning step: examples for each rule, and properties over random HTML."""

from __future__ import annotations

import html
from dataclasses import dataclass

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from collectors.text import clean_line, clean_text

INLINE = ["b", "i", "a", "span", "s", "tg-emoji", "em"]
BLOCK = ["p", "div", "li", "blockquote", "h3"]
# Letters, emoji, the characters HTML must escape, and the whitespace and invisibles the cleaning folds.
ALPHABET = list("Ромашка Sber 😀🌼<>&\"'\n\t\u00a0\u200b\u2060\ufeff\u00ad\u3000\u200d")


@dataclass(frozen=True)
class Text:
    value: str
    entity: bool


@dataclass(frozen=True)
class Element:
    tag: str
    children: tuple[Text | Element, ...]
    attrs: bool


Node = Text | Element


def render(node: Node) -> str:
    """The node as a platform would send it: text escaped, sometimes as numeric character references."""
    if isinstance(node, Text):
        if node.entity:
            return "".join(f"&#{ord(ch)};" for ch in node.value)
        return html.escape(node.value, quote=False)
    if node.tag == "br":
        return "<br/>" if node.attrs else "<br>"
    attrs = ' class="emoji" style="background-image:url(\'x.png\')"' if node.attrs else ""
    inner = "".join(render(c) for c in node.children)
    return f"<{node.tag}{attrs}>{inner}</{node.tag}>"


def visible(node: Node) -> str:
    """What a reader sees, before whitespace is normalised: blocks and ``<br>`` break lines."""
    if isinstance(node, Text):
        return node.value
    if node.tag == "br":
        return "\n"
    inner = "".join(visible(c) for c in node.children)
    return f"\n{inner}\n" if node.tag in BLOCK else inner


texts = st.builds(Text, st.text(alphabet=st.sampled_from(ALPHABET), max_size=8), st.booleans())
trees = st.recursive(
    texts,
    lambda kids: st.one_of(
        st.builds(Element, st.just("br"), st.just(()), st.booleans()),
        st.builds(
            Element,
            st.sampled_from(INLINE + BLOCK),
            st.lists(kids, max_size=4).map(tuple),
            st.booleans(),
        ),
    ),
    max_leaves=16,
)
documents = st.lists(trees, min_size=1, max_size=4).map(lambda ns: Element("div", tuple(ns), False))


@settings(max_examples=300, deadline=None)
@given(documents)
def test_random_html_reads_as_its_visible_text(doc: Element) -> None:
    out = clean_text(render(doc), "html")
    # The same text as the tree shows, in the one normal form; the markup itself is gone.
    assert out == clean_text(visible(doc), "plain")
    for invisible in "\u200b\u2060\ufeff\u00ad\u00a0\t\u3000":
        assert invisible not in out
    assert "  " not in out and "\n\n\n" not in out and out == out.strip()
    # No tag of the markup leaks into the text (the text itself may spell one: "<\u200bb" reads "<b").
    shown = clean_text(visible(doc), "plain")
    assert not any(f"<{tag}" in out for tag in [*INLINE, *BLOCK, "br"] if f"<{tag}" not in shown)


@settings(max_examples=300, deadline=None)
@given(st.text())
def test_plain_cleaning_is_idempotent_and_total(text: str) -> None:
    once = clean_text(text, "plain")
    assert clean_text(once, "plain") == once
    assert "\x00" not in once and "\r" not in once


@settings(max_examples=200, deadline=None)
@given(st.text())
def test_html_cleaning_never_fails(text: str) -> None:
    out = clean_text(text, "html")
    assert clean_text(out, "plain") == out


@pytest.mark.parametrize(
    ("raw", "markup", "expected"),
    [
        ("Ромашка&#10071;<br>тариф", "html", "Ромашка❗\nтариф"),
        ("SURF &amp; PIPE &quot;X&quot; &#39;y&#39;", "escaped", "SURF & PIPE \"X\" 'y'"),
        ("a <b>x</b>", "escaped", "a <b>x</b>"),
        ("a <3 b, x<y z", "html", "a <3 b, x<y z"),
        ("AT&T, R&D", "html", "AT&T, R&D"),
        ("Сбер\u200bбанк Сбер\u00adбанк Сбер\u200dбанк", "plain", "Сбербанк Сбербанк Сбербанк"),
        ("семья 👨\u200d👩\u200d👧", "plain", "семья 👨\u200d👩\u200d👧"),
        ("שלום\u200f и \u202eперевёрнуто\u202c", "plain", "שלום\u200f и \u202eперевёрнуто\u202c"),
        ("  a \u00a0 b\r\n\r\n\r\n\r\nc  ", "plain", "a b\n\nc"),
        ("и\u0306од", "plain", "йод"),  # decomposed й composed (NFC) so brand matching sees one form
        ("x\x00y\x07z", "plain", "xyz"),
        ("<p>один</p><p>два</p><script>alert(1)</script><style>p{}</style>", "html", "один\n\nдва"),
        ("<i class='emoji'><b>😎</b></i> ок", "html", "😎 ок"),
        ("", "html", ""),
    ],
)
def test_examples(raw: str, markup, expected: str) -> None:
    assert clean_text(raw, markup) == expected


def test_clean_line_joins_lines() -> None:
    assert clean_line("Дата\n аналитикс <b>", "plain") == "Дата аналитикс <b>"
