"""Movies as a media kind: the `MOVIES` value, and what is about movies (their row, embedding text,
library entries). The steps themselves are generic (sidecar/media/)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Sequence
from typing import Any

from sidecar.media.kind import Catalogue, History, Library, MediaKind, Step
from sidecar.media.tables import KindTables
from sidecar.mediaserver import MediaServerClient
from sidecar.mediaserver.items import MOVIE
from sidecar.movies import queries
from sidecar.movies.library import movie_entries
from sidecar.movies.movie_rows import COLUMNS, movie_row
from sidecar.movies.text import movie_text


def _favourites(client: MediaServerClient) -> Callable[[str, bool], AsyncIterator[Sequence[Any]]] | None:
    method = getattr(client, "iter_favorite_movies", None)  # not every client has the list
    if method is None:
        return None
    return lambda user_id, unplayed_only: method(user_id, unplayed_only=unplayed_only)


MOVIES = MediaKind(
    name="movies",
    singular="movie",
    item_types=frozenset({"Movie"}),
    collection_type="movies",
    tables=KindTables(
        items="movies",
        plays="movie_plays",
        vectors="movie_embeddings",
        picks="movie_recommendations",
        item_id="movie_id",
    ),
    catalogue=Catalogue(
        list_items=lambda client, library_ids: client.iter_movies(library_ids),
        get_items=lambda client, ids: client.get_movies(ids),
        row=movie_row,
        create_incoming=queries.CREATE_INCOMING,
        columns=COLUMNS,
        upsert_incoming=queries.UPSERT_INCOMING,
        item_type=MOVIE.name,
    ),
    history=History(
        iter_played=lambda client, user_id, since: client.iter_played_movies(user_id, since),
        get_user_data=lambda client, user_id, ids: client.get_user_movie_data(user_id, ids),
        favourites=_favourites,
        visible_ids=lambda client, user_id: client.iter_visible_ids(MOVIE, user_id),
    ),
    library=Library(
        folder="ai-movies",
        name_template=lambda settings: settings.library_name_template,
        picks_query=queries.LIBRARY_PICKS,
        build_entries=movie_entries,
    ),
    text_query=queries.TEXT_FIELDS,
    text=movie_text,
    source_libraries=lambda settings: settings.movie_libraries,
    source_libraries_setting="SIDECAR_MOVIE_LIBRARIES",
    schedules={
        Step.SYNC: "0 3 * * *",
        Step.EMBEDDINGS: "30 3 * * *",
        Step.WATCH_HISTORY: "0 */2 * * *",
        Step.RECOMMENDATIONS: "0 4 * * 0",
        Step.LIBRARIES: "30 4 * * 0",
    },
)
