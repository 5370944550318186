"""The webhook signature, declared once: how the worker signs a delivery and how a receiver checks it.

Header ``Clusterbook-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256>``, where the HMAC key is the
endpoint's secret (as shown at creation, UTF-8) and the message is ``f"{t}."`` followed by the exact
body bytes. ``t`` is the time of that attempt, so a receiver can refuse old replays; ``v1`` names
the scheme, so a future one can be sent beside it. Only the standard library is used here, so the
SDK's :func:`verify_signature` needs nothing of the server.
"""

from __future__ import annotations

import hashlib
import hmac
import time

SIGNATURE_HEADER = "Clusterbook-Signature"
EVENT_HEADER = "Clusterbook-Event"
EVENT_ID_HEADER = "Clusterbook-Event-Id"
DELIVERY_HEADER = "Clusterbook-Delivery"
DEFAULT_TOLERANCE_SECONDS = 300


class SignatureError(ValueError):
    """The header is missing, malformed, too old, or does not match the body."""


def signature(secret: str, timestamp: int, body: bytes) -> str:
    """The hex HMAC-SHA256 of ``f"{timestamp}." + body`` under ``secret``."""
    message = f"{timestamp}.".encode() + body
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def signature_header(secret: str, body: bytes, *, timestamp: int | None = None) -> str:
    """The value of the ``Clusterbook-Signature`` header for ``body`` (now, unless told the time)."""
    t = int(time.time()) if timestamp is None else timestamp
    return f"t={t},v1={signature(secret, t, body)}"


def verify_signature(
    secret: str,
    header: str | None,
    body: bytes,
    *,
    tolerance_seconds: float = DEFAULT_TOLERANCE_SECONDS,
    now: float | None = None,
) -> int:
    """Check a delivery: returns its timestamp, or raises :class:`SignatureError` saying why not.

    ``body`` must be the raw request body, byte for byte (not re-encoded JSON).

    >>> h = signature_header("whsec_test", b'{"a":1}', timestamp=1700000000)
    >>> verify_signature("whsec_test", h, b'{"a":1}', now=1700000010)
    1700000000
    >>> verify_signature("whsec_test", h, b'{"a":2}', now=1700000010)
    Traceback (most recent call last):
    ...
    clusterbook.models.signatures.SignatureError: signature does not match the body (wrong secret, or the body was changed)
    """
    if not header:
        raise SignatureError(f"no {SIGNATURE_HEADER} header")
    timestamp: int | None = None
    candidates: list[str] = []
    for part in header.split(","):
        key, _, value = part.strip().partition("=")
        if key == "t" and value.isdigit():
            timestamp = int(value)
        elif key == "v1" and value:
            candidates.append(value)
    if timestamp is None or not candidates:
        raise SignatureError(f"malformed {SIGNATURE_HEADER} header: expected t=<unix seconds>,v1=<hex digest>")
    current = time.time() if now is None else now
    if abs(current - timestamp) > tolerance_seconds:
        raise SignatureError(f"signature timestamp {timestamp} is more than {tolerance_seconds:g} s from now")
    expected = signature(secret, timestamp, body)
    if not any(hmac.compare_digest(expected, candidate) for candidate in candidates):
        raise SignatureError("signature does not match the body (wrong secret, or the body was changed)")
    return timestamp
