"""Who may call the API: bearer API keys bound to namespaces, or nobody's key at all (open mode).

A key that is sent is always checked: an unknown or revoked key is a 401, even while the API is open.
Once an unrevoked key exists, every ``/v1`` request must carry one (``Authorization: Bearer <key>``).
A key acts only in its own namespaces: ``get_namespace`` (``api/deps.py``) answers a namespace the key
does not hold exactly as it answers one that does not exist, and every object is found through the
request's namespace, so isolation follows from it.

Without a key the API is open only on a server that has never had one, and then only on a loopback
address (or with ``--insecure``). Once any key has existed, revoking the last one does not reopen it:
it stays closed until a key is created or an operator opens it on purpose with ``--insecure``.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

from sqlalchemy.orm import Session

from clusterbook.errors import Unauthorized
from clusterbook.settings import Settings
from clusterbook.store.keys import KeyAccess, KeyHistory, read_key_access, read_key_history

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


def bearer_token(authorization: str | None) -> str | None:
    """The key of an ``Authorization: Bearer <key>`` header; "" for any other form of the header."""
    if authorization is None:
        return None
    scheme, _, token = authorization.strip().partition(" ")
    return token.strip() if scheme.lower() == "bearer" else ""


def resolve_access(session: Session, authorization: str | None, *, settings: Settings) -> Access:
    """The request's access, or Unauthorized. A key that is sent must be valid whatever the mode;
    without one, the API is open only as the module docstring says."""
    token = bearer_token(authorization)
    if token is not None:
        found = read_key_access(session, key=token) if token else None
        if found is None:
            raise Unauthorized("the API key is not valid (unknown or revoked); send Authorization: Bearer <key>")
        return Access(found.key_id, found.namespace_ids, found)
    history = read_key_history(session)
    if history is KeyHistory.ACTIVE:
        raise Unauthorized(f"an API key is required: send Authorization: Bearer <key> ({CREATE_HINT})")
    if settings.insecure or (history is KeyHistory.NEVER and is_loopback(settings.host)):
        return OPEN
    if history is KeyHistory.REVOKED:
        raise Unauthorized(
            "every API key of this server has been revoked, so it answers no request without a key: "
            f"{CREATE_HINT} (or restart it with --insecure to open it to everyone on purpose)"
        )
    raise Unauthorized(
        "this server has no API key yet and listens beyond localhost, so it answers no request: " + CREATE_HINT
    )
