"""What can go wrong with a delivery, as exceptions the routes turn into `{"error": ...}` answers."""

from __future__ import annotations

from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

M = TypeVar("M", bound=BaseModel)


class PayloadError(Exception):
    """The body is not what this server sends (400). `field` names the part that was wrong."""

    def __init__(self, field: str | None, problem: str) -> None:
        self.field = field
        self.problem = problem
        super().__init__(f"field '{field}': {problem}" if field else problem)


class PayloadTooLarge(Exception):
    """The body is over the limit (413); it was not read past the limit and nothing was stored."""


def payload_error_from_validation(exc: ValidationError) -> PayloadError:
    """The first pydantic error, named by the path of the field as it appears in the payload."""
    first = exc.errors(include_url=False)[0]
    field = ".".join(str(part) for part in first["loc"]) or None
    return PayloadError(field, first["msg"])


def validated(model: type[M], document: dict[str, Any]) -> M:
    """The body as `model`, or the PayloadError naming its first wrong field (both servers' parsers)."""
    try:
        return model.model_validate(document)
    except ValidationError as exc:
        raise payload_error_from_validation(exc) from None
