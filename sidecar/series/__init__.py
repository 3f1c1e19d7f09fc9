"""Series as a media kind: the `SERIES` value, and what is about shows (their rows and episodes,
the per-user show states, the embedding text, the library layout). The steps are generic
(sidecar/media/); this kind plugs into their hooks: episodes as a child level of the catalogue,
plays of episodes rebuilt into show states, taste from those states, started picks kept, cold start
from the movie taste."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Sequence
from typing import Any

from sidecar.media.kind import Catalogue, History, Library, MediaKind, Step
from sidecar.media.tables import KindTables
from sidecar.mediaserver import MediaServerClient, UserMovieData
from sidecar.mediaserver.items import EPISODE, UserItemData
from sidecar.mediaserver.items import SERIES as SERIES_TYPE
from sidecar.series import queries
from sidecar.series.library import series_entries
from sidecar.series.rows import EPISODE_COLUMNS, SERIES_COLUMNS, episode_row, series_row
from sidecar.series.taste import SERIES_COLD_START, SERIES_PARAMS
from sidecar.series.text import series_text
from sidecar.settings import Settings


def _as_play(data: UserItemData) -> UserMovieData:
    """An episode's user data in the shape the generic watch-history step (and its copy folding)
    reads: `movie_id` is the played item, here the episode."""
    return UserMovieData(
        user_id=data.user_id, movie_id=data.item_id, played=data.played, play_count=data.play_count,
        last_played_at=data.last_played_at, is_favorite=data.is_favorite, user_rating=data.user_rating,
        position_ticks=data.position_ticks, path=data.path, provider_ids=data.provider_ids,
    )  # fmt: skip


async def _pages(pages: AsyncIterator[Sequence[UserItemData]]) -> AsyncIterator[list[UserMovieData]]:
    async for page in pages:
        yield [_as_play(d) for d in page]


async def _user_data(client: MediaServerClient, user_id: str, ids: list[str]) -> list[UserMovieData]:
    return [_as_play(d) for d in await client.get_user_item_data(EPISODE, user_id, ids)]


def _favourite_episodes(
    client: MediaServerClient,
) -> Callable[[str, bool], AsyncIterator[list[UserMovieData]]]:
    return lambda user_id, unplayed_only: _pages(
        client.iter_favourite_items(EPISODE, user_id, unplayed_only=unplayed_only)
    )


async def _favourite_shows(client: MediaServerClient, user_id: str) -> AsyncIterator[list[str]]:
    async for page in client.iter_favourite_items(SERIES_TYPE, user_id):
        yield [d.item_id for d in page]


async def _derive_states(db: Any, settings: Settings, user_ids: list[str]) -> None:
    await db.execute(
        queries.REBUILD_STATES, user_ids, settings.series_drop_after_days, settings.series_watching_days
    )


EPISODES = Catalogue(
    list_items=lambda client, library_ids: client.iter_items(EPISODE, library_ids),
    get_items=lambda client, ids: client.get_items(EPISODE, ids),
    row=episode_row,
    create_incoming=queries.CREATE_INCOMING_EPISODES,
    columns=EPISODE_COLUMNS,
    upsert_incoming=queries.UPSERT_INCOMING_EPISODES,
    item_type=EPISODE.name,
    table="episodes",
)

SERIES = MediaKind(
    name="series",
    singular="series",
    item_types=frozenset({"Series", "Episode"}),
    collection_type="tvshows",
    tables=KindTables(
        items="series",
        plays="episode_plays",
        vectors="series_embeddings",
        picks="series_recommendations",
        item_id="series_id",
        played="episodes",
        play_item_id="episode_id",
        enabled="series_enabled",
    ),
    catalogue=Catalogue(
        list_items=lambda client, library_ids: client.iter_items(SERIES_TYPE, library_ids),
        get_items=lambda client, ids: client.get_items(SERIES_TYPE, ids),
        row=series_row,
        create_incoming=queries.CREATE_INCOMING_SERIES,
        columns=SERIES_COLUMNS,
        upsert_incoming=queries.UPSERT_INCOMING_SERIES,
        item_type=SERIES_TYPE.name,
        children=EPISODES,
    ),
    history=History(
        iter_played=lambda client, user_id, since: _pages(client.iter_played_items(EPISODE, user_id, since)),
        get_user_data=_user_data,
        favourites=_favourite_episodes,  # favourite episodes: rows of episode_plays, as for movies
        favourite_items=_favourite_shows,  # favourite shows: a strong taste, played or not
        resumable=lambda client, user_id: _pages(client.iter_resumable_items(EPISODE, user_id)),
        derive=_derive_states,
        # Show level: a show the server hides from the user (rating, tags, a library they lack) hides
        # its episodes too, so the show's id is what picks and library entries are checked against.
        visible_ids=lambda client, user_id: client.iter_visible_ids(SERIES_TYPE, user_id),
    ),
    library=Library(
        folder="ai-series",
        name_template=lambda settings: settings.series_library_name_template,
        picks_query=queries.LIBRARY_PICKS,
        build_entries=series_entries,
    ),
    text_query=queries.TEXT_FIELDS,
    text=series_text,
    source_libraries=lambda settings: settings.series_libraries,
    source_libraries_setting="SIDECAR_SERIES_LIBRARIES",
    schedules={
        Step.SYNC: "15 3 * * *",
        Step.EMBEDDINGS: "45 3 * * *",
        Step.WATCH_HISTORY: "30 */2 * * *",
        Step.RECOMMENDATIONS: "15 4 * * 0",
        Step.LIBRARIES: "45 4 * * 0",
    },
    taste_query=queries.TASTE,
    kept_query=queries.KEPT,
    cold_start_from="movies",
    params=SERIES_PARAMS,
    popular_query=queries.POPULAR,
    cold_start_params=SERIES_COLD_START,
    picks_per_user=lambda settings, own: settings.series_picks_per_user,
)
