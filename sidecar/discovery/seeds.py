"""Which of a user's titles seed their discovery: the ones that say most about their taste.

Seeds are the user's favourites and highly rated titles first, then what they watched, each ordered
by how much it tells of their taste (the recommender's reference weight: plays, favourite, own
rating, recency), plus the head of their AI Picks. Only titles with a TMDb id can seed.

Sharing: every seed costs two TMDb requests unless another user already asked for it (answers are
cached by title). So half of a user's seeds are their strongest titles as they are, and the other
half prefer, among their next-strongest, titles another user of this run already seeds: same taste
signal, no new request. On MovieLens this cuts the distinct seeds (and requests) by more than half.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from sidecar.recommender.data import History
from sidecar.recommender.weights import reference_weights

STRONG_RATING = 8.0  # own rating (0-10) from which a title counts as highly rated
PICK_SHARE = 5  # at most one seed in this many comes from the user's AI Picks
SHARED_POOL = 2  # the shared half is chosen among this many times the seeds wanted


@dataclass(frozen=True)
class Seed:
    item_id: str  # the server item
    tmdb_id: int
    title: str
    why: str  # "favourite", "rated", "watched" or "pick"


def taste_seeds(
    history: History, item_ids: Sequence[str], titles: Sequence[str], tmdb_ids: dict[str, int]
) -> list[Seed]:
    """The user's watched titles with a TMDb id, strongest first (favourites and high ratings lead).
    `item_ids`/`titles` are the catalogue's columns that `history.items` index."""
    weights = reference_weights(history)
    rated = np.nan_to_num(history.user_rating, nan=-1.0) >= STRONG_RATING
    strong = history.favourite | rated
    days = np.nan_to_num(history.days_ago, nan=np.inf)
    # Ties (plays rated alike in the same second) broken by item id: the plays arrive in no fixed
    # order, and a seed that changes between runs costs two requests the cache would have saved.
    order = sorted(
        range(len(history)),
        key=lambda i: (not strong[i], -weights[i], days[i], item_ids[history.items[i]]),
    )
    seeds = []
    for position in order:
        item_id = item_ids[history.items[position]]
        if item_id not in tmdb_ids:
            continue
        why = "favourite" if history.favourite[position] else "rated" if rated[position] else "watched"
        seeds.append(Seed(item_id, tmdb_ids[item_id], titles[history.items[position]], why))
    return seeds


def choose_seeds(own: Sequence[Seed], picks: Sequence[Seed], count: int, shared: set[int]) -> list[Seed]:
    """`count` seeds: a few top picks, the strongest half of `own`, then the next ones preferring
    titles in `shared` (seeded by an earlier user of the run); `shared` gains the choice."""
    chosen: list[Seed] = []
    seen: set[int] = set()

    def take(seed: Seed) -> None:
        if seed.tmdb_id not in seen and len(chosen) < count:
            seen.add(seed.tmdb_id)
            chosen.append(seed)

    for seed in picks[: max(1, count // PICK_SHARE)] if picks else ():
        take(seed)
    fresh = [s for s in own if s.tmdb_id not in seen]
    strongest = math.ceil((count - len(chosen)) / 2)
    for seed in fresh[:strongest]:
        take(seed)
    pool = fresh[strongest : strongest + SHARED_POOL * count]
    for seed in sorted(pool, key=lambda s: s.tmdb_id not in shared):  # stable: shared first, in order
        take(seed)
    shared.update(seen)
    return chosen
