"""A Trakt API simulator: the device-code OAuth flow, token refresh, and a user's synced ratings,
watch history and last activities, in Trakt's wire format, with its rate limit.

Shapes and codes as Trakt documents them (https://trakt.docs.apiary.io, "Authentication - Devices",
"Sync") and as typed clients declare them field by field: henrikfroehling/Trakt.NET
(`TraktSyncMoviesLastActivities`: watched_at, collected_at, rated_at, ...), wwarby/TraktSharp
(`TraktSyncLastActivitiesResponseMovies`), ShokoAnime/ShokoServer `TraktConstants.cs` (status codes:
400 pending, 404 invalid, 409 used, 410 expired, 418 denied, 429 slow down / rate limit, 420 account
limit), the rust `trakt` crate's `AuthenticationDevices {device_code, user_code, verification_url,
expires_in, interval}`, and api-evangelist/trakt `trakt-history-structure.json` (history entry: `id`
64-bit, `watched_at`, `action` scrobble|checkin|watch, `type` movie|episode, `movie` or `episode` +
`show`). Access tokens live 24 hours (Trakt API discussion #495, March 2025); a refresh rotates the
access **and** the refresh token and the old refresh token stops working.

Every request needs `trakt-api-version: 2` and `trakt-api-key: <client id>` (403 for an unknown key,
as Trakt answers an unapproved or invalid app); user data needs `Authorization: Bearer <access
token>` (401 without a valid one). Authenticated GETs are limited per user (1,000 per 5 minutes by
default) and answered 429 with `Retry-After` and `X-Ratelimit` beyond that.

The state is inspectable and drives time (`advance`), faults and the users' data; `seed_user` fills
a user from a media-server simulator's catalogue (movies by TMDb/IMDb id, episodes by their show's
ids + season/number) plus titles the server does not have. Run it with
`sidecar.simulator.services.serve(state.create_app())`.
"""

from __future__ import annotations

import collections
import datetime as dt
import json
import math
import random
import secrets
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

ACCESS_TOKEN_SECONDS = 24 * 3600
DEVICE_CODE_SECONDS = 600
DEVICE_INTERVAL_SECONDS = 5
GET_LIMIT = 1000  # authenticated GETs per window per user
GET_WINDOW_SECONDS = 300
DEFAULT_PAGE_LIMIT = 10  # Trakt's default when `limit` is absent
MAX_PAGE_LIMIT = 1000  # [U] Trakt caps large limits; the exact cap is not documented
VERIFICATION_URL = "https://trakt.tv/activate"
EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
MOVIE_ACTIVITIES = (
    "watched_at",
    "collected_at",
    "rated_at",
    "watchlisted_at",
    "favorited_at",
    "commented_at",
    "paused_at",
    "hidden_at",
)
EPISODE_ACTIVITIES = ("watched_at", "collected_at", "rated_at", "watchlisted_at", "commented_at", "paused_at")
SHOW_ACTIVITIES = ("rated_at", "watchlisted_at", "favorited_at", "commented_at", "hidden_at")


def stamp(when: dt.datetime) -> str:
    """Trakt's timestamps: UTC with milliseconds and a Z."""
    return when.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{when.microsecond // 1000:03d}Z"


@dataclass
class TraktFaults:
    """What the service does wrong; tests change these between or during runs."""

    down: bool = False  # every request answers 503 (Cloudflare-style outage)
    fail_next: int = 0  # the next n requests answer 502
    account_limited: set[str] = field(default_factory=set)  # these users' data calls answer 420
    rate_limit_next: int = 0  # the next n requests answer 429
    retry_after_seconds: int = 1


@dataclass
class DeviceCode:
    device_code: str
    user_code: str
    expires_at: dt.datetime
    interval: int
    approved_by: str | None = None
    denied: bool = False
    used: bool = False
    last_poll: dt.datetime | None = None


@dataclass
class Token:
    username: str
    expires_at: dt.datetime


@dataclass
class TraktUser:
    username: str
    history: list[dict[str, Any]] = field(default_factory=list)  # newest first after `sorted_history`
    ratings: dict[str, dict[int, dict[str, Any]]] = field(
        default_factory=lambda: {"movies": {}, "shows": {}, "episodes": {}}
    )
    activities: dict[str, dict[str, dt.datetime]] = field(
        default_factory=lambda: {
            "movies": dict.fromkeys(MOVIE_ACTIVITIES, EPOCH),
            "episodes": dict.fromkeys(EPISODE_ACTIVITIES, EPOCH),
            "shows": dict.fromkeys(SHOW_ACTIVITIES, EPOCH),
        }
    )
    gets: collections.deque[dt.datetime] = field(default_factory=collections.deque)


class TraktState:
    """Everything the simulated Trakt knows; tests read and change it directly."""

    def __init__(self, client_id: str = "sim-client-id", client_secret: str = "sim-client-secret") -> None:
        self.client_id = client_id
        self.client_secret = client_secret
        self.offset = dt.timedelta(0)  # the service's clock runs `offset` ahead of ours (`advance`)
        self.faults = TraktFaults()
        self.users: dict[str, TraktUser] = {}
        self.device_codes: dict[str, DeviceCode] = {}
        self.tokens: dict[str, Token] = {}
        self.refresh_tokens: dict[str, str] = {}  # refresh token -> username
        self.requests: collections.Counter[str] = collections.Counter()  # "GET /sync/..." -> count
        self.statuses: collections.Counter[int] = collections.Counter()
        self.get_limit = GET_LIMIT
        self.get_window_seconds = GET_WINDOW_SECONDS
        self.access_token_seconds = ACCESS_TOKEN_SECONDS
        self._next_id = 1_000_000_000
        self.rng = random.Random(19)
        # Usernames a new device code is granted for at once, in turn (the demo has no trakt.tv/activate).
        self.auto_approve: list[str] = []

    # --- time -------------------------------------------------------------------------------------
    def now(self) -> dt.datetime:
        return dt.datetime.now(dt.UTC) + self.offset

    def advance(self, seconds: float) -> None:
        """Move the service's clock forward: tokens and device codes expire against it."""
        self.offset += dt.timedelta(seconds=seconds)

    def _new_id(self) -> int:
        self._next_id += 1
        return self._next_id

    # --- users and their data -----------------------------------------------------------------------
    def add_user(self, username: str) -> TraktUser:
        return self.users.setdefault(username, TraktUser(username))

    def _touch(self, user: TraktUser, kind: str, activity: str) -> None:
        user.activities[kind][activity] = self.now()

    def watch_movie(self, username: str, movie: dict[str, Any], watched_at: dt.datetime) -> int:
        """One play of `movie` ({title, year, ids{trakt, slug, imdb, tmdb}}); returns its history id."""
        user = self.add_user(username)
        entry = {
            "id": self._new_id(),
            "watched_at": stamp(watched_at),
            "action": "watch",
            "type": "movie",
            "movie": movie,
        }
        user.history.append(entry)
        self._touch(user, "movies", "watched_at")
        return int(entry["id"])

    def watch_episode(
        self,
        username: str,
        show: dict[str, Any],
        season: int,
        number: int,
        watched_at: dt.datetime,
        *,
        episode_ids: dict[str, Any] | None = None,
    ) -> int:
        user = self.add_user(username)
        episode = {
            "season": season,
            "number": number,
            "title": f"Episode {number}",
            "ids": episode_ids or {"trakt": self._new_id(), "tvdb": None, "imdb": None, "tmdb": None},
        }
        entry = {
            "id": self._new_id(),
            "watched_at": stamp(watched_at),
            "action": "scrobble",
            "type": "episode",
            "episode": episode,
            "show": show,
        }
        user.history.append(entry)
        self._touch(user, "episodes", "watched_at")
        return int(entry["id"])

    def remove_history(self, username: str, history_id: int) -> None:
        user = self.users[username]
        gone = [e for e in user.history if e["id"] == history_id]
        user.history = [e for e in user.history if e["id"] != history_id]
        for entry in gone:
            self._touch(user, "movies" if entry["type"] == "movie" else "episodes", "watched_at")

    def rate(
        self,
        username: str,
        kind: str,
        item: dict[str, Any],
        rating: int,
        rated_at: dt.datetime,
        *,
        show: dict[str, Any] | None = None,
    ) -> None:
        """A rating (1-10) of a movie, show or episode (`kind` movies|shows|episodes); `item` carries
        `ids.trakt`; an episode rating also names its show."""
        user = self.add_user(username)
        singular = kind[:-1]
        entry: dict[str, Any] = {
            "rated_at": stamp(rated_at),
            "rating": rating,
            "type": singular,
            singular: item,
        }
        if kind == "episodes":
            entry["show"] = show
        user.ratings[kind][int(item["ids"]["trakt"])] = entry
        self._touch(user, kind, "rated_at")

    def unrate(self, username: str, kind: str, trakt_id: int) -> None:
        user = self.users[username]
        user.ratings[kind].pop(trakt_id, None)
        self._touch(user, kind, "rated_at")

    # --- the device flow, from the user's side --------------------------------------------------------
    def code_for(self, user_code: str) -> DeviceCode:
        return next(c for c in self.device_codes.values() if c.user_code == user_code)

    def approve(self, user_code: str, username: str) -> None:
        """The user entered the code at trakt.tv/activate and allowed the app."""
        self.add_user(username)
        self.code_for(user_code).approved_by = username

    def deny(self, user_code: str) -> None:
        self.code_for(user_code).denied = True

    def issue_tokens(self, username: str) -> dict[str, Any]:
        access, refresh = secrets.token_hex(32), secrets.token_hex(32)
        self.tokens[access] = Token(username, self.now() + dt.timedelta(seconds=self.access_token_seconds))
        self.refresh_tokens[refresh] = username
        return {
            "access_token": access,
            "token_type": "bearer",
            "expires_in": self.access_token_seconds,
            "refresh_token": refresh,
            "scope": "public",
            "created_at": int(self.now().timestamp()),
        }

    def revoke_user_tokens(self, username: str) -> None:
        self.tokens = {k: v for k, v in self.tokens.items() if v.username != username}
        self.refresh_tokens = {k: v for k, v in self.refresh_tokens.items() if v != username}

    # --- the app ------------------------------------------------------------------------------------
    def create_app(self) -> web.Application:
        app = web.Application(middlewares=[self._middleware])
        app.router.add_post("/oauth/device/code", self._device_code)
        app.router.add_post("/oauth/device/token", self._device_token)
        app.router.add_post("/oauth/token", self._token)
        app.router.add_post("/oauth/revoke", self._revoke)
        app.router.add_get("/sync/last_activities", self._last_activities)
        app.router.add_get("/sync/ratings/{kind:movies|shows|episodes}", self._ratings)
        app.router.add_get("/sync/history/{kind:movies|episodes}", self._history)
        app.router.add_get("/users/settings", self._user_settings)
        return app

    @web.middleware
    async def _middleware(self, request: web.Request, handler: Callable[..., Any]) -> web.StreamResponse:
        self.requests[f"{request.method} {request.path}"] += 1
        response = await self._answer(request, handler)
        self.statuses[response.status] += 1
        return response

    async def _answer(self, request: web.Request, handler: Callable[..., Any]) -> web.StreamResponse:
        if self.faults.down:
            return web.Response(status=503, text="<html>Service Unavailable</html>", content_type="text/html")
        if self.faults.fail_next > 0:
            self.faults.fail_next -= 1
            return web.Response(status=502, text="<html>Bad Gateway</html>", content_type="text/html")
        if self.faults.rate_limit_next > 0:
            self.faults.rate_limit_next -= 1
            return self._too_many(self.faults.retry_after_seconds)
        if request.path.startswith("/oauth/"):
            return await handler(request)  # the client id travels in the body there
        if request.headers.get("trakt-api-version") != "2":
            return _error(400, "invalid_request", "trakt-api-version: 2 is required")
        if request.headers.get("trakt-api-key") != self.client_id:
            return web.Response(status=403, text="")  # Forbidden: invalid API key or unapproved app
        return await handler(request)

    def _too_many(self, retry_after: int) -> web.Response:
        limit = {
            "name": "AUTHED_API_GET_LIMIT",
            "period": self.get_window_seconds,
            "limit": self.get_limit,
            "remaining": 0,
            "until": stamp(self.now() + dt.timedelta(seconds=retry_after)),
        }
        return web.json_response(
            {"error": "rate_limit_exceeded"},
            status=429,
            headers={"Retry-After": str(retry_after), "X-Ratelimit": json.dumps(limit)},
        )

    async def _json_body(self, request: web.Request) -> dict[str, Any] | None:
        try:
            body = await request.json()
        except ValueError:
            return None
        return body if isinstance(body, dict) else None

    def _client_ok(self, body: dict[str, Any], *, secret: bool) -> bool:
        if body.get("client_id") != self.client_id:
            return False
        return not secret or body.get("client_secret") == self.client_secret

    async def _device_code(self, request: web.Request) -> web.Response:
        body = await self._json_body(request)
        if body is None or not self._client_ok(body, secret=False):
            return _error(403, "invalid_client", "unknown client_id")
        code = DeviceCode(
            device_code=secrets.token_hex(32),
            user_code="".join(self.rng.choice("ABCDEFGHJKLMNPQRSTUVWXYZ23456789") for _ in range(8)),
            expires_at=self.now() + dt.timedelta(seconds=DEVICE_CODE_SECONDS),
            interval=DEVICE_INTERVAL_SECONDS,
        )
        if self.auto_approve:
            code.approved_by = self.auto_approve[len(self.device_codes) % len(self.auto_approve)]
        self.device_codes[code.device_code] = code
        return web.json_response(
            {
                "device_code": code.device_code,
                "user_code": code.user_code,
                "verification_url": VERIFICATION_URL,
                "expires_in": DEVICE_CODE_SECONDS,
                "interval": code.interval,
            }
        )

    async def _device_token(self, request: web.Request) -> web.Response:
        body = await self._json_body(request)
        if body is None or not self._client_ok(body, secret=True):
            return _error(401, "invalid_client", "client authentication failed")
        code = self.device_codes.get(str(body.get("code", "")))  # Trakt's field is `code`, not `device_code`
        if code is None:
            return web.Response(status=404)  # Not Found: invalid device_code
        if code.used:
            return web.Response(status=409)  # Already Used
        if self.now() >= code.expires_at:
            return web.Response(status=410)  # Expired: the user must restart the flow
        if code.denied:
            return web.Response(status=418)  # Denied
        previous, code.last_poll = code.last_poll, self.now()
        if previous is not None and (self.now() - previous).total_seconds() < code.interval:
            return web.Response(status=429)  # Slow Down: polling faster than `interval`
        if code.approved_by is None:
            return web.Response(status=400)  # Pending: the user has not entered the code yet
        code.used = True
        return web.json_response(self.issue_tokens(code.approved_by))

    async def _token(self, request: web.Request) -> web.Response:
        body = await self._json_body(request)
        if body is None or not self._client_ok(body, secret=True):
            return _error(401, "invalid_client", "client authentication failed")
        if body.get("grant_type") != "refresh_token":
            return _error(400, "unsupported_grant_type", "only refresh_token is simulated")
        username = self.refresh_tokens.pop(str(body.get("refresh_token", "")), None)
        if username is None:
            return _error(401, "invalid_grant", "the refresh token is invalid, expired or revoked")
        # The old access tokens of this user stop working with the rotation, as a new grant replaces them.
        self.tokens = {k: v for k, v in self.tokens.items() if v.username != username}
        return web.json_response(self.issue_tokens(username))

    async def _revoke(self, request: web.Request) -> web.Response:
        body = await self._json_body(request) or {}
        token = self.tokens.get(str(body.get("token", "")))
        if token is not None:
            self.revoke_user_tokens(token.username)
        return web.json_response({})

    def _user(self, request: web.Request) -> TraktUser | web.Response:
        header = request.headers.get("Authorization", "")
        token = self.tokens.get(header[7:]) if header.startswith("Bearer ") else None
        if token is None or token.expires_at <= self.now():
            return _error(401, "invalid_token", "OAuth must be provided")
        user = self.users[token.username]
        if user.username in self.faults.account_limited:
            return _error(420, "account_limit_exceeded", "the account's limits are exceeded (VIP upgrade)")
        window = dt.timedelta(seconds=self.get_window_seconds)
        while user.gets and user.gets[0] <= self.now() - window:
            user.gets.popleft()
        if len(user.gets) >= self.get_limit:
            wait = (user.gets[0] + window - self.now()).total_seconds()
            return self._too_many(max(1, math.ceil(wait)))
        user.gets.append(self.now())
        return user

    async def _user_settings(self, request: web.Request) -> web.Response:
        user = self._user(request)
        if isinstance(user, web.Response):
            return user
        return web.json_response({"user": {"username": user.username, "private": False, "vip": False}})

    async def _last_activities(self, request: web.Request) -> web.Response:
        user = self._user(request)
        if isinstance(user, web.Response):
            return user
        body: dict[str, Any] = {
            kind: {name: stamp(when) for name, when in stamps.items()}
            for kind, stamps in user.activities.items()
        }
        body["all"] = stamp(max(max(s.values()) for s in user.activities.values()))
        return web.json_response(body)

    async def _ratings(self, request: web.Request) -> web.Response:
        user = self._user(request)
        if isinstance(user, web.Response):
            return user
        items = sorted(
            user.ratings[request.match_info["kind"]].values(), key=lambda e: e["rated_at"], reverse=True
        )
        if "page" not in request.query and "limit" not in request.query:
            return web.json_response(items)  # ratings are paged only when asked
        return _paged(request, items)

    async def _history(self, request: web.Request) -> web.Response:
        user = self._user(request)
        if isinstance(user, web.Response):
            return user
        singular = request.match_info["kind"][:-1]
        items = [e for e in user.history if e["type"] == singular]
        start, end = request.query.get("start_at"), request.query.get("end_at")
        try:
            if start:
                items = [e for e in items if _parse(e["watched_at"]) >= _parse(start)]
            if end:
                items = [e for e in items if _parse(e["watched_at"]) <= _parse(end)]
        except ValueError:
            return _error(400, "invalid_request", "start_at/end_at must be ISO 8601 dates")
        items.sort(key=lambda e: (e["watched_at"], e["id"]), reverse=True)  # most recent first
        return _paged(request, items)


def _parse(text: str) -> dt.datetime:
    value = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)


def _paged(request: web.Request, items: list[dict[str, Any]]) -> web.Response:
    try:
        page = max(1, int(request.query.get("page", "1")))
        limit = min(MAX_PAGE_LIMIT, max(1, int(request.query.get("limit", str(DEFAULT_PAGE_LIMIT)))))
    except ValueError:
        return _error(400, "invalid_request", "page and limit are numbers")
    pages = max(1, math.ceil(len(items) / limit))
    chunk = items[(page - 1) * limit : page * limit]
    headers = {
        "X-Pagination-Page": str(page),
        "X-Pagination-Limit": str(limit),
        "X-Pagination-Page-Count": str(pages),
        "X-Pagination-Item-Count": str(len(items)),
    }
    return web.json_response(chunk, headers=headers)


def _error(status: int, error: str, description: str) -> web.Response:
    return web.json_response({"error": error, "error_description": description}, status=status)


# --- seeding from a media-server simulator --------------------------------------------------------------
def movie_object(
    trakt_id: int, title: str, year: int | None, tmdb: str | None, imdb: str | None
) -> dict[str, Any]:
    return {
        "title": title,
        "year": year,
        "ids": {
            "trakt": trakt_id,
            "slug": f"movie-{trakt_id}",
            "imdb": imdb,
            "tmdb": int(tmdb) if tmdb else None,
        },
    }


def show_object(
    trakt_id: int, title: str, year: int | None, tmdb: str | None, imdb: str | None, tvdb: str | None
) -> dict[str, Any]:
    return {
        "title": title,
        "year": year,
        "ids": {
            "trakt": trakt_id,
            "slug": f"show-{trakt_id}",
            "tvdb": int(tvdb) if tvdb else None,
            "imdb": imdb,
            "tmdb": int(tmdb) if tmdb else None,
            "tvrage": None,
        },
    }


@dataclass
class SeededUser:
    """What `seed_user` gave a user, for assertions and benchmarks."""

    movie_plays: int = 0
    episode_plays: int = 0
    ratings: int = 0
    off_server: int = 0  # plays and ratings of titles the media server does not have


def seed_user(
    state: TraktState,
    username: str,
    server: Any,
    *,
    plays: int,
    ratings: int = 0,
    off_server_share: float = 0.1,
    seed: int = 7,
) -> SeededUser:
    """Give `username` `plays` history entries (movies and, when the server has TV, episodes) and
    `ratings` ratings of titles on the media-server simulator `server` (a SimState), plus about
    `off_server_share` of titles that are not there. Deterministic for a seed."""
    rng = random.Random(seed)
    now = state.now()
    movies = [m for m in server.movies.values() if m.provider_ids.get("Tmdb") or m.provider_ids.get("Imdb")]
    episodes = [e for e in server.tv.episodes.values() if e.series_id in server.tv.series]
    done = SeededUser()
    for n in range(plays):
        when = now - dt.timedelta(minutes=rng.randrange(1, 3 * 365 * 24 * 60))
        off = rng.random() < off_server_share
        if episodes and rng.random() < 0.4:
            if off:
                show = show_object(8_000_000 + n, f"Elsewhere Show {n}", 2001, str(7_000_000 + n), None, None)
                state.watch_episode(username, show, 1, 1 + n % 10, when)
            else:
                episode = rng.choice(episodes)
                series = server.tv.series[episode.series_id]
                ids = series.provider_ids
                show = show_object(
                    _trakt_id(series.id),
                    series.name,
                    series.year,
                    ids.get("Tmdb"),
                    ids.get("Imdb"),
                    ids.get("Tvdb"),
                )
                state.watch_episode(username, show, episode.parent_index_number, episode.index_number, when)
            done.episode_plays += 1
        else:
            if off:
                movie = movie_object(9_000_000 + n, f"Elsewhere Movie {n}", 1999, str(9_500_000 + n), None)
            else:
                m = rng.choice(movies)
                movie = movie_object(
                    _trakt_id(m.id), m.name, m.year, m.provider_ids.get("Tmdb"), m.provider_ids.get("Imdb")
                )
            state.watch_movie(username, movie, when)
            done.movie_plays += 1
        done.off_server += off
    for m in rng.sample(movies, min(ratings, len(movies))):
        movie = movie_object(
            _trakt_id(m.id), m.name, m.year, m.provider_ids.get("Tmdb"), m.provider_ids.get("Imdb")
        )
        state.rate(
            username, "movies", movie, rng.randint(1, 10), now - dt.timedelta(days=rng.randrange(1, 900))
        )
        done.ratings += 1
    return done


def _trakt_id(server_id: str) -> int:
    """A stable Trakt id for a server item (Trakt's own ids are unrelated numbers)."""
    return 1 + zlib.crc32(server_id.encode()) % 10**7
