"""Kodi/Jellyfin `<movie>` NFO for one library entry.

The entry points at a movie the server already has, so the NFO repeats its metadata and, most
importantly, its TMDb/IMDb ids: Jellyfin keys user data by provider id, so play state follows the real
item. `sorttitle` and `dateadded` carry the rank so both "sort by name" and "recently added" list the
picks best first, and `lockdata` stops the server from overwriting any of it with online metadata.
"""

from __future__ import annotations

import datetime as dt

from sidecar.library.nfo import TICKS_PER_MINUTE, Nfo, format_rating, plot
from sidecar.movies.model import RankedMovie


def build_movie_nfo(movie: RankedMovie, *, position: int, width: int, date_added: dt.datetime) -> bytes:
    """The NFO document as UTF-8 bytes with an XML declaration."""
    nfo = Nfo("movie")
    nfo.add("title", movie.title)
    nfo.add("originaltitle", movie.original_title or movie.title)
    nfo.add("sorttitle", f"{position:0{width}d} {movie.title}")
    nfo.add("year", movie.year)
    nfo.add("plot", plot(movie.explanation, movie.overview))
    nfo.add("tagline", movie.tagline)
    for genre in movie.genres:
        nfo.add("genre", genre)
    for studio in movie.studios:
        nfo.add("studio", studio)
    if movie.community_rating is not None:
        nfo.add("rating", format_rating(movie.community_rating))
    if movie.critic_rating is not None:
        nfo.add("criticrating", format_rating(movie.critic_rating))
    nfo.add("mpaa", movie.official_rating)
    if movie.runtime_ticks:
        nfo.add("runtime", round(movie.runtime_ticks / TICKS_PER_MINUTE))
    tmdb = movie.tmdb_id or movie.provider_ids.get("tmdb")
    imdb = movie.imdb_id or movie.provider_ids.get("imdb")
    if tmdb:
        nfo.add("uniqueid", tmdb, type="tmdb", default="true")
    if imdb:
        nfo.add("uniqueid", imdb, type="imdb", **({} if tmdb else {"default": "true"}))
    if movie.premiere_date is not None:
        nfo.add("premiered", movie.premiere_date.isoformat())
    nfo.add("dateadded", date_added.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M:%S"))
    nfo.add("lockdata", "true")
    return nfo.to_bytes()
