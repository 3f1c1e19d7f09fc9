"""Start-up configuration: one readable line per bad variable, exit code 2, secrets never echoed."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from sidecar.logs import redact, redact_text
from sidecar.settings import Settings


def _start(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "sidecar.cli", "jobs"],
        env={"PATH": "/usr/bin:/bin", "HOME": "/tmp", **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_bad_value_stops_start_up_naming_the_variable() -> None:
    done = _start({"SIDECAR_PORT": "eighty", "SIDECAR_API_KEY": "hunter2-secret"})
    assert done.returncode == 2
    assert "SIDECAR_PORT" in done.stderr
    assert "hunter2-secret" not in done.stderr + done.stdout
    assert "Traceback" not in done.stderr


def test_unknown_timezone_is_refused() -> None:
    done = _start({"SIDECAR_TIMEZONE": "Mars/Olympus"})
    assert done.returncode == 2
    assert "SIDECAR_TIMEZONE" in done.stderr and "Mars/Olympus" in done.stderr


def test_redaction_of_keys_and_tokens_in_text_and_structures() -> None:
    text = 'GET /Items?api_key=abc123 Authorization: MediaBrowser Token="tok456" Bearer xyz789'
    clean = redact_text(text)
    assert "abc123" not in clean and "tok456" not in clean and "xyz789" not in clean
    assert "/Items" in clean
    data = redact({"api_key": "k", "nested": {"password": "p", "name": "alice"}, "list": ["token=t0k"]})
    assert data["api_key"] != "k" and data["nested"]["password"] != "p" and data["nested"]["name"] == "alice"
    assert "t0k" not in data["list"][0]


def test_empty_values_from_a_copied_env_example_mean_unset(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("SIDECAR_API_KEY", "SIDECAR_WEBHOOK_TOKEN", "SIDECAR_MEDIA_SERVER_API_KEY"):
        monkeypatch.delenv(name, raising=False)
    example = Path(__file__).resolve().parent.parent / ".env.example"
    settings = Settings(_env_file=example)  # type: ignore[call-arg]
    assert settings.api_key is None and settings.webhook_token is None
    assert settings.media_server_api_key is None
    assert settings.media_server_url == "http://jellyfin:8096"
