"""OMDb (https://www.omdbapi.com/): Rotten Tomatoes, Metacritic and awards by IMDb id.

OMDb puts its errors in the body (`{"Response": "False", "Error": "..."}`) and its statuses do not
tell them apart: a spent daily quota and a bad key both come as 401 (a bad key also as 200), an
unknown id as 200. So `check` classifies by the error text (../shared/spec/global-jobs.md §3.1).
The key travels in the query string, as OMDb requires: it never appears in our messages, which
name the path only.
"""

from __future__ import annotations

from typing import Any, ClassVar

from sidecar.services.http import QuotaSpent, ServiceAuthError, ServiceClient, ServiceNotFound
from sidecar.settings import Settings

QUOTA_ERRORS = frozenset({"Request limit reached!"})
KEY_ERRORS = frozenset({"Invalid API key!", "No API key provided."})
NOT_FOUND_ERRORS = frozenset(
    {"Incorrect IMDb ID.", "Movie not found!", "Series not found!", "Error getting data."}
)


class OmdbClient(ServiceClient):
    service: ClassVar[str] = "OMDb"
    key_setting: ClassVar[str] = "SIDECAR_OMDB_API_KEY"
    url_setting: ClassVar[str] = "SIDECAR_OMDB_URL"
    default_url: ClassVar[str] = "https://www.omdbapi.com"
    requests_per_second: ClassVar[float] = 10.0  # OMDb publishes no rate; spaced like the reference (100 ms)

    @classmethod
    def from_settings(cls, settings: Settings, **overrides: Any) -> OmdbClient:
        overrides.setdefault("requests_per_second", settings.omdb_requests_per_second)
        client = super().from_settings(settings, **overrides)
        assert isinstance(client, OmdbClient)
        return client

    def auth(self) -> tuple[dict[str, str], dict[str, str]]:
        return {}, {"apikey": self._secret}

    def error_text(self, document: Any) -> str:
        if isinstance(document, dict) and isinstance(document.get("Error"), str):
            return document["Error"]
        return ""

    def check(self, status: int, document: Any, what: str) -> None:
        error = self.error_text(document)
        if not error and not (isinstance(document, dict) and document.get("Response") == "False"):
            return
        if error in QUOTA_ERRORS:
            raise QuotaSpent(self.service, f"{what}: OMDb's daily request limit is reached ({error})")
        if error in KEY_ERRORS or status in (401, 403):
            raise ServiceAuthError(self.service, self.key_setting, self.redact(error))
        if error in NOT_FOUND_ERRORS:
            raise ServiceNotFound(self.service, f"{what}: {error}")
        raise ServiceNotFound(self.service, f"{what}: OMDb answered {self.redact(error)[:200]!r}")

    async def by_imdb(self, imdb_id: str) -> dict[str, Any]:
        """The title's full record: `Ratings`, `Metascore`, `Awards`, `imdbRating`, ... (strings; "N/A")."""
        document = await self.get_json("/", {"i": imdb_id})
        return document if isinstance(document, dict) else {}
