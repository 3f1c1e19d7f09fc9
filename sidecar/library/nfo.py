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


def document(root: ET.Element) -> bytes:
    """The NFO as UTF-8 bytes with an XML declaration."""
    ET.indent(root, space="  ")
    # Serialised as text then encoded once: ET's byte output re-encodes every fragment (5x slower).
    return (XML_DECLARATION + ET.tostring(root, encoding="unicode") + "\n").encode("utf-8")
