"""Folded copies of case-insensitively matched text, the search text refolded, trigram indexes.

Adds a ``<column>_folded`` copy (``clusterbook.folding``) of each text column matched ignoring
case, back-fills existing rows in batches, and recomputes the execution search text with the
same fold (on SQLite the FTS5 update trigger re-indexes each changed row). On PostgreSQL the
folded ``run_name`` and ``error_message`` get pg_trgm GIN indexes, so ``contains``,
``starts_with`` and ``ends_with`` there are index-assisted.

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import context, op

from clusterbook.folding import fold_json, fold_optional
from clusterbook.store.executions import build_search_text
from clusterbook.store.types import JSONType

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

BATCH = 5000
"""Rows per round trip; a test sets ``fold_batch_size`` in the Alembic config to cross batches."""
FOLDED: dict[str, tuple[str, ...]] = {
    "executions": ("run_id", "run_name", "algorithm", "error_message"),
    "clusters": ("cluster_id", "cluster_name", "description"),
    "collections": ("collection_id", "collection_name", "description"),
    "documents": ("document_id", "text", "metadata"),
}
JSON_SOURCES = {("documents", "metadata")}
TRIGRAM_INDEXED = ("run_name", "error_message")


def _folded_type(table: str, source: str) -> Any:
    return JSONType if (table, source) in JSON_SOURCES else sa.Text()


def upgrade() -> None:
    for table, sources in FOLDED.items():
        for source in sources:
            op.add_column(table, sa.Column(f"{source}_folded", _folded_type(table, source)))
    for table, sources in FOLDED.items():
        _backfill(table, sources)
    if op.get_bind().dialect.name == "postgresql":
        for source in TRIGRAM_INDEXED:
            op.execute(
                f"CREATE INDEX ix_executions_{source}_folded_trgm ON executions USING gin ({source}_folded gin_trgm_ops)"
            )


def _backfill(table: str, sources: tuple[str, ...]) -> None:
    """Fold every row, ``BATCH`` rows per round trip, walking the primary key."""
    extra = ("centroids",) if table == "executions" else ()
    readable = sa.table(
        table,
        sa.column("id", sa.Integer()),
        *(sa.column(s, JSONType if (table, s) in JSON_SOURCES else sa.Text()) for s in sources),
        *(sa.column(c, JSONType) for c in extra),
    )
    writable = sa.table(
        table,
        sa.column("id", sa.Integer()),
        *(sa.column(f"{s}_folded", _folded_type(table, s)) for s in sources),
        *((sa.column("search_text", sa.Text()),) if table == "executions" else ()),
    )
    statement = (
        sa.update(writable)
        .where(writable.c.id == sa.bindparam("row_id"))
        .values({f"{s}_folded": sa.bindparam(f"new_{s}") for s in sources})
    )
    if table == "executions":
        statement = statement.values(search_text=sa.bindparam("new_search_text"))
    conn = op.get_bind()
    batch = int(context.config.attributes.get("fold_batch_size", BATCH))
    last = 0
    while True:
        rows = conn.execute(sa.select(readable).where(readable.c.id > last).order_by(readable.c.id).limit(batch)).all()
        if not rows:
            return
        params = []
        for row in rows:
            m = row._mapping
            values: dict[str, Any] = {"row_id": m["id"]}
            for source in sources:
                fold = fold_json if (table, source) in JSON_SOURCES else fold_optional
                values[f"new_{source}"] = fold(m[source])
            if table == "executions":
                values["new_search_text"] = build_search_text(m["run_id"], m["error_message"], m["centroids"])
            params.append(values)
        conn.execute(statement, params)
        last = rows[-1].id


def downgrade() -> None:
    """Drops the folded columns and indexes. The search text keeps the new fold: for ASCII text it is
    the lowercasing the old rule made, elsewhere case folding (``ß`` as ``ss``, ``ς`` as ``σ``)."""
    if op.get_bind().dialect.name == "postgresql":
        for source in TRIGRAM_INDEXED:
            op.execute(f"DROP INDEX IF EXISTS ix_executions_{source}_folded_trgm")
    for table, sources in FOLDED.items():
        for source in sources:
            op.drop_column(table, f"{source}_folded")
