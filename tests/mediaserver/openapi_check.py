"""Checking requests and JSON against the trimmed OpenAPI 3.0 specs in tests/contracts/."""

from __future__ import annotations

import copy
import functools
import json
from pathlib import Path
from typing import Any

import jsonschema

CONTRACTS = Path(__file__).resolve().parent.parent / "contracts"


@functools.cache
def load_spec(kind: str) -> dict[str, Any]:
    return json.loads((CONTRACTS / f"{kind}-openapi.trimmed.json").read_text(encoding="utf-8"))


def _to_json_schema(node: Any, *, strict: bool) -> Any:
    """OpenAPI 3.0 -> JSON Schema: `nullable` becomes an explicit null alternative; with `strict`,
    objects that list their properties reject unknown ones (Emby's spec leaves that open)."""
    if isinstance(node, list):
        return [_to_json_schema(v, strict=strict) for v in node]
    if not isinstance(node, dict):
        return node
    out = {k: _to_json_schema(v, strict=strict) for k, v in node.items() if k not in ("nullable", "format")}
    if strict and "properties" in out and "additionalProperties" not in out:
        out["additionalProperties"] = False
    if node.get("nullable"):
        return {"anyOf": [out, {"type": "null"}]}
    return out


@functools.cache
def _root(kind: str) -> dict[str, Any]:
    schemas = copy.deepcopy(load_spec(kind)["components"]["schemas"])
    return {"components": {"schemas": _to_json_schema(schemas, strict=True)}}


def validate(kind: str, schema: dict[str, Any], instance: Any) -> None:
    """Raise jsonschema.ValidationError unless `instance` matches the (OpenAPI) `schema`."""
    full = {**_root(kind), **_to_json_schema(schema, strict=True)}
    jsonschema.Draft202012Validator(full).validate(instance)


def operation(kind: str, route: str, method: str) -> dict[str, Any]:
    paths = load_spec(kind)["paths"]
    assert route in paths, f"{kind}: {route} is not a path of the spec"
    assert method.lower() in paths[route], f"{kind}: {method} {route} is not in the spec"
    return paths[route][method.lower()]


def _coerce(value: str, schema: dict[str, Any]) -> Any:
    kind = schema.get("type")
    if kind == "integer":
        return int(value)
    if kind == "boolean":
        assert value in ("true", "false"), f"boolean query value {value!r}"
        return value == "true"
    if kind == "array":
        return [_coerce(v, schema.get("items", {})) for v in value.split(",")]
    return value


def check_query(kind: str, route: str, method: str, query: list[tuple[str, str]]) -> None:
    """Every name is a documented query parameter (exact spelling), every value fits its schema."""
    op = operation(kind, route, method)
    params = {p["name"]: p for p in op.get("parameters", []) if p.get("in") == "query"}
    sent = [name for name, _ in query]
    for name, value in query:
        assert name in params, f"{kind}: {method} {route} has no query parameter {name!r}"
        validate(kind, params[name].get("schema", {}), _coerce(value, params[name].get("schema", {})))
    for name, param in params.items():
        if param.get("required"):
            assert name in sent, f"{kind}: {method} {route} requires {name!r}"


def request_body_schema(kind: str, route: str, method: str) -> dict[str, Any] | None:
    body = operation(kind, route, method).get("requestBody")
    return body["content"]["application/json"]["schema"] if body else None


def response_schema(kind: str, route: str, method: str) -> dict[str, Any] | None:
    for status in ("200", "204"):
        response = operation(kind, route, method)["responses"].get(status)
        if response and response.get("content"):
            return response["content"]["application/json"]["schema"]
    return None
