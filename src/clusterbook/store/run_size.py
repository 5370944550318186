"""The size of a run before it is queued: documents and vector dimensions of the cluster's collections,
counted in SQL without loading a document.

Why: a run beyond its algorithm's size limit must be refused at submit, not after minutes of loading
and fitting; and the estimate endpoint shows the same figures before anything is queued. The counts
use the same collections and pre-filter as the loader (``documents.load_run_documents``), so the
documents counted are the documents a run would load; a missing collection, mixed vector
dimensions or a mix of documents with and without vectors is refused here with the loader's message.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import and_, func, select
from sqlalchemy.orm import Session

from clusterbook.errors import ClusteringFailed
from clusterbook.store.documents import _run_collections, _run_filter
from clusterbook.store.tables import documents

_d = documents.c


@dataclass(frozen=True)
class RunSize:
    """``documents`` the run would load; ``dimensions`` of their vectors, None when they have none (the
    cluster's embedder computes vectors from text)."""

    documents: int
    dimensions: int | None


def count_run_size(
    session: Session, *, namespace_id: str, collection_ids: list[str], filters: dict[str, Any] | None
) -> RunSize:
    """One COUNT per collection (the ``(collection_id, …)`` index, or a scan when a metadata filter applies).

    ClusteringFailed, with the cause and the fix, for what would make the run fail on loading."""
    targets = _run_collections(session, namespace_id, collection_ids)
    where = _run_filter(session, filters)
    total = vectored = 0
    for row in targets:
        scope = and_(_d.collection_id == row.collection_id, where)
        count, with_vector = session.execute(select(func.count(), func.count(_d.vector)).where(scope)).one()
        total += int(count)
        vectored += int(with_vector)
    if 0 < vectored < total:
        raise ClusteringFailed(
            f"{total - vectored:,} of {total:,} documents have no vector; give every document a vector, or "
            "none so the cluster's embedder computes them from text"
        )
    dimension = next((row.vector_dimension for row in targets if row.vector_dimension is not None), None)
    return RunSize(total, int(dimension) if vectored and dimension is not None else None)
