"""A user's series picks as library entries: `Title (Year)/` holding `tvshow.nfo` and one
`Season NN/Title SxxEyy.ext` (+ `.nfo`) per present episode (series.md §4).

No rank in the folder name: the server derives item ids from paths, so a renamed folder would lose
the user's progress in the show; the rank lives in `tvshow.nfo` (`sorttitle`, `dateadded`), so a
re-rank rewrites one file per show. One entry per episode, never a linked season directory, and no
placeholder episodes. Names go through the library's sanitiser, so no title can climb out of the
user's folder.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any

from sidecar.library import names
from sidecar.library.entries import BuiltEntries, EntryOptions, SkippedPick, video_file
from sidecar.library.nfo import date_added_for_rank
from sidecar.library.writer import DesiredEntry, EntryFile
from sidecar.series.nfo import build_episode_nfo, build_tvshow_nfo

SHOW_NFO = "tvshow.nfo"


def _episode_code(episode: Mapping[str, Any]) -> str:
    code = f"S{episode['season']:02d}E{episode['episode']:02d}"
    end = episode.get("episode_end")
    if end and end > episode["episode"]:
        code += f"-E{end:02d}"
    return code


def _episode_files(
    show_title: str, episodes: Sequence[Mapping[str, Any]], options: EntryOptions, date_added: dt.datetime
) -> list[EntryFile]:
    """Video + NFO per numbered episode; an episode without a usable file is left out."""
    title_part = names.sanitize_component(show_title, max_bytes=120)
    files: list[EntryFile] = []
    used: set[str] = set()
    for episode in episodes:
        if episode.get("season") is None or episode.get("episode") is None:
            continue  # no numbers, no name the server can parse
        folder = f"Season {episode['season']:02d}"
        base = f"{title_part} {_episode_code(episode)}"
        if base.casefold() in used:  # another version of the same episode
            base = f"{base} - {names.sanitize_component(str(episode['id']), max_bytes=8)}"
        video = video_file(str(episode["id"]), episode.get("path"), base, options)
        if isinstance(video, str):
            continue
        used.add(base.casefold())
        nfo = build_episode_nfo(show_title, episode, date_added=date_added)
        files.append(
            EntryFile(f"{folder}/{video.name}", content=video.content, link_target=video.link_target)
        )
        files.append(EntryFile(f"{folder}/{names.file_name(base, '.nfo')}", content=nfo))
    return files


def series_entries(
    rows: Sequence[Mapping[str, Any]], options: EntryOptions, anchor: dt.datetime
) -> BuiltEntries:
    """Desired entries for one user, best pick first (rows of `queries.LIBRARY_PICKS`)."""
    ordered = sorted(rows, key=lambda row: row["rank"])
    width = names.rank_width(len(ordered))
    entries: list[DesiredEntry] = []
    skipped: list[SkippedPick] = []
    folders: set[str] = set()
    position = 0
    for row in ordered:
        date_added = date_added_for_rank(anchor, position + 1)
        episodes = row["episodes"] or []
        # Episodes carry the library's fixed anchor, not the rank's date: a re-rank then rewrites the
        # show's tvshow.nfo only, never its (often hundreds of) episode NFOs, and the server has one
        # file to re-read per moved show. The show's rank lives in tvshow.nfo alone.
        files = _episode_files(row["title"], episodes, options, anchor)
        if not files:
            reason = "no episode with a usable file" if episodes else "no episodes on the server"
            skipped.append(SkippedPick(row["series_id"], row["title"], reason))
            continue
        position += 1
        folder = names.movie_base_name(row["title"], row["year"])
        if folder.casefold() in folders:  # two shows with one title and year
            folder = f"{folder} [{names.sanitize_component(str(row['series_id']), max_bytes=8)}]"
        folders.add(folder.casefold())
        show_nfo = build_tvshow_nfo(row, position=position, width=width, date_added=date_added)
        entries.append(DesiredEntry(folder=folder, files=(EntryFile(SHOW_NFO, content=show_nfo), *files)))
    return BuiltEntries(entries, skipped)
