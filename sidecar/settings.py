"""Settings from `SIDECAR_*` environment variables and an optional `.env` file.

One flat class, grouped by concern, so `env | grep SIDECAR_` shows a whole configuration. Secrets are
`SecretStr`: they print as `**********` everywhere, including in validation errors.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

DEFAULT_DATA_DIR = Path.home() / ".local" / "share" / "ai-picks-sidecar"


class Settings(BaseSettings):
    # An empty `SIDECAR_API_KEY=` (as left in a copied .env.example) means unset, never "the empty key".
    model_config = SettingsConfigDict(
        env_prefix="SIDECAR_",
        env_file=".env",
        env_file_encoding="utf-8",
        extra="ignore",
        env_ignore_empty=True,
    )

    # --- storage and transport -------------------------------------------------------------------
    database_url: str | None = Field(None, description="PostgreSQL with pgvector; unset = embedded server")
    redis_url: str | None = Field(
        None, description="Redis or Valkey for the job queue; unset = embedded Valkey"
    )
    data_dir: Path = Field(DEFAULT_DATA_DIR, description="embedded databases, logs and default library root")

    # --- web ---------------------------------------------------------------------------------------
    host: str = Field(
        "127.0.0.1",
        description="address to listen on; anything but loopback without an API key logs a warning",
    )
    allowed_hosts: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="Host names (besides loopback) the web app answers without an API key (DNS rebinding)",
    )
    port: int = Field(8787, ge=1, le=65535)
    api_key: SecretStr | None = Field(None, description="required as Bearer token on /api/* when set")
    webhook_token: SecretStr | None = Field(None, description="required on /webhooks/*; unset = webhooks off")
    webhook_debounce_seconds: float = Field(3.0, ge=0, le=600)
    webhook_max_wait_seconds: float = Field(
        10.0, ge=0, le=3600, description="a steady stream of events delays a run by at most this much"
    )
    webhook_events_retention_days: int = Field(
        30, ge=1, description="stored webhook deliveries kept this long"
    )
    job_history_retention_days: int = Field(
        90, ge=1, description="finished runs and their logs kept this long (each job keeps its latest run)"
    )

    # --- general -----------------------------------------------------------------------------------
    timezone: str = "UTC"
    log_format: Literal["auto", "json", "console"] = "auto"
    log_level: Literal["debug", "info", "warning", "error"] = "info"

    # --- job system --------------------------------------------------------------------------------
    cancel_grace_seconds: float = Field(30.0, gt=0, description="how long a running job may ignore cancel")
    progress_interval_seconds: float = Field(0.5, gt=0, description="minimum gap between progress writes")
    queue_name: str = "sidecar:queue"

    # --- media server ------------------------------------------------------------------------------
    media_server_url: str | None = None
    media_server_api_key: SecretStr | None = None
    media_server_kind: Literal["auto", "jellyfin", "emby"] = "auto"
    media_server_timeout_seconds: float = Field(60.0, gt=0)
    media_server_retries: int = Field(4, ge=0, le=10)
    media_server_page_size: int = Field(500, ge=10, le=5000)
    media_server_concurrency: int = Field(4, ge=1, le=32)
    movie_libraries: list[str] = Field(
        default_factory=list, description="library names or ids to sync; empty = every movie library"
    )
    series_libraries: list[str] = Field(
        default_factory=list, description="TV library names or ids to sync; empty = every TV library"
    )
    new_users_enabled: bool = Field(True, description="whether users first seen on the server get picks")
    media_server_backoff_seconds: float = Field(
        0.5, gt=0, le=60, description="first retry delay; doubles on each further attempt"
    )

    # --- embeddings --------------------------------------------------------------------------------
    embedding_provider: Literal["auto", "openai", "local"] = "auto"
    openai_base_url: str | None = None
    openai_api_key: SecretStr | None = None
    embedding_model: str | None = Field(
        None, description="default: text-embedding-3-small or all-MiniLM-L6-v2"
    )
    embedding_dimensions: int | None = Field(None, ge=1, le=16000)
    embedding_batch_size: int = Field(256, ge=1, le=2048)
    embedding_concurrency: int = Field(2, ge=1, le=16)
    embedding_max_attempts: int = Field(5, ge=1, le=20)
    embedding_retry_base_seconds: float = Field(
        1.0, gt=0, le=60, description="first backoff after a 429/5xx without Retry-After; doubles per attempt"
    )

    # --- recommendations ---------------------------------------------------------------------------
    recommendations_per_user: int = Field(50, ge=1, le=500)
    chat_model: str | None = Field(None, description="OpenAI-compatible chat model for explanations")
    series_picks_per_user: int = Field(20, ge=1, le=200, description="new series picks per user")
    series_drop_after_days: int = Field(
        60, ge=1, le=3650, description="a show with no play for this long and most episodes left is dropped"
    )
    series_watching_days: int = Field(
        30, ge=1, le=3650, description="a play this recent makes a show watching"
    )

    # --- libraries ---------------------------------------------------------------------------------
    library_root: Path | None = Field(None, description="default: <data_dir>/libraries")
    library_mode: Literal["symlink", "strm"] = "symlink"
    mark_originals_played: bool = Field(
        True,
        description="a play (or favourite) of a copy in an AI Picks library marks the original played "
        "(favourite) for that user on the server too, so it shows as watched in the main library and "
        "Next Up (Jellyfin >= 10.11 keeps watch state per item); never un-marks anything",
    )
    library_entry_names: Literal["title", "ranked"] = Field(
        "title",
        description="entry folders: `Title (Year)` (an entry keeps its server id, resume point and "
        "watched state when its rank changes; the rank is in the NFO) or the product's `NN - Title (Year)`",
    )
    library_name_template: str = "AI Picks – Movies ({user})"
    series_library_name_template: str = "AI Picks – Series ({user})"
    library_server_root: str | None = Field(
        None, description="the library root as the media server sees it (containers); default: library_root"
    )
    path_mappings: dict[str, str] = Field(
        default_factory=dict, description="media server path prefix -> sidecar path prefix"
    )
    strm_url_template: str | None = Field(
        None, description="STRM mode: http URL with {item_id} (and {api_key}); unset = the server's file path"
    )

    # --- global jobs (users, Top Picks, backups, housekeeping, notifications) ------------------------
    deleted_users_retention_days: int = Field(
        30, ge=1, description="history of users deleted on the server is kept this long, then purged"
    )
    top_picks_window_days: int = Field(30, ge=1, le=3650, description="plays counted by Top Picks")
    top_picks_count: int = Field(20, ge=1, le=200, description="entries of each Top Picks library")
    top_picks_min_viewers: int = Field(2, ge=1, description="distinct viewers a title needs to enter")
    top_picks_library_name: str = "Top Picks – {kind}"
    backup_dir: Path | None = Field(None, description="default: <data_dir>/backups")
    backup_keep: int = Field(7, ge=1, le=365, description="verified backups kept by backup-database")
    notify_urls: SecretStr | None = Field(
        None, description="Apprise URLs (comma or space separated) told about failed runs"
    )
    notify_long_run_minutes: float | None = Field(
        None, gt=0, description="also notify completed runs that took longer than this"
    )
    public_url: str | None = Field(None, description="base URL of this sidecar for links in notifications")

    # --- outside services (TMDb, OMDb, ...): each is off until its key is set ------------------------
    tmdb_api_key: SecretStr | None = Field(
        None, description="TMDb API Read Access Token (sent as a Bearer header); unset = enrichment off"
    )
    tmdb_url: str = Field("https://api.themoviedb.org/3", description="TMDb v3 base URL")
    tmdb_requests_per_second: float = Field(
        50.0, gt=0, le=1000, description="TMDb's soft limit is about 50 requests/s (per IP address)"
    )
    omdb_api_key: SecretStr | None = Field(
        None, description="OMDb key: Rotten Tomatoes, Metacritic and awards; unset = OMDb off"
    )
    omdb_url: str = Field("https://www.omdbapi.com/", description="OMDb base URL")
    omdb_daily_limit: int = Field(
        1000, ge=1, description="OMDb requests per UTC day (a free key allows 1,000)"
    )
    omdb_requests_per_second: float = Field(
        10.0, gt=0, le=1000, description="OMDb publishes no rate; 10/s spaces requests like the reference"
    )
    # --- Trakt (sync-trakt) and stored third-party tokens -------------------------------------------
    secret_key: SecretStr | None = Field(
        None,
        description="encrypts stored third-party tokens (Trakt); keep it outside the database and its "
        "backups: without it the tokens cannot be read, and linking is refused",
    )
    trakt_client_id: SecretStr | None = Field(
        None, description="Client ID of your Trakt API app (trakt.tv/oauth/applications); unset = Trakt off"
    )
    trakt_client_secret: SecretStr | None = Field(None, description="Client Secret of the same Trakt app")
    trakt_url: str = Field("https://api.trakt.tv", description="Trakt API base URL")
    service_timeout_seconds: float = Field(
        10.0, gt=0, le=300, description="one request to an outside service"
    )
    service_retries: int = Field(
        3, ge=0, le=10, description="retries of a timed-out, throttled (429) or failing (5xx) request"
    )

    # --- discovery (titles not on the server, from TMDb) and requests (Jellyseerr/Overseerr) ---------
    discovery_suggestions: int = Field(
        20, ge=1, le=200, description="suggestions kept per user and media kind by the discovery job"
    )
    discovery_seeds: int = Field(
        10, ge=1, le=50, description="seed titles per user and kind whose TMDb recommendations are asked"
    )
    discovery_cache_days: float = Field(
        7.0, gt=0, le=365, description="TMDb answers (seed lists, /find) are reused this long across runs"
    )
    seerr_url: str | None = Field(
        None, description="Jellyseerr or Overseerr base URL; with SIDECAR_SEERR_API_KEY an admin can request"
    )
    seerr_api_key: SecretStr | None = None

    @field_validator("allowed_hosts", mode="before")
    @classmethod
    def _host_list(cls, value: object) -> object:
        """`sidecar.lan, 192.168.1.5` in the environment; names compared without case or port."""
        if isinstance(value, str):
            value = [part for part in value.split(",")]
        if isinstance(value, list):
            return [str(part).strip().lower() for part in value if str(part).strip()]
        return value

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError, OSError):
            raise ValueError(
                f"unknown timezone {value!r}; use an IANA name such as 'Europe/Berlin'"
            ) from None
        return value

    @property
    def resolved_library_root(self) -> Path:
        return self.library_root or self.data_dir / "libraries"

    @property
    def resolved_backup_dir(self) -> Path:
        return self.backup_dir or self.data_dir / "backups"


def load_settings(**overrides: object) -> Settings:
    """Build settings, or exit with code 2 and one readable line per bad variable."""
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        for err in exc.errors():
            name = "SIDECAR_" + "_".join(str(p) for p in err["loc"]).upper()
            print(f"sidecar: invalid setting {name}: {err['msg']}", file=sys.stderr)
        raise SystemExit(2) from None
