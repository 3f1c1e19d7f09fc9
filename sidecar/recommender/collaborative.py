"""What the server's plays say beyond one user: co-watching counts and an EASE model, fitted once a run.

The job (and the quality harness) builds one `ServerPlays` per run from every user's plays and hands
it to each user's scoring; in a long-lived worker the EASE fit is reused while the plays are the same.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from sidecar.recommender.cowatch import CoWatch
from sidecar.recommender.data import History
from sidecar.recommender.ease import Ease, choose_lambda, fit_ease, fit_ease_cached
from sidecar.recommender.weights import rating_factor


@dataclass(frozen=True)
class ServerPlays:
    cowatch: CoWatch
    ease: Ease | None

    @property
    def active_users(self) -> int:
        return self.cowatch.active_users


def server_plays(
    cowatch: CoWatch, lambda_scale: float, cache: dict[str, Any] | None = None, key: str = "default"
) -> ServerPlays:
    """EASE with λ from the data's size and density; reused from `cache[key]` (one key per media
    kind, the worker's resources) while the plays are the same."""
    lam = choose_lambda(cowatch.matrix, lambda_scale)
    if cache is None:
        return ServerPlays(cowatch, fit_ease(cowatch.matrix, lam))
    return ServerPlays(cowatch, fit_ease_cached(cache, key, cowatch.matrix, lam))


def query_weights(history: History, half_rank: float, floor: float) -> np.ndarray:
    """How much each played item asks of the collaborative model: recent plays first.

    By position in the history (most recent = 0), not by days: a binge and a slow month count the
    same, and what someone watched last says most about what they watch next. Ratings count as in
    the reference weights.
    """
    position = np.arange(len(history), dtype=np.float64)
    recency = np.maximum(np.power(0.5, position / half_rank), floor)
    return recency * rating_factor(history.user_rating)
