"""Column types that behave the same on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, DateTime, String
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator


class UTCDateTime(TypeDecorator[datetime]):
    """Timestamps stored in UTC, always returned timezone-aware.

    SQLite keeps them as fixed-width ISO text (so text order is time order); PostgreSQL as
    ``timestamptz``. Naive datetimes coming in are taken to be UTC.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        value = value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if isinstance(value, str):
            value = datetime.fromisoformat(value)
        assert isinstance(value, datetime)
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


JSONType = JSON().with_variant(JSONB(), "postgresql")
"""JSON everywhere, JSONB on PostgreSQL."""


IdentifierType = String(40).with_variant(String(40, collation="C"), "postgresql")
"""Public ids (``run_…``, ``clust_…``) compare bytewise on both databases, so the ``run_id``
tie-break orders rows the same on SQLite and on a PostgreSQL of any locale."""


DocumentIdType = String(256).with_variant(String(256, collation="C"), "postgresql")
"""Caller-chosen document ids: longer than our own ids, compared bytewise like them."""
