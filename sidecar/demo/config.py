"""What a demo runs with: its options, and settings built in code so a user's own configuration
(SIDECAR_* variables, a `.env` file) can neither break the demo nor point it at a real install."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource

from sidecar.settings import DEFAULT_DATA_DIR, Settings
from sidecar.simulator.model import Kind

DEMO_SUBDIR = "demo"
LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})


class DemoEnvironment(BaseSettings):
    """The only variables the demo reads: where to listen and where its data directory lives."""

    model_config = Settings.model_config  # the same variables and .env rules as the service

    host: str | None = None  # unset: loopback only (the demo has no API key unless it listens wider)
    port: int = Field(8787, ge=0, le=65535)
    data_dir: Path = DEFAULT_DATA_DIR


class DemoSettings(Settings):
    """`Settings` from constructor arguments only: no environment, no `.env`."""

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (init_settings,)


@dataclass(frozen=True)
class DemoOptions:
    data_dir: Path  # the demo's own directory, e.g. <SIDECAR_DATA_DIR>/demo
    host: str = "127.0.0.1"
    port: int = 8787  # 0 = any free port (tests)
    kind: Kind = "jellyfin"
    seed: str | int = "movielens"
    user: str | None = None  # a user name; default: the user with the most picks and fewest plays
    plays: int = 3
    serve: bool = True  # keep serving until Ctrl-C once the demo is done
    webhook_debounce_seconds: float = 3.0
    chain_timeout_seconds: float = 300.0
    tty: bool | None = None  # progress display style; None = whether the output is a terminal
    with_services: bool = False  # simulated TMDb, OMDb, ... (demo/services.py); off: the demo is offline

    @property
    def library_root(self) -> Path:
        return self.data_dir / "libraries"

    @property
    def media_dir(self) -> Path:
        return self.data_dir / "media"

    @property
    def needs_api_key(self) -> bool:
        """Listening beyond this machine: the API then gets a generated key."""
        return self.host not in LOOPBACK_HOSTS


def options_from_environment(**overrides: Any) -> DemoOptions:
    env = DemoEnvironment()
    values: dict[str, Any] = {
        "data_dir": env.data_dir / DEMO_SUBDIR,
        "host": env.host or "127.0.0.1",
        "port": env.port,
    }
    values.update({k: v for k, v in overrides.items() if v is not None})
    return DemoOptions(**values)


def demo_settings(
    options: DemoOptions,
    *,
    database_url: str,
    redis_url: str,
    media_server_url: str,
    media_server_api_key: str,
    webhook_token: str,
    api_key: str | None,
    services: dict[str, Any] | None = None,
) -> Settings:
    """Everything the sidecar needs for the demo, set explicitly; local embeddings, no OpenAI key;
    `services`: the simulated outside services' settings (`--with-services`)."""
    return DemoSettings(
        database_url=database_url,
        redis_url=redis_url,
        data_dir=options.data_dir,
        host=options.host,
        port=options.port or DemoEnvironment.model_fields["port"].default,  # 0: bound by `serving`
        api_key=SecretStr(api_key) if api_key else None,
        webhook_token=SecretStr(webhook_token),
        webhook_debounce_seconds=options.webhook_debounce_seconds,
        log_level="warning",
        media_server_url=media_server_url,
        media_server_api_key=SecretStr(media_server_api_key),
        media_server_kind=options.kind,
        embedding_provider="local",
        library_root=options.library_root,
        library_mode="symlink",
        **(services or {}),
    )


def new_secret() -> str:
    return secrets.token_urlsafe(24)
