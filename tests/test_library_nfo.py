"""The NFO parses back, with every field the media server needs, and survives hostile text."""

from __future__ import annotations

import datetime as dt
import xml.etree.ElementTree as ET

from sidecar.library.nfo import _XML_FORBIDDEN, XML_DECLARATION, Nfo, date_added_for_rank
from sidecar.movies.model import RankedMovie
from sidecar.movies.nfo import build_movie_nfo

ANCHOR = dt.datetime(2026, 5, 1, 12, 0, tzinfo=dt.UTC)

MATRIX = RankedMovie(
    movie_id="abc",
    rank=3,
    title="The Matrix",
    year=1999,
    original_title="The Matrix",
    overview="A hacker learns the truth.",
    tagline="Welcome to the Real World",
    genres=("Action", "Science Fiction"),
    studios=("Warner Bros.", "Village Roadshow"),
    community_rating=8.2,
    critic_rating=88.0,
    official_rating="R",
    runtime_ticks=136 * 600_000_000 + 20 * 10_000_000,
    tmdb_id="603",
    imdb_id="tt0133093",
    premiere_date=dt.date(1999, 3, 30),
    explanation="Because you watched Blade Runner.",
)


def _parse(data: bytes) -> ET.Element:
    return ET.fromstring(data)


def test_nfo_has_declaration_and_every_field() -> None:
    data = build_movie_nfo(MATRIX, position=3, width=2, date_added=date_added_for_rank(ANCHOR, 3))
    assert data.startswith(b'<?xml version="1.0" encoding="utf-8" standalone="yes"?>\n<movie>')
    root = _parse(data)
    assert root.tag == "movie"
    assert root.findtext("title") == "The Matrix"
    assert root.findtext("originaltitle") == "The Matrix"
    assert root.findtext("sorttitle") == "03 The Matrix"
    assert root.findtext("year") == "1999"
    plot = root.findtext("plot")
    assert plot is not None and plot.startswith("Because you watched Blade Runner.")
    assert plot.endswith("A hacker learns the truth.")
    assert root.findtext("tagline") == "Welcome to the Real World"
    assert [g.text for g in root.findall("genre")] == ["Action", "Science Fiction"]
    assert [s.text for s in root.findall("studio")] == ["Warner Bros.", "Village Roadshow"]
    assert root.findtext("rating") == "8.2"
    assert root.findtext("criticrating") == "88.0"
    assert root.findtext("mpaa") == "R"
    assert root.findtext("runtime") == "136"
    ids = {u.get("type"): (u.text, u.get("default")) for u in root.findall("uniqueid")}
    assert ids == {"tmdb": ("603", "true"), "imdb": ("tt0133093", None)}
    assert root.findtext("premiered") == "1999-03-30"
    assert root.findtext("dateadded") == "2026-05-01 11:58:00"
    assert root.findtext("lockdata") == "true"


def test_dateadded_orders_by_rank_best_newest() -> None:
    dates = [
        _parse(
            build_movie_nfo(MATRIX, position=p, width=2, date_added=date_added_for_rank(ANCHOR, p))
        ).findtext("dateadded")
        for p in (1, 2, 10)
    ]
    assert dates[0] > dates[1] > dates[2]  # fixed-width timestamps: string order = time order


def test_hostile_text_is_escaped_and_still_parses() -> None:
    nasty = RankedMovie(
        movie_id="x",
        rank=1,
        title='Tom & "Jerry" <script>',
        overview="]]> </movie> \x00\x07 control and 🎬 emoji, 日本語",
        genres=("R&B",),
    )
    root = _parse(build_movie_nfo(nasty, position=1, width=2, date_added=ANCHOR))
    assert root.findtext("title") == 'Tom & "Jerry" <script>'
    assert root.findtext("plot") == "]]> </movie>  control and 🎬 emoji, 日本語"
    assert root.findtext("genre") == "R&B"
    assert len(root.findall("movie")) == 0


def test_missing_fields_are_left_out_and_imdb_becomes_default_alone() -> None:
    sparse = RankedMovie(movie_id="y", rank=1, title="Obscure", imdb_id="tt1")
    root = _parse(build_movie_nfo(sparse, position=1, width=2, date_added=ANCHOR))
    for tag in ("year", "plot", "tagline", "genre", "rating", "runtime", "premiered", "mpaa"):
        assert root.find(tag) is None, tag
    unique = root.findall("uniqueid")
    assert [(u.get("type"), u.get("default"), u.text) for u in unique] == [("imdb", "true", "tt1")]


def _element_tree_document(root: ET.Element) -> bytes:
    """The reference: the same fields as an ElementTree tree, indented and serialised by it."""
    ET.indent(root, space="  ")
    return (XML_DECLARATION + ET.tostring(root, encoding="unicode") + "\n").encode("utf-8")


HOSTILE = ["plain", "a & b < c > d", 'quote " and \' apostrophe', "line\nbreak\r\ttab", "ünïcode 📺 ✓",
           "]]> <!-- --> <?pi?>", "&amp; already", " spaces "]  # fmt: skip


def test_nfo_bytes_are_element_trees_own_for_any_text_and_attribute() -> None:
    """Fields are escaped as ElementTree escapes them and laid out as it indents them: the same bytes
    (a difference would rewrite every NFO of every library once)."""
    for text in [*HOSTILE, "\x01", "\x01ok"]:
        for attribute in HOSTILE:
            nfo, root = Nfo("episodedetails"), ET.Element("episodedetails")
            fields = [("title", text, {}), ("uniqueid", "42", {"type": attribute, "default": "true"}),
                      ("plot", f"{text}\n\n{text}", {}), ("season", 3, {})]  # fmt: skip
            for tag, value, attrs in fields:
                nfo.add(tag, value, **attrs)
                ET.SubElement(root, tag, attrs).text = _XML_FORBIDDEN.sub("", str(value))
            assert nfo.to_bytes() == _element_tree_document(root)
    assert Nfo("tvshow").to_bytes() == _element_tree_document(ET.Element("tvshow"))


def test_empty_fields_are_left_out() -> None:
    nfo = Nfo("movie")
    nfo.add("title", None)
    nfo.add("tagline", "")
    nfo.add("year", 0)
    assert nfo.to_bytes() == f"{XML_DECLARATION}<movie>\n  <year>0</year>\n</movie>\n".encode()
