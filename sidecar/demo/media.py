"""The simulated server's media, made real on disk so the demo's symlink libraries resolve.

The seeds put every movie under `/media/...`, a folder this machine does not have. The demo moves
the simulated server's media under its own directory (the server and the sidecar then see the same
paths, as in the usual compose set-up) and creates an empty placeholder file per movie and per
episode a library links: the libraries' symlinks point at files that exist, and nothing pretends
to be a playable video.
"""

from __future__ import annotations

from pathlib import Path

from sidecar.library.paths import server_to_local
from sidecar.simulator.model import SimState

SEEDED_MEDIA_ROOT = "/media"


def relocate_media(state: SimState, media_dir: Path) -> list[Path]:
    """Point the server's libraries, movie and episode paths under `media_dir`; return the movie files
    (an episode's placeholder is made only when a library links it: see `episode_files`)."""
    mapping = {SEEDED_MEDIA_ROOT: str(media_dir)}
    for library in state.libraries:
        library.locations = [server_to_local(p, mapping) for p in library.locations]
    state.host_paths = {server_to_local(p, mapping) for p in state.host_paths}
    files = []
    for movie in list(state.movies.values()):
        if movie.path:
            moved = server_to_local(movie.path, mapping)
            state.update_movie(movie.id, path=moved)
            files.append(Path(moved))
    for episode in list(state.tv.episodes.values()):
        if episode.path:
            state.tv.update(episode.id, path=server_to_local(episode.path, mapping))
    return files


def episode_files(state: SimState, series_ids: set[str]) -> list[Path]:
    """The files of these shows' real episodes. Made on demand: the generated TV catalogue has 60,000
    episodes, and that many empty files take longer to create than the whole series part."""
    return [
        Path(episode.path)
        for episode in state.tv.episodes.values()
        if episode.series_id in series_ids and episode.path and not episode.virtual
    ]


def create_placeholders(files: list[Path]) -> int:
    """An empty file at each path (existing ones are left alone); returns how many were created."""
    created = 0
    for path in files:
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            path.touch()
            created += 1
    return created
