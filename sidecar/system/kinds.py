"""What the global jobs need to know about each media kind: its tables and its job names.

One place, so a new kind is one more entry (and Top Picks, the users API and the disabled-user
clean-up follow). Only kinds whose tables exist in this build are listed.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class KindTables:
    key: str  # "movies": user_libraries.media_type, and the users API's key
    label: str  # "Movies": library names
    enabled_column: str  # media_users column of the per-user switch
    items: str
    plays: str
    item_column: str  # plays/picks column naming the item
    picks: str
    recommend_job: str
    libraries_job: str


MOVIES = KindTables(
    key="movies",
    label="Movies",
    enabled_column="enabled",
    items="movies",
    plays="movie_plays",
    item_column="movie_id",
    picks="movie_recommendations",
    recommend_job="generate-movie-recommendations",
    libraries_job="sync-movie-libraries",
)

KINDS: tuple[KindTables, ...] = (MOVIES,)
SWITCHES = {"movies_enabled": "enabled", "series_enabled": "series_enabled"}  # API field -> column
SWITCH_COLUMNS = {"movies": "enabled", "series": "series_enabled"}  # media kind -> its per-user switch
