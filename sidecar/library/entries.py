"""Turn a user's ranked picks into desired library entries (folder + video entry + NFO).

Two ways to put a playable "video entry" in a folder (`SIDECAR_LIBRARY_MODE`):

* `symlink` (default): `Title (Year).<ext>` is a symbolic link to the movie file. The link target is
  the movie's path **as the media server sees it** (`movies.path`, unmapped), because the server is
  the one that follows the link: it resolves the target inside its own filesystem namespace when it
  scans and plays. `SIDECAR_PATH_MAPPINGS` (server prefix -> sidecar prefix) is used only to find the
  file from the sidecar and check that it exists; when both processes share the mount layout (the
  usual compose set-up) the two paths are equal and the link works for both. Jellyfin >= 10.11.7
  ignores local paths inside `.strm` files, so symlinks are the mode that works everywhere.
* `strm`: `Title (Year).strm` holding one line. With `SIDECAR_STRM_URL_TEMPLATE` unset, the line is the
  server path (works on Emby and on Jellyfin before 10.11.7). With a template such as
  `http://jellyfin:8096/Videos/{item_id}/stream?static=true&ApiKey={api_key}` the line is a stream URL.
  **Such a URL puts the media server's API key, a full admin credential, in a plain file** readable by
  anyone who can read the library folder (and by every client the server hands the path to): use a
  dedicated key, restrict the folder, or prefer symlinks.

Entry folders are named `Title (Year)` (`SIDECAR_LIBRARY_ENTRY_NAMES=title`, the default): the
server derives an item's id from its path, so a folder that keeps its name when its rank changes keeps
the user's resume point and watched state, and a re-rank rewrites NFOs only. The rank lives in the
NFO's sort title and date added, so the server still lists the picks best first. The product's
documented layout, `NN - Title (Year)` (`ranked`), numbers entries by position among the picks that
could be written (a pick whose file is missing is skipped, not left as a gap).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal

from sidecar.library import names
from sidecar.library.model import RankedMovie
from sidecar.library.nfo import build_movie_nfo, date_added_for_rank
from sidecar.library.paths import file_extension, is_existing_file, server_to_local
from sidecar.library.writer import DesiredEntry, EntryFile


@dataclass(frozen=True)
class EntryOptions:
    mode: Literal["symlink", "strm"] = "symlink"
    path_mappings: Mapping[str, str] = field(default_factory=dict)
    strm_url_template: str | None = None
    api_key: str | None = None  # only substituted into `{api_key}` of the STRM template
    check_files_exist: bool = True
    ranked_folders: bool = False  # `NN - Title (Year)` instead of `Title (Year)`


@dataclass(frozen=True)
class SkippedPick:
    movie_id: str
    title: str
    reason: str


@dataclass
class BuiltEntries:
    entries: list[DesiredEntry]
    skipped: list[SkippedPick]


def _stream_url(template: str, movie_id: str, api_key: str | None) -> str:
    return template.replace("{item_id}", movie_id).replace("{api_key}", api_key or "")


def _video_file(movie: RankedMovie, base: str, options: EntryOptions) -> EntryFile | str:
    """The entry's video file, or the reason it cannot be made."""
    if options.mode == "strm" and options.strm_url_template:
        line = _stream_url(options.strm_url_template, movie.movie_id, options.api_key)
        return EntryFile(names.file_name(base, ".strm"), content=(line + "\n").encode("utf-8"))
    if not movie.path:
        return "the media server reported no file path for this movie"
    if options.check_files_exist:
        local = server_to_local(movie.path, options.path_mappings)
        if not is_existing_file(local):
            return (
                f"file not found at {local} (server path {movie.path}); "
                "check SIDECAR_PATH_MAPPINGS and that the media folder is mounted in the sidecar"
            )
    if options.mode == "strm":
        return EntryFile(names.file_name(base, ".strm"), content=(movie.path + "\n").encode("utf-8"))
    extension = file_extension(movie.path)
    if not extension:
        return f"the movie's path {movie.path} has no file extension"
    return EntryFile(names.file_name(base, extension), link_target=movie.path)


def build_entries(
    picks: Sequence[RankedMovie], options: EntryOptions, date_anchor: dt.datetime
) -> BuiltEntries:
    """Desired entries for one user, best pick first."""
    ordered = sorted(picks, key=lambda pick: pick.rank)
    usable: list[tuple[RankedMovie, str, EntryFile]] = []
    skipped: list[SkippedPick] = []
    for movie in ordered:
        base = names.movie_base_name(movie.title, movie.year)
        video = _video_file(movie, base, options)
        if isinstance(video, str):
            skipped.append(SkippedPick(movie.movie_id, movie.title, video))
        else:
            usable.append((movie, base, video))

    width = names.rank_width(len(usable))
    shared = _shared_names(base for _, base, _ in usable)
    entries: list[DesiredEntry] = []
    for position, (movie, base, video) in enumerate(usable, start=1):
        nfo = build_movie_nfo(
            movie, position=position, width=width, date_added=date_added_for_rank(date_anchor, position)
        )
        if options.ranked_folders:
            folder = names.entry_folder_name(position, width, base)
        elif base.casefold() in shared:
            folder = names.disambiguated(base, _id_tag(movie))
        else:
            folder = base
        entries.append(
            DesiredEntry(folder=folder, files=(video, EntryFile(names.file_name(base, ".nfo"), content=nfo)))
        )
    return BuiltEntries(entries, skipped)


def _shared_names(bases: Iterable[str]) -> set[str]:
    """Names (case-folded: SMB and macOS shares ignore case) that more than one pick would take."""
    seen: set[str] = set()
    shared: set[str] = set()
    for base in bases:
        key = base.casefold()
        (shared if key in seen else seen).add(key)
    return shared


def _id_tag(movie: RankedMovie) -> str:
    tmdb = movie.tmdb_id or movie.provider_ids.get("tmdb")
    imdb = movie.imdb_id or movie.provider_ids.get("imdb")
    return f"tmdbid-{tmdb}" if tmdb else f"imdbid-{imdb}" if imdb else movie.movie_id[:12]
