"""PostgreSQL: a collection's vectors by ``COPY (SELECT vector …) TO STDOUT (FORMAT BINARY)``, each
row's bytes copied once, straight into the run's float32 array.

Why: through a cursor, psycopg builds a tuple and a ``bytes`` per document, which the loader then
joins and copies per batch; COPY hands over each row as one raw message (a 6-byte field header, then
the vector's little-endian float32 bytes), copied into place here. Measured at 100k × 384 on the
2-core machine (loaded, interleaved, medians of 6): client + backend CPU 1.21 s against 1.34 s for
the binary cursor, the backend's share 0.62 s against 0.71 s.

The ids and texts come from a plain query in the same order (document id, bytewise), and both
statements must see the same rows: the caller holds one snapshot (REPEATABLE READ,
``db.make_sessionmaker(engine, snapshot=True)``); :func:`holds_one_snapshot` says whether it does.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, cast

import numpy as np
from sqlalchemy import text
from sqlalchemy.orm import Session

from clusterbook.errors import ClusteringFailed

SIGNATURE = b"PGCOPY\n\xff\r\n\x00"
HEADER_BYTES = len(SIGNATURE) + 8  # flags (int32) and the header extension's length (int32), both 0
TRAILER = b"\xff\xff"  # field count -1: the end of the data
CHANGED = "the collection's documents changed while the run loaded them; execute the cluster again"


def holds_one_snapshot(session: Session) -> bool:
    """True when every statement of the session's transaction sees the same snapshot."""
    level = session.connection().exec_driver_sql("SHOW transaction_isolation").scalar_one()
    return str(level) in ("repeatable read", "serializable")


def copy_collection_vectors(session: Session, collection_id: str, out: np.ndarray) -> None:
    """Fill ``out`` (one row per document, C-contiguous float32) with the vectors of every document of
    the collection, in document-id order. ClusteringFailed when the rows do not match ``out`` (which,
    within one snapshot that counted them, only a bug could cause)."""
    size = out.shape[1] * out.itemsize
    field = struct.pack("!hi", 1, size)  # one field of ``size`` bytes; a NULL vector would have length -1
    row_bytes = len(field) + size
    flat = memoryview(cast(Any, out)).cast("B")  # the array's own bytes, written in place
    rows = 0
    statement = (
        "COPY (SELECT vector FROM documents WHERE collection_id = %s ORDER BY document_id) TO STDOUT (FORMAT BINARY)"
    )
    driver: Any = session.connection().connection.driver_connection  # psycopg 3, in the session's transaction
    with driver.cursor() as cursor, cursor.copy(statement, (collection_id,)) as copy:
        for message in copy:
            data = memoryview(message)
            if rows == 0 and data[: len(SIGNATURE)] == SIGNATURE:
                data = data[HEADER_BYTES:]  # the header shares the first row's message
                if not data:
                    continue
            if data == TRAILER:
                continue
            if len(data) != row_bytes or data[: len(field)] != field or rows >= len(out):
                raise ClusteringFailed(CHANGED)
            flat[rows * size : (rows + 1) * size] = data[len(field) :]
            rows += 1
    if rows != len(out):
        raise ClusteringFailed(CHANGED)


@contextmanager
def index_order(session: Session, whole_collections: bool) -> Iterator[None]:
    """PostgreSQL, reading whole collections: walk the ``(collection_id, document_id)`` index instead of
    sorting. Why: right after an upload, before autovacuum has analysed the table, the planner guesses
    a thousand rows and sorts 100k vectors on disk (150 MB external merge: 2.4 s against 0.6 s for the
    index scan, measured); the ordered index scan is the right plan for a whole collection at any size.
    The setting is this transaction's (``set_config(…, true)``) and put back afterwards."""
    if not whole_collections or session.get_bind().dialect.name == "sqlite":
        yield
        return
    connection = session.connection()
    previous = connection.execute(text("SELECT current_setting('enable_sort')")).scalar_one()
    connection.execute(text("SELECT set_config('enable_sort', 'off', true)"))
    try:
        yield
    finally:
        connection.execute(text("SELECT set_config('enable_sort', :previous, true)"), {"previous": previous})
