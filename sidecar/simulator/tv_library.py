"""Load a generated TV catalogue and history (`tv_seed`) into a simulated server.

Shows sit in `/media/shows/Title (Year)/Season NN/Title SxxEyy.mkv` (the layout Jellyfin's TV
resolver reads). Viewers are matched to the server's users by name (`user15` on the MovieLens seed,
`alice` on the sample seed); plays of people the server does not have are skipped, so a seed limited
to some users gets their share of the history.
"""

from __future__ import annotations

import datetime as dt

from sidecar.simulator.model import SimLibrary, SimState
from sidecar.simulator.tv import SimEpisode, SimSeries
from sidecar.simulator.tv_seed import (
    TICKS_PER_MINUTE,
    TV_ROOT,
    TvCatalogue,
    TvEpisode,
    TvHistory,
    TvShow,
    movielens_history,
    sample_catalogue,
    sample_history,
)

TV_LIBRARY_NAME = "Shows"


def _safe(name: str) -> str:
    return "".join("-" if c in '/\\:*?"<>|' else c for c in name).strip(" .") or "Untitled"


def show_folder(show: TvShow) -> str:
    return f"{TV_ROOT}/{_safe(show.title)} ({show.year})"


def episode_path(show: TvShow, episode: TvEpisode, folder: str | None = None) -> str:
    label = f"S{episode.season:02d}E{episode.number:02d}" + (
        f"-E{episode.number_end:02d}" if episode.number_end else ""
    )
    folder = folder or show_folder(show)
    return f"{folder}/Season {episode.season:02d}/{folder.rsplit('/', 1)[1].rsplit(' (', 1)[0]} {label}.mkv"


def _day(value: dt.date) -> dt.datetime:
    return dt.datetime.combine(value, dt.time(0), dt.UTC)


def tv_library(state: SimState) -> SimLibrary:
    """The server's TV library (the sample seed already has one), created when missing."""
    existing = next((lib for lib in state.libraries if lib.collection_type == "tvshows"), None)
    return existing or state.add_library(TV_LIBRARY_NAME, "tvshows", [TV_ROOT])


def show_provider_ids(show: TvShow) -> dict[str, str]:
    """The show's ids as the server holds them: one show in twenty has no TMDb id (IMDb and TVDB
    only) and one in twenty only its TVDB id, as shows matched by the TVDB plugin are; the simulated
    TMDb finds them through /find. (The sample catalogue's six shows keep all three.)"""
    if show.index % 20 == 13:
        return {"Imdb": show.imdb_id, "Tvdb": show.tvdb_id}
    if show.index % 20 == 17:
        return {"Tvdb": show.tvdb_id}
    return {"Tmdb": show.tmdb_id, "Imdb": show.imdb_id, "Tvdb": show.tvdb_id}


def load_catalogue(state: SimState, catalogue: TvCatalogue) -> dict[tuple[int, int, int], str]:
    """Every show, season and episode as server items; returns (show, season, number) -> item id."""
    library = tv_library(state)
    tv = state.tv
    ids: dict[tuple[int, int, int], str] = {}
    created = _day(catalogue.anchor) - dt.timedelta(days=400)
    for show in catalogue.shows:
        episodes = catalogue.episodes_of(show.index)
        series = tv.add_series(
            emit=False, name=show.title, library_id=library.item_id, path=show_folder(show),
            original_title=show.original_title, sort_name=show.sort_title, year=show.year,
            end_date=_day(dt.date(show.end_year, 12, 31)) if show.end_year else None, status=show.status,
            overview=show.overview, genres=list(show.genres), studios=list(show.studios),
            people=[{"Name": c, "Type": "Creator"} for c in show.creators]
            + [{"Name": actor, "Type": "Actor", "Role": role} for actor, role in show.cast],
            tags=list(show.tags), community_rating=show.community_rating, official_rating=show.official_rating,
            provider_ids=show_provider_ids(show),
            air_days=list(show.air_days), air_time=show.air_time or None,
            premiere_date=_day(episodes[0].premiere_date) if episodes else None,
            runtime_ticks=show.runtime_minutes * TICKS_PER_MINUTE,
            date_created=created + dt.timedelta(minutes=show.index), date_last_saved=created,
        )  # fmt: skip
        seasons = {}
        for episode in episodes:
            season = seasons.get(episode.season)
            if season is None:
                season = seasons[episode.season] = tv.add_season(
                    series, episode.season, emit=False, path=f"{series.path}/Season {episode.season:02d}"
                )
            added = tv.add_episode(season, emit=False, **_episode_fields(show, episode, created, series.path))
            ids[(show.index, episode.season, episode.number)] = added.id
    return ids


def _episode_fields(show: TvShow, episode: TvEpisode, created: dt.datetime, folder: str) -> dict[str, object]:
    providers = {"Tmdb": episode.tmdb_id, "Tvdb": episode.tvdb_id}
    if episode.imdb_id:
        providers["Imdb"] = episode.imdb_id
    aired = _day(episode.premiere_date)
    return {
        "name": episode.title, "index_number": episode.number, "index_number_end": episode.number_end,
        "overview": episode.overview, "premiere_date": aired,
        "runtime_ticks": episode.runtime_minutes * TICKS_PER_MINUTE, "provider_ids": providers,
        "path": None if episode.virtual else episode_path(show, episode, folder), "virtual": episode.virtual,
        "date_created": max(created, aired), "date_last_saved": max(created, aired),
    }  # fmt: skip


def load_history(state: SimState, catalogue: TvCatalogue, history: TvHistory,
                 ids: dict[tuple[int, int, int], str]) -> int:  # fmt: skip
    """Users' episode data (and favourite shows); returns the number of plays loaded."""
    users = {user.name: user.id for user in state.users.values()}
    tv = state.tv
    loaded = 0
    for play in history.plays:
        user_id = users.get(play.viewer)
        item_id = ids.get((play.show, play.season, play.number))
        if user_id is None or item_id is None:
            continue
        data = tv.data_for(user_id, item_id)
        data.play_count, data.last_played, data.played = play.play_count, play.last_played, play.played
        episode = tv.episodes[item_id]
        if not play.played and episode.runtime_ticks:
            data.position_ticks = int(episode.runtime_ticks * play.position)
        loaded += 1
    series_ids = {show: tv.episodes[item].series_id for (show, _, _), item in ids.items()}
    for viewer, show in history.favourite_shows:
        if viewer in users and show in series_ids:
            tv.data_for(users[viewer], series_ids[show]).is_favorite = True
    return loaded


def seed_tv(state: SimState, which: str, *, anchor: dt.date | None = None) -> tuple[TvCatalogue, TvHistory]:
    """`which`: "sample" (six shows, scripted plays) or "full" (~1,500 shows, MovieLens viewers)."""
    if which == "sample":
        catalogue = sample_catalogue(anchor)
        history = sample_history(catalogue)
    elif which == "full":
        catalogue, history = movielens_history(anchor)
    else:
        raise ValueError(f"unknown TV seed {which!r}: use 'sample' or 'full'")
    ids = load_catalogue(state, catalogue)
    load_history(state, catalogue, history, ids)
    if which == "sample":  # the sample's kids may see movies only; let them see their shows too
        library = tv_library(state)
        for user in state.users.values():
            folders = user.policy.get("EnabledFolders")
            if user.name == "kids" and not user.policy.get("EnableAllFolders", True) and folders is not None:
                folders.append(library.guid if state.kind == "emby" else library.item_id)
    return catalogue, history


__all__ = [
    "SimEpisode",
    "SimSeries",
    "episode_path",
    "load_catalogue",
    "load_history",
    "seed_tv",
    "show_folder",
]
