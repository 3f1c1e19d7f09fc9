"""How far a user got in a show, as the shared recommender's taste weights read it.

The recommender's weights (sidecar/recommender/weights.py) scale each watched item by the user's own
rating; a show's state stands in for that rating, so finished and binged shows count most and
dropped ones least, and episodes played stand in for the play count. Declared once here: the
watch-history SQL (`queries.TASTE`) and the quality harness (bench/quality_series.py) both use it.
"""

from __future__ import annotations

from sidecar.recommender.cold_start import ColdStartParams
from sidecar.recommender.ours import BlendWeights, OursParams

STATE_RATING = {"finished": 10.0, "watching": 8.0, "started": 6.0, "dropped": 1.0}


def rating_case(column: str) -> str:
    """`STATE_RATING` as a SQL CASE over `column` (code constants only, never input)."""
    whens = " ".join(f"WHEN '{state}' THEN {rating}" for state, rating in STATE_RATING.items())
    return f"CASE {column} {whens} END::float8"


# The recommender's blend for shows, chosen on the series harness's validation split (a split carved
# from the histories of the generated TV data set, even viewer ids; `python -m bench.quality --kind
# series` re-tunes and says whether these are still its choice). The collaborative model carries
# series: content closeness adds little on that data.
SERIES_PARAMS = OursParams(
    query_half_rank=20.0,
    server=BlendWeights(co_watch=1.0, content=0.1, recency=0.0, popularity=0.0, rating=0.02),
    sparse_popularity=0.6,
)
SERIES_COLD_START = ColdStartParams(cross=1.0, content=0.0, popularity=0.05, cross_scale=10.0)
