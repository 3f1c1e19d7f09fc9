"""The recommender: pure numpy functions, no database, shared by the job and the quality harness.

- `data`: the catalogue, one user's history, a pick (what every algorithm takes and returns).
- `reference`: the product's v0.7.8 algorithm, kept as a named baseline.
- `popularity`: most-watched-unwatched baseline.
- `ours`: the default (taste centroids + co-watch + popularity prior + rating, MMR selection).
"""
