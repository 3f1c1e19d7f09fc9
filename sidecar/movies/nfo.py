"""Kodi/Jellyfin `<movie>` NFO for one library entry.

The entry points at a movie the server already has, so the NFO repeats its metadata and, most
importantly, its TMDb/IMDb ids: Jellyfin keys user data by provider id, so play state follows the real
item. `sorttitle` and `dateadded` carry the rank so both "sort by name" and "recently added" list the
picks best first, and `lockdata` stops the server from overwriting any of it with online metadata.
"""

from __future__ import annotations

import datetime as dt
import xml.etree.ElementTree as ET

from sidecar.library.nfo import TICKS_PER_MINUTE, add, document, format_rating, plot
from sidecar.movies.model import RankedMovie


def build_movie_nfo(movie: RankedMovie, *, position: int, width: int, date_added: dt.datetime) -> bytes:
    """The NFO document as UTF-8 bytes with an XML declaration."""
    root = ET.Element("movie")
    add(root, "title", movie.title)
    add(root, "originaltitle", movie.original_title or movie.title)
    add(root, "sorttitle", f"{position:0{width}d} {movie.title}")
    add(root, "year", movie.year)
    add(root, "plot", plot(movie.explanation, movie.overview))
    add(root, "tagline", movie.tagline)
    for genre in movie.genres:
        add(root, "genre", genre)
    for studio in movie.studios:
        add(root, "studio", studio)
    if movie.community_rating is not None:
        add(root, "rating", format_rating(movie.community_rating))
    if movie.critic_rating is not None:
        add(root, "criticrating", format_rating(movie.critic_rating))
    add(root, "mpaa", movie.official_rating)
    if movie.runtime_ticks:
        add(root, "runtime", round(movie.runtime_ticks / TICKS_PER_MINUTE))
    tmdb = movie.tmdb_id or movie.provider_ids.get("tmdb")
    imdb = movie.imdb_id or movie.provider_ids.get("imdb")
    if tmdb:
        add(root, "uniqueid", tmdb, type="tmdb", default="true")
    if imdb:
        add(root, "uniqueid", imdb, type="imdb", **({} if tmdb else {"default": "true"}))
    if movie.premiere_date is not None:
        add(root, "premiered", movie.premiere_date.isoformat())
    add(root, "dateadded", date_added.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M:%S"))
    add(root, "lockdata", "true")
    return document(root)
