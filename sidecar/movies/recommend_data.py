"""Everything a recommendation run needs, loaded once: active vectors, all plays, co-watching."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime

import asyncpg
import numpy as np

from sidecar.jobs.context import JobError
from sidecar.movies import recommend_queries as q
from sidecar.recommender.cowatch import CoWatch, build_cowatch
from sidecar.recommender.data import Catalog, Play, build_catalog

NO_EMBEDDINGS = (
    "there are no active movie embeddings, so nothing can be recommended: "
    "run generate-movie-embeddings first (it activates a model once every movie has a vector)"
)


@dataclass(frozen=True)
class RunData:
    model: str
    catalog: Catalog
    plays_by_user: dict[str, list[Play]]
    cowatch: CoWatch
    bad_vectors: list[str]  # movie ids whose vector does not have the model's dimensions
    years: dict[str, int | None]


def _epoch(moment: datetime | None) -> float | None:
    return None if moment is None else moment.timestamp()


def _play(row: asyncpg.Record) -> Play:
    return Play(
        movie_id=row["movie_id"],
        play_count=row["play_count"],
        favourite=row["is_favorite"],
        user_rating=row["user_rating"],
        last_played=_epoch(row["last_played_at"]),
        watched=row["played"] or row["play_count"] > 0,
    )


async def load_catalog(db: asyncpg.Pool) -> tuple[str, Catalog, list[str], dict[str, int | None]]:
    """The active model's vectors as one matrix, plus the ids of vectors of the wrong size.

    JobError if there is no active model or it has no vectors.
    """
    active = await db.fetchrow(q.ACTIVE_MODEL)
    if active is None:
        raise JobError(NO_EMBEDDINGS)
    fetched = await db.fetch(q.CATALOG, active["model"])
    rows = [r for r in fetched if r["embedding"].dimensions() == active["dimensions"]]
    bad = [r["id"] for r in fetched if r["embedding"].dimensions() != active["dimensions"]]
    if not rows:
        raise JobError(NO_EMBEDDINGS)
    vectors = np.vstack([np.asarray(r["embedding"].to_numpy(), dtype=np.float32) for r in rows])
    catalog = build_catalog(
        ids=[r["id"] for r in rows],
        titles=[r["title"] for r in rows],
        vectors=vectors,
        genres=[r["genres"] for r in rows],
        community_ratings=[r["community_rating"] for r in rows],
        removed=[r["removed"] for r in rows],
    )
    return active["model"], catalog, bad, {r["id"]: r["year"] for r in rows}


def cowatch_from_plays(catalog: Catalog, plays_by_user: dict[str, list[Play]]) -> CoWatch:
    """Who watched what across every user on the server (movies without a vector left out)."""
    users, movies = [], []
    for user_row, plays in enumerate(plays_by_user.values()):
        for play in plays:
            row = catalog.index.get(play.movie_id)
            if play.watched and row is not None:
                users.append(user_row)
                movies.append(row)
    return build_cowatch(
        np.array(users, dtype=np.int64),
        np.array(movies, dtype=np.int64),
        max(len(plays_by_user), 1),
        len(catalog),
    )


async def load_run_data(db: asyncpg.Pool) -> RunData:
    model, catalog, bad_vectors, years = await load_catalog(db)
    plays_by_user: dict[str, list[Play]] = defaultdict(list)
    for row in await db.fetch(q.PLAYS):
        plays_by_user[row["user_id"]].append(_play(row))
    cowatch = cowatch_from_plays(catalog, plays_by_user)
    return RunData(model, catalog, dict(plays_by_user), cowatch, bad_vectors, years)
