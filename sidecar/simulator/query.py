"""Query-string values as both servers read them (ASP.NET-style binding)."""

from __future__ import annotations


def query_bool(value: str | None) -> bool | None:
    """ "true"/"false" in any case; absent or empty is "not given"."""
    if value is None or value == "":
        return None
    return value.lower() == "true"


def query_list(value: str | None) -> list[str]:
    """A comma-separated list, blanks dropped."""
    return [v.strip() for v in (value or "").split(",") if v.strip()]
