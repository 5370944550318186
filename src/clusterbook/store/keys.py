"""API keys: create (the key is returned once, only its SHA-256 is kept), list, revoke, and the
per-request lookup of a presented key by its hash (one probe of a unique index).

A key is ``cbk_<key id>_<secret>``: the key id is public (listing, revoking, logs), the secret
carries 256 random bits. SHA-256, not a slow password hash, is the right digest here: slow hashes
protect guessable passwords, while a 256-bit random secret cannot be guessed from its digest at any
speed, and a plain digest can be looked up with an index on every request.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import Enum

from sqlalchemy import exists, insert, or_, select, update
from sqlalchemy.orm import Session

from clusterbook.store.ids import encode_base62
from clusterbook.store.tables import api_key_namespaces, api_keys, namespaces

KEY_PREFIX = "cbk_"
KEY_ID_LENGTH = 12
SECRET_LENGTH = 43  # 62**43 > 2**256
MAX_KEY_LENGTH = 200
LAST_USED_RESOLUTION = timedelta(minutes=1)
"""``last_used_at`` is written at most once a minute per key: reads must not turn into writes."""


@dataclass(frozen=True)
class ApiKey:
    """A key as ``keys list`` shows it: never the key itself."""

    key_id: str
    name: str | None
    namespaces: list[str]
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None


@dataclass(frozen=True)
class KeyAccess:
    """What a presented, unrevoked key may do: act in these namespaces."""

    key_id: str
    namespace_ids: frozenset[str]
    last_used_at: datetime | None
    name: str | None = None
    """The key's name: who curated a label or merged clusters with it."""


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()


def new_key() -> tuple[str, str]:
    """A fresh ``(key_id, key)``."""
    key_id = f"key_{encode_base62(secrets.randbits(71), KEY_ID_LENGTH)}"
    secret = encode_base62(secrets.randbits(256), SECRET_LENGTH)
    return key_id, f"{KEY_PREFIX}{key_id.removeprefix('key_')}_{secret}"


def create_api_key(session: Session, *, namespace_ids: Sequence[str], name: str | None = None) -> tuple[ApiKey, str]:
    """Store a new key bound to ``namespace_ids``; returns it with the key, which is never stored."""
    key_id, key = new_key()
    now = datetime.now(UTC)
    session.execute(insert(api_keys).values(key_id=key_id, key_hash=hash_key(key), name=name, created_at=now))
    bound = list(dict.fromkeys(namespace_ids))
    if bound:
        session.execute(insert(api_key_namespaces), [{"key_id": key_id, "namespace_id": ns} for ns in bound])
    found = read_api_key(session, key_id=key_id)
    assert found is not None
    return found, key


def _namespace_names(session: Session, key_ids: Sequence[str]) -> dict[str, list[str]]:
    rows = session.execute(
        select(api_key_namespaces.c.key_id, namespaces.c.namespace_name)
        .join(namespaces, namespaces.c.namespace_id == api_key_namespaces.c.namespace_id)
        .where(api_key_namespaces.c.key_id.in_(key_ids))
        .order_by(namespaces.c.namespace_name)
    ).all()
    names: dict[str, list[str]] = {key_id: [] for key_id in key_ids}
    for key_id, name in rows:
        names[key_id].append(name)
    return names


def list_api_keys(session: Session) -> list[ApiKey]:
    rows = session.execute(select(api_keys).order_by(api_keys.c.created_at, api_keys.c.key_id)).all()
    names = _namespace_names(session, [row.key_id for row in rows])
    return [
        ApiKey(row.key_id, row.name, names[row.key_id], row.created_at, row.last_used_at, row.revoked_at)
        for row in rows
    ]


def read_api_key(session: Session, *, key_id: str) -> ApiKey | None:
    row = session.execute(select(api_keys).where(api_keys.c.key_id == key_id)).first()
    if row is None:
        return None
    names = _namespace_names(session, [key_id])[key_id]
    return ApiKey(row.key_id, row.name, names, row.created_at, row.last_used_at, row.revoked_at)


def revoke_api_key(session: Session, *, key_id: str) -> ApiKey | None:
    """Revoke at once (the next request with it gets 401); revoking twice keeps the first time."""
    session.execute(
        update(api_keys)
        .where(api_keys.c.key_id == key_id, api_keys.c.revoked_at.is_(None))
        .values(revoked_at=datetime.now(UTC))
    )
    return read_api_key(session, key_id=key_id)


def read_key_access(session: Session, *, key: str) -> KeyAccess | None:
    """The access of an unrevoked key, or None: one lookup by the key's hash (unique index)."""
    if not key or len(key) > MAX_KEY_LENGTH:
        return None
    rows = session.execute(
        select(api_keys.c.key_id, api_keys.c.last_used_at, api_keys.c.name, api_key_namespaces.c.namespace_id)
        .outerjoin(api_key_namespaces, api_key_namespaces.c.key_id == api_keys.c.key_id)
        .where(api_keys.c.key_hash == hash_key(key), api_keys.c.revoked_at.is_(None))
    ).all()
    if not rows:
        return None
    held = frozenset(row.namespace_id for row in rows if row.namespace_id is not None)
    return KeyAccess(rows[0].key_id, held, rows[0].last_used_at, rows[0].name)


class KeyHistory(Enum):
    """Whether keys exist: NEVER (a fresh server), REVOKED (keys existed, none is valid now), ACTIVE."""

    NEVER = "never"
    REVOKED = "revoked"
    ACTIVE = "active"


def read_key_history(session: Session) -> KeyHistory:
    """One query: does any key exist at all, and does an unrevoked one? A revoked key still counts as
    history, so revoking the last key never turns a closed server back into an open one."""
    ever, active = session.execute(
        select(exists().select_from(api_keys), exists().where(api_keys.c.revoked_at.is_(None)))
    ).one()
    if active:
        return KeyHistory.ACTIVE
    return KeyHistory.REVOKED if ever else KeyHistory.NEVER


def last_used_is_stale(access: KeyAccess, now: datetime) -> bool:
    return access.last_used_at is None or now - access.last_used_at >= LAST_USED_RESOLUTION


def touch_api_key(session: Session, *, key_id: str, now: datetime) -> None:
    """Record a use (at most once per ``LAST_USED_RESOLUTION``, whoever gets there first)."""
    session.execute(
        update(api_keys)
        .where(
            api_keys.c.key_id == key_id,
            or_(api_keys.c.last_used_at.is_(None), api_keys.c.last_used_at <= now - LAST_USED_RESOLUTION),
        )
        .values(last_used_at=now)
    )
