"""SQLite's substring index for execution search: an FTS5 trigram table kept in step by triggers.

The SQL lives here once; the initial migration creates it and bulk loads reuse the insert trigger
definition to pause it while they index a whole batch with one statement (2-3× faster).
"""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.orm import Session

from clusterbook.models import listing

CREATE_FTS_TABLE = (
    "CREATE VIRTUAL TABLE executions_fts USING fts5("
    "search_text, content='executions', content_rowid='id', tokenize='trigram case_sensitive 1')"
)
"""Case-sensitive trigrams over the already folded text (``clusterbook.folding``), with positions
(detail=full): a quoted phrase query is then an exact substring match answered from the index alone. (With detail='none'
and GLOB, SQLite re-read every candidate row's text from ``executions``: seconds for a common term.)"""
MIN_INDEXED_TERM = listing.MIN_INDEXED_TERM
"""Shorter terms have no trigram; they are matched against the text directly."""


def phrase(term: str) -> str:
    """An FTS5 query matching ``term`` as an exact substring (a quoted phrase of its trigrams)."""
    return '"' + term.replace('"', '""') + '"'


def indexed_query(terms: list[str]) -> str | None:
    """One FTS5 query matching every indexed term (AND of their phrases); ``None`` when no term is
    long enough to be indexed."""
    phrases = [phrase(term) for term in terms if len(term) >= MIN_INDEXED_TERM]
    return " AND ".join(phrases) if phrases else None


def count_matches(session: Session, terms: list[str]) -> int | None:
    """How many runs of the whole history (every cluster) hold every indexed term, counted from the
    index alone in one pass; ``None`` when no term is long enough to be indexed. Exact for those
    terms, so an upper bound when shorter terms are searched too."""
    query = indexed_query(terms)
    if query is None:
        return None
    return int(
        session.execute(
            text("SELECT count(*) FROM executions_fts WHERE executions_fts MATCH :q"), {"q": query}
        ).scalar_one()
    )


def history_size(session: Session) -> int:
    """The number of executions ever written (the largest rowid): instant, and an upper bound."""
    return int(session.execute(text("SELECT coalesce(max(id), 0) FROM executions")).scalar_one())


CREATE_INSERT_TRIGGER = (
    "CREATE TRIGGER executions_fts_insert AFTER INSERT ON executions BEGIN "
    "INSERT INTO executions_fts(rowid, search_text) VALUES (new.id, new.search_text); END"
)
CREATE_DELETE_TRIGGER = (
    "CREATE TRIGGER executions_fts_delete AFTER DELETE ON executions BEGIN "
    "INSERT INTO executions_fts(executions_fts, rowid, search_text) VALUES ('delete', old.id, old.search_text); END"
)
CREATE_UPDATE_TRIGGER = (
    "CREATE TRIGGER executions_fts_update AFTER UPDATE OF search_text ON executions BEGIN "
    "INSERT INTO executions_fts(executions_fts, rowid, search_text) VALUES ('delete', old.id, old.search_text); "
    "INSERT INTO executions_fts(rowid, search_text) VALUES (new.id, new.search_text); END"
)
ALL_DDL = (CREATE_FTS_TABLE, CREATE_INSERT_TRIGGER, CREATE_DELETE_TRIGGER, CREATE_UPDATE_TRIGGER)


class PausedInsertTrigger:
    """Inside one transaction: drop the per-row trigger, then index every new row in one statement.

    The transaction holds SQLite's write lock throughout, so no other writer can slip a row in
    while the trigger is absent; on rollback the trigger comes back with everything else.
    """

    def __init__(self, session: Session) -> None:
        self.session = session
        self.max_id = 0

    def __enter__(self) -> PausedInsertTrigger:
        self.session.execute(text("DROP TRIGGER executions_fts_insert"))
        self.max_id = self.session.execute(text("SELECT coalesce(max(id), 0) FROM executions")).scalar_one()
        return self

    def __exit__(self, exc_type: object, *_: object) -> None:
        if exc_type is None:
            self.session.execute(
                text(
                    "INSERT INTO executions_fts(rowid, search_text) SELECT id, search_text FROM executions WHERE id > :m"
                ),
                {"m": self.max_id},
            )
            self.session.execute(text(CREATE_INSERT_TRIGGER))
