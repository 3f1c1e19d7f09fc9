"""Metadata enrichment from outside services (issue #19): the `enrich-metadata` global job.

A feature package: the composition root adds `enrichment_jobs(MEDIA_KINDS)` to the global jobs.
Core packages never import it; the embedding texts and the recommender read its table
(`item_enrichment`) through SQL.
"""

from __future__ import annotations

from collections.abc import Sequence

from sidecar.enrichment.job import enrich_metadata
from sidecar.jobs.registry import JobDefinition
from sidecar.media.kind import MediaKind
from sidecar.system.jobs import CATEGORY, with_kinds

ENRICH_METADATA = "enrich-metadata"


def enrichment_jobs(kinds: Sequence[MediaKind]) -> tuple[JobDefinition, ...]:
    return (
        JobDefinition(
            name=ENRICH_METADATA,
            title="Enrich metadata",
            category=CATEGORY,
            description="TMDb details (collection, keywords, cast and crew, certification, networks) for "
            "movies and shows, and Rotten Tomatoes, Metacritic and awards from OMDb when its key is set; "
            "they feed the embedding text and a franchise signal. Needs SIDECAR_TMDB_API_KEY.",
            func=with_kinds(enrich_metadata, kinds),
            default_schedule="0 */6 * * *",
            order=50,
        ),
    )
