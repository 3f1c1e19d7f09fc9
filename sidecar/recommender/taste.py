"""Several taste centroids per user: weighted spherical k-means over the watched movies' vectors.

People like more than one kind of film; one mean vector lands between them and recommends neither.
"""

from __future__ import annotations

import numpy as np

from sidecar.recommender.data import unit_rows

ITERATIONS = 8


def centroid_count(n_watched: int, per_centroid: int, max_centroids: int) -> int:
    return int(min(max_centroids, max(1, n_watched // per_centroid)))


def _farthest_first(vectors: np.ndarray, weights: np.ndarray, k: int) -> list[int]:
    """Deterministic seeds: the heaviest movie, then repeatedly the heavy movie least like any seed."""
    seeds = [int(np.argmax(weights))]
    closest = vectors @ vectors[seeds[0]]
    while len(seeds) < k:
        candidate = int(np.argmax(weights * (1.0 - closest)))
        if candidate in seeds:
            break
        seeds.append(candidate)
        closest = np.maximum(closest, vectors @ vectors[candidate])
    return seeds


def taste_centroids(vectors: np.ndarray, weights: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """(centroids (k', d) unit rows, mass share per centroid); empty clusters are dropped."""
    centroids = vectors[_farthest_first(vectors, weights, k)]
    weighted = vectors * weights[:, None]
    if len(centroids) > 1:
        previous = None
        for _ in range(ITERATIONS):
            assignment = np.argmax(vectors @ centroids.T, axis=1)
            if previous is not None and np.array_equal(assignment, previous):
                break  # converged: every further round would recompute these very centroids
            membership = np.zeros((len(centroids), len(vectors)), dtype=np.float32)
            membership[assignment, np.arange(len(vectors))] = 1.0
            centroids = unit_rows(membership @ weighted)
            previous = assignment
    else:
        centroids = unit_rows(weighted.sum(axis=0, keepdims=True))
    assignment = np.argmax(vectors @ centroids.T, axis=1)
    mass = np.bincount(assignment, weights=weights, minlength=len(centroids))
    keep = mass > 0
    return centroids[keep], mass[keep] / mass.sum()
