"""A simulated TMDb v3: the real paths, response shapes and errors, over `tmdb_catalogue`.

Routes: `/movie/{id}` and `/tv/{id}` with `append_to_response` (keywords, credits, release_dates,
content_ratings, external_ids, recommendations, similar), `/find/{external_id}?external_source=`,
`/{movie|tv}/{id}/recommendations|similar?page=`. Shapes follow the API reference
(developer.themoviedb.org/reference) and typed clients' definitions: the base movie object carries
`belongs_to_collection` (null when none) and `imdb_id`; the movie `keywords` append is
`{id, keywords: [...]}` while TV's is `{id, results: [...]}`; TV has no IMDb id in its base object.

Errors as TMDb sends them (developer.themoviedb.org/docs/errors): 401 `{status_code: 7, ...,
success: false}` for a missing or wrong key, 404 `{status_code: 34}` for an unknown id, 400
`{status_code: 22}` for a page outside 1..500, 429 `{status_code: 25}` with `Retry-After` above the
rate limit (a bucket of `rate_limit_per_second` requests refilled each second; TMDb's is "in the 50
requests per second range"). Faults (`faults`, the media-server simulator's rules), `down` and
`down_after` (503 `{status_code: 9}`) are for tests.
"""

from __future__ import annotations

import asyncio
import math
import secrets
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from sidecar.simulator.faults import Faults
from sidecar.simulator.services.tmdb_catalogue import (
    MOVIE_GENRES,
    TV_GENRES,
    TmdbCatalogue,
    TmdbKind,
    TmdbTitle,
    stable,
)

DEFAULT_TOKEN = "tmdb-simulated-read-access-token"
PAGE_SIZE = 20
RELATED_TOTAL = {"recommendations": 40, "similar": 60}  # results over all pages
CANDIDATES_PER_GENRE = 150
_INVALID_KEY = (401, 7, "Invalid API key: You must be granted a valid key.")
_NOT_FOUND = (404, 34, "The resource you requested could not be found.")
_BAD_PAGE = (400, 22, "Invalid page: Pages start at 1 and max at 500. They are expected to be an integer.")
_OFFLINE = (503, 9, "Service offline: This service is temporarily offline, try again later.")


def _error(status: int, code: int, message: str, headers: dict[str, str] | None = None) -> web.Response:
    return web.json_response(
        {"status_code": code, "status_message": message, "success": False}, status=status, headers=headers
    )


def _image(title: TmdbTitle, what: str) -> str:
    return f"/{stable(f'{what}:{title.kind}:{title.id}') % 10**12:012d}.jpg"


def _person_id(name: str) -> int:
    return 1_000 + stable(f"person:{name}") % 5_000_000


@dataclass
class TmdbSimulator:
    """State of one simulated TMDb: its catalogue, the accepted token, limits, faults, what it saw."""

    catalogue: TmdbCatalogue
    api_key: str = DEFAULT_TOKEN
    rate_limit_per_second: float | None = 50.0  # None: no limit
    down: bool = False
    down_after: int | None = None  # answer this many requests, then act as `down` (an outage mid-run)
    faults: Faults = field(default_factory=Faults)
    requests: Counter[str] = field(default_factory=Counter)  # route -> requests
    statuses: Counter[int] = field(default_factory=Counter)
    key_in_query: int = 0  # requests that sent the key as ?api_key= (our client never should)
    _bucket: float = 0.0
    _stamp: float = 0.0
    _related: dict[tuple[str, TmdbKind, int], list[TmdbTitle]] = field(default_factory=dict)
    _by_genre: dict[tuple[TmdbKind, str], list[TmdbTitle]] = field(default_factory=dict)

    @property
    def request_count(self) -> int:
        return sum(self.requests.values())

    def create_app(self) -> web.Application:
        app = web.Application(middlewares=[self._middleware])
        for kind in ("movie", "tv"):
            app.router.add_get(f"/{kind}/{{id}}", self._details)
            app.router.add_get(f"/{kind}/{{id}}/recommendations", self._recommendations)
            app.router.add_get(f"/{kind}/{{id}}/similar", self._similar)
        app.router.add_get("/find/{external_id}", self._find)
        return app

    # --- the gate every request passes: count, faults, auth, rate limit ------------------------------
    @web.middleware
    async def _middleware(self, request: web.Request, handler: Any) -> web.StreamResponse:
        route = request.match_info.route.resource.canonical if request.match_info.route.resource else "?"
        self.requests[route] += 1
        response = await self._gate(request, handler)
        self.statuses[response.status] += 1
        return response

    async def _gate(self, request: web.Request, handler: Any) -> web.StreamResponse:
        if self.faults.latency_seconds:
            await asyncio.sleep(self.faults.latency_seconds)
        fault = self.faults.take(
            request.method, request.path, {k.lower(): v for k, v in request.query.items()}
        )
        if fault is not None:
            await fault.wait()
            if fault.status:
                headers = {"Retry-After": fault.retry_after} if fault.retry_after else None
                return _error(fault.status, 25 if fault.status == 429 else 11, "injected fault", headers)
        if self.down or (self.down_after is not None and self.request_count > self.down_after):
            return _error(*_OFFLINE)
        if "api_key" in request.query:
            self.key_in_query += 1
        if not self._authorised(request):
            return _error(*_INVALID_KEY)
        if not self._take_token():
            return _error(
                429, 25, f"Your request count (#) is over the allowed limit of ({self.rate_limit_per_second:g}).",
                {"Retry-After": "1"},
            )  # fmt: skip
        return await handler(request)

    def _authorised(self, request: web.Request) -> bool:
        if self.faults.reject_auth:
            return False
        header = request.headers.get("Authorization", "")
        offered = header[7:] if header.startswith("Bearer ") else request.query.get("api_key", "")
        return bool(offered) and secrets.compare_digest(offered.encode(), self.api_key.encode())

    def _take_token(self) -> bool:
        if self.rate_limit_per_second is None:
            return True
        now = time.monotonic()
        rate = self.rate_limit_per_second
        self._bucket = rate if not self._stamp else min(rate, self._bucket + (now - self._stamp) * rate)
        self._stamp = now
        if self._bucket < 1.0:
            return False
        self._bucket -= 1.0
        return True

    # --- handlers -------------------------------------------------------------------------------------
    def _title(self, request: web.Request) -> TmdbTitle | None:
        kind: TmdbKind = "movie" if request.path.startswith("/movie/") else "tv"
        raw = request.match_info["id"]
        return self.catalogue.get(kind, int(raw)) if raw.isdigit() else None

    async def _details(self, request: web.Request) -> web.Response:
        title = self._title(request)
        if title is None:
            return _error(*_NOT_FOUND)
        body = self.movie_details(title) if title.kind == "movie" else self.tv_details(title)
        for name in request.query.get("append_to_response", "").split(","):
            appended = self._append(title, name.strip())
            if appended is not None:
                body[name.strip()] = appended
        return web.json_response(body)

    async def _recommendations(self, request: web.Request) -> web.Response:
        return self._related_page(request, "recommendations")

    async def _similar(self, request: web.Request) -> web.Response:
        return self._related_page(request, "similar")

    def _related_page(self, request: web.Request, mode: str) -> web.Response:
        title = self._title(request)
        if title is None:
            return _error(*_NOT_FOUND)
        raw = request.query.get("page", "1")
        if not raw.isdigit() or not 1 <= int(raw) <= 500:
            return _error(*_BAD_PAGE)
        return web.json_response(self.related_page(title, mode, int(raw)))

    async def _find(self, request: web.Request) -> web.Response:
        source = request.query.get("external_source", "")
        external = request.match_info["external_id"]
        index = {"imdb_id": self.catalogue.by_imdb, "tvdb_id": self.catalogue.by_tvdb}.get(source)
        if index is None:
            return _error(422, 5, "Invalid parameters: Your request parameters are incorrect.")
        key = index.get(external)
        found = self.catalogue.titles.get(key) if key else None
        body: dict[str, list[Any]] = {
            "movie_results": [], "person_results": [], "tv_results": [],
            "tv_episode_results": [], "tv_season_results": [],
        }  # fmt: skip
        if found is not None:
            body[f"{found.kind}_results"].append(self.list_item(found, media_type=True))
        return web.json_response(body)

    # --- documents ------------------------------------------------------------------------------------
    def _genres(self, title: TmdbTitle) -> list[dict[str, Any]]:
        known = MOVIE_GENRES if title.kind == "movie" else TV_GENRES
        return [{"id": known[g], "name": g} for g in title.genres if g in known]

    def _common(self, title: TmdbTitle) -> dict[str, Any]:
        return {
            "adult": False,
            "backdrop_path": _image(title, "backdrop"),
            "id": title.id,
            "original_language": title.original_language,
            "overview": title.overview,
            "popularity": title.popularity,
            "poster_path": _image(title, "poster"),
            "vote_average": title.vote_average,
            "vote_count": title.vote_count,
        }

    def movie_details(self, title: TmdbTitle) -> dict[str, Any]:
        collection = (
            {
                "id": title.collection[0],
                "name": title.collection[1],
                "poster_path": None,
                "backdrop_path": None,
            }
            if title.collection
            else None
        )
        return {
            **self._common(title),
            "belongs_to_collection": collection,
            "budget": 0,
            "genres": self._genres(title),
            "homepage": "",
            "imdb_id": title.imdb_id,
            "origin_country": ["US"] if title.original_language == "en" else [],
            "original_title": title.original_title,
            "production_companies": [],
            "production_countries": [],
            "release_date": title.date or "",
            "revenue": 0,
            "runtime": title.runtime,
            "spoken_languages": [],
            "status": title.status,
            "tagline": "",
            "title": title.title,
            "video": False,
        }

    def tv_details(self, title: TmdbTitle) -> dict[str, Any]:
        return {
            **self._common(title),
            "created_by": [self._creator(title, name) for name in title.created_by],
            "episode_run_time": [title.runtime],
            "first_air_date": title.date or "",
            "genres": self._genres(title),
            "homepage": "",
            "in_production": title.status == "Returning Series",
            "languages": [title.original_language],
            "last_air_date": None,
            "name": title.title,
            "networks": [
                {"id": 1 + stable(f"network:{n}") % 9000, "logo_path": None, "name": n, "origin_country": ""}
                for n in title.networks
            ],
            "number_of_episodes": title.episodes,
            "number_of_seasons": title.seasons,
            "origin_country": ["US"] if title.original_language == "en" else [],
            "original_name": title.original_title,
            "production_companies": [],
            "seasons": [],
            "status": title.status,
            "tagline": "",
            "type": "Scripted",
        }

    def _creator(self, title: TmdbTitle, name: str) -> dict[str, Any]:
        credit = f"{stable(f'{title.id}:{name}:creator'):024x}"[:24]
        return {"id": _person_id(name), "credit_id": credit, "name": name, "original_name": name,
                "gender": 0, "profile_path": None}  # fmt: skip

    def _append(self, title: TmdbTitle, name: str) -> dict[str, Any] | None:
        keywords = [{"id": 1 + stable(f"keyword:{k}") % 400_000, "name": k} for k in title.keywords]
        if name == "keywords":
            return {"id": title.id, ("keywords" if title.kind == "movie" else "results"): keywords}
        if name == "credits":
            return self.credits(title)
        if name == "release_dates" and title.kind == "movie":
            return {"id": title.id, "results": [{"iso_3166_1": "US", "release_dates": [
                {"certification": title.certification, "descriptors": [], "iso_639_1": "", "note": "",
                 "release_date": f"{title.date}T00:00:00.000Z" if title.date else "", "type": 3}]}]}  # fmt: skip
        if name == "content_ratings" and title.kind == "tv":
            return {
                "id": title.id,
                "results": [{"descriptors": [], "iso_3166_1": "US", "rating": title.certification}],
            }
        if name == "external_ids":
            ids: dict[str, Any] = {"id": title.id, "imdb_id": title.imdb_id, "wikidata_id": None,
                                   "facebook_id": None, "instagram_id": None, "twitter_id": None}  # fmt: skip
            if title.kind == "tv":
                ids |= {
                    "freebase_mid": None,
                    "freebase_id": None,
                    "tvdb_id": title.tvdb_id,
                    "tvrage_id": None,
                }
            return ids
        if name in RELATED_TOTAL:
            return self.related_page(title, name, 1)
        return None

    def credits(self, title: TmdbTitle) -> dict[str, Any]:
        cast = [
            {"adult": False, "gender": 0, "id": _person_id(name), "known_for_department": "Acting", "name": name,
             "original_name": name, "popularity": 1.0, "profile_path": None, "character": character,
             "credit_id": f"{stable(f'{title.id}:{name}:{order}'):024x}"[:24], "order": order}
            for order, (name, character) in enumerate(title.cast)
        ]  # fmt: skip
        crew = [
            {"adult": False, "gender": 0, "id": _person_id(name), "known_for_department": department,
             "name": name, "original_name": name, "popularity": 1.0, "profile_path": None,
             "credit_id": f"{stable(f'{title.id}:{name}:{job}'):024x}"[:24], "department": department, "job": job}
            for name, job, department in title.crew
        ]  # fmt: skip
        return {"id": title.id, "cast": cast, "crew": crew}

    def list_item(self, title: TmdbTitle, *, media_type: bool) -> dict[str, Any]:
        """A title as lists show it (find, recommendations, similar): genre ids, no details."""
        item = self._common(title)
        known = MOVIE_GENRES if title.kind == "movie" else TV_GENRES
        item["genre_ids"] = [known[g] for g in title.genres if g in known]
        if media_type:
            item["media_type"] = title.kind
        if title.kind == "movie":
            item |= {"original_title": title.original_title, "release_date": title.date or "",
                     "title": title.title, "video": False}  # fmt: skip
        else:
            item |= {"first_air_date": title.date or "", "name": title.title,
                     "origin_country": ["US"] if title.original_language == "en" else [],
                     "original_name": title.original_title}  # fmt: skip
        return item

    # --- recommendations and similar -------------------------------------------------------------------
    def related(self, title: TmdbTitle, mode: str) -> list[TmdbTitle]:
        """Deterministic neighbours: same collection first, then shared genres and keywords (similar)
        or shared genres and popularity (recommendations); on-server and off-server titles alternate,
        so a user's neighbours always include titles their server lacks."""
        key = (mode, title.kind, title.id)
        if key in self._related:
            return self._related[key]
        candidates: dict[int, TmdbTitle] = {}
        for genre in title.genres:
            for other in self._genre_list(title.kind, genre)[:CANDIDATES_PER_GENRE]:
                candidates[other.id] = other
        if title.collection:
            for member in self.catalogue.members(title.collection[0]):
                candidates[member.id] = member
        candidates.pop(title.id, None)
        keywords = set(title.keywords)

        def score(other: TmdbTitle) -> float:
            shared = len(set(title.genres) & set(other.genres))
            value = 2.0 * shared + (
                10.0 if title.collection and other.collection == title.collection else 0.0
            )
            if mode == "similar":
                value += len(keywords & set(other.keywords))
            else:
                value += math.log1p(other.popularity) / 3
            return value + (stable(f"{mode}:{title.kind}:{title.id}:{other.id}") % 1000) / 1000

        ranked = sorted(candidates.values(), key=score, reverse=True)
        on = [t for t in ranked if t.on_server]
        off = [t for t in ranked if not t.on_server]
        mixed: list[TmdbTitle] = []
        while (on or off) and len(mixed) < RELATED_TOTAL[mode]:
            for source in (on, off):
                if source and len(mixed) < RELATED_TOTAL[mode]:
                    mixed.append(source.pop(0))
        self._related[key] = mixed
        return mixed

    def _genre_list(self, kind: TmdbKind, genre: str) -> list[TmdbTitle]:
        key = (kind, genre)
        if key not in self._by_genre:
            members = [t for t in self.catalogue.titles.values() if t.kind == kind and genre in t.genres]
            self._by_genre[key] = sorted(members, key=lambda t: (-t.popularity, t.id))
        return self._by_genre[key]

    def related_page(self, title: TmdbTitle, mode: str, page: int) -> dict[str, Any]:
        everything = self.related(title, mode)
        chunk = everything[(page - 1) * PAGE_SIZE : page * PAGE_SIZE]
        return {
            "page": page,
            "results": [self.list_item(t, media_type=mode == "recommendations") for t in chunk],
            "total_pages": math.ceil(len(everything) / PAGE_SIZE),
            "total_results": len(everything),
        }
