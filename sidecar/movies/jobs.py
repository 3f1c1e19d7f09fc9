"""The six movie jobs, with the product's names, in pipeline order."""

from __future__ import annotations

from sidecar.jobs.registry import JobDefinition, JobRegistry
from sidecar.movies.embed import generate_movie_embeddings
from sidecar.movies.libraries import sync_movie_libraries
from sidecar.movies.recommend import full_reset_movie_recommendations, generate_movie_recommendations
from sidecar.movies.sync import sync_movies
from sidecar.movies.watch_history import sync_movie_watch_history

CATEGORY = "movies"

MOVIE_JOBS = (
    JobDefinition(
        name="sync-movies",
        title="Sync movies",
        category=CATEGORY,
        description="Import movies and their metadata from the media server's movie libraries; "
        "mark movies that disappeared as removed.",
        func=sync_movies,
        default_schedule="0 3 * * *",
        order=10,
    ),
    JobDefinition(
        name="generate-movie-embeddings",
        title="Generate movie embeddings",
        category=CATEGORY,
        description="Turn each new or changed movie's metadata into a vector for similarity search.",
        func=generate_movie_embeddings,
        prerequisites=("sync-movies",),
        default_schedule="30 3 * * *",
        order=20,
    ),
    JobDefinition(
        name="sync-movie-watch-history",
        title="Sync movie watch history",
        category=CATEGORY,
        description="Import what each enabled user has watched: plays, play counts, favourites, ratings.",
        func=sync_movie_watch_history,
        variants=("regular", "full"),
        prerequisites=("sync-movies",),
        default_schedule="0 */2 * * *",
        order=30,
    ),
    JobDefinition(
        name="generate-movie-recommendations",
        title="Generate movie recommendations",
        category=CATEGORY,
        description="Score every unwatched movie for each enabled user and keep the top picks.",
        func=generate_movie_recommendations,
        prerequisites=("generate-movie-embeddings", "sync-movie-watch-history"),
        default_schedule="0 4 * * 0",
        order=40,
    ),
    JobDefinition(
        name="full-reset-movie-recommendations",
        title="Full reset of movie recommendations",
        category=CATEGORY,
        description="Delete every user's movie recommendations, then rebuild them from scratch. Manual only.",
        func=full_reset_movie_recommendations,
        manual_only=True,
        prerequisites=("generate-movie-embeddings", "sync-movie-watch-history"),
        order=50,
    ),
    JobDefinition(
        name="sync-movie-libraries",
        title="Sync movie libraries",
        category=CATEGORY,
        description="Write each user's AI Picks folder (symlinks or STRM, with NFO) and register it "
        "in the media server, visible to that user only.",
        func=sync_movie_libraries,
        prerequisites=("generate-movie-recommendations",),
        default_schedule="30 4 * * 0",
        order=60,
    ),
)

# The pipeline of POST /api/pipelines/movies: the five regular jobs in the seed's order.
MOVIE_PIPELINE = (
    "sync-movies",
    "generate-movie-embeddings",
    "sync-movie-watch-history",
    "generate-movie-recommendations",
    "sync-movie-libraries",
)


def register_movie_jobs(registry: JobRegistry) -> None:
    for definition in MOVIE_JOBS:
        registry.register(definition)
