"""Who may call the API: bearer API keys bound to namespaces, or nobody's key at all (open mode).

Once an unrevoked key exists, every ``/v1`` request must carry one (``Authorization: Bearer <key>``);
a missing, unknown or revoked key is a 401. A key acts only in its own namespaces: ``get_namespace``
(``api/deps.py``) answers a namespace the key does not hold exactly as it answers one that does not
exist, and every object is found through the request's namespace, so isolation follows from it.

With no key at all the API is open, but only while the server listens on a loopback address (or was
started with ``--insecure``); otherwise it refuses every request until a key is created.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

from sqlalchemy.orm import Session

from clusterbook.errors import Unauthorized
from clusterbook.settings import Settings
from clusterbook.store.keys import KeyAccess, any_active_api_key, read_key_access

CREATE_HINT = "create one on the server with `clusterbook keys create --namespace NAME`"


@dataclass(frozen=True)
class Access:
    """What the request may touch. ``namespace_ids`` None: every namespace (open mode)."""

    key_id: str | None
    namespace_ids: frozenset[str] | None
    key: KeyAccess | None = None

    def allows(self, namespace_id: str) -> bool:
        return self.namespace_ids is None or namespace_id in self.namespace_ids


OPEN = Access(None, None)


def is_loopback(host: str) -> bool:
    """True for ``localhost``, ``127.0.0.0/8`` and ``::1``; every other address (``0.0.0.0``, a
    hostname, a LAN address) can be reached from elsewhere."""
    bare = host.strip().strip("[]").lower()
    if bare == "localhost":
        return True
    try:
        return ipaddress.ip_address(bare).is_loopback
    except ValueError:
        return False


def may_run_open(settings: Settings) -> bool:
    """Whether the API may answer without keys while none exists."""
    return is_loopback(settings.host) or settings.insecure


def bearer_token(authorization: str | None) -> str | None:
    """The key of an ``Authorization: Bearer <key>`` header; "" for any other form of the header."""
    if authorization is None:
        return None
    scheme, _, token = authorization.strip().partition(" ")
    return token.strip() if scheme.lower() == "bearer" else ""


def resolve_access(session: Session, authorization: str | None, *, open_allowed: bool) -> Access:
    """The request's access, or Unauthorized. While no unrevoked key exists (and open mode is
    allowed) a key that is sent is not needed, so it is not checked either."""
    token = bearer_token(authorization)
    found = read_key_access(session, key=token) if token else None
    if found is not None:
        return Access(found.key_id, found.namespace_ids, found)
    if not any_active_api_key(session):
        if open_allowed:
            return OPEN
        raise Unauthorized(
            "this server has no API key yet and listens beyond localhost, so it answers no request: " + CREATE_HINT
        )
    if token is None:
        raise Unauthorized(f"an API key is required: send Authorization: Bearer <key> ({CREATE_HINT})")
    raise Unauthorized("the API key is not valid (unknown or revoked); send Authorization: Bearer <key>")
