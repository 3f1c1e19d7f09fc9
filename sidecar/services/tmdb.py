"""TMDb v3 (https://developer.themoviedb.org/reference): details, /find, recommendations, similar.

Auth is the API Read Access Token in `Authorization: Bearer`, so the secret never travels in a URL
(TMDb also takes `?api_key=`; we do not use it). One item is one request: `append_to_response`
brings keywords, credits and the certification with the details. Answers are TMDb's own JSON
documents; `sidecar/enrichment/` reads the fields it keeps (field names in
../shared/spec/global-jobs.md §3.1).
"""

from __future__ import annotations

from typing import Any, ClassVar, Literal

from sidecar.services.http import ServiceClient
from sidecar.settings import Settings

TmdbKind = Literal["movie", "tv"]
ExternalSource = Literal["imdb_id", "tvdb_id"]

# What one details request brings along, per kind. TV has no IMDb id in its base object, hence
# external_ids; movies have `imdb_id` in the base object.
APPEND: dict[TmdbKind, str] = {
    "movie": "keywords,credits,release_dates",
    "tv": "keywords,credits,content_ratings,external_ids",
}
# /find answers both kinds in one document; the list for each kind.
FIND_RESULTS: dict[TmdbKind, str] = {"movie": "movie_results", "tv": "tv_results"}
MAX_PAGE = 500  # TMDb refuses pages past 500 (status_code 22)


class TmdbClient(ServiceClient):
    service: ClassVar[str] = "TMDb"
    key_setting: ClassVar[str] = "SIDECAR_TMDB_API_KEY"
    url_setting: ClassVar[str] = "SIDECAR_TMDB_URL"
    default_url: ClassVar[str] = "https://api.themoviedb.org/3"
    requests_per_second: ClassVar[float] = 50.0

    @classmethod
    def from_settings(cls, settings: Settings, **overrides: Any) -> TmdbClient:
        overrides.setdefault("requests_per_second", settings.tmdb_requests_per_second)
        client = super().from_settings(settings, **overrides)
        assert isinstance(client, TmdbClient)
        return client

    def auth(self) -> tuple[dict[str, str], dict[str, str]]:
        return {"Authorization": f"Bearer {self._secret}"}, {}

    def error_text(self, document: Any) -> str:
        # {"success": false, "status_code": 34, "status_message": "The resource you requested ..."}
        if isinstance(document, dict) and isinstance(document.get("status_message"), str):
            return document["status_message"]
        return ""

    async def details(self, kind: TmdbKind, tmdb_id: int | str) -> dict[str, Any]:
        """`/movie/{id}` or `/tv/{id}` with keywords, credits and the certification appended."""
        document = await self.get_json(f"/{kind}/{int(tmdb_id)}", {"append_to_response": APPEND[kind]})
        return document if isinstance(document, dict) else {}

    async def find(self, external_id: str, source: ExternalSource) -> dict[str, Any]:
        """`/find/{id}?external_source=`: `{movie_results: [...], tv_results: [...], ...}`."""
        document = await self.get_json(f"/find/{external_id}", {"external_source": source})
        return document if isinstance(document, dict) else {}

    async def find_id(self, kind: TmdbKind, external_id: str, source: ExternalSource) -> int | None:
        """The TMDb id of the first `kind` result of /find, or None when TMDb knows no such title."""
        results = (await self.find(external_id, source)).get(FIND_RESULTS[kind]) or []
        first = results[0] if results and isinstance(results[0], dict) else {}
        return first.get("id") if isinstance(first.get("id"), int) else None

    async def recommendations(self, kind: TmdbKind, tmdb_id: int | str, page: int = 1) -> dict[str, Any]:
        """One page: `{page, results: [...], total_pages, total_results}` (20 a page)."""
        return await self._page(f"/{kind}/{int(tmdb_id)}/recommendations", page)

    async def similar(self, kind: TmdbKind, tmdb_id: int | str, page: int = 1) -> dict[str, Any]:
        return await self._page(f"/{kind}/{int(tmdb_id)}/similar", page)

    async def _page(self, path: str, page: int) -> dict[str, Any]:
        document = await self.get_json(path, {"page": max(1, min(MAX_PAGE, page))})
        return document if isinstance(document, dict) else {}
