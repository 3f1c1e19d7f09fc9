"""A media kind (movies, series, ...) as a value: what differs between kinds, and nothing else.

The pipeline is the same for every kind: sync the catalogue, embed it, sync watch history, score
recommendations (plus a manual full reset), write the users' libraries. `GRAPH` declares its order
once; job names, the pipeline of `POST /api/pipelines/{kind}`, the follow-ups a step may ask for,
the webhook planner's jobs and the cards' prerequisites are all derived from it and the kind's names.

Adding a kind (checklist): see sidecar/README.md.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING, Any, Protocol

from sidecar.library.entries import BuiltEntries, EntryOptions
from sidecar.media.tables import KindTables
from sidecar.mediaserver import MediaServerClient
from sidecar.recommender.cold_start import DEFAULT_COLD_START, ColdStartParams
from sidecar.recommender.ours import DEFAULT_PARAMS, OursParams
from sidecar.settings import Settings

if TYPE_CHECKING:
    from sidecar.jobs.context import JobContext


class Step(StrEnum):
    """The roles of a media kind's jobs, in pipeline order."""

    SYNC = "sync"
    EMBEDDINGS = "embeddings"
    WATCH_HISTORY = "watch-history"
    RECOMMENDATIONS = "recommendations"
    FULL_RESET = "full-reset"
    LIBRARIES = "libraries"


# The job graph, declared once: each step and the steps it needs first (shown on the cards, used to
# order pipelines and to check follow-ups).
GRAPH: Mapping[Step, tuple[Step, ...]] = {
    Step.SYNC: (),
    Step.EMBEDDINGS: (Step.SYNC,),
    Step.WATCH_HISTORY: (Step.SYNC,),
    Step.RECOMMENDATIONS: (Step.EMBEDDINGS, Step.WATCH_HISTORY),
    Step.FULL_RESET: (Step.EMBEDDINGS, Step.WATCH_HISTORY),
    Step.LIBRARIES: (Step.RECOMMENDATIONS,),
}
MANUAL_ONLY = frozenset({Step.FULL_RESET})
VARIANTS: Mapping[Step, tuple[str, ...]] = {Step.WATCH_HISTORY: ("regular", "full")}

KindStep = Callable[["JobContext", "MediaKind"], Awaitable[dict[str, Any] | None]]


@dataclass(frozen=True)
class Catalogue:
    """How a kind's items come from the media server into its `items` table (the sync step)."""

    list_items: Callable[[MediaServerClient, list[str]], AsyncIterator[Sequence[Any]]]  # pages
    get_items: Callable[[MediaServerClient, list[str]], Awaitable[list[Any]]]  # by id
    row: Callable[[Any, str | None], CatalogueRow]  # item, library id -> the row to write
    create_incoming: str  # temp table `incoming` with `columns`, dropped on commit
    columns: tuple[str, ...]
    upsert_incoming: str  # incoming -> items
    item_type: str  # the servers' item type of these rows ("Movie", "Series", "Episode")
    # Where these rows live when not in the kind's items table (a child level: a show's episodes).
    table: str | None = None
    # Items listed under these ones, synced after them with the same rules (episodes of series):
    # page by page, removed only after a complete listing.
    children: Catalogue | None = None


class CatalogueRow(Protocol):
    """A row for the items table: a tuple in `Catalogue.columns` order with these named fields."""

    @property
    def id(self) -> str: ...
    @property
    def title(self) -> str: ...
    @property
    def content_hash(self) -> str: ...
    @property
    def sync_hash(self) -> str: ...


@dataclass(frozen=True)
class History:
    """How a kind's watch state comes from the media server (UserMovieData objects: `movie_id` is the
    played item of the kind's `{played}` table, whatever the kind)."""

    iter_played: Callable[[MediaServerClient, str, dt.datetime | None], AsyncIterator[Sequence[Any]]]
    get_user_data: Callable[[MediaServerClient, str, list[str]], Awaitable[list[Any]]]
    # The client's favourites list (user id, unplayed only) -> pages; None when it has none.
    favourites: Callable[[MediaServerClient], Callable[[str, bool], AsyncIterator[Sequence[Any]]] | None]
    # Started-but-unfinished items (user id) -> pages, merged into every run; None: not read.
    resumable: Callable[[MediaServerClient, str], AsyncIterator[Sequence[Any]]] | None = None
    # Derived per-user state rebuilt from the plays after a run (db, settings, user ids): series'
    # started / watching / finished / dropped.
    derive: Callable[[Any, Settings, list[str]], Awaitable[None]] | None = None
    # The kind's own items (not its played rows: a series, not its episodes) the user marked
    # favourite, page by page; stored per user and kind (user_favourite_items) for `derive` to read.
    favourite_items: Callable[[MediaServerClient, str], AsyncIterator[Sequence[str]]] | None = None
    # The ids of this kind the server shows a user (its policy applied), page by page.
    visible_ids: Callable[[MediaServerClient, str], AsyncIterator[Sequence[str]]] | None = None


@dataclass(frozen=True)
class Library:
    """How a kind's picks become library entries on disk."""

    folder: str  # users/<user>/<folder>/ ("ai-movies")
    name_template: Callable[[Settings], str]  # the library's name on the server, with {user}
    picks_query: str  # one user's picks joined with the items (parameter: user id)
    build_entries: Callable[[Sequence[Any], EntryOptions, dt.datetime], BuiltEntries]


@dataclass(frozen=True)
class MediaKind:
    """Everything that differs between media kinds."""

    name: str  # plural: category, pipeline name, "sync-{name}" ("movies", "series")
    singular: str  # "movie", "series": the other job names ("sync-{singular}-libraries", ...)
    item_types: frozenset[str]  # the servers' item types of this kind ("Movie")
    collection_type: str  # the servers' library collection type ("movies", "tvshows")
    tables: KindTables
    catalogue: Catalogue
    history: History
    library: Library
    text_query: str  # what the embedding text is made of (parameter: item ids), with content_hash
    text: Callable[[Mapping[str, Any]], str]  # a row of text_query -> the text to embed
    source_libraries: Callable[[Settings], list[str]]  # configured library names/ids (empty: all)
    source_libraries_setting: str  # its variable, for messages ("SIDECAR_MOVIE_LIBRARIES")
    schedules: Mapping[Step, str] = field(default_factory=dict)  # default cron per step
    steps: Mapping[Step, KindStep] = field(default_factory=dict)  # a kind's own version of a step
    # Recommendation hooks. `taste_query`: each user's history in the columns of the generic PLAYS
    # query, every user's or ($1) those users' (None: the plays table as it is). `kept_query`: (user_id, item_id) rows that stay at the
    # head of a user's list whatever the new picks ($1 user ids or null). `cold_start_from`: the kind
    # whose taste (same embedding space) seeds users with no history of this one. `params` and
    # `cold_start_params`: the recommender's blend for this kind's data (chosen on its own validation
    # split: a show's progress is not a film's rating).
    taste_query: str | None = None
    kept_query: str | None = None
    cold_start_from: str | None = None
    params: OursParams = DEFAULT_PARAMS
    # refresh-top-picks' ranking when the generic one (plays of the kind's own items) does not fit:
    # the parameters and columns of system/top_picks_queries.POPULAR (series: plays of episodes).
    popular_query: str | None = None
    cold_start_params: ColdStartParams = DEFAULT_COLD_START
    picks_per_user: Callable[[Settings, int | None], int] = lambda settings, own: (
        own or settings.recommendations_per_user
    )

    def job(self, step: Step) -> str:
        """The product's job name of `step` for this kind."""
        return {
            Step.SYNC: f"sync-{self.name}",
            Step.EMBEDDINGS: f"generate-{self.singular}-embeddings",
            Step.WATCH_HISTORY: f"sync-{self.singular}-watch-history",
            Step.RECOMMENDATIONS: f"generate-{self.singular}-recommendations",
            Step.FULL_RESET: f"full-reset-{self.singular}-recommendations",
            Step.LIBRARIES: f"sync-{self.singular}-libraries",
        }[step]

    def handles(self, item_type: str | None) -> bool:
        return item_type in self.item_types

    def table_of(self, item_type: str | None) -> str | None:
        """The table holding the synced rows of this server item type (movies, series, episodes)."""
        level: Catalogue | None = self.catalogue
        while level is not None:
            if level.item_type == item_type:
                return level.table or self.tables.items
            level = level.children
        return None

    def sql(self, template: str) -> str:
        return self.tables.sql(template)
