"""The franchise signal: a title in the same collection (TMDb's `belongs_to_collection`, stored by
enrich-metadata) as a title the user watched gets a fixed boost, part of its stored breakdown.

Its weight (`OursParams.franchise`) is set by hand, not tuned: MovieLens, the quality benchmark's
data, has no collections.
"""

from __future__ import annotations

import numpy as np

from sidecar.recommender.data import Catalog, History


def franchise_signal(catalog: Catalog, history: History) -> np.ndarray:
    """1.0 for every title of a collection of which the user watched (or favourited) a title, else 0."""
    if catalog.collections is None or len(history) == 0:
        return np.zeros(len(catalog))
    watched = catalog.collections[history.items]
    watched = np.unique(watched[watched > 0])
    return np.isin(catalog.collections, watched).astype(np.float64)


def same_collection(catalog: Catalog, played: np.ndarray, picked: np.ndarray) -> np.ndarray:
    """(played, picked) True where both are in one collection: a franchise pick's evidence."""
    if catalog.collections is None:
        return np.zeros((len(played), len(picked)), dtype=bool)
    ours, theirs = catalog.collections[played], catalog.collections[picked]
    return (ours[:, None] == theirs[None, :]) & (ours[:, None] > 0)
