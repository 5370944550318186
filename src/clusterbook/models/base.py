"""The base of every wire model: pydantic v2 plus the SDK-style helpers the seed contract shows."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Annotated, Any, ClassVar, Self

from pydantic import AfterValidator, BaseModel, ConfigDict, model_validator

from clusterbook.models.storable import unstorable_reason


def _zone_aware(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value


UTCDatetime = Annotated[datetime, AfterValidator(_zone_aware)]
"""A timestamp that always carries a zone: one without is taken to be UTC, an explicit offset is
kept (so documents round-trip exactly). The server itself only ever sends UTC."""


class WireModel(BaseModel):
    """A JSON wire model with ``from_json``/``to_json``/``from_dict``/``to_dict``.

    ``to_dict`` omits optional fields that were never set, so ``from_dict(d).to_dict() == d`` for any
    document the server produced; a field explicitly set to ``None`` stays in as ``null``.
    """

    model_config = ConfigDict(populate_by_name=True, use_enum_values=True)

    @classmethod
    def from_dict(cls, obj: dict[str, Any] | None) -> Self | None:
        """Build an instance from a plain dict (``None`` in, ``None`` out, like the generated SDKs)."""
        if obj is None:
            return None
        return cls.model_validate(obj)

    @classmethod
    def from_json(cls, json_str: str) -> Self | None:
        """Build an instance from a JSON document."""
        return cls.from_dict(json.loads(json_str))

    def to_dict(self) -> dict[str, Any]:
        """The JSON-ready dict, without optional fields that were never set."""
        return self.model_dump(mode="json", by_alias=True, exclude_unset=True)

    def to_json(self) -> str:
        """The JSON text of :meth:`to_dict`."""
        return json.dumps(self.to_dict())

    def to_str(self) -> str:
        """A readable, indented JSON rendering for logs and terminals."""
        return json.dumps(self.to_dict(), indent=2)


class StorableBody(WireModel):
    """A request body that refuses, anywhere inside it, what a database cannot keep (``storable.py``):
    NUL, lone surrogates, NaN/Infinity. It runs before the fields are validated, so filter trees,
    free-form parameters and search strings are covered too, and the message names the place."""

    _checked_elsewhere: ClassVar[tuple[str, ...]] = ()
    """Top-level keys whose own validation refuses the same (with a more specific error code)."""

    @model_validator(mode="before")
    @classmethod
    def _storable(cls, data: Any) -> Any:
        if isinstance(data, dict):
            skip = cls._checked_elsewhere
            reason = unstorable_reason({k: v for k, v in data.items() if k not in skip} if skip else data)
            if reason:
                raise ValueError(reason)
        return data
