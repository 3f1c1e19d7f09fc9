"""Cut the parts of the servers' OpenAPI specs the sidecar uses into tests/contracts/.

Run from the project root when the specs or the clients change:
    python scripts/trim_openapi.py /path/to/openapi-dir
The source directory holds jellyfin-openapi.json (Jellyfin 10.11.0) and emby-openapi.json (Emby 4.8.11.0).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

OUT = Path(__file__).resolve().parent.parent / "tests" / "contracts"

USED = {
    "jellyfin": {
        "/System/Info/Public": ["get"],
        "/Users": ["get"],
        "/Users/{userId}": ["get"],
        "/Users/{userId}/Policy": ["post"],
        "/Library/VirtualFolders": ["get", "post"],
        "/Library/VirtualFolders/Paths": ["post"],
        "/Items": ["get"],
        "/Items/{itemId}": ["get"],
        "/Shows/{seriesId}/Episodes": ["get"],
        "/Items/{itemId}/Refresh": ["post"],
        "/Library/Refresh": ["post"],
        "/UserPlayedItems/{itemId}": ["post"],
        "/UserFavoriteItems/{itemId}": ["post"],
    },
    "emby": {
        "/System/Info/Public": ["get"],
        "/Users/Query": ["get"],
        "/Users/{Id}": ["get"],
        "/Users/{Id}/Policy": ["post"],
        "/Library/VirtualFolders/Query": ["get"],
        "/Library/VirtualFolders": ["post"],
        "/Library/VirtualFolders/Paths": ["post"],
        "/Items": ["get"],
        "/Users/{UserId}/Items": ["get"],
        "/Users/{UserId}/Items/{Id}": ["get"],
        "/Shows/{Id}/Episodes": ["get"],
        "/Items/{Id}/Refresh": ["post"],
        "/Library/Refresh": ["post"],
        "/Users/{UserId}/PlayedItems/{Id}": ["post"],
        "/Users/{UserId}/FavoriteItems/{Id}": ["post"],
    },
}
SOURCES = {
    "jellyfin": "Jellyfin 10.11.0 OpenAPI (jellyfin-openapi-stable.json as kept in jellyfin-sdk-swift)",
    "emby": "Emby Server 4.8.11.0 OpenAPI (MediaBrowser/Emby.SDK Resources/OpenApi/openapi_v3.json)",
}


def _json_content(content: dict[str, Any] | None) -> dict[str, Any] | None:
    if not content:
        return None
    schema = (content.get("application/json") or {}).get("schema")
    return {"application/json": {"schema": schema}} if schema else None


def _refs(node: Any, found: set[str]) -> None:
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.startswith("#/components/schemas/"):
            found.add(ref.rsplit("/", 1)[1])
        for value in node.values():
            _refs(value, found)
    elif isinstance(node, list):
        for value in node:
            _refs(value, found)


def trim(kind: str, spec: dict[str, Any]) -> dict[str, Any]:
    paths: dict[str, Any] = {}
    for path, methods in USED[kind].items():
        paths[path] = {}
        for method in methods:
            op = spec["paths"][path][method]
            trimmed: dict[str, Any] = {
                "parameters": [
                    {k: p[k] for k in ("name", "in", "required", "schema") if k in p}
                    for p in op.get("parameters", [])
                ],
                "responses": {},
            }
            body = _json_content((op.get("requestBody") or {}).get("content"))
            if body:
                trimmed["requestBody"] = {"content": body}
            for status, response in op.get("responses", {}).items():
                if status.startswith("2"):
                    trimmed["responses"][status] = {"content": _json_content(response.get("content"))}
            paths[path][method] = trimmed
    schemas = spec["components"]["schemas"]
    needed: set[str] = set()
    _refs(paths, needed)
    pending = list(needed)
    while pending:
        name = pending.pop()
        found: set[str] = set()
        _refs(schemas[name], found)
        for extra in found - needed:
            needed.add(extra)
            pending.append(extra)
    return {
        "x-source": SOURCES[kind] + "; trimmed by scripts/trim_openapi.py to the paths the sidecar uses",
        "servers": spec.get("servers", []),
        "paths": paths,
        "components": {"schemas": {name: schemas[name] for name in sorted(needed)}},
    }


def main() -> None:
    source = Path(sys.argv[1] if len(sys.argv) > 1 else "/work/shared/openapi")
    OUT.mkdir(parents=True, exist_ok=True)
    for kind in USED:
        spec = json.loads((source / f"{kind}-openapi.json").read_text(encoding="utf-8"))
        out = OUT / f"{kind}-openapi.trimmed.json"
        out.write_text(json.dumps(trim(kind, spec), indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
        print(f"wrote {out} ({out.stat().st_size // 1024} kB)")


if __name__ == "__main__":
    main()
