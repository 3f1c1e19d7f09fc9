"""The recommender: pure numpy functions, no database, shared by the job and the quality harness.

- `data`: the catalogue, one user's history, a pick (what every algorithm takes and returns).
- `reference`: the product's v0.7.8 algorithm, kept as a named baseline.
- `popularity`: most-watched-unwatched baseline; `anchors`: EASE alone and item-kNN alone.
- `ease`: the collaborative model (closed form, bounded memory); `collaborative`: what a run fits
  once from every user's plays (cached in the worker while the plays are the same).
- `ours`: the default (EASE + taste centroids + recency + popularity prior + rating, blended by
  how much the server and the user have, then MMR selection).
"""
