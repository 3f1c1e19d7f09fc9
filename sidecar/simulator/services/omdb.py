"""A simulated OMDb: `GET /?i=<imdb id>&apikey=<key>` over the simulated TMDb's titles.

OMDb answers with HTTP 200 and `{"Response": "False", "Error": ...}` for an unknown id ("Incorrect
IMDb ID."), with 401 and "Request limit reached!" once a key's daily requests are spent, and with
"Invalid API key!" for a wrong key, seen both as 401 and as 200 (`bad_key_status`)
(omdbapi/OMDb-API issues #55, #126, #102). Every value of a record is a string; unknown ones are
"N/A". Ratings are derived from each title's TMDb vote, so they agree with it.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from sidecar.simulator.services.tmdb_catalogue import TmdbCatalogue, TmdbTitle, stable

DEFAULT_KEY = "omdb-simulated-key"
NA = "N/A"


@dataclass
class OmdbSimulator:
    catalogue: TmdbCatalogue
    api_key: str = DEFAULT_KEY
    daily_limit: int = 1000
    bad_key_status: int = 401  # OMDb has been seen answering a bad key with 401 and with 200
    down: bool = False
    used: Counter[tuple[str, dt.date]] = field(default_factory=Counter)  # (key, UTC day) -> requests
    statuses: Counter[int] = field(default_factory=Counter)
    requests: int = 0

    def create_app(self) -> web.Application:
        app = web.Application()
        app.router.add_get("/", self._root)
        return app

    async def _root(self, request: web.Request) -> web.Response:
        self.requests += 1
        response = self._answer(request)
        self.statuses[response.status] += 1
        return response

    def _answer(self, request: web.Request) -> web.Response:
        if self.down:
            return web.Response(status=503, text="<html><body>Service Unavailable</body></html>")
        key = request.query.get("apikey")
        if not key:
            return _error(401, "No API key provided.")
        if key != self.api_key:
            return _error(self.bad_key_status, "Invalid API key!")
        today = dt.datetime.now(dt.UTC).date()
        if self.used[(key, today)] >= self.daily_limit:
            return _error(401, "Request limit reached!")
        self.used[(key, today)] += 1
        imdb_id = request.query.get("i", "")
        found = self.catalogue.by_imdb.get(imdb_id)
        title = self.catalogue.titles.get(found) if found else None
        if title is None:
            return _error(200, "Incorrect IMDb ID.")
        return web.json_response(record(title))


def _error(status: int, message: str) -> web.Response:
    return web.json_response({"Response": "False", "Error": message}, status=status)


def record(title: TmdbTitle) -> dict[str, Any]:
    """The title as OMDb describes it; a third of the titles have no Rotten Tomatoes score."""
    salt = stable(f"omdb:{title.kind}:{title.id}")
    imdb = round(min(9.8, max(1.0, title.vote_average + (salt % 7 - 3) / 10)), 1)
    ratings = [{"Source": "Internet Movie Database", "Value": f"{imdb}/10"}]
    if salt % 3:
        ratings.append({"Source": "Rotten Tomatoes", "Value": f"{min(100, int(imdb * 11) - salt % 9)}%"})
    metascore = NA
    if title.kind == "movie" and salt % 4:
        metascore = str(max(1, min(100, int(imdb * 10) - salt % 13)))
        ratings.append({"Source": "Metacritic", "Value": f"{metascore}/100"})
    wins = salt % 12
    awards = f"{wins} wins & {wins + salt % 20} nominations" if wins else NA
    year = (title.date or "")[:4] or NA
    return {
        "Title": title.title, "Year": year, "Rated": title.certification or NA, "Released": NA,
        "Runtime": f"{title.runtime} min", "Genre": ", ".join(title.genres) or NA,
        "Director": ", ".join(c[0] for c in title.crew if c[1] == "Director") or NA,
        "Writer": NA, "Actors": ", ".join(c[0] for c in title.cast[:3]) or NA, "Plot": title.overview or NA,
        "Language": NA, "Country": NA, "Awards": awards, "Poster": NA, "Ratings": ratings,
        "Metascore": metascore, "imdbRating": str(imdb), "imdbVotes": f"{title.vote_count:,}",
        "imdbID": title.imdb_id, "Type": "series" if title.kind == "tv" else "movie",
        **({"totalSeasons": str(title.seasons)} if title.kind == "tv" else
           {"DVD": NA, "BoxOffice": NA, "Production": NA, "Website": NA}),
        "Response": "True",
    }  # fmt: skip
