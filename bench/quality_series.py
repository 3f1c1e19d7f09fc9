"""Series recommendation quality on the generated TV data set (sidecar/simulator/tv_seed.py: ~1,500
shows watched by the 671 MovieLens users; there is no public TV watch-history set on the package
registries, so the data is generated from the users' measured movie tastes).

Protocol: per viewer with at least 3 started shows, order the shows by first play; the last 20 %
(at least 1) are hidden (the future), and the history is every play before the first hidden show
started, turned into show states as `sync-series-watch-history` does (finished / watching /
started / dropped, episodes played). A hit is a hidden show in the top N. Scorers, through the very
functions the job calls: popularity (co-watching counts), a content-only scorer in the reference
product's style (`recommender.reference`: one taste vector, nearest shows), and ours
(`recommender.ours`: taste centroids + co-watching + popularity prior, weighted by progress).

Cold start: the same viewers with every show hidden and only their MovieLens movie ratings known;
ours scores shows from the movie taste (same MiniLM space, `media.cold_start.borrowed_taste`)
against popularity.

    python -m bench.quality --kind series [--users N] [--top 20]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import math
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from bench.movielens import load_movielens, minilm_embeddings
from bench.quality import Scores, coverage, ndcg_at, recall_at, sample_users
from sidecar.media.cold_start import borrowed_taste
from sidecar.recommender.cowatch import CoWatch, build_cowatch
from sidecar.recommender.data import Catalog, History, Pick, Play, Plays, build_catalog, build_history
from sidecar.recommender.ours import recommend_ours
from sidecar.recommender.popularity import recommend_popular
from sidecar.recommender.reference import recommend_reference
from sidecar.recommender.threads import single_threaded_blas
from sidecar.series.taste import STATE_RATING
from sidecar.series.text import series_text
from sidecar.settings import Settings
from sidecar.simulator.tv_seed import TvCatalogue, TvHistory, TvPlay, TvShow, movielens_history

RESULTS = Path(__file__).resolve().parent / "results" / "quality_series.json"
TOP = 20
RECALL_AT = 20
NDCG_AT = 10
MIN_SHOWS = 3
FUTURE_SHARE = 0.2
DAY = 86_400.0


@dataclass(frozen=True)
class ShowSplit:
    user_id: str
    history: list[Play]
    future: frozenset[str]
    cutoff: float


def show_text(show: TvShow) -> str:
    people = [{"name": c, "type": "Creator"} for c in show.creators]
    people += [{"name": actor, "type": "Actor"} for actor, _ in show.cast]
    return series_text(
        {"title": show.title, "original_title": show.original_title, "year": show.year,
         "end_year": show.end_year, "status": show.status, "genres": show.genres,
         "studios": show.studios, "people": people, "tags": show.tags, "overview": show.overview}
    )  # fmt: skip


def tv_catalog(catalogue: TvCatalogue) -> Catalog:
    shows = catalogue.shows
    vectors = minilm_embeddings([show_text(s) for s in shows])
    return build_catalog(
        [str(s.index) for s in shows],
        [s.title for s in shows],
        vectors,
        [list(s.genres) for s in shows],
        [s.community_rating for s in shows],
    )


def _available(catalogue: TvCatalogue) -> dict[int, int]:
    """Present, aired regular episodes per show (what `finished` is measured against)."""
    counts: dict[int, int] = defaultdict(int)
    for e in catalogue.episodes:
        if not e.virtual and e.season > 0 and e.premiere_date <= catalogue.anchor:
            counts[e.show] += 1
    return counts


def show_state(played: int, available: int, last: float, now: float, settings: Settings) -> str:
    """The rules of `queries.REBUILD_STATES` (first match wins), for plays outside the database."""
    if available and played >= available:
        return "finished"
    if now - last >= settings.series_drop_after_days * DAY and played < 0.5 * available:
        return "dropped"
    if played and now - last <= settings.series_watching_days * DAY:
        return "watching"
    return "started"


def _plays_as_states(plays: Sequence[TvPlay], available: dict[int, int], now: float) -> list[Play]:
    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    by_show: dict[int, list[TvPlay]] = defaultdict(list)
    for p in plays:
        by_show[p.show].append(p)
    out = []
    for show, own in by_show.items():
        played = sum(1 for p in own if p.played and p.season > 0)
        last = max(p.last_played.timestamp() for p in own)
        state = show_state(played, available.get(show, 0), last, now, settings)
        out.append(Play(movie_id=str(show), play_count=max(played, 1), favourite=any(p.favourite for p in own),
                        user_rating=STATE_RATING[state], last_played=last))  # fmt: skip
    return out


def split_viewers(catalogue: TvCatalogue, history: TvHistory) -> list[ShowSplit]:
    available = _available(catalogue)
    by_viewer: dict[str, list[TvPlay]] = defaultdict(list)
    for p in history.plays:
        by_viewer[p.viewer].append(p)
    splits = []
    for viewer, plays in sorted(by_viewer.items()):
        first: dict[int, float] = {}
        for p in plays:
            first[p.show] = min(first.get(p.show, math.inf), p.last_played.timestamp())
        if len(first) < MIN_SHOWS:
            continue
        order = sorted(first, key=lambda s: (first[s], s))
        n_future = max(1, math.floor(len(order) * FUTURE_SHARE))
        hidden = set(order[-n_future:])
        cutoff = min(first[s] for s in hidden)
        seen = [p for p in plays if p.show not in hidden and p.last_played.timestamp() < cutoff]
        if not seen:
            continue
        states = _plays_as_states(seen, available, cutoff)
        splits.append(ShowSplit(viewer, states, frozenset(str(s) for s in hidden), cutoff))
    return splits


def cowatch_of(catalog: Catalog, splits: Sequence[ShowSplit]) -> CoWatch:
    users = [u for u, s in enumerate(splits) for _ in s.history]
    items = [catalog.index[p.movie_id] for s in splits for p in s.history]
    return build_cowatch(np.array(users, dtype=np.int64), np.array(items, dtype=np.int64), len(splits),
                         len(catalog))  # fmt: skip


def _score(lists: list[list[str]], futures: list[frozenset[str]], size: int) -> Scores:
    recalls = [recall_at(ids, f, RECALL_AT) for ids, f in zip(lists, futures, strict=True)]
    ndcgs = [ndcg_at(ids, f, NDCG_AT) for ids, f in zip(lists, futures, strict=True)]
    return Scores(float(np.mean(recalls)) if recalls else 0.0, float(np.mean(ndcgs)) if ndcgs else 0.0,
                  coverage(lists, size), 0.0, len(lists))  # fmt: skip


def evaluate(catalog: Catalog, cowatch: CoWatch, splits: Sequence[ShowSplit], top: int) -> dict[str, Scores]:
    scorers = {
        "popularity": lambda h: recommend_popular(catalog, h, cowatch, top),
        "content_only": lambda h: recommend_reference(catalog, h, top),
        "ours": lambda h: recommend_ours(catalog, h, cowatch, top),
    }
    results = {}
    for name, scorer in scorers.items():
        lists = []
        for split in splits:
            history = build_history(catalog, split.history, split.cutoff)
            picks: list[Pick] = scorer(history)
            lists.append([catalog.ids[p.item] for p in picks[:top]])
        results[name] = _score(lists, [s.future for s in splits], len(catalog))
    return results


def cold_start(
    catalog: Catalog, cowatch: CoWatch, splits: Sequence[ShowSplit], top: int
) -> dict[str, Scores]:
    """Every show hidden, only the viewer's MovieLens ratings known (viewer `userN` = MovieLens N)."""
    from bench.quality import movielens_catalog

    data = load_movielens()
    movies = movielens_catalog(data)
    ratings = data.ratings.groupby("user_id")
    empty = History(*(np.zeros(0, dtype=t) for t in (np.int64, float, bool, float, float, np.int64)))
    lists: dict[str, list[list[str]]] = {"popularity": [], "ours_from_movies": []}
    futures = []
    for split in splits:
        user = split.user_id.removeprefix("user")
        if user not in ratings.groups:
            continue
        frame = ratings.get_group(user)
        plays = Plays.of([Play(movie_id=m, favourite=r >= 4.0, user_rating=2 * r, last_played=float(t))
                          for m, r, t in zip(frame["movie_id"], frame["rating"], frame["timestamp"], strict=True)])  # fmt: skip
        taste = borrowed_taste(catalog, movies, plays, float(frame["timestamp"].max()))
        if taste is None:
            continue
        combined, history = taste
        futures.append(frozenset(p.movie_id for p in split.history) | split.future)
        lists["ours_from_movies"].append(
            [combined.ids[p.item] for p in recommend_ours(combined, history, None, top)]
        )
        lists["popularity"].append(
            [catalog.ids[p.item] for p in recommend_popular(catalog, empty, cowatch, top)]
        )
    return {name: _score(found, futures, len(catalog)) for name, found in lists.items()}


def format_table(title: str, results: dict[str, Scores]) -> str:
    lines = [
        title,
        f"{'scorer':<18}{f'Recall@{RECALL_AT}':>11}{f'NDCG@{NDCG_AT}':>10}{'coverage':>10}{'users':>7}",
    ]
    for name, s in results.items():
        lines.append(f"{name:<18}{s.recall:>11.4f}{s.ndcg:>10.4f}{s.coverage:>10.3f}{s.users:>7}")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> dict[str, object]:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--users", type=int, default=None, help="evaluate a random sample of N viewers")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--top", type=int, default=TOP)
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args(argv)

    catalogue, history = movielens_history(dt.date(2026, 1, 1))
    catalog = tv_catalog(catalogue)
    splits = split_viewers(catalogue, history)
    cowatch = cowatch_of(catalog, splits)
    evaluated = sample_users(splits, args.users, args.seed)  # type: ignore[arg-type]
    with single_threaded_blas():
        results = evaluate(catalog, cowatch, evaluated, args.top)
        cold = cold_start(catalog, cowatch, evaluated, args.top)
    print(format_table(f"Series, {len(evaluated)} viewers, {len(catalog)} shows, top {args.top}", results))
    print()
    print(format_table("Cold start (no series history; movie ratings only)", cold))
    report: dict[str, object] = {
        "dataset": "generated TV data set (sidecar/simulator/tv_seed.py) over the MovieLens users",
        "embeddings": "all-MiniLM-L6-v2 over sidecar.series.text.series_text",
        "viewers": len(evaluated),
        "shows": len(catalog),
        "top": args.top,
        "results": {k: asdict(v) for k, v in results.items()},
        "cold_start": {k: asdict(v) for k, v in cold.items()},
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    return report


if __name__ == "__main__":
    main()
