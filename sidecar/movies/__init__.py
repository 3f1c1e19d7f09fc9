"""Movies as a media kind: what is about movies, and the `MOVIES` value the composition root registers."""

from __future__ import annotations

from sidecar.media.kind import MediaKind, Step
from sidecar.movies.embed import generate_movie_embeddings
from sidecar.movies.history_queries import MOVIE_FOR_WATCH_EVENT
from sidecar.movies.libraries import sync_movie_libraries
from sidecar.movies.recommend import full_reset_movie_recommendations, generate_movie_recommendations
from sidecar.movies.recommend_queries import USER_LIST
from sidecar.movies.sync import sync_movies
from sidecar.movies.watch_history import sync_movie_watch_history

MOVIES = MediaKind(
    name="movies",
    singular="movie",
    item_types=frozenset({"Movie"}),
    collection_type="movies",
    steps={
        Step.SYNC: sync_movies,
        Step.EMBEDDINGS: generate_movie_embeddings,
        Step.WATCH_HISTORY: sync_movie_watch_history,
        Step.RECOMMENDATIONS: generate_movie_recommendations,
        Step.FULL_RESET: full_reset_movie_recommendations,
        Step.LIBRARIES: sync_movie_libraries,
    },
    schedules={
        Step.SYNC: "0 3 * * *",
        Step.EMBEDDINGS: "30 3 * * *",
        Step.WATCH_HISTORY: "0 */2 * * *",
        Step.RECOMMENDATIONS: "0 4 * * 0",
        Step.LIBRARIES: "30 4 * * 0",
    },
    original_item_query=MOVIE_FOR_WATCH_EVENT,
    picks_query=USER_LIST,
)
