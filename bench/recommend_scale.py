"""Scale case of the recommender: 2,000 users × 60,000 items, 5 M synthetic plays, every user.

Pure recommender, no database: what one recommendation run costs once its data is loaded (the
EASE fit, then every user's picks with evidence, scored in the job's batches), in its own process so peak RSS is this alone.
Plays follow a long tail (item popularity ∝ (rank + 50)^-0.9, drawn without replacement per user
by Gumbel top-k); history sizes are log-normal around 2,500. Vectors are random unit rows.

    python -m bench.recommend_scale [--users N] [--items N] [--plays N]   (prints one JSON line)
"""

from __future__ import annotations

import argparse
import json
import os
import time
from typing import Any

import numpy as np

from bench import report
from sidecar.media.recommend import BATCH_USERS
from sidecar.recommender.collaborative import server_plays
from sidecar.recommender.cowatch import build_cowatch
from sidecar.recommender.data import Plays, build_catalog, build_history
from sidecar.recommender.ours import DEFAULT_PARAMS, recommend_many
from sidecar.recommender.threads import single_threaded_blas

DIMENSIONS = 384
GENRES = tuple(f"g{k}" for k in range(20))
NOW = 1.8e9


def synthetic_plays(users: int, items: int, plays: int, rng: np.random.Generator) -> list[np.ndarray]:
    """Per user, the rows of the items they played (no repeats), ~`plays` in all."""
    log_p = -0.9 * np.log(np.arange(items) + 50.0)
    sizes = rng.lognormal(0.0, 0.6, users)
    sizes = np.clip(np.round(sizes / sizes.sum() * plays), 5, items // 2).astype(np.int64)
    popularity_order = rng.permutation(items)
    out = []
    for size in sizes:
        keys = log_p + rng.gumbel(size=items)
        out.append(popularity_order[np.argpartition(-keys, size - 1)[:size]])
    return out


def run(users: int, items: int, plays: int, top: int = 50) -> dict[str, Any]:
    rng = np.random.default_rng(11)
    ids = [f"m{k:06d}" for k in range(items)]
    vectors = rng.normal(size=(items, DIMENSIONS)).astype(np.float32)
    genres = [[GENRES[g] for g in rng.choice(len(GENRES), 2, replace=False)] for _ in range(items)]
    catalog = build_catalog(ids, ids, vectors, genres)
    del vectors
    per_user = synthetic_plays(users, items, plays, rng)
    total = int(sum(len(p) for p in per_user))
    user_plays = [
        Plays(
            item_ids=[catalog.ids[i] for i in rows],
            play_counts=np.ones(len(rows), dtype=np.int64),
            favourite=rng.random(len(rows)) < 0.1,
            user_rating=np.full(len(rows), np.nan),
            last_played=NOW - rng.random(len(rows)) * 3e7,
            watched=np.ones(len(rows), dtype=bool),
        )
        for rows in per_user
    ]
    load = os.getloadavg()[0]
    started, cpu = time.perf_counter(), time.process_time()
    cowatch = build_cowatch(
        np.repeat(np.arange(users), [len(p) for p in per_user]), np.concatenate(per_user), users, items
    )
    server = server_plays(cowatch, DEFAULT_PARAMS.lambda_scale)
    fit_seconds, fit_cpu = time.perf_counter() - started, time.process_time() - cpu
    with single_threaded_blas():  # as the job scores users: a batch at a time
        for start in range(0, users, BATCH_USERS):
            batch = user_plays[start : start + BATCH_USERS]
            recommend_many(catalog, [build_history(catalog, p, NOW) for p in batch], server, top)
    all_seconds, all_cpu = time.perf_counter() - started, time.process_time() - cpu
    ease = server.ease
    return {
        "users": users,
        "items": items,
        "plays": total,
        "ease_form": "none" if ease is None else ("items" if ease.b is not None else "users (Woodbury)"),
        "ease_items": 0 if ease is None else len(ease.items),
        "ease_trimmed": bool(ease is not None and ease.trimmed),
        "fit_seconds": round(fit_seconds, 2),
        "all_users_seconds": round(all_seconds, 2),
        "mean_ms_per_user": round(1000 * (all_seconds - fit_seconds) / users, 1),
        "cpu_seconds": round(all_cpu, 1),
        "fit_cpu_seconds": round(fit_cpu, 1),
        "cpu_ms_per_user": round(1000 * (all_cpu - fit_cpu) / users, 1),
        "load_average": [round(load, 1), round(os.getloadavg()[0], 1)],  # at the start and the end
        "peak_rss_mb": round(report.peak_rss_mb(), 1),
    }


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--users", type=int, default=2_000)
    parser.add_argument("--items", type=int, default=60_000)
    parser.add_argument("--plays", type=int, default=5_000_000)
    args = parser.parse_args(argv)
    result = run(args.users, args.items, args.plays)
    print(json.dumps(result))
    return result


if __name__ == "__main__":
    main()
