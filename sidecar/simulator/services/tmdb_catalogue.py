"""What the simulated TMDb knows: every movie and show of a simulated media server, plus titles the
server does not have (what discovery suggests), with collections for franchises.

Everything is derived from the server's items and fixed seeds, so two builds are identical. A
server item's TMDb id is its `Tmdb` provider id; an item with only an IMDb or TVDB id gets a TMDb
id here and is reachable through `/find` (as on the real service, where many shows carry only a
TVDB id). Titles the server lacks the metadata for (MovieLens has no overviews or people) get
generated ones: cast and directors come from a shared pool so that people recur across titles, and
the members of a collection share their director and lead.
"""

from __future__ import annotations

import hashlib
import random
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Literal

from sidecar.simulator.model import SimMovie, SimState
from sidecar.simulator.tv import SimSeries
from sidecar.simulator.tv_seed import _ADJ, _FIRST, _LAST, _NOUN

TmdbKind = Literal["movie", "tv"]

# TMDb's genre ids (GET /genre/movie/list, /genre/tv/list).
MOVIE_GENRES: dict[str, int] = {
    "Action": 28, "Adventure": 12, "Animation": 16, "Comedy": 35, "Crime": 80, "Documentary": 99,
    "Drama": 18, "Family": 10751, "Fantasy": 14, "History": 36, "Horror": 27, "Music": 10402,
    "Mystery": 9648, "Romance": 10749, "Science Fiction": 878, "TV Movie": 10770, "Thriller": 53,
    "War": 10752, "Western": 37,
}  # fmt: skip
TV_GENRES: dict[str, int] = {
    "Action & Adventure": 10759, "Animation": 16, "Comedy": 35, "Crime": 80, "Documentary": 99,
    "Drama": 18, "Family": 10751, "Kids": 10762, "Mystery": 9648, "News": 10763, "Reality": 10764,
    "Sci-Fi & Fantasy": 10765, "Soap": 10766, "Talk": 10767, "War & Politics": 10768, "Western": 37,
}  # fmt: skip
# MovieLens genre names -> TMDb's (IMAX is a format, not a genre).
_LENS_GENRES = {"Sci-Fi": "Science Fiction", "Children": "Family", "Musical": "Music", "Film-Noir": "Crime"}
_KEYWORDS: dict[str, tuple[str, ...]] = {
    "Action": ("explosion", "car chase", "martial arts", "shootout", "heist"),
    "Adventure": ("treasure hunt", "expedition", "jungle", "quest", "island"),
    "Animation": ("talking animals", "anthropomorphism", "hand-drawn animation", "magic"),
    "Comedy": ("slapstick", "buddy comedy", "road trip", "satire", "misunderstanding"),
    "Crime": ("detective", "mafia", "police corruption", "murder", "neo-noir"),
    "Documentary": ("biography", "nature", "interview", "archive footage"),
    "Drama": ("family relationships", "coming of age", "grief", "small town", "based on novel or book"),
    "Family": ("friendship", "christmas", "dog", "school"),
    "Fantasy": ("dragon", "wizard", "sword and sorcery", "fairy tale"),
    "History": ("world war ii", "biography", "19th century", "royalty"),
    "Horror": ("haunted house", "slasher", "zombie", "supernatural", "possession"),
    "Music": ("musician", "concert", "band", "musical"),
    "Mystery": ("whodunit", "amnesia", "conspiracy", "investigation"),
    "Romance": ("love triangle", "wedding", "first love", "romantic comedy"),
    "Science Fiction": ("space", "time travel", "artificial intelligence", "dystopia", "alien"),
    "Thriller": ("kidnapping", "assassin", "espionage", "psychological thriller"),
    "War": ("battle", "soldier", "resistance", "prisoner of war"),
    "Western": ("gunslinger", "frontier", "outlaw", "ranch"),
}  # fmt: skip
_CERTIFICATIONS = ("G", "PG", "PG-13", "R")
_NETWORKS = ("HBO", "Netflix", "BBC One", "AMC", "FX", "Apple TV+", "NBC", "Channel 4")
_TV_RATINGS = ("TV-Y", "TV-G", "TV-PG", "TV-14", "TV-MA")
_LANGUAGES = ("en",) * 14 + ("fr", "de", "ja", "ko", "es", "it")
_SEQUEL = re.compile(r"^(?P<base>.+?)(?:\s+(?:Part\s+)?(?:\d{1,2}|II|III|IV|V|VI))$", re.IGNORECASE)
_MATCH_MIN_MEMBERS = 2
_MIN_FRANCHISE_CHARS = 4
PEOPLE_POOL = 4000  # distinct generated people: enough variety, and people recur across titles

# Id ranges that no media-server seed uses (MovieLens 100000+, synthetic 500000+, TV 60000+).
OFF_SERVER_MOVIE_IDS = 2_000_000
OFF_SERVER_TV_IDS = 2_500_000
FOUND_ONLY_IDS = 3_000_000  # server items that carry no TMDb id
COLLECTION_IDS = 4_000_000


def stable(text: str) -> int:
    """A hash that is the same in every process (Python's `hash` is salted)."""
    return int.from_bytes(hashlib.blake2b(text.encode(), digest_size=8).digest(), "big")


def person(number: int) -> str:
    n = number % PEOPLE_POOL
    return f"{_FIRST[n % len(_FIRST)]} {_LAST[(n // len(_FIRST)) % len(_LAST)]}"


@dataclass
class TmdbTitle:
    kind: TmdbKind
    id: int
    title: str
    original_title: str
    original_language: str
    overview: str
    genres: list[str]
    date: str | None  # release_date / first_air_date, YYYY-MM-DD
    popularity: float
    vote_average: float
    vote_count: int
    runtime: int
    certification: str
    keywords: list[str]
    cast: list[tuple[str, str]]  # (name, character), billing order
    crew: list[tuple[str, str, str]]  # (name, job, department)
    imdb_id: str | None = None
    tvdb_id: int | None = None
    collection: tuple[int, str] | None = None
    networks: list[str] = field(default_factory=list)
    created_by: list[str] = field(default_factory=list)
    seasons: int = 0
    episodes: int = 0
    status: str = "Released"
    on_server: bool = False

    @property
    def key(self) -> tuple[TmdbKind, int]:
        return self.kind, self.id


@dataclass
class TmdbCatalogue:
    titles: dict[tuple[TmdbKind, int], TmdbTitle] = field(default_factory=dict)
    by_imdb: dict[str, tuple[TmdbKind, int]] = field(default_factory=dict)
    by_tvdb: dict[str, tuple[TmdbKind, int]] = field(default_factory=dict)
    collections: dict[int, str] = field(default_factory=dict)
    _members: dict[int, list[TmdbTitle]] = field(default_factory=dict)

    def add(self, title: TmdbTitle) -> TmdbTitle:
        self.titles[title.key] = title
        if title.imdb_id:
            self.by_imdb[title.imdb_id] = title.key
        if title.tvdb_id:
            self.by_tvdb[str(title.tvdb_id)] = title.key
        if title.collection:
            self.join(title, title.collection)
        return title

    def join(self, title: TmdbTitle, collection: tuple[int, str]) -> None:
        title.collection = collection
        self.collections[collection[0]] = collection[1]
        self._members.setdefault(collection[0], []).append(title)

    def get(self, kind: TmdbKind, tmdb_id: int) -> TmdbTitle | None:
        return self.titles.get((kind, tmdb_id))

    def of_kind(self, kind: TmdbKind) -> list[TmdbTitle]:
        return [t for t in self.titles.values() if t.kind == kind]

    def members(self, collection_id: int) -> list[TmdbTitle]:
        return list(self._members.get(collection_id, ()))


# --- generated metadata ------------------------------------------------------------------------------
def _generated(kind: TmdbKind, key: str, genres: list[str], year: int | None) -> dict[str, object]:
    """Deterministic TMDb-style metadata for a title the server tells us little about."""
    rng = random.Random(stable(f"{kind}:{key}"))
    pool = [w for g in genres for w in _KEYWORDS.get(_LENS_GENRES.get(g, g), ())] or ["independent film"]
    keywords = list(dict.fromkeys(rng.sample(pool, min(len(pool), rng.randint(2, 5)))))
    cast = [
        (person(rng.randrange(PEOPLE_POOL)), f"{rng.choice(_FIRST)} {rng.choice(_LAST)}") for _ in range(8)
    ]
    director = person(rng.randrange(PEOPLE_POOL))
    crew = [(director, "Director", "Directing"), (person(rng.randrange(PEOPLE_POOL)), "Screenplay", "Writing"),
            (person(rng.randrange(PEOPLE_POOL)), "Original Music Composer", "Sound")]  # fmt: skip
    lead = genres[0].lower() if genres else "quiet"
    when = f" in {year}" if year else ""
    overview = (
        f"A {lead} story{when}: {rng.choice(_FIRST)} {rng.choice(_LAST)} faces the "
        f"{rng.choice(_ADJ).lower()} {rng.choice(_NOUN).lower()} and what it costs."
    )
    certification = rng.choice(_TV_RATINGS if kind == "tv" else _CERTIFICATIONS)
    popularity = round(min(900.0, rng.paretovariate(1.4) * 4.0), 3)
    return {
        "keywords": keywords, "cast": cast, "crew": crew, "overview": overview,
        "certification": certification, "popularity": popularity,
        "vote_average": round(rng.uniform(4.5, 8.6), 3), "vote_count": rng.randint(20, 25000),
        "original_language": rng.choice(_LANGUAGES), "runtime": rng.randint(80, 150) if kind == "movie" else 45,
    }  # fmt: skip


def _tmdb_genres(names: Iterable[str], kind: TmdbKind) -> list[str]:
    known = MOVIE_GENRES if kind == "movie" else TV_GENRES
    mapped = (_LENS_GENRES.get(n, n) for n in names)
    return list(dict.fromkeys(n for n in mapped if n in known))


def _franchise_key(title: str) -> str | None:
    """'Toy Story 2' -> 'Toy Story'; 'Star Wars: Episode IV - A New Hope' -> 'Star Wars'."""
    head = title.split(":")[0].strip()
    sequel = _SEQUEL.match(head)
    key = sequel.group("base").strip() if sequel else head if ":" in title else None
    # "3:10 to Yuma" or "Ali: Fear Eats the Soul" name no franchise
    return key if key and len(key) >= _MIN_FRANCHISE_CHARS and any(c.isalpha() for c in key) else None


# --- building ---------------------------------------------------------------------------------------
def _server_title(
    kind: TmdbKind, item: SimMovie | SimSeries, next_found: list[int], **fields: Any
) -> TmdbTitle | None:
    """A server item as TMDb knows it: the server's metadata where it has some, generated otherwise.
    An item without a TMDb id gets one here (reachable through /find); one without any id is skipped."""
    ids = {k.lower(): v for k, v in item.provider_ids.items() if v}
    if ids.get("tmdb", "").isdigit():
        tmdb_id = int(ids["tmdb"])
    elif "imdb" in ids or "tvdb" in ids:
        tmdb_id = next_found[0] = next_found[0] + 1
    else:
        return None
    genres = _tmdb_genres(item.genres, kind)
    meta = _generated(kind, ids.get("imdb") or ids.get("tvdb") or str(tmdb_id), genres, item.year)
    if kind == "movie" and (item.original_title or item.name) == item.name:
        meta["original_language"] = "en"  # a foreign film shows its original title on the server
    actors = [
        (p["Name"], p.get("Role", "")) for p in item.people if p.get("Type") == "Actor" and p.get("Name")
    ]
    directors = [(p["Name"], "Director", "Directing") for p in item.people if p.get("Type") == "Director"]
    known = {
        "overview": item.overview,
        "certification": item.official_rating,
        "cast": actors,
        "crew": directors,
    }
    if item.tags:
        known["keywords"] = list(dict.fromkeys([*item.tags, *meta["keywords"]]))  # type: ignore[list-item]
    meta.update({name: value for name, value in known.items() if value})
    return TmdbTitle(
        kind=kind,
        id=tmdb_id,
        title=item.name,
        original_title=item.original_title or item.name,
        genres=genres,
        date=item.premiere_date.date().isoformat() if item.premiere_date else None,
        imdb_id=ids.get("imdb"),
        tvdb_id=int(ids["tvdb"]) if ids.get("tvdb", "").isdigit() else None,
        on_server=True,
        **meta,  # type: ignore[arg-type]
        **fields,
    )


def _movie_titles(state: SimState, catalogue: TmdbCatalogue, next_found: list[int]) -> None:
    for movie in state.movies.values():
        title = _server_title("movie", movie, next_found)
        if title is None:
            continue
        collection = movie.provider_ids.get("TmdbCollection", "")
        catalogue.add(title)
        if collection.isdigit():
            catalogue.join(title, (int(collection), f"{movie.name} Collection"))


def _tv_titles(state: SimState, catalogue: TmdbCatalogue, next_found: list[int]) -> None:
    tv = state.tv
    episodes: dict[str, tuple[set[int], int]] = {}
    for episode in tv.episodes.values():
        seasons, count = episodes.get(episode.series_id, (set(), 0))
        if episode.parent_index_number:
            seasons.add(episode.parent_index_number)
        episodes[episode.series_id] = (seasons, count + 1)
    for series in tv.series.values():
        seasons, count = episodes.get(series.id, (set(), 0))
        title = _server_title(
            "tv",
            series,
            next_found,
            # TMDb lists a network and creators for nearly every show; the server may have neither.
            networks=series.studios[:1] or [_NETWORKS[stable(series.id) % len(_NETWORKS)]],
            created_by=[p["Name"] for p in series.people if p.get("Type") == "Creator"]
            or [person(stable(f"creator:{series.id}"))],
            seasons=len(seasons),
            episodes=count,
            status="Returning Series" if series.status == "Continuing" else "Ended",
        )
        if title is not None:
            catalogue.add(title)


def _collections(catalogue: TmdbCatalogue) -> None:
    """Movies whose titles name a sequel ('Toy Story 2') form a collection with their namesakes; its
    members share a director and a lead, as franchises do."""
    groups: dict[str, list[TmdbTitle]] = {}
    for title in catalogue.of_kind("movie"):
        if title.collection is None and (key := _franchise_key(title.title)):
            groups.setdefault(key.lower(), []).append(title)
    for title in catalogue.of_kind("movie"):
        if title.collection is None and title.title.lower() in groups:
            groups[title.title.lower()].append(title)
    for key, members in sorted(groups.items()):
        if len({m.id for m in members}) < _MATCH_MIN_MEMBERS:
            continue
        first = min(members, key=lambda m: (m.date or "9999", m.id))
        collection = (COLLECTION_IDS + stable(key) % 900_000, f"{first.title.split(':')[0]} Collection")
        for member in members:
            catalogue.join(member, collection)
            member.crew = [c for c in member.crew if c[1] != "Director"] + [
                c for c in first.crew if c[1] == "Director"
            ]
            if first.cast:
                lead = first.cast[0]
                member.cast = [lead, *(c for c in member.cast if c[0] != lead[0])][:8]


def _off_server(catalogue: TmdbCatalogue, kind: TmdbKind, count: int) -> None:
    """Titles the server does not have: a next instalment of each collection, then generated ones."""
    start = OFF_SERVER_MOVIE_IDS if kind == "movie" else OFF_SERVER_TV_IDS
    names = list(MOVIE_GENRES if kind == "movie" else TV_GENRES)
    rng = random.Random(stable(f"off-server:{kind}"))
    serial = start
    if kind == "movie":
        for collection_id, name in sorted(catalogue.collections.items()):
            members = catalogue.members(collection_id)
            last = max(members, key=lambda m: (m.date or "", m.id))
            serial += 1
            year = int(last.date[:4]) + 3 if last.date else 2024
            base = name.removesuffix(" Collection")
            meta = _generated(kind, f"sequel:{collection_id}", last.genres, year)
            meta["cast"], meta["crew"] = last.cast, last.crew
            catalogue.add(
                TmdbTitle(kind=kind, id=serial, title=f"{base}: The Next Chapter", original_title=f"{base}: The Next Chapter",
                          genres=last.genres, date=f"{year}-06-15", collection=(collection_id, name),
                          imdb_id=f"tt{70000000 + serial % 10_000_000:08d}", **meta)  # type: ignore[arg-type]
            )  # fmt: skip
    for _ in range(count):
        serial += 1
        genres = list(dict.fromkeys(rng.sample(names, rng.randint(1, 3))))
        year = rng.randint(1970, 2026)
        title = f"{rng.choice(_ADJ)} {rng.choice(_NOUN)}"
        meta = _generated(kind, f"extra:{serial}", genres, year)
        extra = TmdbTitle(
            kind=kind, id=serial, title=title, original_title=title, genres=genres,
            date=f"{year}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}",
            imdb_id=f"tt{70000000 + serial % 10_000_000:08d}", **meta,  # type: ignore[arg-type]
        )  # fmt: skip
        if kind == "tv":
            extra.tvdb_id = 900_000 + serial % 100_000
            extra.networks = [rng.choice(_NETWORKS)]
            extra.created_by = [person(rng.randrange(PEOPLE_POOL))]
            extra.seasons = rng.randint(1, 6)
            extra.episodes = extra.seasons * rng.randint(6, 12)
            extra.status = rng.choice(("Returning Series", "Ended"))
        catalogue.add(extra)


def build_catalogue(
    state: SimState | None = None, *, extra_share: float = 0.25, min_extra: int = 40
) -> TmdbCatalogue:
    """TMDb's view of `state`'s movies and shows, plus off-server titles (a quarter as many again)."""
    catalogue = TmdbCatalogue()
    next_found = [FOUND_ONLY_IDS]
    if state is not None:
        _movie_titles(state, catalogue, next_found)
        _tv_titles(state, catalogue, next_found)
    _collections(catalogue)
    for kind in ("movie", "tv"):
        on_server = len(catalogue.of_kind(kind))  # type: ignore[arg-type]
        _off_server(catalogue, kind, max(min_extra, int(on_server * extra_share)))  # type: ignore[arg-type]
    return catalogue
