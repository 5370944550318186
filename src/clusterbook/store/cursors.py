"""Opaque, signed keyset cursors.

A cursor carries the last row's sort key, the page number it leads to and a fingerprint of the
query (namespace, cluster, filters, sort, search, page size). It is HMAC-signed with the server's
key, so a client can neither forge one nor reuse it for another query.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from clusterbook.errors import InvalidCursor
from clusterbook.store.tables import server_state

CURSOR_KEY_NAME = "cursor_signing_key"


def load_signing_key(session: Session, configured: str | None) -> bytes:
    """The configured key, or the one kept in the database (created on first use)."""
    if configured:
        return configured.encode()
    found = session.execute(select(server_state.c.value).where(server_state.c.key == CURSOR_KEY_NAME)).scalar()
    if found is None:
        candidate = secrets.token_hex(32)
        try:
            with session.begin_nested():
                session.execute(insert(server_state).values(key=CURSOR_KEY_NAME, value=candidate))
            found = candidate
        except IntegrityError:  # another process created it first
            found = session.execute(
                select(server_state.c.value).where(server_state.c.key == CURSOR_KEY_NAME)
            ).scalar_one()
    return str(found).encode()


def fingerprint(parts: dict[str, Any]) -> str:
    """A short stable digest of everything a cursor must not be reused across."""
    canonical = json.dumps(parts, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()[:32]


def _sign(key: bytes, body: bytes) -> str:
    return base64.urlsafe_b64encode(hmac.new(key, body, hashlib.sha256).digest()[:16]).decode().rstrip("=")


def encode_cursor(key: bytes, payload: dict[str, Any]) -> str:
    body = json.dumps(payload, separators=(",", ":"), default=str).encode()
    return base64.urlsafe_b64encode(body).decode().rstrip("=") + "." + _sign(key, body)


def verify_cursor(key: bytes, cursor: str) -> dict[str, Any]:
    """The payload of a cursor this server signed; InvalidCursor when forged, altered or garbage."""
    try:
        if not cursor.isascii():  # every cursor this server issues is base64url; hmac compares ASCII only
            raise ValueError("not ASCII")
        body_part, signature = cursor.split(".", 1)
        body = base64.urlsafe_b64decode(body_part + "=" * (-len(body_part) % 4))
    except ValueError as exc:
        raise InvalidCursor("cursor is malformed; pass back pagination.next_cursor exactly as returned") from exc
    if not hmac.compare_digest(_sign(key, body), signature):
        raise InvalidCursor("cursor was not issued by this server or was altered; start again without a cursor")
    payload = json.loads(body)
    if not isinstance(payload, dict) or not {"q", "k", "p", "s"} <= set(payload):
        raise InvalidCursor("cursor is malformed; start again without a cursor")
    return payload


def check_cursor_query(payload: dict[str, Any], expected_fingerprint: str) -> None:
    """Refuse a cursor issued for another query (or namespace, cluster or page size)."""
    if payload["q"] != expected_fingerprint:
        raise InvalidCursor(
            "cursor belongs to a different query (filters, sort, search, page size or cluster changed); "
            "start again without a cursor"
        )
