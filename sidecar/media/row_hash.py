"""The one hash of a row's values that every kind's sync compares (content and sync hashes)."""

from __future__ import annotations

import hashlib
import json
from typing import Any


def digest(value: Any) -> str:
    text = json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()
