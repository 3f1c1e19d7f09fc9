"""How far a user got in a show, as the shared recommender's taste weights read it.

The recommender's weights (sidecar/recommender/weights.py) scale each watched item by the user's own
rating; a show's state stands in for that rating, so finished and binged shows count most and
dropped ones least, and episodes played stand in for the play count. Declared once here: the
watch-history SQL (`queries.TASTE`) and the quality harness (bench/quality_series.py) both use it.
"""

from __future__ import annotations

STATE_RATING = {"finished": 10.0, "watching": 8.0, "started": 6.0, "dropped": 1.0}


def rating_case(column: str) -> str:
    """`STATE_RATING` as a SQL CASE over `column` (code constants only, never input)."""
    whens = " ".join(f"WHEN '{state}' THEN {rating}" for state, rating in STATE_RATING.items())
    return f"CASE {column} {whens} END::float8"
