"""Kodi/Jellyfin NFO pieces every kind's NFO is built from, as an XML tree (never by string joining).

Each kind writes its own document (movies: sidecar/movies/nfo.py); the rules they share live here:
the rank's `dateadded`, the plot with the explanation first, forbidden XML characters, one encoding.
"""

from __future__ import annotations

import datetime as dt
import re
import xml.etree.ElementTree as ET

TICKS_PER_MINUTE = 600_000_000
XML_DECLARATION = '<?xml version="1.0" encoding="utf-8" standalone="yes"?>\n'
# Characters XML 1.0 forbids even escaped; ElementTree would write them and make the file unreadable.
_XML_FORBIDDEN = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def date_added_for_rank(anchor: dt.datetime, position: int) -> dt.datetime:
    """Rank 1 is the newest: one minute older per rank below it.

    The anchor is fixed per user library (its creation time), so an unchanged pick keeps the same
    date, its NFO keeps the same bytes, and the server is not asked to re-read it.
    """
    return anchor - dt.timedelta(minutes=position - 1)


def add(parent: ET.Element, tag: str, text: object | None, **attrs: str) -> None:
    if text is None or text == "":
        return
    element = ET.SubElement(parent, tag, attrs)
    element.text = _XML_FORBIDDEN.sub("", str(text))


def format_rating(value: float) -> str:
    return f"{value:.1f}"


def plot(explanation: str | None, overview: str | None) -> str | None:
    """Why it was picked first, then what it is about."""
    parts = [p.strip() for p in (explanation, overview) if p and p.strip()]
    return "\n\n".join(parts) or None


def _escape_text(text: str) -> str:
    # What ElementTree escapes in text (the same checks, so the same bytes).
    if "&" in text:
        text = text.replace("&", "&amp;")
    if "<" in text:
        text = text.replace("<", "&lt;")
    if ">" in text:
        text = text.replace(">", "&gt;")
    return text


def _escape_attribute(value: str) -> str:
    value = _escape_text(value)
    for char, entity in (('"', "&quot;"), ("\r", "&#13;"), ("\n", "&#10;"), ("\t", "&#09;")):
        if char in value:
            value = value.replace(char, entity)
    return value


def _leaf(element: ET.Element) -> str:
    attributes = "".join(f' {name}="{_escape_attribute(value)}"' for name, value in element.attrib.items())
    if not element.text:
        return f"<{element.tag}{attributes} />"
    return f"<{element.tag}{attributes}>{_escape_text(element.text)}</{element.tag}>"


def _is_flat(root: ET.Element) -> bool:
    return not root.attrib and not root.text and all(not len(child) and not child.tail for child in root)


def document(root: ET.Element) -> bytes:
    """The NFO as UTF-8 bytes with an XML declaration, indented by two spaces.

    Every NFO is a root of leaf elements, written here directly: ElementTree's indent and serialiser
    took half the time of building a user's series library (an NFO per episode). The bytes are
    ElementTree's own (tests compare the two), so no library is rewritten for it; any other shape goes
    through ElementTree.
    """
    if len(root) and _is_flat(root):
        body = "".join(f"\n  {_leaf(child)}" for child in root)
        return f"{XML_DECLARATION}<{root.tag}>{body}\n</{root.tag}>\n".encode()
    ET.indent(root, space="  ")
    # Serialised as text then encoded once: ET's byte output re-encodes every fragment (5x slower).
    return (XML_DECLARATION + ET.tostring(root, encoding="unicode") + "\n").encode("utf-8")
