"""Where a media kind's rows live: the table names generic SQL is written against."""

from __future__ import annotations

import functools
from dataclasses import dataclass


@dataclass(frozen=True)
class KindTables:
    """Where a kind's rows live. Generic SQL names them as `{items}`, `{plays}`, `{vectors}`,
    `{picks}`, the item column of vectors and picks as `{item_id}`; plays refer to `{played}` rows
    through `{play_item_id}` (the items and `{item_id}` unless the kind plays something else: a
    series' episodes)."""

    items: str  # one row per server item: id, title, year, genres, ..., content_hash, removed_at
    plays: str  # (user_id, {item_id}) watch state
    vectors: str  # ({item_id}, model) embeddings
    picks: str  # (user_id, {item_id}) recommendations, ranked
    item_id: str  # the item column of plays, vectors and picks
    enabled: str = "enabled"  # the media_users column of a user's switch for this kind (`{enabled}`)
    played: str = ""  # the table plays refer to, when not `items` (series: episodes); `{played}`
    play_item_id: str = ""  # the item column of plays when it differs (`episode_id`); `{play_item_id}`

    def sql(self, template: str) -> str:
        """`template` with this kind's table names (code constants, never input)."""
        return _format_sql(template, self)


@functools.lru_cache(maxsize=512)
def _format_sql(template: str, tables: KindTables) -> str:
    return template.format(
        items=tables.items,
        plays=tables.plays,
        vectors=tables.vectors,
        picks=tables.picks,
        item_id=tables.item_id,
        enabled=tables.enabled,
        played=tables.played or tables.items,
        play_item_id=tables.play_item_id or tables.item_id,
    )
